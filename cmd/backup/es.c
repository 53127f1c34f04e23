/*
 * es.c: Elasticsearch snapshots.  The data stays in Elasticsearch's own
 * snapshot repository (fs or s3, registered by setup-es --snapshot-repo);
 * what backup stores is the record of the snapshot: its repository, name,
 * uuid, indices and shards, as GET _snapshot answers, with the usual
 * manifest beside it.
 *
 *   GET    /_snapshot/<repo>                      the repository exists
 *   PUT    /_snapshot/<repo>/<name>               start the snapshot
 *   GET    /_snapshot/<repo>/<name>/_status       until SUCCESS (progress:
 *                                                 shards done of total)
 *   GET    /_snapshot/<repo>/<name>               the record
 *   POST   /_snapshot/<repo>/<name>/_restore      restore, waiting for it
 *   DELETE /_snapshot/<repo>/<name>               retention, failed runs
 *   GET    /_snapshot/<repo>/_all                 list: is each one there?
 *
 * The snapshot is named like the object: elasticsearch-backup-<stamp>-
 * <host>.  Restore brings back the indices (with their aliases), not the
 * cluster's global state; an open index of the same name makes
 * Elasticsearch refuse: close or delete it first.
 *
 * Address and credentials as setup-es takes them: --url or ES_URL (else
 * http://127.0.0.1:9200), --user or ES_USER, the password from
 * --password-file or ES_PASSWORD.  The repository: --repo, else
 * ES_SNAPSHOT_REPO, else "backups".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "exits.h"

struct es {
	struct web w;
	struct buf pw;
	const char *repo;
	struct log *lg;
};

static int
es_open(struct es *e, const struct options *o, struct log *lg)
{
	const char *url = o->url ? o->url : getenv("ES_URL");
	const char *user = o->user ? o->user : getenv("ES_USER");
	memset(e, 0, sizeof(*e));
	e->lg = lg;
	buf_init(&e->pw, 4096);
	e->repo = o->repo ? o->repo : getenv("ES_SNAPSHOT_REPO");
	if (e->repo == NULL || *e->repo == '\0')
		e->repo = "backups";
	for (const char *p = e->repo; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._-", *p)) {
			log_error(lg, "--repo %s: use lowercase letters, digits, '.', '_', '-'", e->repo);
			return EX_USAGE;
		}
	int r = web_open(&e->w, "Elasticsearch", url && *url ? url : "http://127.0.0.1:9200",
	    "--url or ES_URL", o->cacert, lg);
	if (r != 0)
		return r;
	r = read_secret(lg, o->password_file, "ES_PASSWORD", &e->pw);
	if (r > 1)
		return r;
	if (user != NULL && *user != '\0') {
		if (r == 1) {
			log_error(lg, "Elasticsearch user %s has no password: give --password-file "
				      "FILE or ES_PASSWORD", user);
			return EX_USAGE;
		}
		return web_basic(&e->w, user, buf_str(&e->pw));
	}
	if (r == 0) {
		log_error(lg, "an Elasticsearch password was given but no user: --user or ES_USER");
		return EX_USAGE;
	}
	return 0;
}

static void
es_close(struct es *e)
{
	web_close(&e->w);
	buf_wipe(&e->pw);
}

/* call: one request; *doc gets a 2xx answer's JSON.  0 or an EX_* code. */
static int
call(struct es *e, const char *method, const char *path, const char *body, const char *what,
    json_t **doc, long *status)
{
	struct http_response rs;
	http_response_init(&rs, 64u << 20);
	int r = web_call(&e->w, method, path, body ? "application/json" : NULL, body,
	    body ? strlen(body) : 0, 64u << 20, &rs);
	if (status)
		*status = rs.status;
	if (r == 0 && (rs.status < 200 || rs.status > 299) && !(status && rs.status == 404))
		r = web_refused(&e->w, what, &rs);
	if (r == 0 && doc != NULL && rs.status < 300) {
		*doc = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, 0, NULL);
		if (*doc == NULL) {
			log_error(e->lg, "%s %s%s: the answer is not JSON", method, e->w.base, path);
			r = EX_UNAVAILABLE;
		}
	}
	http_response_free(&rs);
	return r;
}

static int
check_repo(struct es *e)
{
	char path[600];
	long status;
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s", e->repo);
	int r = call(e, "GET", path, NULL, "show the snapshot repository", NULL, &status);
	if (r == 0 && status == 404) {
		log_error(e->lg, "Elasticsearch at %s has no snapshot repository %s: register it "
				 "(setup-es --snapshot-repo %s ...) or name another with --repo",
		    e->w.base, e->repo, e->repo);
		return EX_CONFIG;
	}
	return r;
}

/* progress_of: "12 of 40 shards" from a _status answer; its state. */
static const char *
progress_of(json_t *doc, char *out, size_t outsize)
{
	json_t *s = json_array_get(json_object_get(doc, "snapshots"), 0);
	json_t *st = json_object_get(s, "shards_stats");
	str_fmt_clip(out, outsize, "%lld of %lld shards done",
	    (long long)json_integer_value(json_object_get(st, "done")),
	    (long long)json_integer_value(json_object_get(st, "total")));
	return json_string_value(json_object_get(s, "state"));
}

/* wait_done polls the snapshot's status until it ends or time runs out. */
static int
wait_done(struct es *e, const char *snap, long wait_s)
{
	char path[800], prog[100];
	struct timespec start, now;
	long delay_ms = 200;
	clock_gettime(CLOCK_MONOTONIC, &start);
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s/_status", e->repo, snap);
	for (;;) {
		json_t *doc = NULL;
		char state_buf[32];
		int r = call(e, "GET", path, NULL, "report the snapshot's status", &doc, NULL);
		const char *state = r == 0 ? progress_of(doc, prog, sizeof(prog)) : NULL;
		if (state != NULL) {
			str_fmt_clip(state_buf, sizeof(state_buf), "%s", state);
			state = state_buf;
		}
		if (r == 0 && state && strcmp(state, "SUCCESS") == 0) {
			log_progress_end(e->lg);
			log_info(e->lg, "elasticsearch: snapshot %s/%s: SUCCESS, %s", e->repo, snap,
			    prog);
			json_decref(doc);
			return 0;
		}
		if (r == 0 && (state == NULL || (strcmp(state, "STARTED") && strcmp(state,
		    "IN_PROGRESS") && strcmp(state, "INIT")))) {
			log_error(e->lg, "snapshot %s/%s ended %s (%s); it is deleted, nothing was "
					 "stored", e->repo, snap, state ? state : "in an unknown state", prog);
			r = EX_UNAVAILABLE;
		}
		json_decref(doc);
		if (r != 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited = (long)(now.tv_sec - start.tv_sec);
		if (waited >= wait_s) {
			log_error(e->lg, "snapshot %s/%s still %s after %ld s (--wait); it is deleted, "
					 "nothing was stored", e->repo, snap, state, waited);
			return EX_TEMPFAIL;
		}
		log_progress(e->lg, "elasticsearch: snapshot %s %s: %s (%ld s)", snap, state, prog,
		    waited);
		if (bk_interrupted)
			return EX_TEMPFAIL;
		nanosleep(&(struct timespec){ delay_ms / 1000, (delay_ms % 1000) * 1000000 }, NULL);
		delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
	}
}

static int
start_snapshot(struct es *e, struct job *j)
{
	char path[800];
	json_t *body = json_pack("{s:b}", "include_global_state", 1);
	if (j->o->indices)
		json_object_set_new(body, "indices", json_string(j->o->indices));
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s", e->repo, j->snapshot);
	int r = text ? call(e, "PUT", path, text, "start a snapshot", NULL, NULL) : EX_SOFTWARE;
	free(text);
	if (r == 0)
		log_info(j->lg, "elasticsearch: snapshot %s/%s started", e->repo, j->snapshot);
	return r;
}

/* record: GET the snapshot's description into j->mem and the source. */
static int
record(struct es *e, struct job *j)
{
	char path[800];
	json_t *doc = NULL;
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s", e->repo, j->snapshot);
	int r = call(e, "GET", path, NULL, "describe the snapshot", &doc, NULL);
	json_t *s = json_array_get(json_object_get(doc, "snapshots"), 0);
	if (r == 0 && !json_is_object(s)) {
		log_error(j->lg, "GET %s%s: no snapshot in the answer", e->w.base, path);
		r = EX_UNAVAILABLE;
	}
	json_t *rec = r == 0 ? json_pack("{s:s, s:O}", "repository", e->repo, "snapshot", s)
	                     : NULL;
	char *text = rec ? json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (r == 0 && (text == NULL || buf_puts(&j->mem, text) || buf_putc(&j->mem, '\n'))) {
		log_error(j->lg, "out of memory");
		r = EX_SOFTWARE;
	}
	if (r == 0) {
		const char *uuid = json_string_value(json_object_get(s, "uuid"));
		const char *ver = json_string_value(json_object_get(s, "version"));
		j->content = "elasticsearch-snapshot";
		j->source = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "url", e->w.base,
		    "repository", e->repo, "snapshot", j->snapshot, "uuid", uuid ? uuid : "",
		    "state", "SUCCESS", "indices",
		    (json_int_t)json_array_size(json_object_get(s, "indices")), "version",
		    ver ? ver : "");
	}
	free(text);
	json_decref(rec);
	json_decref(doc);
	return r;
}

int
es_backup(struct job *j)
{
	struct es e;
	for (char *p = j->snapshot; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int r = es_open(&e, j->o, j->lg);
	if (r == 0)
		r = check_repo(&e);
	if (r == 0) {
		r = start_snapshot(&e, j);
		if (r == 0)
			r = wait_done(&e, j->snapshot, j->o->wait_s);
		if (r == 0)
			r = record(&e, j);
		/* Also when starting it failed: what was lost may be only the
		 * answer, the snapshot made (and a retry then found its name
		 * taken).  The name is this run's own. */
		if (r != 0)
			es_discard(j);
	}
	es_close(&e);
	return r;
}

static int
delete_snapshot(struct es *e, const char *repo, const char *snap)
{
	char path[800];
	long status;
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s", repo, snap);
	int r = call(e, "DELETE", path, NULL, "delete a snapshot", NULL, &status);
	if (r == 0 && status != 404)
		log_info(e->lg, "elasticsearch: deleted snapshot %s/%s", repo, snap);
	return r;
}

void
es_discard(struct job *j)
{
	struct es e;
	if (j->snapshot[0] == '\0')
		return;
	if (es_open(&e, j->o, j->lg) == 0)
		delete_snapshot(&e, e.repo, j->snapshot);
	es_close(&e);
}

int
es_forget(struct job *j, const struct manifest *m)
{
	const char *repo = json_string_value(json_object_get(m->source, "repository"));
	const char *snap = json_string_value(json_object_get(m->source, "snapshot"));
	struct es e;
	if (repo == NULL || snap == NULL) {
		log_error(j->lg, "%s: the manifest names no snapshot", m->object);
		return EX_DATAERR;
	}
	int r = es_open(&e, j->o, j->lg);
	if (r == 0)
		r = delete_snapshot(&e, repo, snap);
	es_close(&e);
	return r;
}

int
es_states(struct job *j, json_t **out)
{
	struct es e;
	char path[600];
	json_t *doc = NULL, *s;
	size_t i;
	*out = json_object();
	int r = es_open(&e, j->o, j->lg);
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/_all", e.repo);
	if (r == 0)
		r = call(&e, "GET", path, NULL, "list the snapshots", &doc, NULL);
	json_array_foreach(json_object_get(doc, "snapshots"), i, s) {
		const char *name = json_string_value(json_object_get(s, "snapshot"));
		const char *state = json_string_value(json_object_get(s, "state"));
		if (name && state)
			json_object_set_new(*out, name, json_string(state));
	}
	json_decref(doc);
	es_close(&e);
	return r;
}

/* restore_body: which indices to restore, as JSON text. */
static char *
restore_body(const struct options *o, json_t *indices)
{
	json_t *b = json_pack("{s:b, s:b}", "include_global_state", 0, "include_aliases", 1);
	if (o->indices)
		json_object_set_new(b, "indices", json_string(o->indices));
	else
		json_object_set(b, "indices", indices);
	char *t = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(b);
	return t;
}

int
es_restore(struct job *j, const char *data, size_t n)
{
	json_t *doc = json_loadb(data, n, 0, NULL), *res = NULL;
	json_t *s = json_object_get(doc, "snapshot");
	const char *snap = json_string_value(json_object_get(s, "snapshot"));
	const char *repo = json_string_value(json_object_get(doc, "repository"));
	json_t *indices = json_object_get(s, "indices");
	struct es e;
	char path[800], *body = NULL;
	long status;
	if (snap == NULL || repo == NULL || !json_is_array(indices)) {
		log_error(j->lg, "the backup is not an Elasticsearch snapshot record");
		json_decref(doc);
		return EX_DATAERR;
	}
	int r = es_open(&e, j->o, j->lg);
	if (j->o->repo == NULL)
		e.repo = repo;
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s", e.repo, snap);
	if (r == 0)
		r = call(&e, "GET", path, NULL, "show the snapshot", NULL, &status);
	if (r == 0 && status == 404) {
		log_error(j->lg, "snapshot %s is not in repository %s at %s (deleted, or another "
				 "cluster's repository: register the same one there first)", snap, e.repo,
		    e.w.base);
		r = EX_NOINPUT;
	}
	if (r == 0 && (body = restore_body(j->o, indices)) == NULL)
		r = EX_SOFTWARE;
	if (r == 0 && j->o->dry_run) {
		buf_printf(j->out, "elasticsearch: would restore snapshot %s/%s: %s\n", e.repo, snap,
		    body);
	} else if (r == 0) {
		str_fmt_clip(path, sizeof(path), "/_snapshot/%s/%s/_restore?wait_for_completion=true",
		    e.repo, snap);
		e.w.http.timeout_ms = j->o->wait_s * 1000;
		r = call(&e, "POST", path, body, "restore the snapshot", &res, NULL);
	}
	json_t *sh = json_object_get(json_object_get(res, "snapshot"), "shards");
	json_int_t failed = json_integer_value(json_object_get(sh, "failed"));
	if (r == 0 && !j->o->dry_run && failed > 0) {
		log_error(j->lg, "snapshot %s/%s: %lld shards failed to restore", e.repo, snap,
		    (long long)failed);
		r = EX_UNAVAILABLE;
	} else if (r == 0 && !j->o->dry_run) {
		json_t *got = json_object_get(json_object_get(res, "snapshot"), "indices");
		buf_printf(j->out, "elasticsearch: restored snapshot %s/%s: %zu indices, %lld shards\n",
		    e.repo, snap, json_array_size(got),
		    (long long)json_integer_value(json_object_get(sh, "successful")));
	}
	free(body);
	json_decref(res);
	json_decref(doc);
	es_close(&e);
	return r;
}
