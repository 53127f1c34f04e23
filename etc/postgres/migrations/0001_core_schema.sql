-- 0001_core_schema: the core of Socorro's schema that is not partitioned:
-- products and their versions, signatures, Active Daily Installs (raw_adi)
-- and the table that drives the weekly partitions (report_partition_info).
--
-- Applied by setup-postgres(1) in one transaction, as the database's owner
-- role.  Never edit a migration once it has been applied somewhere: add a
-- new NNNN_name.sql instead (setup-postgres refuses a changed file).

CREATE TABLE products (
	product_name citext PRIMARY KEY,
	sort smallint NOT NULL DEFAULT 0,
	rapid_release_version text,
	release_name citext NOT NULL
);

CREATE TABLE product_versions (
	product_version_id serial PRIMARY KEY,
	product_name citext NOT NULL REFERENCES products (product_name),
	major_version text,
	release_version citext NOT NULL,
	version_string citext NOT NULL,
	beta_number integer,
	version_sort text NOT NULL DEFAULT '0',
	build_date date NOT NULL,
	sunset_date date NOT NULL,
	featured_version boolean NOT NULL DEFAULT false,
	build_type citext NOT NULL DEFAULT 'release',
	has_builds boolean NOT NULL DEFAULT false,
	is_rapid_beta boolean NOT NULL DEFAULT false,
	rapid_beta_id integer REFERENCES product_versions (product_version_id),
	UNIQUE (product_name, version_string)
);

CREATE TABLE signatures (
	signature_id serial PRIMARY KEY,
	signature text NOT NULL UNIQUE,
	first_report timestamptz,
	first_build numeric
);

-- Active Daily Installs, one row per day and release, inserted by the
-- operator or a job; the columns, in order, are those the Socorro docs
-- give for INSERT INTO raw_adi VALUES (...).
CREATE TABLE raw_adi (
	adi_count integer,
	date date,
	product_name text,
	product_os_platform text,
	product_os_version text,
	product_version text,
	build text,
	product_guid text,
	update_channel text
);
CREATE INDEX raw_adi_date_idx ON raw_adi (date);

-- Which tables get weekly partitions, in build_order: keys become each
-- partition's primary key, each element of indexes an index, each
-- element of fkeys a foreign key ("(col) REFERENCES other (col)").
CREATE TABLE report_partition_info (
	table_name text PRIMARY KEY,
	build_order integer NOT NULL DEFAULT 1,
	keys text[] NOT NULL DEFAULT '{}',
	indexes text[] NOT NULL DEFAULT '{}',
	fkeys text[] NOT NULL DEFAULT '{}',
	partition_column text NOT NULL,
	timetype text NOT NULL CHECK (upper(timetype) IN ('TIMESTAMPTZ', 'DATE'))
);
