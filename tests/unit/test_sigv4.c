/*
 * test_sigv4.c: the signer against every case of the AWS SigV4 test suite
 * (tests/vectors/sigv4: canonical request, string to sign, signature and
 * signed request, for the Authorization header and for presigned URLs),
 * AWS's S3 examples, then encoding, canonical forms, and the inputs that
 * must be refused or must not verify (a wrong secret, a changed request).
 * The hashing helpers have their own suite, test_sigv4_hash.c.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "sigv4.h"

#define VECTORS "tests/vectors/sigv4"
#define MAX_CASES 64
#define MAX_HEADERS 16
#define NCASES_WANTED 38

/* The case folders, found by suite() before the tests fork. */
static char case_names[MAX_CASES][96];
static int ncases;

/* One case: request.txt and context.json, parsed. */
struct vcase {
	const char *name;
	struct buf file; /* request.txt */
	char *reqline;   /* "GET /path?q HTTP/1.1" */
	char method[16], path[256], query[256], version[16];
	char *rawheaders; /* the header lines as written, each with "\n" */
	struct sigv4_header h[MAX_HEADERS];
	char *hstore[MAX_HEADERS][2];
	size_t nh;
	const char *body;
	size_t bodylen;
	json_t *ctx;
	struct sigv4_credentials cred;
	char amz_date[SIGV4_DATE_SIZE];
	char payload_hash[SIGV4_HEX_SIZE];
	struct sigv4_request req;
	unsigned expires;
};

static void
slurp(const char *dir, const char *file, struct buf *b)
{
	char path[512];
	char chunk[4096];
	size_t n;

	ck_assert_int_eq(str_fmt(path, sizeof(path), "%s/%s/%s", VECTORS, dir, file), 0);
	FILE *fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	buf_init(b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		ck_assert_int_eq(buf_append(b, chunk, n), 0);
	ck_assert(!ferror(fp));
	fclose(fp);
}

/* parse_reqline splits "METHOD target HTTP/1.1"; the target may hold spaces. */
static void
parse_reqline(struct vcase *c)
{
	char *sp = strchr(c->reqline, ' ');
	char *last = strrchr(c->reqline, ' ');

	ck_assert_msg(sp != NULL && last > sp, "%s: bad request line", c->name);
	*sp = *last = '\0';
	ck_assert_int_eq(str_copy(c->method, sizeof(c->method), c->reqline), 0);
	ck_assert_int_eq(str_copy(c->version, sizeof(c->version), last + 1), 0);
	char *q = strchr(sp + 1, '?');
	if (q != NULL)
		*q = '\0';
	ck_assert_int_eq(str_copy(c->path, sizeof(c->path), sp + 1), 0);
	ck_assert_int_eq(str_copy(c->query, sizeof(c->query), q ? q + 1 : ""), 0);
	*sp = *last = ' ';
	if (q != NULL)
		*q = '?';
}

/* add_header takes "Name:value", or a continuation line to fold into
 * the previous value with one space (RFC 7230 obs-fold). */
static void
add_header(struct vcase *c, const char *line, size_t n)
{
	if (line[0] == ' ' || line[0] == '\t') {
		ck_assert_uint_gt(c->nh, 0);
		char **v = &c->hstore[c->nh - 1][1];
		size_t old = strlen(*v);
		*v = realloc(*v, old + 1 + n + 1);
		ck_assert_ptr_nonnull(*v);
		(*v)[old] = ' ';
		memcpy(*v + old + 1, line, n);
		(*v)[old + 1 + n] = '\0';
		c->h[c->nh - 1].value = *v;
		return;
	}
	const char *colon = memchr(line, ':', n);
	ck_assert_msg(colon != NULL && c->nh < MAX_HEADERS, "%s: bad header", c->name);
	c->hstore[c->nh][0] = strndup(line, (size_t)(colon - line));
	c->hstore[c->nh][1] = strndup(colon + 1, n - (size_t)(colon - line) - 1);
	c->h[c->nh] = (struct sigv4_header){c->hstore[c->nh][0], c->hstore[c->nh][1]};
	c->nh++;
}

static void
parse_request(struct vcase *c)
{
	char *p = c->file.data;
	char *nl = strchr(p, '\n');

	ck_assert_ptr_nonnull(nl);
	c->reqline = strndup(p, (size_t)(nl - p));
	parse_reqline(c);
	char *hstart = nl + 1;
	for (p = hstart; *p != '\0' && *p != '\n'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		add_header(c, p, (size_t)(nl - p));
		if (*nl == '\0')
			break;
	}
	c->rawheaders = strndup(hstart, (size_t)(p - hstart));
	c->body = *p == '\n' ? p + 1 : "";
	c->bodylen = strlen(c->body);
}

static const char *
json_str(struct vcase *c, json_t *obj, const char *key, int required)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(!required || json_is_string(v), "%s: context.json: no %s", c->name, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
parse_context(struct vcase *c)
{
	char path[512];
	json_error_t err;

	ck_assert_int_eq(str_fmt(path, sizeof(path), "%s/%s/context.json", VECTORS, c->name), 0);
	c->ctx = json_load_file(path, 0, &err);
	ck_assert_msg(c->ctx != NULL, "%s: %s", path, err.text);
	json_t *cr = json_object_get(c->ctx, "credentials");
	c->cred.access_key_id = json_str(c, cr, "access_key_id", 1);
	c->cred.secret_access_key = json_str(c, cr, "secret_access_key", 1);
	c->cred.session_token = json_str(c, cr, "token", 0);

	/* "2015-08-30T12:36:00Z" to "20150830T123600Z" */
	const char *ts = json_str(c, c->ctx, "timestamp", 1);
	size_t n = 0;
	for (; *ts != '\0' && n < sizeof(c->amz_date) - 1; ts++)
		if (*ts != '-' && *ts != ':')
			c->amz_date[n++] = *ts;
	c->amz_date[n] = '\0';

	unsigned flags = 0;
	if (json_is_true(json_object_get(c->ctx, "normalize")))
		flags |= SIGV4_NORMALIZE_PATH;
	if (json_is_true(json_object_get(c->ctx, "sign_body")))
		flags |= SIGV4_CONTENT_SHA256;
	if (json_is_true(json_object_get(c->ctx, "omit_session_token")))
		flags |= SIGV4_TOKEN_UNSIGNED;
	json_t *exp = json_object_get(c->ctx, "expiration_in_seconds");
	c->expires = json_is_integer(exp) ? (unsigned)json_integer_value(exp) : 3600;

	sigv4_payload_hash(c->body, c->bodylen, c->payload_hash);
	c->req = (struct sigv4_request){.method = c->method,
	    .path = c->path,
	    .query = c->query,
	    .headers = c->h,
	    .nheaders = c->nh,
	    .amz_date = c->amz_date,
	    .region = json_str(c, c->ctx, "region", 1),
	    .service = json_str(c, c->ctx, "service", 1),
	    .payload_hash = c->payload_hash,
	    .flags = flags};
}

static void
load_case(struct vcase *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	slurp(name, "request.txt", &c->file);
	parse_request(c);
	parse_context(c);
}

static void
free_case(struct vcase *c)
{
	for (size_t i = 0; i < c->nh; i++) {
		free(c->hstore[i][0]);
		free(c->hstore[i][1]);
	}
	free(c->reqline);
	free(c->rawheaders);
	json_decref(c->ctx);
	buf_free(&c->file);
}

/* expect compares got with the expected artifact, byte for byte. */
static void
expect(const struct vcase *c, const char *file, const char *got)
{
	struct buf want;

	slurp(c->name, file, &want);
	ck_assert_msg(strcmp(buf_str(&want), got) == 0,
	    "case %s, %s differs.\n--- expected:\n%s\n--- got:\n%s", c->name, file, buf_str(&want),
	    got);
	buf_free(&want);
}

static void
trace_init(struct sigv4_trace *t)
{
	buf_init(&t->canonical_request, 1 << 20);
	buf_init(&t->string_to_sign, 1 << 20);
}

static void
trace_free(struct sigv4_trace *t)
{
	buf_free(&t->canonical_request);
	buf_free(&t->string_to_sign);
}

START_TEST(vectors_all_found)
{
	ck_assert_msg(ncases >= NCASES_WANTED, "%s: %d cases found, want %d (run from the top)",
	    VECTORS, ncases, NCASES_WANTED);
}
END_TEST

START_TEST(vector_header)
{
	struct vcase c;
	struct sigv4_auth auth;
	struct sigv4_trace t;
	struct buf signed_req;

	load_case(&c, case_names[_i]);
	trace_init(&t);
	ck_assert_msg(sigv4_sign_headers(&c.req, &c.cred, &auth, &t) == 0, "case %s: %s", c.name,
	    strerror(errno));
	expect(&c, "header-canonical-request.txt", buf_str(&t.canonical_request));
	expect(&c, "header-string-to-sign.txt", buf_str(&t.string_to_sign));
	expect(&c, "header-signature.txt", t.signature);

	buf_init(&signed_req, 1 << 20);
	ck_assert_int_eq(buf_printf(&signed_req, "%s\n%s", c.reqline, c.rawheaders), 0);
	for (size_t i = 0; i < auth.nheaders; i++)
		ck_assert_int_eq(
		    buf_printf(&signed_req, "%s:%s\n", auth.headers[i].name, auth.headers[i].value),
		    0);
	ck_assert_int_eq(buf_printf(&signed_req, "\n%s", c.body), 0);
	expect(&c, "header-signed-request.txt", buf_str(&signed_req));
	buf_free(&signed_req);
	trace_free(&t);
	free_case(&c);
}
END_TEST

START_TEST(vector_query)
{
	struct vcase c;
	struct sigv4_trace t;
	struct buf q, signed_req;

	load_case(&c, case_names[_i]);
	trace_init(&t);
	buf_init(&q, 1 << 16);
	ck_assert_msg(sigv4_presign(&c.req, &c.cred, c.expires, &q, &t) == 0, "case %s: %s", c.name,
	    strerror(errno));
	expect(&c, "query-canonical-request.txt", buf_str(&t.canonical_request));
	expect(&c, "query-string-to-sign.txt", buf_str(&t.string_to_sign));
	expect(&c, "query-signature.txt", t.signature);

	buf_init(&signed_req, 1 << 20);
	ck_assert_int_eq(buf_printf(&signed_req, "%s %s?%s %s\n%s\n%s", c.method, c.path,
	                     buf_str(&q), c.version, c.rawheaders, c.body),
	    0);
	expect(&c, "query-signed-request.txt", buf_str(&signed_req));
	buf_free(&signed_req);
	buf_free(&q);
	trace_free(&t);
	free_case(&c);
}
END_TEST

/* --- AWS's S3 examples (S3 API reference, "Signature Calculations") --- */

static const struct sigv4_credentials s3cred = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};

START_TEST(s3_get_object_example)
{
	struct sigv4_header h[] = {{"Range", "bytes=0-9"}};
	struct sigv4_request req = {.method = "GET",
	    .host = "examplebucket.s3.amazonaws.com",
	    .path = "/test.txt",
	    .headers = h,
	    .nheaders = 1,
	    .amz_date = "20130524T000000Z",
	    .region = "us-east-1",
	    .service = "s3",
	    .payload_hash = SIGV4_EMPTY_HASH,
	    .flags = SIGV4_S3};
	struct sigv4_auth auth;

	ck_assert_int_eq(sigv4_sign_headers(&req, &s3cred, &auth, NULL), 0);
	ck_assert_str_eq(auth.authorization,
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}
END_TEST

START_TEST(s3_presigned_example)
{
	struct sigv4_request req = {.method = "GET",
	    .host = "examplebucket.s3.amazonaws.com",
	    .path = "/test.txt",
	    .amz_date = "20130524T000000Z",
	    .region = "us-east-1",
	    .service = "s3",
	    .payload_hash = SIGV4_UNSIGNED,
	    .flags = SIGV4_S3};
	struct buf q;

	buf_init(&q, 4096);
	ck_assert_int_eq(sigv4_presign(&req, &s3cred, 86400, &q, NULL), 0);
	ck_assert_str_eq(buf_str(&q),
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400"
	    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	buf_free(&q);
}
END_TEST

/* --- signing behaviour -------------------------------------------------- */

static const struct sigv4_credentials cred = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

static struct sigv4_request
s3_put(void)
{
	return (struct sigv4_request){.method = "PUT",
	    .host = "b.s3.eu-west-1.amazonaws.com",
	    .path = "/backups/x.json",
	    .when = 1440938160,
	    .region = "eu-west-1",
	    .service = "s3",
	    .payload_hash = SIGV4_UNSIGNED,
	    .flags = SIGV4_S3};
}

static const char *
added(const struct sigv4_auth *a, const char *name)
{
	for (size_t i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].name, name) == 0)
			return a->headers[i].value;
	return NULL;
}

START_TEST(unsigned_payload_and_content_sha256)
{
	struct sigv4_request req = s3_put();
	struct sigv4_auth auth;
	struct sigv4_trace t;

	trace_init(&t);
	ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, &t), 0);
	ck_assert_str_eq(added(&auth, "X-Amz-Date"), "20150830T123600Z");
	ck_assert_str_eq(added(&auth, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
	ck_assert_ptr_null(added(&auth, "X-Amz-Security-Token"));
	ck_assert_ptr_nonnull(
	    strstr(auth.authorization, "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
	ck_assert_ptr_nonnull(
	    strstr(buf_str(&t.canonical_request), "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	const char *end = buf_str(&t.canonical_request) + t.canonical_request.len;
	ck_assert_str_eq(end - strlen("\nUNSIGNED-PAYLOAD"), "\nUNSIGNED-PAYLOAD");

	req.flags = 0; /* not asked: not added */
	ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, NULL), 0);
	ck_assert_ptr_null(added(&auth, "x-amz-content-sha256"));
	trace_free(&t);
}
END_TEST

START_TEST(session_token_is_sent_and_signed)
{
	struct sigv4_credentials tc = cred;
	struct sigv4_request req = s3_put();
	struct sigv4_auth auth;
	struct buf q;

	tc.session_token = "FQoG/token+x==";
	ck_assert_int_eq(sigv4_sign_headers(&req, &tc, &auth, NULL), 0);
	ck_assert_str_eq(added(&auth, "X-Amz-Security-Token"), "FQoG/token+x==");
	ck_assert_ptr_nonnull(strstr(auth.authorization, ";x-amz-security-token,"));

	buf_init(&q, 4096);
	ck_assert_int_eq(sigv4_presign(&req, &tc, 60, &q, NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf_str(&q), "&X-Amz-Security-Token=FQoG%2Ftoken%2Bx%3D%3D&"));
	buf_free(&q);
}
END_TEST

/* Forgery must fail: another secret, or a changed request, signs differently. */
START_TEST(wrong_secret_or_changed_request_differs)
{
	struct sigv4_credentials bad = cred;
	struct sigv4_request req = s3_put();
	struct sigv4_trace a, b;

	trace_init(&a);
	trace_init(&b);
	struct sigv4_auth auth;
	ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, &a), 0);
	ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, &b), 0);
	ck_assert_str_eq(a.signature, b.signature); /* a verifier recomputes it */

	bad.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
	ck_assert_int_eq(sigv4_sign_headers(&req, &bad, &auth, &b), 0);
	ck_assert_str_ne(a.signature, b.signature);
	ck_assert_str_eq(buf_str(&a.string_to_sign), buf_str(&b.string_to_sign));

	req.path = "/backups/y.json";
	ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, &b), 0);
	ck_assert_str_ne(a.signature, b.signature);
	trace_free(&a);
	trace_free(&b);
}
END_TEST

START_TEST(uri_encode_reserved_and_unicode)
{
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(sigv4_uri_encode(&b, "a b+c/d?e=f&g~h.i_j-k*'()!:@;,$#[]%", 1), 0);
	ck_assert_str_eq(buf_str(&b),
	    "a%20b%2Bc%2Fd%3Fe%3Df%26g~h.i_j-k%2A%27%28%29%21%3A%40%3B%2C%24%23%5B%5D%25");
	buf_reset(&b);
	ck_assert_int_eq(sigv4_uri_encode(&b, "/dir/caf\xc3\xa9 \xe1\x88\xb4.txt", 0), 0);
	ck_assert_str_eq(buf_str(&b), "/dir/caf%C3%A9%20%E1%88%B4.txt");
	buf_free(&b);
}
END_TEST

/* The canonical request's query and path lines, for one request. */
static void
canon_lines(struct sigv4_request *req, char *path, char *query, size_t size)
{
	struct sigv4_auth auth;
	struct sigv4_trace t;

	trace_init(&t);
	ck_assert_int_eq(sigv4_sign_headers(req, &cred, &auth, &t), 0);
	const char *p = strchr(buf_str(&t.canonical_request), '\n') + 1;
	const char *q = strchr(p, '\n') + 1;
	ck_assert_int_eq(str_fmt(path, size, "%.*s", (int)(q - 1 - p), p), 0);
	ck_assert_int_eq(str_fmt(query, size, "%.*s", (int)(strchr(q, '\n') - q), q), 0);
	trace_free(&t);
}

START_TEST(canonical_query_and_path)
{
	struct sigv4_request req = s3_put();
	char path[256], query[256];

	req.query = "b=2&a=%7e&a=1&c&&sp=a%20b+c&bad=%zz%4&x=%2F";
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(query, "a=1&a=~&b=2&bad=%25zz%254&c=&sp=a%20b%2Bc&x=%2F");

	req.path = "/my%20key/a%2Bb"; /* S3: as given, encoded once */
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/my%20key/a%2Bb");
	req.flags = 0; /* elsewhere: encoded again */
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/my%2520key/a%252Bb");

	req.flags = SIGV4_NORMALIZE_PATH;
	req.path = "/a/b/../c/./d//";
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/a/c/d/");
	req.path = "/a/b/..";
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/a/");
	req.path = "/../..";
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/");
	req.path = "";
	canon_lines(&req, path, query, sizeof(path));
	ck_assert_str_eq(path, "/");
}
END_TEST

START_TEST(amz_date_from_time)
{
	char d[SIGV4_DATE_SIZE];

	ck_assert_int_eq(sigv4_amz_date(1440938160, d), 0);
	ck_assert_str_eq(d, "20150830T123600Z");
	ck_assert_int_eq(sigv4_amz_date(0, d), 0);
	ck_assert_str_eq(d, "19700101T000000Z");
	ck_assert_int_eq(sigv4_amz_date((time_t)253402300800LL, d), -1); /* year 10000 */
}
END_TEST

/* Input the signer must refuse rather than sign something else. */
START_TEST(bad_input_refused)
{
	struct sigv4_request req;
	struct sigv4_auth auth;
	struct buf q;
	struct sigv4_header inject[] = {{"X-Evil", "a\r\nx-amz-date: 1"}};
	struct sigv4_header date[] = {{"x-amz-DATE", "20150830T123600Z"}};
	struct sigv4_header host[] = {{"Host", "b.s3.eu-west-1.amazonaws.com"}};
	struct sigv4_header badname[] = {{"My Header", "v"}};

#define REFUSED(field, value)                                                                      \
	do {                                                                                       \
		req = s3_put();                                                                    \
		req.field = value;                                                                 \
		errno = 0;                                                                         \
		ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, NULL), -1);                \
		ck_assert_int_eq(errno, EINVAL);                                                   \
	} while (0)
	REFUSED(payload_hash, "E3B0");
	REFUSED(payload_hash, NULL);
	REFUSED(amz_date, "2015-08-30T12:36:00Z");
	REFUSED(region, "us/east");
	REFUSED(method, "get");
	REFUSED(host, NULL); /* no Host at all */
	REFUSED(path, "relative");
	req = s3_put();
	for (int i = 0; i < 4; i++) {
		struct sigv4_header *h[] = {inject, date, host, badname};
		req.headers = h[i];
		req.nheaders = 1;
		ck_assert_int_eq(sigv4_sign_headers(&req, &cred, &auth, NULL), -1);
	}
	req = s3_put();
	buf_init(&q, 4096);
	ck_assert_int_eq(sigv4_presign(&req, &cred, 0, &q, NULL), -1);
	ck_assert_int_eq(sigv4_presign(&req, &cred, SIGV4_EXPIRES_MAX + 1, &q, NULL), -1);
	ck_assert_uint_eq(q.len, 0);
	q.max = 40; /* too small: refused, and q left as it was */
	ck_assert_int_eq(sigv4_presign(&req, &cred, 60, &q, NULL), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(q.len, 0);
	buf_free(&q);
}
END_TEST

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
find_cases(void)
{
	DIR *d = opendir(VECTORS);
	struct dirent *e;

	if (d == NULL)
		return; /* vectors_all_found reports it */
	while ((e = readdir(d)) != NULL && ncases < MAX_CASES) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL)
			continue; /* ".", "..", README.md */
		if (str_copy(case_names[ncases], sizeof(case_names[0]), e->d_name) == 0)
			ncases++;
	}
	closedir(d);
	qsort(case_names, (size_t)ncases, sizeof(case_names[0]), name_cmp);
}

Suite *suite(void);

Suite *
suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tv = tcase_create("vectors");
	TCase *tc = tcase_create("core");

	find_cases();
	tcase_add_test(tv, vectors_all_found);
	tcase_add_loop_test(tv, vector_header, 0, ncases);
	tcase_add_loop_test(tv, vector_query, 0, ncases);
	tcase_add_test(tv, s3_get_object_example);
	tcase_add_test(tv, s3_presigned_example);
	suite_add_tcase(s, tv);

	tcase_add_test(tc, unsigned_payload_and_content_sha256);
	tcase_add_test(tc, session_token_is_sent_and_signed);
	tcase_add_test(tc, wrong_secret_or_changed_request_differs);
	tcase_add_test(tc, uri_encode_reserved_and_unicode);
	tcase_add_test(tc, canonical_query_and_path);
	tcase_add_test(tc, amz_date_from_time);
	tcase_add_test(tc, bad_input_refused);
	suite_add_tcase(s, tc);
	return s;
}
