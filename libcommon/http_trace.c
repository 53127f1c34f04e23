/*
 * http_trace.c: what of an HTTP exchange may be shown.  Error text and -v
 * traces go to terminals and CI logs, so URLs lose their user:password@,
 * signed-URL and token query values are replaced, secret header values
 * are hidden and bodies are shown only as byte counts.
 */
#include "http_impl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define TRACE_LINE_MAX 2048

static const char *const secret_params[] = { "X-Amz-Signature", "X-Amz-Credential",
	"X-Amz-Security-Token", "token", "password", NULL };
static const char *const secret_headers[] = { "Authorization", "Proxy-Authorization",
	"X-Amz-Security-Token", "X-Consul-Token", "X-Vault-Token", "Cookie", "Set-Cookie",
	NULL };

/* A bounded writer: remembers that it ran out of room instead of overflowing. */
struct out {
	char *p;
	size_t size;
	size_t len;
	bool clipped;
};

static void
out_putc(struct out *o, char ch)
{
	if (o->len + 1 < o->size)
		o->p[o->len++] = ch;
	else
		o->clipped = true;
}

static void
out_put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out_putc(o, s[i]);
}

/* out_end terminates the text, ending a clipped one with "...". */
static void
out_end(struct out *o)
{
	if (o->size == 0)
		return;
	if (o->clipped && o->size >= 4) {
		if (o->len > o->size - 4)
			o->len = o->size - 4;
		memcpy(o->p + o->len, "...", 3);
		o->len += 3;
	}
	o->p[o->len] = '\0';
}

static bool
name_in(const char *const *list, const char *name, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncasecmp(*list, name, n) == 0)
			return true;
	return false;
}

/* span: how many of s[0..n) come before any byte of reject (strcspn, bounded). */
static size_t
span(const char *s, size_t n, const char *reject)
{
	size_t i = 0;
	while (i < n && s[i] != '\0' && strchr(reject, s[i]) == NULL)
		i++;
	return i;
}

/*
 * skip_userinfo: s[0..n) follows "://"; the length of a "user:pass@" that
 * starts it, or 0.  The last '@' before the path counts, so a password
 * holding a raw '@' is still removed whole.  Everything here is bounded
 * by n: libcurl's trace buffers do not end with a NUL.
 */
static size_t
skip_userinfo(const char *s, size_t n)
{
	size_t end = span(s, n, "/?# \t\r\n\"'<>");
	size_t at = 0;
	for (size_t i = 0; i < end; i++)
		if (s[i] == '@')
			at = i + 1;
	return at;
}

/*
 * redact_param: s[0..n) follows '?', '&' or ';'.  If a secret
 * parameter's "name=" starts there, writes "name=REDACTED" and returns how
 * much of s it stands for; else returns 0.
 */
static size_t
redact_param(struct out *o, const char *s, size_t n)
{
	size_t name = span(s, n, "=&#; \t\r\n");
	if (name == n || s[name] != '=' || !name_in(secret_params, s, name))
		return 0;
	size_t value = span(s + name + 1, n - name - 1, "&#; \t\r\n\"'");
	out_put(o, s, name + 1);
	out_put(o, "REDACTED", 8);
	return name + 1 + value;
}

static void
redact_into(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	while (i < n && s[i] != '\0') {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ':' && n - i >= 3 && memcmp(s + i, "://", 3) == 0) {
			out_put(o, "://", 3);
			i += 3;
			i += skip_userinfo(s + i, n - i);
		} else if (ch == '?' || ch == '&' || ch == ';') {
			out_putc(o, (char)ch);
			i++;
			i += redact_param(o, s + i, n - i);
		} else if (ch < 0x20 || ch == 0x7f) {
			char esc[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
			out_put(o, esc, 4);
			i++;
		} else {
			out_putc(o, (char)ch);
			i++;
		}
	}
}

void
http_redact(const char *text, char *dst, size_t dstsize)
{
	struct out o = { dst, dstsize, 0, false };
	redact_into(&o, text, strlen(text));
	out_end(&o);
}

int
http_secret_header(const struct http_client *c, const char *name, size_t namelen)
{
	if (name_in(secret_headers, name, namelen))
		return 1;
	return c->secret_headers != NULL && name_in(c->secret_headers, name, namelen);
}

static void
emit(const struct http_client *c, const char *line)
{
	c->trace(c->trace_ctx, line);
}

/*
 * trace_header_line shows one header line (no CR/LF) with prefix; a
 * secret header keeps its name and loses its value.
 */
static void
trace_header_line(const struct http_client *c, const char *prefix, const char *p, size_t n)
{
	char line[TRACE_LINE_MAX];
	struct out o = { line, sizeof(line), 0, false };
	size_t name = 0;
	out_put(&o, prefix, strlen(prefix));
	while (name < n && p[name] != ':' && p[name] != ' ' && p[name] != '\t')
		name++;
	if (name > 0 && name < n && p[name] == ':' && http_secret_header(c, p, name)) {
		redact_into(&o, p, name + 1);
		out_put(&o, " [REDACTED]", 11);
	} else {
		redact_into(&o, p, n);
	}
	out_end(&o);
	emit(c, line);
}

/* trace_block splits text at line ends and traces each non-empty line. */
static void
trace_block(const struct http_client *c, const char *prefix, const char *p, size_t n, bool headers)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '\r' && p[j] != '\n')
			j++;
		if (j > i) {
			if (headers) {
				trace_header_line(c, prefix, p + i, j - i);
			} else {
				char line[TRACE_LINE_MAX];
				struct out o = { line, sizeof(line), 0, false };
				out_put(&o, prefix, strlen(prefix));
				redact_into(&o, p + i, j - i);
				out_end(&o);
				emit(c, line);
			}
		}
		i = j + 1;
	}
}

void
http_trace_start(struct http_trace *t, const struct http_client *c)
{
	t->c = c;
	t->sent = 0;
	t->received = 0;
}

void
http_trace_msg(const struct http_client *c, const char *fmt, ...)
{
	char raw[TRACE_LINE_MAX], line[TRACE_LINE_MAX];
	va_list ap;
	if (c->trace == NULL)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(raw)) /* a cut line still helps; show the cut */
		memcpy(raw + sizeof(raw) - 4, "...", 4);
	struct out o = { line, sizeof(line), 0, false };
	out_put(&o, "* ", 2);
	redact_into(&o, raw, strlen(raw));
	out_end(&o);
	emit(c, line);
}

static void
flush_sent(struct http_trace *t)
{
	char line[64];
	if (t->sent == 0)
		return;
	str_fmt_clip(line, sizeof(line), "> [%zu bytes]", t->sent);
	emit(t->c, line);
	t->sent = 0;
}

void
http_trace_flush(struct http_trace *t)
{
	char line[64];
	if (t->c->trace == NULL)
		return;
	flush_sent(t);
	if (t->received > 0) {
		str_fmt_clip(line, sizeof(line), "< [%zu bytes]", t->received);
		emit(t->c, line);
		t->received = 0;
	}
}

int
http_trace_debug(CURL *h, curl_infotype type, char *p, size_t n, void *data)
{
	struct http_trace *t = data;
	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		trace_block(t->c, "* ", p, n, false);
		break;
	case CURLINFO_HEADER_OUT:
		trace_block(t->c, "> ", p, n, true);
		break;
	case CURLINFO_HEADER_IN:
		flush_sent(t); /* the request body went before the answer */
		trace_block(t->c, "< ", p, n, true);
		break;
	case CURLINFO_DATA_OUT:
		t->sent += n;
		break;
	case CURLINFO_DATA_IN:
		t->received += n;
		break;
	default: /* TLS records: nothing a reader can use */
		break;
	}
	return 0;
}
