/*
 * pg_conn.c: a PostgreSQL connection's life: tries with backoff, the
 * message I/O every exchange uses, errors, close (see pg_conn.h).  The
 * steps of one try (socket, TLS, startup, authentication) are in
 * pg_startup.c; queries and COPY in pg_query.c.
 */
#include "pg_conn_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exits.h"
#include "pg_auth.h"
#include "pg_startup.h"

void
pg_conn_init(struct pg_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->attempts = 4;
	c->backoff_ms = 250;
	c->fd = -1;
	c->txstatus = 'I';
	c->standard_strings = true;
	c->auth = "none";
	c->home = getenv("HOME");
	c->ca_env_file = getenv("SSL_CERT_FILE");
	pg_anchors_init(&c->anchors);
	buf_init(&c->in, PG_MSG_MAX + 5);
	buf_init(&c->out, PG_MSG_MAX);
}

void
pg_errorf(struct pg_conn *c, const char *fmt, ...)
{
	char msg[PG_CONN_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_fmt_clip(c->error, sizeof(c->error), "%s: %s", c->where[0] ? c->where : "postgres",
	    msg);
}

void
pg_tracef(struct pg_conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (c->trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->trace(c->trace_ctx, line);
}

/* raw_send writes n bytes on the link, TLS or not. */
static int
raw_send(struct pg_conn *c, const char *p, size_t n)
{
	if (c->t != NULL)
		return pg_tls_write(c->t, p, n);
	while (n > 0) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EAGAIN && pg_wait_fd(c->fd, POLLOUT, c->deadline_ms) == -1)
				return -1;
			continue;
		}
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* raw_recv reads what is there (at least one byte): >0, 0 closed, -1. */
static ssize_t
raw_recv(struct pg_conn *c, char *p, size_t n)
{
	if (c->t != NULL)
		return pg_tls_read(c->t, p, n);
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r >= 0)
			return r;
		if (errno == EAGAIN) {
			if (pg_wait_fd(c->fd, POLLIN, c->deadline_ms) == -1)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
}

/* timed_out: did the last failed send or receive pass the deadline? */
static bool
timed_out(const struct pg_conn *c)
{
	return c->t != NULL ? c->t->sys_errno == ETIMEDOUT : errno == ETIMEDOUT;
}

int
pg_io_flush(struct pg_conn *c)
{
	if (c->out.len == 0)
		return 0;
	int r = raw_send(c, c->out.data, c->out.len);
	buf_reset(&c->out);
	if (r == -1 && timed_out(c)) {
		pg_errorf(c, "timed out sending to the server (connect_timeout)");
		return EX_TEMPFAIL;
	}
	if (r == -1) {
		pg_errorf(c, "connection lost while sending: %s", strerror(errno));
		return EX_UNAVAILABLE;
	}
	return 0;
}

int
pg_io_next(struct pg_conn *c, struct pg_msg *m)
{
	size_t used;
	/* The previous message is done with: drop it, keep what follows. */
	if (c->in_pos > 0) {
		memmove(c->in.data, c->in.data + c->in_pos, c->in.len - c->in_pos);
		c->in.len -= c->in_pos;
		c->in_pos = 0;
	}
	for (;;) {
		int r = pg_msg_split(c->in.data, c->in.len, PG_MSG_MAX, m, &used);
		if (r == 1) {
			c->in_pos = used;
			if (m->type != 'D')
				pg_tracef(c, "<- %s (%zu bytes)", pg_msg_name(m->type), m->len);
			return 0;
		}
		if (r == -1) {
			const unsigned char *h = (const unsigned char *)c->in.data;
			unsigned long len = (unsigned long)h[1] << 24 | (unsigned long)h[2] << 16 |
			    (unsigned long)h[3] << 8 | h[4];
			pg_errorf(c, "malformed message from the server (type 0x%02x, length %lu): "
			    "not a PostgreSQL server?", h[0], len);
			return EX_UNAVAILABLE;
		}
		char chunk[16384];
		ssize_t n = raw_recv(c, chunk, sizeof(chunk));
		if (n < 0 && timed_out(c)) {
			pg_errorf(c, "timed out waiting for the server's answer (connect_timeout)");
			return EX_TEMPFAIL;
		}
		if (n <= 0) {
			pg_errorf(c, "connection lost: %s", n == 0 ? "the server closed it"
			    : strerror(errno));
			return EX_UNAVAILABLE;
		}
		if (buf_append(&c->in, chunk, (size_t)n) == -1) {
			pg_errorf(c, "out of memory reading from the server");
			return EX_SOFTWARE;
		}
	}
}

void
pg_server_error(struct pg_conn *c, const struct pg_msg *m)
{
	if (pg_parse_error(m, &c->err) == -1 && c->err.len == 0)
		pg_error_set(&c->err, "XX000", "malformed ErrorResponse");
	const char *sev = pg_error_field(&c->err, 'V');
	const char *msg = pg_error_field(&c->err, 'M');
	const char *state = pg_error_field(&c->err, 'C');
	pg_errorf(c, "%s: %s (SQLSTATE %s)", sev ? sev : "ERROR", msg ? msg : "(no message)",
	    state ? state : "?????");
}

int
pg_async(struct pg_conn *c, const struct pg_msg *m)
{
	if (m->type == 'N') {
		struct pg_error e;
		if (pg_parse_error(m, &e) == 0 && c->notice != NULL)
			c->notice(c->notice_ctx, &e);
		return 1;
	}
	if (m->type == 'S') {
		const char *name, *value;
		if (pg_parse_param(m, &name, &value) == 0) {
			if (strcmp(name, "server_version") == 0)
				str_fmt_clip(c->server_version, sizeof(c->server_version), "%s", value);
			else if (strcmp(name, "standard_conforming_strings") == 0)
				c->standard_strings = strcmp(value, "on") == 0;
		}
		return 1;
	}
	return m->type == 'A'; /* LISTEN notifications: none are asked for */
}

int
pg_protocol_error(struct pg_conn *c, const struct pg_msg *m, const char *when)
{
	pg_errorf(c, "protocol violation: unexpected %s ('%c') %s", pg_msg_name(m->type),
	    m->type >= 0x20 && m->type < 0x7f ? m->type : '?', when);
	return EX_UNAVAILABLE;
}

/* drop closes the link without ceremony, keeping c reusable for a retry. */
static void
drop(struct pg_conn *c)
{
	if (c->t != NULL) {
		secure_wipe(c->t, sizeof(*c->t));
		free(c->t);
		c->t = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->deadline_ms = 0;
	c->tls = false;
	buf_reset(&c->in);
	buf_reset(&c->out);
	c->in_pos = 0;
}

/* retryable: would another try, after a pause, likely do better? */
static bool
retryable(int rc, const struct pg_conn *c, bool server_answered)
{
	if (rc == EX_TEMPFAIL)
		return true;
	if (rc != EX_UNAVAILABLE)
		return false;
	if (!server_answered)
		return true;
	/* The server said no: only "starting up" and "too many" pass. */
	const char *s = pg_error_field(&c->err, 'C');
	return s != NULL && (strcmp(s, "57P03") == 0 || strcmp(s, "53300") == 0);
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
pg_connect(struct pg_conn *c, const struct pg_conninfo *ci)
{
	char where[256];
	int rc = EX_UNAVAILABLE;
	long wait = c->backoff_ms;

	pg_conninfo_describe(ci, where, sizeof(where));
	str_fmt_clip(c->where, sizeof(c->where), "%s", where);
	for (int i = 1; i <= (c->attempts > 0 ? c->attempts : 1); i++) {
		bool answered = false;
		c->err.len = 0;
		c->err.raw[0] = '\0';
		rc = pg_startup_try(c, ci, &answered);
		if (rc == 0)
			return 0;
		drop(c);
		if (!retryable(rc, c, answered) || i == c->attempts)
			break;
		pg_tracef(c, "try %d failed (%s); again in %ld ms", i, c->error, wait);
		/* Jitter: a fleet of VMs booting at once should not knock in step. */
		unsigned char j;
		long w = wait;
		if (pg_random(&j, 1) == 0)
			w = wait / 2 + (wait / 2) * j / 255;
		pause_ms(w);
		wait = wait * 2 > 8000 ? 8000 : wait * 2;
	}
	if (rc == EX_UNAVAILABLE || rc == EX_TEMPFAIL) {
		char cause[PG_CONN_ERROR_MAX];
		str_fmt_clip(cause, sizeof(cause), "%s", c->error);
		str_fmt_clip(c->error, sizeof(c->error), "%s (after %d tries)", cause,
		    c->attempts > 0 ? c->attempts : 1);
	}
	pg_anchors_free(&c->anchors);
	return rc;
}

void
pg_close(struct pg_conn *c)
{
	if (c->fd != -1 && pg_put_terminate(&c->out) == 0) {
		pg_tracef(c, "-> Terminate");
		(void)pg_io_flush(c);
	}
	if (c->t != NULL)
		pg_tls_close(c->t);
	drop(c);
	pg_anchors_free(&c->anchors);
	buf_free(&c->in);
	buf_wipe(&c->out);
}

const char *
pg_sqlstate(const struct pg_conn *c)
{
	const char *s = pg_error_field(&c->err, 'C');
	return s ? s : "";
}
