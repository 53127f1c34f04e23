/*
 * pg_conninfo.h: PostgreSQL connection settings, read the way libpq reads
 * them, so that what works for psql works here:
 *
 *   1. a connection string: a URI
 *        postgres://user:password@host:port/dbname?sslmode=verify-full&...
 *      (also postgresql://; parts percent-encoded; a host that starts with
 *      %2F is a Unix socket directory) or keyword=value pairs
 *        host=db.example.com port=5432 dbname=breakpad sslmode=require
 *      (values in 'single quotes' with \' and \\ when they hold spaces);
 *   2. the environment, for what the string left unset: PGHOST PGHOSTADDR
 *      PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT
 *      PGCONNECT_TIMEOUT PGPASSFILE PGAPPNAME;
 *   3. defaults: the Unix socket in /var/run/postgresql or /tmp when one is
 *      there (else localhost), port 5432, the login user, dbname = user;
 *   4. the password, when still unset, from the password file (passfile,
 *      PGPASSFILE, ~/.pgpass), which is ignored, as libpq ignores it, when
 *      group or others may read it (it must be 0600 or stricter).
 *
 * One host only (libpq's comma-separated host lists are refused).
 *
 * Keywords: host hostaddr port user password dbname sslmode sslrootcert
 * connect_timeout passfile application_name.  Unknown keywords are errors.
 *
 * Functions that can fail return 0, or -1 with one line in err (never
 * holding the password).  Nothing here prints or exits; the environment
 * is read only through the lookup function the caller passes (getenv, or
 * a table in tests).
 */
#ifndef SB_PG_CONNINFO_H
#define SB_PG_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

#define PG_CI_VALUE_MAX 1024
#define PG_CI_ERR_MAX 512
#define PG_DEFAULT_PORT "5432"

enum pg_ci_key {
	PG_CI_HOST,
	PG_CI_HOSTADDR,
	PG_CI_PORT,
	PG_CI_USER,
	PG_CI_PASSWORD,
	PG_CI_DBNAME,
	PG_CI_SSLMODE,
	PG_CI_SSLROOTCERT,
	PG_CI_CONNECT_TIMEOUT,
	PG_CI_PASSFILE,
	PG_CI_APPNAME,
	PG_CI_NKEYS
};

enum pg_sslmode {
	PG_SSL_DISABLE,
	PG_SSL_ALLOW,
	PG_SSL_PREFER,
	PG_SSL_REQUIRE,
	PG_SSL_VERIFY_CA,
	PG_SSL_VERIFY_FULL
};

struct pg_conninfo {
	char val[PG_CI_NKEYS][PG_CI_VALUE_MAX];
	bool set[PG_CI_NKEYS];
};

typedef const char *(*pg_getenv_fn)(const char *name);

void pg_conninfo_init(struct pg_conninfo *ci);
/* pg_conninfo_wipe zeroes ci (it may hold a password). */
void pg_conninfo_wipe(struct pg_conninfo *ci);
/* pg_conninfo_parse reads a URI or a keyword string into ci; what it sets
 * replaces what ci held. */
int pg_conninfo_parse(struct pg_conninfo *ci, const char *s, char *err, size_t errsz);
/* pg_conninfo_set sets one setting by its keyword. */
int pg_conninfo_set(struct pg_conninfo *ci, const char *key, const char *value, char *err,
    size_t errsz);
/* pg_conninfo_get: the value, or NULL if unset. */
const char *pg_conninfo_get(const struct pg_conninfo *ci, enum pg_ci_key k);
/* pg_conninfo_fill sets each setting ci lacks from src. */
void pg_conninfo_fill(struct pg_conninfo *ci, const struct pg_conninfo *src);
/* pg_conninfo_env fills unset settings from PG* variables through get. */
int pg_conninfo_env(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz);
/*
 * pg_conninfo_finish applies the defaults (step 3) and checks the values
 * (port, sslmode, connect_timeout).  The password file is separate:
 * pg_conninfo_password.
 */
int pg_conninfo_finish(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz);
/*
 * pg_conninfo_password fills an unset password from the password file.
 * Returns 1 if it did, 0 if no line matched or there is no file, -1 on an
 * unreadable file (err set).  When the file was ignored for its mode, warn
 * (if not NULL) gets a line saying so and 0 is returned.
 */
int pg_conninfo_password(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz,
    char *warn, size_t warnsz);

/*
 * pg_pgpass_lookup finds the password for (host, port, db, user) in the
 * password file at path: lines host:port:database:username:password, '*'
 * matching anything, '\' escaping ':' and '\', '#' starting a comment.
 * Same returns as pg_conninfo_password.
 */
int pg_pgpass_lookup(const char *path, const char *host, const char *port, const char *db,
    const char *user, char *out, size_t outsz, char *err, size_t errsz, char *warn,
    size_t warnsz);

/* pg_conninfo_is_socket: true when the host is a Unix socket directory. */
bool pg_conninfo_is_socket(const struct pg_conninfo *ci);
/* pg_conninfo_is_local: a socket, localhost, or a loopback address. */
bool pg_conninfo_is_local(const struct pg_conninfo *ci);
/*
 * pg_conninfo_sslmode: the mode to use.  Unset, it is disable over a Unix
 * socket, prefer to a loopback host, and verify-full to any other host:
 * a remote server must prove who it is unless told otherwise.
 */
enum pg_sslmode pg_conninfo_sslmode(const struct pg_conninfo *ci);
const char *pg_sslmode_name(enum pg_sslmode m);
/* pg_conninfo_describe: "user@host:port/dbname" for logs (no password). */
void pg_conninfo_describe(const struct pg_conninfo *ci, char *out, size_t outsz);

#endif
