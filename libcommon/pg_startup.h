/*
 * pg_startup.h: one try at a PostgreSQL connection: socket, SSLRequest and
 * TLS as the sslmode asks, StartupMessage, authentication, and the wait
 * for the first ReadyForQuery.  Used by pg_connect (pg_conn.c), which
 * retries.  Not for callers.
 */
#ifndef SB_PG_STARTUP_H
#define SB_PG_STARTUP_H

#include <stdbool.h>

#include "pg_conn.h"

/*
 * pg_startup_try: 0 when the connection is ready for queries; else an
 * exit code (see pg_conn.h) with c->error set.  *answered is set when the
 * server itself refused (an ErrorResponse, in c->err), so the caller can
 * tell "not there" from "said no".
 */
int pg_startup_try(struct pg_conn *c, const struct pg_conninfo *ci, bool *answered);

#endif
