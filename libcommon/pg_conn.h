/*
 * pg_conn.h: a PostgreSQL client connection, written here (no libpq: a
 * static libpq would bring OpenSSL along).  Protocol 3.0: startup,
 * authentication (trust, cleartext, MD5, SCRAM-SHA-256 with the server's
 * signature checked), TLS after SSLRequest (pg_tls.h), the simple query
 * protocol, COPY FROM STDIN, Terminate.
 *
 *	struct pg_conninfo ci;                 // see pg_conninfo.h
 *	struct pg_conn c;
 *	pg_conn_init(&c);
 *	if ((rc = pg_connect(&c, &ci)) != 0)
 *		log_die(&lg, rc, "%s", c.error);
 *	struct pg_result r;
 *	pg_result_init(&r);
 *	if ((rc = pg_query(&c, "SELECT rolname FROM pg_roles", &r)) != 0)
 *		... c.error, and c.err holds every field of the server's error
 *	for (size_t i = 0; i < r.nrows; i++)
 *		puts(pg_value(&r, i, 0));
 *	pg_result_free(&r);
 *	pg_close(&c);                          // Terminate, close, free
 *
 * Return codes are exits.h's:
 *   EX_UNAVAILABLE  cannot connect after c.attempts tries (refused, no
 *                   route, no such host, server starting or full), the
 *                   connection was lost, or the server broke the protocol
 *                   (a malformed or unexpected message: not PostgreSQL?)
 *   EX_TEMPFAIL     connect_timeout passed on every try (connecting, TLS,
 *                   startup and authentication all count against it)
 *   EX_NOPERM       authentication refused (wrong password, no pg_hba.conf
 *                   entry), no password to give, the server failed to
 *                   prove itself (SCRAM signature), or its TLS certificate
 *                   was refused
 *   EX_CONFIG       a setting cannot work (unreadable CA file, verify-full
 *                   to an IP address, unsupported authentication, no such
 *                   database)
 *   EX_DATAERR      the server refused a query (ErrorResponse): c.err holds
 *                   it; the connection is still usable
 *   EX_SOFTWARE     out of memory
 * c.error then holds one line saying what failed and where (host:port),
 * never a password.
 *
 * Ownership: the caller owns the struct pg_conn and every pg_result;
 * pg_connect allocates the TLS state and buffers, which pg_close frees.
 * pg_connect copies what it needs from the conninfo.  One connection is
 * for one thread.
 */
#ifndef SB_PG_CONN_H
#define SB_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pg_conninfo.h"
#include "pg_tls.h"
#include "pg_wire.h"

#define PG_CONN_ERROR_MAX 1024
#define PG_DEFAULT_CONNECT_TIMEOUT 10 /* seconds, when connect_timeout is unset */

struct pg_conn {
	/* Settings: change after pg_conn_init, before pg_connect. */
	int attempts;            /* connection tries, default 4 */
	long backoff_ms;         /* first pause between tries, doubled, default 250 */
	const char *app_name;    /* application_name unless the conninfo sets one */
	/* Where verify-ca/verify-full find CAs when sslrootcert is unset:
	 * $HOME/.postgresql/root.crt if it exists, then ca_env_file, then
	 * the first of HTTP_CA_BUNDLES.  pg_conn_init sets these from HOME
	 * and SSL_CERT_FILE. */
	const char *home;
	const char *ca_env_file;
	/* Called for each NoticeResponse (and for a notice-level message in
	 * an error's absence); NULL ignores them. */
	void (*notice)(void *ctx, const struct pg_error *e);
	void *notice_ctx;
	/* -vv trace sink: one line per message type sent or received, and
	 * connection steps; never message contents.  NULL: off. */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;

	/* State, read-only for callers. */
	char error[PG_CONN_ERROR_MAX]; /* one line on the last failure */
	struct pg_error err;           /* the server's last ErrorResponse */
	char where[300];               /* "host:port" or the socket path */
	char txstatus;                 /* 'I', 'T' or 'E' from ReadyForQuery */
	char server_version[32];
	bool tls;                      /* the link is TLS */
	const char *auth;              /* "trust", "password", "md5", "SCRAM-SHA-256" */
	bool standard_strings;         /* standard_conforming_strings = on */

	/* private */
	int fd;
	int64_t deadline_ms;           /* plain socket I/O: CLOCK_MONOTONIC ms, 0 none */
	struct pg_tls *t;
	struct pg_anchors anchors;
	struct buf in, out;
	size_t in_pos;
	int32_t pid, key;
};

/*
 * A query's answer.  Rows are those of the last statement that returned
 * rows; tag is the last CommandComplete ("INSERT 0 1", "CREATE TABLE").
 */
struct pg_result {
	int ncols;
	size_t nrows;
	char tag[64];
	int ncommands;
	/* private: values back to back, NUL-terminated; offsets per cell
	 * (SIZE_MAX for NULL); column names likewise. */
	struct buf data;
	size_t *off;
	size_t offcap;
	size_t *name_off;
};

void pg_conn_init(struct pg_conn *c);
int pg_connect(struct pg_conn *c, const struct pg_conninfo *ci);
/* pg_close sends Terminate, closes the link and frees what pg_connect got. */
void pg_close(struct pg_conn *c);

void pg_result_init(struct pg_result *r);
void pg_result_free(struct pg_result *r);
/* pg_value: the text of a cell, NULL for SQL NULL or out of range. */
const char *pg_value(const struct pg_result *r, size_t row, int col);
const char *pg_column_name(const struct pg_result *r, int col);

/*
 * pg_query runs sql (one or more statements) with the simple query
 * protocol and waits for ReadyForQuery.  r may be NULL.  A COPY FROM
 * STDIN in sql is refused (use pg_copy_in).
 */
int pg_query(struct pg_conn *c, const char *sql, struct pg_result *r);

/*
 * pg_copy_in runs one COPY ... FROM STDIN statement and sends the data
 * read: read(ctx, buf, size) returns bytes (0 at the end, -1 to abort
 * the COPY, which is then rolled back).  tag gets the CommandComplete
 * ("COPY 3").
 */
int pg_copy_in(struct pg_conn *c, const char *sql,
    long (*read)(void *ctx, char *buf, size_t size), void *ctx, char tag[64]);

/*
 * Quoting for SQL text built here: pg_quote_ident appends "name" (quotes
 * doubled), pg_quote_literal appends 'text' (quotes doubled; E'...' with
 * backslashes doubled when text holds one, right whatever
 * standard_conforming_strings says).  0, or -1 (ENOMEM, or EMSGSIZE
 * past the buffer's max), the buffer then as it was.
 */
int pg_quote_ident(struct buf *b, const char *name);
int pg_quote_literal(struct buf *b, const char *text);

/* pg_sqlstate: the last error's SQLSTATE, or "". */
const char *pg_sqlstate(const struct pg_conn *c);

#endif
