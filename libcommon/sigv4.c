/*
 * sigv4.c: AWS Signature Version 4: the canonical request, the string to
 * sign, the signing key and the signature, for the Authorization header
 * or for a presigned URL.  The canonical forms are in sigv4_canon.c.
 */
#include "sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4_impl.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_SIZE 192  /* date/region/service/aws4_request */
#define NAME_MAX_LEN 64 /* of a region, a service or a method */
#define AKID_MAX_LEN 128

/* The work of one signature.  Every buf is freed by signing_free. */
struct signing {
	char date[SIGV4_DATE_SIZE];
	char scope[SCOPE_SIZE];
	struct buf canon; /* the canonical request */
	struct buf names; /* the signed headers, "host;x-amz-date" */
	struct buf sts;   /* the string to sign */
	char signature[SIGV4_HEX_SIZE];
};

static void
signing_init(struct signing *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->canon, SIGV4_CANON_MAX);
	buf_init(&s->names, SIGV4_AUTH_SIZE);
	buf_init(&s->sts, SIGV4_CANON_MAX);
}

static void
signing_free(struct signing *s)
{
	buf_free(&s->canon);
	buf_free(&s->names);
	buf_free(&s->sts);
}

int
sigv4_amz_date(time_t t, char out[SIGV4_DATE_SIZE])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    strftime(out, SIGV4_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_SIZE - 1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* --- checking the input -------------------------------------------------- */

/* word: 1 to max bytes, each of A-Z a-z 0-9 - . _ (or A-Z only). */
static int
word(const char *s, size_t max, int upper_only)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		int ok = (c >= 'A' && c <= 'Z') ||
		    (!upper_only &&
		        ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._", c)));
		if (!ok)
			return 0;
	}
	return n > 0 && n <= max;
}

static int
valid_payload_hash(const char *h)
{
	size_t n;

	if (h == NULL)
		return 0;
	if (strspn(h, "0123456789abcdef") == SIGV4_HEX_SIZE - 1 && h[SIGV4_HEX_SIZE - 1] == '\0')
		return 1;
	if (strcmp(h, SIGV4_UNSIGNED) == 0)
		return 1;
	/* STREAMING-AWS4-HMAC-SHA256-PAYLOAD and its kin (S3 chunked). */
	n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	return strncmp(h, "STREAMING-", 10) == 0 && n <= NAME_MAX_LEN && h[n] == '\0';
}

static int
valid_amz_date(const char *d)
{
	for (size_t i = 0; i < SIGV4_DATE_SIZE - 1; i++) {
		char want = i == 8 ? 'T' : i == 15 ? 'Z' : '0';
		if (want == '0' ? (d[i] < '0' || d[i] > '9') : d[i] != want)
			return 0;
	}
	return d[SIGV4_DATE_SIZE - 1] == '\0';
}

static int
has_token(const struct sigv4_credentials *cred)
{
	return cred->session_token != NULL && cred->session_token[0] != '\0';
}

static int
find_header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].name != NULL && strcasecmp(req->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * header_clash: the request already carries a header the signer adds,
 * or carries no Host at all.  Two X-Amz-Date headers, say, would make
 * the server's canonical request differ from ours.
 */
static int
header_clash(const struct sigv4_request *req, const struct sigv4_credentials *cred, int presign)
{
	if (find_header(req, "authorization") || find_header(req, "x-amz-date"))
		return 1;
	if ((req->host != NULL) == find_header(req, "host"))
		return 1;
	if (has_token(cred) && find_header(req, "x-amz-security-token"))
		return 1;
	return !presign && (req->flags & SIGV4_CONTENT_SHA256) &&
	    find_header(req, "x-amz-content-sha256");
}

static int
check_input(const struct sigv4_request *req, const struct sigv4_credentials *cred, int presign)
{
	const char *secret = cred->secret_access_key;

	if (!word(req->method, NAME_MAX_LEN, 1) || !word(req->region, NAME_MAX_LEN, 0) ||
	    !word(req->service, NAME_MAX_LEN, 0) || !word(cred->access_key_id, AKID_MAX_LEN, 0) ||
	    secret == NULL || secret[0] == '\0' || strlen(secret) > SIGV4_SECRET_MAX ||
	    !valid_payload_hash(req->payload_hash) || (req->nheaders > 0 && req->headers == NULL) ||
	    (req->amz_date != NULL && !valid_amz_date(req->amz_date)) ||
	    (req->host != NULL && strpbrk(req->host, "\r\n") != NULL) ||
	    (has_token(cred) && strpbrk(cred->session_token, "\r\n") != NULL) ||
	    header_clash(req, cred, presign)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* --- the signature ------------------------------------------------------- */

static int
start(struct signing *s, const struct sigv4_request *req)
{
	if (req->amz_date != NULL) {
		if (str_copy(s->date, sizeof(s->date), req->amz_date) == -1)
			return -1;
	} else if (sigv4_amz_date(req->when, s->date) == -1)
		return -1;
	return str_fmt(s->scope, sizeof(s->scope), "%.8s/%s/%s/aws4_request", s->date, req->region,
	    req->service);
}

/*
 * canonical builds the canonical request; hdrs is every signed header,
 * extra the X-Amz-* query parameters of a presigned URL.
 */
static int
canonical(struct signing *s, const struct sigv4_request *req, const struct sigv4_header *hdrs,
    size_t nhdrs, const struct sigv4_header *extra, size_t nextra)
{
	struct buf *c = &s->canon;

	if (buf_puts(c, req->method) == -1 || buf_putc(c, '\n') == -1 ||
	    sigv4_canon_path(c, req->path, req->flags) == -1 || buf_putc(c, '\n') == -1 ||
	    sigv4_canon_query(c, req->query, extra, nextra) == -1 || buf_putc(c, '\n') == -1 ||
	    sigv4_canon_headers(c, &s->names, hdrs, nhdrs) == -1 || buf_putc(c, '\n') == -1 ||
	    buf_puts(c, buf_str(&s->names)) == -1 || buf_putc(c, '\n') == -1)
		return -1;
	return buf_puts(c, req->payload_hash);
}

/* signing_key derives HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region),
 * service), "aws4_request"); every intermediate key is wiped. */
static void
signing_key(const struct signing *s, const struct sigv4_request *req, const char *secret,
    unsigned char key[32])
{
	unsigned char k0[4 + SIGV4_SECRET_MAX], k1[32], k2[32];
	size_t n = strlen(secret); /* check_input: at most SIGV4_SECRET_MAX */

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, n);
	sigv4_hmac_sha256(k0, 4 + n, s->date, 8, k1);
	sigv4_hmac_sha256(k1, sizeof(k1), req->region, strlen(req->region), k2);
	sigv4_hmac_sha256(k2, sizeof(k2), req->service, strlen(req->service), k1);
	sigv4_hmac_sha256(k1, sizeof(k1), "aws4_request", 12, key);
	secure_wipe(k0, sizeof(k0));
	secure_wipe(k1, sizeof(k1));
	secure_wipe(k2, sizeof(k2));
}

/* sign hashes the canonical request into the string to sign, and signs. */
static int
sign(struct signing *s, const struct sigv4_request *req, const struct sigv4_credentials *cred)
{
	char hash[SIGV4_HEX_SIZE];
	unsigned char key[32], mac[32];

	sigv4_payload_hash(s->canon.data, s->canon.len, hash);
	if (buf_printf(&s->sts, ALGORITHM "\n%s\n%s\n%s", s->date, s->scope, hash) == -1)
		return -1;
	signing_key(s, req, cred->secret_access_key, key);
	sigv4_hmac_sha256(key, sizeof(key), s->sts.data, s->sts.len, mac);
	sigv4_hex(mac, sizeof(mac), s->signature);
	secure_wipe(key, sizeof(key));
	secure_wipe(mac, sizeof(mac));
	return 0;
}

static int
fill_trace(struct sigv4_trace *t, const struct signing *s)
{
	if (t == NULL)
		return 0;
	buf_reset(&t->canonical_request);
	buf_reset(&t->string_to_sign);
	memcpy(t->signature, s->signature, sizeof(t->signature));
	if (buf_append(&t->canonical_request, s->canon.data, s->canon.len) == -1)
		return -1;
	return buf_append(&t->string_to_sign, s->sts.data, s->sts.len);
}

/*
 * signed_headers returns a new array of req's headers plus Host (if
 * req->host) and the n more given; the caller frees it.
 */
static struct sigv4_header *
signed_headers(
    const struct sigv4_request *req, const struct sigv4_header *more, size_t n, size_t *total)
{
	struct sigv4_header *h = calloc(req->nheaders + 1 + n, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (req->nheaders > 0)
		memcpy(h, req->headers, req->nheaders * sizeof(*h));
	*total = req->nheaders;
	if (req->host != NULL)
		h[(*total)++] = (struct sigv4_header){"host", req->host};
	for (size_t i = 0; i < n; i++)
		h[(*total)++] = more[i];
	return h;
}

/* --- the Authorization header ------------------------------------------- */

/*
 * added lists the headers to add in auth and returns how many; the first
 * *skip of them (an unsigned token) stay out of the signature.  The token
 * comes first either way, as AWS's own signers send it.
 */
static size_t
added(struct sigv4_auth *auth, const struct sigv4_request *req,
    const struct sigv4_credentials *cred, size_t *skip)
{
	size_t n = 0;

	if (has_token(cred))
		auth->headers[n++] =
		    (struct sigv4_header){"X-Amz-Security-Token", cred->session_token};
	*skip = n == 1 && (req->flags & SIGV4_TOKEN_UNSIGNED);
	auth->headers[n++] = (struct sigv4_header){"X-Amz-Date", auth->amz_date};
	if (req->flags & SIGV4_CONTENT_SHA256)
		auth->headers[n++] =
		    (struct sigv4_header){"x-amz-content-sha256", req->payload_hash};
	return n;
}

int
sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_credentials *cred,
    struct sigv4_auth *auth, struct sigv4_trace *trace)
{
	struct signing s;
	struct sigv4_header *hdrs = NULL;
	size_t nadd, skip, nhdrs;
	int r = -1;

	if (check_input(req, cred, 0) == -1)
		return -1;
	memset(auth, 0, sizeof(*auth));
	signing_init(&s);
	if (start(&s, req) == -1)
		goto out;
	memcpy(auth->amz_date, s.date, sizeof(auth->amz_date));
	nadd = added(auth, req, cred, &skip);
	hdrs = signed_headers(req, auth->headers + skip, nadd - skip, &nhdrs);
	if (hdrs == NULL || canonical(&s, req, hdrs, nhdrs, NULL, 0) == -1 ||
	    sign(&s, req, cred) == -1 ||
	    str_fmt(auth->authorization, sizeof(auth->authorization),
	        ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s", cred->access_key_id,
	        s.scope, buf_str(&s.names), s.signature) == -1)
		goto out;
	auth->headers[nadd++] = (struct sigv4_header){"Authorization", auth->authorization};
	auth->nheaders = nadd;
	r = fill_trace(trace, &s);
out:
	free(hdrs);
	signing_free(&s);
	return r;
}

/* --- presigned URLs ------------------------------------------------------ */

enum { P_ALGORITHM, P_CREDENTIAL, P_DATE, P_SIGNEDHEADERS, P_EXPIRES, P_TOKEN, P_NPARAMS };

/* The X-Amz-* parameters in the order AWS's own signers write them. */
struct presign_params {
	char credential[AKID_MAX_LEN + 1 + SCOPE_SIZE];
	char expires[16];
	struct sigv4_header p[P_NPARAMS];
};

/* presign_params fills p; names is the signed headers list, kept alive. */
static int
presign_params(struct presign_params *pp, const struct signing *s, const struct buf *names,
    const struct sigv4_credentials *cred, unsigned expires)
{
	if (str_fmt(pp->credential, sizeof(pp->credential), "%s/%s", cred->access_key_id,
	        s->scope) == -1 ||
	    str_fmt(pp->expires, sizeof(pp->expires), "%u", expires) == -1)
		return -1;
	pp->p[P_ALGORITHM] = (struct sigv4_header){"X-Amz-Algorithm", ALGORITHM};
	pp->p[P_CREDENTIAL] = (struct sigv4_header){"X-Amz-Credential", pp->credential};
	pp->p[P_DATE] = (struct sigv4_header){"X-Amz-Date", s->date};
	pp->p[P_SIGNEDHEADERS] = (struct sigv4_header){"X-Amz-SignedHeaders", buf_str(names)};
	pp->p[P_EXPIRES] = (struct sigv4_header){"X-Amz-Expires", pp->expires};
	pp->p[P_TOKEN] = (struct sigv4_header){"X-Amz-Security-Token", cred->session_token};
	return 0;
}

static int
put_param(struct buf *q, const char *name, const char *value)
{
	if ((q->len > 0 && buf_putc(q, '&') == -1) || buf_puts(q, name) == -1 ||
	    buf_putc(q, '=') == -1)
		return -1;
	return sigv4_uri_encode(q, value, 1);
}

/* presign_query writes the URL's query into out, built aside so that a
 * failure leaves out as it was. */
static int
presign_query(struct buf *out, const struct sigv4_request *req,
    const struct sigv4_credentials *cred, const struct presign_params *pp, const char *sig)
{
	struct buf q;
	int r = -1;

	buf_init(&q, out->max);
	if (req->query != NULL && buf_puts(&q, req->query) == -1)
		goto out;
	for (int i = 0; i < P_NPARAMS; i++)
		if ((i != P_TOKEN || has_token(cred)) &&
		    put_param(&q, pp->p[i].name, pp->p[i].value) == -1)
			goto out;
	if (put_param(&q, "X-Amz-Signature", sig) == -1)
		goto out;
	r = buf_append(out, q.data, q.len);
out:
	buf_free(&q);
	return r;
}

int
sigv4_presign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
    unsigned expires, struct buf *query, struct sigv4_trace *trace)
{
	struct signing s;
	struct presign_params pp;
	struct buf hdrblock, names;
	struct sigv4_header *hdrs;
	size_t nhdrs, nparams;
	int r = -1;

	if (check_input(req, cred, 1) == -1)
		return -1;
	if (expires == 0 || expires > SIGV4_EXPIRES_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((hdrs = signed_headers(req, NULL, 0, &nhdrs)) == NULL)
		return -1;
	signing_init(&s);
	buf_init(&hdrblock, SIGV4_CANON_MAX);
	buf_init(&names, SIGV4_AUTH_SIZE);
	/* X-Amz-SignedHeaders is itself signed: list the headers first. */
	if (start(&s, req) == -1 || sigv4_canon_headers(&hdrblock, &names, hdrs, nhdrs) == -1 ||
	    presign_params(&pp, &s, &names, cred, expires) == -1)
		goto out;
	nparams = has_token(cred) && !(req->flags & SIGV4_TOKEN_UNSIGNED) ? P_NPARAMS : P_TOKEN;
	if (canonical(&s, req, hdrs, nhdrs, pp.p, nparams) == -1 || sign(&s, req, cred) == -1 ||
	    presign_query(query, req, cred, &pp, s.signature) == -1)
		goto out;
	r = fill_trace(trace, &s);
out:
	buf_free(&hdrblock);
	buf_free(&names);
	free(hdrs);
	signing_free(&s);
	return r;
}
