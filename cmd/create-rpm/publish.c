/*
 * publish.c: upload a yum repository to S3, changing only what differs.
 *
 * One listing of the prefix gives every object's size and ETag; a local
 * file is uploaded when either differs (the ETag S3 gives an upload is
 * the MD5 of the file, or of its parts for multipart: s3_etag_file
 * computes it for the same part size).  Order matters to a yum client
 * reading the bucket while we write: packages first, then the metadata
 * files repomd.xml names, then repomd.xml and its signature.  A client
 * that sees the new repomd.xml can then fetch everything it names.
 * Metadata files that repomd.xml no longer names are deleted last;
 * packages are never deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aws_session.h"
#include "create-rpm.h"
#include "exits.h"
#include "http.h"
#include "s3.h"

enum { STAGE_PACKAGE, STAGE_METADATA, STAGE_REPOMD, STAGE_SIGNATURE };

struct item {
	char *rel;   /* path below the repo directory */
	int stage;
};

struct items {
	struct item *v;
	size_t n, cap;
};

static int
add_item(struct items *l, const char *rel, int stage)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct item *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].stage = stage;
	return (l->v[l->n++].rel = strdup(rel)) ? 0 : -1;
}

static int
stage_of(const char *rel)
{
	if (strcmp(rel, "repodata/repomd.xml") == 0)
		return STAGE_REPOMD;
	if (strcmp(rel, "repodata/repomd.xml.asc") == 0)
		return STAGE_SIGNATURE;
	if (strncmp(rel, "repodata/", 9) == 0)
		return STAGE_METADATA;
	return STAGE_PACKAGE;
}

/* collect: every regular file below dir, but dot files. */
static int
collect(const char *dir, const char *rel, struct items *l)
{
	char path[4200];
	if (str_fmt(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel) == -1)
		return -1;
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char sub[4200], full[4400];
		struct stat st;
		if (de->d_name[0] == '.' ||
		    str_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) == -1 ||
		    str_fmt(full, sizeof(full), "%s/%s", path, de->d_name) == -1 || stat(full, &st) == -1)
			continue;
		size_t n = strlen(sub);
		if (S_ISDIR(st.st_mode))
			r = collect(dir, sub, l);
		else if (S_ISREG(st.st_mode) && (stage_of(sub) != STAGE_PACKAGE ||
						    (n > 4 && strcmp(sub + n - 4, ".rpm") == 0)))
			r = add_item(l, sub, stage_of(sub));
	}
	closedir(d);
	return r;
}

static int
by_stage(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->stage != y->stage)
		return x->stage - y->stage;
	return strcmp(x->rel, y->rel);
}

static const char *
content_type(const char *rel)
{
	size_t n = strlen(rel);
	if (n > 4 && strcmp(rel + n - 4, ".rpm") == 0)
		return "application/x-rpm";
	if (n > 3 && strcmp(rel + n - 3, ".gz") == 0)
		return "application/gzip";
	if (n > 4 && strcmp(rel + n - 4, ".xml") == 0)
		return "application/xml";
	return "text/plain";
}

struct pub {
	const struct publish_opts *o;
	struct log *lg;
	struct s3_client *s3;
	char bucket[64];
	char prefix[1024];  /* "" or "dir/" */
	struct s3_list remote;
	unsigned uploaded, same;
	char *err;
	size_t errsize;
};

static const struct s3_object *
remote_find(const struct pub *p, const char *key)
{
	for (size_t i = 0; i < p->remote.n; i++)
		if (strcmp(p->remote.v[i].key, key) == 0)
			return &p->remote.v[i];
	return NULL;
}

/* sync_one uploads rel unless the bucket already holds the same bytes. */
static int
sync_one(struct pub *p, const char *rel, struct buf *out)
{
	char path[4200], key[4200], etag[S3_ETAG_MAX], md5[33];
	if (str_fmt(path, sizeof(path), "%s/%s", p->o->dir, rel) == -1 ||
	    str_fmt(key, sizeof(key), "%s%s", p->prefix, rel) == -1)
		return EX_DATAERR;
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) == -1 ||
	    s3_etag_file(f, (uint64_t)st.st_size, p->s3->part_size, etag, md5) == -1) {
		str_fmt_clip(p->err, p->errsize, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return EX_NOINPUT;
	}
	const struct s3_object *o = remote_find(p, key);
	if (o && o->size == (uint64_t)st.st_size && (!strcmp(o->etag, etag) || !strcmp(o->etag, md5))) {
		log_debug(p->lg, "s3://%s/%s: up to date", p->bucket, key);
		p->same++;
		fclose(f);
		return 0;
	}
	if (p->o->dry_run) {
		log_info(p->lg, "dry run: would upload %s to s3://%s/%s", path, p->bucket, key);
		fclose(f);
		return 0;
	}
	struct s3_error e;
	int r = s3_upload_file(p->s3, key, f, (uint64_t)st.st_size, content_type(rel), &e);
	fclose(f);
	if (r != 0) {
		str_copy(p->err, p->errsize, e.text);
		return r;
	}
	p->uploaded++;
	log_info(p->lg, "uploaded s3://%s/%s (%lld bytes)", p->bucket, key, (long long)st.st_size);
	return buf_printf(out, "s3://%s/%s\n", p->bucket, key) ? EX_SOFTWARE : 0;
}

/* prune_remote deletes metadata the new repomd.xml no longer names. */
static int
prune_remote(struct pub *p, const struct items *local)
{
	char meta[1100];
	if (str_fmt(meta, sizeof(meta), "%srepodata/", p->prefix) == -1)
		return 0;
	for (size_t i = 0; i < p->remote.n; i++) {
		const char *key = p->remote.v[i].key;
		if (strncmp(key, meta, strlen(meta)) != 0)
			continue;
		bool kept = false;
		for (size_t j = 0; j < local->n && !kept; j++)
			kept = strcmp(key + strlen(p->prefix), local->v[j].rel) == 0;
		if (kept)
			continue;
		if (p->o->dry_run) {
			log_info(p->lg, "dry run: would delete old s3://%s/%s", p->bucket, key);
			continue;
		}
		struct s3_error e;
		int r = s3_delete(p->s3, key, &e);
		if (r != 0) {
			str_copy(p->err, p->errsize, e.text);
			return r;
		}
		log_info(p->lg, "deleted old s3://%s/%s", p->bucket, key);
	}
	return 0;
}

static int
parse_url(struct pub *p, const char *url)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bl = slash ? (size_t)(slash - b) : strlen(b);
	if (bl == 0 || bl >= sizeof(p->bucket))
		return -1;
	memcpy(p->bucket, b, bl);
	p->bucket[bl] = '\0';
	const char *pre = slash ? slash + 1 : "";
	size_t pl = strlen(pre);
	while (pl > 0 && pre[pl - 1] == '/')
		pl--;
	if (pl + 2 > sizeof(p->prefix))
		return -1;
	memcpy(p->prefix, pre, pl);
	if (pl > 0)
		p->prefix[pl++] = '/';
	p->prefix[pl] = '\0';
	return 0;
}

static void
trace_line(void *ctx, const char *line)
{
	log_trace(ctx, "%s", line);
}

static int
sync_all(struct pub *p, struct items *local, struct buf *out)
{
	struct s3_error e;
	int r = s3_list(p->s3, p->prefix, &p->remote, &e);
	if (r != 0) {
		str_copy(p->err, p->errsize, e.text);
		return r;
	}
	log_debug(p->lg, "s3://%s/%s: %zu objects listed", p->bucket, p->prefix, p->remote.n);
	for (size_t i = 0; i < local->n && r == 0; i++)
		r = sync_one(p, local->v[i].rel, out);
	if (r == 0)
		r = prune_remote(p, local);
	if (r == 0 && p->uploaded == 0 && !p->o->dry_run)
		log_info(p->lg, "s3://%s/%s is up to date (%u files): nothing to upload", p->bucket,
		    p->prefix, p->same);
	return r;
}

int
publish_repo(const struct publish_opts *o, struct log *lg, struct buf *out, char *err,
    size_t errsize)
{
	struct pub p = { .o = o, .lg = lg, .err = err, .errsize = errsize };
	struct items local = { 0 };
	const char *host = strncmp(o->url, "s3://", 5) == 0 ? o->url + 5 : o->url;
	if (memchr(host, '@', strcspn(host, "/")) != NULL) {
		/* Not echoed: what precedes the '@' is likely a key or a secret. */
		str_copy(err, errsize,
		    "--publish: user:password@ in an S3 URL would show in ps "
		    "and logs; AWS credentials come from AWS_* or the shared files");
		return EX_USAGE;
	}
	if (parse_url(&p, o->url) == -1) {
		str_fmt_clip(err, errsize, "--publish %s: want s3://BUCKET[/PREFIX]", o->url);
		return EX_USAGE;
	}
	if (collect(o->dir, "", &local) == -1) {
		str_fmt_clip(err, errsize, "--repo %s: %s", o->dir, strerror(errno));
		return EX_NOINPUT;
	}
	qsort(local.v, local.n, sizeof(*local.v), by_stage);
	struct aws_session session;
	struct http_client http;
	struct s3_client s3;
	char aerr[AWS_ERR_MAX];
	int r = aws_session_init(&session, o->region, NULL, aerr, sizeof(aerr));
	if (r != 0) {
		str_copy(err, errsize, aerr);
	} else {
		log_add_secret(lg, session.cred.secret_access_key);
		log_add_secret(lg, session.cred.session_token);
		log_debug(lg, "region %s (from %s); credentials from %s", session.region,
		    session.region_source, session.cred.detail);
		r = http_client_init(&http);
		if (r == 0) {
			if (log_enabled(lg, LOG_TRACE)) {
				http.trace = trace_line;
				http.trace_ctx = lg;
			}
			r = s3_client_init(&s3, &session, &http, p.bucket, S3_ADDR_AUTO, err, errsize);
			p.s3 = &s3;
			if (r == 0) {
				log_debug(lg, "S3 endpoint %s (%s-style)", s3.endpoint,
				    s3.path_style ? "path" : "virtual-host");
				r = sync_all(&p, &local, out);
				log_debug(lg, "%lu S3 requests", s3.calls);
			}
			http_client_free(&http);
		} else {
			str_copy(err, errsize, "cannot set up HTTP");
		}
		aws_session_free(&session);
	}
	s3_list_free(&p.remote);
	for (size_t i = 0; i < local.n; i++)
		free(local.v[i].rel);
	free(local.v);
	return r;
}
