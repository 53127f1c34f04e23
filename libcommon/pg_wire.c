/*
 * pg_wire.c: PostgreSQL protocol 3.0 messages (see pg_wire.h).  Every
 * length and count from the server is checked against the bytes actually
 * there: this code reads whatever a server, or a man in the middle before
 * TLS, chooses to send.
 */
#include "pg_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
pg_msg_split(const void *data, size_t n, size_t max, struct pg_msg *m, size_t *used)
{
	const unsigned char *p = data;
	if (n < 5)
		return 0;
	uint32_t len = be32(p + 1);
	if (len < 4) {
		errno = EBADMSG;
		return -1;
	}
	if (len - 4 > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (n - 1 < len)
		return 0;
	m->type = (char)p[0];
	m->body = p + 5;
	m->len = len - 4;
	*used = (size_t)len + 1;
	return 1;
}

void
pg_reader_init(struct pg_reader *r, const struct pg_msg *m)
{
	r->p = m->body;
	r->n = m->len;
	r->bad = false;
}

const unsigned char *
pg_get_bytes(struct pg_reader *r, size_t n)
{
	if (r->bad || n > r->n) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->n -= n;
	return p;
}

int32_t
pg_get_i32(struct pg_reader *r)
{
	const unsigned char *p = pg_get_bytes(r, 4);
	return p ? (int32_t)be32(p) : 0;
}

int16_t
pg_get_i16(struct pg_reader *r)
{
	const unsigned char *p = pg_get_bytes(r, 2);
	return p ? (int16_t)(p[0] << 8 | p[1]) : 0;
}

int
pg_get_u8(struct pg_reader *r)
{
	const unsigned char *p = pg_get_bytes(r, 1);
	return p ? p[0] : -1;
}

const char *
pg_get_str(struct pg_reader *r)
{
	if (r->bad)
		return NULL;
	const unsigned char *nul = memchr(r->p, '\0', r->n);
	if (nul == NULL) {
		r->bad = true;
		return NULL;
	}
	return (const char *)pg_get_bytes(r, (size_t)(nul - r->p) + 1);
}

/* done: a decoder's verdict: the reads succeeded and used the whole body. */
static int
done(const struct pg_reader *r)
{
	if (r->bad || r->n != 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static int
bad(void)
{
	errno = EBADMSG;
	return -1;
}

/* open_msg: a reader on m's body, or -1 (EBADMSG) if m is not of type. */
static int
open_msg(struct pg_reader *r, const struct pg_msg *m, char type)
{
	if (m->type != type)
		return bad();
	pg_reader_init(r, m);
	return 0;
}

int
pg_parse_auth(const struct pg_msg *m, struct pg_auth_req *a)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'R') == -1)
		return -1;
	a->code = pg_get_i32(&r);
	if (r.bad)
		return bad();
	a->data = r.p;
	a->len = r.n;
	if (a->code == PG_AUTH_MD5 && a->len != 4)
		return bad();
	if ((a->code == PG_AUTH_OK || a->code == PG_AUTH_CLEARTEXT) && a->len != 0)
		return bad();
	/* SASL: names, each NUL-terminated, then an empty name. */
	if (a->code == PG_AUTH_SASL &&
	    (a->len < 2 || a->data[a->len - 1] != '\0' || a->data[a->len - 2] != '\0'))
		return bad();
	return 0;
}

bool
pg_sasl_has_mech(const struct pg_auth_req *a, const char *mech)
{
	size_t i = 0;
	while (i < a->len && a->data[i] != '\0') {
		const char *name = (const char *)a->data + i;
		size_t l = strnlen(name, a->len - i);
		if (l == a->len - i)
			return false;
		if (strcmp(name, mech) == 0)
			return true;
		i += l + 1;
	}
	return false;
}

int
pg_parse_param(const struct pg_msg *m, const char **name, const char **value)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'S') == -1)
		return -1;
	*name = pg_get_str(&r);
	*value = pg_get_str(&r);
	return done(&r);
}

int
pg_parse_key_data(const struct pg_msg *m, int32_t *pid, int32_t *key)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'K') == -1)
		return -1;
	*pid = pg_get_i32(&r);
	*key = pg_get_i32(&r);
	return done(&r);
}

int
pg_parse_ready(const struct pg_msg *m, char *status)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'Z') == -1)
		return -1;
	int s = pg_get_u8(&r);
	if (s != 'I' && s != 'T' && s != 'E')
		return bad();
	*status = (char)s;
	return done(&r);
}

int
pg_parse_command_complete(const struct pg_msg *m, const char **tag)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'C') == -1)
		return -1;
	*tag = pg_get_str(&r);
	return done(&r);
}

int
pg_parse_copy_in(const struct pg_msg *m, int *format, int *ncols)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'G') == -1)
		return -1;
	*format = pg_get_u8(&r);
	*ncols = pg_get_i16(&r);
	if (r.bad || *ncols < 0 || (*format != 0 && *format != 1))
		return bad();
	for (int i = 0; i < *ncols; i++)
		(void)pg_get_i16(&r);
	return done(&r);
}

int
pg_parse_row_desc(const struct pg_msg *m, int *ncols,
    int (*cb)(void *ctx, int i, const struct pg_field *f), void *ctx)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'T') == -1)
		return -1;
	int n = pg_get_i16(&r);
	if (r.bad || n < 0)
		return bad();
	*ncols = n;
	for (int i = 0; i < n; i++) {
		struct pg_field f;
		f.name = pg_get_str(&r);
		f.table_oid = pg_get_i32(&r);
		f.column = pg_get_i16(&r);
		f.type_oid = pg_get_i32(&r);
		f.type_len = pg_get_i16(&r);
		f.type_mod = pg_get_i32(&r);
		f.format = pg_get_i16(&r);
		if (r.bad)
			return bad();
		if (cb != NULL && cb(ctx, i, &f) == -1)
			return -1;
	}
	return done(&r);
}

int
pg_parse_data_row(const struct pg_msg *m, int *ncols,
    int (*cb)(void *ctx, int i, const unsigned char *value, int32_t len), void *ctx)
{
	struct pg_reader r;
	if (open_msg(&r, m, 'D') == -1)
		return -1;
	int n = pg_get_i16(&r);
	if (r.bad || n < 0)
		return bad();
	*ncols = n;
	for (int i = 0; i < n; i++) {
		int32_t len = pg_get_i32(&r);
		const unsigned char *v = NULL;
		if (len < -1)
			return bad();
		if (len >= 0)
			v = pg_get_bytes(&r, (size_t)len);
		if (r.bad)
			return bad();
		if (cb != NULL && cb(ctx, i, v, len) == -1)
			return -1;
	}
	return done(&r);
}

/* error_add appends one (code, text) pair to e, clipping text to fit. */
static void
error_add(struct pg_error *e, char code, const char *text)
{
	size_t room = sizeof(e->raw) - e->len;
	if (room < 4) /* code, one byte, NUL, and the final NUL */
		return;
	size_t l = strlen(text);
	if (l > room - 3)
		l = room - 3;
	e->raw[e->len++] = code;
	memcpy(e->raw + e->len, text, l);
	e->len += l;
	e->raw[e->len++] = '\0';
	e->raw[e->len] = '\0';
}

int
pg_parse_error(const struct pg_msg *m, struct pg_error *e)
{
	struct pg_reader r;
	e->len = 0;
	e->raw[0] = '\0';
	if (m->type != 'E' && m->type != 'N')
		return bad();
	pg_reader_init(&r, m);
	for (;;) {
		int code = pg_get_u8(&r);
		if (code <= 0)
			break;
		const char *text = pg_get_str(&r);
		if (text == NULL)
			break;
		error_add(e, (char)code, text);
	}
	return done(&r);
}

const char *
pg_error_field(const struct pg_error *e, char code)
{
	size_t i = 0;
	while (i < e->len && e->raw[i] != '\0') {
		const char *text = e->raw + i + 1;
		if (e->raw[i] == code)
			return text;
		i += 1 + strlen(text) + 1;
	}
	return NULL;
}

long
pg_error_position(const struct pg_error *e)
{
	const char *p = pg_error_field(e, 'P');
	long v;
	if (p == NULL || str_to_long(p, 1, 1L << 30, &v) == -1)
		return 0;
	return v;
}

void
pg_error_set(struct pg_error *e, const char *sqlstate, const char *message)
{
	e->len = 0;
	e->raw[0] = '\0';
	error_add(e, 'S', "ERROR");
	error_add(e, 'V', "ERROR");
	error_add(e, 'C', sqlstate);
	error_add(e, 'M', message);
}

/* Encoders: begin() writes the type and a length placeholder; end()
 * patches the length in.  On any failure the buffer goes back to start. */
static int
put32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };
	return buf_append(b, p, 4);
}

static int
begin(struct buf *b, char type, size_t *start)
{
	*start = b->len;
	if (type != '\0' && buf_putc(b, type) == -1)
		return -1;
	return put32(b, 0);
}

static int
end(struct buf *b, size_t start, char type, int failed)
{
	if (failed) {
		int saved = errno;
		if (b->data != NULL) {
			b->len = start;
			b->data[start] = '\0';
		}
		errno = saved;
		return -1;
	}
	size_t at = start + (type != '\0');
	size_t len = b->len - at;
	if (len > 0x7fffffffu)
		return end(b, start, type, (errno = EMSGSIZE, 1));
	unsigned char *p = (unsigned char *)b->data + at;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 0;
}

static int
put_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s) + 1);
}

int
pg_put_startup(struct buf *b, const char *const *params)
{
	size_t start;
	int f = begin(b, '\0', &start) == -1 || put32(b, PG_PROTOCOL_3) == -1;
	for (size_t i = 0; !f && params[i] != NULL && params[i + 1] != NULL; i += 2)
		f = put_str(b, params[i]) == -1 || put_str(b, params[i + 1]) == -1;
	f = f || buf_putc(b, '\0') == -1;
	return end(b, start, '\0', f);
}

int
pg_put_ssl_request(struct buf *b)
{
	size_t start;
	int f = begin(b, '\0', &start) == -1 || put32(b, PG_SSL_REQUEST) == -1;
	return end(b, start, '\0', f);
}

/* put_typed: a message of one type holding a string, bytes, or nothing. */
static int
put_typed(struct buf *b, char type, const char *s, const void *data, size_t n)
{
	size_t start;
	int f = begin(b, type, &start) == -1;
	if (!f && s != NULL)
		f = put_str(b, s) == -1;
	if (!f && data != NULL)
		f = buf_append(b, data, n) == -1;
	return end(b, start, type, f);
}

int
pg_put_query(struct buf *b, const char *sql)
{
	return put_typed(b, 'Q', sql, NULL, 0);
}

int
pg_put_password(struct buf *b, const char *password)
{
	return put_typed(b, 'p', password, NULL, 0);
}

int
pg_put_sasl_initial(struct buf *b, const char *mech, const void *data, size_t n)
{
	size_t start;
	int f = begin(b, 'p', &start) == -1 || put_str(b, mech) == -1 ||
	    n > 0x7fffffff || put32(b, (uint32_t)n) == -1 || buf_append(b, data, n) == -1;
	return end(b, start, 'p', f);
}

int
pg_put_sasl_response(struct buf *b, const void *data, size_t n)
{
	return put_typed(b, 'p', NULL, data, n);
}

int
pg_put_copy_data(struct buf *b, const void *data, size_t n)
{
	return put_typed(b, 'd', NULL, data, n);
}

int
pg_put_copy_done(struct buf *b)
{
	return put_typed(b, 'c', NULL, NULL, 0);
}

int
pg_put_copy_fail(struct buf *b, const char *why)
{
	return put_typed(b, 'f', why, NULL, 0);
}

int
pg_put_terminate(struct buf *b)
{
	return put_typed(b, 'X', NULL, NULL, 0);
}

const char *
pg_msg_name(char type)
{
	switch (type) {
	case 'R': return "Authentication";
	case 'S': return "ParameterStatus";
	case 'K': return "BackendKeyData";
	case 'Z': return "ReadyForQuery";
	case 'T': return "RowDescription";
	case 'D': return "DataRow";
	case 'C': return "CommandComplete";
	case 'I': return "EmptyQueryResponse";
	case 'E': return "ErrorResponse";
	case 'N': return "NoticeResponse";
	case 'A': return "NotificationResponse";
	case 'G': return "CopyInResponse";
	case 'H': return "CopyOutResponse";
	case 'W': return "CopyBothResponse";
	case 'd': return "CopyData";
	case 'c': return "CopyDone";
	case 'v': return "NegotiateProtocolVersion";
	case '1': return "ParseComplete";
	case '2': return "BindComplete";
	case '3': return "CloseComplete";
	case 'n': return "NoData";
	case 's': return "PortalSuspended";
	case 't': return "ParameterDescription";
	}
	return "unknown message";
}
