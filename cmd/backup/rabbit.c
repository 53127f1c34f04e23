/*
 * rabbit.c: RabbitMQ's definitions through the management HTTP API.
 *
 *   GET  /api/definitions   users (with their password hashes and hashing
 *                           algorithms), vhosts, permissions, topic
 *                           permissions, parameters, global parameters,
 *                           policies, queues, exchanges, bindings
 *   POST /api/definitions   the same document, imported
 *
 * Stored exactly as the broker answered.  An import merges: what the
 * document defines is created or updated (a user's password hash and
 * tags replaced by the backup's), and nothing the broker has beyond it is
 * deleted.  A queue that exists with other arguments makes the broker
 * refuse the import (HTTP 400, named in the error).  Messages are not
 * definitions: queues come back empty.
 *
 * Address and credentials as rabbit-init takes them: --url (or
 * RABBITMQ_MANAGEMENT_URL, else http://127.0.0.1:15672), --user (or
 * RABBITMQ_ADMIN_USER, else guest), the password from --password-file or
 * RABBITMQ_ADMIN_PASSWORD (guest's default is guest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "exits.h"

static const char *const kinds[] = { "users", "vhosts", "permissions", "topic_permissions",
	"parameters", "global_parameters", "policies", "queues", "exchanges", "bindings", NULL };

struct rabbit {
	struct web w;
	struct buf pw;
	const char *user;
};

static int
rabbit_open(struct rabbit *b, const struct options *o, struct log *lg)
{
	const char *url = o->url ? o->url : getenv("RABBITMQ_MANAGEMENT_URL");
	memset(b, 0, sizeof(*b));
	buf_init(&b->pw, 4096);
	b->user = o->user ? o->user : getenv("RABBITMQ_ADMIN_USER");
	if (b->user == NULL || *b->user == '\0')
		b->user = "guest";
	int r = web_open(&b->w, "RabbitMQ", url && *url ? url : "http://127.0.0.1:15672",
	    "--url or RABBITMQ_MANAGEMENT_URL", o->cacert, lg);
	if (r != 0)
		return r;
	b->w.http.timeout_ms = 5 * 60 * 1000; /* a large import takes a while */
	r = read_secret(lg, o->password_file, "RABBITMQ_ADMIN_PASSWORD", &b->pw);
	if (r == 1 && strcmp(b->user, "guest") != 0) {
		log_error(lg, "no password for RabbitMQ user %s: give --password-file FILE or set "
			      "RABBITMQ_ADMIN_PASSWORD", b->user);
		return EX_USAGE;
	}
	if (r == 1) /* the broker's built-in account, allowed from localhost only */
		r = buf_puts(&b->pw, "guest") ? EX_SOFTWARE : 0;
	return r ? r : web_basic(&b->w, b->user, buf_str(&b->pw));
}

static void
rabbit_close(struct rabbit *b)
{
	web_close(&b->w);
	buf_wipe(&b->pw);
}

/* counts: how many of each kind the definitions hold, for messages. */
static json_t *
counts(json_t *doc)
{
	json_t *c = json_object();
	for (size_t i = 0; kinds[i]; i++) {
		json_t *a = json_object_get(doc, kinds[i]);
		if (json_is_array(a))
			json_object_set_new(c, kinds[i], json_integer((json_int_t)json_array_size(a)));
	}
	return c;
}

static void
describe(json_t *c, struct buf *out)
{
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach(c, k, v) {
		if (json_integer_value(v) == 0)
			continue;
		buf_printf(out, "%s%s %lld", first ? "" : ", ", k, (long long)json_integer_value(v));
		first = false;
	}
	if (first)
		buf_puts(out, "nothing");
}

/* definitions: a JSON object of definitions, or NULL after a line. */
static json_t *
definitions(struct log *lg, const char *data, size_t n, const char *what)
{
	json_error_t je;
	json_t *doc = json_loadb(data, n, 0, &je);
	if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "users"))) {
		log_error(lg, "%s is not RabbitMQ definitions (%s)", what,
		    doc ? "no \"users\" list" : je.text);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int
rabbit_backup(struct job *j)
{
	struct rabbit b;
	struct http_response rs;
	http_response_init(&rs, BK_JSON_MAX);
	int r = rabbit_open(&b, j->o, j->lg);
	if (r == 0)
		r = web_call(&b.w, "GET", "/api/definitions", NULL, NULL, 0, BK_JSON_MAX, &rs);
	if (r == 0 && rs.status != 200)
		r = web_refused(&b.w, "export its definitions (GET /api/definitions)", &rs);
	json_t *doc = r == 0 ? definitions(j->lg, buf_str(&rs.body), rs.body.len,
	                           "the broker's answer to GET /api/definitions")
	                     : NULL;
	if (r == 0 && doc == NULL)
		r = EX_UNAVAILABLE;
	if (r == 0 && buf_append(&j->mem, rs.body.data, rs.body.len) == -1) {
		log_error(j->lg, "out of memory");
		r = EX_SOFTWARE;
	}
	if (r == 0) {
		json_t *c = counts(doc);
		struct buf d;
		buf_init(&d, 4096);
		describe(c, &d);
		log_info(j->lg, "rabbitmq: %s at %s", buf_str(&d), b.w.base);
		buf_free(&d);
		const char *v = json_string_value(json_object_get(doc, "rabbitmq_version"));
		if (v == NULL)
			v = json_string_value(json_object_get(doc, "rabbit_version"));
		j->content = "rabbitmq-definitions";
		j->source = json_pack("{s:s, s:s, s:s, s:o}", "url", b.w.base, "user", b.user,
		    "rabbitmq_version", v ? v : "unknown", "counts", c);
	}
	json_decref(doc);
	if (rs.body.data)
		secure_wipe(rs.body.data, rs.body.len);
	http_response_free(&rs);
	rabbit_close(&b);
	return r;
}

/* warn_self: importing the admin's own entry changes its password. */
static void
warn_self(struct log *lg, json_t *doc, const char *user)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(doc, "users"), i, u) {
		const char *name = json_string_value(json_object_get(u, "name"));
		if (name && strcmp(name, user) == 0)
			log_warn(lg, "the definitions hold user %s, whose password and tags become "
				     "the backup's", user);
	}
}

int
rabbit_restore(struct job *j, const char *data, size_t n)
{
	json_t *doc = definitions(j->lg, data, n, "the backup");
	if (doc == NULL)
		return EX_DATAERR;
	json_t *c = counts(doc);
	struct buf d;
	struct rabbit b;
	struct http_response rs;
	buf_init(&d, 4096);
	describe(c, &d);
	http_response_init(&rs, 1u << 20);
	int r = rabbit_open(&b, j->o, j->lg);
	if (r == 0)
		warn_self(j->lg, doc, b.user);
	if (r == 0 && j->o->dry_run) {
		buf_printf(j->out, "rabbitmq: would import %s into %s\n", buf_str(&d), b.w.base);
	} else if (r == 0) {
		r = web_call(&b.w, "POST", "/api/definitions", "application/json", data, n,
		    1u << 20, &rs);
		if (r == 0 && rs.status != 200 && rs.status != 201 && rs.status != 204)
			r = web_refused(&b.w, "import the definitions (POST /api/definitions)", &rs);
		if (r == 0)
			buf_printf(j->out, "rabbitmq: imported %s\n", buf_str(&d));
	}
	buf_free(&d);
	http_response_free(&rs);
	json_decref(c);
	json_decref(doc);
	rabbit_close(&b);
	return r;
}
