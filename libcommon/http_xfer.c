/*
 * http_xfer.c: one HTTP transfer on a reused libcurl handle, and the
 * callbacks that feed it the request body and collect the answer within
 * the caller's limits.  Whether to retry is http.c's business.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_impl.h"

bool
http_sends_body(const struct http_request *req)
{
	return req->body.kind != HTTP_BODY_NONE || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	long status = 0;
	(void)size; /* always 1 */
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->on_data != NULL && status >= 200 && status <= 299) {
		if (n == 0)
			return 0;
		x->delivered += n;
		if ((x->sink_rc = x->req->on_data(x->req->on_data_ctx, p, n)) != 0)
			return 0;
		return n;
	}
	if (n > x->limit - x->resp->body.len) {
		x->too_big = true;
		return 0;
	}
	if (buf_append(&x->resp->body, p, n) == -1) {
		x->no_mem = true;
		return 0;
	}
	return n;
}

/* retry_after reads "Retry-After: <seconds>"; an HTTP-date is ignored. */
static void
retry_after(struct xfer *x, const char *p, size_t n)
{
	static const char name[] = "Retry-After:";
	char v[32];
	long secs;
	if (n <= sizeof(name) - 1 || strncasecmp(p, name, sizeof(name) - 1) != 0)
		return;
	n -= sizeof(name) - 1;
	p += sizeof(name) - 1;
	if (n >= sizeof(v))
		return;
	memcpy(v, p, n);
	v[n] = '\0';
	if (str_to_long(str_trim(v), 0, LONG_MAX / 1000, &secs) == 0)
		x->retry_after_ms = secs * 1000;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	(void)size; /* always 1 */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (after a 1xx) */
		buf_reset(&x->resp->headers);
		x->retry_after_ms = -1;
	}
	if (buf_append(&x->resp->headers, p, n) == -1) {
		x->headers_too_big = true;
		return 0;
	}
	retry_after(x, p, n);
	return n;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct http_body *b = &x->req->body;
	size_t got = 0;
	n *= size;
	switch (b->kind) {
	case HTTP_BODY_NONE:
		break;
	case HTTP_BODY_MEM:
		got = b->len - x->mem_off < n ? b->len - x->mem_off : n;
		memcpy(p, (const char *)b->data + x->mem_off, got);
		x->mem_off += got;
		break;
	case HTTP_BODY_FILE:
		got = fread(p, 1, n, b->file);
		if (got == 0 && ferror(b->file))
			got = (size_t)-1;
		break;
	case HTTP_BODY_STREAM:
		got = b->read(b->ctx, p, n);
		break;
	}
	if (got == (size_t)-1 || got > n) {
		x->body_failed = true;
		return CURL_READFUNC_ABORT;
	}
	x->body_read += got;
	return got;
}

int
http_xfer_rewind(struct xfer *x)
{
	const struct http_body *b = &x->req->body;
	x->mem_off = 0;
	if (b->kind == HTTP_BODY_FILE) {
		clearerr(b->file);
		return fseeko(b->file, x->file_start, SEEK_SET);
	}
	if (b->kind == HTTP_BODY_STREAM && x->body_read > 0)
		return b->rewind != NULL ? b->rewind(b->ctx) : -1;
	return 0;
}

/* curl seeks back when it must resend on a connection that died. */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;
	const struct http_body *b = &x->req->body;
	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (b->kind == HTTP_BODY_MEM && (unsigned long long)offset <= b->len) {
		x->mem_off = (size_t)offset;
		return CURL_SEEKFUNC_OK;
	}
	if (b->kind == HTTP_BODY_FILE)
		return fseeko(b->file, x->file_start + offset, SEEK_SET) == 0 ?
		    CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
	if (offset == 0 && http_xfer_rewind(x) == 0)
		return CURL_SEEKFUNC_OK;
	return CURL_SEEKFUNC_CANTSEEK;
}

#define SET(opt, val)                                         \
	do {                                                  \
		if (res == CURLE_OK)                          \
			res = curl_easy_setopt(h, (opt), (val)); \
	} while (0)

static CURLcode
set_body(struct xfer *x)
{
	CURL *h = x->h;
	const struct http_request *req = x->req;
	CURLcode res = CURLE_OK;
	curl_off_t size = req->body.kind == HTTP_BODY_MEM ? (curl_off_t)req->body.len :
	    req->body.kind == HTTP_BODY_NONE ? 0 : (curl_off_t)req->body.size;
	if (!http_sends_body(req)) {
		if (strcmp(req->method, "HEAD") == 0)
			SET(CURLOPT_NOBODY, 1L);
		else if (strcmp(req->method, "GET") != 0)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
		return res;
	}
	/* An upload is a PUT to curl; CUSTOMREQUEST names the real method. */
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_CUSTOMREQUEST, req->method);
	SET(CURLOPT_READFUNCTION, on_read);
	SET(CURLOPT_READDATA, x);
	SET(CURLOPT_SEEKFUNCTION, on_seek);
	SET(CURLOPT_SEEKDATA, x);
	SET(CURLOPT_INFILESIZE_LARGE, size < 0 ? (curl_off_t)-1 : size);
	return res;
}

static CURLcode
set_options(struct xfer *x)
{
	CURL *h = x->h;
	const struct http_client *c = x->c;
	CURLcode res = CURLE_OK;
	curl_easy_reset(h); /* keeps the connection cache */
	SET(CURLOPT_URL, x->req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_USERAGENT, "socorro-bootstrap/" SB_VERSION);
	if (c->env_timeout_ms > 0) {
		SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms < c->env_timeout_ms ?
		    c->connect_timeout_ms : c->env_timeout_ms);
		SET(CURLOPT_TIMEOUT_MS, c->env_timeout_ms);
	} else {
		SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
		SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
	}
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_HTTPHEADER, x->hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (x->https)
		SET(CURLOPT_CAINFO, x->ca);
	/* Refuse early when Content-Length is over; not for a streaming sink,
	 * nor for HEAD, whose Content-Length is the size of a body not sent. */
	if (x->req->on_data == NULL && x->limit < (size_t)LLONG_MAX &&
	    strcmp(x->req->method, "HEAD") != 0)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->limit);
	if (c->trace != NULL) {
		SET(CURLOPT_DEBUGFUNCTION, http_trace_debug);
		SET(CURLOPT_DEBUGDATA, &x->trace);
		SET(CURLOPT_VERBOSE, 1L);
	}
	if (res == CURLE_OK)
		res = set_body(x);
	return res;
}

#undef SET

CURLcode
http_xfer_perform(struct xfer *x)
{
	CURLcode res;
	x->errbuf[0] = '\0';
	x->body_read = 0;
	x->too_big = x->no_mem = x->headers_too_big = x->body_failed = false;
	x->retry_after_ms = -1;
	http_trace_start(&x->trace, x->c);
	res = set_options(x);
	if (res == CURLE_OK)
		res = curl_easy_perform(x->h);
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->resp->status);
	http_trace_flush(&x->trace);
	return res;
}
