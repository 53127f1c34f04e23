/*
 * http.h: the one HTTP client every networked command uses, a thin layer
 * over libcurl that adds what DESIGN.md asks of every network call:
 * timeouts, retries with capped exponential backoff and full jitter, TLS
 * verification that cannot be turned off, one reused connection per host,
 * and error text and traces that never show a secret.
 *
 *	struct http_client c;
 *	if ((rc = http_client_init(&c)) != 0)
 *		...
 *	c.ca_file = opt_cacert;                  // optional
 *	struct http_request rq = { .method = "GET", .url = url };
 *	struct http_response rs;
 *	http_response_init(&rs, 1 << 20);
 *	if ((rc = http_do(&c, &rq, &rs)) != 0)
 *		log_die(&lg, rc, "%s", rs.error);
 *	...                                      // rs.status, rs.body
 *	http_response_free(&rs);
 *	http_client_free(&c);
 *
 * Ownership: the caller owns the client, the request, the response and
 * everything they point to; http_do only borrows them for the call.  No
 * pointer given to http_do is kept after it returns, except the client's
 * own configuration fields (ca_file, ca_env_file, secret_headers, trace),
 * which must stay valid until http_client_free.
 *
 * Not thread-safe: http_client_init and http_client_free call
 * curl_global_init/curl_global_cleanup (reference counted by libcurl),
 * which must not race with any other thread using libcurl.  One client is
 * for one thread.
 *
 * TLS: verification of the peer and its host name is always on.  The CA
 * bundle is, in order: ca_file (a --cacert flag); ca_env_file (set from
 * SSL_CERT_FILE by http_client_init); the first readable of
 * HTTP_CA_BUNDLES.  libcurl built with BearSSL refuses https to a bare IP
 * address while verifying (BearSSL does not check IP SANs), so https URLs
 * must name a host.
 *
 * Proxies: libcurl's own handling of http_proxy/https_proxy/no_proxy is
 * kept, as every curl user expects it.
 *
 * SOCORRO_HTTP_TIMEOUT (a duration: "5s", "2m"), read by
 * http_client_init, replaces every attempt's time limit (and caps the
 * connect timeout), whatever the command chose: the operator's one knob
 * for a slow link or an impatient pipeline.  A malformed value makes every
 * http_do fail with EX_CONFIG and a line naming the variable.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"

#define HTTP_MAX_HOSTS 8                /* reused handles, one per host */
#define HTTP_DEFAULT_MAX_RESPONSE (16u << 20)
#define HTTP_ERROR_MAX 512

/* The CA bundles tried when none is given: Debian, RHEL/CentOS, Alpine, Fedora. */
#define HTTP_CA_BUNDLES                                                    \
	{ "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", \
		"/etc/ssl/cert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", NULL }

struct http_header {
	const char *name;
	const char *value;
};

enum http_body_kind { HTTP_BODY_NONE, HTTP_BODY_MEM, HTTP_BODY_FILE, HTTP_BODY_STREAM };

/*
 * A request body.  POST, PUT and PATCH with HTTP_BODY_NONE send an empty
 * body ("Content-Length: 0").  With size -1 the body is sent chunked.
 */
struct http_body {
	enum http_body_kind kind;
	const void *data;   /* MEM: len bytes */
	size_t len;
	FILE *file;         /* FILE: read from its current position, which is
	                       sought back to for a retry */
	/* STREAM: read returns bytes read, 0 at the end, (size_t)-1 on error. */
	size_t (*read)(void *ctx, char *buf, size_t n);
	/* STREAM: back to the start, 0 or -1.  NULL: once any byte was sent,
	   the request is not retried. */
	int (*rewind)(void *ctx);
	void *ctx;
	long long size;     /* FILE, STREAM: bytes, or -1 = unknown (chunked) */
};

struct http_request {
	const char *method;                /* "GET", "PUT", ... */
	const char *url;                   /* http:// or https:// */
	const struct http_header *headers; /* value NULL removes a default header */
	size_t nheaders;
	struct http_body body;
	size_t max_response;               /* resp->body limit; 0 = 16 MiB */
	/* Statuses to retry besides 429 and 5xx. */
	const long *retry_statuses;
	size_t nretry_statuses;
	/*
	 * Optional sink for the body of a 2xx response instead of
	 * resp->body (other statuses still fill resp->body, so the caller can
	 * report the server's error).  Returns 0 to go on, or non-zero (an
	 * EX_* code) to abort: http_do then returns that code.  Bytes given
	 * to the sink cannot be taken back, so once it received any, a failed
	 * attempt is not retried.  max_response does not apply to it.
	 */
	int (*on_data)(void *ctx, const char *p, size_t n);
	void *on_data_ctx;
};

struct http_response {
	long status;          /* of the last attempt; 0 if none answered */
	struct buf body;      /* reset by http_do at each attempt */
	struct buf headers;   /* raw header lines of the last response */
	int attempts;
	/* One line, set when http_do returns non-zero:
	   "GET http://host/path: <cause> (after N attempts)". */
	char error[HTTP_ERROR_MAX];
};

/* One reused easy handle (and so its connections) per scheme://host:port. */
struct http_slot {
	char key[256];
	void *curl;           /* CURL *, NULL when free */
	unsigned long used;   /* for least-recently-used eviction */
};

struct http_client {
	long connect_timeout_ms;  /* default 10000 */
	long timeout_ms;          /* whole attempt, default 60000 */
	int max_attempts;         /* default 4 */
	long backoff_base_ms;     /* default 200 */
	long backoff_cap_ms;      /* default 10000 */
	const char *ca_file;      /* --cacert, or NULL */
	const char *ca_env_file;  /* getenv("SSL_CERT_FILE") at init; may be reset */
	/* -v trace sink, NULL = off.  Each call gets one line, no newline;
	   secrets are already redacted (see below). */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;
	/* Extra header names (NULL-terminated) whose values traces hide,
	   besides Authorization, Proxy-Authorization, Cookie, Set-Cookie,
	   X-Amz-Security-Token, X-Consul-Token and X-Vault-Token. */
	const char *const *secret_headers;

	/* private */
	long env_timeout_ms;      /* SOCORRO_HTTP_TIMEOUT, 0 if unset */
	char env_error[96];       /* set when SOCORRO_HTTP_TIMEOUT is malformed */
	struct http_slot slots[HTTP_MAX_HOSTS];
	unsigned long clock;
	uint64_t rng;             /* jitter only, not for secrets */
};

/*
 * http_client_init sets the defaults above and initializes libcurl.
 * Returns 0, or EX_SOFTWARE if libcurl could not initialize.  Change the
 * public fields after it, before the first http_do.
 */
int http_client_init(struct http_client *c);
/* http_client_free closes every connection and releases libcurl. */
void http_client_free(struct http_client *c);

/* http_response_init/free: resp->body may grow to max_body, headers to 64 KiB. */
void http_response_init(struct http_response *resp, size_t max_body);
void http_response_free(struct http_response *resp);

/*
 * http_do performs req, retrying as needed.  Returns 0 when a final answer
 * arrived: any status that is not retryable (200, 404, 403, ...); check
 * resp->status.  Otherwise returns an EX_* code (exits.h) with resp->error
 * set:
 *   EX_UNAVAILABLE  connection refused or reset, DNS failure, empty or cut
 *                   reply, or a retryable status (resp->status) still
 *                   failing after max_attempts; a TLS failure (not retried:
 *                   unknown CA, wrong host name); a response body larger
 *                   than max_response (not retried)
 *   EX_TEMPFAIL     timed out, after the retries
 *   EX_CONFIG       https without any CA bundle, or an unreadable one
 *   EX_DATAERR      a malformed or non-http(s) URL
 *   EX_IOERR        the request body could not be read
 *   EX_SOFTWARE     bad arguments, out of memory
 *   or the code returned by on_data.
 * Retried: connection errors, resets, empty replies, cut bodies, timeouts,
 * 429, 5xx and req->retry_statuses; each after a sleep drawn uniformly from
 * [0, min(cap, base * 2^n)], or Retry-After seconds (429, 503) capped at
 * backoff_cap_ms.  Redirects are not followed.
 */
int http_do(struct http_client *c, const struct http_request *req,
    struct http_response *resp);

/*
 * http_backoff_sleep sleeps the jittered backoff that follows the
 * attempt-th failed attempt (1-based), as http_do does between its own
 * retries, for callers that retry on answers http_do cannot judge (an AWS
 * throttling error in a 400 body).  Returns the milliseconds slept.
 */
long http_backoff_sleep(struct http_client *c, int attempt);

/*
 * http_redact writes text to dst (size dstsize, clipped with "..." when
 * too long) with every URL's user:password@ removed, the values of the
 * query parameters X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
 * token and password replaced by "REDACTED", and control characters
 * escaped, so the result is one line safe for a log.
 */
void http_redact(const char *text, char *dst, size_t dstsize);

/* http_secret_header: true if traces must hide this header's value. */
int http_secret_header(const struct http_client *c, const char *name, size_t namelen);

#endif
