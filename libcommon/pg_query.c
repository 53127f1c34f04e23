/*
 * pg_query.c: the simple query protocol, COPY FROM STDIN, results and
 * SQL quoting (see pg_conn.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "pg_conn_impl.h"

#define RESULT_MAX ((size_t)1 << 30) /* bytes of values one result may hold */

void
pg_result_init(struct pg_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->data, RESULT_MAX);
}

void
pg_result_free(struct pg_result *r)
{
	buf_free(&r->data);
	free(r->off);
	free(r->name_off);
	pg_result_init(r);
}

/* result_reset forgets the rows (a new RowDescription came). */
static void
result_reset(struct pg_result *r)
{
	buf_reset(&r->data);
	free(r->name_off);
	r->name_off = NULL;
	r->ncols = 0;
	r->nrows = 0;
}

const char *
pg_value(const struct pg_result *r, size_t row, int col)
{
	if (row >= r->nrows || col < 0 || col >= r->ncols)
		return NULL;
	size_t o = r->off[row * (size_t)r->ncols + (size_t)col];
	return o == SIZE_MAX ? NULL : r->data.data + o;
}

const char *
pg_column_name(const struct pg_result *r, int col)
{
	if (col < 0 || col >= r->ncols || r->name_off == NULL)
		return NULL;
	return r->data.data + r->name_off[col];
}

static int
on_field(void *ctx, int i, const struct pg_field *f)
{
	struct pg_result *r = ctx;
	r->name_off[i] = r->data.len;
	return buf_append(&r->data, f->name, strlen(f->name) + 1);
}

static int
on_value(void *ctx, int i, const unsigned char *v, int32_t len)
{
	struct pg_result *r = ctx;
	size_t cell = r->nrows * (size_t)r->ncols + (size_t)i;
	if (v == NULL) {
		r->off[cell] = SIZE_MAX;
		return 0;
	}
	r->off[cell] = r->data.len;
	if (buf_append(&r->data, v, (size_t)len) == -1 || buf_putc(&r->data, '\0') == -1)
		return -1;
	return 0;
}

static int
row_desc(struct pg_conn *c, struct pg_result *r, const struct pg_msg *m)
{
	int n = 0;
	struct pg_reader rd;
	result_reset(r);
	pg_reader_init(&rd, m);
	n = pg_get_i16(&rd);
	if (rd.bad || n < 0)
		return pg_protocol_error(c, m, "(malformed)");
	r->name_off = calloc((size_t)n + 1, sizeof(size_t));
	if (r->name_off == NULL) {
		pg_errorf(c, "out of memory");
		return EX_SOFTWARE;
	}
	r->ncols = n;
	if (pg_parse_row_desc(m, &n, on_field, r) == -1)
		return pg_protocol_error(c, m, "(malformed or too large)");
	return 0;
}

static int
data_row(struct pg_conn *c, struct pg_result *r, const struct pg_msg *m)
{
	int n;
	size_t need = (r->nrows + 1) * (size_t)r->ncols;
	if (need > r->offcap) {
		size_t cap = r->offcap ? r->offcap * 2 : 64;
		while (cap < need)
			cap *= 2;
		size_t *o = realloc(r->off, cap * sizeof(*o));
		if (o == NULL) {
			pg_errorf(c, "out of memory");
			return EX_SOFTWARE;
		}
		r->off = o;
		r->offcap = cap;
	}
	struct pg_reader rd;
	pg_reader_init(&rd, m);
	if (pg_get_i16(&rd) != r->ncols || rd.bad)
		return pg_protocol_error(c, m, "(column count differs from RowDescription)");
	if (pg_parse_data_row(m, &n, on_value, r) == -1) {
		if (errno == EBADMSG)
			return pg_protocol_error(c, m, "(malformed)");
		pg_errorf(c, "result too large (over %zu bytes)", (size_t)RESULT_MAX);
		return EX_SOFTWARE;
	}
	r->nrows++;
	return 0;
}

/*
 * collect reads the answer to a query up to ReadyForQuery.  A CopyIn
 * request (a COPY FROM STDIN where none was expected) is refused with
 * CopyFail; a CopyOut's data is read and dropped.
 */
static int
collect(struct pg_conn *c, struct pg_result *r, int *copy_format)
{
	struct pg_msg m;
	int rc, status = 0;
	while ((rc = pg_io_next(c, &m)) == 0) {
		if (pg_async(c, &m))
			continue;
		switch (m.type) {
		case 'T': rc = status ? 0 : row_desc(c, r, &m); break;
		case 'D':
			if (status == 0)
				rc = r->name_off == NULL ? pg_protocol_error(c, &m, "before any "
				    "RowDescription") : data_row(c, r, &m);
			break;
		case 'C': {
			const char *tag;
			if (pg_parse_command_complete(&m, &tag) == -1)
				return pg_protocol_error(c, &m, "(malformed)");
			str_fmt_clip(r->tag, sizeof(r->tag), "%s", tag);
			r->ncommands++;
			break;
		}
		case 'I': case 'd': case 'c': case 'H': break;
		case 'E':
			pg_server_error(c, &m);
			status = EX_DATAERR;
			break;
		case 'G': {
			int fmt, n;
			if (copy_format != NULL && pg_parse_copy_in(&m, &fmt, &n) == 0) {
				*copy_format = fmt;
				return 0; /* the caller sends the data */
			}
			if (pg_put_copy_fail(&c->out, "COPY FROM STDIN is not expected here") == -1)
				return EX_SOFTWARE;
			rc = pg_io_flush(c);
			break;
		}
		case 'Z':
			if (pg_parse_ready(&m, &c->txstatus) == -1)
				return pg_protocol_error(c, &m, "(malformed)");
			return status;
		default:
			return pg_protocol_error(c, &m, "in a query's answer");
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

int
pg_query(struct pg_conn *c, const char *sql, struct pg_result *r)
{
	struct pg_result scratch;
	int rc;
	if (c->fd == -1) {
		pg_errorf(c, "not connected");
		return EX_SOFTWARE;
	}
	pg_result_init(&scratch);
	if (r == NULL)
		r = &scratch;
	else
		pg_result_free(r);
	if (pg_put_query(&c->out, sql) == -1) {
		pg_errorf(c, "query too long (%zu bytes)", strlen(sql));
		rc = EX_SOFTWARE;
	} else {
		pg_tracef(c, "-> Query (%zu bytes)", strlen(sql));
		rc = pg_io_flush(c);
	}
	if (rc == 0)
		rc = collect(c, r, NULL);
	pg_result_free(&scratch);
	return rc;
}

int
pg_copy_in(struct pg_conn *c, const char *sql,
    long (*read)(void *ctx, char *buf, size_t size), void *ctx, char tag[64])
{
	struct pg_result r;
	char chunk[65536];
	int fmt = -1, rc;
	pg_result_init(&r);
	if (pg_put_query(&c->out, sql) == -1) {
		pg_result_free(&r);
		return EX_SOFTWARE;
	}
	pg_tracef(c, "-> Query (COPY, %zu bytes)", strlen(sql));
	if ((rc = pg_io_flush(c)) != 0 || (rc = collect(c, &r, &fmt)) != 0 || fmt == -1) {
		if (rc == 0) {
			pg_errorf(c, "not a COPY FROM STDIN statement");
			rc = EX_SOFTWARE;
		}
		pg_result_free(&r);
		return rc;
	}
	long n;
	while ((n = read(ctx, chunk, sizeof(chunk))) > 0) {
		if (pg_put_copy_data(&c->out, chunk, (size_t)n) == -1)
			return EX_SOFTWARE;
		if ((rc = pg_io_flush(c)) != 0)
			return rc;
	}
	int sent = n < 0 ? pg_put_copy_fail(&c->out, "the client could not read its data")
			 : pg_put_copy_done(&c->out);
	pg_tracef(c, "-> %s", n < 0 ? "CopyFail" : "CopyDone");
	if (sent == -1 || (rc = pg_io_flush(c)) != 0)
		return sent == -1 ? EX_SOFTWARE : rc;
	rc = collect(c, &r, NULL);
	if (tag != NULL)
		str_fmt_clip(tag, 64, "%s", r.tag);
	pg_result_free(&r);
	if (rc == 0 && n < 0) {
		pg_errorf(c, "COPY aborted: the data could not be read");
		rc = EX_IOERR;
	}
	return rc;
}

int
pg_quote_ident(struct buf *b, const char *name)
{
	size_t start = b->len;
	int f = buf_putc(b, '"');
	for (const char *p = name; !f && *p; p++)
		f = buf_putc(b, *p) == -1 || (*p == '"' && buf_putc(b, '"') == -1);
	f = f || buf_putc(b, '"') == -1;
	if (f && b->data != NULL) {
		b->len = start;
		b->data[start] = '\0';
	}
	return f ? -1 : 0;
}

int
pg_quote_literal(struct buf *b, const char *text)
{
	size_t start = b->len;
	bool esc = strchr(text, '\\') != NULL;
	int f = (esc && buf_putc(b, 'E') == -1) || buf_putc(b, '\'') == -1;
	for (const char *p = text; !f && *p; p++) {
		f = buf_putc(b, *p) == -1;
		if (!f && (*p == '\'' || (esc && *p == '\\')))
			f = buf_putc(b, *p) == -1;
	}
	f = f || buf_putc(b, '\'') == -1;
	if (f && b->data != NULL) {
		b->len = start;
		b->data[start] = '\0';
	}
	return f ? -1 : 0;
}
