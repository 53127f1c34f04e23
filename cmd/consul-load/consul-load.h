/*
 * consul-load.h: what the parts of consul-load share.  Private to
 * cmd/consul-load: main.c (options and the story), text.c (the line
 * reader), vars.c (placeholder values), conf.c (.conf files into keys),
 * plan.c (the diff), consul.c (the Consul HTTP API), export.c (the tree
 * back out as .conf files) and kvset.c (key sets, allocation, problems).
 *
 * Memory: every string in a struct kv is its own allocation owned by the
 * kvset that holds it; kvset_free wipes values before freeing them, since
 * any of them may be a secret.  Allocation failure ends the program
 * (xmalloc and friends), as commands may.
 */
#ifndef CONSUL_LOAD_H
#define CONSUL_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "log.h"

/* Consul's limits: a value, and a /v1/txn request (body and values). */
#define KV_MAX_VALUE (512u * 1024)
#define TXN_MAX_OPS 64
#define TXN_MAX_BYTES (512u * 1024)
#define MAX_PROBLEMS 100 /* bad-input lines reported before giving up */

/* One key and its value: from a file (file, line) or from Consul (index). */
struct kv {
	char *key;   /* the full Consul key, e.g. "socorro/common/x.y" */
	char *value; /* vlen bytes, NUL-terminated */
	size_t vlen;
	uint64_t index; /* ModifyIndex; 0 for a file entry */
	uint64_t flags; /* Consul's opaque flags, kept as they are */
	const char *file;
	int line;
};

struct kvset {
	struct kv *v;
	size_t n, cap;
	char **paths; /* the files its entries' file fields point into */
	size_t npaths;
};

void kvset_add(struct kvset *s, const struct kv *kv);
void kvset_sort(struct kvset *s);
/* kvset_find: the entry with this key in a sorted set, or NULL. */
const struct kv *kvset_find(const struct kvset *s, const char *key);
void kvset_free(struct kvset *s);

/* Placeholder values: --set, --vars-file, then SOCORRO_NAME. */
struct var {
	char *name;
	char *value;
	char *source; /* "--set", "FILE:LINE" */
};

struct vars {
	struct var *v;
	size_t n, cap;
};

/* Bad input, gathered so that one run reports all of it. */
struct problems {
	struct log *lg;
	int n;
};
void problem(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* text.c: the line reader both kinds of file share.  A line, as parsers see it: */
struct line {
	const char *path;
	int no;
	char *text; /* NUL-terminated, without the newline */
	size_t len;
};

#define FILE_MAX (64u << 20) /* a .conf or vars file larger than this is a mistake */
/* text_read_file: the whole file into b; 0, or an EX_* code with why set. */
int text_read_file(const char *path, struct buf *b, char *why, size_t whysize);
/* text_next_line cuts the next line out of b (in place); bad bytes are problems. */
bool text_next_line(struct buf *b, size_t *pos, struct line *ln, struct problems *p);
/* text_split_line: 1 blank or comment, 0 key and value, -1 a problem. */
int text_split_line(const struct line *ln, const char *comments, char **key, size_t *klen,
    char **val, size_t *vlen, struct problems *p);
void text_unquote(char *s, size_t *n);
bool placeholder_name(const char *s, size_t n);
bool utf8_valid(const char *s, size_t n);
/* conf_quote_value appends value as a .conf file reads it back: 0 or -1. */
int conf_quote_value(struct buf *b, const char *value, size_t n);

/* vars.c */
int vars_set_arg(struct vars *vs, const char *arg, struct log *lg);
int vars_load_file(struct vars *vs, const char *path, struct problems *p);
/* vars_lookup: NAME's value, or NULL; SOCORRO_NAME's is not copied. */
const char *vars_lookup(const struct vars *vs, const char *name, size_t nlen);
void vars_free(struct vars *vs);

/* conf.c */
/*
 * conf_load reads each operand (a directory: its *.conf files; or a
 * FILE.conf) into want as <prefix>/<file>/<key>, filling placeholders from
 * vs.  Bad lines and unfilled placeholders go to p; a missing file or
 * directory is returned at once as EX_NOINPUT (after one error line).
 */
int conf_load(char *const *operands, int n, const char *prefix, struct vars *vs,
    bool allow_placeholders, struct kvset *want, struct problems *p);
/* secret_key: values under this key are masked and kept out of logs. */
bool secret_key(const char *key);

/* plan.c */
enum op_kind { OP_ADD, OP_CHANGE, OP_DELETE };

struct op {
	enum op_kind kind;
	const struct kv *want; /* ADD, CHANGE */
	const struct kv *have; /* CHANGE, DELETE */
};

struct plan {
	struct op *ops;
	size_t n, cap;
	size_t added, changed, deleted, unchanged;
};

void plan_make(struct plan *pl, const struct kvset *want, const struct kvset *have, bool prune);
void plan_print(const struct plan *pl, struct log *lg);
/* plan_summary appends the stdout summary: one line, or JSON with json. */
int plan_summary(struct buf *out, const struct plan *pl, const char *prefix, bool json,
    bool dry_run, size_t txns);
void plan_free(struct plan *pl);

/* consul.c */
struct consul {
	struct http_client http;
	char base[512]; /* "http://127.0.0.1:8500", no trailing slash */
	char *token;    /* X-Consul-Token, or NULL; wiped at the end */
	struct http_header headers[2];
	size_t nheaders;
	struct log *lg;
	bool filtered; /* Consul said ACLs hid some keys from the read */
};

/* consul_open: address, token and CA from --addr and CONSUL_* variables. */
int consul_open(struct consul *c, const char *addr, struct log *lg);
void consul_close(struct consul *c);
/* consul_read_tree: every key under prefix/ into have, sorted. */
int consul_read_tree(struct consul *c, const char *prefix, struct kvset *have);
/* consul_apply: the plan's operations in CAS transactions; *txns counts them. */
int consul_apply(struct consul *c, const struct plan *pl, const char *prefix, size_t *txns);

/* export.c */
int export_tree(const struct kvset *have, const char *prefix, const char *dir, bool dry_run,
    bool json, struct buf *out, struct log *lg);

/* x-tier allocation for this command: out of memory ends the program. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);
/* xbuf checks a buf_* result: -1 (out of memory) ends the program. */
void xbuf(int rc);
/* xfree_secret wipes a NUL-terminated string, then frees it. */
void xfree_secret(char *s);

#endif
