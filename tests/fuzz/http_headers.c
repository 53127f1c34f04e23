/*
 * http_headers.c: libFuzzer target for HTTP header handling in
 * libcommon: the response header callback and Retry-After reading
 * (http_xfer.c on_header, retry_after: static, reached by including the
 * file) fed the input line by line as libcurl would, and the -v trace
 * and redaction (http_trace.c http_trace_debug, http_redact) fed it as
 * headers in, headers out and curl's own text.  Checked: a secret
 * header's value never reaches the trace, no trace line carries a raw
 * control byte, and the collected headers never outgrow their limit.
 * Seeds: header blocks of the fakes' answers (tests/fakes).
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=http_headers scripts/fuzz 60
 */
#include "../../libcommon/http_xfer.c"

#include <stdlib.h>

#include "fuzz.h"

static const char *const extra_secrets[] = { "X-Api-Key", NULL };
static struct http_client client;
static size_t trace_lines;

/* trace: every line the tracer shows. */
static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	trace_lines++;
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	/* "< Name: value": a secret header shows its name only. */
	const char *name = line + 2, *colon = strchr(name, ':');
	if (strlen(line) > 2 && (line[0] == '<' || line[0] == '>') && colon != NULL &&
	    colon > name && strcspn(name, " \t") >= (size_t)(colon - name) &&
	    http_secret_header(&client, name, (size_t)(colon - name)) &&
	    strcmp(colon, ": [REDACTED]") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';

	/* libcurl's buffers end where they end, without a NUL: so does this one. */
	char *raw = malloc(size ? size : 1);
	if (raw == NULL)
		abort();
	memcpy(raw, data, size);

	/* The header callback, one line at a time with its line end. */
	struct http_response resp;
	struct xfer x;
	memset(&x, 0, sizeof(x));
	buf_init(&resp.body, 1024);
	buf_init(&resp.headers, 4096); /* small, so that the limit is met */
	x.resp = &resp;
	x.retry_after_ms = -1;
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(raw + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (raw + i)) + 1 : size - i;
		if (on_header(raw + i, 1, n, &x) != n)
			break;
		i += n;
	}
	if (resp.headers.len > resp.headers.max || x.retry_after_ms < -1)
		abort();
	buf_free(&resp.body);
	buf_free(&resp.headers);

	/* The trace, for each kind of block curl hands it. */
	static const curl_infotype kinds[] = { CURLINFO_HEADER_IN, CURLINFO_HEADER_OUT,
		CURLINFO_TEXT, CURLINFO_DATA_IN, CURLINFO_DATA_OUT };
	struct http_trace t;
	memset(&client, 0, sizeof(client));
	client.trace = trace;
	client.secret_headers = extra_secrets;
	http_trace_start(&t, &client);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		(void)http_trace_debug(NULL, kinds[i], raw, size, &t);
	http_trace_flush(&t);
	http_trace_msg(&client, "GET %s", copy);

	/* Redaction into a buffer of every small size, and a large one. */
	char out[300];
	for (size_t n = 0; n <= 8; n++) {
		memset(out, 'X', sizeof(out));
		http_redact(copy, out, n);
		if (n > 0 && memchr(out, '\0', n) == NULL)
			abort();
		if (out[n] != 'X')
			abort(); /* wrote past the size it was given */
	}
	http_redact(copy, out, sizeof(out));
	free(copy);
	free(raw);
	return 0;
}
