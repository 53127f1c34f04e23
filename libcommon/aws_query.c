/* aws_query.c: signed Query API calls, XML answers, AWS error shapes. */
#include "aws_query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exits.h"
#include "sigv4.h"

/* Error codes that mean "slow down", retried with backoff. */
static const char *const throttle_codes[] = { "Throttling", "ThrottlingException",
	"RequestLimitExceeded", "RequestThrottled", "TooManyRequestsException",
	"SlowDown", "PriorRequestNotComplete", NULL };
/* Error codes that mean the credentials or signature were refused. */
static const char *const auth_codes[] = { "AuthFailure", "UnauthorizedOperation",
	"SignatureDoesNotMatch", "InvalidClientTokenId", "MissingAuthenticationToken",
	"RequestExpired", "AccessDenied", "AccessDeniedException", "ExpiredToken",
	"OptInRequired", "IncompleteSignature", "InvalidAccessKeyId", NULL };

static bool
listed(const char *const *list, const char *code)
{
	for (; *list; list++)
		if (strcmp(*list, code) == 0)
			return true;
	return false;
}

int
aws_query_init(struct aws_query *q, struct aws_session *s, struct http_client *http,
    const char *env_name, const char *prefix, const char *service, const char *version,
    char *err, size_t errsize)
{
	memset(q, 0, sizeof(*q));
	q->session = s;
	q->http = http;
	q->service = service;
	q->version = version;
	q->max_attempts = 6;
	if (aws_endpoint(env_name, prefix, s->region, q->endpoint, sizeof(q->endpoint)) == -1) {
		str_fmt_clip(err, errsize, "%s endpoint URL too long", service);
		return EX_CONFIG;
	}
	const char *h = strstr(q->endpoint, "://");
	if (h == NULL || (strncmp(q->endpoint, "http://", 7) && strncmp(q->endpoint, "https://", 8))) {
		str_fmt_clip(err, errsize, "%s endpoint %s: not an http:// or https:// URL", service,
		    q->endpoint);
		return EX_CONFIG;
	}
	h += 3;
	size_t n = strcspn(h, "/?#");
	if (n == 0 || n >= sizeof(q->host) || strchr(h, '@') != NULL) {
		str_fmt_clip(err, errsize, "%s endpoint %s: bad host", service, q->endpoint);
		return EX_CONFIG;
	}
	memcpy(q->host, h, n);
	q->host[n] = '\0';
	return 0;
}

void
aws_params_init(struct aws_params *p)
{
	buf_init(&p->body, AWS_QUERY_BODY_MAX);
	p->failed = false;
}

void
aws_params_add(struct aws_params *p, const char *key, const char *value)
{
	if (p->failed)
		return;
	if ((p->body.len > 0 && buf_putc(&p->body, '&') == -1) ||
	    sigv4_uri_encode(&p->body, key, 1) == -1 || buf_putc(&p->body, '=') == -1 ||
	    sigv4_uri_encode(&p->body, value, 1) == -1)
		p->failed = true;
}

void
aws_params_addf(struct aws_params *p, const char *key, const char *fmt, ...)
{
	struct buf v;
	buf_init(&v, AWS_QUERY_BODY_MAX);
	va_list ap;
	va_start(ap, fmt);
	if (buf_vprintf(&v, fmt, ap) == -1)
		p->failed = true;
	va_end(ap);
	aws_params_add(p, key, buf_str(&v));
	buf_free(&v);
}

void
aws_params_free(struct aws_params *p)
{
	buf_free(&p->body);
}

/* server_date: the Date header of the answer as a time_t, or 0. */
static time_t
server_date(const struct buf *headers)
{
	for (const char *p = buf_str(headers); p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, "Date:", 5) != 0)
			continue;
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *v = p + 5;
		while (*v == ' ')
			v++;
		if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
			return 0;
		return timegm(&tm);
	}
	return 0;
}

/* describe_error fills e from an error answer and returns its EX_* code. */
static int
describe_error(const struct aws_query *q, const char *action, const struct http_response *resp,
    struct aws_error *e)
{
	struct xml_doc doc;
	e->status = resp->status;
	if (xml_parse(&doc, buf_str(&resp->body), resp->body.len) == 0) {
		const char *code = xml_text(xml_find(doc.root, "Error"), "Code");
		const char *msg = xml_text(xml_find(doc.root, "Error"), "Message");
		const struct xml_node *rid = xml_find(doc.root, "RequestID");
		if (rid == NULL)
			rid = xml_find(doc.root, "RequestId");
		str_copy(e->code, sizeof(e->code), code ? code : "");
		str_copy(e->message, sizeof(e->message), msg ? msg : "");
		str_copy(e->request_id, sizeof(e->request_id), rid ? rid->text : "");
		xml_free(&doc);
	}
	int r = resp->status >= 500 ? EX_UNAVAILABLE : EX_DATAERR;
	if (listed(auth_codes, e->code) || resp->status == 401 || resp->status == 403)
		r = EX_NOPERM;
	if (listed(throttle_codes, e->code))
		r = EX_UNAVAILABLE;
	char hint[200] = "";
	time_t theirs = server_date(&resp->headers);
	long skew = theirs ? (long)(time(NULL) - theirs) : 0;
	if (r == EX_NOPERM && (skew > 240 || skew < -240))
		str_fmt_clip(hint, sizeof(hint), "; the local clock is %ld s %s AWS's: fix it (NTP) and retry",
		    skew > 0 ? skew : -skew, skew > 0 ? "ahead of" : "behind");
	else if (strcmp(e->code, "SignatureDoesNotMatch") == 0)
		str_copy(hint, sizeof(hint), "; check AWS_SECRET_ACCESS_KEY");
	str_fmt_clip(e->text, sizeof(e->text), "%s %s: %s%s%s (HTTP %ld%s%s)%s", q->service, action,
	    e->code[0] ? e->code : "error", e->message[0] ? ": " : "", e->message, resp->status,
	    e->request_id[0] ? ", request " : "", e->request_id, hint);
	return r;
}

/* sign_and_send: one signed attempt.  0 if an answer came, else EX_*. */
static int
sign_and_send(struct aws_query *q, const struct buf *body, struct http_response *resp,
    char *err, size_t errsize)
{
	char hash[SIGV4_HEX_SIZE], url[300];
	sigv4_payload_hash(body->data ? body->data : "", body->len, hash);
	static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
	struct sigv4_header signed_h[] = { { "Content-Type", ctype } };
	struct sigv4_request sr = { .method = "POST", .host = q->host, .path = "/",
		.headers = signed_h, .nheaders = 1, .when = time(NULL),
		.region = q->session->region, .service = q->service, .payload_hash = hash,
		.flags = SIGV4_NORMALIZE_PATH };
	struct sigv4_auth auth;
	int r = aws_session_refresh(q->session, err, errsize);
	if (r != 0)
		return r;
	const struct aws_credentials *c = &q->session->cred;
	struct sigv4_credentials sc = { c->access_key_id, c->secret_access_key,
		c->session_token[0] ? c->session_token : NULL };
	if (sigv4_sign_headers(&sr, &sc, &auth, NULL) != 0) {
		str_fmt_clip(err, errsize, "%s: cannot sign the request", q->service);
		return EX_SOFTWARE;
	}
	struct http_header h[2 + SIGV4_ADD_MAX];
	size_t nh = 0;
	h[nh++] = (struct http_header){ "Host", q->host };
	h[nh++] = (struct http_header){ "Content-Type", ctype };
	for (size_t i = 0; i < auth.nheaders; i++)
		h[nh++] = (struct http_header){ auth.headers[i].name, auth.headers[i].value };
	str_fmt(url, sizeof(url), "%s/", q->endpoint);
	struct http_request req = { .method = "POST", .url = url, .headers = h, .nheaders = nh,
		.body = { .kind = HTTP_BODY_MEM, .data = body->data ? body->data : "", .len = body->len } };
	q->calls++;
	r = http_do(q->http, &req, resp);
	secure_wipe(&auth, sizeof(auth));
	if (r != 0)
		str_copy(err, errsize, resp->error);
	return r;
}

int
aws_query_call(struct aws_query *q, const char *action, const struct aws_params *p,
    struct xml_doc *out, struct aws_error *e)
{
	memset(e, 0, sizeof(*e));
	memset(out, 0, sizeof(*out));
	struct buf body;
	buf_init(&body, AWS_QUERY_BODY_MAX + 128);
	if (p->failed || buf_printf(&body, "Action=%s&Version=%s%s%s", action, q->version,
			     p->body.len ? "&" : "", buf_str(&p->body)) == -1) {
		str_fmt_clip(e->text, sizeof(e->text), "%s %s: request parameters too large", q->service, action);
		buf_free(&body);
		return EX_SOFTWARE;
	}
	struct http_response resp;
	http_response_init(&resp, 64u << 20);
	int r = EX_UNAVAILABLE;
	for (int attempt = 1; attempt <= q->max_attempts; attempt++) {
		char err[HTTP_ERROR_MAX];
		r = sign_and_send(q, &body, &resp, err, sizeof(err));
		if (r != 0 && resp.status >= 500 && resp.body.len > 0) {
			/* The HTTP client spent its retries on 5xx: name AWS's code. */
			describe_error(q, action, &resp, e);
			str_fmt_clip(e->text, sizeof(e->text), "%s %s: %s%s%s (HTTP %ld after %d attempts)",
			    q->service, action, e->code[0] ? e->code : "server error",
			    e->message[0] ? ": " : "", e->message, resp.status, resp.attempts);
			break;
		}
		if (r != 0) {
			e->status = resp.status;
			str_fmt_clip(e->text, sizeof(e->text), "%s %s: %s", q->service, action, err);
			break;
		}
		if (resp.status == 200) {
			if (xml_parse(out, buf_str(&resp.body), resp.body.len) == -1) {
				str_fmt_clip(e->text, sizeof(e->text), "%s %s: malformed XML answer: %s",
				    q->service, action, out->error);
				r = EX_UNAVAILABLE;
			}
			break;
		}
		r = describe_error(q, action, &resp, e);
		if (!listed(throttle_codes, e->code) || attempt == q->max_attempts)
			break;
		http_backoff_sleep(q->http, attempt);
	}
	http_response_free(&resp);
	buf_free(&body);
	return r;
}
