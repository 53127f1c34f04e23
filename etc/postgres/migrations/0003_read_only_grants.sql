-- 0003_read_only_grants: the read-only role may read every table of the
-- schema, now and later (partitions made later by the owner role get it
-- through default privileges).  The role's name is the setting
-- socorro.ro_role, which setup-postgres(1) sets; under psql, pass it with
-- PGOPTIONS='-c socorro.ro_role=breakpad_ro'.

DO $$
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA public TO %I',
		current_setting('socorro.ro_role'));
	EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I',
		current_setting('socorro.ro_role'));
	EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I',
		current_setting('socorro.ro_role'));
END
$$;
