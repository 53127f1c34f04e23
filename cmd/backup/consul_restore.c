/*
 * consul_restore.c: a Consul KV backup written back (see consul.c for the
 * API used).  Only what is missing is written, each key with a
 * check-and-set: index 0 for a key that is absent, so a key someone
 * creates meanwhile is reported, not clobbered.  A key whose value differs
 * is kept unless --overwrite, which replaces it against the ModifyIndex
 * just read.  Keys Consul has and the backup does not are left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "base64.h"
#include "consul_kv.h"
#include "exits.h"

/* add_entry reads one element of either format into want. */
static int
add_entry(struct job *j, json_t *e, size_t i, struct kvs *want, struct buf *val, bool *warned)
{
	json_t *k, *f, *v;
	bool b64 = true;
	if (json_is_object(e)) {
		k = json_object_get(e, "key");
		f = json_object_get(e, "flags");
		v = json_object_get(e, "value");
		const char *ns = json_string_value(json_object_get(e, "namespace"));
		const char *pt = json_string_value(json_object_get(e, "partition"));
		if (((ns && *ns) || (pt && *pt)) && !*warned) {
			log_warn(j->lg, "the backup names namespaces or partitions (Consul "
					"Enterprise); keys are restored into the token's own");
			*warned = true;
		}
	} else if (json_is_array(e) && json_array_size(e) == 3) {
		/* consulate: [key, flags, value], the value as text unless -b. */
		k = json_array_get(e, 0);
		f = json_array_get(e, 1);
		v = json_array_get(e, 2);
		b64 = j->o->base64;
	} else {
		k = f = v = NULL;
	}
	buf_reset(val);
	int ok = json_is_string(k) && (f == NULL || json_is_null(f) ||
	    (json_is_integer(f) && json_integer_value(f) >= 0));
	if (ok && v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			ok = 0;
		else if (b64)
			ok = base64_decode(val, json_string_value(v), json_string_length(v)) == 0;
		else
			ok = buf_append(val, json_string_value(v), json_string_length(v)) == 0;
	}
	if (!ok) {
		log_error(j->lg, "backup entry %zu: expected {\"key\", \"flags\", \"value\" (base64)} "
				 "or consulate's [key, flags, value]%s", i,
		    b64 && (json_is_array(e) || json_is_object(e)) ? " with a base64 value" : "");
		return EX_DATAERR;
	}
	if (kvs_add(want, json_string_value(k), buf_str(val), val->len,
	    json_is_integer(f) ? (uint64_t)json_integer_value(f) : 0, 0) == -1) {
		log_error(j->lg, "out of memory reading the backup");
		return EX_SOFTWARE;
	}
	return 0;
}

static int
parse_backup(struct job *j, const char *data, size_t n, struct kvs *want)
{
	json_error_t je;
	json_t *doc = json_loadb(data, n, JSON_ALLOW_NUL, &je), *e;
	struct buf val;
	bool warned = false;
	size_t i;
	int r = 0;
	if (!json_is_array(doc)) {
		log_error(j->lg, "the backup is not a Consul KV export (line %d: %s)", je.line,
		    doc ? "not a JSON array" : je.text);
		json_decref(doc);
		return EX_DATAERR;
	}
	buf_init(&val, SIZE_MAX);
	json_array_foreach(doc, i, e) if (r == 0) r = add_entry(j, e, i, want, &val, &warned);
	json_decref(doc);
	if (val.data)
		secure_wipe(val.data, val.len);
	buf_free(&val);
	if (want->n > 1)
		qsort(want->v, want->n, sizeof(*want->v), by_key);
	for (i = 1; r == 0 && i < want->n; i++)
		if (strcmp(want->v[i - 1].key, want->v[i].key) == 0) {
			log_error(j->lg, "the backup holds key %s twice", want->v[i].key);
			r = EX_DATAERR;
		}
	return r;
}

/* What to write: a key absent (have NULL), or different with --overwrite. */
struct op {
	const struct kv *want, *have;
};

struct plan {
	struct op *ops;
	size_t n;
	size_t added, replaced, unchanged, kept;
};

static int
make_plan(struct job *j, const struct kvs *want, const struct kvs *have, struct plan *p)
{
	p->ops = calloc(want->n + 1, sizeof(*p->ops));
	if (p->ops == NULL) {
		log_error(j->lg, "out of memory planning the restore");
		return EX_SOFTWARE;
	}
	for (size_t i = 0; i < want->n; i++) {
		const struct kv *w = &want->v[i];
		const struct kv *h = have->n ? bsearch(w, have->v, have->n, sizeof(*have->v), by_key) : NULL;
		if (h == NULL) {
			p->ops[p->n++] = (struct op){ w, NULL };
			p->added++;
		} else if (h->vlen == w->vlen && h->flags == w->flags &&
		    memcmp(h->val, w->val, w->vlen) == 0) {
			p->unchanged++;
		} else if (j->o->overwrite) {
			p->ops[p->n++] = (struct op){ w, h };
			p->replaced++;
		} else {
			if (++p->kept <= 10)
				log_info(j->lg, "keeping %s: Consul's value differs from the backup's "
						"(--overwrite replaces it)", w->key);
		}
	}
	if (p->kept > 10)
		log_info(j->lg, "... and %zu more keys kept", p->kept - 10);
	return 0;
}

/* op_json: one txn operation, as compact JSON (it may carry a secret). */
static char *
op_json(const struct op *op)
{
	struct buf b64;
	buf_init(&b64, SIZE_MAX);
	if (base64_encode(&b64, op->want->val, op->want->vlen) == -1)
		return NULL;
	json_t *o = json_pack("{s:{s:s, s:s, s:s, s:I, s:I}}", "KV", "Verb", "cas", "Key",
	    op->want->key, "Value", buf_str(&b64), "Flags", (json_int_t)op->want->flags, "Index",
	    (json_int_t)(op->have ? op->have->index : 0));
	char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (b64.data)
		secure_wipe(b64.data, b64.len);
	buf_free(&b64);
	return t;
}

/* landed: a request sent twice (a retry) fails its own CAS: look first. */
static bool
landed(struct consul *c, const char *prefix, const struct op *ops, size_t n)
{
	struct kvs now = { 0 };
	bool all = read_tree(c, prefix, &now) == 0;
	if (all && now.n > 1)
		qsort(now.v, now.n, sizeof(*now.v), by_key);
	for (size_t i = 0; all && i < n; i++) {
		const struct kv *k = now.n ? bsearch(ops[i].want, now.v, now.n, sizeof(*now.v), by_key) : NULL;
		all = k && k->vlen == ops[i].want->vlen && k->flags == ops[i].want->flags &&
		    memcmp(k->val, ops[i].want->val, k->vlen) == 0;
	}
	kvs_free(&now);
	return all;
}

static int
conflict(struct consul *c, const struct op *ops, size_t n, const struct http_response *rs)
{
	json_t *doc = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL), *e;
	size_t i, shown = 0;
	json_array_foreach(json_object_get(doc, "Errors"), i, e) {
		json_int_t at = json_integer_value(json_object_get(e, "OpIndex"));
		const char *what = json_string_value(json_object_get(e, "What"));
		if (at >= 0 && (size_t)at < n && what && ++shown <= 5)
			log_error(c->lg, "%s: %s", ops[at].want->key, what);
	}
	json_decref(doc);
	log_error(c->lg, "a key changed in Consul during the restore: none of this "
			 "transaction's %zu operations was applied; run the restore again", n);
	return EX_TEMPFAIL;
}

static int
send_txn(struct consul *c, const char *prefix, const struct buf *body, const struct op *ops,
    size_t n)
{
	struct http_response rs;
	http_response_init(&rs, 16u << 20);
	int r = web_call(&c->w, "PUT", "/v1/txn", "application/json", body->data, body->len,
	    16u << 20, &rs);
	if (r == 0 && rs.status == 409 && !landed(c, prefix, ops, n))
		r = conflict(c, ops, n, &rs);
	else if (r == 0 && rs.status != 200 && rs.status != 409)
		r = web_refused(&c->w, "apply a transaction", &rs);
	http_response_free(&rs);
	return r;
}

/* put_alone: a value too large for a txn body, by PUT ?cas=&flags=. */
static int
put_alone(struct consul *c, const char *prefix, const struct op *op)
{
	struct buf path;
	struct http_response rs;
	buf_init(&path, 8192);
	http_response_init(&rs, 4096);
	int r = buf_puts(&path, "/v1/kv/") | url_path(&path, op->want->key) |
	    buf_printf(&path, "?cas=%llu&flags=%llu",
	        (unsigned long long)(op->have ? op->have->index : 0),
	        (unsigned long long)op->want->flags);
	r = r ? EX_SOFTWARE : web_call(&c->w, "PUT", path.data, NULL, op->want->val,
	    op->want->vlen, 4096, &rs);
	if (r == 0 && rs.status != 200)
		r = web_refused(&c->w, "write a large value", &rs);
	else if (r == 0 && strncmp(buf_str(&rs.body), "true", 4) != 0 &&
	    !landed(c, prefix, op, 1)) {
		log_error(c->lg, "%s changed in Consul during the restore; run it again",
		    op->want->key);
		r = EX_TEMPFAIL;
	}
	buf_free(&path);
	http_response_free(&rs);
	return r;
}

static int
apply(struct consul *c, const char *prefix, const struct plan *p)
{
	struct buf body;
	size_t first = 0, i = 0;
	int r = 0;
	buf_init(&body, SIZE_MAX);
	while (r == 0 && first < p->n) {
		buf_reset(&body);
		r = buf_putc(&body, '[') ? EX_SOFTWARE : 0;
		for (i = first; r == 0 && i < p->n && i - first < TXN_MAX_OPS; i++) {
			char *t = op_json(&p->ops[i]);
			size_t len = t ? strlen(t) : 0;
			bool fits = body.len + len + 2 <= TXN_MAX_BYTES;
			if (t == NULL)
				r = EX_SOFTWARE;
			else if (fits && ((i > first && buf_putc(&body, ',')) ||
			    buf_append(&body, t, len)))
				r = EX_SOFTWARE;
			if (t)
				secure_wipe(t, len);
			free(t);
			if (!fits)
				break;
		}
		if (r == 0 && buf_putc(&body, ']'))
			r = EX_SOFTWARE;
		if (r == EX_SOFTWARE)
			log_error(c->lg, "out of memory building a transaction");
		else if (i == first)
			r = put_alone(c, prefix, &p->ops[i++]);
		else
			r = send_txn(c, prefix, &body, &p->ops[first], i - first);
		if (r == 0)
			log_progress(c->lg, "restored %zu of %zu keys", i, p->n);
		first = i;
	}
	log_progress_end(c->lg);
	if (body.data)
		secure_wipe(body.data, body.cap);
	buf_free(&body);
	return r;
}

/* common_prefix: the longest prefix every key shares, read once. */
static void
common_prefix(const struct kvs *s, char *out, size_t outsize)
{
	size_t n = s->n ? strlen(s->v[0].key) : 0;
	for (size_t i = 1; i < s->n; i++) {
		size_t k = 0;
		while (k < n && s->v[i].key[k] == s->v[0].key[k])
			k++;
		n = k;
	}
	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, s->n ? s->v[0].key : "", n);
	out[n] = '\0';
}

int
consul_restore(struct job *j, const char *data, size_t n)
{
	struct kvs want = { 0 }, have = { 0 };
	struct plan p = { 0 };
	struct consul c;
	char prefix[1024];
	int r = parse_backup(j, data, n, &want);
	if (r == 0)
		r = consul_open(&c, j->o, j->lg);
	else
		memset(&c, 0, sizeof(c));
	common_prefix(&want, prefix, sizeof(prefix));
	if (r == 0 && want.n > 0)
		r = read_tree(&c, prefix, &have);
	if (have.n > 1)
		qsort(have.v, have.n, sizeof(*have.v), by_key);
	if (r == 0)
		r = make_plan(j, &want, &have, &p);
	if (r == 0 && !j->o->dry_run)
		r = apply(&c, prefix, &p);
	if (r == 0) {
		bool d = j->o->dry_run;
		buf_printf(j->out, "consul: %s %zu, %s %zu, unchanged %zu, kept %zu\n",
		    d ? "would add" : "added", p.added, d ? "would replace" : "replaced", p.replaced,
		    p.unchanged, p.kept);
		if (p.n == 0)
			log_info(j->lg, "nothing to change: Consul already holds the backup's %zu keys%s",
			    want.n, p.kept ? " (or newer values, kept)" : "");
	}
	free(p.ops);
	kvs_free(&want);
	kvs_free(&have);
	if (c.lg != NULL)
		consul_close(&c);
	return r;
}
