/*
 * catalog.c: names, manifests, and which backups are complete.
 *
 * Layout under the store's root, as the original consulate | aws s3 cp
 * pipeline named its objects:
 *
 *   <env>/<service>/<service>-backup-<YYYYmmddHHMMSS>-<host>.<ext>[.gz]
 *   <env>/<service>/<that name>.manifest.json
 *
 * A backup is complete when both exist.  The manifest is written last,
 * after the object is whole and its size checked, so a backup that failed
 * at any point has no manifest, and list and restore latest never see it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "exits.h"

#define MANIFEST_SUFFIX ".manifest.json"
#define MANIFEST_FORMAT "socorro-backup/1"
#define MANIFEST_MAX (1u << 20)

const char *const svc_names[SVC_N] = { "consul", "rabbitmq", "postgres", "elasticsearch" };

int
svc_from_name(const char *s)
{
	for (int i = 0; i < SVC_N; i++)
		if (strcmp(s, svc_names[i]) == 0)
			return i;
	return -1;
}

/* pg_dump -Fc compresses its own output: gzip would only cost time. */
bool
svc_compresses(enum svc s)
{
	return s != SVC_POSTGRES;
}

const char *
svc_ext(enum svc s, bool compress)
{
	if (s == SVC_POSTGRES)
		return ".dump";
	return compress ? ".json.gz" : ".json";
}

int
backup_name(enum svc s, const char *stamp, const char *host, bool compress, char *out,
    size_t outsize)
{
	return str_fmt(out, outsize, "%s-backup-%s-%s%s", svc_names[s], stamp, host,
	    svc_ext(s, compress && svc_compresses(s)));
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool
parse_backup_name(enum svc s, const char *name, char stamp[15])
{
	size_t pl = strlen(svc_names[s]);
	if (strncmp(name, svc_names[s], pl) != 0 || strncmp(name + pl, "-backup-", 8) != 0 ||
	    ends_with(name, MANIFEST_SUFFIX))
		return false;
	const char *p = name + pl + 8;
	for (int i = 0; i < 14; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	if (p[14] != '-')
		return false;
	const char *host = p + 15;
	const char *exts[] = { svc_ext(s, true), svc_ext(s, false) };
	for (size_t i = 0; i < 2; i++) {
		size_t hl = strlen(host), el = strlen(exts[i]);
		if (hl > el && ends_with(host, exts[i])) {
			memcpy(stamp, p, 14);
			stamp[14] = '\0';
			return true;
		}
	}
	return false;
}

int
manifest_name(const char *object, char *out, size_t outsize)
{
	return str_fmt(out, outsize, "%s%s", object, MANIFEST_SUFFIX);
}

static struct backup_entry *
entry_for(struct catalog *c, const char *name, const char *stamp)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct backup_entry *v = realloc(c->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	struct backup_entry *e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	str_copy(e->name, sizeof(e->name), name);
	memcpy(e->stamp, stamp, 15);
	return e;
}

static int
by_time(const void *a, const void *b)
{
	const struct backup_entry *x = a, *y = b;
	int r = strcmp(x->stamp, y->stamp);
	return r ? r : strcmp(x->name, y->name);
}

int
catalog_load(struct store *st, const char *dir, enum svc s, struct catalog *c)
{
	struct store_items items = { 0 };
	int r = store_list(st, dir, &items);
	for (size_t i = 0; r == 0 && i < items.n; i++) {
		char name[BK_NAME_MAX], stamp[15];
		const char *n = items.v[i].name;
		bool man = ends_with(n, MANIFEST_SUFFIX);
		if (str_copy(name, sizeof(name), n) == -1)
			continue;
		if (man)
			name[strlen(name) - strlen(MANIFEST_SUFFIX)] = '\0';
		if (!parse_backup_name(s, name, stamp))
			continue;
		struct backup_entry *e = entry_for(c, name, stamp);
		if (e == NULL) {
			log_error(st->lg, "out of memory listing backups");
			r = EX_SOFTWARE;
		} else if (man) {
			e->manifest = true;
		} else {
			e->object = true;
			e->size = items.v[i].size;
		}
	}
	store_items_free(&items);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_time);
	return r;
}

void
catalog_free(struct catalog *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

size_t
catalog_complete(const struct catalog *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].object && c->v[i].manifest;
	return n;
}

/* --- manifests ---------------------------------------------------------------- */

int
manifest_make(struct manifest *m, json_t *source, const char *tool_version)
{
	m->source = source;
	m->doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o}",
	    "format", MANIFEST_FORMAT, "service", m->service, "env", m->env, "time", m->time,
	    "host", m->host, "tool", "backup", "tool_version", tool_version, "object", m->object,
	    "size", (json_int_t)m->size, "sha256", m->sha256, "compression", m->compression,
	    "content", m->content, "source", source ? json_incref(source) : json_object());
	return m->doc ? 0 : -1;
}

char *
manifest_text(const struct manifest *m)
{
	char *t = json_dumps(m->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (t == NULL)
		return NULL;
	/* One newline at the end, as a text file. */
	size_t n = strlen(t);
	char *u = realloc(t, n + 2);
	if (u == NULL) {
		free(t);
		return NULL;
	}
	u[n] = '\n';
	u[n + 1] = '\0';
	return u;
}

static bool
get_str(json_t *doc, const char *key, char *out, size_t outsize)
{
	const char *v = json_string_value(json_object_get(doc, key));
	return v != NULL && str_copy(out, outsize, v) == 0;
}

static bool
hex64(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return i == 64;
}

int
manifest_parse(struct manifest *m, const char *text, size_t n, const char *what,
    struct log *lg)
{
	json_error_t je;
	memset(m, 0, sizeof(*m));
	m->doc = json_loadb(text, n, 0, &je);
	if (m->doc == NULL) {
		log_error(lg, "%s:%d:%d: not a backup manifest: %s", what, je.line, je.column,
		    je.text);
		return EX_DATAERR;
	}
	json_t *size = json_object_get(m->doc, "size");
	const char *fmt = json_string_value(json_object_get(m->doc, "format"));
	if (fmt == NULL || strcmp(fmt, MANIFEST_FORMAT) != 0 ||
	    !get_str(m->doc, "service", m->service, sizeof(m->service)) ||
	    !get_str(m->doc, "env", m->env, sizeof(m->env)) ||
	    !get_str(m->doc, "time", m->time, sizeof(m->time)) ||
	    !get_str(m->doc, "host", m->host, sizeof(m->host)) ||
	    !get_str(m->doc, "object", m->object, sizeof(m->object)) ||
	    !get_str(m->doc, "compression", m->compression, sizeof(m->compression)) ||
	    !get_str(m->doc, "content", m->content, sizeof(m->content)) ||
	    !get_str(m->doc, "sha256", m->sha256, sizeof(m->sha256)) || !hex64(m->sha256) ||
	    !json_is_integer(size) || json_integer_value(size) < 0 ||
	    (strcmp(m->compression, "gzip") != 0 && strcmp(m->compression, "none") != 0)) {
		log_error(lg, "%s: not a %s manifest (a field is missing or malformed)", what,
		    MANIFEST_FORMAT);
		json_decref(m->doc);
		m->doc = NULL;
		return EX_DATAERR;
	}
	m->size = (uint64_t)json_integer_value(size);
	m->source = json_incref(json_object_get(m->doc, "source"));
	return 0;
}

void
manifest_free(struct manifest *m)
{
	json_decref(m->source);
	json_decref(m->doc);
	m->source = m->doc = NULL;
}

int
manifest_load(struct store *st, const char *key, struct manifest *m)
{
	char mkey[BK_KEY_MAX + 32], url[BK_URL_MAX];
	struct buf b;
	if (manifest_name(key, mkey, sizeof(mkey)) == -1)
		return EX_USAGE;
	store_key_url(st, mkey, url, sizeof(url));
	buf_init(&b, MANIFEST_MAX);
	int r = store_get(st, mkey, 0, buf_sink, &b);
	if (r == EX_DATAERR)
		log_error(st->lg, "%s: larger than a manifest can be", url);
	if (r == 0)
		r = manifest_parse(m, b.data ? b.data : "", b.len, url, st->lg);
	buf_free(&b);
	return r;
}
