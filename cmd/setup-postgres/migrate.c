/*
 * migrate.c: versioned migrations.
 *
 * Files NNNN_name.sql in one directory, applied in version order, each in
 * its own transaction together with its row in schema_migrations
 * (version, name, SHA-256 of the file, applied_at): a migration is either
 * wholly applied and recorded, or not at all.  They run as the rw role
 * (SET LOCAL ROLE), so what they create belongs to it, with the role
 * names in the settings socorro.rw_role and socorro.ro_role (a migration
 * grants with current_setting('socorro.ro_role'), and so runs unchanged
 * under psql with PGOPTIONS='-c socorro.ro_role=...').
 *
 * An applied migration whose file has changed since is an error (65)
 * unless --allow-changed: the database no longer matches the files.  A
 * migration may not hold its own BEGIN/COMMIT: that would break the one
 * transaction it runs in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exits.h"
#include "pg_tls.h"
#include "setup-postgres.h"
#include "sigv4.h"

#define MIGRATION_MAX (16u << 20)

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* parse_name: "0001_core.sql" gives version 1 and name "0001_core". */
static int
parse_name(const char *file, struct migration *m)
{
	size_t len = strlen(file), digits = strspn(file, "0123456789");
	char num[20];
	if (len < 5 || strcmp(file + len - 4, ".sql") != 0 || digits == 0 || digits >= sizeof(num) ||
	    file[digits] != '_' || digits + 1 >= len - 4)
		return -1;
	memcpy(num, file, digits);
	num[digits] = '\0';
	if (str_to_long(num, 0, 999999999, &m->version) == -1)
		return -1;
	return str_fmt(m->name, sizeof(m->name), "%.*s", (int)(len - 4), file);
}

static void
read_migration(struct run *r, struct migration *m)
{
	char chunk[16384];
	size_t n;
	FILE *fp = fopen(m->path, "re");
	if (fp == NULL)
		log_die(r->lg, EX_NOINPUT, "cannot read %s: %s", m->path, strerror(errno));
	buf_init(&m->sql, MIGRATION_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(&m->sql, chunk, n) == -1)
			log_die(r->lg, EX_DATAERR, "%s: larger than %u MiB", m->path,
			    MIGRATION_MAX >> 20);
	if (ferror(fp))
		log_die(r->lg, EX_IOERR, "cannot read %s", m->path);
	fclose(fp);
	if (memchr(buf_str(&m->sql), '\0', m->sql.len) != NULL)
		log_die(r->lg, EX_DATAERR, "%s: holds a NUL byte; not SQL text", m->path);
	struct sigv4_sha256 h;
	sigv4_sha256_init(&h);
	sigv4_sha256_update(&h, m->sql.data, m->sql.len);
	sigv4_sha256_final(&h, m->sha256);
}

/* check_no_transaction refuses BEGIN/COMMIT/ROLLBACK... in a migration. */
static void
check_no_transaction(struct run *r, const struct migration *m)
{
	static const char *const words[] = { "BEGIN", "COMMIT", "ROLLBACK", "END", "START",
		"ABORT", "SAVEPOINT", "RELEASE", "PREPARE", NULL };
	const char *sql = buf_str(&m->sql);
	size_t n = stmt_starts(sql, NULL, 0);
	size_t *starts = n ? calloc(n, sizeof(*starts)) : NULL;
	if (n && starts == NULL)
		log_die(r->lg, EX_SOFTWARE, "out of memory");
	stmt_starts(sql, starts, n);
	for (size_t i = 0; i < n; i++)
		for (int w = 0; words[w] != NULL; w++) {
			size_t l = strlen(words[w]);
			const char *s = sql + starts[i];
			if (strncasecmp(s, words[w], l) == 0 && !(s[l] == '_' ||
			    (s[l] >= 'a' && s[l] <= 'z') || (s[l] >= 'A' && s[l] <= 'Z')))
				log_die(r->lg, EX_DATAERR, "%s:%d: %s in a migration: each migration "
				    "already runs in its own transaction", m->path,
				    stmt_line(sql, (int)i), words[w]);
		}
	free(starts);
}

void
load_migrations(struct run *r)
{
	DIR *d = opendir(r->migrations_dir);
	struct dirent *e;
	size_t cap = 0;
	if (d == NULL)
		log_die(r->lg, EX_NOINPUT, "cannot read migrations directory %s: %s",
		    r->migrations_dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
			continue;
		if (r->nmig == cap) {
			cap = cap ? cap * 2 : 16;
			struct migration *m = realloc(r->mig, cap * sizeof(*m));
			if (m == NULL)
				log_die(r->lg, EX_SOFTWARE, "out of memory");
			r->mig = m;
		}
		struct migration *m = &r->mig[r->nmig];
		memset(m, 0, sizeof(*m));
		if (parse_name(e->d_name, m) == -1)
			log_die(r->lg, EX_DATAERR, "%s/%s: a migration must be named NNNN_name.sql",
			    r->migrations_dir, e->d_name);
		if (str_fmt(m->path, sizeof(m->path), "%s/%s", r->migrations_dir, e->d_name) == -1)
			log_die(r->lg, EX_DATAERR, "%s/%s: path too long", r->migrations_dir,
			    e->d_name);
		r->nmig++;
		read_migration(r, m);
		check_no_transaction(r, m);
	}
	closedir(d);
	qsort(r->mig, r->nmig, sizeof(*r->mig), by_version);
	for (size_t i = 1; i < r->nmig; i++)
		if (r->mig[i].version == r->mig[i - 1].version)
			log_die(r->lg, EX_DATAERR, "%s and %s: two migrations with version %ld",
			    r->mig[i - 1].path, r->mig[i].path, r->mig[i].version);
	if (r->nmig == 0)
		log_warn(r->lg, "no migrations (NNNN_name.sql) in %s", r->migrations_dir);
	log_debug(r->lg, "%zu migrations in %s", r->nmig, r->migrations_dir);
}

void
free_migrations(struct run *r)
{
	for (size_t i = 0; i < r->nmig; i++)
		buf_free(&r->mig[i].sql);
	free(r->mig);
	r->mig = NULL;
	r->nmig = 0;
}

/* begin_sql: the statement that opens a migration's transaction. */
static void
begin_sql(struct run *r, struct buf *b)
{
	buf_puts(b, "BEGIN;\nSET LOCAL ROLE ");
	q_ident(r, b, r->rw_role);
	buf_puts(b, ";\nSET LOCAL socorro.rw_role = ");
	q_literal(r, b, r->rw_role);
	buf_puts(b, ";\nSET LOCAL socorro.ro_role = ");
	q_literal(r, b, r->ro_role);
	buf_puts(b, ";\n");
}

static void
ensure_table(struct run *r, bool exists)
{
	struct buf sql;
	if (exists)
		return;
	buf_init(&sql, 4096);
	begin_sql(r, &sql);
	buf_puts(&sql, "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, "
		       "name text NOT NULL, sha256 text NOT NULL, applied_at timestamptz NOT NULL "
		       "DEFAULT now());\nGRANT SELECT ON schema_migrations TO ");
	q_ident(r, &sql, r->ro_role);
	buf_puts(&sql, ";\nCOMMIT;");
	sql_change(r, buf_str(&sql), NULL, "created table schema_migrations in %s", r->database);
	buf_free(&sql);
}

static const struct migration *
find_version(const struct run *r, long version)
{
	for (size_t i = 0; i < r->nmig; i++)
		if (r->mig[i].version == version)
			return &r->mig[i];
	return NULL;
}

/* check_applied compares what the database recorded with the files; it
 * marks applied files by clearing their version's "pending" flag. */
static void
check_applied(struct run *r, const struct pg_result *res, bool *pending)
{
	for (size_t i = 0; i < res->nrows; i++) {
		long v;
		if (str_to_long(pg_value(res, i, 0), 0, 999999999, &v) == -1)
			continue;
		const char *name = pg_value(res, i, 1), *sha = pg_value(res, i, 2);
		const char *when = pg_value(res, i, 3);
		const struct migration *m = find_version(r, v);
		if (v > r->schema_version)
			r->schema_version = v;
		if (m == NULL) {
			log_warn(r->lg, "%s has migration %s applied (%s), which is not in %s",
			    r->database, name, when, r->migrations_dir);
			continue;
		}
		pending[m - r->mig] = false;
		if (strcmp(sha, m->sha256) == 0)
			continue;
		if (!r->allow_changed)
			log_die(r->lg, EX_DATAERR, "%s: changed since it was applied to %s on %s "
			    "(sha256 %.12s... then, %.12s... now); put the file back, or run with "
			    "--allow-changed", m->path, r->database, when, sha, m->sha256);
		log_warn(r->lg, "%s: changed since it was applied on %s; not run again "
		    "(--allow-changed)", m->path, when);
	}
}

/* fail_migration reports a migration the server refused, and ends. */
static _Noreturn void
fail_migration(struct run *r, const struct migration *m, const struct pg_result *res, int rc)
{
	struct pg_error saved = r->c->err;
	char error[PG_CONN_ERROR_MAX];
	str_fmt_clip(error, sizeof(error), "%s", r->c->error);
	if (rc == EX_DATAERR)
		(void)pg_query(r->c, "ROLLBACK", NULL);
	long pos = pg_error_position(&saved);
	const char *sql = buf_str(&m->sql);
	int line = pos > 0 ? char_line(sql, pos) : stmt_line(sql, res->ncommands);
	const char *state = pg_error_field(&saved, 'C');
	const char *msg = pg_error_field(&saved, 'M');
	const char *detail = pg_error_field(&saved, 'D');
	const char *where = pg_error_field(&saved, 'W');
	if (rc != EX_DATAERR)
		log_die(r->lg, rc, "%s: not applied: %s", m->path, error);
	log_die(r->lg, EX_DATAERR, "%s:%d: %s (SQLSTATE %s)%s%s%s%s; rolled back, later "
	    "migrations not run", m->path, line, msg ? msg : error, state ? state : "?",
	    detail ? "; detail: " : "", detail ? detail : "", where ? "; context: " : "",
	    where ? where : "");
}

static void
apply_one(struct run *r, const struct migration *m)
{
	struct buf sql;
	struct pg_result res;
	int rc;
	buf_init(&sql, MIGRATION_MAX + 4096);
	pg_result_init(&res);
	begin_sql(r, &sql);
	if (r->dry_run) {
		buf_printf(&sql, "-- %s (sha256 %s)\n%s\nINSERT INTO schema_migrations (version, "
		    "name, sha256) VALUES (%ld, ", m->path, m->sha256, buf_str(&m->sql), m->version);
		q_literal(r, &sql, m->name);
		buf_printf(&sql, ", '%s');\nCOMMIT;", m->sha256);
		sql_change(r, buf_str(&sql), NULL, "applied %s", m->name);
		goto out;
	}
	int64_t t0 = pg_now_ms();
	sql_query(r, buf_str(&sql), NULL);
	if ((rc = sql_try(r, buf_str(&m->sql), &res)) != 0)
		fail_migration(r, m, &res, rc);
	buf_reset(&sql);
	buf_printf(&sql, "INSERT INTO schema_migrations (version, name, sha256) VALUES (%ld, ",
	    m->version);
	q_literal(r, &sql, m->name);
	buf_printf(&sql, ", '%s');\nCOMMIT", m->sha256);
	sql_change(r, buf_str(&sql), NULL, "applied %s (%lld ms)", m->name,
	    (long long)(pg_now_ms() - t0));
out:
	if (m->version > r->schema_version)
		r->schema_version = m->version;
	pg_result_free(&res);
	buf_free(&sql);
}

void
apply_migrations(struct run *r)
{
	struct pg_result res;
	bool *pending = calloc(r->nmig + 1, sizeof(bool));
	if (pending == NULL)
		log_die(r->lg, EX_SOFTWARE, "out of memory");
	for (size_t i = 0; i < r->nmig; i++)
		pending[i] = true;
	pg_result_init(&res);
	sql_query(r, "SELECT to_regclass('public.schema_migrations') IS NOT NULL", &res);
	bool exists = strcmp(pg_value(&res, 0, 0), "t") == 0;
	ensure_table(r, exists);
	if (exists) {
		sql_query(r, "SELECT version, name, sha256, to_char(applied_at AT TIME ZONE 'UTC', "
			     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY "
			     "version", &res);
		check_applied(r, &res, pending);
	}
	for (size_t i = 0; i < r->nmig; i++) {
		if (!pending[i])
			continue;
		if (r->mig[i].version < r->schema_version)
			log_info(r->lg, "%s is older than the newest applied migration (%ld); "
			    "applying it now", r->mig[i].name, r->schema_version);
		apply_one(r, &r->mig[i]);
	}
	pg_result_free(&res);
	free(pending);
}
