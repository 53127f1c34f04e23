/*
 * json.c: the JSON documents setup-es sends, and how it decides whether the
 * server already has them.
 *
 * Template files are written in the composable form of 7.8+ (index_patterns,
 * template {settings, mappings, aliases}, priority, version, _meta) or in the
 * legacy form (index_patterns, order, settings, mappings, aliases); either
 * is turned into the form the server speaks.
 *
 * Comparison is semantic, on a normal form of both sides: settings become
 * flat "index."-prefixed keys with string values (a server stores and
 * returns them so: {"index": {"number_of_shards": 10}} comes back as
 * {"index.number_of_shards": "10"} under flat_settings=true); empty
 * settings, mappings, aliases, composed_of and a zero order are dropped
 * (a server adds them); then jansson's json_equal, for which key order does
 * not matter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "setup-es.h"

static const char *const composable_keys[] = { "index_patterns", "template", "composed_of",
	"priority", "version", "_meta", "data_stream", "allow_auto_create", NULL };
static const char *const legacy_keys[] = { "index_patterns", "order", "version",
	"settings", "mappings", "aliases", NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/*
 * doc_load reads a JSON object from path.  Errors are the file's
 * path:line:column and jansson's text; exit 66 if unreadable, 65 if bad.
 */
json_t *
doc_load(struct log *lg, const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL && json_error_code(&err) == json_error_cannot_open_file)
		log_die(lg, EX_NOINPUT, "%s: cannot read: %s", path, strerror(errno));
	if (j == NULL)
		log_die(lg, EX_DATAERR, "%s:%d:%d: %s", path, err.line, err.column, err.text);
	if (!json_is_object(j))
		log_die(lg, EX_DATAERR, "%s:1:1: a JSON object was expected", path);
	return j;
}

static void
check_patterns(struct log *lg, const char *path, json_t *t)
{
	json_t *p = json_object_get(t, "index_patterns");
	size_t i;
	json_t *v;
	if (json_is_string(p)) {
		json_object_set_new(t, "index_patterns", json_pack("[O]", p));
		return;
	}
	if (!json_is_array(p) || json_array_size(p) == 0)
		log_die(lg, EX_DATAERR, "%s: \"index_patterns\" must be a pattern or a "
		    "non-empty array of patterns", path);
	json_array_foreach (p, i, v)
		if (!json_is_string(v))
			log_die(lg, EX_DATAERR, "%s: \"index_patterns\"[%zu] is not a string",
			    path, i);
}

static void
check_int(struct log *lg, const char *path, const json_t *t, const char *key)
{
	const json_t *v = json_object_get(t, key);
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0))
		log_die(lg, EX_DATAERR, "%s: \"%s\" must be a non-negative integer", path, key);
}

static void
check_composable(struct log *lg, const char *path, const json_t *t)
{
	const json_t *inner = json_object_get(t, "template");
	const char *k;
	json_t *v;
	check_int(lg, path, t, "priority");
	check_int(lg, path, t, "version");
	if (inner != NULL && !json_is_object(inner))
		log_die(lg, EX_DATAERR, "%s: \"template\" must be an object", path);
	json_object_foreach ((json_t *)inner, k, v) {
		if (strcmp(k, "settings") != 0 && strcmp(k, "mappings") != 0 &&
		    strcmp(k, "aliases") != 0)
			log_die(lg, EX_DATAERR, "%s: unknown key \"%s\" in \"template\" (expected "
			    "settings, mappings, aliases)", path, k);
		if (!json_is_object(v))
			log_die(lg, EX_DATAERR, "%s: \"template\".\"%s\" must be an object", path, k);
	}
}

/*
 * tmpl_from_file turns a template document (either form) into the
 * composable form, checked; doc is consumed.
 */
json_t *
tmpl_from_file(struct log *lg, const char *path, json_t *doc)
{
	const char *k;
	json_t *v;
	bool legacy = false, composable = false;
	json_object_foreach (doc, k, v) {
		bool c = in_list(composable_keys, k), l = in_list(legacy_keys, k);
		if (!c && !l)
			log_die(lg, EX_DATAERR, "%s: unknown key \"%s\" in an index template "
			    "(expected index_patterns, template, priority, version, _meta, "
			    "composed_of, data_stream; or the legacy order, settings, mappings, "
			    "aliases)", path, k);
		composable |= c && !l;
		legacy |= l && !c;
	}
	if (legacy && composable)
		log_die(lg, EX_DATAERR, "%s: mixes the composable form (template, priority) "
		    "with the legacy one (order, settings, mappings, aliases)", path);
	check_patterns(lg, path, doc);
	if (!legacy) {
		check_composable(lg, path, doc);
		return doc;
	}
	check_int(lg, path, doc, "version");
	/* order becomes the composable priority, which cannot be negative. */
	check_int(lg, path, doc, "order");
	json_t *t = json_object(), *inner = json_object();
	json_object_set(t, "index_patterns", json_object_get(doc, "index_patterns"));
	static const char *const parts[] = { "settings", "mappings", "aliases", NULL };
	for (int i = 0; parts[i]; i++) {
		if ((v = json_object_get(doc, parts[i])) == NULL)
			continue;
		if (!json_is_object(v))
			log_die(lg, EX_DATAERR, "%s: \"%s\" must be an object", path, parts[i]);
		json_object_set(inner, parts[i], v);
	}
	json_object_set_new(t, "template", inner);
	if ((v = json_object_get(doc, "order")) != NULL)
		json_object_set(t, "priority", v);
	if ((v = json_object_get(doc, "version")) != NULL)
		json_object_set(t, "version", v);
	json_decref(doc);
	return t;
}

/*
 * tmpl_for_server: what to PUT.  Composable servers take t as it is;
 * older ones get the legacy form, where priority is order and there is no
 * _meta, composed_of or data_stream.
 */
json_t *
tmpl_for_server(struct log *lg, const char *path, const json_t *t, bool composable)
{
	if (composable)
		return json_deep_copy(t);
	static const char *const newer[] = { "composed_of", "data_stream",
		"allow_auto_create", NULL };
	for (int i = 0; newer[i]; i++) {
		const json_t *v = json_object_get(t, newer[i]);
		if (v != NULL && !json_is_null(v) &&
		    !(json_is_array(v) && json_array_size(v) == 0))
			log_die(lg, EX_DATAERR, "%s: \"%s\" needs composable index templates "
			    "(Elasticsearch 7.8 or later)", path, newer[i]);
	}
	if (json_object_get(t, "_meta") != NULL)
		log_debug(lg, "%s: _meta left out: legacy templates have none", path);
	json_t *out = json_object();
	const json_t *inner = json_object_get(t, "template");
	json_object_set(out, "index_patterns", json_object_get(t, "index_patterns"));
	if (json_object_get(t, "priority") != NULL)
		json_object_set(out, "order", json_object_get(t, "priority"));
	if (json_object_get(t, "version") != NULL)
		json_object_set(out, "version", json_object_get(t, "version"));
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)inner, k, v)
		json_object_set(out, k, v);
	return out;
}

/* scalar_text: a setting's value as a server keeps it, a string. */
static json_t *
scalar_text(const json_t *v)
{
	char tmp[64];
	if (json_is_string(v))
		return json_string(json_string_value(v));
	if (json_is_true(v) || json_is_false(v))
		return json_string(json_is_true(v) ? "true" : "false");
	if (json_is_integer(v)) {
		str_fmt_clip(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return json_string(tmp);
	}
	if (json_is_real(v)) {
		/* The shortest text that reads back the same, as Java and Python print. */
		double d = json_real_value(v);
		for (int prec = 1; prec <= 17; prec++) {
			str_fmt_clip(tmp, sizeof(tmp), "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
		if (strpbrk(tmp, ".eEn") == NULL)
			strncat(tmp, ".0", sizeof(tmp) - strlen(tmp) - 1);
		return json_string(tmp);
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *out = json_string(s ? s : "");
	free(s);
	return out;
}

static int
flatten(const json_t *in, const char *prefix, json_t *out, bool stringify, bool index_prefix)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)in, k, v) {
		char key[1024];
		if (str_fmt(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k) == -1)
			return -1;
		if (json_is_object(v)) {
			if (flatten(v, key, out, stringify, index_prefix) == -1)
				return -1;
			continue;
		}
		if (json_is_null(v))
			continue;
		char full[1100];
		if (str_fmt(full, sizeof(full), "%s%s",
			index_prefix && strncmp(key, "index.", 6) != 0 ? "index." : "", key) == -1)
			return -1;
		json_t *val;
		if (!stringify) {
			val = json_incref(v);
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			val = json_array();
			json_array_foreach (v, i, e)
				json_array_append_new(val, scalar_text(e));
		} else {
			val = scalar_text(v);
		}
		json_object_set_new(out, full, val);
	}
	return 0;
}

/*
 * settings_flat: settings in any shape as flat keys; stringify as a server
 * stores them; index_prefix adds "index." where missing (index settings do,
 * repository settings do not).  NULL if a key is absurdly long.
 */
json_t *
settings_flat(const json_t *settings, bool stringify, bool index_prefix)
{
	json_t *out = json_object();
	if (settings != NULL && flatten(settings, "", out, stringify, index_prefix) == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static bool
empty(const json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

/* set_normal copies key unless it is empty (or equal to its default). */
static void
set_normal(json_t *out, const char *key, const json_t *v)
{
	if (!empty(v))
		json_object_set(out, key, (json_t *)v);
}

/*
 * as_text: a deep copy with every scalar as text.  Elasticsearch coerces
 * "1024" and 1024, "true" and true alike in mappings, so they mean the same.
 */
static json_t *
as_text(const json_t *v)
{
	const char *k;
	json_t *e, *out;
	size_t i;
	if (v == NULL)
		return NULL;
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach ((json_t *)v, k, e)
			json_object_set_new(out, k, as_text(e));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach (v, i, e)
			json_array_append_new(out, as_text(e));
		return out;
	}
	return json_is_null(v) ? json_null() : scalar_text(v);
}

static json_t *
normal_parts(const json_t *src)
{
	static const char *const parts[] = { "mappings", "aliases", NULL };
	json_t *out = json_object();
	json_t *flat = settings_flat(json_object_get(src, "settings"), true, true);
	set_normal(out, "settings", flat);
	json_decref(flat);
	for (int i = 0; parts[i]; i++) {
		json_t *t = as_text(json_object_get(src, parts[i]));
		set_normal(out, parts[i], t);
		json_decref(t);
	}
	return out;
}

/*
 * tmpl_normal: the normal form of a template as sent (tmpl_for_server) or
 * as a server returns it, for json_equal.
 */
json_t *
tmpl_normal(const json_t *t, bool composable)
{
	json_t *out = json_object(), *parts;
	const json_t *p = json_object_get(t, "index_patterns");
	if (json_is_string(p))
		json_object_set_new(out, "index_patterns", json_pack("[O]", p));
	else
		set_normal(out, "index_patterns", p);
	set_normal(out, "version", json_object_get(t, "version"));
	if (composable) {
		parts = normal_parts(json_object_get(t, "template"));
		static const char *const keys[] = { "priority", "_meta", "composed_of",
			"data_stream", "allow_auto_create", NULL };
		for (int i = 0; keys[i]; i++)
			set_normal(out, keys[i], json_object_get(t, keys[i]));
		set_normal(out, "template", parts);
		json_decref(parts);
		return out;
	}
	const json_t *order = json_object_get(t, "order");
	if (json_integer_value(order) != 0)
		json_object_set(out, "order", (json_t *)order);
	parts = normal_parts(t);
	json_object_update(out, parts);
	json_decref(parts);
	return out;
}

/*
 * index_body: the body that creates one weekly index, from a file holding
 * {settings, mappings, aliases} or a template of either form (its template
 * part is used).  shards > 0 replaces index.number_of_shards.  Settings are
 * sent flat ("index.number_of_shards"), which every version accepts.
 */
json_t *
index_body(struct log *lg, const char *path, long shards)
{
	json_t *doc = doc_load(lg, path), *src = doc;
	if (json_object_get(doc, "index_patterns") != NULL) {
		doc = tmpl_from_file(lg, path, doc);
		src = json_object_get(doc, "template");
	} else {
		const char *k;
		json_t *v;
		json_object_foreach (doc, k, v)
			if (strcmp(k, "settings") != 0 && strcmp(k, "mappings") != 0 &&
			    strcmp(k, "aliases") != 0)
				log_die(lg, EX_DATAERR, "%s: unknown key \"%s\" in index settings "
				    "(expected settings, mappings, aliases, or a template)", path, k);
	}
	json_t *body = json_object();
	json_t *flat = settings_flat(json_object_get(src, "settings"), false, true);
	if (flat == NULL)
		log_die(lg, EX_DATAERR, "%s: a settings key is too long", path);
	if (shards > 0)
		json_object_set_new(flat, "index.number_of_shards", json_integer(shards));
	json_object_set_new(body, "settings", flat);
	static const char *const parts[] = { "mappings", "aliases", NULL };
	for (int i = 0; parts[i]; i++)
		set_normal(body, parts[i], json_object_get(src, parts[i]));
	json_decref(doc);
	return body;
}
