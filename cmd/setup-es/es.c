/*
 * es.c: setup-es's side of the Elasticsearch REST conversation.  Every
 * request goes through es_call (JSON in, JSON out, basic auth); every
 * failure ends in es_fail, which names the request, the server's own error
 * type and reason, and picks the exit code from what went wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "duration.h"
#include "exits.h"
#include "setup-es.h"

#define REPLY_MAX (8u << 20)

int
es_call(struct es *es, const char *method, const char *path, json_t *body,
    struct es_reply *r)
{
	char url[ES_URL_MAX + 512];
	struct http_header hdrs[3];
	size_t nh = 0;
	char *text = NULL;
	int rc;

	r->json = NULL;
	http_response_init(&r->rs, REPLY_MAX);
	if (str_fmt(url, sizeof(url), "%s%s", es->base, path) == -1) {
		str_copy(r->rs.error, sizeof(r->rs.error), "request URL too long");
		return EX_SOFTWARE;
	}
	hdrs[nh++] = (struct http_header){ "Accept", "application/json" };
	if (es->auth[0])
		hdrs[nh++] = (struct http_header){ "Authorization", es->auth };
	struct http_request rq = { .method = method, .url = url, .headers = hdrs };
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			str_copy(r->rs.error, sizeof(r->rs.error), "out of memory");
			return EX_SOFTWARE;
		}
		hdrs[nh++] = (struct http_header){ "Content-Type", "application/json" };
		rq.body = (struct http_body){ .kind = HTTP_BODY_MEM, .data = text,
			.len = strlen(text) };
	}
	rq.nheaders = nh;
	rc = http_do(&es->http, &rq, &r->rs);
	free(text);
	if (rc == 0)
		log_debug(es->lg, "%s %s%s: HTTP %ld", method, es->base, path, r->rs.status);
	/* Keep the body of a failed answer too: it says why. */
	if (r->rs.body.len > 0 && strcmp(method, "HEAD") != 0)
		r->json = json_loadb(r->rs.body.data, r->rs.body.len, 0, NULL);
	return rc;
}

void
es_reply_free(struct es_reply *r)
{
	json_decref(r->json);
	r->json = NULL;
	http_response_free(&r->rs);
}

/* es_reason: "type: reason" from Elasticsearch's error shape, or "". */
static void
es_reason(const json_t *j, char *out, size_t n)
{
	const json_t *e = json_object_get(j, "error");
	out[0] = '\0';
	if (json_is_string(e)) {
		str_fmt_clip(out, n, "%s", json_string_value(e));
		return;
	}
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *reason = json_string_value(json_object_get(e, "reason"));
	const json_t *cause = json_object_get(e, "caused_by");
	const char *why = json_string_value(json_object_get(cause, "reason"));
	if (type == NULL && reason == NULL)
		return;
	str_fmt_clip(out, n, "%s: %s%s%s", type ? type : "error", reason ? reason : "",
	    why ? "; caused by: " : "", why ? why : "");
}

/* What each answer means for the exit status (sysexits, see exits.h). */
static int
status_exit(long status)
{
	switch (status) {
	case 400: return EX_DATAERR;     /* the server refused our document */
	case 401:
	case 403: return EX_NOPERM;
	case 408: return EX_TEMPFAIL;
	default: return EX_UNAVAILABLE;
	}
}

/* content_type: the answer's Content-Type value, for a line (or "no type"). */
static void
content_type(const struct http_response *rs, char *out, size_t n)
{
	str_fmt_clip(out, n, "no type");
	for (const char *p = buf_str(&rs->headers); *p;) {
		size_t len = strcspn(p, "\r\n");
		if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
			const char *v = p + 13;
			while (*v == ' ')
				v++;
			str_fmt_clip(out, n, "%.*s", (int)(len - (size_t)(v - p)), v);
			return;
		}
		p += len;
		p += strspn(p, "\r\n");
	}
}

void
es_fail(struct es *es, const char *method, const char *path, struct es_reply *r, int rc)
{
	char why[600];
	es_reason(r->json, why, sizeof(why));
	const char *hint = "";
	if (r->rs.status == 401)
		hint = "; check the user (--user, ES_USER) and password (--password-file, "
		       "ES_PASSWORD)";
	else if (r->rs.status == 403)
		hint = "; the user needs the manage_index_templates, manage and "
		       "create_snapshot privileges";
	if (rc != 0) {
		/* http_do's own line already names method and URL. */
		log_error(es->lg, "%s%s%s", r->rs.error, why[0] ? ": " : "", why);
		es_reply_free(r);
		exit(rc);
	}
	if (r->rs.status >= 200 && r->rs.status <= 299) {
		/* A success whose body is not what Elasticsearch sends: a proxy's
		   page, or JSON garbled or cut on the way.  Not retried. */
		char type[64];
		content_type(&r->rs, type, sizeof(type));
		log_error(es->lg, "%s %s%s: HTTP %ld, but the answer (%s, %zu bytes) is %s; is "
		    "--url Elasticsearch, with no proxy in between that changes answers?", method,
		    es->base, path, r->rs.status, type, r->rs.body.len,
		    r->json == NULL ? "not JSON" : "not the JSON Elasticsearch sends");
		es_reply_free(r);
		exit(EX_UNAVAILABLE);
	}
	log_error(es->lg, "%s %s%s: HTTP %ld%s%s%s", method, es->base, path, r->rs.status,
	    why[0] ? " " : "", why, hint);
	rc = status_exit(r->rs.status);
	es_reply_free(r);
	exit(rc);
}

/*
 * es_get: the JSON of GET path; NULL with *found false on 404 (the caller
 * decides what missing means); anything else but 200 is fatal.
 */
json_t *
es_get(struct es *es, const char *path, bool *found)
{
	struct es_reply r;
	int rc = es_call(es, "GET", path, NULL, &r);
	if (rc == 0 && r.rs.status == 404) {
		*found = false;
		es_reply_free(&r);
		return NULL;
	}
	if (rc != 0 || r.rs.status != 200 || r.json == NULL)
		es_fail(es, "GET", path, &r, rc);
	json_t *j = json_incref(r.json);
	es_reply_free(&r);
	*found = true;
	return j;
}

/*
 * es_write makes one change, or under --dry-run prints it instead, in the
 * console form (METHOD /path, then the body on one line) that Kibana's
 * Dev Tools and curl users read.
 */
void
es_write(struct es *es, const char *method, const char *path, json_t *body,
    const char *verb, const char *what)
{
	static const char *const past[][2] = { { "create", "created" },
		{ "update", "updated" }, { "point", "pointed" }, { "register", "registered" },
		{ "re-register", "re-registered" } };
	const char *done = verb;
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++)
		if (strcmp(verb, past[i][0]) == 0)
			done = past[i][1];
	es->changes++;
	if (es->dry_run) {
		char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		if ((body && text == NULL) ||
		    buf_printf(es->plan, "%s %s\n%s%s\n", method, path, text ? text : "",
			text ? "\n" : "") == -1)
			log_die(es->lg, EX_SOFTWARE, "out of memory for the dry-run plan");
		free(text);
		log_info(es->lg, "dry run: would %s %s", verb, what);
		return;
	}
	struct es_reply r;
	int rc = es_call(es, method, path, body, &r);
	if (rc != 0 || r.rs.status < 200 || r.rs.status > 299)
		es_fail(es, method, path, &r, rc);
	es_reply_free(&r);
	log_info(es->lg, "%s %s", done, what);
}

void
es_detect_version(struct es *es)
{
	bool found;
	json_t *root = es_get(es, "/", &found);
	const char *v = json_string_value(json_object_get(json_object_get(root, "version"),
	    "number"));
	const char *tagline = json_string_value(json_object_get(root, "tagline"));
	if (!found || v == NULL || tagline == NULL ||
	    strcmp(tagline, "You Know, for Search") != 0 ||
	    sscanf(v, "%d.%d", &es->major, &es->minor) != 2)
		log_die(es->lg, EX_UNAVAILABLE, "GET %s/: not an Elasticsearch server (no "
		    "version.number or tagline in its answer)", es->base);
	str_fmt_clip(es->version, sizeof(es->version), "%s", v);
	json_decref(root);
	/* include_type_name=false, which typeless mappings need, came in 6.7. */
	if (es->major < 6 || (es->major == 6 && es->minor < 7))
		log_die(es->lg, EX_UNAVAILABLE, "%s runs Elasticsearch %s; setup-es needs 6.7 "
		    "or later", es->base, es->version);
	log_debug(es->lg, "%s runs Elasticsearch %s: %s index templates", es->base,
	    es->version, es_composable(es) ? "composable (_index_template)" :
	    "legacy (_template)");
}

/* Composable index templates (_index_template) exist from 7.8 on. */
bool
es_composable(const struct es *es)
{
	return es->major > 7 || (es->major == 7 && es->minor >= 8);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * server_wait: wait_s, or less when SOCORRO_HTTP_TIMEOUT would end the
 * request before the server answers: each attempt must outlast the wait
 * it asks for (by 1 s), or a cluster slow to turn yellow looks like a
 * server that does not answer.
 */
static long
server_wait(long wait_s)
{
	const char *v = getenv("SOCORRO_HTTP_TIMEOUT");
	long limit;
	if (v == NULL || *v == '\0' || duration_parse(v, &limit) == -1)
		return wait_s; /* unset; or malformed, and http_do says so */
	return wait_s < limit - 1 ? wait_s : limit > 1 ? limit - 1 : 0;
}

/* health_once asks for want, waiting up to wait_s on the server; the status. */
static const char *
health_once(struct es *es, const char *want, long wait_s, char *status, size_t n)
{
	char path[128];
	struct es_reply r;
	wait_s = server_wait(wait_s);
	str_fmt_clip(path, sizeof(path), "/_cluster/health?wait_for_status=%s&timeout=%lds",
	    want, wait_s);
	/* The server holds the answer up to wait_s: give the request that long more. */
	long saved = es->http.timeout_ms;
	es->http.timeout_ms = saved + wait_s * 1000;
	int rc = es_call(es, "GET", path, NULL, &r);
	es->http.timeout_ms = saved;
	/* 408: the server's own wait ran out; the body still has the status. */
	if (rc != 0 || (r.rs.status != 200 && r.rs.status != 408))
		es_fail(es, "GET", path, &r, rc);
	const char *s = json_string_value(json_object_get(r.json, "status"));
	if (s == NULL)
		es_fail(es, "GET", path, &r, rc);
	str_fmt_clip(status, n, "%s", s);
	es_reply_free(&r);
	return status;
}

static int
rank(const char *status)
{
	return strcmp(status, "green") == 0 ? 2 : strcmp(status, "yellow") == 0 ? 1 : 0;
}

/*
 * es_wait_health waits until the cluster is at least want ("yellow"), for
 * at most wait_s seconds, in server-side waits of up to 30 s each so that
 * progress shows.  Under --dry-run it only looks.  Exit 75 when time runs out.
 */
void
es_wait_health(struct es *es, const char *want, long wait_s)
{
	char status[16];
	double deadline = now_s() + (double)wait_s;
	if (es->dry_run) {
		health_once(es, want, 0, status, sizeof(status));
		if (rank(status) < rank(want))
			log_warn(es->lg, "cluster health is %s; a real run would wait up to %lds "
			    "for %s", status, wait_s, want);
		return;
	}
	for (;;) {
		double left = deadline - now_s();
		/* Whole seconds, rounded up, at most 30 per request. */
		long chunk = left <= 0 ? 0 : left >= 30 ? 30 : (long)left + (left > (long)left);
		double asked = now_s();
		health_once(es, want, chunk, status, sizeof(status));
		if (rank(status) >= rank(want))
			break;
		left = deadline - now_s();
		if (left <= 0) {
			log_progress_end(es->lg);
			log_die(es->lg, EX_TEMPFAIL, "GET %s/_cluster/health: status still %s "
			    "after %lds (--wait); wanted %s: check the cluster's nodes and "
			    "unassigned shards", es->base, status, wait_s, want);
		}
		log_progress(es->lg, "cluster health is %s, waiting for %s (%.0fs left)",
		    status, want, left);
		/* A server that answers at once (no server-side wait) is not hammered. */
		if (now_s() - asked < 1.0) {
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
		}
	}
	log_progress_end(es->lg);
	log_debug(es->lg, "cluster health is %s", status);
}
