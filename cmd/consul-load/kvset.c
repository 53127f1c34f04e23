/*
 * kvset.c: sets of keys and values, the x-tier allocators, and the
 * problem list that lets one run report every bad input line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consul-load.h"
#include "exits.h"

static _Noreturn void
out_of_memory(void)
{
	fputs("consul-load: out of memory\n", stderr);
	exit(EX_SOFTWARE);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		out_of_memory();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		out_of_memory();
	return q;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void
xbuf(int rc)
{
	if (rc == -1)
		out_of_memory();
}

void
xfree_secret(char *s)
{
	if (s != NULL)
		secure_wipe(s, strlen(s));
	free(s);
}

void
kvset_add(struct kvset *s, const struct kv *kv)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = *kv;
}

/* By key; equal keys (duplicates in one file) by line, first first. */
static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

void
kvset_sort(struct kvset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), kv_cmp);
}

const struct kv *
kvset_find(const struct kvset *s, const char *key)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, s->v[mid].key);
		if (c == 0)
			return &s->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
kvset_free(struct kvset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		secure_wipe(s->v[i].value, s->v[i].vlen);
		free(s->v[i].value);
	}
	free(s->v);
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	memset(s, 0, sizeof(*s));
}

/*
 * problem logs one bad-input line and counts it.  Past MAX_PROBLEMS the
 * rest are only counted: a file that is wrong throughout says so soon.
 */
void
problem(struct problems *p, const char *fmt, ...)
{
	va_list ap;
	p->n++;
	if (p->n > MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	log_vmsg(p->lg, LOG_ERROR, fmt, ap);
	va_end(ap);
}
