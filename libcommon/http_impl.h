/*
 * http_impl.h: private to http.c, http_xfer.c and http_trace.c, the three
 * parts of the http module: retries (http.c), one libcurl transfer
 * (http_xfer.c), and what of it may be shown (http_trace.c).
 */
#ifndef SB_HTTP_IMPL_H
#define SB_HTTP_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "http.h"

/* Per-attempt trace state; body bytes are summed, never shown. */
struct http_trace {
	const struct http_client *c;
	size_t sent;      /* request body bytes not yet reported */
	size_t received;  /* response body bytes not yet reported */
};

/* One http_do call: what the curl callbacks need and what they found. */
struct xfer {
	struct http_client *c;
	const struct http_request *req;
	struct http_response *resp;
	CURL *h;
	struct curl_slist *hdrs;
	bool https;
	char url[1024];       /* req->url, redacted, for messages */
	char ca[PATH_MAX];    /* the CA bundle for https */
	off_t file_start;     /* HTTP_BODY_FILE: where the body starts */
	size_t mem_off;       /* HTTP_BODY_MEM: next byte to send */
	size_t limit;         /* resp->body may not grow past this */
	unsigned long long body_read;   /* this attempt, from the request body */
	unsigned long long delivered;   /* all attempts, to req->on_data */
	int sink_rc;          /* on_data's abort code */
	bool too_big, no_mem, headers_too_big, body_failed;
	long retry_after_ms;  /* -1: none */
	char errbuf[CURL_ERROR_SIZE];
	struct http_trace trace;
};

/* http_xfer.c */
bool http_sends_body(const struct http_request *req);
/* http_xfer_perform runs one attempt; resp->status is set if one came. */
CURLcode http_xfer_perform(struct xfer *x);
/* http_xfer_rewind puts the request body back at its start: 0 or -1. */
int http_xfer_rewind(struct xfer *x);

/* http_trace.c */
void http_trace_start(struct http_trace *t, const struct http_client *c);
/* http_trace_msg: one "* ..." line of our own (the text is redacted). */
void http_trace_msg(const struct http_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* http_trace_debug is the CURLOPT_DEBUGFUNCTION; data is a struct http_trace. */
int http_trace_debug(CURL *h, curl_infotype type, char *p, size_t n, void *data);
/* http_trace_flush reports the body byte counts not yet shown. */
void http_trace_flush(struct http_trace *t);

#endif
