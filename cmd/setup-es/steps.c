/*
 * steps.c: the four things setup-es keeps in place.  Each step reads what
 * the server has, compares, and writes only what differs (es_write, which
 * under --dry-run prints instead), so a second run makes no request that
 * changes anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "setup-es.h"

/*
 * es_name_ok: a name safe as an index, alias, template or repository name
 * and as a URL path segment: [a-z0-9._-], not starting with '-', '_' or
 * '.', at most 200 bytes.  Stricter than Elasticsearch, on purpose.
 */
bool
es_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 200 || name[0] == '-' || name[0] == '_' || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return false;
	}
	return true;
}

/* 6.x defaults to mapping types; typeless documents need this parameter. */
static const char *
types_param(const struct es *es, char sep)
{
	if (es->major != 6)
		return "";
	return sep == '?' ? "?include_type_name=false" : "&include_type_name=false";
}

/* server_template picks NAME's definition out of a GET answer, or NULL. */
static const json_t *
server_template(const json_t *answer, const char *name, bool composable)
{
	if (!composable)
		return json_object_get(answer, name);
	size_t i;
	const json_t *t;
	json_array_foreach (json_object_get(answer, "index_templates"), i, t)
		if (json_is_string(json_object_get(t, "name")) &&
		    strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
			return json_object_get(t, "index_template");
	return NULL;
}

static bool
same_template(const json_t *want, const json_t *have, bool composable)
{
	json_t *a = tmpl_normal(want, composable), *b = tmpl_normal(have, composable);
	bool same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

void
step_template(struct es *es, const char *path, const char *name, const json_t *t)
{
	bool comp = es_composable(es);
	const char *api = comp ? "_index_template" : "_template";
	char get[512], put[512], what[600];
	bool found;

	json_t *send = tmpl_for_server(es->lg, path, t, comp);
	str_fmt_clip(get, sizeof(get), "/%s/%s?flat_settings=true%s", api, name,
	    types_param(es, '&'));
	str_fmt_clip(put, sizeof(put), "/%s/%s%s", api, name, types_param(es, '?'));
	json_t *answer = es_get(es, get, &found);
	const json_t *have = found ? server_template(answer, name, comp) : NULL;
	if (have != NULL && same_template(send, have, comp)) {
		log_debug(es->lg, "index template %s is up to date (%s)", name, path);
	} else {
		str_fmt_clip(what, sizeof(what), "%s index template %s from %s",
		    comp ? "composable" : "legacy", name, path);
		es_write(es, "PUT", put, send, have ? "update" : "create", what);
	}
	json_decref(answer);
	json_decref(send);

	/* After an upgrade from 6.x a legacy twin may linger; it no longer applies. */
	if (comp) {
		struct es_reply r;
		str_fmt_clip(get, sizeof(get), "/_template/%s", name);
		if (es_call(es, "HEAD", get, NULL, &r) == 0 && r.rs.status == 200)
			log_warn(es->lg, "a legacy template %s also exists; the composable one "
			    "takes precedence for new indices (remove the old one with DELETE "
			    "%s/_template/%s once nothing needs it)", name, es->base, name);
		es_reply_free(&r);
	}
}

/* error_type: the "type" of an Elasticsearch error answer, or "". */
static const char *
error_type(const json_t *j)
{
	const char *t = json_string_value(json_object_get(json_object_get(j, "error"), "type"));
	return t ? t : "";
}

void
step_index(struct es *es, const char *name, const json_t *body)
{
	char path[512], what[600];
	struct es_reply r;
	str_fmt_clip(path, sizeof(path), "/%s", name);
	int rc = es_call(es, "HEAD", path, NULL, &r);
	if (rc != 0 || (r.rs.status != 200 && r.rs.status != 404))
		es_fail(es, "HEAD", path, &r, rc);
	long status = r.rs.status;
	es_reply_free(&r);
	if (status == 200) {
		log_debug(es->lg, "index %s exists: left alone", name);
		return;
	}
	str_fmt_clip(what, sizeof(what), "index %s", name);
	str_fmt_clip(path, sizeof(path), "/%s%s", name, types_param(es, '?'));
	if (es->dry_run) {
		es_write(es, "PUT", path, (json_t *)body, "create", what);
		return;
	}
	rc = es_call(es, "PUT", path, (json_t *)body, &r);
	/*
	 * It exists: an earlier attempt of this PUT made it (its answer was lost
	 * or late), or someone else did between our HEAD and PUT: fine.
	 */
	if (rc == 0 && r.rs.status == 400 &&
	    strcmp(error_type(r.json), "resource_already_exists_exception") == 0) {
		if (r.rs.attempts > 1) {
			es->changes++;
			log_info(es->lg, "created %s (by an earlier attempt, whose answer was lost)",
			    what);
		} else {
			log_debug(es->lg, "index %s was created meanwhile by someone else: left "
			    "alone", name);
		}
	} else if (rc != 0 || r.rs.status != 200) {
		es_fail(es, "PUT", path, &r, rc);
	} else {
		es->changes++;
		log_info(es->lg, "created %s", what);
	}
	es_reply_free(&r);
}

/* alias_only_at: true if alias points at index current and nothing else. */
static bool
alias_only_at(struct es *es, const char *alias, const char *current)
{
	char path[512];
	bool found;
	str_fmt_clip(path, sizeof(path), "/_alias/%s", alias);
	json_t *have = es_get(es, path, &found);
	bool only = found && json_object_size(have) == 1 &&
	    json_object_get(have, current) != NULL;
	json_decref(have);
	return only;
}

/*
 * move_alias posts the actions.  When an earlier attempt of the same
 * request was applied but its answer lost, the retry's "remove" finds the
 * alias gone (404 aliases_not_found_exception): the alias is then looked
 * at, and where it should be is success.
 */
static void
move_alias(struct es *es, json_t *body, const char *alias, const char *current,
    const char *what)
{
	struct es_reply r;
	int rc = es_call(es, "POST", "/_aliases", body, &r);
	bool done = rc == 0 && r.rs.status >= 200 && r.rs.status <= 299;
	if (!done && rc == 0 && r.rs.status == 404 && r.rs.attempts > 1 &&
	    strcmp(error_type(r.json), "aliases_not_found_exception") == 0 &&
	    alias_only_at(es, alias, current)) {
		log_debug(es->lg, "POST /_aliases: an earlier attempt had moved alias %s", alias);
		done = true;
	}
	if (!done)
		es_fail(es, "POST", "/_aliases", &r, rc);
	es_reply_free(&r);
	es->changes++;
	log_info(es->lg, "pointed %s", what);
}

void
step_alias(struct es *es, const char *alias, const char *current)
{
	char path[512], what[700];
	bool found, has_current = false;
	const char *index;
	json_t *v;
	str_fmt_clip(path, sizeof(path), "/_alias/%s", alias);
	json_t *have = es_get(es, path, &found);
	json_t *actions = json_array();
	json_object_foreach (have, index, v) {
		if (strcmp(index, current) == 0)
			has_current = true;
		else
			json_array_append_new(actions, json_pack("{s{ssss}}", "remove", "index",
			    index, "alias", alias));
	}
	if (!has_current)
		json_array_append_new(actions, json_pack("{s{ssss}}", "add", "index", current,
		    "alias", alias));
	if (json_array_size(actions) == 0) {
		log_debug(es->lg, "alias %s already points at %s only", alias, current);
	} else {
		/* One request: the alias moves atomically, never pointing nowhere. */
		json_t *body = json_pack("{sO}", "actions", actions);
		str_fmt_clip(what, sizeof(what), "alias %s at %s%s", alias, current,
		    json_object_size(have) > (size_t)has_current ? " (and away from older "
		    "indices)" : "");
		if (es->dry_run)
			es_write(es, "POST", "/_aliases", body, "point", what);
		else
			move_alias(es, body, alias, current, what);
		json_decref(body);
	}
	json_decref(actions);
	json_decref(have);
}

static bool
same_repo(const json_t *want, const json_t *have)
{
	const char *wt = json_string_value(json_object_get(want, "type"));
	const char *ht = json_string_value(json_object_get(have, "type"));
	if (wt == NULL || ht == NULL || strcmp(wt, ht) != 0)
		return false;
	json_t *a = settings_flat(json_object_get(want, "settings"), true, false);
	json_t *b = settings_flat(json_object_get(have, "settings"), true, false);
	bool same = a != NULL && b != NULL && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

void
step_snapshot_repo(struct es *es, const char *name, const json_t *desired)
{
	char path[512], what[600];
	bool found;
	str_fmt_clip(path, sizeof(path), "/_snapshot/%s", name);
	json_t *have = es_get(es, path, &found);
	const json_t *repo = found ? json_object_get(have, name) : NULL;
	if (repo != NULL && same_repo(desired, repo)) {
		log_debug(es->lg, "snapshot repository %s is up to date", name);
	} else {
		str_fmt_clip(what, sizeof(what), "snapshot repository %s (type %s)", name,
		    json_string_value(json_object_get(desired, "type")));
		es_write(es, "PUT", path, (json_t *)desired, repo ? "re-register" : "register",
		    what);
	}
	json_decref(have);
}
