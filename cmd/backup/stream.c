/*
 * stream.c: the byte pipeline between a service and the store.
 *
 * Backing up pulls: the store asks for bytes (s3_upload_stream fills one
 * part at a time), the tally hashes and counts them, gzip compresses what
 * the service yields.  Restoring pushes: the store hands each piece it
 * reads to the tally, then to gunzip, then to the service.  Every stage
 * holds one fixed buffer, so memory does not grow with the backup's size.
 * The SHA-256 and size in the manifest are those of the stored bytes
 * (after gzip), so verify needs no decompression.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "exits.h"

#define GZ_IN (256u << 10)
#define GZ_OUT (256u << 10)

size_t
mem_read(void *ctx, char *b, size_t n)
{
	struct mem_src *m = ctx;
	size_t left = m->n - m->off;
	if (n > left)
		n = left;
	memcpy(b, m->p + m->off, n);
	m->off += n;
	return n;
}

void
human_size(uint64_t n, char out[32])
{
	if (n < 1024)
		snprintf(out, 32, "%llu B", (unsigned long long)n);
	else if (n < (1u << 20))
		snprintf(out, 32, "%.1f KiB", n / 1024.0);
	else if (n < (1u << 30))
		snprintf(out, 32, "%.1f MiB", n / 1048576.0);
	else
		snprintf(out, 32, "%.2f GiB", n / 1073741824.0);
}

static double
seconds_since(const struct timespec *a)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->tv_sec) + (now.tv_nsec - a->tv_nsec) / 1e9;
}

void
tally_init(struct tally *t, bk_read_fn up, void *up_ctx, const char *verb, struct log *lg)
{
	memset(t, 0, sizeof(*t));
	t->up = up;
	t->up_ctx = up_ctx;
	t->verb = verb;
	t->lg = lg;
	sha256_init(&t->sha);
	clock_gettime(CLOCK_MONOTONIC, &t->start);
	t->shown = t->start;
}

/* count adds n bytes, and shows progress about once a second at most. */
static void
count(struct tally *t, const char *p, size_t n)
{
	sha256_update(&t->sha, p, n);
	t->n += n;
	if (seconds_since(&t->shown) >= 1.0) {
		char sz[32];
		double s = seconds_since(&t->start);
		human_size(t->n, sz);
		log_progress(t->lg, "%s %s (%.1f MiB/s)", t->verb, sz,
		    s > 0 ? t->n / 1048576.0 / s : 0.0);
		clock_gettime(CLOCK_MONOTONIC, &t->shown);
	}
}

size_t
tally_read(void *ctx, char *b, size_t n)
{
	struct tally *t = ctx;
	if (bk_interrupted) {
		t->failed = true;
		return (size_t)-1;
	}
	size_t got = t->up(t->up_ctx, b, n);
	if (got == (size_t)-1) {
		t->failed = true;
		return got;
	}
	count(t, b, got);
	return got;
}

int
tally_push(void *ctx, const char *p, size_t n)
{
	struct tally_sink *s = ctx;
	if (bk_interrupted)
		return EX_TEMPFAIL;
	count(&s->t, p, n);
	return s->next ? s->next(s->next_ctx, p, n) : 0;
}

void
tally_final(struct tally *t, char hex[SIGV4_HEX_SIZE])
{
	sha256_final_hex(&t->sha, hex);
}

/* tally_done ends the progress line with a summary at -v. */
void
tally_done(struct tally *t)
{
	char sz[32];
	double s = seconds_since(&t->start);
	human_size(t->n, sz);
	log_progress_end(t->lg);
	log_debug(t->lg, "%s %s in %.1f s (%.1f MiB/s)", t->verb, sz, s,
	    s > 0 ? t->n / 1048576.0 / s : 0.0);
}

/* --- gzip ------------------------------------------------------------------- */

int
gzip_src_init(struct gzip_src *g, bk_read_fn up, void *up_ctx)
{
	memset(g, 0, sizeof(*g));
	g->up = up;
	g->up_ctx = up_ctx;
	g->in = malloc(GZ_IN);
	/* windowBits 15 + 16: a gzip member, as gzip(1) and zcat read it. */
	if (g->in == NULL ||
	    deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	        Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g->in);
		g->in = NULL;
		return -1;
	}
	g->ready = true;
	return 0;
}

size_t
gzip_read(void *ctx, char *b, size_t n)
{
	struct gzip_src *g = ctx;
	if (g->end)
		return 0;
	if (n > UINT_MAX)
		n = UINT_MAX;
	g->z.next_out = (Bytef *)b;
	g->z.avail_out = (uInt)n;
	while (g->z.avail_out > 0 && !g->end) {
		if (g->z.avail_in == 0 && !g->in_eof) {
			size_t r = g->up(g->up_ctx, (char *)g->in, GZ_IN);
			if (r == (size_t)-1)
				return r;
			g->in_eof = r == 0;
			g->z.next_in = g->in;
			g->z.avail_in = (uInt)r;
		}
		int zr = deflate(&g->z, g->in_eof ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			g->end = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return (size_t)-1;
	}
	return n - g->z.avail_out;
}

void
gzip_src_free(struct gzip_src *g)
{
	if (g->ready)
		deflateEnd(&g->z);
	free(g->in);
	g->in = NULL;
	g->ready = false;
}

int
gunzip_init(struct gunzip_sink *g, bk_sink_fn next, void *next_ctx, struct log *lg)
{
	memset(g, 0, sizeof(*g));
	g->next = next;
	g->next_ctx = next_ctx;
	g->lg = lg;
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
		log_error(lg, "cannot set up gzip decompression (out of memory)");
		return EX_SOFTWARE;
	}
	g->ready = true;
	return 0;
}

int
gunzip_push(void *ctx, const char *p, size_t n)
{
	struct gunzip_sink *g = ctx;
	unsigned char out[GZ_OUT / 4];
	while (n > 0) {
		if (g->end) {
			log_error(g->lg, "the backup has data after the end of its gzip stream");
			return EX_DATAERR;
		}
		uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
		g->z.next_in = (Bytef *)p;
		g->z.avail_in = take;
		do {
			g->z.next_out = out;
			g->z.avail_out = sizeof(out);
			int zr = inflate(&g->z, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
				log_error(g->lg, "the backup is not valid gzip: %s",
				    g->z.msg ? g->z.msg : "inflate failed");
				return EX_DATAERR;
			}
			size_t have = sizeof(out) - g->z.avail_out;
			int r = have ? g->next(g->next_ctx, (char *)out, have) : 0;
			if (r != 0)
				return r;
			if (zr == Z_STREAM_END) {
				g->end = true;
				break;
			}
			if (zr == Z_BUF_ERROR && have == 0)
				break;
		} while (g->z.avail_in > 0 || g->z.avail_out == 0);
		size_t used = take - g->z.avail_in;
		p += used;
		n -= used;
		if (g->end && n > 0) {
			log_error(g->lg, "the backup has data after the end of its gzip stream");
			return EX_DATAERR;
		}
	}
	return 0;
}

int
gunzip_end(struct gunzip_sink *g)
{
	bool end = g->end;
	if (g->ready)
		inflateEnd(&g->z);
	g->ready = false;
	if (!end) {
		log_error(g->lg, "the backup's gzip stream is cut short");
		return EX_DATAERR;
	}
	return 0;
}

void
gunzip_abort(struct gunzip_sink *g)
{
	if (g->ready)
		inflateEnd(&g->z);
	g->ready = false;
}

int
buf_sink(void *ctx, const char *p, size_t n)
{
	struct buf *b = ctx;
	return buf_append(b, p, n) == 0 ? 0 : EX_DATAERR;
}

int
gunzip_mem(const char *p, size_t n, struct buf *out, struct log *lg)
{
	struct gunzip_sink g;
	int r = gunzip_init(&g, buf_sink, out, lg);
	if (r != 0)
		return r;
	errno = 0;
	r = gunzip_push(&g, p, n);
	if (r != 0) {
		if (errno == EMSGSIZE)
			log_error(lg, "the backup decompresses to more than %zu MiB", out->max >> 20);
		gunzip_abort(&g);
		return r;
	}
	return gunzip_end(&g);
}

/* --- holdback --------------------------------------------------------------- */

int
holdback_push(void *ctx, const char *p, size_t n)
{
	struct holdback *h = ctx;
	if (h->n > 0) {
		int r = h->next(h->next_ctx, h->p, h->n);
		h->n = 0;
		if (r != 0)
			return r;
	}
	if (n > h->cap) {
		char *q = realloc(h->p, n);
		if (q == NULL)
			return EX_SOFTWARE;
		h->p = q;
		h->cap = n;
	}
	memcpy(h->p, p, n);
	h->n = n;
	return 0;
}

int
holdback_flush(struct holdback *h)
{
	int r = h->n > 0 ? h->next(h->next_ctx, h->p, h->n) : 0;
	h->n = 0;
	return r;
}

void
holdback_free(struct holdback *h)
{
	free(h->p);
	memset(h, 0, sizeof(*h));
}
