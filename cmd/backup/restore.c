/*
 * restore.c: restore, verify and list.
 *
 * Every restore checks the backup first: the object's size and SHA-256
 * against its manifest, before anything is written.  A JSON backup is read
 * once into memory and checked there; a PostgreSQL dump is read twice,
 * once to check it, once to stream it into pg_restore, and the second
 * read is checked too before pg_restore may commit (pg.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "exits.h"

/* compare: the bytes read against the manifest. */
static int
compare(struct log *lg, const char *url, struct tally *t, const struct manifest *m)
{
	char hex[SIGV4_HEX_SIZE];
	tally_final(t, hex);
	if (m->unverified)
		return 0;
	if (t->n != m->size) {
		log_error(lg, "%s: %llu bytes, but its manifest says %llu: the backup is damaged "
			      "or cut short", url, (unsigned long long)t->n,
		    (unsigned long long)m->size);
		return EX_DATAERR;
	}
	if (strcmp(hex, m->sha256) != 0) {
		log_error(lg, "%s: SHA-256 %s, but its manifest says %s: the backup is damaged",
		    url, hex, m->sha256);
		return EX_DATAERR;
	}
	return 0;
}

/* strip_manifest: a manifest's URL or name stands for its backup. */
static void
strip_manifest(char *name)
{
	size_t n = strlen(name), m = strlen(".manifest.json");
	if (n > m && strcmp(name + n - m, ".manifest.json") == 0)
		name[n - m] = '\0';
}

/*
 * locate opens the store holding the backup --from names and sets key:
 * a URL, a name in <env>/<service>/, or latest (the newest complete one).
 */
static int
locate(struct ctx *c, const char *from, struct store *st, char *key, size_t keysize)
{
	char dir[BK_KEY_MAX], name[BK_NAME_MAX];
	int r;
	str_fmt_clip(dir, sizeof(dir), "%s/%s/", c->env, svc_names[c->o->svc]);
	if (strstr(from, "://") != NULL) {
		if ((r = store_open_object(st, from, name, sizeof(name), c->o, c->lg)) != 0)
			return r;
		strip_manifest(name);
		return str_copy(key, keysize, name) == 0 ? 0 : EX_USAGE;
	}
	if ((r = store_open(st, c->root, c->o, c->lg)) != 0)
		return r;
	if (strcmp(from, "latest") != 0) {
		if (strchr(from, '/') || str_copy(name, sizeof(name), from) == -1) {
			log_error(c->lg, "--from %s: give a URL, a backup's name or latest", from);
			return EX_USAGE;
		}
		strip_manifest(name);
		return str_fmt(key, keysize, "%s%s", dir, name) == 0 ? 0 : EX_USAGE;
	}
	struct catalog cat = { 0 };
	r = catalog_load(st, dir, c->o->svc, &cat);
	const struct backup_entry *latest = NULL;
	for (size_t i = 0; r == 0 && i < cat.n; i++)
		if (cat.v[i].object && cat.v[i].manifest)
			latest = &cat.v[i];
	if (r == 0 && latest == NULL) {
		log_error(c->lg, "no complete %s backup in %s/%s", svc_names[c->o->svc], st->url, dir);
		r = EX_NOINPUT;
	}
	if (r == 0)
		r = str_fmt(key, keysize, "%s%s", dir, latest->name) == 0 ? 0 : EX_USAGE;
	catalog_free(&cat);
	return r;
}

/* restore_json: a JSON backup, read, checked, unpacked, handed over. */
static int
restore_json(struct ctx *c, struct store *st, struct job *j, const char *key,
    const struct manifest *m, const char *url)
{
	struct buf raw, plain;
	struct tally_sink ts = { .next = buf_sink };
	buf_init(&raw, BK_JSON_MAX);
	buf_init(&plain, BK_JSON_MAX);
	ts.next_ctx = &raw;
	tally_init(&ts.t, NULL, NULL, "read", c->lg);
	int r = store_get(st, key, m->size, tally_push, &ts);
	tally_done(&ts.t);
	if (r == EX_DATAERR)
		log_error(c->lg, "%s: larger than %u MiB", url, BK_JSON_MAX >> 20);
	if (r == 0)
		r = compare(c->lg, url, &ts.t, m);
	if (r == 0 && !m->unverified)
		log_info(c->lg, "%s: size and SHA-256 match its manifest", url);
	const struct buf *doc = &raw;
	bool gz = strcmp(m->compression, "gzip") == 0 || (m->unverified && raw.len >= 2 &&
	    (unsigned char)raw.data[0] == 0x1f && (unsigned char)raw.data[1] == 0x8b);
	if (r == 0 && gz) {
		r = gunzip_mem(raw.data ? raw.data : "", raw.len, &plain, c->lg);
		doc = &plain;
	}
	const char *p = doc->data ? doc->data : "";
	if (r == 0 && c->o->svc == SVC_CONSUL)
		r = consul_restore(j, p, doc->len);
	else if (r == 0 && c->o->svc == SVC_RABBITMQ)
		r = rabbit_restore(j, p, doc->len);
	else if (r == 0)
		r = es_restore(j, p, doc->len);
	buf_wipe(&raw);
	buf_wipe(&plain);
	return r;
}

/* restore_pg: check, then stream into pg_restore, checked again. */
static int
restore_pg(struct ctx *c, struct store *st, struct job *j, const char *key,
    const struct manifest *m, const char *url)
{
	struct tally_sink ts = { .next = NULL };
	tally_init(&ts.t, NULL, NULL, "checked", c->lg);
	int r = store_get(st, key, m->size, tally_push, &ts);
	tally_done(&ts.t);
	if (r == 0)
		r = compare(c->lg, url, &ts.t, m);
	if (r != 0)
		return r;
	if (!m->unverified)
		log_info(c->lg, "%s: size and SHA-256 match its manifest", url);
	if (c->o->dry_run) {
		pg_restore_plan(c->o, &c->out);
		return 0;
	}
	bool gz = strcmp(m->compression, "gzip") == 0;
	struct gunzip_sink g;
	struct holdback h = { .next = gz ? gunzip_push : pg_restore_push };
	h.next_ctx = gz ? (void *)&g : (void *)j;
	if ((r = pg_restore_start(j)) != 0 || (gz && (r = gunzip_init(&g, pg_restore_push, j,
	    c->lg)) != 0)) {
		pg_restore_end(j, false);
		return r;
	}
	ts = (struct tally_sink){ .next = holdback_push, .next_ctx = &h };
	tally_init(&ts.t, NULL, NULL, "restored", c->lg);
	r = store_get(st, key, m->size, tally_push, &ts);
	tally_done(&ts.t);
	if (r == 0)
		r = compare(c->lg, url, &ts.t, m);
	if (r == 0)
		r = holdback_flush(&h);
	if (gz)
		r = r ? (gunzip_abort(&g), r) : gunzip_end(&g);
	int pr = pg_restore_end(j, r == 0);
	holdback_free(&h);
	if (r == 0 && pr == 0)
		buf_printf(&c->out, "postgres: restored %s\n", url);
	if (r != 0 || pr != 0)
		log_error(c->lg, "the restore was rolled back (one transaction): the database is as "
				 "it was%s", pr == EX_DATAERR ? "; restore into an empty database, or "
				 "give --overwrite to drop and recreate what the backup holds" : "");
	return r ? r : pr;
}

/* unverified: what stands for the manifest of an object that has none. */
static int
unverified(struct ctx *c, struct store *st, const char *key, struct manifest *m,
    const char *url)
{
	uint64_t size;
	int r = store_stat(st, key, &size);
	if (r == EX_NOINPUT)
		log_error(c->lg, "%s: no such object", url);
	if (r != 0)
		return r;
	memset(m, 0, sizeof(*m));
	m->unverified = true;
	m->size = size;
	str_copy(m->service, sizeof(m->service), svc_names[c->o->svc]);
	str_copy(m->compression, sizeof(m->compression), "none"); /* gzip: by its magic */
	str_copy(m->time, sizeof(m->time), "unknown time");
	str_copy(m->host, sizeof(m->host), "an unknown host");
	log_warn(c->lg, "%s has no manifest: restoring it unverified (--unverified)", url);
	return 0;
}

/* load_checked: the manifest of key, which must be of this service. */
static int
load_checked(struct ctx *c, struct store *st, const char *key, struct manifest *m,
    const char *url)
{
	char mkey[BK_KEY_MAX + 32];
	uint64_t size;
	int r = manifest_name(key, mkey, sizeof(mkey)) == 0 ? store_stat(st, mkey, &size)
	                                                   : EX_USAGE;
	if (r == EX_NOINPUT && c->o->unverified)
		return unverified(c, st, key, m, url);
	if (r == EX_NOINPUT)
		log_error(c->lg, "%s: no manifest beside it: not a complete backup (one made "
				 "before this tool? --unverified restores it unchecked)", url);
	if (r == 0)
		r = manifest_load(st, key, m);
	if (r == 0 && strcmp(m->service, svc_names[c->o->svc]) != 0) {
		log_error(c->lg, "%s is a %s backup, not %s", url, m->service, svc_names[c->o->svc]);
		r = EX_DATAERR;
	}
	return r;
}

int
do_restore(struct ctx *c)
{
	struct store st;
	struct manifest m;
	struct job j = { .o = c->o, .lg = c->lg, .out = &c->out };
	char key[BK_KEY_MAX], url[BK_URL_MAX];
	memset(&m, 0, sizeof(m));
	memset(&st, 0, sizeof(st));
	int r = locate(c, c->o->from, &st, key, sizeof(key));
	store_key_url(&st, key, url, sizeof(url));
	if (r == 0)
		r = load_checked(c, &st, key, &m, url);
	if (r == 0)
		log_info(c->lg, "restoring %s (%s, from %s)", url, m.time, m.host);
	if (r == 0 && c->o->svc == SVC_POSTGRES)
		r = restore_pg(c, &st, &j, key, &m, url);
	else if (r == 0)
		r = restore_json(c, &st, &j, key, &m, url);
	manifest_free(&m);
	store_close(&st);
	return r;
}

int
do_verify(struct ctx *c, const char *target)
{
	struct store st;
	struct manifest m;
	struct tally_sink ts = { .next = NULL };
	char name[BK_NAME_MAX];
	char mkey[BK_KEY_MAX + 32];
	uint64_t size;
	memset(&m, 0, sizeof(m));
	memset(&st, 0, sizeof(st));
	int r = store_open_object(&st, target, name, sizeof(name), c->o, c->lg);
	strip_manifest(name);
	if (r == 0)
		r = manifest_name(name, mkey, sizeof(mkey)) == 0 ? store_stat(&st, mkey, &size)
		                                                   : EX_USAGE;
	if (r == EX_NOINPUT)
		log_error(c->lg, "%s: no manifest beside it: not a complete backup", target);
	if (r == 0)
		r = manifest_load(&st, name, &m);
	if (r != 0) {
		store_close(&st);
		return r;
	}
	char url[BK_URL_MAX];
	store_key_url(&st, name, url, sizeof(url));
	if (strcmp(m.object, name) != 0)
		log_warn(c->lg, "%s: its manifest names object %s", url, m.object);
	tally_init(&ts.t, NULL, NULL, "verified", c->lg);
	r = store_get(&st, name, m.size, tally_push, &ts);
	tally_done(&ts.t);
	if (r == 0)
		r = compare(c->lg, url, &ts.t, &m);
	if (r == 0)
		buf_printf(&c->out, "%s: verified, %llu bytes, sha256 %s\n", url,
		    (unsigned long long)m.size, m.sha256);
	manifest_free(&m);
	store_close(&st);
	return r;
}

/* list_line formats one complete backup. */
static void
list_line(struct ctx *c, const struct store *st, const char *dir, const struct backup_entry *e,
    json_t *states)
{
	char key[BK_KEY_MAX], url[BK_URL_MAX], iso[32], snap[BK_NAME_MAX];
	const char *s = e->stamp;
	str_fmt_clip(key, sizeof(key), "%s%s", dir, e->name);
	store_key_url(st, key, url, sizeof(url));
	str_fmt_clip(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 8,
	    s + 10, s + 12);
	str_copy(snap, sizeof(snap), e->name);
	char *dot = strstr(snap, ".json");
	if (dot)
		*dot = '\0';
	const char *state = states ? json_string_value(json_object_get(states, snap)) : NULL;
	if (states && state == NULL)
		state = "missing";
	if (c->o->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "url", url, "name", e->name, "time",
		    iso, "size", (json_int_t)e->size);
		if (states)
			json_object_set_new(o, "snapshot", json_pack("{s:s, s:s}", "name", snap,
			    "state", state));
		char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		buf_printf(&c->out, "%s\n", t ? t : "{}");
		free(t);
		json_decref(o);
	} else if (states) {
		buf_printf(&c->out, "%s %llu %s %s %s\n", iso, (unsigned long long)e->size, url, snap,
		    state);
	} else {
		buf_printf(&c->out, "%s %llu %s\n", iso, (unsigned long long)e->size, url);
	}
}

int
do_list(struct ctx *c)
{
	struct store st;
	struct catalog cat = { 0 };
	json_t *states = NULL;
	char dir[BK_KEY_MAX];
	str_fmt_clip(dir, sizeof(dir), "%s/%s/", c->env, svc_names[c->o->svc]);
	int r = store_open(&st, c->root, c->o, c->lg);
	if (r == 0)
		r = catalog_load(&st, dir, c->o->svc, &cat);
	if (r == 0 && c->o->svc == SVC_ELASTICSEARCH) {
		struct job j = { .o = c->o, .lg = c->lg };
		r = es_states(&j, &states);
	}
	size_t n = 0;
	for (size_t i = 0; r == 0 && i < cat.n; i++) {
		const struct backup_entry *e = &cat.v[i];
		if (e->object && e->manifest) {
			list_line(c, &st, dir, e, states);
			n++;
		} else {
			log_debug(c->lg, "%s: %s", e->name, e->object ? "no manifest (a run that "
			    "failed or is still going): not listed" : "a manifest without its object");
		}
	}
	if (r == 0)
		log_info(c->lg, "%zu %s backup%s in %s/%s", n, svc_names[c->o->svc],
		    n == 1 ? "" : "s", st.url, dir);
	json_decref(states);
	catalog_free(&cat);
	store_close(&st);
	return r;
}
