/*
 * pg_conn_impl.h: what pg_conn.c (connecting, I/O) and pg_query.c
 * (queries, COPY) share.  Not for callers.
 */
#ifndef SB_PG_CONN_IMPL_H
#define SB_PG_CONN_IMPL_H

#include "pg_conn.h"

/* pg_io_flush sends c->out whole: 0, or EX_UNAVAILABLE (c->error set). */
int pg_io_flush(struct pg_conn *c);
/* pg_io_next reads the next backend message: 0, or EX_UNAVAILABLE (the
 * link broke or closed) or EX_SOFTWARE (malformed message). The message
 * body lives until the next call. */
int pg_io_next(struct pg_conn *c, struct pg_msg *m);
/* pg_async handles messages that may come at any time (notices,
 * parameter changes, notifications): 1 if m was one, else 0. */
int pg_async(struct pg_conn *c, const struct pg_msg *m);
/* pg_server_error stores an 'E' message in c->err and c->error. */
void pg_server_error(struct pg_conn *c, const struct pg_msg *m);
void pg_errorf(struct pg_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pg_tracef(struct pg_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pg_protocol_error: the server sent something the protocol forbids. */
int pg_protocol_error(struct pg_conn *c, const struct pg_msg *m, const char *when);

#endif
