/*
 * broker.c: rabbit-init's side of the RabbitMQ management HTTP API: one
 * authenticated JSON call, the broker's refusals turned into exit codes
 * with its own reason, and the health checks run before any change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "exits.h"
#include "rabbit-init.h"

#define ANSWER_MAX (8u << 20)   /* /api/nodes of a big cluster stays well below */

/* http_trace: -vv shows each exchange; http.c already hid secrets. */
static void
http_trace(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "%s", line);
}

int
broker_init(struct broker *b, struct log *lg, const char *url, const char *admin_user,
    const char *admin_password, const char *cacert)
{
	struct buf cred, b64;
	size_t n;
	int rc;

	memset(b, 0, sizeof(*b));
	b->lg = lg;
	b->admin_user = admin_user;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		str_fmt_clip(b->error, sizeof(b->error), "--url %s: not an http:// or https:// URL",
		    url);
		return EX_USAGE;
	}
	/* user:password@ in a URL would sit in argv, visible to ps. */
	n = strcspn(strchr(url, ':') + 3, "/?#");
	if (memchr(strchr(url, ':') + 3, '@', n) != NULL) {
		str_copy(b->error, sizeof(b->error), "--url must not carry credentials "
		    "(they would show in ps): use --admin-user and --admin-password-file");
		return EX_USAGE;
	}
	if (str_copy(b->base, sizeof(b->base), url) == -1) {
		str_copy(b->error, sizeof(b->error), "--url is too long");
		return EX_USAGE;
	}
	for (n = strlen(b->base); n > 0 && b->base[n - 1] == '/'; n--)
		b->base[n - 1] = '\0';

	buf_init(&cred, 4096);
	buf_init(&b64, 8192);
	rc = buf_printf(&cred, "%s:%s", admin_user, admin_password) == 0 &&
	    base64_encode(&b64, cred.data, cred.len) == 0 &&
	    str_fmt(b->auth, sizeof(b->auth), "Basic %s", buf_str(&b64)) == 0 ? 0 : -1;
	buf_wipe(&cred);
	buf_wipe(&b64);
	if (rc == -1) {
		str_copy(b->error, sizeof(b->error), "admin user name and password are too long");
		return EX_USAGE;
	}
	log_add_secret(lg, b->auth + 6);

	if ((rc = http_client_init(&b->http)) != 0) {
		str_copy(b->error, sizeof(b->error), "cannot initialize libcurl");
		return rc;
	}
	b->http.ca_file = cacert;
	b->http.trace = http_trace;
	b->http.trace_ctx = lg;
	return 0;
}

void
broker_free(struct broker *b)
{
	http_client_free(&b->http);
	secure_wipe(b->auth, sizeof(b->auth));
}

int
path_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int r;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			r = buf_putc(out, (char)*p);
		else
			r = buf_putc(out, '%') == 0 && buf_putc(out, hex[*p >> 4]) == 0 &&
			    buf_putc(out, hex[*p & 15]) == 0 ? 0 : -1;
		if (r == -1)
			return -1;
	}
	return 0;
}

int
broker_call(struct broker *b, const char *method, const char *path, const json_t *body,
    struct answer *a)
{
	char url[RI_URL_MAX + 1024];
	struct http_header hd[3] = { { "Authorization", b->auth },
		{ "Accept", "application/json" }, { "Content-Type", "application/json" } };
	struct http_request rq = { .method = method, .url = url, .headers = hd, .nheaders = 2 };
	struct http_response rs;
	char *text = NULL;
	int rc;

	a->status = 0;
	a->json = NULL;
	if (str_fmt(url, sizeof(url), "%s/api/%s", b->base, path) == -1) {
		str_fmt_clip(b->error, sizeof(b->error), "%s/api/%s: URL too long", b->base, path);
		return EX_USAGE;
	}
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			str_copy(b->error, sizeof(b->error), "out of memory");
			return EX_SOFTWARE;
		}
		rq.nheaders = 3;
		rq.body = (struct http_body){ .kind = HTTP_BODY_MEM, .data = text,
			.len = strlen(text) };
	}
	http_response_init(&rs, ANSWER_MAX);
	rc = http_do(&b->http, &rq, &rs);
	b->no_answer = rs.status == 0;
	if (text != NULL) {
		/* A user's body holds a password hash: leave no copy behind. */
		secure_wipe(text, strlen(text));
		free(text);
	}
	/* A 5xx that outlived the retries is still the broker's answer, with its reason. */
	if (rc == EX_UNAVAILABLE && rs.status >= 500)
		rc = 0;
	if (rc != 0) {
		log_redact(b->lg, rs.error, b->error, sizeof(b->error));
	} else {
		a->status = rs.status;
		if (rs.body.len > 0)
			a->json = json_loadb(rs.body.data, rs.body.len, 0, NULL);
		log_debug(b->lg, "%s /api/%s: HTTP %ld", method, path, rs.status);
	}
	http_response_free(&rs);
	return rc;
}

/*
 * text_of: Erlang sends strings inside error terms as lists of character
 * codes ([109,105,...]); turn those back into JSON strings so a reason
 * like ["invalid_regexp",[40],[[109,...],1]] reads as text.  A new
 * reference.
 */
static json_t *
text_of(json_t *j)
{
	size_t i, n = json_array_size(j);
	json_t *e;
	char s[512];
	if (!json_is_array(j) || n == 0)
		return json_incref(j);
	for (i = 0; i < n && i < sizeof(s) - 1; i++) {
		json_int_t c = json_integer_value(json_array_get(j, i));
		if (!json_is_integer(json_array_get(j, i)) || c < 32 || c > 126)
			break;
		s[i] = (char)c;
	}
	if (i == n) {
		s[i] = '\0';
		return json_string(s);
	}
	json_t *out = json_array();
	json_array_foreach(j, i, e)
		json_array_append_new(out, text_of(e));
	return out;
}

/* reason_of writes the broker's "reason" (a string, or any JSON) into dst. */
static void
reason_of(const json_t *j, char *dst, size_t n)
{
	json_t *r = json_object_get(j, "reason");
	const char *s = json_string_value(r);
	if (s != NULL) {
		str_fmt_clip(dst, n, "%s", s);
	} else if (r != NULL) {
		json_t *t = text_of(r);
		char *d = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY);
		str_fmt_clip(dst, n, "%s", d ? d : "?");
		free(d);
		json_decref(t);
	} else {
		str_copy(dst, n, "no reason given");
	}
}

int
broker_refusal(struct broker *b, const char *method, const char *path, const struct answer *a)
{
	char reason[1024];
	reason_of(a->json, reason, sizeof(reason));
	if (a->status == 401 || a->status == 403) {
		str_fmt_clip(b->error, sizeof(b->error), "%s %s/api/%s: admin user \"%s\" refused "
		    "(HTTP %ld: %s); check --admin-user and the admin password", method, b->base,
		    path, b->admin_user, a->status, reason);
		return EX_NOPERM;
	}
	str_fmt_clip(b->error, sizeof(b->error), "%s %s/api/%s: the broker refused (HTTP %ld: %s)",
	    method, b->base, path, a->status, reason);
	return a->status == 400 ? EX_DATAERR : EX_UNAVAILABLE;
}

/* get: a GET that must answer 200; else the refusal. */
static int
get(struct broker *b, const char *path, struct answer *a)
{
	int rc = broker_call(b, "GET", path, NULL, a);
	if (rc != 0 || a->status == 200)
		return rc;
	rc = broker_refusal(b, "GET", path, a);
	json_decref(a->json);
	a->json = NULL;
	return rc;
}

/* str_of: o's string member key (o itself with key NULL), or "?". */
static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(key ? json_object_get(o, key) : o);
	return s ? s : "?";
}

/* check_overview: the API is there, the admin gets in, and is an administrator. */
static int
check_overview(struct broker *b)
{
	struct answer a;
	int rc = broker_call(b, "GET", "overview", NULL, &a);
	if (rc != 0)
		return rc;
	if (a.status == 401 || a.status == 403 || a.status >= 500) {
		rc = broker_refusal(b, "GET", "overview", &a);
		json_decref(a.json);
		return rc;
	}
	if (a.status != 200 || !json_is_object(a.json)) {
		json_decref(a.json);
		str_fmt_clip(b->error, sizeof(b->error), "%s/api/overview: HTTP %ld, not a "
		    "RabbitMQ management API (is --url the management port, 15672, with the "
		    "rabbitmq_management plugin enabled?)", b->base, a.status);
		return EX_CONFIG;
	}
	log_info(b->lg, "RabbitMQ %s (Erlang %s) at %s, cluster %s",
	    str_of(a.json, "rabbitmq_version"), str_of(a.json, "erlang_version"), b->base,
	    str_of(a.json, "cluster_name"));
	json_decref(a.json);

	if ((rc = get(b, "whoami", &a)) != 0)
		return rc;
	if (!json_is_object(a.json)) {
		/* A cut or garbled answer is not a missing tag: say what came. */
		json_decref(a.json);
		str_fmt_clip(b->error, sizeof(b->error), "GET %s/api/whoami: the answer is not a "
		    "JSON object", b->base);
		return EX_UNAVAILABLE;
	}
	/* tags: a list since 3.9, a comma-separated string before. */
	const json_t *tags = json_object_get(a.json, "tags");
	bool admin = false;
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
		admin = admin || strcmp(str_of(t, NULL), "administrator") == 0;
	if (json_is_string(tags))
		admin = strstr(json_string_value(tags), "administrator") != NULL;
	json_decref(a.json);
	if (!admin) {
		str_fmt_clip(b->error, sizeof(b->error), "%s: admin user \"%s\" lacks the "
		    "administrator tag, needed to create users and vhosts", b->base, b->admin_user);
		return EX_NOPERM;
	}
	return 0;
}

/*
 * check_health runs one of the /api/health/checks (3.8.10 and later; a
 * 404 means an older broker, and the check is skipped).
 */
static int
check_health(struct broker *b, const char *check, const char *what)
{
	char path[128], reason[1024];
	struct answer a;
	str_fmt(path, sizeof(path), "health/checks/%s", check);
	int rc = broker_call(b, "GET", path, NULL, &a);
	if (rc != 0)
		return rc;
	if (a.status == 404) {
		log_debug(b->lg, "%s: no %s check on this broker version", b->base, check);
	} else if (a.status == 503) {
		json_t *t = text_of(json_object_get(a.json, check));
		char *detail = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY);
		reason_of(a.json, reason, sizeof(reason));
		str_fmt_clip(b->error, sizeof(b->error), "%s/api/%s: %s: %s: %s", b->base, path,
		    what, reason, detail ? detail : "?");
		free(detail);
		json_decref(t);
		rc = EX_UNAVAILABLE;
	} else if (a.status != 200) {
		rc = broker_refusal(b, "GET", path, &a);
	}
	json_decref(a.json);
	return rc;
}

/* report_nodes logs the cluster's nodes, and warns of any not running. */
static int
report_nodes(struct broker *b)
{
	struct answer a;
	struct buf line;
	size_t i;
	json_t *n;
	int down = 0, rc = get(b, "nodes", &a);
	if (rc != 0)
		return rc;
	buf_init(&line, 64 << 10);
	json_array_foreach(a.json, i, n) {
		bool up = json_is_true(json_object_get(n, "running"));
		down += !up;
		if (buf_printf(&line, "%s%s (%s)", i ? ", " : "", str_of(n, "name"),
		    up ? "running" : "NOT RUNNING") == -1)
			break;
	}
	log_info(b->lg, "cluster nodes: %s", buf_str(&line));
	if (down > 0)
		log_warn(b->lg, "%d of %zu cluster nodes are not running", down,
		    json_array_size(a.json));
	buf_free(&line);
	json_decref(a.json);
	return 0;
}

int
broker_health(struct broker *b)
{
	int rc;
	if ((rc = check_overview(b)) != 0)
		return rc;
	if ((rc = check_health(b, "alarms", "resource alarm in effect "
	    "(publishers are blocked until it clears)")) != 0)
		return rc;
	if ((rc = check_health(b, "virtual-hosts", "virtual hosts not running")) != 0)
		return rc;
	return report_nodes(b);
}
