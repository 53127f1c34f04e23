/*
 * store.c: where backups live.
 *
 *   file:///dir            the default; directories made 0700, files 0600
 *   s3://bucket[/prefix]   libcommon's S3 client (SigV4, retries)
 *
 * A key is the path below the root ("stage/consul/consul-backup-...").
 * Nothing half-written is ever visible under its own name: a file is
 * written as ".NAME.part-PID" beside its final name, synced, and then
 * linked to that name (which fails rather than replace a backup that
 * exists) and the temporary name removed; an S3 object is a multipart
 * upload, which S3 shows only once it is completed, and which is aborted
 * when anything fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "exits.h"

static void
trace_line(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "%s", line);
}

/* s3_setup: credentials, region and the client, when the root is s3://. */
static int
s3_setup(struct store *st)
{
	char err[AWS_ERR_MAX > S3_ERR_MAX ? AWS_ERR_MAX : S3_ERR_MAX];
	int r = aws_session_init(&st->session, st->o->region, NULL, err, sizeof(err));
	if (r != 0) {
		log_error(st->lg, "%s: %s", st->url, err);
		return r;
	}
	secret_hold(st->lg, st->session.cred.secret_access_key);
	secret_hold(st->lg, st->session.cred.session_token);
	if ((r = http_client_init(&st->http)) != 0) {
		aws_session_free(&st->session);
		log_error(st->lg, "cannot initialize libcurl");
		return r;
	}
	/* A part of 8 MiB must go up in this time even on a slow link. */
	st->http.timeout_ms = 10 * 60 * 1000;
	if (log_enabled(st->lg, LOG_TRACE)) {
		st->http.trace = trace_line;
		st->http.trace_ctx = st->lg;
	}
	r = s3_client_init(&st->s3, &st->session, &st->http, st->bucket, S3_ADDR_AUTO, err,
	    sizeof(err));
	if (r != 0) {
		log_error(st->lg, "%s: %s", st->url, err);
		http_client_free(&st->http);
		aws_session_free(&st->session);
		return r;
	}
	st->s3.sse = st->o->sse;
	st->s3.sse_kms_key_id = st->o->sse_kms_key;
	st->s3_ready = true;
	log_debug(st->lg, "S3 endpoint %s (%s-style), region %s, credentials from %s",
	    st->s3.endpoint, st->s3.path_style ? "path" : "virtual-host", st->session.region,
	    st->session.cred.detail);
	return 0;
}

bool
store_url_refused(const char *url, struct log *lg)
{
	const char *host = strstr(url, "://");
	host = host != NULL ? host + 3 : url;
	if (memchr(host, '@', strcspn(host, "/")) == NULL)
		return false;
	/* Never repeat what precedes the '@': it is likely a secret. */
	log_error(lg,
	    "store URL: user:password@ would show in ps, logs and manifests; "
	    "AWS credentials come from AWS_* or the shared files");
	return true;
}

int
store_open(struct store *st, const char *url, const struct options *o, struct log *lg)
{
	memset(st, 0, sizeof(*st));
	st->o = o;
	st->lg = lg;
	if (store_url_refused(url, lg))
		return EX_USAGE;
	if (str_copy(st->url, sizeof(st->url), url) == -1) {
		log_error(lg, "store URL %.60s...: too long", url);
		return EX_USAGE;
	}
	size_t n = strlen(st->url);
	while (n > 0 && st->url[n - 1] == '/' && strcmp(st->url, "file:///") != 0)
		st->url[--n] = '\0';
	if (strncmp(st->url, "file://", 7) == 0) {
		st->kind = STORE_FILE;
		if (st->url[7] != '/' || str_copy(st->dir, sizeof(st->dir), st->url + 7) == -1) {
			log_error(lg, "store %s: a directory is file:///ABSOLUTE/PATH", url);
			return EX_USAGE;
		}
		return 0;
	}
	if (strncmp(st->url, "s3://", 5) != 0) {
		log_error(lg, "store %s: expected s3://BUCKET[/PREFIX] or file:///DIR", url);
		return EX_USAGE;
	}
	st->kind = STORE_S3;
	const char *b = st->url + 5, *slash = strchr(b, '/');
	size_t bl = slash ? (size_t)(slash - b) : strlen(b);
	if (bl == 0 || bl >= sizeof(st->bucket)) {
		log_error(lg, "store %s: expected s3://BUCKET[/PREFIX]", url);
		return EX_USAGE;
	}
	memcpy(st->bucket, b, bl);
	st->bucket[bl] = '\0';
	if (slash && slash[1] && str_fmt(st->prefix, sizeof(st->prefix), "%s/", slash + 1) == -1) {
		log_error(lg, "store %s: prefix too long", url);
		return EX_USAGE;
	}
	return s3_setup(st);
}

void
store_close(struct store *st)
{
	if (st->s3_ready) {
		log_debug(st->lg, "%lu S3 requests", st->s3.calls);
		http_client_free(&st->http);
		aws_session_free(&st->session);
	}
	st->s3_ready = false;
}

int
store_open_object(struct store *st, const char *url, char *name, size_t namesize,
    const struct options *o, struct log *lg)
{
	char root[BK_URL_MAX];
	const char *slash = strrchr(url, '/');
	if (slash == NULL || slash[1] == '\0' || (size_t)(slash - url) >= sizeof(root) ||
	    str_copy(name, namesize, slash + 1) == -1) {
		log_error(lg, "%s: not the URL of a backup (s3://BUCKET/.../NAME or "
			      "file:///DIR/.../NAME)", url);
		return EX_USAGE;
	}
	memcpy(root, url, (size_t)(slash - url));
	root[slash - url] = '\0';
	if (strcmp(root, "file://") == 0)
		return store_open(st, "file:///", o, lg);
	return store_open(st, root, o, lg);
}

void
store_key_url(const struct store *st, const char *key, char *out, size_t outsize)
{
	size_t n = strlen(st->url);
	str_fmt_clip(out, outsize, "%s%s%s", st->url, n && st->url[n - 1] == '/' ? "" : "/", key);
}

/* path_of: the file of key under a file:// root. */
static int
path_of(const struct store *st, const char *key, char *out, size_t outsize)
{
	size_t n = strlen(st->dir);
	return str_fmt(out, outsize, "%s%s%s", st->dir, n && st->dir[n - 1] == '/' ? "" : "/", key);
}

static int
s3_key_of(const struct store *st, const char *key, char *out, size_t outsize)
{
	return str_fmt(out, outsize, "%s%s", st->prefix, key);
}

/* mkdirs makes every directory of path's parent, 0700. */
static int
mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		int e = errno;
		*p = '/';
		if (r == -1 && e != EEXIST) {
			errno = e;
			return -1;
		}
	}
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR && !bk_interrupted)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* sync_dir makes a new name in dir durable. */
static void
sync_dir(const char *file)
{
	char dir[BK_KEY_MAX];
	if (str_copy(dir, sizeof(dir), file) == -1)
		return;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd != -1) {
		fsync(fd);
		close(fd);
	}
}

/* publish gives tmp its final name without replacing anything. */
static int
publish(const char *tmp, const char *path)
{
	if (link(tmp, path) == 0)
		return unlink(tmp);
	if (errno == EEXIST)
		return -1;
	/* A file system without hard links: rename, after a check. */
	struct stat sb;
	if (lstat(path, &sb) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, path);
}

static int
file_put(struct store *st, const char *key, bk_read_fn rd, void *ctx)
{
	char path[BK_KEY_MAX + 64], tmp[BK_KEY_MAX + 96];
	if (path_of(st, key, path, sizeof(path)) == -1) {
		log_error(st->lg, "%s/%s: path too long", st->dir, key);
		return EX_CANTCREAT;
	}
	char *slash = strrchr(path, '/');
	str_fmt_clip(tmp, sizeof(tmp), "%.*s/.%s.part-%ld", (int)(slash - path), path, slash + 1,
	    (long)getpid());
	if (mkdirs(path) == -1) {
		log_error(st->lg, "cannot create the directories of %s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_error(st->lg, "cannot create %s: %s", tmp, strerror(errno));
		return EX_CANTCREAT;
	}
	fchmod(fd, 0600);
	char *b = malloc(BK_CHUNK);
	int r = b ? 0 : EX_SOFTWARE;
	while (r == 0) {
		size_t n = rd(ctx, b, BK_CHUNK);
		if (n == (size_t)-1) {
			log_error(st->lg, "%s: the backup's source failed; nothing was stored", path);
			r = EX_IOERR;
		} else if (n == 0) {
			break;
		} else if (write_all(fd, b, n) == -1) {
			log_error(st->lg, "cannot write %s: %s; nothing was stored", tmp,
			    strerror(errno));
			r = EX_IOERR;
		}
	}
	free(b);
	if (r == 0 && fsync(fd) == -1) {
		log_error(st->lg, "cannot write %s: %s; nothing was stored", tmp, strerror(errno));
		r = EX_IOERR;
	}
	if (close(fd) == -1 && r == 0) {
		log_error(st->lg, "cannot write %s: %s; nothing was stored", tmp, strerror(errno));
		r = EX_IOERR;
	}
	if (r == 0 && publish(tmp, path) == -1) {
		log_error(st->lg, "cannot create %s: %s", path, strerror(errno));
		r = errno == EEXIST ? EX_TEMPFAIL : EX_CANTCREAT;
	}
	if (r != 0)
		unlink(tmp);
	else
		sync_dir(path);
	return r;
}

int
store_put_stream(struct store *st, const char *key, bk_read_fn rd, void *ctx,
    const char *content_type)
{
	if (st->kind == STORE_FILE)
		return file_put(st, key, rd, ctx);
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	if (s3_key_of(st, key, k, sizeof(k)) == -1) {
		log_error(st->lg, "%s/%s: key too long", st->url, key);
		return EX_USAGE;
	}
	int r = s3par_upload(st, k, rd, ctx, content_type, &e);
	if (r != 0)
		log_error(st->lg, "%s; nothing was stored", e.text);
	return r;
}

int
store_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const char *content_type)
{
	struct mem_src m = { p, n, 0 };
	if (st->kind == STORE_FILE)
		return file_put(st, key, mem_read, &m);
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	if (s3_key_of(st, key, k, sizeof(k)) == -1) {
		log_error(st->lg, "%s/%s: key too long", st->url, key);
		return EX_USAGE;
	}
	int r = s3_put_mem(&st->s3, k, p, n, content_type, &e);
	if (r != 0)
		log_error(st->lg, "%s", e.text);
	return r;
}

/* A sink that remembers whether it was the sink that failed. */
struct guarded {
	bk_sink_fn sink;
	void *ctx;
	bool failed;
};

static int
guarded_push(void *ctx, const char *p, size_t n)
{
	struct guarded *g = ctx;
	int r = g->sink(g->ctx, p, n);
	g->failed = r != 0;
	return r;
}

static int
file_get(struct store *st, const char *key, bk_sink_fn sink, void *ctx)
{
	char path[BK_KEY_MAX + 64];
	if (path_of(st, key, path, sizeof(path)) == -1) {
		log_error(st->lg, "%s/%s: path too long", st->dir, key);
		return EX_NOINPUT;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		log_error(st->lg, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	char *b = malloc(BK_CHUNK);
	int r = b ? 0 : EX_SOFTWARE;
	while (r == 0) {
		ssize_t n = read(fd, b, BK_CHUNK);
		if (n == -1 && errno == EINTR && !bk_interrupted)
			continue;
		if (n == -1) {
			log_error(st->lg, "cannot read %s: %s", path, strerror(errno));
			r = EX_IOERR;
		} else if (n == 0) {
			break;
		} else {
			r = sink(ctx, b, (size_t)n);
		}
	}
	free(b);
	close(fd);
	return r;
}

int
store_get(struct store *st, const char *key, uint64_t size, bk_sink_fn sink, void *ctx)
{
	if (st->kind == STORE_FILE)
		return file_get(st, key, sink, ctx);
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	struct guarded g = { sink, ctx, false };
	if (s3_key_of(st, key, k, sizeof(k)) == -1) {
		log_error(st->lg, "%s/%s: key too long", st->url, key);
		return EX_USAGE;
	}
	/* The whole body is one attempt: allow a minute plus 1 MiB/s. */
	long saved = st->http.timeout_ms;
	st->http.timeout_ms = 60000 + (long)(size / 1048);
	int r = s3_get(&st->s3, k, guarded_push, &g, &e);
	st->http.timeout_ms = saved;
	if (r != 0 && !g.failed)
		log_error(st->lg, "%s", e.text);
	return r;
}

int
store_stat(struct store *st, const char *key, uint64_t *size)
{
	if (st->kind == STORE_FILE) {
		char path[BK_KEY_MAX + 64];
		struct stat sb;
		if (path_of(st, key, path, sizeof(path)) == -1 || stat(path, &sb) == -1) {
			if (errno == ENOENT)
				return EX_NOINPUT;
			log_error(st->lg, "cannot stat %s: %s", path, strerror(errno));
			return EX_IOERR;
		}
		*size = (uint64_t)sb.st_size;
		return 0;
	}
	/*
	 * Not HEAD: libcommon's HTTP client refuses a HEAD answer whose
	 * Content-Length exceeds its response limit (16 MiB), so the size
	 * comes from a listing of the key itself, one request all the same.
	 */
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	struct s3_list l = { 0 };
	if (s3_key_of(st, key, k, sizeof(k)) == -1)
		return EX_NOINPUT;
	int r = s3_list(&st->s3, k, &l, &e);
	if (r != 0)
		log_error(st->lg, "%s", e.text);
	else
		r = EX_NOINPUT;
	for (size_t i = 0; i < l.n && r == EX_NOINPUT; i++)
		if (strcmp(l.v[i].key, k) == 0) {
			*size = l.v[i].size;
			r = 0;
		}
	s3_list_free(&l);
	return r;
}

int
store_delete(struct store *st, const char *key)
{
	if (st->kind == STORE_FILE) {
		char path[BK_KEY_MAX + 64];
		if (path_of(st, key, path, sizeof(path)) == -1)
			return EX_USAGE;
		if (unlink(path) == -1 && errno != ENOENT) {
			log_error(st->lg, "cannot delete %s: %s", path, strerror(errno));
			return EX_IOERR;
		}
		return 0;
	}
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	if (s3_key_of(st, key, k, sizeof(k)) == -1)
		return EX_USAGE;
	int r = s3_delete(&st->s3, k, &e);
	if (r != 0)
		log_error(st->lg, "%s", e.text);
	return r;
}

static int
add_item(struct store_items *l, const char *name, uint64_t size)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct store_item *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (str_copy(l->v[l->n].name, sizeof(l->v[l->n].name), name) == -1)
		return 0; /* a name longer than ours cannot be ours */
	l->v[l->n++].size = size;
	return 0;
}

static int
file_list(struct store *st, const char *dir, struct store_items *out)
{
	char path[BK_KEY_MAX + 64];
	if (path_of(st, dir, path, sizeof(path)) == -1)
		return EX_USAGE;
	DIR *d = opendir(path);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		log_error(st->lg, "cannot list %s: %s", path, strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_IOERR;
	}
	int dfd = dirfd(d), r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		struct stat sb;
		if (e->d_name[0] == '.' || fstatat(dfd, e->d_name, &sb, 0) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (add_item(out, e->d_name, (uint64_t)sb.st_size) == -1) {
			log_error(st->lg, "out of memory listing %s", path);
			r = EX_SOFTWARE;
		}
	}
	closedir(d);
	return r;
}

int
store_list(struct store *st, const char *dir, struct store_items *out)
{
	if (st->kind == STORE_FILE)
		return file_list(st, dir, out);
	char k[BK_KEY_MAX * 2];
	struct s3_error e;
	struct s3_list l = { 0 };
	if (s3_key_of(st, dir, k, sizeof(k)) == -1)
		return EX_USAGE;
	int r = s3_list(&st->s3, k, &l, &e);
	if (r != 0)
		log_error(st->lg, "%s", e.text);
	size_t kl = strlen(k);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		const char *name = l.v[i].key + kl;
		if (strncmp(l.v[i].key, k, kl) != 0 || *name == '\0' || strchr(name, '/'))
			continue;
		if (add_item(out, name, l.v[i].size) == -1) {
			log_error(st->lg, "out of memory listing %s", st->url);
			r = EX_SOFTWARE;
		}
	}
	s3_list_free(&l);
	return r;
}

void
store_items_free(struct store_items *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
