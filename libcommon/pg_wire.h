/*
 * pg_wire.h: the PostgreSQL frontend/backend protocol 3.0, as bytes.
 *
 * No I/O here: the encoders append one frontend message to a struct buf,
 * and the decoders read one backend message that pg_msg_split cut out of
 * bytes received.  pg_conn.c does the talking; the fuzz target
 * tests/fuzz/pg_backend.c and the unit suite test_pg_wire.c drive the
 * decoders with whatever bytes they like.
 *
 *	struct pg_msg m;
 *	size_t used;
 *	int r = pg_msg_split(in.data, in.len, PG_MSG_MAX, &m, &used);
 *	// 1: m is one message (its body points into in.data), used bytes
 *	// 0: need more bytes;  -1: malformed (errno EBADMSG or EMSGSIZE)
 *	if (r == 1 && m.type == 'E')
 *		pg_parse_error(&m, &err);
 *
 * Decoders return 0, or -1 (errno EBADMSG) when the body is not what the
 * protocol says; strings they hand back point into the message body and
 * live as long as it does.  Encoders return 0, or -1 as buf_append does
 * (EMSGSIZE past the buffer's max, ENOMEM); on failure the buffer is left
 * as it was.
 */
#ifndef SB_PG_WIRE_H
#define SB_PG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PG_PROTOCOL_3 196608      /* 3.0 */
#define PG_SSL_REQUEST 80877103   /* 1234.5679 */
#define PG_MSG_MAX (256u << 20)   /* largest backend message accepted */
#define PG_ERROR_MAX 8192         /* bytes of error fields kept */

/* One backend message: its type byte and its body (length word excluded). */
struct pg_msg {
	char type;
	const unsigned char *body;
	size_t len;
};

/*
 * pg_msg_split looks at data[0..n): 1 with *m and *used (bytes the message
 * takes, header included) when a whole message is there, 0 when more
 * bytes are needed, -1 when the length word is impossible (errno EBADMSG)
 * or the body is longer than max (EMSGSIZE).
 */
int pg_msg_split(const void *data, size_t n, size_t max, struct pg_msg *m, size_t *used);

/* A bounds-checked cursor over a message body.  Once a read fails, bad is
 * set and every later read fails too. */
struct pg_reader {
	const unsigned char *p;
	size_t n;
	bool bad;
};
void pg_reader_init(struct pg_reader *r, const struct pg_msg *m);
int32_t pg_get_i32(struct pg_reader *r);
int16_t pg_get_i16(struct pg_reader *r);
int pg_get_u8(struct pg_reader *r);
/* pg_get_str: a NUL-terminated string inside the body, or NULL. */
const char *pg_get_str(struct pg_reader *r);
/* pg_get_bytes: a pointer to the next n bytes, or NULL. */
const unsigned char *pg_get_bytes(struct pg_reader *r, size_t n);

/* Authentication request codes ('R' messages). */
enum {
	PG_AUTH_OK = 0,
	PG_AUTH_KERBEROS = 2,
	PG_AUTH_CLEARTEXT = 3,
	PG_AUTH_MD5 = 5,
	PG_AUTH_GSS = 7,
	PG_AUTH_GSS_CONTINUE = 8,
	PG_AUTH_SSPI = 9,
	PG_AUTH_SASL = 10,
	PG_AUTH_SASL_CONTINUE = 11,
	PG_AUTH_SASL_FINAL = 12
};

/* An 'R' message: the code and what follows it (MD5: the 4-byte salt;
 * SASL: mechanism names, each NUL-terminated, then an empty one;
 * SASL_CONTINUE and SASL_FINAL: the server's SCRAM message). */
struct pg_auth_req {
	int32_t code;
	const unsigned char *data;
	size_t len;
};
int pg_parse_auth(const struct pg_msg *m, struct pg_auth_req *a);
/* pg_sasl_has_mech: true if an AUTH_SASL request offers mech. */
bool pg_sasl_has_mech(const struct pg_auth_req *a, const char *mech);

/* 'S' ParameterStatus, 'K' BackendKeyData, 'Z' ReadyForQuery ('I' idle,
 * 'T' in a transaction, 'E' in a failed transaction), 'C' CommandComplete,
 * 'G' CopyInResponse (the overall format: 0 text, 1 binary). */
int pg_parse_param(const struct pg_msg *m, const char **name, const char **value);
int pg_parse_key_data(const struct pg_msg *m, int32_t *pid, int32_t *key);
int pg_parse_ready(const struct pg_msg *m, char *status);
int pg_parse_command_complete(const struct pg_msg *m, const char **tag);
int pg_parse_copy_in(const struct pg_msg *m, int *format, int *ncols);

/* 'T' RowDescription: one callback per column, in order. */
struct pg_field {
	const char *name;
	int32_t table_oid;
	int16_t column;
	int32_t type_oid;
	int16_t type_len;
	int32_t type_mod;
	int16_t format;
};
int pg_parse_row_desc(const struct pg_msg *m, int *ncols,
    int (*cb)(void *ctx, int i, const struct pg_field *f), void *ctx);

/* 'D' DataRow: one callback per value; value NULL (len -1) for SQL NULL.
 * A text value is not NUL-terminated in the message: use len. */
int pg_parse_data_row(const struct pg_msg *m, int *ncols,
    int (*cb)(void *ctx, int i, const unsigned char *value, int32_t len), void *ctx);

/*
 * 'E' ErrorResponse and 'N' NoticeResponse: every field the server sent,
 * kept as (code, text) pairs.  Fields by code (protocol docs, "Error and
 * Notice Message Fields"): S severity (localized), V severity, C SQLSTATE,
 * M message, D detail, H hint, P position (1-based, in characters of the
 * query), p internal position, q internal query, W where, s schema,
 * t table, c column, d data type, n constraint, F file, L line, R routine.
 * Fields past PG_ERROR_MAX bytes are clipped.
 */
struct pg_error {
	char raw[PG_ERROR_MAX]; /* code, text, NUL, ..., a final NUL */
	size_t len;
};
int pg_parse_error(const struct pg_msg *m, struct pg_error *e);
/* pg_error_field: the text of field code, or NULL if the server sent none. */
const char *pg_error_field(const struct pg_error *e, char code);
/* pg_error_position: field P as a number, or 0. */
long pg_error_position(const struct pg_error *e);
/* pg_error_set: a client-made error (severity ERROR) with SQLSTATE and message. */
void pg_error_set(struct pg_error *e, const char *sqlstate, const char *message);

/* Frontend messages. */
/* pg_put_startup: params is NULL-terminated name, value, name, value... */
int pg_put_startup(struct buf *b, const char *const *params);
int pg_put_ssl_request(struct buf *b);
/* pg_put_query: 'Q'; sql must hold no NUL (it ends at the first). */
int pg_put_query(struct buf *b, const char *sql);
int pg_put_password(struct buf *b, const char *password);
int pg_put_sasl_initial(struct buf *b, const char *mech, const void *data, size_t n);
int pg_put_sasl_response(struct buf *b, const void *data, size_t n);
int pg_put_copy_data(struct buf *b, const void *data, size_t n);
int pg_put_copy_done(struct buf *b);
int pg_put_copy_fail(struct buf *b, const char *why);
int pg_put_terminate(struct buf *b);

/* pg_msg_name: a backend message type's name ("ErrorResponse"), for traces. */
const char *pg_msg_name(char type);

#endif
