/*
 * s3_util.c: the parts of the S3 client that do no I/O: where a request
 * goes, what S3's XML answers say, and the ETag S3 gives an upload.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl_hash.h>

#include "exits.h"
#include "s3.h"
#include "sigv4.h"
#include "xml.h"

int
s3_target(const struct s3_client *c, const char *key, const char *query, struct buf *url,
    struct buf *host, struct buf *path)
{
	int r = 0;
	buf_reset(path);
	buf_reset(host);
	buf_reset(url);
	if (c->path_style) {
		r |= buf_putc(path, '/') | buf_puts(path, c->bucket);
		if (key)
			r |= buf_putc(path, '/');
		r |= buf_puts(host, c->hostport);
	} else {
		r |= buf_putc(path, '/');
		r |= buf_printf(host, "%s.%s", c->bucket, c->hostport);
	}
	if (key && sigv4_uri_encode(path, key, 0) == -1)
		r = -1;
	r |= buf_printf(url, "%s://%s%s%s%s", c->scheme, buf_str(host), buf_str(path),
	    query && *query ? "?" : "", query ? query : "");
	return r ? -1 : 0;
}

static int
list_add(struct s3_list *l, const char *key, uint64_t size, const char *etag)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct s3_object *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct s3_object *o = &l->v[l->n];
	memset(o, 0, sizeof(*o));
	if ((o->key = strdup(key)) == NULL)
		return -1;
	o->size = size;
	/* S3 quotes ETags; keep the bare value. */
	const char *e = etag && *etag == '"' ? etag + 1 : etag ? etag : "";
	str_copy(o->etag, sizeof(o->etag), e);
	size_t n = strlen(o->etag);
	if (n > 0 && o->etag[n - 1] == '"')
		o->etag[n - 1] = '\0';
	l->n++;
	return 0;
}

void
s3_list_free(struct s3_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
s3_parse_list(const char *xml, size_t n, struct s3_list *out, char *next, size_t nextsize)
{
	struct xml_doc doc;
	if (xml_parse(&doc, xml, n) == -1)
		return -1;
	int r = strcmp(doc.root->name, "ListBucketResult") == 0 ? 0 : -1;
	for (const struct xml_node *o = xml_first(doc.root, "Contents"); o && r == 0; o = xml_next(o)) {
		const char *key = xml_text(o, "Key"), *size = xml_text(o, "Size");
		char *end;
		errno = 0;
		unsigned long long sz = size ? strtoull(size, &end, 10) : 0;
		if (key == NULL || size == NULL || errno || *end != '\0')
			r = -1;
		else
			r = list_add(out, key, sz, xml_text(o, "ETag"));
	}
	const char *trunc = xml_text(doc.root, "IsTruncated");
	const char *tok = xml_text(doc.root, "NextContinuationToken");
	next[0] = '\0';
	if (r == 0 && trunc && strcmp(trunc, "true") == 0) {
		/* A truncated page without a token would loop forever. */
		if (tok == NULL || *tok == '\0' || str_copy(next, nextsize, tok) == -1)
			r = -1;
	}
	xml_free(&doc);
	return r;
}

int
s3_parse_error(const char *what, long status, const char *body, size_t n, struct s3_error *e)
{
	struct xml_doc doc;
	char msg[512] = "";
	e->status = status;
	e->code[0] = '\0';
	if (n > 0 && xml_parse(&doc, body, n) == 0) {
		const char *code = xml_text(doc.root, "Code"), *m = xml_text(doc.root, "Message");
		str_copy(e->code, sizeof(e->code), code ? code : "");
		str_copy(msg, sizeof(msg), m ? m : "");
		xml_free(&doc);
	}
	if (e->code[0] == '\0') {
		/* HEAD answers carry no body: name the status instead. */
		const char *c = status == 404 ? "NotFound" : status == 403 ? "Forbidden"
		    : status == 301 ? "PermanentRedirect" : "error";
		str_copy(e->code, sizeof(e->code), c);
	}
	const char *hint = "";
	if (!strcmp(e->code, "SignatureDoesNotMatch"))
		hint = "; check AWS_SECRET_ACCESS_KEY";
	else if (!strcmp(e->code, "InvalidAccessKeyId"))
		hint = "; check AWS_ACCESS_KEY_ID";
	else if (!strcmp(e->code, "PermanentRedirect") || !strcmp(e->code, "AuthorizationHeaderMalformed"))
		hint = "; check the region (--region or AWS_REGION)";
	str_fmt_clip(e->text, sizeof(e->text), "%s: %s%s%s (HTTP %ld)%s", what, e->code,
	    msg[0] ? ": " : "", msg, status, hint);
	if (status == 401 || status == 403)
		return EX_NOPERM;
	if (status == 404)
		return EX_NOINPUT;
	if (status >= 500 || status == 429)
		return EX_UNAVAILABLE;
	return EX_DATAERR;
}

int
s3_complete_xml(char (*etags)[S3_ETAG_MAX], size_t n, struct buf *out)
{
	int r = buf_puts(out, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (size_t i = 0; i < n; i++)
		r |= buf_printf(out, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
		    i + 1, etags[i]);
	r |= buf_puts(out, "</CompleteMultipartUpload>");
	return r ? -1 : 0;
}

static void
md5_hex(const unsigned char *h, char *out)
{
	for (int i = 0; i < 16; i++) {
		out[2 * i] = "0123456789abcdef"[h[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
	}
	out[32] = '\0';
}

int
s3_etag_file(FILE *f, uint64_t size, size_t part_size, char out[S3_ETAG_MAX], char md5[33])
{
	off_t start = ftello(f);
	if (start == -1)
		return -1;
	br_md5_context whole, part, sums;
	br_md5_init(&whole);
	br_md5_init(&part);
	br_md5_init(&sums);
	unsigned char b[65536], h[16];
	uint64_t done = 0, in_part = 0;
	size_t parts = 0;
	size_t n;
	while ((n = fread(b, 1, sizeof(b), f)) > 0) {
		for (size_t off = 0; off < n;) {
			size_t take = n - off;
			if (take > part_size - in_part)
				take = part_size - in_part;
			br_md5_update(&part, b + off, take);
			in_part += take;
			off += take;
			if (in_part == part_size) {
				br_md5_out(&part, h);
				br_md5_update(&sums, h, 16);
				br_md5_init(&part);
				in_part = 0;
				parts++;
			}
		}
		br_md5_update(&whole, b, n);
		done += n;
	}
	int bad = ferror(f);
	if (fseeko(f, start, SEEK_SET) == -1 || bad || done != size) {
		errno = bad ? EIO : errno ? errno : EINVAL;
		return -1;
	}
	br_md5_out(&whole, h);
	if (md5)
		md5_hex(h, md5);
	if (size <= part_size) {
		md5_hex(h, out);
		return 0;
	}
	if (in_part > 0) {
		br_md5_out(&part, h);
		br_md5_update(&sums, h, 16);
		parts++;
	}
	br_md5_out(&sums, h);
	md5_hex(h, out);
	return str_fmt(out + 32, S3_ETAG_MAX - 32, "-%zu", parts);
}
