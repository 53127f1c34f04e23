/*
 * s3par.c: a streamed multipart upload with several parts in flight.
 *
 * Why: each part is hashed (SigV4 signs the payload) and sent, and the
 * whole stream is hashed again for the manifest; done in turn, one core
 * hashes while the network waits.  Here the reader (the pipeline: pg_dump,
 * gzip, the manifest's SHA-256) fills one part while PAR_WORKERS threads,
 * each with its own HTTP client and connection, hash and send others.
 * Memory is PAR_SLOTS part buffers, whatever the stream's size.
 *
 * Parts are 8 MiB, doubling every 2,500 parts (S3 allows 10,000 parts of
 * different sizes, all but the last at least 5 MiB): 32 MiB of buffers up
 * to 19.5 GiB, 273 GiB at most.  Any failure aborts the upload, so no
 * object appears; S3 shows a multipart upload only once completed.
 *
 * Credentials: each worker signs with its own copy of the session's,
 * taken under the lock when it takes a part; only the reader's thread
 * renews them (instance-role credentials near expiry).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "exits.h"
#include "sha256.h"

#define PAR_WORKERS 3
#define PAR_SLOTS (PAR_WORKERS + 1)
#define PARTS_PER_STEP 2500

enum slot_state { SLOT_FREE, SLOT_FULL, SLOT_SENDING };

struct slot {
	char *p;
	size_t cap, n, num;
	enum slot_state state;
};

struct par;

struct worker {
	struct par *par;
	pthread_t th;
	struct http_client http;
	struct aws_session session; /* a copy: credentials and region only */
	struct s3_client s3;
	bool started;
};

struct par {
	struct store *st;
	const char *key;
	char id[1024];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot slots[PAR_SLOTS];
	char (*etags)[S3_ETAG_MAX];
	struct worker w[PAR_WORKERS];
	bool done;        /* no more parts will come */
	size_t parts;     /* how many the upload has, once fed */
	uint64_t total;   /* the bytes fed */
	int rc;           /* the first failure */
	struct s3_error err;
};

/* -vv traces from several workers: one line at a time. */
static pthread_mutex_t trace_mu = PTHREAD_MUTEX_INITIALIZER;

static void
trace_locked(void *ctx, const char *line)
{
	pthread_mutex_lock(&trace_mu);
	log_trace((struct log *)ctx, "%s", line);
	pthread_mutex_unlock(&trace_mu);
}

static size_t
part_size(size_t num)
{
	size_t steps = (num - 1) / PARTS_PER_STEP;
	return (size_t)S3_PART_SIZE << steps;
}

/* take: a full slot for a worker, or NULL when there is no more work. */
static struct slot *
take(struct par *p, struct worker *w)
{
	for (;;) {
		for (size_t i = 0; p->rc == 0 && i < PAR_SLOTS; i++)
			if (p->slots[i].state == SLOT_FULL) {
				p->slots[i].state = SLOT_SENDING;
				aws_credentials_wipe(&w->session.cred);
				w->session.cred = p->st->session.cred;
				w->session.cred.expiration = 0; /* the reader renews */
				return &p->slots[i];
			}
		if (p->done || p->rc != 0)
			return NULL;
		pthread_cond_wait(&p->cv, &p->mu);
	}
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct par *p = w->par;
	struct s3_error e;
	pthread_mutex_lock(&p->mu);
	struct slot *s;
	while ((s = take(p, w)) != NULL) {
		char etag[S3_ETAG_MAX];
		size_t num = s->num;
		pthread_mutex_unlock(&p->mu);
		char hash[SHA256_HEX_SIZE];
		sha256_hex(s->p, s->n, hash); /* quicker than the signer's own */
		int r = s3_multipart_part(&w->s3, p->key, p->id, num, s->p, s->n, hash, etag, &e);
		pthread_mutex_lock(&p->mu);
		if (r == 0) {
			memcpy(p->etags[num - 1], etag, S3_ETAG_MAX);
		} else if (p->rc == 0) {
			p->rc = r;
			p->err = e;
		}
		s->state = SLOT_FREE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int
start_workers(struct par *p)
{
	char err[512];
	for (size_t i = 0; i < PAR_WORKERS; i++) {
		struct worker *w = &p->w[i];
		w->par = p;
		if (http_client_init(&w->http) != 0)
			return EX_SOFTWARE;
		w->http.timeout_ms = p->st->http.timeout_ms;
		if (p->st->http.trace != NULL) {
			w->http.trace = trace_locked;
			w->http.trace_ctx = p->st->lg;
		}
		memset(&w->session, 0, sizeof(w->session));
		memcpy(w->session.region, p->st->session.region, sizeof(w->session.region));
		int r = s3_client_init(&w->s3, &w->session, &w->http, p->st->bucket,
		    p->st->s3.path_style ? S3_ADDR_PATH : S3_ADDR_VIRTUAL, err, sizeof(err));
		if (r != 0)
			return r;
		w->s3.sse = p->st->s3.sse;
		w->s3.sse_kms_key_id = p->st->s3.sse_kms_key_id;
		if (pthread_create(&w->th, NULL, work, w) != 0)
			return EX_SOFTWARE;
		w->started = true;
	}
	return 0;
}

static void
stop_workers(struct par *p)
{
	pthread_mutex_lock(&p->mu);
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < PAR_WORKERS; i++) {
		struct worker *w = &p->w[i];
		if (w->started)
			pthread_join(w->th, NULL);
		if (w->par != NULL) {
			p->st->s3.calls += w->s3.calls;
			http_client_free(&w->http);
			aws_credentials_wipe(&w->session.cred);
		}
	}
}

/* fill reads until b holds n bytes or the stream ends; (size_t)-1 on error. */
static size_t
fill(bk_read_fn rd, void *ctx, char *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t r = rd(ctx, b + got, n - got);
		if (r == (size_t)-1)
			return r;
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

/* free_slot waits for a free slot, sized for part num; NULL after a failure. */
static struct slot *
free_slot(struct par *p, size_t num)
{
	pthread_mutex_lock(&p->mu);
	struct slot *s = NULL;
	while (s == NULL && p->rc == 0) {
		for (size_t i = 0; s == NULL && i < PAR_SLOTS; i++)
			if (p->slots[i].state == SLOT_FREE)
				s = &p->slots[i];
		if (s == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	/* Renew instance-role credentials here, where no worker copies them. */
	char err[AWS_ERR_MAX];
	if (s != NULL && aws_session_refresh(&p->st->session, err, sizeof(err)) != 0) {
		p->rc = EX_UNAVAILABLE;
		str_fmt_clip(p->err.text, sizeof(p->err.text), "s3 upload: %s", err);
		s = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	size_t want = part_size(num);
	if (s != NULL && s->cap < want) {
		char *q = realloc(s->p, want);
		if (q == NULL) {
			pthread_mutex_lock(&p->mu);
			p->rc = EX_SOFTWARE;
			str_copy(p->err.text, sizeof(p->err.text), "s3 upload: out of memory");
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		s->p = q;
		s->cap = want;
	}
	return s;
}

/* feed hands the stream to the workers, part by part. */
static void
feed(struct par *p, bk_read_fn rd, void *ctx)
{
	for (size_t num = 1;; num++) {
		struct slot *s = free_slot(p, num);
		if (s == NULL)
			return;
		if (num > S3_MAX_PARTS) {
			p->rc = EX_DATAERR;
			str_fmt_clip(p->err.text, sizeof(p->err.text), "s3 upload %s: more than %d parts",
			    p->key, S3_MAX_PARTS);
			return;
		}
		size_t want = part_size(num), n = fill(rd, ctx, s->p, want);
		pthread_mutex_lock(&p->mu);
		if (n == (size_t)-1 && p->rc == 0) {
			p->rc = EX_IOERR;
			str_fmt_clip(p->err.text, sizeof(p->err.text), "s3 upload s3://%s/%s: reading "
			    "the body failed", p->st->bucket, p->key);
		}
		bool last = n != (size_t)-1 && n < want;
		if (p->rc == 0 && (n > 0 || num == 1)) {
			s->n = n;
			s->num = num;
			s->state = SLOT_FULL;
			p->total += n;
			pthread_cond_broadcast(&p->cv);
		}
		bool stop = p->rc != 0 || last;
		pthread_mutex_unlock(&p->mu);
		if (stop) {
			p->parts = n == 0 && num > 1 ? num - 1 : num;
			return;
		}
	}
}

/*
 * completed_anyway: after CompleteMultipartUpload failed, is the object
 * there, whole?  The answer may be what was lost (a connection reset
 * after S3 completed it), and then a retry finds no such upload: S3 has
 * the object all the same.  Its size must be what was fed.
 */
static bool
completed_anyway(struct par *p)
{
	struct s3_error e;
	struct s3_list l = { 0 };
	bool whole = false;
	if (s3_list(&p->st->s3, p->key, &l, &e) == 0)
		for (size_t i = 0; i < l.n; i++)
			if (strcmp(l.v[i].key, p->key) == 0 && l.v[i].size == p->total)
				whole = true;
	s3_list_free(&l);
	if (whole)
		log_debug(p->st->lg, "s3://%s/%s: the answer to completing it was lost, but "
		    "the object is there, %llu bytes", p->st->bucket, p->key,
		    (unsigned long long)p->total);
	return whole;
}

int
s3par_upload(struct store *st, const char *key, bk_read_fn rd, void *ctx,
    const char *content_type, struct s3_error *e)
{
	struct par *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->etags = calloc(S3_MAX_PARTS, S3_ETAG_MAX)) == NULL) {
		free(p);
		str_copy(e->text, sizeof(e->text), "s3 upload: out of memory");
		return EX_SOFTWARE;
	}
	p->st = st;
	p->key = key;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	int r = s3_multipart_start(&st->s3, key, content_type, p->id, sizeof(p->id), e);
	if (r != 0) {
		free(p->etags);
		free(p);
		return r;
	}
	if ((r = start_workers(p)) != 0) {
		p->rc = r;
		str_copy(p->err.text, sizeof(p->err.text), "s3 upload: cannot start the workers");
	} else {
		feed(p, rd, ctx);
	}
	size_t parts = p->parts;
	stop_workers(p);
	r = p->rc;
	*e = p->err;
	if (r == 0) {
		r = s3_multipart_complete(&st->s3, key, p->id, p->etags, parts, e);
		if (r != 0 && completed_anyway(p))
			r = 0;
	}
	if (r != 0)
		s3_multipart_abort(&st->s3, key, p->id, e);
	for (size_t i = 0; i < PAR_SLOTS; i++)
		free(p->slots[i].p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->etags);
	free(p);
	return r;
}
