-- 0002_crash_reports: the crash tables, partitioned by week on
-- date_processed (declarative range partitioning), and their rows in
-- report_partition_info; setup-postgres(1) makes the weekly partitions.

CREATE TABLE reports (
	id bigserial NOT NULL,
	uuid text NOT NULL,
	date_processed timestamptz NOT NULL,
	client_crash_date timestamptz,
	product text,
	version text,
	build text,
	signature text,
	url text,
	install_age integer,
	last_crash integer,
	uptime integer,
	cpu_name text,
	cpu_info text,
	reason text,
	address text,
	os_name text,
	os_version text,
	email text,
	user_id text,
	started_datetime timestamptz,
	completed_datetime timestamptz,
	success boolean,
	truncated boolean,
	processor_notes text,
	user_comments text,
	app_notes text,
	distributor text,
	distributor_version text,
	topmost_filenames text,
	addons_checked boolean,
	flash_version text,
	hangid text,
	process_type text,
	release_channel text,
	productid text,
	exploitability text
) PARTITION BY RANGE (date_processed);

CREATE TABLE reports_clean (
	uuid text NOT NULL,
	date_processed timestamptz NOT NULL,
	client_crash_date timestamptz,
	product_version_id integer,
	build numeric,
	signature_id integer NOT NULL,
	install_age interval,
	uptime interval,
	reason text,
	address text,
	os_name citext,
	os_version text,
	hang_id text,
	flash_version text,
	process_type citext,
	release_channel citext,
	duplicate_of text,
	domain text,
	architecture citext,
	cores integer
) PARTITION BY RANGE (date_processed);

CREATE TABLE raw_crashes (
	uuid uuid NOT NULL,
	raw_crash json NOT NULL,
	date_processed timestamptz NOT NULL
) PARTITION BY RANGE (date_processed);

CREATE TABLE processed_crashes (
	uuid uuid NOT NULL,
	processed_crash json NOT NULL,
	date_processed timestamptz NOT NULL
) PARTITION BY RANGE (date_processed);

INSERT INTO report_partition_info
	(table_name, build_order, keys, indexes, fkeys, partition_column, timetype)
VALUES
	('reports', 1, '{id}', '{date_processed,hangid,"product, version",reason,signature,url}',
	 '{}', 'date_processed', 'TIMESTAMPTZ'),
	('reports_clean', 2, '{uuid}', '{date_processed,product_version_id,signature_id}',
	 '{"(signature_id) REFERENCES signatures (signature_id)"}', 'date_processed', 'TIMESTAMPTZ'),
	('raw_crashes', 3, '{uuid}', '{date_processed}', '{}', 'date_processed', 'TIMESTAMPTZ'),
	('processed_crashes', 4, '{uuid}', '{date_processed}', '{}', 'date_processed', 'TIMESTAMPTZ');
