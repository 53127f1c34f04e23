/*
 * gzpipe.c: gzip compression on a second thread.
 *
 * Why: building a package reads every file and hashes it (SHA-256) and
 * compresses the cpio stream; compression is most of the time.  On two
 * cores the reading and hashing overlap with deflate, and the build
 * takes about as long as gzip alone.  The writer fills fixed chunks that
 * the compressing thread takes in order; a small ring of them bounds the
 * memory whatever the payload size.  The compressed bytes are hashed
 * (the payload digest) and written to fd by the compressing thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "create-rpm.h"

static void *
consume(void *arg)
{
	struct gzpipe *g = arg;
	unsigned char *out = malloc(GZPIPE_CHUNK);
	int failed = out == NULL;
	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (g->filled == 0 && !g->done)
			pthread_cond_wait(&g->cv, &g->mu);
		bool last = g->filled == 0 && g->done;
		size_t slot = g->head, n = last ? 0 : g->len[slot];
		pthread_mutex_unlock(&g->mu);
		int flush = last ? Z_FINISH : Z_NO_FLUSH;
		g->z.next_in = last ? NULL : g->chunk[slot];
		g->z.avail_in = (uInt)n;
		int zr = Z_OK;
		do {
			if (failed)
				break;
			g->z.next_out = out;
			g->z.avail_out = GZPIPE_CHUNK;
			zr = deflate(&g->z, flush);
			size_t have = GZPIPE_CHUNK - g->z.avail_out;
			br_sha256_update(&g->sha, out, have);
			g->csize += have;
			if (zr == Z_STREAM_ERROR || write_all(g->fd, out, have) == -1) {
				g->err = errno ? errno : EIO;
				failed = 1;
			}
		} while (g->z.avail_out == 0 || (last && zr != Z_STREAM_END));
		pthread_mutex_lock(&g->mu);
		if (failed)
			g->failed = true;
		if (!last) {
			g->head = (g->head + 1) % GZPIPE_SLOTS;
			g->filled--;
		}
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		if (last)
			break;
	}
	free(out);
	return NULL;
}

int
gzpipe_start(struct gzpipe *g, int fd, int level)
{
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	br_sha256_init(&g->sha);
	for (int i = 0; i < GZPIPE_SLOTS; i++)
		if ((g->chunk[i] = malloc(GZPIPE_CHUNK)) == NULL)
			return -1;
	if (deflateInit2(&g->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (pthread_create(&g->thread, NULL, consume, g) != 0) {
		deflateEnd(&g->z);
		return -1;
	}
	g->started = true;
	return 0;
}

/* hand_off queues the chunk being filled; waits while the ring is full. */
static int
hand_off(struct gzpipe *g)
{
	pthread_mutex_lock(&g->mu);
	g->len[g->tail] = g->fill;
	g->tail = (g->tail + 1) % GZPIPE_SLOTS;
	g->filled++;
	pthread_cond_broadcast(&g->cv);
	while (g->filled == GZPIPE_SLOTS - 1 && !g->failed)
		pthread_cond_wait(&g->cv, &g->mu);
	bool failed = g->failed;
	pthread_mutex_unlock(&g->mu);
	g->fill = 0;
	return failed ? -1 : 0;
}

int
gzpipe_write(struct gzpipe *g, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n > 0) {
		/* The slot at tail is never one the consumer holds. */
		size_t take = GZPIPE_CHUNK - g->fill < n ? GZPIPE_CHUNK - g->fill : n;
		memcpy(g->chunk[g->tail] + g->fill, c, take);
		g->fill += take;
		c += take;
		n -= take;
		if (g->fill == GZPIPE_CHUNK && hand_off(g) == -1)
			return -1;
	}
	return 0;
}

int
gzpipe_finish(struct gzpipe *g, bool ok)
{
	if (!g->started) {
		for (int i = 0; i < GZPIPE_SLOTS; i++)
			free(g->chunk[i]);
		return -1;
	}
	if (ok && g->fill > 0)
		hand_off(g);
	pthread_mutex_lock(&g->mu);
	g->done = true;
	if (!ok)
		g->failed = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	deflateEnd(&g->z);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	for (int i = 0; i < GZPIPE_SLOTS; i++)
		free(g->chunk[i]);
	return g->failed ? -1 : 0;
}
