/*
 * s3.c: S3 requests, each signed with SigV4 and sent through the HTTP
 * client (which retries transport errors, 429 and 5xx).  See s3.h.
 *
 * Why the body hash is always computed (never UNSIGNED-PAYLOAD): S3
 * then checks what it received against what was signed, so a body cut
 * or corrupted on the way is refused instead of stored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exits.h"
#include "s3.h"
#include "sigv4.h"
#include "xml.h"

#define S3_BODY_MAX (16u << 20)

struct s3_call {
	const char *method;
	const char *key;          /* NULL: the bucket */
	const char *query;        /* raw, or NULL */
	const char *content_type; /* or NULL */
	struct http_body body;
	const char *payload_hash;
	int (*sink)(void *ctx, const char *p, size_t n);
	void *sink_ctx;
	bool sse;                 /* it creates an object: c->sse applies */
};

static bool
valid_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (const char *p = b; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

int
s3_client_init(struct s3_client *c, struct aws_session *s, struct http_client *h,
    const char *bucket, enum s3_addressing addr, char *err, size_t errsize)
{
	memset(c, 0, sizeof(*c));
	c->session = s;
	c->http = h;
	c->part_size = S3_PART_SIZE;
	if (!valid_bucket(bucket) || str_copy(c->bucket, sizeof(c->bucket), bucket) == -1) {
		/* Not echoed if it may hold credentials (s3://KEY:SECRET@bucket). */
		bool quiet = strpbrk(bucket, ":@") != NULL;
		str_fmt_clip(err, errsize, "s3: bad bucket name \"%s\" (3 to 63 of a-z 0-9 . -)",
		    quiet ? "(not shown: it has ':' or '@')" : bucket);
		return EX_CONFIG;
	}
	bool custom = (getenv("AWS_ENDPOINT_URL_S3") && *getenv("AWS_ENDPOINT_URL_S3")) ||
	    (getenv("AWS_ENDPOINT_URL") && *getenv("AWS_ENDPOINT_URL"));
	const char *sep;
	if (aws_endpoint("S3", "s3", s->region, c->endpoint, sizeof(c->endpoint)) == -1 ||
	    (sep = strstr(c->endpoint, "://")) == NULL ||
	    str_copy(c->hostport, sizeof(c->hostport), sep + 3) == -1 ||
	    (size_t)(sep - c->endpoint) >= sizeof(c->scheme)) {
		str_fmt_clip(err, errsize, "s3: bad endpoint \"%s\" (AWS_ENDPOINT_URL)", c->endpoint);
		return EX_CONFIG;
	}
	memcpy(c->scheme, c->endpoint, sep - c->endpoint);
	c->scheme[sep - c->endpoint] = '\0';
	if (strchr(c->hostport, '/') || c->hostport[0] == '\0' ||
	    (strcmp(c->scheme, "http") && strcmp(c->scheme, "https"))) {
		str_fmt_clip(err, errsize, "s3: endpoint \"%s\" must be http(s)://host[:port]", c->endpoint);
		return EX_CONFIG;
	}
	if (addr == S3_ADDR_AUTO) {
		const char *style = getenv("AWS_S3_ADDRESSING_STYLE");
		if (style && strcmp(style, "path") == 0)
			addr = S3_ADDR_PATH;
		else if (style && strcmp(style, "virtual") == 0)
			addr = S3_ADDR_VIRTUAL;
		else /* dots in a bucket break TLS on bucket.host: path-style then */
			addr = custom || strchr(bucket, '.') ? S3_ADDR_PATH : S3_ADDR_VIRTUAL;
	}
	c->path_style = addr == S3_ADDR_PATH;
	return 0;
}

/* describe: "s3 PUT s3://bucket/key" for messages. */
static void
describe(const struct s3_client *c, const struct s3_call *k, char *out, size_t outsize)
{
	str_fmt_clip(out, outsize, "s3 %s s3://%s/%s", k->method, c->bucket, k->key ? k->key : "");
}

/* s3_call sends one signed request; resp holds the answer. */
static int
s3_send(struct s3_client *c, const struct s3_call *k, struct http_response *resp,
    struct s3_error *e)
{
	char what[600], err[AWS_ERR_MAX];
	describe(c, k, what, sizeof(what));
	memset(e, 0, sizeof(*e));
	int r = aws_session_refresh(c->session, err, sizeof(err));
	if (r != 0) {
		str_fmt_clip(e->text, sizeof(e->text), "%s: %s", what, err);
		return r;
	}
	struct buf url, host, path;
	buf_init(&url, 8192);
	buf_init(&host, 512);
	buf_init(&path, 8192);
	if (s3_target(c, k->key, k->query, &url, &host, &path) == -1) {
		str_fmt_clip(e->text, sizeof(e->text), "%s: key too long", what);
		r = EX_DATAERR;
		goto out;
	}
	const struct aws_credentials *cr = &c->session->cred;
	struct sigv4_credentials sc = { cr->access_key_id, cr->secret_access_key,
		cr->session_token[0] ? cr->session_token : NULL };
	/* x-amz-* headers must be signed too. */
	struct sigv4_header sse[2];
	size_t nsse = 0;
	if (k->sse && c->sse) {
		sse[nsse++] = (struct sigv4_header){ "x-amz-server-side-encryption", c->sse };
		if (c->sse_kms_key_id)
			sse[nsse++] = (struct sigv4_header){ "x-amz-server-side-encryption-aws-kms-key-id",
				c->sse_kms_key_id };
	}
	struct sigv4_request sr = { .method = k->method, .host = buf_str(&host),
		.path = buf_str(&path), .query = k->query, .headers = sse, .nheaders = nsse,
		.when = time(NULL), .region = c->session->region, .service = "s3",
		.payload_hash = k->payload_hash ? k->payload_hash : SIGV4_EMPTY_HASH,
		.flags = SIGV4_S3 };
	struct sigv4_auth auth;
	if (sigv4_sign_headers(&sr, &sc, &auth, NULL) != 0) {
		str_fmt_clip(e->text, sizeof(e->text), "%s: cannot sign the request", what);
		r = EX_SOFTWARE;
		goto out;
	}
	struct http_header h[5 + SIGV4_ADD_MAX];
	size_t nh = 0;
	h[nh++] = (struct http_header){ "Host", buf_str(&host) };
	if (k->content_type)
		h[nh++] = (struct http_header){ "Content-Type", k->content_type };
	for (size_t i = 0; i < nsse; i++)
		h[nh++] = (struct http_header){ sse[i].name, sse[i].value };
	for (size_t i = 0; i < auth.nheaders; i++)
		h[nh++] = (struct http_header){ auth.headers[i].name, auth.headers[i].value };
	struct http_request rq = { .method = k->method, .url = buf_str(&url), .headers = h,
		.nheaders = nh, .body = k->body, .max_response = S3_BODY_MAX,
		.on_data = k->sink, .on_data_ctx = k->sink_ctx };
	c->calls++;
	r = http_do(c->http, &rq, resp);
	secure_wipe(&auth, sizeof(auth));
	if (r != 0) {
		e->status = resp->status;
		if (resp->status >= 500 && resp->body.len > 0)
			s3_parse_error(what, resp->status, resp->body.data, resp->body.len, e);
		if (resp->status >= 500 && resp->body.len > 0 && strcmp(e->code, "error") != 0) {
			/* S3's own error document names the cause; keep the count. */
			size_t n = strlen(e->text);
			str_fmt_clip(e->text + n, sizeof(e->text) - n, " (after %d attempts)",
			    resp->attempts);
		} else {
			/* A proxy's or gateway's page: http_do's line says more. */
			str_fmt_clip(e->text, sizeof(e->text), "%s: %s", what, resp->error);
		}
	} else if (resp->status < 200 || resp->status > 299) {
		r = s3_parse_error(what, resp->status, resp->body.data, resp->body.len, e);
	}
out:
	buf_free(&url);
	buf_free(&host);
	buf_free(&path);
	return r;
}

/* header_value copies the value of header name from raw header lines. */
static int
header_value(const struct buf *headers, const char *name, char *out, size_t outsize)
{
	size_t nl = strlen(name);
	for (const char *p = buf_str(headers); p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = len - (size_t)(v - p);
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			if (*v == '"' && vl >= 2 && v[vl - 1] == '"')
				v++, vl -= 2;
			if (vl >= outsize)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

static int
simple(struct s3_client *c, struct s3_call *k, struct http_response *resp, struct s3_error *e)
{
	http_response_init(resp, S3_BODY_MAX);
	return s3_send(c, k, resp, e);
}

int
s3_put_mem(struct s3_client *c, const char *key, const void *p, size_t n,
    const char *content_type, struct s3_error *e)
{
	char hash[SIGV4_HEX_SIZE];
	sigv4_payload_hash(p, n, hash);
	struct s3_call k = { .method = "PUT", .key = key, .content_type = content_type,
		.body = { .kind = HTTP_BODY_MEM, .data = p, .len = n }, .payload_hash = hash,
		.sse = true };
	struct http_response resp;
	int r = simple(c, &k, &resp, e);
	http_response_free(&resp);
	return r;
}

static int
put_file(struct s3_client *c, const char *key, FILE *f, uint64_t size, const char *content_type,
    struct s3_error *e)
{
	char hash[SIGV4_HEX_SIZE];
	if (sigv4_payload_hash_file(f, hash) == -1) {
		str_fmt_clip(e->text, sizeof(e->text), "s3 PUT s3://%s/%s: reading the file: %s",
		    c->bucket, key, strerror(errno));
		return EX_IOERR;
	}
	struct s3_call k = { .method = "PUT", .key = key, .content_type = content_type,
		.body = { .kind = HTTP_BODY_FILE, .file = f, .size = (long long)size },
		.payload_hash = hash, .sse = true };
	struct http_response resp;
	int r = simple(c, &k, &resp, e);
	http_response_free(&resp);
	return r;
}

/* A file read as a stream of at most left bytes, for multipart. */
struct file_src {
	FILE *f;
	uint64_t left;
};

static size_t
file_read(void *ctx, char *b, size_t n)
{
	struct file_src *s = ctx;
	if (n > s->left)
		n = (size_t)s->left;
	size_t got = n ? fread(b, 1, n, s->f) : 0;
	/* A file that ends early (it shrank) must not go up cut short. */
	if (got == 0 && n > 0)
		return (size_t)-1;
	s->left -= got;
	return got;
}

int
s3_upload_file(struct s3_client *c, const char *key, FILE *f, uint64_t size,
    const char *content_type, struct s3_error *e)
{
	if (size <= c->part_size)
		return put_file(c, key, f, size, content_type, e);
	struct file_src src = { f, size };
	return s3_upload_stream(c, key, file_read, &src, content_type, e);
}

/* fill reads until buf holds n bytes or the stream ends. */
static size_t
fill(size_t (*read)(void *, char *, size_t), void *ctx, char *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t r = read(ctx, b + got, n - got);
		if (r == (size_t)-1)
			return r;
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static int
upload_part(struct s3_client *c, const char *key, const char *id, size_t num, const char *p,
    size_t n, const char *payload_hash, char etag[S3_ETAG_MAX], struct s3_error *e)
{
	char hash[SIGV4_HEX_SIZE];
	struct buf q;
	buf_init(&q, 2048);
	int r = buf_printf(&q, "partNumber=%zu&uploadId=", num) | sigv4_uri_encode(&q, id, 1);
	if (payload_hash == NULL)
		sigv4_payload_hash(p, n, hash);
	else
		str_copy(hash, sizeof(hash), payload_hash);
	struct s3_call k = { .method = "PUT", .key = key, .query = buf_str(&q),
		.body = { .kind = HTTP_BODY_MEM, .data = p, .len = n }, .payload_hash = hash };
	struct http_response resp;
	http_response_init(&resp, S3_BODY_MAX);
	r = r ? EX_SOFTWARE : s3_send(c, &k, &resp, e);
	if (r == 0 && header_value(&resp.headers, "ETag", etag, S3_ETAG_MAX) == -1) {
		str_fmt_clip(e->text, sizeof(e->text), "s3 PUT s3://%s/%s part %zu: no ETag in the answer",
		    c->bucket, key, num);
		r = EX_UNAVAILABLE;
	}
	http_response_free(&resp);
	buf_free(&q);
	return r;
}

/* start_upload: CreateMultipartUpload, the upload id into id. */
static int
start_upload(struct s3_client *c, const char *key, const char *content_type, char *id,
    size_t idsize, struct s3_error *e)
{
	struct s3_call k = { .method = "POST", .key = key, .query = "uploads",
		.content_type = content_type, .sse = true };
	struct http_response resp;
	int r = simple(c, &k, &resp, e);
	struct xml_doc doc;
	if (r == 0) {
		bool parsed = xml_parse(&doc, resp.body.data, resp.body.len) == 0;
		const char *v = parsed ? xml_text(doc.root, "UploadId") : NULL;
		if (v == NULL || *v == '\0' || str_copy(id, idsize, v) == -1) {
			str_fmt_clip(e->text, sizeof(e->text), "s3 POST s3://%s/%s?uploads: no UploadId "
								"in the answer", c->bucket, key);
			r = EX_UNAVAILABLE;
		}
		if (parsed)
			xml_free(&doc);
	}
	http_response_free(&resp);
	return r;
}

/* finish_upload: CompleteMultipartUpload, which may fail inside a 200. */
static int
finish_upload(struct s3_client *c, const char *key, const char *id, char (*etags)[S3_ETAG_MAX],
    size_t n, struct s3_error *e)
{
	struct buf q, body;
	buf_init(&q, 2048);
	buf_init(&body, (size_t)n * 128 + 256);
	int r = buf_puts(&q, "uploadId=") | sigv4_uri_encode(&q, id, 1) |
	    s3_complete_xml(etags, n, &body);
	char hash[SIGV4_HEX_SIZE];
	sigv4_payload_hash(body.data, body.len, hash);
	struct s3_call k = { .method = "POST", .key = key, .query = buf_str(&q),
		.content_type = "application/xml",
		.body = { .kind = HTTP_BODY_MEM, .data = body.data, .len = body.len },
		.payload_hash = hash };
	struct http_response resp;
	http_response_init(&resp, S3_BODY_MAX);
	r = r ? EX_SOFTWARE : s3_send(c, &k, &resp, e);
	if (r == 0 && resp.body.len > 0 && strstr(buf_str(&resp.body), "<Error>") != NULL) {
		char what[600];
		describe(c, &k, what, sizeof(what));
		r = s3_parse_error(what, 500, resp.body.data, resp.body.len, e);
	}
	http_response_free(&resp);
	buf_free(&q);
	buf_free(&body);
	return r;
}

/* abort_upload: AbortMultipartUpload; its outcome is added to e->text. */
static void
abort_upload(struct s3_client *c, const char *key, const char *id, struct s3_error *e)
{
	struct buf q;
	buf_init(&q, 2048);
	struct s3_error ae;
	struct s3_call k = { .method = "DELETE", .key = key, .query = buf_str(&q) };
	struct http_response resp;
	char text[S3_ERR_MAX];
	str_copy(text, sizeof(text), e->text);
	if (buf_puts(&q, "uploadId=") == 0 && sigv4_uri_encode(&q, id, 1) == 0) {
		k.query = buf_str(&q);
		int r = simple(c, &k, &resp, &ae);
		http_response_free(&resp);
		if (r == 0)
			str_fmt_clip(e->text, sizeof(e->text), "%s; the upload was aborted", text);
		else
			str_fmt_clip(e->text, sizeof(e->text), "%s; aborting upload %s failed too (%s): "
							       "a lifecycle rule for incomplete uploads cleans it up",
			    text, id, ae.code[0] ? ae.code : ae.text);
	}
	buf_free(&q);
}

int
s3_upload_stream(struct s3_client *c, const char *key,
    size_t (*read)(void *ctx, char *buf, size_t n), void *ctx, const char *content_type,
    struct s3_error *e)
{
	char id[1024];
	size_t psize = c->part_size < S3_MIN_PART_SIZE ? S3_MIN_PART_SIZE : c->part_size;
	char *b = malloc(psize);
	char (*etags)[S3_ETAG_MAX] = calloc(S3_MAX_PARTS, S3_ETAG_MAX);
	memset(e, 0, sizeof(*e));
	int r = b && etags ? start_upload(c, key, content_type, id, sizeof(id), e) : EX_SOFTWARE;
	if (r == EX_SOFTWARE && !(b && etags))
		str_copy(e->text, sizeof(e->text), "s3 upload: out of memory");
	size_t nparts = 0;
	bool started = r == 0;
	while (r == 0) {
		size_t n = fill(read, ctx, b, psize);
		if (n == (size_t)-1) {
			str_fmt_clip(e->text, sizeof(e->text), "s3 upload s3://%s/%s: reading the body "
								"failed", c->bucket, key);
			r = EX_IOERR;
		} else if (n == 0 && nparts > 0) {
			break;
		} else if (nparts == S3_MAX_PARTS) {
			str_fmt_clip(e->text, sizeof(e->text), "s3 upload s3://%s/%s: more than %d parts",
			    c->bucket, key, S3_MAX_PARTS);
			r = EX_DATAERR;
		} else {
			r = upload_part(c, key, id, nparts + 1, b, n, NULL, etags[nparts], e);
			nparts++;
			if (n < psize)
				break;
		}
	}
	if (r == 0)
		r = finish_upload(c, key, id, etags, nparts, e);
	if (r != 0 && started)
		abort_upload(c, key, id, e);
	free(b);
	free(etags);
	return r;
}

int
s3_get(struct s3_client *c, const char *key, int (*sink)(void *ctx, const char *p, size_t n),
    void *ctx, struct s3_error *e)
{
	struct s3_call k = { .method = "GET", .key = key, .sink = sink, .sink_ctx = ctx };
	struct http_response resp;
	int r = simple(c, &k, &resp, e);
	http_response_free(&resp);
	return r;
}

int
s3_head(struct s3_client *c, const char *key, struct s3_object *out, struct s3_error *e)
{
	struct s3_call k = { .method = "HEAD", .key = key };
	struct http_response resp;
	char len[32];
	memset(out, 0, sizeof(*out));
	int r = simple(c, &k, &resp, e);
	if (r == 0) {
		long long n = 0;
		if (header_value(&resp.headers, "Content-Length", len, sizeof(len)) == 0)
			n = strtoll(len, NULL, 10);
		out->size = n > 0 ? (uint64_t)n : 0;
		header_value(&resp.headers, "ETag", out->etag, sizeof(out->etag));
	}
	http_response_free(&resp);
	return r;
}

int
s3_delete(struct s3_client *c, const char *key, struct s3_error *e)
{
	struct s3_call k = { .method = "DELETE", .key = key };
	struct http_response resp;
	int r = simple(c, &k, &resp, e);
	http_response_free(&resp);
	return r;
}

int
s3_list(struct s3_client *c, const char *prefix, struct s3_list *out, struct s3_error *e)
{
	char token[2048] = "";
	struct buf q;
	buf_init(&q, 8192);
	int r = 0;
	do {
		buf_reset(&q);
		r = buf_puts(&q, "list-type=2&prefix=") | sigv4_uri_encode(&q, prefix ? prefix : "", 1);
		if (token[0])
			r |= buf_puts(&q, "&continuation-token=") | sigv4_uri_encode(&q, token, 1);
		if (r != 0) {
			str_copy(e->text, sizeof(e->text), "s3 list: prefix or token too long");
			r = EX_SOFTWARE;
			break;
		}
		struct s3_call k = { .method = "GET", .query = buf_str(&q) };
		struct http_response resp;
		r = simple(c, &k, &resp, e);
		if (r == 0 && s3_parse_list(resp.body.data, resp.body.len, out, token, sizeof(token))) {
			str_fmt_clip(e->text, sizeof(e->text), "s3 GET s3://%s/?list-type=2: malformed "
								"ListObjectsV2 answer", c->bucket);
			r = EX_UNAVAILABLE;
		}
		http_response_free(&resp);
	} while (r == 0 && token[0]);
	buf_free(&q);
	return r;
}

int
s3_multipart_start(struct s3_client *c, const char *key, const char *content_type, char *id,
    size_t idsize, struct s3_error *e)
{
	return start_upload(c, key, content_type, id, idsize, e);
}

int
s3_multipart_part(struct s3_client *c, const char *key, const char *id, size_t num,
    const char *p, size_t n, const char *payload_hash, char etag[S3_ETAG_MAX],
    struct s3_error *e)
{
	return upload_part(c, key, id, num, p, n, payload_hash, etag, e);
}

int
s3_multipart_complete(struct s3_client *c, const char *key, const char *id,
    char (*etags)[S3_ETAG_MAX], size_t n, struct s3_error *e)
{
	return finish_upload(c, key, id, etags, n, e);
}

void
s3_multipart_abort(struct s3_client *c, const char *key, const char *id, struct s3_error *e)
{
	abort_upload(c, key, id, e);
}
