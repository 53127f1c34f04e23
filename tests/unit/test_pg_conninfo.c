/*
 * test_pg_conninfo.c: connection strings as libpq reads them (URIs with
 * percent-encoding, IPv6 and socket hosts; keyword strings with quotes),
 * PG* variables, defaults, the sslmode default per host, and the
 * password file with its escapes, wildcards and 0600 rule.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_conninfo.h"

static const char *const *env_table;

static const char *
fake_getenv(const char *name)
{
	for (size_t i = 0; env_table != NULL && env_table[i] != NULL; i += 2)
		if (strcmp(env_table[i], name) == 0)
			return env_table[i + 1];
	return NULL;
}

#define GET(k) pg_conninfo_get(&ci, (k))

START_TEST(uri_full)
{
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX];
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "postgres://al%40ice:p%3A%40ss@db.example.com:6543/"
	    "break%20pad?sslmode=verify-full&connect_timeout=5&application_name=x", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_USER), "al@ice");
	ck_assert_str_eq(GET(PG_CI_PASSWORD), "p:@ss");
	ck_assert_str_eq(GET(PG_CI_HOST), "db.example.com");
	ck_assert_str_eq(GET(PG_CI_PORT), "6543");
	ck_assert_str_eq(GET(PG_CI_DBNAME), "break pad");
	ck_assert_str_eq(GET(PG_CI_SSLMODE), "verify-full");
	ck_assert_str_eq(GET(PG_CI_CONNECT_TIMEOUT), "5");
	ck_assert_str_eq(GET(PG_CI_APPNAME), "x");
}
END_TEST

START_TEST(uri_hosts)
{
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX];
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "postgresql://[::1]:5433/db", err, sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_HOST), "::1");
	ck_assert_str_eq(GET(PG_CI_PORT), "5433");
	ck_assert_ptr_null(GET(PG_CI_USER));
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "postgresql://%2Fvar%2Frun%2Fpostgresql/db", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_HOST), "/var/run/postgresql");
	ck_assert(pg_conninfo_is_socket(&ci));
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "postgres://", err, sizeof(err)), 0);
	ck_assert_ptr_null(GET(PG_CI_HOST));
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "postgres://h/?ssl=true", err, sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_SSLMODE), "require");
}
END_TEST

START_TEST(uri_errors)
{
	static const char *const bad[] = { "postgres://h/db?nosuch=1", "postgres://a,b/db",
		"postgres://h/d%zz", "postgres://h/d%00x", "postgres://[::1/db", "mysql://h/db",
		"postgres://h/db?sslmode" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pg_conninfo ci;
		char err[PG_CI_ERR_MAX] = "";
		pg_conninfo_init(&ci);
		ck_assert_msg(pg_conninfo_parse(&ci, bad[i], err, sizeof(err)) == -1, "took %s",
		    bad[i]);
		ck_assert(err[0] != '\0');
	}
}
END_TEST

START_TEST(keywords)
{
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX];
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "  host=h port = 5 password='a b\\'c\\\\' "
	    "dbname=x\\ y", err, sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_HOST), "h");
	ck_assert_str_eq(GET(PG_CI_PORT), "5");
	ck_assert_str_eq(GET(PG_CI_PASSWORD), "a b'c\\");
	ck_assert_str_eq(GET(PG_CI_DBNAME), "x y");
	ck_assert_int_eq(pg_conninfo_parse(&ci, "host='unterminated", err, sizeof(err)), -1);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "host", err, sizeof(err)), -1);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "sslcert=x", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "sslcert"));
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "", err, sizeof(err)), 0);
}
END_TEST

START_TEST(env_and_defaults)
{
	static const char *const env[] = { "PGHOST", "db.internal", "PGPORT", "6000", "PGUSER",
		"envuser", "PGSSLMODE", "require", "PGPASSWORD", "envpw", "USER", "login", NULL };
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX];
	env_table = env;
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, "user=given", err, sizeof(err)), 0);
	ck_assert_int_eq(pg_conninfo_env(&ci, fake_getenv, err, sizeof(err)), 0);
	ck_assert_int_eq(pg_conninfo_finish(&ci, fake_getenv, err, sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_USER), "given"); /* the string wins */
	ck_assert_str_eq(GET(PG_CI_HOST), "db.internal");
	ck_assert_str_eq(GET(PG_CI_PORT), "6000");
	ck_assert_str_eq(GET(PG_CI_PASSWORD), "envpw");
	ck_assert_str_eq(GET(PG_CI_DBNAME), "given");
	ck_assert_int_eq(pg_conninfo_sslmode(&ci), PG_SSL_REQUIRE);

	env_table = NULL;
	pg_conninfo_init(&ci);
	pg_conninfo_set(&ci, "host", "db.example.com", err, sizeof(err));
	pg_conninfo_set(&ci, "user", "u", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_finish(&ci, fake_getenv, err, sizeof(err)), 0);
	ck_assert_str_eq(GET(PG_CI_PORT), "5432");
	ck_assert_int_eq(pg_conninfo_sslmode(&ci), PG_SSL_VERIFY_FULL);
	pg_conninfo_set(&ci, "host", "127.0.0.1", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_sslmode(&ci), PG_SSL_PREFER);
	pg_conninfo_set(&ci, "host", "/tmp", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_sslmode(&ci), PG_SSL_DISABLE);
	char d[128];
	pg_conninfo_describe(&ci, d, sizeof(d));
	ck_assert_str_eq(d, "u@/tmp/.s.PGSQL.5432 dbname=u");

	pg_conninfo_set(&ci, "port", "99999", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_finish(&ci, fake_getenv, err, sizeof(err)), -1);
	pg_conninfo_set(&ci, "port", "5432", err, sizeof(err));
	pg_conninfo_set(&ci, "sslmode", "verify_full", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_finish(&ci, fake_getenv, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "verify-full"));
}
END_TEST

START_TEST(fill)
{
	struct pg_conninfo a, b;
	char err[PG_CI_ERR_MAX];
	pg_conninfo_init(&a);
	pg_conninfo_init(&b);
	pg_conninfo_parse(&a, "host=a", err, sizeof(err));
	pg_conninfo_parse(&b, "host=b port=7", err, sizeof(err));
	pg_conninfo_fill(&a, &b);
	ck_assert_str_eq(pg_conninfo_get(&a, PG_CI_HOST), "a");
	ck_assert_str_eq(pg_conninfo_get(&a, PG_CI_PORT), "7");
}
END_TEST

static char *
write_file(const char *text, mode_t mode)
{
	static char path[64];
	strncpy(path, "/tmp/test_pgpass.XXXXXX", sizeof(path));
	int fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
	return path;
}

START_TEST(pgpass)
{
	char pw[256], err[256], warn[256];
	const char *text = "# comment\n"
			   "db.example.com:5432:breakpad:admin:first\n"
			   "db.example.com:*:*:admin:second\n"
			   "localhost:5432:*:sock:via\\:socket\\\\\n"
			   "*:*:*:*:fallback\n";
	char *path = write_file(text, 0600);
	ck_assert_int_eq(pg_pgpass_lookup(path, "db.example.com", "5432", "breakpad", "admin", pw,
	    sizeof(pw), err, sizeof(err), warn, sizeof(warn)), 1);
	ck_assert_str_eq(pw, "first");
	ck_assert_int_eq(pg_pgpass_lookup(path, "db.example.com", "6000", "x", "admin", pw,
	    sizeof(pw), err, sizeof(err), warn, sizeof(warn)), 1);
	ck_assert_str_eq(pw, "second");
	ck_assert_int_eq(pg_pgpass_lookup(path, "/var/run/postgresql", "5432", "x", "sock", pw,
	    sizeof(pw), err, sizeof(err), warn, sizeof(warn)), 1);
	ck_assert_str_eq(pw, "via:socket\\");
	ck_assert_int_eq(pg_pgpass_lookup(path, "other", "1", "x", "y", pw, sizeof(pw), err,
	    sizeof(err), warn, sizeof(warn)), 1);
	ck_assert_str_eq(pw, "fallback");
	/* Readable by others: ignored, with a warning. */
	chmod(path, 0644);
	warn[0] = '\0';
	ck_assert_int_eq(pg_pgpass_lookup(path, "db.example.com", "5432", "breakpad", "admin", pw,
	    sizeof(pw), err, sizeof(err), warn, sizeof(warn)), 0);
	ck_assert_ptr_nonnull(strstr(warn, "0600"));
	unlink(path);
	ck_assert_int_eq(pg_pgpass_lookup(path, "h", "1", "d", "u", pw, sizeof(pw), err,
	    sizeof(err), warn, sizeof(warn)), 0);
}
END_TEST

START_TEST(password_from_file)
{
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX], warn[PG_CI_ERR_MAX] = "";
	char *path = write_file("h:5432:d:u:from-file\n", 0600);
	const char *env[] = { "PGPASSFILE", path, NULL };
	env_table = env;
	pg_conninfo_init(&ci);
	pg_conninfo_parse(&ci, "host=h dbname=d user=u", err, sizeof(err));
	pg_conninfo_env(&ci, fake_getenv, err, sizeof(err));
	pg_conninfo_finish(&ci, fake_getenv, err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_password(&ci, fake_getenv, err, sizeof(err), warn,
	    sizeof(warn)), 1);
	ck_assert_str_eq(GET(PG_CI_PASSWORD), "from-file");
	/* A password already given is not looked up. */
	pg_conninfo_set(&ci, "password", "given", err, sizeof(err));
	ck_assert_int_eq(pg_conninfo_password(&ci, fake_getenv, err, sizeof(err), warn,
	    sizeof(warn)), 0);
	ck_assert_str_eq(GET(PG_CI_PASSWORD), "given");
	pg_conninfo_wipe(&ci);
	ck_assert_ptr_null(GET(PG_CI_PASSWORD));
	unlink(path);
	env_table = NULL;
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("pg_conninfo");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, uri_full);
	tcase_add_test(tc, uri_hosts);
	tcase_add_test(tc, uri_errors);
	tcase_add_test(tc, keywords);
	tcase_add_test(tc, env_and_defaults);
	tcase_add_test(tc, fill);
	tcase_add_test(tc, pgpass);
	tcase_add_test(tc, password_from_file);
	suite_add_tcase(s, tc);
	return s;
}
