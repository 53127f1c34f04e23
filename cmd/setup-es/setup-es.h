/*
 * setup-es.h: what the files of setup-es share.  main.c tells the story;
 * es.c talks to the server; json.c loads, reshapes and compares the JSON
 * documents; steps.c holds the four steps (templates, indices, alias,
 * snapshot repository).
 */
#ifndef SETUP_ES_H
#define SETUP_ES_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "http.h"
#include "log.h"

#define ES_URL_MAX 1024
#define ES_NAME_MAX 256
#define ES_AUTH_MAX 1024

/* A connection to one Elasticsearch server, and what the run has done. */
struct es {
	struct http_client http;
	struct log *lg;
	char base[ES_URL_MAX];    /* http(s)://host:port[/prefix], no trailing / */
	char auth[ES_AUTH_MAX];   /* "Basic ..." or ""; a secret */
	char version[32];         /* "7.17.9", from GET / */
	int major, minor;
	bool dry_run;
	int changes;              /* writes made, or printed under --dry-run */
	struct buf *plan;         /* --dry-run: the write requests, for stdout */
};

/* One answer: status and parsed JSON (NULL for HEAD or an empty body). */
struct es_reply {
	struct http_response rs;
	json_t *json;
};

/* es.c */
int es_call(struct es *es, const char *method, const char *path, json_t *body,
    struct es_reply *r);
void es_reply_free(struct es_reply *r);
_Noreturn void es_fail(struct es *es, const char *method, const char *path,
    struct es_reply *r, int rc);
json_t *es_get(struct es *es, const char *path, bool *found);
void es_write(struct es *es, const char *method, const char *path, json_t *body,
    const char *verb, const char *what);
void es_detect_version(struct es *es);
bool es_composable(const struct es *es);
void es_wait_health(struct es *es, const char *want, long wait_s);

/* json.c */
json_t *doc_load(struct log *lg, const char *path);
json_t *tmpl_from_file(struct log *lg, const char *path, json_t *doc);
json_t *tmpl_for_server(struct log *lg, const char *path, const json_t *t, bool composable);
json_t *tmpl_normal(const json_t *t, bool composable);
json_t *settings_flat(const json_t *settings, bool stringify, bool index_prefix);
json_t *index_body(struct log *lg, const char *path, long shards);

/* steps.c */
struct weeks {
	char (*names)[ES_NAME_MAX];
	int n;
	int current;   /* index into names of today's index */
};
bool es_name_ok(const char *name);
void step_template(struct es *es, const char *path, const char *name, const json_t *t);
void step_index(struct es *es, const char *name, const json_t *body);
void step_alias(struct es *es, const char *alias, const char *current);
void step_snapshot_repo(struct es *es, const char *name, const json_t *desired);

#endif
