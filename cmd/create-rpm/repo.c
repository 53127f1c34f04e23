/*
 * repo.c: yum repository metadata for a directory of RPMs, the way
 * createrepo writes it: repodata/repomd.xml naming
 * <sha256>-primary.xml.gz, -filelists.xml.gz and -other.xml.gz, with the
 * SHA-256 and size of each file compressed and open.
 *
 * Incremental: repodata/.create-rpm-cache remembers each package's
 * size, mtime and SHA-256, so a package already seen is not hashed
 * again (only its headers are read).  When the metadata comes out the
 * same as what repomd.xml already names, nothing is rewritten.  The
 * metadata files are content-addressed: new ones are written beside
 * the old, repomd.xml is renamed into place last, and only then are the
 * files it no longer names removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "create-rpm.h"
#include "exits.h"

#define NKINDS 3
static const char *const kinds[NKINDS] = { "primary", "filelists", "other" };

struct gzfile {
	int fd;
	char tmp[4200];
	z_stream z;
	br_sha256_context open_sha, gz_sha;
	uint64_t open_size, gz_size;
	char open_hex[65], gz_hex[65];
	unsigned char out[65536];
};

struct cache_entry {
	char *file;
	uint64_t size;
	long mtime;
	char sum[65];
};

struct repo {
	const struct repo_opts *o;
	struct log *lg;
	char **files;          /* package paths relative to the repo */
	size_t nfiles, cap;
	struct cache_entry *cache;
	size_t ncache;
	char *err;
	size_t errsize;
};

static void
hexout(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[p[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
gz_flush(struct gzfile *g, int flush)
{
	int zr;
	do {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		zr = deflate(&g->z, flush);
		size_t have = sizeof(g->out) - g->z.avail_out;
		br_sha256_update(&g->gz_sha, g->out, have);
		g->gz_size += have;
		if (zr == Z_STREAM_ERROR || write_all(g->fd, g->out, have) == -1)
			return -1;
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static int
gz_write(struct gzfile *g, const struct buf *b)
{
	br_sha256_update(&g->open_sha, b->data, b->len);
	g->open_size += b->len;
	g->z.next_in = (unsigned char *)b->data;
	g->z.avail_in = (uInt)b->len;
	return b->len ? gz_flush(g, Z_NO_FLUSH) : 0;
}

static int
gz_open(struct gzfile *g, const char *dir)
{
	memset(g, 0, sizeof(*g));
	if (str_fmt(g->tmp, sizeof(g->tmp), "%s/repodata/.tmp.XXXXXX", dir) == -1 ||
	    (g->fd = mkstemp(g->tmp)) == -1)
		return -1;
	br_sha256_init(&g->open_sha);
	br_sha256_init(&g->gz_sha);
	if (deflateInit2(&g->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		close(g->fd);
		unlink(g->tmp);
		return -1;
	}
	return 0;
}

/* gz_close finishes the stream and renames it to <sha>-<kind>.xml.gz. */
static int
gz_close(struct gzfile *g, const char *dir, const char *kind, bool keep)
{
	unsigned char h[32];
	int r = gz_flush(g, Z_FINISH);
	deflateEnd(&g->z);
	r |= fchmod(g->fd, 0644) | close(g->fd);
	br_sha256_out(&g->open_sha, h);
	hexout(h, 32, g->open_hex);
	br_sha256_out(&g->gz_sha, h);
	hexout(h, 32, g->gz_hex);
	char final[4400];
	if (r == 0 && keep && str_fmt(final, sizeof(final), "%s/repodata/%s-%s.xml.gz", dir,
				g->gz_hex, kind) == 0 && rename(g->tmp, final) == 0)
		return 0;
	unlink(g->tmp);
	return keep ? -1 : 0;
}

static int
add_file(struct repo *rp, const char *rel)
{
	if (rp->nfiles == rp->cap) {
		size_t cap = rp->cap ? 2 * rp->cap : 64;
		char **v = realloc(rp->files, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		rp->files = v;
		rp->cap = cap;
	}
	return (rp->files[rp->nfiles++] = strdup(rel)) ? 0 : -1;
}

/* scan finds *.rpm below dir (skipping repodata and dot files). */
static int
scan(struct repo *rp, const char *rel)
{
	char path[4200];
	if (str_fmt(path, sizeof(path), "%s%s%s", rp->o->dir, *rel ? "/" : "", rel) == -1)
		return EX_DATAERR;
	DIR *d = opendir(path);
	if (d == NULL) {
		str_fmt_clip(rp->err, rp->errsize, "--repo %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char sub[4200], full[4400];
		struct stat st;
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || (!*rel && strcmp(de->d_name, "repodata") == 0) ||
		    str_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) == -1 ||
		    str_fmt(full, sizeof(full), "%s/%s", path, de->d_name) == -1 || stat(full, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode))
			r = scan(rp, sub);
		else if (S_ISREG(st.st_mode) && n > 4 && strcmp(de->d_name + n - 4, ".rpm") == 0 &&
		    (n < 8 || strcmp(de->d_name + n - 8, ".src.rpm") != 0))
			r = add_file(rp, sub) ? EX_SOFTWARE : 0;
	}
	closedir(d);
	return r;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
cache_load(struct repo *rp)
{
	char path[4200], line[5000];
	if (str_fmt(path, sizeof(path), "%s/repodata/.create-rpm-cache", rp->o->dir) == -1)
		return;
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		struct cache_entry e;
		char file[4200];
		unsigned long long size;
		if (sscanf(line, "%llu %ld %64s %4199[^\n]", &size, &e.mtime, e.sum, file) != 4)
			continue;
		struct cache_entry *v = realloc(rp->cache, (rp->ncache + 1) * sizeof(*v));
		if (v == NULL)
			break;
		rp->cache = v;
		if ((e.file = strdup(file)) == NULL)
			break;
		e.size = size;
		rp->cache[rp->ncache++] = e;
	}
	if (f)
		fclose(f);
}

static const char *
cache_find(const struct repo *rp, const char *file, const char *dir)
{
	char path[4400];
	struct stat st;
	if (str_fmt(path, sizeof(path), "%s/%s", dir, file) == -1 || stat(path, &st) == -1)
		return NULL;
	for (size_t i = 0; i < rp->ncache; i++)
		if (strcmp(rp->cache[i].file, file) == 0 && rp->cache[i].size == (uint64_t)st.st_size &&
		    rp->cache[i].mtime == (long)st.st_mtime)
			return rp->cache[i].sum;
	return NULL;
}

/* write_metadata streams the three files; their sums land in g[]. */
static int
write_metadata(struct repo *rp, struct gzfile g[NKINDS], struct buf *cache_out)
{
	static const char *const heads[NKINDS] = {
		"<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
		"xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"",
		"<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\"",
		"<otherdata xmlns=\"http://linux.duke.edu/metadata/other\"" };
	static const char *const tails[NKINDS] = { "</metadata>\n", "</filelists>\n",
		"</otherdata>\n" };
	int (*const fmt[NKINDS])(const struct pkg_info *, struct buf *) = { pkg_primary_xml,
		pkg_filelists_xml, pkg_other_xml };
	struct buf b;
	buf_init(&b, 256u << 20);
	int r = 0;
	time_t start = time(NULL);
	size_t hashed = 0;
	for (int k = 0; k < NKINDS && r == 0; k++) {
		buf_reset(&b);
		buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
		buf_printf(&b, "%s packages=\"%zu\">\n", heads[k], rp->nfiles);
		r = gz_write(&g[k], &b);
	}
	for (size_t i = 0; i < rp->nfiles && r == 0; i++) {
		struct pkg_info p;
		const char *known = cache_find(rp, rp->files[i], rp->o->dir);
		hashed += known == NULL;
		r = pkg_read(&p, rp->o->dir, rp->files[i], known, rp->err, rp->errsize);
		for (int k = 0; k < NKINDS && r == 0; k++) {
			buf_reset(&b);
			r = fmt[k](&p, &b) == 0 && gz_write(&g[k], &b) == 0 ? 0 : EX_IOERR;
		}
		if (r == 0 && buf_printf(cache_out, "%llu %ld %s %s\n", (unsigned long long)p.size,
				  p.mtime, p.checksum, p.file) == -1)
			r = EX_SOFTWARE;
		pkg_free(&p);
		if (time(NULL) - start >= 2) /* only for runs long enough to want it */
			log_progress(rp->lg, "repodata: %zu/%zu packages", i + 1, rp->nfiles);
	}
	log_progress_end(rp->lg);
	log_debug(rp->lg, "hashed %zu of %zu packages (the others were in the cache)", hashed,
	    rp->nfiles);
	for (int k = 0; k < NKINDS && r == 0; k++) {
		buf_reset(&b);
		buf_puts(&b, tails[k]);
		r = gz_write(&g[k], &b) ? EX_IOERR : 0;
	}
	buf_free(&b);
	return r;
}

static int
repomd_xml(const struct gzfile g[NKINDS], long when, struct buf *out)
{
	buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" "
			"xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n"
			"  <revision>%ld</revision>\n", when);
	for (int k = 0; k < NKINDS; k++)
		buf_printf(out, "  <data type=\"%s\">\n"
				"    <checksum type=\"sha256\">%s</checksum>\n"
				"    <open-checksum type=\"sha256\">%s</open-checksum>\n"
				"    <location href=\"repodata/%s-%s.xml.gz\"/>\n"
				"    <timestamp>%ld</timestamp>\n"
				"    <size>%llu</size>\n"
				"    <open-size>%llu</open-size>\n"
				"  </data>\n",
		    kinds[k], g[k].gz_hex, g[k].open_hex, g[k].gz_hex, kinds[k], when,
		    (unsigned long long)g[k].gz_size, (unsigned long long)g[k].open_size);
	return buf_puts(out, "</repomd>\n");
}

/* put_file writes data to dir/repodata/name through a temp file. */
static int
put_file(const char *dir, const char *name, const void *data, size_t n)
{
	char tmp[4200], final[4200];
	if (str_fmt(tmp, sizeof(tmp), "%s/repodata/.%s.XXXXXX", dir, name) == -1 ||
	    str_fmt(final, sizeof(final), "%s/repodata/%s", dir, name) == -1)
		return -1;
	int fd = mkstemp(tmp);
	if (fd == -1)
		return -1;
	int r = write_all(fd, data, n) | fchmod(fd, 0644) | close(fd);
	if (r == 0 && rename(tmp, final) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

/* unchanged: the current repomd.xml already names these exact files. */
static bool
unchanged(const char *dir, const struct gzfile g[NKINDS], bool want_asc)
{
	char path[4200];
	struct buf old;
	buf_init(&old, 1u << 20);
	bool same = false;
	FILE *f = str_fmt(path, sizeof(path), "%s/repodata/repomd.xml", dir) == 0 ?
	    fopen(path, "r") : NULL;
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && buf_append(&old, chunk, n) == 0)
			;
		fclose(f);
		same = true;
		for (int k = 0; k < NKINDS; k++)
			same = same && strstr(buf_str(&old), g[k].gz_hex) != NULL;
	}
	buf_free(&old);
	if (same && want_asc && str_fmt(path, sizeof(path), "%s/repodata/repomd.xml.asc", dir) == 0)
		same = access(path, R_OK) == 0;
	return same;
}

/* prune removes metadata files that repomd.xml no longer names. */
static void
prune(struct repo *rp, const struct gzfile g[NKINDS])
{
	char path[4200];
	if (str_fmt(path, sizeof(path), "%s/repodata", rp->o->dir) == -1)
		return;
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		bool ours = strstr(de->d_name, ".xml") != NULL && strncmp(de->d_name, "repomd.xml", 10);
		for (int k = 0; k < NKINDS && ours; k++)
			ours = strncmp(de->d_name, g[k].gz_hex, 64) != 0;
		char full[4500];
		if (ours && str_fmt(full, sizeof(full), "%s/%s", path, de->d_name) == 0 &&
		    unlink(full) == 0)
			log_debug(rp->lg, "removed old %s", full);
	}
	if (d)
		closedir(d);
}

static int
sign_repomd(const struct repo_opts *o, const struct buf *repomd, long when)
{
	br_sha256_context c;
	struct buf sig, armored;
	buf_init(&sig, 4096);
	buf_init(&armored, 8192);
	pgp_sig_begin(&c);
	br_sha256_update(&c, repomd->data, repomd->len);
	uint32_t t = (uint32_t)when < o->key->created ? o->key->created : (uint32_t)when;
	int r = pgp_sig_finish(o->key, &c, t, &sig) == 0 &&
		pgp_armor("SIGNATURE", (unsigned char *)sig.data, sig.len, &armored) == 0 &&
		put_file(o->dir, "repomd.xml.asc", armored.data, armored.len) == 0 ? 0 : -1;
	buf_free(&sig);
	buf_free(&armored);
	return r;
}

static int
publish_metadata(struct repo *rp, struct gzfile g[NKINDS], const struct buf *cache)
{
	long when = rp->o->sde >= 0 ? rp->o->sde : (long)time(NULL);
	struct buf repomd;
	buf_init(&repomd, 1u << 20);
	int r = repomd_xml(g, when, &repomd) == 0 ? 0 : EX_SOFTWARE;
	put_file(rp->o->dir, ".create-rpm-cache", cache->data ? cache->data : "", cache->len);
	if (r == 0 && rp->o->key && sign_repomd(rp->o, &repomd, when) == -1)
		r = EX_IOERR;
	if (r == 0 && put_file(rp->o->dir, "repomd.xml", repomd.data, repomd.len) == -1)
		r = EX_IOERR;
	if (r != 0)
		str_fmt_clip(rp->err, rp->errsize, "%s/repodata: cannot write repomd.xml: %s",
		    rp->o->dir, strerror(errno));
	else
		prune(rp, g);
	buf_free(&repomd);
	return r;
}

static void
repo_free(struct repo *rp)
{
	for (size_t i = 0; i < rp->nfiles; i++)
		free(rp->files[i]);
	free(rp->files);
	for (size_t i = 0; i < rp->ncache; i++)
		free(rp->cache[i].file);
	free(rp->cache);
}

int
repo_update(const struct repo_opts *o, struct log *lg, char *err, size_t errsize)
{
	struct repo rp = { .o = o, .lg = lg, .err = err, .errsize = errsize };
	int r = scan(&rp, "");
	if (r == 0)
		qsort(rp.files, rp.nfiles, sizeof(*rp.files), by_name);
	if (r == 0 && o->dry_run) {
		log_info(lg, "dry run: would write %s/repodata for %zu packages%s", o->dir, rp.nfiles,
		    o->key ? ", signed" : "");
		repo_free(&rp);
		return 0;
	}
	char rd[4200];
	if (r == 0 && (str_fmt(rd, sizeof(rd), "%s/repodata", o->dir) == -1 ||
			  (mkdir(rd, 0755) == -1 && errno != EEXIST))) {
		str_fmt_clip(err, errsize, "%s/repodata: %s", o->dir, strerror(errno));
		r = EX_CANTCREAT;
	}
	if (r == 0)
		cache_load(&rp);
	struct gzfile *g = r == 0 ? calloc(NKINDS, sizeof(*g)) : NULL;
	int opened = 0;
	for (; g && opened < NKINDS && gz_open(&g[opened], o->dir) == 0; opened++)
		;
	if (r == 0 && opened < NKINDS) {
		str_fmt_clip(err, errsize, "%s/repodata: %s", o->dir, strerror(errno));
		r = EX_CANTCREAT;
	}
	struct buf cache;
	buf_init(&cache, 256u << 20);
	if (r == 0)
		r = write_metadata(&rp, g, &cache);
	/* The files are content-addressed: an unchanged one is renamed over
	   its identical self. */
	for (int k = 0; k < opened; k++)
		if (gz_close(&g[k], o->dir, kinds[k], r == 0) == -1 && r == 0) {
			str_fmt_clip(err, errsize, "%s/repodata: cannot write %s: %s", o->dir,
			    kinds[k], strerror(errno));
			r = EX_IOERR;
		}
	if (r == 0 && unchanged(o->dir, g, o->key != NULL))
		log_info(lg, "%s/repodata is up to date (%zu packages): nothing to change", o->dir,
		    rp.nfiles);
	else if (r == 0)
		r = publish_metadata(&rp, g, &cache);
	if (r == 0)
		log_debug(lg, "%s/repodata: %zu packages", o->dir, rp.nfiles);
	free(g);
	buf_free(&cache);
	repo_free(&rp);
	return r;
}
