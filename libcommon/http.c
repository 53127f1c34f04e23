/*
 * http.c: requests with retries over reused libcurl handles.  One attempt
 * is one curl_easy_perform; http_do decides from its outcome whether to
 * answer, retry after a jittered sleep, or give up with an EX_* code.
 */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "duration.h"
#include "exits.h"
#include "http_impl.h"

#define HEADERS_MAX (64u << 10)
#define REQ_HEADER_MAX (16u << 10)

/* What one attempt came to. */
struct outcome {
	int code;      /* 0: a final answer */
	bool retry;
	char cause[384];
};

static void
cause(struct outcome *o, int code, bool retry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
cause(struct outcome *o, int code, bool retry, const char *fmt, ...)
{
	char raw[sizeof(o->cause)];
	va_list ap;
	o->code = code;
	o->retry = retry;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(raw)) /* show the cut, as str_fmt_clip does */
		memcpy(raw + sizeof(raw) - 4, "...", 4);
	http_redact(raw, o->cause, sizeof(o->cause));
}

/* fail sets resp->error to "METHOD URL: cause (after N attempts)". */
static int
fail(struct xfer *x, const struct outcome *o)
{
	struct http_response *r = x->resp;
	int n = r->attempts;
	if (n > 0)
		str_fmt_clip(r->error, sizeof(r->error), "%s %s: %s (after %d attempt%s)",
		    x->req->method, x->url, o->cause, n, n == 1 ? "" : "s");
	else
		str_fmt_clip(r->error, sizeof(r->error), "%s %s: %s", x->req->method, x->url,
		    o->cause);
	return o->code;
}

/* --- the client --------------------------------------------------------- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Jitter only spreads clients apart; a clock seed will do without getrandom. */
static void
seed_rng(struct http_client *c)
{
	struct timespec ts;
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) == (ssize_t)sizeof(c->rng))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
}

/* SOCORRO_HTTP_TIMEOUT: see http.h.  Never fatal here; http_do reports it. */
static void
read_env_timeout(struct http_client *c)
{
	const char *v = getenv("SOCORRO_HTTP_TIMEOUT");
	long s;
	if (v == NULL || *v == '\0')
		return;
	if (duration_parse(v, &s) == -1 || s < 1 || s > 86400) {
		str_copy(c->env_error, sizeof(c->env_error),
		    "SOCORRO_HTTP_TIMEOUT: not a duration from 1s to 1d (such as 30s, 5m)");
		return;
	}
	c->env_timeout_ms = s * 1000;
}

int
http_client_init(struct http_client *c)
{
	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = 10000;
	c->timeout_ms = 60000;
	c->max_attempts = 4;
	c->backoff_base_ms = 200;
	c->backoff_cap_ms = 10000;
	c->ca_env_file = getenv("SSL_CERT_FILE");
	read_env_timeout(c);
	seed_rng(c);
	/* Reference counted by libcurl: one per client, undone in http_client_free. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EX_SOFTWARE;
	return 0;
}

void
http_client_free(struct http_client *c)
{
	for (size_t i = 0; i < HTTP_MAX_HOSTS; i++)
		if (c->slots[i].curl != NULL)
			curl_easy_cleanup(c->slots[i].curl);
	memset(c->slots, 0, sizeof(c->slots));
	curl_global_cleanup();
}

void
http_response_init(struct http_response *resp, size_t max_body)
{
	resp->status = 0;
	resp->attempts = 0;
	resp->error[0] = '\0';
	buf_init(&resp->body, max_body);
	buf_init(&resp->headers, HEADERS_MAX);
}

void
http_response_free(struct http_response *resp)
{
	buf_free(&resp->body);
	buf_free(&resp->headers);
}

/*
 * slot_handle returns the easy handle kept for key (scheme://host:port),
 * making one in a free or the least recently used slot.  A reused handle
 * keeps its connection cache, so requests to one host share a connection.
 */
static CURL *
slot_handle(struct http_client *c, const char *key)
{
	struct http_slot *s = &c->slots[0];
	for (size_t i = 0; i < HTTP_MAX_HOSTS; i++) {
		struct http_slot *t = &c->slots[i];
		if (t->curl != NULL && strcmp(t->key, key) == 0) {
			t->used = ++c->clock;
			return t->curl;
		}
		if (s->curl != NULL && (t->curl == NULL || t->used < s->used))
			s = t;
	}
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	s->curl = curl_easy_init();
	if (str_copy(s->key, sizeof(s->key), key) == -1)
		s->key[0] = '\0'; /* too long to share: used once, then replaced */
	s->used = ++c->clock;
	return s->curl;
}

/* --- preparing a request ------------------------------------------------ */

/* url_key parses the URL into x->https and key "scheme://host:port". */
static int
url_key(struct xfer *x, char *key, size_t keysize, struct outcome *o)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = 0;
	CURLU *u = curl_url();
	if (u == NULL) {
		cause(o, EX_SOFTWARE, false, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, x->req->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		cause(o, EX_DATAERR, false, "not a valid http or https URL");
		rc = -1;
	} else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		cause(o, EX_DATAERR, false, "only http and https URLs are supported");
		rc = -1;
	} else {
		x->https = strcmp(scheme, "https") == 0;
		for (char *p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		str_fmt_clip(key, keysize, "%s://%s:%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* ca_bundle picks the CA bundle: the flag, SSL_CERT_FILE, the usual paths. */
static int
ca_bundle(struct xfer *x, struct outcome *o)
{
	static const char *const paths[] = HTTP_CA_BUNDLES;
	const struct http_client *c = x->c;
	const char *given = c->ca_file != NULL && *c->ca_file ? c->ca_file :
	    c->ca_env_file != NULL && *c->ca_env_file ? c->ca_env_file : NULL;
	if (given != NULL) {
		if (access(given, R_OK) == -1) {
			cause(o, EX_CONFIG, false, "cannot read CA bundle %s: %s", given,
			    strerror(errno));
			return -1;
		}
		if (str_copy(x->ca, sizeof(x->ca), given) == -1) {
			cause(o, EX_CONFIG, false, "CA bundle path too long: %s", given);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; paths[i] != NULL; i++)
		if (access(paths[i], R_OK) == 0)
			return str_copy(x->ca, sizeof(x->ca), paths[i]);
	cause(o, EX_CONFIG, false, "no CA bundle found in %s, %s, %s or %s: give one "
	    "with --cacert or SSL_CERT_FILE", paths[0], paths[1], paths[2], paths[3]);
	return -1;
}

static bool
has_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

/* add_header appends one "Name: value" line; the copy may hold a secret. */
static int
add_header(struct xfer *x, const struct http_header *hd, struct outcome *o)
{
	struct buf b;
	struct curl_slist *l;
	if (hd->name == NULL || *hd->name == '\0' || strpbrk(hd->name, ":\r\n ") != NULL ||
	    (hd->value != NULL && strpbrk(hd->value, "\r\n") != NULL)) {
		cause(o, EX_SOFTWARE, false, "bad request header %s", hd->name ? hd->name : "");
		return -1;
	}
	buf_init(&b, REQ_HEADER_MAX);
	/* curl: "Name:" removes a default header, "Name;" sends an empty one. */
	int rc = hd->value == NULL ? buf_printf(&b, "%s:", hd->name) :
	    *hd->value == '\0' ? buf_printf(&b, "%s;", hd->name) :
	    buf_printf(&b, "%s: %s", hd->name, hd->value);
	l = rc == 0 ? curl_slist_append(x->hdrs, buf_str(&b)) : NULL;
	buf_wipe(&b);
	if (l == NULL) {
		cause(o, EX_SOFTWARE, false, "request header %s too large or out of memory",
		    hd->name);
		return -1;
	}
	x->hdrs = l;
	return 0;
}

static void
free_headers(struct xfer *x)
{
	for (struct curl_slist *l = x->hdrs; l != NULL; l = l->next)
		secure_wipe(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

static int
prepare(struct xfer *x, struct outcome *o)
{
	const struct http_request *req = x->req;
	char key[sizeof(x->c->slots[0].key)];
	if (url_key(x, key, sizeof(key), o) == -1)
		return -1;
	if (x->https && ca_bundle(x, o) == -1)
		return -1;
	for (size_t i = 0; i < req->nheaders; i++)
		if (add_header(x, &req->headers[i], o) == -1)
			return -1;
	/* A 100-continue round trip only slows the small bodies we send. */
	static const struct http_header no_expect = { "Expect", NULL };
	if (http_sends_body(req) && !has_header(req, "Expect") && add_header(x, &no_expect, o) == -1)
		return -1;
	if (req->body.kind == HTTP_BODY_FILE) {
		if (req->body.file == NULL || (x->file_start = ftello(req->body.file)) == -1) {
			cause(o, EX_IOERR, false, "request body file cannot be sought");
			return -1;
		}
	}
	if ((x->h = slot_handle(x->c, key)) == NULL) {
		cause(o, EX_SOFTWARE, false, "out of memory");
		return -1;
	}
	return 0;
}

/* --- one attempt -------------------------------------------------------- */

static bool
retryable_status(const struct http_request *req, long status)
{
	if (status == 429 || (status >= 500 && status <= 599))
		return true;
	for (size_t i = 0; i < req->nretry_statuses; i++)
		if (req->retry_statuses[i] == status)
			return true;
	return false;
}

/* curl_failure sorts a failed transfer into give up or retry. */
static void
curl_failure(struct xfer *x, CURLcode res, struct outcome *o)
{
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		cause(o, EX_TEMPFAIL, true, "timed out: %s", why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		cause(o, EX_UNAVAILABLE, true, "%s", why);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CIPHER:
		cause(o, EX_UNAVAILABLE, false, "TLS: the server's certificate could not be "
		    "verified with CA bundle %s (%s); if it comes from a private CA, give that "
		    "CA with --cacert or SSL_CERT_FILE", x->ca, why);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		cause(o, EX_CONFIG, false, "cannot use CA bundle %s: %s", x->ca, why);
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		cause(o, EX_DATAERR, false, "%s", why);
		break;
	case CURLE_OUT_OF_MEMORY:
		cause(o, EX_SOFTWARE, false, "out of memory");
		break;
	default:
		cause(o, EX_UNAVAILABLE, false, "%s", why);
		break;
	}
}

/* judge turns what curl_easy_perform returned into an outcome. */
static void
judge(struct xfer *x, CURLcode res, struct outcome *o)
{
	const struct http_body *b = &x->req->body;
	if (x->sink_rc != 0)
		cause(o, x->sink_rc, false, "the receiver of the body stopped it");
	else if (x->too_big || res == CURLE_FILESIZE_EXCEEDED)
		cause(o, EX_UNAVAILABLE, false, "response body larger than %zu bytes", x->limit);
	else if (x->headers_too_big)
		cause(o, EX_UNAVAILABLE, false, "response headers larger than %zu bytes",
		    x->resp->headers.max);
	else if (x->no_mem)
		cause(o, EX_SOFTWARE, false, "out of memory");
	else if (x->body_failed)
		cause(o, EX_IOERR, false, "cannot read the request body");
	else if (res == CURLE_OK && retryable_status(x->req, x->resp->status))
		cause(o, EX_UNAVAILABLE, true, "server answered HTTP %ld", x->resp->status);
	else if (res == CURLE_OK)
		cause(o, 0, false, "HTTP %ld", x->resp->status);
	else
		curl_failure(x, res, o);
	/* What cannot be sent or taken back again is not retried. */
	if (b->kind == HTTP_BODY_STREAM && b->rewind == NULL && x->body_read > 0)
		o->retry = false;
	if (x->delivered > 0)
		o->retry = false;
}

static void
attempt(struct xfer *x, struct outcome *o)
{
	struct http_response *r = x->resp;
	CURLcode res;
	r->attempts++;
	r->status = 0;
	buf_reset(&r->body);
	buf_reset(&r->headers);
	http_trace_msg(x->c, "%s %s (attempt %d of %d)", x->req->method, x->url, r->attempts,
	    x->c->max_attempts);
	res = http_xfer_perform(x);
	judge(x, res, o);
}

/* --- retrying ----------------------------------------------------------- */

/*
 * backoff_ms: full jitter, uniform in [0, min(cap, base * 2^(n-1))] after
 * the n-th attempt; a server's Retry-After (429, 503) instead, never past
 * the cap.
 */
static long
backoff_ms(struct http_client *c, int n, long retry_after_ms, long status)
{
	long cap = c->backoff_cap_ms > 0 ? c->backoff_cap_ms : 0;
	long ceil = c->backoff_base_ms > 0 ? c->backoff_base_ms : 0;
	if (retry_after_ms >= 0 && (status == 429 || status == 503))
		return retry_after_ms < cap ? retry_after_ms : cap;
	for (int i = 1; i < n && ceil < cap; i++)
		ceil = ceil > LONG_MAX / 2 ? LONG_MAX : ceil * 2;
	if (ceil > cap)
		ceil = cap;
	return (long)(splitmix64(&c->rng) % ((uint64_t)ceil + 1));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

long
http_backoff_sleep(struct http_client *c, int attempt)
{
	long ms = backoff_ms(c, attempt, -1, 0);
	sleep_ms(ms);
	return ms;
}

static int
check_request(const struct http_client *c, const struct http_request *req)
{
	const struct http_body *b;
	if (c == NULL || req == NULL || req->method == NULL || *req->method == '\0' ||
	    req->url == NULL || c->max_attempts < 1)
		return -1;
	b = &req->body;
	if ((b->kind == HTTP_BODY_MEM && b->data == NULL && b->len > 0) ||
	    (b->kind == HTTP_BODY_FILE && b->file == NULL) ||
	    (b->kind == HTTP_BODY_STREAM && b->read == NULL))
		return -1;
	return 0;
}

int
http_do(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	struct xfer x;
	struct outcome o;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	x.resp = resp;
	resp->status = 0;
	resp->attempts = 0;
	resp->error[0] = '\0';
	if (check_request(c, req) == -1) {
		str_copy(resp->error, sizeof(resp->error), "http_do: bad arguments");
		return EX_SOFTWARE;
	}
	if (c->env_error[0] != '\0') {
		str_copy(resp->error, sizeof(resp->error), c->env_error);
		return EX_CONFIG;
	}
	http_redact(req->url, x.url, sizeof(x.url));
	x.limit = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	if (x.limit > resp->body.max)
		x.limit = resp->body.max;
	if (prepare(&x, &o) == -1) {
		free_headers(&x);
		return fail(&x, &o);
	}
	for (;;) {
		attempt(&x, &o);
		if (o.code == 0 || !o.retry || resp->attempts >= c->max_attempts)
			break;
		long ms = backoff_ms(c, resp->attempts, x.retry_after_ms, resp->status);
		http_trace_msg(c, "retrying in %ld ms: %s", ms, o.cause);
		sleep_ms(ms);
		if (http_xfer_rewind(&x) == -1) {
			cause(&o, EX_IOERR, false, "cannot rewind the request body to retry");
			break;
		}
	}
	free_headers(&x);
	return o.code == 0 ? 0 : fail(&x, &o);
}
