/*
 * run.c: one backup, start to end.
 *
 *  1. a name that is free: <svc>-backup-<UTC stamp>-<host><ext>
 *  2. the service yields its content: a document built in memory
 *     (consul, rabbitmq, the elasticsearch snapshot's record) or pg_dump's
 *     output, streamed
 *  3. gzip (JSON only), SHA-256 and size on the way into the store; the
 *     object appears whole or not at all
 *  4. the stored size checked, then the manifest written: now it counts
 *  5. --keep N: the new backup re-read and checked against its manifest,
 *     then the oldest complete backups beyond N deleted (manifest first, so
 *     a deletion cut short never leaves a backup that looks complete)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "exits.h"

/* stamp_now: the UTC time as YYYYmmddHHMMSS and ISO 8601. */
static void
stamp_now(char stamp[15], char iso[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, 15, "%Y%m%d%H%M%S", &tm);
	strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* taken: 0 if no object or manifest has key's name, 1 if one has, or an EX_* code. */
static int
taken(struct store *st, const char *key)
{
	char mkey[BK_KEY_MAX + 32];
	uint64_t size;
	int r = store_stat(st, key, &size);
	if (r == EX_NOINPUT && manifest_name(key, mkey, sizeof(mkey)) == 0)
		r = store_stat(st, mkey, &size);
	return r == 0 ? 1 : r == EX_NOINPUT ? 0 : r;
}

/*
 * pick_name: a name no backup has.  Two runs in the same second on one
 * host would collide: the second waits for the next second.
 */
static int
pick_name(struct ctx *c, struct store *st, struct job *j, struct manifest *m, char *key,
    size_t keysize)
{
	bool gz = !c->o->no_compress && svc_compresses(c->o->svc);
	for (int tries = 0; tries < 3; tries++) {
		stamp_now(j->stamp, m->time);
		if (backup_name(c->o->svc, j->stamp, c->host, gz, m->object, sizeof(m->object)) == -1 ||
		    str_fmt(key, keysize, "%s/%s/%s", c->env, svc_names[c->o->svc], m->object) == -1) {
			log_error(c->lg, "host name %s too long for a backup name", c->host);
			return EX_USAGE;
		}
		int t = taken(st, key);
		if (t != 1)
			return t;
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
	log_error(c->lg, "%s/%s exists, and so does every name tried after it", st->url, key);
	return EX_TEMPFAIL;
}

/* gather: the service's content, in j->mem or behind j->read. */
static int
gather(struct job *j)
{
	switch (j->o->svc) {
	case SVC_CONSUL: return consul_backup(j);
	case SVC_RABBITMQ: return rabbit_backup(j);
	case SVC_POSTGRES: return pg_backup_start(j);
	case SVC_ELASTICSEARCH: return es_backup(j);
	default: return EX_SOFTWARE;
	}
}

/* upload sends the content through gzip and the tally into the store. */
static int
upload(struct ctx *c, struct store *st, struct job *j, const char *key, struct manifest *m)
{
	struct mem_src mem = { j->mem.data, j->mem.len, 0 };
	struct gzip_src gz;
	struct tally t;
	bk_read_fn rd = j->read ? j->read : mem_read;
	void *ctx = j->read ? j->read_ctx : &mem;
	bool compress = strcmp(m->compression, "gzip") == 0;
	if (compress && gzip_src_init(&gz, rd, ctx) == -1) {
		log_error(c->lg, "cannot set up gzip (out of memory)");
		return EX_SOFTWARE;
	}
	tally_init(&t, compress ? gzip_read : rd, compress ? (void *)&gz : ctx, "stored", c->lg);
	int r = store_put_stream(st, key, tally_read, &t,
	    compress ? "application/gzip" : j->read ? "application/octet-stream" : "application/json");
	tally_done(&t);
	if (compress)
		gzip_src_free(&gz);
	if (j->o->svc == SVC_POSTGRES) {
		/* pg_dump's own failure is the one to report. */
		int pr = pg_backup_end(j, r == 0);
		r = pr ? pr : r;
	}
	if (r != 0 && bk_interrupted)
		log_error(c->lg, "interrupted: nothing was stored");
	if (r != 0)
		return bk_interrupted ? EX_TEMPFAIL : r;
	m->size = t.n;
	tally_final(&t, m->sha256);
	uint64_t size = 0;
	int sr = store_stat(st, key, &size);
	if (sr != 0 || size != m->size) {
		char url[BK_URL_MAX];
		store_key_url(st, key, url, sizeof(url));
		log_error(c->lg, "%s: stored %llu bytes but %s %llu; deleting it", url,
		    (unsigned long long)m->size, sr ? "cannot see it back:" : "it holds",
		    (unsigned long long)size);
		store_delete(st, key);
		return sr ? sr : EX_UNAVAILABLE;
	}
	return 0;
}

/* write_manifest: the last step; the object is deleted if it fails. */
static int
write_manifest(struct ctx *c, struct store *st, struct job *j, const char *key,
    struct manifest *m)
{
	char mkey[BK_KEY_MAX + 32];
	bool named = manifest_name(key, mkey, sizeof(mkey)) == 0;
	str_copy(m->service, sizeof(m->service), svc_names[c->o->svc]);
	str_copy(m->env, sizeof(m->env), c->env);
	str_copy(m->host, sizeof(m->host), c->host);
	str_copy(m->content, sizeof(m->content), j->content ? j->content : "");
	if (manifest_make(m, j->source, SB_VERSION) == -1) {
		log_error(c->lg, "out of memory writing the manifest");
		return EX_SOFTWARE;
	}
	j->source = NULL; /* the manifest holds it now */
	char *text = manifest_text(m);
	int r = text && named ? store_put_mem(st, mkey, text, strlen(text), "application/json")
	                      : EX_SOFTWARE;
	free(text);
	/* The PUT may have stored the manifest and lost only the answer: it
	 * goes first, so that none is left naming a deleted object; if it
	 * cannot be deleted, neither is the object: a backup may stand whole,
	 * but never a manifest alone. */
	if (r != 0 && (!named || store_delete(st, mkey) == 0))
		store_delete(st, key);
	return r;
}

/* check_object re-reads key and compares it with what m says. */
static int
check_object(struct ctx *c, struct store *st, const char *key, const struct manifest *m)
{
	struct tally_sink ts = { .next = NULL };
	char hex[SIGV4_HEX_SIZE], url[BK_URL_MAX];
	tally_init(&ts.t, NULL, NULL, "verified", c->lg);
	int r = store_get(st, key, m->size, tally_push, &ts);
	tally_done(&ts.t);
	tally_final(&ts.t, hex);
	store_key_url(st, key, url, sizeof(url));
	if (r == 0 && ts.t.n != m->size) {
		log_error(c->lg, "%s: %llu bytes, but its manifest says %llu: the backup is damaged",
		    url, (unsigned long long)ts.t.n, (unsigned long long)m->size);
		r = EX_DATAERR;
	} else if (r == 0 && strcmp(hex, m->sha256) != 0) {
		log_error(c->lg, "%s: SHA-256 %s, but its manifest says %s: the backup is damaged",
		    url, hex, m->sha256);
		r = EX_DATAERR;
	}
	return r;
}

/* forget deletes one backup: manifest first, then the object. */
static int
forget(struct ctx *c, struct store *st, struct job *j, const char *dir,
    const struct backup_entry *e)
{
	char key[BK_KEY_MAX], mkey[BK_KEY_MAX + 32];
	str_fmt_clip(key, sizeof(key), "%s%s", dir, e->name);
	manifest_name(key, mkey, sizeof(mkey));
	if (c->o->dry_run) {
		log_info(c->lg, "would delete %s", e->name);
		return 0;
	}
	int r = 0;
	if (c->o->svc == SVC_ELASTICSEARCH && e->manifest) {
		struct manifest m;
		if ((r = manifest_load(st, key, &m)) == 0) {
			r = es_forget(j, &m);
			manifest_free(&m);
		}
		if (r != 0)
			return r;
	}
	if (e->manifest && (r = store_delete(st, mkey)) != 0)
		return r;
	if (e->object && (r = store_delete(st, key)) != 0)
		return r;
	log_info(c->lg, "deleted %s%s", e->name, e->manifest ? "" : " (incomplete)");
	return 0;
}

/*
 * retain keeps the newest keep complete backups.  Incomplete ones (an
 * object without its manifest: a run that failed to finish) older than the
 * oldest kept are deleted too; newer ones may be a run still going.
 */
static int
retain(struct ctx *c, struct store *st, struct job *j, const char *new_name, long keep)
{
	char dir[BK_KEY_MAX];
	struct catalog cat = { 0 };
	str_fmt_clip(dir, sizeof(dir), "%s/%s/", c->env, svc_names[c->o->svc]);
	int r = catalog_load(st, dir, c->o->svc, &cat);
	size_t complete = catalog_complete(&cat), drop = 0;
	/* A dry run has not made its backup: it would be one more. */
	if (c->o->dry_run && new_name == NULL)
		complete++;
	drop = complete > (size_t)keep ? complete - (size_t)keep : 0;
	const char *oldest_kept = NULL;
	for (size_t i = 0, seen = 0; r == 0 && i < cat.n; i++) {
		struct backup_entry *e = &cat.v[i];
		if (!(e->object && e->manifest))
			continue;
		if (seen++ < drop) {
			if (new_name && strcmp(e->name, new_name) == 0)
				continue; /* never the one just made */
			r = forget(c, st, j, dir, e);
		} else if (oldest_kept == NULL) {
			oldest_kept = e->stamp;
		}
	}
	for (size_t i = 0; r == 0 && oldest_kept && i < cat.n; i++)
		if (!cat.v[i].manifest && strcmp(cat.v[i].stamp, oldest_kept) < 0)
			r = forget(c, st, j, dir, &cat.v[i]);
	if (r == 0)
		log_info(c->lg, "%s %zu old backup%s, keeping %ld", c->o->dry_run ? "would delete"
		    : "deleted", drop, drop == 1 ? "" : "s", keep);
	catalog_free(&cat);
	return r;
}

/* report: the new backup's URL, or its manifest with --json. */
static void
report(struct ctx *c, struct store *st, const char *key, const struct manifest *m)
{
	char url[BK_URL_MAX], sz[32];
	store_key_url(st, key, url, sizeof(url));
	human_size(m->size, sz);
	log_info(c->lg, "%s backed up: %s (%s)", svc_names[c->o->svc], url, sz);
	if (!c->o->json) {
		buf_printf(&c->out, "%s\n", url);
		return;
	}
	json_t *d = json_deep_copy(m->doc);
	json_object_set_new(d, "url", json_string(url));
	char *t = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (t)
		buf_printf(&c->out, "%s\n", t);
	free(t);
	json_decref(d);
}

static int
dry_run(struct ctx *c, struct store *st, struct job *j)
{
	char name[BK_NAME_MAX], stamp[15], iso[32], url[BK_URL_MAX], key[BK_KEY_MAX];
	stamp_now(stamp, iso);
	backup_name(c->o->svc, stamp, c->host, !c->o->no_compress, name, sizeof(name));
	str_fmt_clip(key, sizeof(key), "%s/%s/%s", c->env, svc_names[c->o->svc], name);
	store_key_url(st, key, url, sizeof(url));
	buf_printf(&c->out, "would back up %s to %s\n", svc_names[c->o->svc], url);
	return c->o->keep ? retain(c, st, j, NULL, c->o->keep) : 0;
}

int
do_backup(struct ctx *c)
{
	struct store st;
	struct job j = { .o = c->o, .lg = c->lg };
	struct manifest m;
	char key[BK_KEY_MAX];
	memset(&m, 0, sizeof(m));
	buf_init(&j.mem, BK_JSON_MAX);
	str_copy(j.host, sizeof(j.host), c->host);
	int r = store_open(&st, c->root, c->o, c->lg);
	if (r == 0 && c->o->dry_run) {
		r = dry_run(c, &st, &j);
		store_close(&st);
		buf_free(&j.mem);
		return r;
	}
	str_copy(m.compression, sizeof(m.compression),
	    !c->o->no_compress && svc_compresses(c->o->svc) ? "gzip" : "none");
	if (r == 0)
		r = pick_name(c, &st, &j, &m, key, sizeof(key));
	if (r == 0 && c->o->svc == SVC_ELASTICSEARCH) {
		/* The snapshot is named like the object, without its extension. */
		str_copy(j.snapshot, sizeof(j.snapshot), m.object);
		char *ext = strstr(j.snapshot, ".json");
		if (ext != NULL)
			*ext = '\0';
	}
	bool gathered = false;
	if (r == 0)
		gathered = (r = gather(&j)) == 0;
	if (r != 0 && c->o->svc == SVC_POSTGRES)
		pg_backup_end(&j, false);
	if (r == 0)
		r = upload(c, &st, &j, key, &m);
	if (r == 0)
		r = write_manifest(c, &st, &j, key, &m);
	if (r != 0 && gathered && c->o->svc == SVC_ELASTICSEARCH)
		es_discard(&j);
	if (r == 0 && c->o->keep) {
		r = check_object(c, &st, key, &m);
		if (r == 0) {
			r = retain(c, &st, &j, m.object, c->o->keep);
		} else if (r == EX_DATAERR) {
			/* Stored wrong: it must not be what restore latest takes. */
			char mkey[BK_KEY_MAX + 32];
			manifest_name(key, mkey, sizeof(mkey));
			store_delete(&st, mkey);
			store_delete(&st, key);
			if (c->o->svc == SVC_ELASTICSEARCH)
				es_discard(&j);
			log_error(c->lg, "the new backup was deleted; no old one was");
		}
	}
	if (r == 0)
		report(c, &st, key, &m);
	json_decref(j.source);
	manifest_free(&m);
	if (j.mem.data)
		secure_wipe(j.mem.data, j.mem.len); /* Consul values may be secrets */
	buf_free(&j.mem);
	store_close(&st);
	return r;
}
