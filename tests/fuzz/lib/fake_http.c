/*
 * fake_http.c: libcommon/http.c and http_xfer.c's public functions for
 * the fuzz targets, answering from the fuzz input (the format is in
 * fuzz.h).  http_redact and http_secret_header stay the real ones
 * (libcommon/http_trace.c); the http_headers target fuzzes the real
 * header callbacks of http_xfer.c.  FUZZ_HTTP_TRACE=1 in the environment
 * lists the requests on stderr, which helps to write seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "fuzz.h"
#include "http.h"

static char *input; /* the loaded answers, a private copy */
static size_t input_len, input_pos;
static size_t calls;

void
fake_http_load(const uint8_t *data, size_t size)
{
	free(input);
	input = malloc(size + 1);
	if (input == NULL)
		abort();
	memcpy(input, data, size);
	input[size] = '\0';
	input_len = size;
	input_pos = 0;
	calls = 0;
}

size_t
fake_http_calls(void)
{
	return calls;
}

/* next_answer: the next answer's bytes, or -1 when none is left. */
static int
next_answer(const char **p, size_t *n)
{
	static const char sep[] = FUZZ_SEPARATOR;
	if (input == NULL || input_pos > input_len)
		return -1;
	const char *s = input + input_pos, *end = input + input_len;
	const char *hit = memmem(s, (size_t)(end - s), sep, sizeof(sep) - 1);
	*p = s;
	*n = hit ? (size_t)(hit - s) : (size_t)(end - s);
	input_pos = hit ? (size_t)(hit - input) + sizeof(sep) - 1 : input_len + 1;
	return 0;
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
	return 0;
}

void
http_client_free(struct http_client *c)
{
	(void)c;
}

void
http_response_init(struct http_response *resp, size_t max_body)
{
	resp->status = 0;
	resp->attempts = 0;
	resp->error[0] = '\0';
	buf_init(&resp->body, max_body);
	buf_init(&resp->headers, 64u << 10);
}

void
http_response_free(struct http_response *resp)
{
	buf_free(&resp->body);
	buf_free(&resp->headers);
}

long
http_backoff_sleep(struct http_client *c, int attempt)
{
	(void)c;
	(void)attempt;
	return 0;
}

static int
fail(const struct http_request *req, struct http_response *resp, int code, const char *why)
{
	char url[1024];
	http_redact(req->url, url, sizeof(url));
	str_fmt_clip(resp->error, sizeof(resp->error), "%s %s: %s (after %d attempts)", req->method,
	    url, why, resp->attempts);
	return code;
}

/* headers: "Name: value" lines up to a blank line, as curl gives them. */
static size_t
headers(const char *p, size_t n, struct http_response *resp)
{
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (p + i)) : n - i;
		size_t next = i + len + (nl != NULL);
		if (len == 0)
			return next;
		if (buf_append(&resp->headers, p + i, len) == -1 ||
		    buf_append(&resp->headers, "\r\n", 2) == -1)
			return n;
		i = next;
	}
	return n;
}

int
http_do(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	const char *p;
	size_t n;
	(void)c;
	calls++;
	if (getenv("FUZZ_HTTP_TRACE") != NULL) /* to write seeds: the calls in order */
		fprintf(stderr, "fake_http: %zu %s %s\n", calls, req->method, req->url);
	resp->status = 0;
	resp->attempts = 1;
	resp->error[0] = '\0';
	buf_reset(&resp->body);
	buf_reset(&resp->headers);
	if (req == NULL || req->method == NULL || req->url == NULL)
		abort(); /* the real one refuses; callers never do this */
	if (next_answer(&p, &n) == -1)
		return fail(req, resp, EX_UNAVAILABLE, "connection refused");
	resp->status = 200;
	if (n >= 4 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	    p[2] <= '9' && p[3] == '\n') {
		resp->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		char line[32];
		str_fmt_clip(line, sizeof(line), "HTTP/1.1 %ld\r\n", resp->status);
		(void)buf_puts(&resp->headers, line);
		size_t used = 4 + headers(p + 4, n - 4, resp);
		p += used;
		n -= used;
	}
	if (resp->status == 429 || resp->status >= 500)
		return fail(req, resp, EX_UNAVAILABLE, "server answered HTTP 5xx/429");
	if (req->on_data != NULL && resp->status >= 200 && resp->status <= 299) {
		/* In pieces, as curl delivers them. */
		for (size_t off = 0; off < n; off += 4096) {
			size_t k = n - off < 4096 ? n - off : 4096;
			int rc = req->on_data(req->on_data_ctx, p + off, k);
			if (rc != 0)
				return fail(req, resp, rc, "the receiver of the body stopped it");
		}
		return 0;
	}
	size_t limit = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	if (limit > resp->body.max)
		limit = resp->body.max;
	if (n > limit || buf_append(&resp->body, p, n) == -1)
		return fail(req, resp, EX_UNAVAILABLE, "response body too large");
	return 0;
}
