/*
 * exec.c: how setup-postgres talks to the server: connecting, running a
 * statement or (dry run) printing it, and one way to fail over a server
 * error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "setup-postgres.h"

static void
trace_line(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "pg: %s", line);
}

static void
notice_line(void *ctx, const struct pg_error *e)
{
	const char *sev = pg_error_field(e, 'V');
	const char *msg = pg_error_field(e, 'M');
	log_debug((struct log *)ctx, "server %s: %s", sev ? sev : "NOTICE", msg ? msg : "");
}

void
connect_to(struct run *r, struct pg_conn *c, const char *dbname)
{
	char err[PG_CI_ERR_MAX];
	struct pg_conninfo ci = r->admin;
	pg_conninfo_set(&ci, "dbname", dbname, err, sizeof(err));
	pg_conn_init(c);
	c->app_name = "setup-postgres";
	c->trace = trace_line;
	c->trace_ctx = r->lg;
	c->notice = notice_line;
	c->notice_ctx = r->lg;
	int rc = pg_connect(c, &ci);
	pg_conninfo_wipe(&ci);
	if (rc != 0)
		log_die(r->lg, rc, "%s", c->error);
	log_debug(r->lg, "connected to %s (PostgreSQL %s, %s, auth %s)", c->where,
	    c->server_version, c->tls ? "TLS" : "no TLS", c->auth);
	r->c = c;
}

int
fail_code(const struct pg_conn *c, int rc)
{
	if (rc != EX_DATAERR)
		return rc;
	const char *s = pg_sqlstate(c);
	if (strcmp(s, "42501") == 0 || strncmp(s, "28", 2) == 0)
		return EX_NOPERM;
	return EX_DATAERR;
}

void
die_sql(struct run *r, int rc, const char *what)
{
	const struct pg_error *e = &r->c->err;
	const char *detail = rc == EX_DATAERR ? pg_error_field(e, 'D') : NULL;
	const char *hint = rc == EX_DATAERR ? pg_error_field(e, 'H') : NULL;
	log_die(r->lg, fail_code(r->c, rc), "%s: %s%s%s%s%s", what, r->c->error,
	    detail ? "; detail: " : "", detail ? detail : "", hint ? "; hint: " : "",
	    hint ? hint : "");
}

int
sql_try(struct run *r, const char *sql, struct pg_result *res)
{
	log_trace(r->lg, "sql: %s", sql);
	return pg_query(r->c, sql, res);
}

void
sql_query(struct run *r, const char *sql, struct pg_result *res)
{
	int rc = sql_try(r, sql, res);
	if (rc != 0) {
		char what[160];
		str_fmt_clip(what, sizeof(what), "%s", sql);
		die_sql(r, rc, what);
	}
}

void
plan_note(struct run *r, const char *fmt, ...)
{
	va_list ap;
	if (!r->dry_run)
		return;
	va_start(ap, fmt);
	int f = buf_puts(&r->out, "-- ") == -1 || buf_vprintf(&r->out, fmt, ap) == -1 ||
	    buf_putc(&r->out, '\n') == -1;
	va_end(ap);
	if (f)
		log_die(r->lg, EX_SOFTWARE, "out of memory");
}

void
sql_change(struct run *r, const char *sql, const char *shown, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->nchanges++;
	if (r->dry_run) {
		const char *s = shown ? shown : sql;
		size_t n = strlen(s);
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
			n--;
		if (buf_append(&r->out, s, n) == -1 ||
		    buf_puts(&r->out, n > 0 && s[n - 1] == ';' ? "\n" : ";\n") == -1)
			log_die(r->lg, EX_SOFTWARE, "out of memory");
		return;
	}
	log_info(r->lg, "%s", what);
	log_debug(r->lg, "sql: %s", shown ? shown : sql);
	int rc = pg_query(r->c, sql, NULL);
	if (rc != 0)
		die_sql(r, rc, what);
	json_array_append_new(r->changes, json_string(what));
}

void
q_ident(struct run *r, struct buf *b, const char *name)
{
	if (pg_quote_ident(b, name) == -1)
		log_die(r->lg, EX_SOFTWARE, "out of memory");
}

void
q_literal(struct run *r, struct buf *b, const char *text)
{
	if (pg_quote_literal(b, text) == -1)
		log_die(r->lg, EX_SOFTWARE, "out of memory");
}

void
take_lock(struct run *r)
{
	struct pg_result res;
	char sql[128];
	if (r->dry_run)
		return;
	pg_result_init(&res);
	str_fmt(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", SP_LOCK_KEY);
	sql_query(r, sql, &res);
	const char *got = pg_value(&res, 0, 0);
	if (got == NULL || strcmp(got, "t") != 0) {
		/* Another run holds it: wait our turn, then find its work done. */
		log_info(r->lg, "another setup-postgres run holds the lock on %s; waiting for it",
		    r->c->where);
		str_fmt(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", SP_LOCK_KEY);
		sql_query(r, sql, &res);
		log_info(r->lg, "got the lock on %s", r->c->where);
	}
	pg_result_free(&res);
}
