/*
 * pg_probe: a test client for libcommon's PostgreSQL code (pg_conn.h),
 * built with the sanitizers, used by tests/integration/setup-postgres.test
 * against a real server.
 *
 * usage: pg_probe CONNINFO [SQL]          run SQL (default: SELECT 1)
 *        pg_probe --copy CONNINFO SQL     COPY ... FROM STDIN, data on stdin
 *
 * Settings as libpq takes them: CONNINFO, then PG* variables, then the
 * password file.  Prints each row tab-separated (NULL as \N) and then
 * "tag: <CommandComplete>"; on stderr "auth=<method> tls=<yes|no>" after
 * connecting, every field of a server error ("field C: 42P01"), and a
 * last line "pg_probe: <error>".  Exits with pg_connect's or pg_query's
 * code (0, 65, 69, 75, 77, 78).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "pg_conn.h"

static void
notice(void *ctx, const struct pg_error *e)
{
	(void)ctx;
	fprintf(stderr, "notice: %s\n", pg_error_field(e, 'M') ? pg_error_field(e, 'M') : "");
}

static long
read_stdin(void *ctx, char *buf, size_t size)
{
	(void)ctx;
	size_t n = fread(buf, 1, size, stdin);
	return ferror(stdin) ? -1 : (long)n;
}

static void
print_error(const struct pg_conn *c)
{
	static const char codes[] = "SVCMDHPpqWstcdnFLR";
	for (const char *k = codes; *k; k++) {
		const char *v = pg_error_field(&c->err, *k);
		if (v != NULL)
			fprintf(stderr, "field %c: %s\n", *k, v);
	}
	fprintf(stderr, "pg_probe: %s\n", c->error);
}

int
main(int argc, char **argv)
{
	struct pg_conninfo ci;
	struct pg_conn c;
	struct pg_result r;
	char err[PG_CI_ERR_MAX], warn[PG_CI_ERR_MAX] = "";
	int copy = argc > 1 && strcmp(argv[1], "--copy") == 0;
	if (argc < 2 + copy || argc > 3 + copy) {
		fputs("usage: pg_probe [--copy] CONNINFO [SQL]\n", stderr);
		return EX_USAGE;
	}
	const char *sql = argc > 2 + copy ? argv[2 + copy] : "SELECT 1";
	pg_conninfo_init(&ci);
	if (pg_conninfo_parse(&ci, argv[1 + copy], err, sizeof(err)) == -1 ||
	    pg_conninfo_env(&ci, (pg_getenv_fn)getenv, err, sizeof(err)) == -1 ||
	    pg_conninfo_finish(&ci, (pg_getenv_fn)getenv, err, sizeof(err)) == -1 ||
	    pg_conninfo_password(&ci, (pg_getenv_fn)getenv, err, sizeof(err), warn,
		sizeof(warn)) == -1) {
		fprintf(stderr, "pg_probe: %s\n", err);
		return EX_CONFIG;
	}
	if (warn[0])
		fprintf(stderr, "pg_probe: warning: %s\n", warn);
	pg_conn_init(&c);
	c.attempts = 3;
	c.backoff_ms = 100;
	c.notice = notice;
	int rc = pg_connect(&c, &ci);
	pg_conninfo_wipe(&ci);
	if (rc != 0) {
		print_error(&c);
		pg_close(&c);
		return rc;
	}
	fprintf(stderr, "auth=%s tls=%s version=%s\n", c.auth, c.tls ? "yes" : "no",
	    c.server_version);
	pg_result_init(&r);
	if (copy) {
		char tag[64] = "";
		rc = pg_copy_in(&c, sql, read_stdin, NULL, tag);
		if (rc == 0)
			printf("tag: %s\n", tag);
	} else {
		rc = pg_query(&c, sql, &r);
		for (size_t i = 0; rc == 0 && i < r.nrows; i++)
			for (int j = 0; j < r.ncols; j++) {
				const char *v = pg_value(&r, i, j);
				printf("%s%c", v ? v : "\\N", j + 1 < r.ncols ? '\t' : '\n');
			}
		if (rc == 0)
			printf("tag: %s\n", r.tag);
	}
	if (rc != 0)
		print_error(&c);
	pg_result_free(&r);
	pg_close(&c);
	return rc;
}
