/*
 * consul_kv.h: what consul.c (connection, reading, the export) and
 * consul_restore.c (writing back) share.  Private to cmd/backup.
 */
#ifndef BACKUP_CONSUL_H
#define BACKUP_CONSUL_H

#include "backup.h"

#define TXN_MAX_OPS 64
#define TXN_MAX_BYTES (512u * 1024)
#define TOKEN_MAX 4096

struct kv {
	char *key;
	char *val;
	size_t vlen;
	uint64_t flags;
	uint64_t index; /* ModifyIndex, for what Consul has */
};

struct kvs {
	struct kv *v;
	size_t n, cap;
};

struct consul {
	struct web w;
	struct buf token;
	struct log *lg;
};

int consul_open(struct consul *c, const struct options *o, struct log *lg);
void consul_close(struct consul *c);
/* read_tree: every key under prefix (a string prefix) into s, in Consul's order. */
int read_tree(struct consul *c, const char *prefix, struct kvs *s);
/* kvs_add appends key and a copy of the value; -1 out of memory. */
int kvs_add(struct kvs *s, const char *key, const char *val, size_t vlen, uint64_t flags,
    uint64_t index);
/* kvs_free wipes the values (any may be a secret) and frees. */
void kvs_free(struct kvs *s);
int by_key(const void *a, const void *b);
/* url_path appends s percent-encoded, '/' kept: 0 or -1. */
int url_path(struct buf *b, const char *s);

#endif
