/*
 * consul.c: the Consul HTTP API as consul-load uses it.
 *
 *   GET /v1/kv/<prefix>/?recurse   the tree, read once
 *   PUT /v1/txn                    the changes, at most 64 operations and
 *                                  512 KiB a request, each a "cas" (or
 *                                  "delete-cas") against the ModifyIndex
 *                                  just read, 0 for a new key
 *   PUT /v1/kv/<key>?cas=N         a value too large to fit in a txn body
 *                                  (base64 grows it by a third), alone
 *
 * A transaction is all or nothing: a 409 names the operations that failed
 * (Errors[{OpIndex, What}]) and nothing of it was applied.  Address, token
 * and CA follow the consul CLI: CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL,
 * CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT.
 */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "base64.h"
#include "consul-load.h"
#include "exits.h"

#define TREE_MAX (512u << 20) /* largest recurse answer read */
#define TOKEN_MAX 4096

static void
trace_line(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "%s", line);
}

static bool
env_false(const char *name)
{
	const char *v = getenv(name);
	return v != NULL &&
	    (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0 ||
	        strcasecmp(v, "f") == 0);
}

/* set_base: the address as scheme://host:port, as the consul CLI takes it. */
static int
set_base(struct consul *c, const char *addr)
{
	const char *https = getenv("CONSUL_HTTP_SSL");
	bool ssl = https != NULL && *https && !env_false("CONSUL_HTTP_SSL");
	int r;
	/* user:password@ would be repeated in the -v line and in every error
	   naming the address (and CONSUL_HTTP_ADDR is no secret's place):
	   refused, and not echoed. */
	const char *host = strstr(addr, "://");
	host = host != NULL ? host + 3 : addr;
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL) {
		log_error(c->lg,
		    "Consul address: user:password@ in a URL would show in ps and logs; give an "
		    "ACL token in CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE instead");
		return EX_CONFIG;
	}
	if (strncmp(addr, "unix://", 7) == 0) {
		log_error(c->lg,
		    "Consul address %s: unix sockets are not supported; give "
		    "http://HOST:PORT or https://HOST:PORT",
		    addr);
		return EX_CONFIG;
	}
	if (strstr(addr, "://") == NULL)
		r = str_fmt(c->base, sizeof(c->base), "%s://%s", ssl ? "https" : "http", addr);
	else if (strncmp(addr, "http://", 7) == 0 || strncmp(addr, "https://", 8) == 0)
		r = str_copy(c->base, sizeof(c->base), addr);
	else {
		log_error(
		    c->lg, "Consul address %s: only http:// and https:// are supported", addr);
		return EX_CONFIG;
	}
	size_t n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	if (r == -1 || strchr(c->base, '?') || strchr(c->base, '#') || strchr(c->base, ' ')) {
		log_error(c->lg, "Consul address %s: not a usable http(s)://HOST:PORT", addr);
		return EX_CONFIG;
	}
	return 0;
}

/* read_token: CONSUL_HTTP_TOKEN, else the file CONSUL_HTTP_TOKEN_FILE names. */
static int
read_token(struct consul *c)
{
	const char *tok = getenv("CONSUL_HTTP_TOKEN");
	const char *file = getenv("CONSUL_HTTP_TOKEN_FILE");
	if (tok != NULL && *tok) {
		c->token = xstrdup(tok);
	} else if (file != NULL && *file) {
		char data[TOKEN_MAX + 1];
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			log_error(c->lg, "CONSUL_HTTP_TOKEN_FILE %s: %s", file, strerror(errno));
			return EX_NOINPUT;
		}
		size_t n = fread(data, 1, sizeof(data) - 1, f);
		int bad = ferror(f) || !feof(f);
		fclose(f);
		data[n] = '\0';
		c->token = xstrdup(str_trim(data));
		secure_wipe(data, sizeof(data));
		if (bad || *c->token == '\0') {
			log_error(c->lg, "CONSUL_HTTP_TOKEN_FILE %s: %s", file,
			    bad ? "unreadable or larger than 4 KiB" : "empty");
			return EX_CONFIG;
		}
	} else {
		return 0;
	}
	log_add_secret(c->lg, c->token);
	for (const char *p = c->token; *p; p++)
		if (!isgraph((unsigned char)*p)) {
			log_error(
			    c->lg, "the Consul token has characters an HTTP header cannot carry");
			return EX_CONFIG;
		}
	c->headers[c->nheaders++] = (struct http_header){"X-Consul-Token", c->token};
	return 0;
}

int
consul_open(struct consul *c, const char *addr, struct log *lg)
{
	int rc;
	memset(c, 0, sizeof(*c));
	c->lg = lg;
	if (addr == NULL || *addr == '\0')
		addr = getenv("CONSUL_HTTP_ADDR");
	if ((rc = set_base(c, addr && *addr ? addr : "127.0.0.1:8500")) != 0)
		return rc;
	if (env_false("CONSUL_HTTP_SSL_VERIFY")) {
		log_error(lg,
		    "CONSUL_HTTP_SSL_VERIFY=false: consul-load always verifies TLS; "
		    "give the server's CA in CONSUL_CACERT instead");
		return EX_CONFIG;
	}
	if (getenv("CONSUL_CAPATH") && !getenv("CONSUL_CACERT"))
		log_warn(
		    lg, "CONSUL_CAPATH is not supported; give a CA bundle file in CONSUL_CACERT");
	if ((rc = read_token(c)) != 0)
		return rc;
	if ((rc = http_client_init(&c->http)) != 0) {
		log_error(lg, "cannot initialize libcurl");
		return rc;
	}
	c->http.ca_file = getenv("CONSUL_CACERT");
	c->http.trace = trace_line;
	c->http.trace_ctx = lg;
	log_debug(lg, "Consul at %s, %s", c->base, c->token ? "with a token" : "no token");
	return 0;
}

void
consul_close(struct consul *c)
{
	http_client_free(&c->http);
	xfree_secret(c->token);
	c->token = NULL;
}

/* url_path appends s percent-encoded, '/' kept. */
static void
url_path(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (isalnum(*p) || strchr("-._~/", *p))
			xbuf(buf_putc(b, (char)*p));
		else
			xbuf(buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]));
}

/* header_get: the value of the response's first header name, or NULL. */
static const char *
header_get(const struct http_response *rs, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	for (const char *p = buf_str(&rs->headers); *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *end = p + len;
			while (v < end && *v == ' ')
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' '))
				end--;
			*vlen = (size_t)(end - v);
			return v;
		}
		p += len + (nl != NULL);
	}
	return NULL;
}

/* header_is: true if the response has header name with value (case-insensitive). */
static bool
header_is(const struct http_response *rs, const char *name, const char *value)
{
	size_t n;
	const char *v = header_get(rs, name, &n);
	return v != NULL && n >= strlen(value) && strncasecmp(v, value, strlen(value)) == 0;
}

/* answer_text: the start of an answer's body, as one clipped, escaped line. */
static void
answer_text(const struct http_response *rs, char *out, size_t n)
{
	char raw[200];
	str_fmt_clip(raw, sizeof(raw), "%s", buf_str(&rs->body));
	str_trim(raw);
	http_redact(raw, out, n);
}

/*
 * not_consul: the line for a 200 whose body is not what the Consul API
 * answers (a proxy's page, a cut or garbled document): exit 69.
 */
static int
not_consul(struct consul *c, const char *method, const char *url, const struct http_response *rs,
    const char *expected, const char *outcome)
{
	size_t tlen = 0;
	const char *type = header_get(rs, "Content-Type", &tlen);
	log_error(c->lg,
	    "%s %s: HTTP %ld, but the answer (%.*s, %zu bytes) is not %s%s; is "
	    "CONSUL_HTTP_ADDR a Consul agent, with no proxy in between that changes answers?",
	    method, url, rs->status, type ? (int)(tlen > 60 ? 60 : tlen) : 12,
	    type ? type : "no type", rs->body.len, expected, outcome);
	return EX_UNAVAILABLE;
}

/* refused: the line for a 403 (or another status we cannot go on from). */
static int
refused(struct consul *c, const char *what, const struct http_response *rs)
{
	char body[240];
	answer_text(rs, body, sizeof(body));
	if (rs->status == 403) {
		log_error(c->lg,
		    "Consul refused to %s (HTTP 403: %s): give a token allowed to "
		    "do it in CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE",
		    what, body);
		return EX_NOPERM;
	}
	if (rs->status == 413) {
		log_error(c->lg, "Consul refused to %s as too large (HTTP 413: %s)", what, body);
		return EX_DATAERR;
	}
	log_error(c->lg, "Consul refused to %s (HTTP %ld: %s)", what, rs->status, body);
	return rs->status == 400 ? EX_SOFTWARE : EX_UNAVAILABLE;
}

/*
 * request: one http_do with the token; its own error line on failure,
 * ending with then (NULL, or what the failure means for the run).
 */
static int
request(struct consul *c, const char *method, const char *url, const void *body, size_t len,
    size_t max, struct http_response *rs, const char *then)
{
	struct http_request rq = {.method = method,
	    .url = url,
	    .headers = c->headers,
	    .nheaders = c->nheaders,
	    .max_response = max};
	if (body != NULL)
		rq.body = (struct http_body){.kind = HTTP_BODY_MEM, .data = body, .len = len};
	int rc = http_do(&c->http, &rq, rs);
	char said[240];
	then = then ? then : "";
	if (rc == 0)
		return 0;
	if (strstr(rs->error, "TLS") != NULL) {
		log_error(c->lg, "%s (for Consul: CONSUL_CACERT)%s", rs->error, then);
	} else if (rs->status == 429 || rs->status >= 500) {
		/* Answers still failing after the retries: Consul's reason. */
		answer_text(rs, said, sizeof(said));
		log_error(c->lg, "%s%s%s%s", rs->error, *said ? ": " : "", said, then);
	} else {
		log_error(
		    c->lg, "%s; is Consul running there? (CONSUL_HTTP_ADDR)%s", rs->error, then);
	}
	return rc;
}

/* parse_entry adds one KV object of a recurse answer to have. */
static int
parse_entry(json_t *e, struct kvset *have)
{
	json_t *k = json_object_get(e, "Key"), *v = json_object_get(e, "Value");
	json_t *mi = json_object_get(e, "ModifyIndex"), *fl = json_object_get(e, "Flags");
	if (!json_is_string(k) || !(json_is_string(v) || json_is_null(v) || v == NULL) ||
	    !json_is_integer(mi) || (fl != NULL && !json_is_integer(fl)))
		return -1;
	struct buf val;
	buf_init(&val, SIZE_MAX);
	if (json_is_string(v) &&
	    base64_decode(&val, json_string_value(v), json_string_length(v)) == -1) {
		buf_free(&val);
		return -1;
	}
	xbuf(buf_puts(&val, ""));
	struct kv kv = {.key = xstrdup(json_string_value(k)),
	    .value = val.data,
	    .vlen = val.len,
	    .index = (uint64_t)json_integer_value(mi),
	    .flags = fl ? (uint64_t)json_integer_value(fl) : 0};
	kvset_add(have, &kv);
	return 0;
}

/*
 * A bump allocator for parsing one recurse answer.  jansson makes several
 * small allocations per KV entry and musl's malloc made them the slowest
 * part of a no-change run over 10,000 keys.  jansson's hooks take no
 * context, hence the file-static arena; it lives only inside parse_tree.
 */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};
static struct chunk *arena;

static void *
arena_alloc(size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (arena == NULL || arena->cap - arena->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		struct chunk *ch = malloc(sizeof(*ch) + cap);
		if (ch == NULL)
			return NULL;
		*ch = (struct chunk){.next = arena, .cap = cap};
		arena = ch;
	}
	void *p = (char *)arena->data + arena->used;
	arena->used += n;
	return p;
}

static void
arena_free(void *p)
{
	(void)p; /* all at once, in arena_release */
}

static void
arena_release(void)
{
	while (arena != NULL) {
		struct chunk *next = arena->next;
		secure_wipe(arena->data, arena->used); /* values may be secrets */
		free(arena);
		arena = next;
	}
}

/* parse_tree adds the entries of a recurse answer to have: 0 or -1. */
static int
parse_tree(const struct buf *body, struct kvset *have)
{
	json_t *e;
	size_t i;
	int rc = 0;
	json_set_alloc_funcs(arena_alloc, arena_free);
	json_t *root = json_loadb(body->data, body->len, 0, NULL);
	if (!json_is_array(root))
		rc = -1;
	json_array_foreach(root, i, e) if (rc == 0 && parse_entry(e, have) == -1) rc = -1;
	json_decref(root);
	json_set_alloc_funcs(malloc, free);
	arena_release();
	return rc;
}

/* read_tree: consul_read_tree, with then ending a failure's line. */
static int
read_tree(struct consul *c, const char *prefix, struct kvset *have, const char *then)
{
	struct buf url;
	struct http_response rs;
	int rc;
	buf_init(&url, SIZE_MAX);
	xbuf(buf_printf(&url, "%s/v1/kv/", c->base));
	url_path(&url, prefix);
	xbuf(buf_puts(&url, "/?recurse"));
	http_response_init(&rs, TREE_MAX);
	rc = request(c, "GET", url.data, NULL, 0, TREE_MAX, &rs, then);
	if (rc == 0 && rs.status != 200 && rs.status != 404) {
		char what[600];
		str_fmt_clip(what, sizeof(what), "read %s/", prefix);
		rc = refused(c, what, &rs);
	}
	if (rc == 0 && header_is(&rs, "X-Consul-Results-Filtered-By-ACLs", "true")) {
		c->filtered = true;
		log_warn(c->lg,
		    "Consul's ACLs hid some keys under %s/ from this token; the plan "
		    "may be wrong: give a token that can read them (CONSUL_HTTP_TOKEN)",
		    prefix);
	}
	if (rc == 0 && rs.status == 200 && parse_tree(&rs.body, have) == -1)
		rc = not_consul(c, "GET", url.data, &rs, "a list of KV entries", then);
	log_debug(c->lg, "read %zu keys under %s/", have->n, prefix);
	kvset_sort(have);
	buf_free(&url);
	http_response_free(&rs);
	return rc;
}

int
consul_read_tree(struct consul *c, const char *prefix, struct kvset *have)
{
	return read_tree(c, prefix, have, "; nothing was written");
}

/* --- applying ------------------------------------------------------------ */

/* op_json: one txn operation as compact JSON text (it may encode a secret). */
static char *
op_json(const struct op *op)
{
	const struct kv *k = op->kind == OP_DELETE ? op->have : op->want;
	json_t *kv;
	if (op->kind == OP_DELETE) {
		kv = json_pack("{s:s, s:s, s:I}", "Verb", "delete-cas", "Key", k->key, "Index",
		    (json_int_t)op->have->index);
	} else {
		struct buf b64;
		buf_init(&b64, SIZE_MAX);
		xbuf(base64_encode(&b64, k->value, k->vlen));
		kv = json_pack("{s:s, s:s, s:s, s:I, s:I}", "Verb", "cas", "Key", k->key, "Value",
		    b64.data, "Flags", (json_int_t)(op->have ? op->have->flags : 0), "Index",
		    (json_int_t)(op->have ? op->have->index : 0));
		secure_wipe(b64.data, b64.len);
		buf_free(&b64);
	}
	json_t *o = kv ? json_pack("{s:o}", "KV", kv) : NULL;
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (text == NULL)
		xbuf(-1);
	return text;
}

static const char *
op_key(const struct op *op)
{
	return op->kind == OP_DELETE ? op->have->key : op->want->key;
}

/* Where the run is, for the lines that report a failed transaction. */
struct progress {
	const char *prefix;
	size_t done_txns, done_ops, total_ops;
};

/* unknown_outcome: how a line about a transaction whose fate is unknown ends. */
static void
unknown_outcome(char *out, size_t n, const struct progress *pg, size_t nops)
{
	str_fmt_clip(out, n,
	    "; transaction %zu (%zu operation%s) may or may not have been applied, all or none "
	    "of it; %zu of the %zu changes were, before it; run consul-load again to converge",
	    pg->done_txns + 1, nops, nops == 1 ? "" : "s", pg->done_ops, pg->total_ops);
}

/*
 * landed: *yes tells whether Consul now holds what every op of ops[0..n)
 * meant to write.  Returns 0, or an EX_* code if the tree could not be
 * read (its line logged).
 */
static int
landed(struct consul *c, const struct op *ops, size_t n, const struct progress *pg, bool *yes)
{
	char then[300];
	struct kvset now = {0};
	unknown_outcome(then, sizeof(then), pg, n);
	int rc = read_tree(c, pg->prefix, &now, then);
	bool all = rc == 0;
	for (size_t i = 0; all && i < n; i++) {
		const struct kv *k = kvset_find(&now, op_key(&ops[i]));
		if (ops[i].kind == OP_DELETE)
			all = k == NULL;
		else
			all = k != NULL && k->vlen == ops[i].want->vlen &&
			    memcmp(k->value, ops[i].want->value, k->vlen) == 0;
	}
	kvset_free(&now);
	*yes = all;
	return rc;
}

/*
 * rolled_back reports a 409 in one line: the first key that failed (every
 * one with -v), and what became of the run.
 */
static int
rolled_back(struct consul *c, const struct op *ops, size_t n, const struct http_response *rs,
    const struct progress *pg)
{
	json_t *root = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	json_t *errs = json_object_get(root, "Errors"), *e;
	size_t i;
	int rc = 0, shown = 0;
	char first[700] = "";
	json_array_foreach(errs, i, e)
	{
		json_t *oi = json_object_get(e, "OpIndex");
		const char *what = json_string_value(json_object_get(e, "What"));
		json_int_t at = json_integer_value(oi);
		if (!json_is_integer(oi) || at < 0 || (size_t)at >= n || what == NULL)
			continue;
		int code = strstr(what, "ermission denied") || strstr(what, "ACL not found")
		    ? EX_NOPERM
		    : strstr(what, "index is stale") ? EX_TEMPFAIL
		                                     : EX_DATAERR;
		if (++shown == 1)
			str_fmt_clip(first, sizeof(first), "%s: %s", op_key(&ops[at]), what);
		log_debug(c->lg, "%s: %s", op_key(&ops[at]), what);
		if (rc == 0 || code == EX_NOPERM)
			rc = code;
	}
	json_decref(root);
	if (rc == 0) {
		rc = EX_UNAVAILABLE;
		answer_text(rs, first, sizeof(first));
	}
	const char *why = rc == EX_TEMPFAIL ? "changed in Consul since it was read"
	    : rc == EX_NOPERM               ? "may not be written with this token"
	                                    : "was refused by Consul";
	const char *fix = rc == EX_TEMPFAIL ? "run consul-load again to converge"
	    : rc == EX_NOPERM               ? "give a token with key:write in CONSUL_HTTP_TOKEN or "
	                                      "CONSUL_HTTP_TOKEN_FILE"
	                                    : "see Consul's reason";
	char more[64] = "";
	if (shown > 1)
		str_fmt_clip(more, sizeof(more), " (and %d more keys: -v lists them)", shown - 1);
	log_error(c->lg,
	    "%s%s; a key of transaction %zu %s (HTTP 409): none of its %zu operations was "
	    "applied (%zu of the %zu changes were, before it); %s",
	    first, more, pg->done_txns + 1, why, n, pg->done_ops, pg->total_ops, fix);
	return rc;
}

/* txn_answered: true if a 200's body is Consul's {"Results": [...], ...}. */
static bool
txn_answered(const struct http_response *rs)
{
	json_t *root = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	json_t *res = json_object_get(root, "Results");
	bool ok = json_is_object(root) && (json_is_array(res) || json_is_null(res)) &&
	    !json_is_array(json_object_get(root, "Errors"));
	json_decref(root);
	return ok;
}

/*
 * after_odd_answer: a 200 whose body is not what Consul sends (the answer
 * was garbled on the way, or something else answered): the transaction
 * counts as applied only if Consul now holds its values.
 */
static int
after_odd_answer(struct consul *c, const char *url, const struct op *ops, size_t n,
    const struct http_response *rs, const char *expected, const struct progress *pg)
{
	char then[300];
	bool yes;
	int rc = landed(c, ops, n, pg, &yes);
	if (rc != 0)
		return rc;
	if (yes) {
		log_debug(c->lg, "PUT %s: an odd answer, but transaction %zu is in Consul", url,
		    pg->done_txns + 1);
		return 0;
	}
	str_fmt_clip(then, sizeof(then),
	    ", and its keys do not hold the new values: transaction %zu (%zu operation%s) was "
	    "not applied; %zu of the %zu changes were, before it",
	    pg->done_txns + 1, n, n == 1 ? "" : "s", pg->done_ops, pg->total_ops);
	return not_consul(c, "PUT", url, rs, expected, then);
}

/* send_txn: PUT /v1/txn with body (ops[0..n) as JSON); 0 once applied. */
static int
send_txn(struct consul *c, const struct buf *body, const struct op *ops, size_t n,
    const struct progress *pg)
{
	char url[600], then[300];
	struct http_response rs;
	bool yes;
	str_fmt_clip(url, sizeof(url), "%s/v1/txn", c->base);
	unknown_outcome(then, sizeof(then), pg, n);
	http_response_init(&rs, 16u << 20);
	int rc = request(c, "PUT", url, body->data, body->len, 0, &rs, then);
	if (rc == 0 && rs.status == 409) {
		/*
		 * A request sent twice (by http_do's retry, or by libcurl itself
		 * when a reused connection died before any answer) fails its own
		 * CAS once its first copy landed: look before calling it a conflict.
		 */
		rc = landed(c, ops, n, pg, &yes);
		if (rc == 0 && yes)
			log_debug(c->lg, "transaction %zu had landed on an earlier attempt",
			    pg->done_txns + 1);
		else if (rc == 0)
			rc = rolled_back(c, ops, n, &rs, pg);
	} else if (rc == 0 && rs.status == 200 && !txn_answered(&rs)) {
		rc = after_odd_answer(c, url, ops, n, &rs, "a Consul transaction result", pg);
	} else if (rc == 0 && rs.status != 200) {
		char what[100];
		str_fmt_clip(what, sizeof(what), "apply transaction %zu (%zu operations)",
		    pg->done_txns + 1, n);
		rc = refused(c, what, &rs);
	}
	http_response_free(&rs);
	return rc;
}

/* put_alone: one value too large for a txn body, by PUT ?cas=. */
static int
put_alone(struct consul *c, const struct op *op, const struct progress *pg)
{
	struct buf url;
	struct http_response rs;
	const struct kv *h = op->have;
	char then[300];
	bool yes;
	buf_init(&url, SIZE_MAX);
	xbuf(buf_printf(&url, "%s/v1/kv/", c->base));
	url_path(&url, op->want->key);
	xbuf(buf_printf(&url, "?cas=%llu&flags=%llu", (unsigned long long)(h ? h->index : 0),
	    (unsigned long long)(h ? h->flags : 0)));
	unknown_outcome(then, sizeof(then), pg, 1);
	http_response_init(&rs, 4096);
	int rc = request(c, "PUT", url.data, op->want->value, op->want->vlen, 0, &rs, then);
	char said[8]; /* "true" or "false", perhaps with a newline */
	str_fmt_clip(said, sizeof(said), "%s", buf_str(&rs.body));
	str_trim(said);
	if (rc == 0 && rs.status != 200) {
		rc = refused(c, "write a large value", &rs);
	} else if (rc == 0 && strcmp(said, "false") == 0) {
		/* false: the CAS failed, unless an earlier attempt had landed. */
		rc = landed(c, op, 1, pg, &yes);
		if (rc == 0 && !yes) {
			log_error(c->lg,
			    "%s changed in Consul since it was read: it was not written; %zu "
			    "of %zu operations were before it; run consul-load again to converge",
			    op->want->key, pg->done_ops, pg->total_ops);
			rc = EX_TEMPFAIL;
		}
	} else if (rc == 0 && strcmp(said, "true") != 0) {
		rc = after_odd_answer(c, url.data, op, 1, &rs, "Consul's true or false", pg);
	}
	buf_free(&url);
	http_response_free(&rs);
	return rc;
}

int
consul_apply(struct consul *c, const struct plan *pl, const char *prefix, size_t *txns)
{
	struct progress pg = {.prefix = prefix, .total_ops = pl->n};
	struct buf body;
	size_t first = 0, i = 0;
	int rc = 0;
	buf_init(&body, SIZE_MAX);
	*txns = 0;
	while (rc == 0 && first < pl->n) {
		/* Fill one transaction: up to 64 ops and 512 KiB of body. */
		buf_reset(&body);
		xbuf(buf_putc(&body, '['));
		for (i = first; i < pl->n && i - first < TXN_MAX_OPS; i++) {
			char *text = op_json(&pl->ops[i]);
			size_t len = strlen(text);
			bool fits = body.len + (i > first) + len + 1 <= TXN_MAX_BYTES;
			if (fits) {
				if (i > first)
					xbuf(buf_putc(&body, ','));
				xbuf(buf_append(&body, text, len));
			}
			secure_wipe(text, len);
			free(text);
			if (!fits)
				break;
		}
		xbuf(buf_putc(&body, ']'));
		if (i == first) /* this one alone is over the txn limit */
			rc = put_alone(c, &pl->ops[i++], &pg);
		else
			rc = send_txn(c, &body, &pl->ops[first], i - first, &pg);
		if (rc == 0) {
			pg.done_txns++;
			pg.done_ops += i - first;
			log_debug(c->lg, "transaction %zu: %zu operations applied", pg.done_txns,
			    i - first);
			log_progress(
			    c->lg, "applied %zu of %zu changes", pg.done_ops, pg.total_ops);
		}
		first = i;
	}
	log_progress_end(c->lg);
	*txns = pg.done_txns;
	secure_wipe(body.data, body.cap);
	buf_free(&body);
	return rc;
}
