/* imds.c: IMDSv2 token, metadata items, role credentials, region. */
#include "imds.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exits.h"

int
imds_init(struct imds *m, char *err, size_t errsize)
{
	memset(m, 0, sizeof(*m));
	const char *off = getenv("AWS_EC2_METADATA_DISABLED");
	m->disabled = off != NULL && strcmp(off, "true") == 0;
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (ep == NULL || *ep == '\0')
		ep = "http://169.254.169.254";
	size_t n = strlen(ep);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	if (n >= sizeof(m->endpoint)) {
		str_fmt_clip(err, errsize, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
		return EX_CONFIG;
	}
	memcpy(m->endpoint, ep, n);
	m->endpoint[n] = '\0';
	int r = http_client_init(&m->http);
	if (r != 0) {
		str_fmt_clip(err, errsize, "cannot set up HTTP for instance metadata");
		return r;
	}
	/* Off EC2 nothing answers: fail fast rather than stall the chain. */
	m->http.connect_timeout_ms = 1000;
	m->http.timeout_ms = 5000;
	m->http.max_attempts = 2;
	m->http.backoff_base_ms = 100;
	m->http.backoff_cap_ms = 500;
	return 0;
}

void
imds_free(struct imds *m)
{
	http_client_free(&m->http);
	secure_wipe(m->token, sizeof(m->token));
}

/* fetch: one request to IMDS into out; 0, or EX_* with err set. */
static int
fetch(struct imds *m, const char *method, const char *path, const struct http_header *h,
    size_t nh, struct buf *out, char *err, size_t errsize)
{
	char url[512];
	if (str_fmt(url, sizeof(url), "%s%s", m->endpoint, path) == -1) {
		str_fmt_clip(err, errsize, "instance metadata path too long");
		return EX_SOFTWARE;
	}
	struct http_request req = { .method = method, .url = url, .headers = h, .nheaders = nh,
		.max_response = 64 * 1024 };
	struct http_response resp;
	http_response_init(&resp, 64 * 1024);
	int r = http_do(&m->http, &req, &resp);
	if (r != 0) {
		str_fmt_clip(err, errsize, "instance metadata: %s", resp.error);
	} else if (resp.status == 404) {
		str_fmt_clip(err, errsize, "instance metadata: %s %s: not found", method, path);
		r = EX_NOINPUT;
	} else if (resp.status == 401 || resp.status == 403) {
		str_fmt_clip(err, errsize, "instance metadata: %s %s: refused (HTTP %ld)", method, path, resp.status);
		r = EX_NOPERM;
	} else if (resp.status != 200) {
		str_fmt_clip(err, errsize, "instance metadata: %s %s: HTTP %ld", method, path, resp.status);
		r = EX_UNAVAILABLE;
	} else if (buf_append(out, resp.body.data ? resp.body.data : "", resp.body.len) == -1) {
		str_fmt_clip(err, errsize, "instance metadata: %s: answer too large", path);
		r = EX_UNAVAILABLE;
	}
	http_response_free(&resp);
	return r;
}

/* ensure_token: a session token valid for at least another minute. */
static int
ensure_token(struct imds *m, char *err, size_t errsize)
{
	if (m->disabled) {
		str_fmt_clip(err, errsize, "instance metadata is disabled (AWS_EC2_METADATA_DISABLED=true)");
		return EX_UNAVAILABLE;
	}
	time_t now = time(NULL);
	if (m->token[0] && now + 60 < m->token_expiry)
		return 0;
	char ttl[16];
	str_fmt(ttl, sizeof(ttl), "%d", IMDS_TOKEN_TTL);
	struct http_header h[] = { { "X-aws-ec2-metadata-token-ttl-seconds", ttl } };
	struct buf tok;
	buf_init(&tok, sizeof(m->token) - 1);
	int r = fetch(m, "PUT", "/latest/api/token", h, 1, &tok, err, errsize);
	if (r == 0 && tok.len == 0) {
		str_fmt_clip(err, errsize, "instance metadata: empty session token");
		r = EX_UNAVAILABLE;
	}
	if (r == 0) {
		str_copy(m->token, sizeof(m->token), buf_str(&tok));
		m->token_expiry = now + IMDS_TOKEN_TTL;
	}
	buf_wipe(&tok);
	return r;
}

int
imds_get(struct imds *m, const char *path, struct buf *out, char *err, size_t errsize)
{
	int r = ensure_token(m, err, errsize);
	if (r != 0)
		return r;
	char full[300];
	if (str_fmt(full, sizeof(full), "/latest/meta-data/%s", path) == -1) {
		str_fmt_clip(err, errsize, "instance metadata path too long");
		return EX_SOFTWARE;
	}
	struct http_header h[] = { { "X-aws-ec2-metadata-token", m->token } };
	return fetch(m, "GET", full, h, 1, out, err, errsize);
}

/* parse_expiration: "2026-11-22T06:00:00Z" into a time_t, or 0. */
static time_t
parse_expiration(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return 0;
	return timegm(&tm);
}

/* role_credentials parses the credentials document into c. */
static int
role_credentials(const char *role, const struct buf *doc, struct aws_credentials *c,
    char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *j = json_loadb(doc->data ? doc->data : "", doc->len, 0, &jerr);
	const char *code = NULL, *id = NULL, *secret = NULL, *token = NULL, *exp = NULL;
	int r = EX_UNAVAILABLE;
	if (j == NULL || json_unpack(j, "{s?s, s:s, s:s, s?s, s?s}", "Code", &code,
			     "AccessKeyId", &id, "SecretAccessKey", &secret, "Token", &token,
			     "Expiration", &exp) != 0) {
		str_fmt_clip(err, errsize, "instance metadata: role %s: malformed credentials document", role);
	} else if (code != NULL && strcmp(code, "Success") != 0) {
		str_fmt_clip(err, errsize, "instance metadata: role %s: credentials not available (%s)", role, code);
	} else if (str_copy(c->access_key_id, sizeof(c->access_key_id), id) == -1 ||
	    str_copy(c->secret_access_key, sizeof(c->secret_access_key), secret) == -1 ||
	    str_copy(c->session_token, sizeof(c->session_token), token ? token : "") == -1) {
		str_fmt_clip(err, errsize, "instance metadata: role %s: credentials too long", role);
	} else {
		c->expiration = exp ? parse_expiration(exp) : 0;
		c->source = AWS_CRED_IMDS;
		str_fmt_clip(c->detail, sizeof(c->detail), "instance role %s", role);
		r = 0;
	}
	if (j != NULL) {
		/* The document held the secret too: wipe jansson's copies. */
		if (secret != NULL)
			secure_wipe((char *)secret, strlen(secret));
		if (token != NULL)
			secure_wipe((char *)token, strlen(token));
		json_decref(j);
	}
	return r;
}

int
imds_credentials(struct imds *m, struct aws_credentials *c, char *err, size_t errsize)
{
	struct buf role, doc;
	char path[256];
	memset(c, 0, sizeof(*c));
	buf_init(&role, 200);
	buf_init(&doc, 16 * 1024);
	int r = imds_get(m, "iam/security-credentials/", &role, err, errsize);
	if (r == 0) {
		/* The listing may name several roles, one per line: take the first. */
		char *nl = strchr(role.data ? role.data : "", '\n');
		if (nl)
			*nl = '\0';
		if (buf_str(&role)[0] == '\0') {
			str_fmt_clip(err, errsize, "instance metadata: this instance has no IAM role");
			r = EX_NOPERM;
		}
	}
	if (r == 0 && str_fmt(path, sizeof(path), "iam/security-credentials/%s", buf_str(&role)) == -1) {
		str_fmt_clip(err, errsize, "instance metadata: role name too long");
		r = EX_UNAVAILABLE;
	}
	if (r == 0)
		r = imds_get(m, path, &doc, err, errsize);
	if (r == 0)
		r = role_credentials(buf_str(&role), &doc, c, err, errsize);
	buf_free(&role);
	buf_wipe(&doc);
	if (r != 0)
		aws_credentials_wipe(c);
	return r;
}

int
imds_region(struct imds *m, char *out, size_t outsize, char *err, size_t errsize)
{
	struct buf b;
	buf_init(&b, AWS_REGION_MAX);
	int r = imds_get(m, "placement/region", &b, err, errsize);
	if (r == 0 && (b.len == 0 || str_copy(out, outsize, buf_str(&b)) == -1)) {
		str_fmt_clip(err, errsize, "instance metadata: bad region");
		r = EX_UNAVAILABLE;
	}
	buf_free(&b);
	return r;
}
