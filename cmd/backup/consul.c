/*
 * consul.c: Consul's KV store, backed up in the exact format of
 * `consul kv export` (so `consul kv import` reads our backups) and
 * restored through /v1/txn.
 *
 *   GET /v1/kv/<prefix>?recurse     the tree, once
 *   PUT /v1/txn                     the restore: at most 64 operations and
 *                                   512 KiB a request, each a check-and-set:
 *                                   index 0 for a key that is absent (so a
 *                                   key created meanwhile is not clobbered),
 *                                   the ModifyIndex just read for a key
 *                                   --overwrite replaces
 *   PUT /v1/kv/<key>?cas=N&flags=F  a value too large for a txn body
 *
 * The export is what the consul CLI prints: json.MarshalIndent(entries,
 * "", "\t") of {"key", "flags", "value" (base64)}, a newline after; Go's
 * string escaping (HTML-safe: < > & as \u003c \u003e \u0026) is kept, so
 * a backup of a tree is byte for byte what `consul kv export` gives.
 * Restore also reads consulate's `kv backup` format: [[key, flags,
 * value], ...], values as text (or base64 with --base64, consulate's -b).
 *
 * Address, token and CA as the consul CLI and consul-load take them:
 * --url or CONSUL_HTTP_ADDR (http://127.0.0.1:8500), CONSUL_HTTP_SSL,
 * CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backup.h"
#include "base64.h"
#include "consul_kv.h"
#include "exits.h"

static bool
env_false(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
	    strcasecmp(v, "no") == 0);
}

/* read_token: CONSUL_HTTP_TOKEN, else CONSUL_HTTP_TOKEN_FILE's contents. */
static int
read_token(struct consul *c)
{
	const char *file = getenv("CONSUL_HTTP_TOKEN_FILE");
	int r = read_secret(c->lg, NULL, "CONSUL_HTTP_TOKEN", &c->token);
	if (r == 1 && file != NULL && *file) {
		char line[TOKEN_MAX + 1];
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			log_error(c->lg, "CONSUL_HTTP_TOKEN_FILE %s: %s", file, strerror(errno));
			return EX_NOINPUT;
		}
		size_t n = fread(line, 1, TOKEN_MAX, f);
		fclose(f);
		line[n] = '\0';
		r = buf_puts(&c->token, str_trim(line)) == 0 && c->token.len > 0 ? 0 : EX_CONFIG;
		secure_wipe(line, sizeof(line));
		if (r != 0) {
			log_error(c->lg, "CONSUL_HTTP_TOKEN_FILE %s: empty or too long", file);
			return r;
		}
		secret_hold(c->lg, c->token.data);
	}
	if (r == 1)
		return 0;
	if (r != 0)
		return r;
	for (const char *p = c->token.data; *p; p++)
		if (!isgraph((unsigned char)*p)) {
			log_error(c->lg, "the Consul token has characters a header cannot carry");
			return EX_CONFIG;
		}
	web_header(&c->w, "X-Consul-Token", c->token.data);
	return 0;
}

int
consul_open(struct consul *c, const struct options *o, struct log *lg)
{
	char url[512];
	const char *addr = o->url ? o->url : getenv("CONSUL_HTTP_ADDR");
	const char *ssl = getenv("CONSUL_HTTP_SSL");
	memset(c, 0, sizeof(*c));
	c->lg = lg;
	buf_init(&c->token, TOKEN_MAX);
	if (addr == NULL || *addr == '\0')
		addr = "127.0.0.1:8500";
	if (env_false("CONSUL_HTTP_SSL_VERIFY")) {
		log_error(lg, "CONSUL_HTTP_SSL_VERIFY=false: backup always verifies TLS; give "
			      "the server's CA in CONSUL_CACERT instead");
		return EX_CONFIG;
	}
	if (strstr(addr, "://") == NULL)
		str_fmt_clip(url, sizeof(url), "%s://%s",
		    ssl && *ssl && !env_false("CONSUL_HTTP_SSL") ? "https" : "http", addr);
	else
		str_fmt_clip(url, sizeof(url), "%s", addr);
	int r = web_open(&c->w, "Consul", url, "--url or CONSUL_HTTP_ADDR",
	    o->cacert ? o->cacert : getenv("CONSUL_CACERT"), lg);
	return r ? r : read_token(c);
}

void
consul_close(struct consul *c)
{
	web_close(&c->w);
	buf_wipe(&c->token);
}

void
kvs_free(struct kvs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		if (s->v[i].val)
			secure_wipe(s->v[i].val, s->v[i].vlen);
		free(s->v[i].val);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* kvs_add takes key and a copy of the value. */
int
kvs_add(struct kvs *s, const char *key, const char *val, size_t vlen, uint64_t flags,
    uint64_t index)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct kv *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	struct kv *k = &s->v[s->n];
	k->key = strdup(key);
	k->val = malloc(vlen + 1);
	if (k->key == NULL || k->val == NULL) {
		free(k->key);
		free(k->val);
		return -1;
	}
	memcpy(k->val, val, vlen);
	k->val[vlen] = '\0';
	k->vlen = vlen;
	k->flags = flags;
	k->index = index;
	s->n++;
	return 0;
}

int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* url_path appends s percent-encoded, '/' kept. */
int
url_path(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++)
		r = isalnum(*p) || strchr("-._~/", *p) ? buf_putc(b, (char)*p)
		                                        : buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	return r;
}

/* b64_value: the decoded bytes of a base64 JSON string (or null) into out. */
static int
b64_value(json_t *v, struct buf *out)
{
	buf_reset(out);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	return base64_decode(out, json_string_value(v), json_string_length(v));
}

/* read_tree: every key under prefix (literally: a string prefix) into s. */
int
read_tree(struct consul *c, const char *prefix, struct kvs *s)
{
	struct buf path, val;
	struct http_response rs;
	buf_init(&path, 8192);
	buf_init(&val, SIZE_MAX);
	http_response_init(&rs, BK_JSON_MAX);
	int r = buf_puts(&path, "/v1/kv/") | url_path(&path, prefix) | buf_puts(&path, "?recurse");
	r = r ? EX_SOFTWARE : web_call(&c->w, "GET", path.data, NULL, NULL, 0, BK_JSON_MAX, &rs);
	if (r == 0 && rs.status != 200 && rs.status != 404)
		r = web_refused(&c->w, "read the KV store", &rs);
	/* A tree with holes is no backup, and no base for a restore's plan. */
	if (r == 0 && strcasestr(buf_str(&rs.headers), "X-Consul-Results-Filtered-By-ACLs: true")) {
		log_error(c->lg, "Consul's ACLs hide keys under \"%s\" from this token: give one "
				 "with key:read on all of them (CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE)",
		    prefix);
		r = EX_NOPERM;
	}
	json_t *doc = r == 0 && rs.status == 200 ? json_loadb(rs.body.data, rs.body.len, 0, NULL)
	                                         : NULL;
	if (r == 0 && rs.status == 200 && !json_is_array(doc)) {
		log_error(c->lg, "GET %s%s: Consul's answer is not a list of KV entries", c->w.base,
		    path.data);
		r = EX_UNAVAILABLE;
	}
	size_t i;
	json_t *e;
	json_array_foreach(doc, i, e) {
		json_t *k = json_object_get(e, "Key"), *f = json_object_get(e, "Flags");
		json_t *mi = json_object_get(e, "ModifyIndex");
		if (r != 0)
			break;
		if (!json_is_string(k) || (f && !json_is_integer(f)) ||
		    b64_value(json_object_get(e, "Value"), &val) == -1) {
			log_error(c->lg, "GET %s%s: entry %zu is malformed", c->w.base, path.data, i);
			r = EX_UNAVAILABLE;
		} else if (kvs_add(s, json_string_value(k), buf_str(&val), val.len,
		    f ? (uint64_t)json_integer_value(f) : 0,
		    (uint64_t)json_integer_value(mi)) == -1) {
			log_error(c->lg, "out of memory reading the KV store");
			r = EX_SOFTWARE;
		}
	}
	json_decref(doc);
	if (val.data)
		secure_wipe(val.data, val.len);
	buf_free(&val);
	buf_free(&path);
	if (rs.body.data)
		secure_wipe(rs.body.data, rs.body.len);
	http_response_free(&rs);
	return r;
}

/* --- the export format ----------------------------------------------------- */

/* utf8_len: the length of a valid UTF-8 sequence at p (Go's rules), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0xC2 || c > 0xF4 || n < len)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

/* go_string appends s as Go's encoding/json writes a string (HTML-safe). */
static int
go_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = buf_putc(b, '"');
	for (size_t i = 0; i < n && r == 0;) {
		unsigned char c = p[i];
		if (c < 0x80) {
			const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
			    : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
			    : c == '\f' ? "\\f" : NULL;
			if (esc)
				r = buf_puts(b, esc);
			else if (c < 0x20 || c == '<' || c == '>' || c == '&')
				r = buf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			else
				r = buf_putc(b, (char)c);
			i++;
			continue;
		}
		size_t len = utf8_len(p + i, n - i);
		if (len == 0) {
			r = buf_puts(b, "\\ufffd");
			i++;
		} else if (len == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8) {
			r = buf_puts(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
			i += 3;
		} else {
			r = buf_append(b, p + i, len);
			i += len;
		}
	}
	return r | buf_putc(b, '"');
}

/* export_text writes s as `consul kv export` prints it. */
static int
export_text(const struct kvs *s, struct buf *out)
{
	struct buf b64;
	int r = buf_puts(out, s->n ? "[\n" : "[]\n");
	buf_init(&b64, SIZE_MAX);
	for (size_t i = 0; i < s->n && r == 0; i++) {
		const struct kv *k = &s->v[i];
		buf_reset(&b64);
		r = buf_puts(out, "\t{\n\t\t\"key\": ") | go_string(out, k->key) |
		    buf_printf(out, ",\n\t\t\"flags\": %llu,\n\t\t\"value\": \"",
		        (unsigned long long)k->flags) |
		    base64_encode(&b64, k->val, k->vlen) | buf_append(out, b64.data, b64.len) |
		    buf_puts(out, i + 1 < s->n ? "\"\n\t},\n" : "\"\n\t}\n]\n");
	}
	if (b64.data)
		secure_wipe(b64.data, b64.len);
	buf_free(&b64);
	return r ? -1 : 0;
}

int
consul_backup(struct job *j)
{
	struct consul c;
	struct kvs s = { 0 };
	const char *prefix = j->o->prefix ? j->o->prefix : "";
	while (*prefix == '/') /* as consul kv export: "/socorro" is "socorro" */
		prefix++;
	int r = consul_open(&c, j->o, j->lg);
	if (r == 0)
		r = read_tree(&c, prefix, &s);
	if (r == 0 && export_text(&s, &j->mem) == -1) {
		log_error(j->lg, "out of memory writing the export");
		r = EX_SOFTWARE;
	}
	if (r == 0) {
		log_info(j->lg, "consul: %zu keys under \"%s\" at %s", s.n, prefix, c.w.base);
		j->content = "consul-kv-export";
		j->source = json_pack("{s:s, s:s, s:I}", "address", c.w.base, "prefix", prefix,
		    "keys", (json_int_t)s.n);
	}
	kvs_free(&s);
	consul_close(&c);
	return r;
}

