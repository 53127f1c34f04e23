/*
 * plan.c: what rabbit-init must change, worked out from the broker's
 * state before anything is touched, then applied in order: vhost, user,
 * permissions, queues.
 *
 * Reading everything first is what makes a conflict (a queue that exists
 * with other settings) stop the run before any change, and what makes
 * --dry-run and a re-run exact: the plan of a re-run holds only "keep".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "rabbit-init.h"

const char *
step_kind_name(enum step_kind k)
{
	static const char *const names[] = { "vhost", "user", "permissions", "queue" };
	return names[k];
}

/* --- --queue NAME[:opt=val,...] ---------------------------------------- */

/* arg_value: a number for digits, a boolean for true/false, else a string. */
static json_t *
arg_value(const char *v)
{
	long n;
	if (str_to_long(v, -0x7fffffffL, 0x7fffffffL, &n) == 0)
		return json_integer(n);
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return json_boolean(v[0] == 't');
	return json_string(v);
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		*out = v[0] == 't';
		return 0;
	}
	return -1;
}

/* queue_option applies one opt=val to q. */
static int
queue_option(struct queue_spec *q, char *opt, char *err, size_t errsize)
{
	char *eq = strchr(opt, '=');
	const char *key = opt, *val;
	if (eq == NULL || eq == opt) {
		str_fmt_clip(err, errsize, "\"%s\" is not opt=value", opt);
		return -1;
	}
	*eq = '\0';
	val = eq + 1;
	if (strcmp(key, "type") == 0)
		key = "x-queue-type";
	if (strcmp(key, "durable") == 0 || strcmp(key, "auto_delete") == 0) {
		if (parse_bool(val, key[0] == 'd' ? &q->durable : &q->auto_delete) == 0)
			return 0;
		str_fmt_clip(err, errsize, "%s=%s: true or false", key, val);
		return -1;
	}
	if (strncmp(key, "x-", 2) != 0) {
		str_fmt_clip(err, errsize,
		    "unknown option \"%s\" (durable, auto_delete, type, x-...)", key);
		return -1;
	}
	if (json_object_get(q->args, key) != NULL) {
		str_fmt_clip(err, errsize, "%s given twice", key);
		return -1;
	}
	json_t *v = arg_value(val);
	if (v == NULL || json_object_set_new(q->args, key, v) == -1) {
		str_fmt_clip(err, errsize, "%s=%s: not valid (UTF-8 text expected)", key, val);
		return -1;
	}
	return 0;
}

int
queue_parse(const char *spec, struct queue_spec *q, char *err, size_t errsize)
{
	char opts[2048];
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);

	q->durable = true;
	q->auto_delete = false;
	q->args = json_object();
	if (nlen == 0 || nlen >= sizeof(q->name)) {
		str_fmt_clip(err, errsize, "--queue %s: the name is empty or longer than 255 bytes",
		    spec);
		return -1;
	}
	memcpy(q->name, spec, nlen);
	q->name[nlen] = '\0';
	if (colon == NULL)
		return 0;
	if (str_copy(opts, sizeof(opts), colon + 1) == -1) {
		str_fmt_clip(err, errsize, "--queue %s: options too long", q->name);
		return -1;
	}
	for (char *p = opts, *next; p != NULL; p = next) {
		char e[512];
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if (queue_option(q, p, e, sizeof(e)) == -1) {
			str_fmt_clip(err, errsize, "--queue %s: %s", q->name, e);
			return -1;
		}
	}
	return 0;
}

/* --- reading the broker's state ------------------------------------------ */

static struct step *
new_step(struct plan *p, enum step_kind kind, const char *name)
{
	struct step *s = &p->steps[p->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	str_copy(s->name, sizeof(s->name), name);
	return s;
}

/* make_path writes prefix, then a and b (if not NULL) percent-encoded, into s->path. */
static int
make_path(struct broker *br, struct step *s, const char *prefix, const char *a, const char *b)
{
	struct buf p;
	int r;
	buf_init(&p, sizeof(s->path) - 1);
	r = buf_puts(&p, prefix) == 0 && path_escape(&p, a) == 0 &&
	    (b == NULL || (buf_putc(&p, '/') == 0 && path_escape(&p, b) == 0)) &&
	    str_copy(s->path, sizeof(s->path), buf_str(&p)) == 0 ? 0 : EX_SOFTWARE;
	buf_free(&p);
	if (r != 0)
		str_fmt_clip(br->error, sizeof(br->error), "%s%s: path too long", prefix, a);
	return r;
}

/*
 * fetch sets s->path to prefix + the encoded names x (and y) and GETs it:
 * 0 with a->status 200 (a JSON object) or 404, or an EX_* code.
 */
static int
fetch(struct broker *b, struct step *s, const char *prefix, const char *x, const char *y,
    struct answer *a)
{
	int rc = make_path(b, s, prefix, x, y);
	if (rc != 0 || (rc = broker_call(b, "GET", s->path, NULL, a)) != 0)
		return rc;
	if (a->status != 200 && a->status != 404) {
		rc = broker_refusal(b, "GET", s->path, a);
		json_decref(a->json);
	} else if (a->status == 200 && !json_is_object(a->json)) {
		str_fmt_clip(b->error, sizeof(b->error), "GET %s/api/%s: the answer is not a JSON "
		    "object", b->base, s->path);
		json_decref(a->json);
		rc = EX_UNAVAILABLE;
	}
	return rc;
}

static int
plan_vhost(struct broker *b, const struct want *w, struct plan *p)
{
	struct step *s = new_step(p, STEP_VHOST, w->vhost);
	struct answer a;
	int rc;
	if ((rc = fetch(b, s, "vhosts/", w->vhost, NULL, &a)) != 0)
		return rc;
	if (a.status == 404) {
		s->action = ACT_CREATE;
		s->body = json_object();
	}
	json_decref(a.json);
	return 0;
}

/* tag_list: tags as a sorted array, from "a,b" or from the broker's list. */
static json_t *
tag_list(const json_t *from)
{
	json_t *out = json_array();
	char all[4096], *p, *next;
	size_t i;
	json_t *t;
	if (json_is_string(from)) {
		str_copy(all, sizeof(all), json_string_value(from));
		for (p = all; p != NULL; p = next) {
			if ((next = strchr(p, ',')) != NULL)
				*next++ = '\0';
			if (*str_trim(p) != '\0')
				json_array_append_new(out, json_string(str_trim(p)));
		}
	}
	json_array_foreach(from, i, t)
		json_array_append(out, t);
	/* A small insertion sort: a user has a handful of tags. */
	for (i = 1; i < json_array_size(out); i++)
		for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(out, j - 1)),
		    json_string_value(json_array_get(out, j))) > 0; j--) {
			json_t *x = json_incref(json_array_get(out, j));
			json_array_set(out, j, json_array_get(out, j - 1));
			json_array_set_new(out, j - 1, x);
		}
	return out;
}

static void
tag_text(const json_t *tags, char *dst, size_t n)
{
	size_t i, len = 0;
	json_t *t;
	dst[0] = '\0';
	json_array_foreach(tags, i, t) {
		str_fmt_clip(dst + len, n - len, "%s%s", i ? "," : "", json_string_value(t));
		len = strlen(dst);
	}
	if (len == 0)
		str_copy(dst, n, "(none)");
}

/* user_body: the PUT body; it must carry a hash, or the broker drops the password. */
static json_t *
user_body(const char *hash, const char *algorithm, json_t *tags)
{
	return json_pack("{s:s, s:s, s:O}", "password_hash", hash, "hashing_algorithm", algorithm,
	    "tags", tags);
}

static int
plan_user(struct broker *b, const struct want *w, struct plan *p)
{
	struct step *s = new_step(p, STEP_USER, w->user);
	json_t *given = json_string(w->tags);
	json_t *want_tags = tag_list(given);
	struct answer a;
	struct buf hash;
	int rc, match = 0;

	buf_init(&hash, 256);
	if ((rc = fetch(b, s, "users/", w->user, NULL, &a)) != 0)
		goto out;
	const char *old_hash = json_string_value(json_object_get(a.json, "password_hash"));
	const char *alg = json_string_value(json_object_get(a.json, "hashing_algorithm"));
	if (a.status == 200 && old_hash != NULL && *old_hash != '\0')
		match = pw_verify(old_hash, alg, w->password);
	json_t *old_tags = tag_list(json_object_get(a.json, "tags"));
	bool same_tags = json_equal(old_tags, want_tags);

	if (a.status == 200 && match == 1 && same_tags) {
		s->action = ACT_KEEP;
	} else if (match == 1) {
		char was[1024], now[1024];
		tag_text(old_tags, was, sizeof(was));
		tag_text(want_tags, now, sizeof(now));
		s->action = ACT_CHANGE;
		str_fmt_clip(s->what, sizeof(s->what), "tags %s -> %s", was, now);
		s->body = user_body(old_hash, alg ? alg : PW_ALG_DEFAULT, want_tags);
	} else if (pw_hash(&hash, w->password) == -1) {
		str_copy(b->error, sizeof(b->error),
		    "cannot compute a password hash (getrandom failed)");
		rc = EX_SOFTWARE;
	} else {
		s->action = a.status == 404 ? ACT_CREATE : ACT_CHANGE;
		if (s->action == ACT_CHANGE)
			str_fmt_clip(s->what, sizeof(s->what), "password%s%s",
			    match == -1 ? " (the stored hash could not be checked)" :
			    old_hash == NULL || *old_hash == '\0' ? " (it had none)" :
			    " (the given one differs from the stored one)",
			    same_tags ? "" : " and tags");
		s->body = user_body(buf_str(&hash), PW_ALG_DEFAULT, want_tags);
	}
	json_decref(old_tags);
	json_decref(a.json);
out:
	buf_wipe(&hash);
	json_decref(given);
	json_decref(want_tags);
	return rc;
}

static int
plan_permissions(struct broker *b, const struct want *w, struct plan *p)
{
	static const char *const keys[3] = { "configure", "write", "read" };
	char name[sizeof(p->steps[0].name)];
	str_fmt_clip(name, sizeof(name), "%s@%s", w->user, w->vhost);
	struct step *s = new_step(p, STEP_PERMISSIONS, name);
	struct answer a;
	int rc;
	if ((rc = fetch(b, s, "permissions/", w->vhost, w->user, &a)) != 0)
		return rc;
	for (int i = 0; i < 3 && a.status == 200; i++) {
		const char *old = json_string_value(json_object_get(a.json, keys[i]));
		if (old == NULL || strcmp(old, w->perm[i]) != 0) {
			size_t len = strlen(s->what);
			str_fmt_clip(s->what + len, sizeof(s->what) - len, "%s%s %s -> %s",
			    len ? ", " : "", keys[i], old ? old : "(none)", w->perm[i]);
		}
	}
	if (a.status == 404 || s->what[0] != '\0') {
		s->action = a.status == 404 ? ACT_CREATE : ACT_CHANGE;
		s->body = json_pack("{s:s, s:s, s:s}", keys[0], w->perm[0], keys[1], w->perm[1],
		    keys[2], w->perm[2]);
	}
	json_decref(a.json);
	return 0;
}

/* plain_args: a queue's arguments without x-queue-type=classic, the default. */
static json_t *
plain_args(const json_t *args)
{
	json_t *c = json_is_object(args) ? json_deep_copy(args) : json_object();
	const char *t = json_string_value(json_object_get(c, "x-queue-type"));
	if (t != NULL && strcmp(t, "classic") == 0)
		json_object_del(c, "x-queue-type");
	return c;
}

/* queue_diff describes how the existing queue differs from q, if it does. */
static void
queue_diff(const json_t *have, const struct queue_spec *q, char *what, size_t n)
{
	bool durable = json_is_true(json_object_get(have, "durable"));
	bool auto_delete = json_is_true(json_object_get(have, "auto_delete"));
	json_t *old = plain_args(json_object_get(have, "arguments"));
	json_t *now = plain_args(q->args);
	size_t len;
	what[0] = '\0';
	if (durable != q->durable)
		str_fmt_clip(what, n, "durable=%s, wanted %s", durable ? "true" : "false",
		    q->durable ? "true" : "false");
	len = strlen(what);
	if (auto_delete != q->auto_delete)
		str_fmt_clip(what + len, n - len, "%sauto_delete=%s, wanted %s", len ? "; " : "",
		    auto_delete ? "true" : "false", q->auto_delete ? "true" : "false");
	len = strlen(what);
	if (!json_equal(old, now)) {
		char *o = json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);
		str_fmt_clip(what + len, n - len, "%sarguments %s, wanted %s", len ? "; " : "",
		    o ? o : "?", w ? w : "?");
		free(o);
		free(w);
	}
	json_decref(old);
	json_decref(now);
}

static int
plan_queue(struct broker *b, const struct want *w, const struct queue_spec *q, struct plan *p)
{
	struct step *s = new_step(p, STEP_QUEUE, q->name);
	struct answer a;
	int rc;
	if ((rc = fetch(b, s, "queues/", w->vhost, q->name, &a)) != 0)
		return rc;
	if (a.status == 404) {
		s->action = ACT_CREATE;
		s->body = json_pack("{s:b, s:b, s:O}", "durable", q->durable, "auto_delete",
		    q->auto_delete, "arguments", q->args);
	} else {
		queue_diff(a.json, q, s->what, sizeof(s->what));
		if (s->what[0] != '\0') {
			s->action = ACT_CONFLICT;
			p->conflicts++;
		}
	}
	json_decref(a.json);
	return 0;
}

int
plan_make(struct broker *b, const struct want *w, struct plan *p)
{
	int rc;
	memset(p, 0, sizeof(*p));
	if ((rc = plan_vhost(b, w, p)) != 0 || (rc = plan_user(b, w, p)) != 0 ||
	    (rc = plan_permissions(b, w, p)) != 0)
		return rc;
	for (size_t i = 0; i < w->nqueues; i++)
		if ((rc = plan_queue(b, w, &w->queues[i], p)) != 0)
			return rc;
	return 0;
}

int
plan_apply(struct broker *b, struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct step *s = &p->steps[i];
		struct answer a;
		int rc;
		if (s->action != ACT_CREATE && s->action != ACT_CHANGE)
			continue;
		if (s->body == NULL) {
			str_copy(b->error, sizeof(b->error), "out of memory building a request");
			return EX_SOFTWARE;
		}
		if ((rc = broker_call(b, "PUT", s->path, s->body, &a)) != 0)
			return rc;
		if (a.status != 201 && a.status != 204) {
			rc = broker_refusal(b, "PUT", s->path, &a);
			json_decref(a.json);
			return rc;
		}
		json_decref(a.json);
		log_info(b->lg, "%s %s %s%s%s", s->action == ACT_CREATE ? "created" : "changed",
		    step_kind_name(s->kind), s->name, s->what[0] ? ": " : "", s->what);
	}
	return 0;
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		json_decref(p->steps[i].body);
	p->n = 0;
}
