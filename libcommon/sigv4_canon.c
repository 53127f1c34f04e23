/*
 * sigv4_canon.c: the canonical forms SigV4 signs: URI encoding, the
 * path (normalized or not), the query (decoded, re-encoded, sorted) and
 * the headers (lowercased, trimmed, sorted, repeats joined).
 */
#include "sigv4_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

int
sigv4_uri_encode_n(struct buf *b, const char *s, size_t n, int encode_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (c == '/' && !encode_slash)) {
			if (buf_putc(b, (char)c) == -1)
				return -1;
			continue;
		}
		char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};
		if (buf_append(b, esc, sizeof(esc)) == -1)
			return -1;
	}
	return 0;
}

int
sigv4_uri_encode(struct buf *b, const char *s, int encode_slash)
{
	return sigv4_uri_encode_n(b, s, strlen(s), encode_slash);
}

/* --- path ---------------------------------------------------------------- */

/*
 * normalize appends path with empty, "." and ".." segments resolved as in
 * RFC 3986 section 5.2.4; a trailing slash (or a trailing "." or "..")
 * is kept, since "/a/" and "/a" name different things.
 */
static int
normalize(struct buf *b, const char *path)
{
	size_t base = b->len;
	int trailing = 0;

	for (const char *p = path; *p != '\0';) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, "/");
		trailing = p[n] == '/' || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.');
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (b->len > base && b->data[b->len - 1] != '/')
				b->len--;
			if (b->len > base)
				b->len--;    /* the '/' before the segment */
			if (b->data != NULL) /* NULL: ".." above the root */
				b->data[b->len] = '\0';
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (buf_putc(b, '/') == -1 || buf_append(b, p, n) == -1)
				return -1;
		}
		p += n;
	}
	if (b->len == base || trailing)
		return buf_putc(b, '/');
	return 0;
}

int
sigv4_canon_path(struct buf *b, const char *path, unsigned flags)
{
	struct buf norm;
	int r;

	if (path == NULL || *path == '\0')
		path = "/";
	if (*path != '/') {
		errno = EINVAL;
		return -1;
	}
	if (!(flags & SIGV4_NORMALIZE_PATH)) {
		if (flags & SIGV4_PATH_AS_IS)
			return buf_puts(b, path);
		return sigv4_uri_encode(b, path, 0);
	}
	buf_init(&norm, SIGV4_CANON_MAX);
	r = normalize(&norm, path);
	if (r == 0 && (flags & SIGV4_PATH_AS_IS))
		r = buf_append(b, norm.data, norm.len);
	else if (r == 0)
		r = sigv4_uri_encode_n(b, norm.data, norm.len, 0);
	buf_free(&norm);
	return r;
}

/* --- query --------------------------------------------------------------- */

struct qparam {
	size_t koff, voff; /* into the arena, while it may still move */
	const char *k, *v;
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * put_decoded appends s[0..n) to arena decoded then re-encoded, and a
 * NUL.  A '%' not followed by two hex digits stands for itself: that is
 * what a server that decodes leniently sees too.  '+' stays '+' (SigV4
 * is not form decoding); callers should send spaces as %20.
 */
static int
put_decoded(struct buf *arena, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		if (sigv4_uri_encode_n(arena, &c, 1, 1) == -1)
			return -1;
	}
	return buf_append(arena, "", 1);
}

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

/* parse_query splits raw at '&' and each part at its first '='. */
static int
parse_query(struct buf *arena, const char *raw, struct qparam *q, size_t *nq)
{
	for (const char *p = raw; *p != '\0';) {
		size_t n = strcspn(p, "&");
		if (n > 0) {
			const char *eq = memchr(p, '=', n);
			size_t kn = eq ? (size_t)(eq - p) : n;
			q[*nq].koff = arena->len;
			if (put_decoded(arena, p, kn) == -1)
				return -1;
			q[*nq].voff = arena->len;
			if (put_decoded(arena, eq ? eq + 1 : p + n, eq ? n - kn - 1 : 0) == -1)
				return -1;
			(*nq)++;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

static size_t
count_params(const char *raw)
{
	size_t n = 1;

	for (; *raw != '\0'; raw++)
		n += *raw == '&';
	return n;
}

static int
emit_query(struct buf *b, struct buf *arena, struct qparam *q, size_t nq)
{
	for (size_t i = 0; i < nq; i++) {
		q[i].k = arena->data + q[i].koff;
		q[i].v = arena->data + q[i].voff;
	}
	qsort(q, nq, sizeof(*q), qparam_cmp);
	for (size_t i = 0; i < nq; i++)
		if ((i > 0 && buf_putc(b, '&') == -1) || buf_puts(b, q[i].k) == -1 ||
		    buf_putc(b, '=') == -1 || buf_puts(b, q[i].v) == -1)
			return -1;
	return 0;
}

int
sigv4_canon_query(struct buf *b, const char *raw, const struct sigv4_header *extra, size_t nextra)
{
	struct buf arena;
	struct qparam *q;
	size_t nq = 0;
	int r = -1;

	if (raw == NULL)
		raw = "";
	q = calloc(count_params(raw) + nextra, sizeof(*q));
	if (q == NULL)
		return -1;
	buf_init(&arena, SIGV4_CANON_MAX);
	if (parse_query(&arena, raw, q, &nq) == -1)
		goto out;
	for (size_t i = 0; i < nextra; i++, nq++) {
		q[nq].koff = arena.len;
		if (sigv4_uri_encode(&arena, extra[i].name, 1) == -1 ||
		    buf_append(&arena, "", 1) == -1)
			goto out;
		q[nq].voff = arena.len;
		if (sigv4_uri_encode(&arena, extra[i].value, 1) == -1 ||
		    buf_append(&arena, "", 1) == -1)
			goto out;
	}
	r = emit_query(b, &arena, q, nq);
out:
	buf_free(&arena);
	free(q);
	return r;
}

/* --- headers ------------------------------------------------------------- */

struct hentry {
	const char *name, *value;
	size_t idx; /* keeps repeated headers in their order: qsort is unstable */
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
name_cmp(const char *a, const char *b)
{
	for (; *a != '\0' && lower(*a) == lower(*b); a++, b++)
		;
	return lower((unsigned char)*a) - lower((unsigned char)*b);
}

static int
hentry_cmp(const void *a, const void *b)
{
	const struct hentry *x = a, *y = b;
	int c = name_cmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* valid_header: a name is an RFC 7230 token; a value has no CR or LF,
 * which would let it forge lines of the canonical request. */
static int
valid_header(const struct sigv4_header *h)
{
	if (h->name == NULL || h->value == NULL || h->name[0] == '\0')
		return 0;
	for (const char *p = h->name; *p != '\0'; p++)
		if (!unreserved((unsigned char)*p) && strchr("!#$%&'*+^`|", *p) == NULL)
			return 0;
	return strpbrk(h->value, "\r\n") == NULL;
}

/* put_value appends v trimmed, with each run of blanks made one space. */
static int
put_value(struct buf *b, const char *v)
{
	int blank = 0;

	v += strspn(v, " \t");
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			blank = 1;
			continue;
		}
		if ((blank && buf_putc(b, ' ') == -1) || buf_putc(b, *v) == -1)
			return -1;
		blank = 0;
	}
	return 0;
}

static int
put_lower(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		if (buf_putc(b, (char)lower((unsigned char)*s)) == -1)
			return -1;
	return 0;
}

static int
emit_headers(struct buf *b, struct buf *names, const struct hentry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int repeat = i > 0 && name_cmp(e[i - 1].name, e[i].name) == 0;
		if (repeat) {
			if (buf_putc(b, ',') == -1)
				return -1;
		} else if ((i > 0 && buf_putc(b, '\n') == -1) || put_lower(b, e[i].name) == -1 ||
		    buf_putc(b, ':') == -1 || (i > 0 && buf_putc(names, ';') == -1) ||
		    put_lower(names, e[i].name) == -1)
			return -1;
		if (put_value(b, e[i].value) == -1)
			return -1;
	}
	return n > 0 ? buf_putc(b, '\n') : 0;
}

int
sigv4_canon_headers(struct buf *b, struct buf *names, const struct sigv4_header *h, size_t n)
{
	struct hentry *e;
	int r;

	if (n == 0) {
		errno = EINVAL; /* Host at least is always signed */
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!valid_header(&h[i])) {
			errno = EINVAL;
			return -1;
		}
	if ((e = calloc(n, sizeof(*e))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		e[i] = (struct hentry){h[i].name, h[i].value, i};
	qsort(e, n, sizeof(*e), hentry_cmp);
	r = emit_headers(b, names, e, n);
	free(e);
	return r;
}
