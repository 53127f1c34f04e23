/*
 * export.c: consul-load --export PREFIX DIR, the tree back out as .conf
 * files, so that loading them again changes nothing.
 *
 * <prefix>/<file>/<key> becomes the line key=value of DIR/<file>.conf,
 * keys sorted.  A value a bare line would not read back exactly (trailing
 * blanks, or wrapped in matching quotes) is written in double quotes.
 * What a .conf line cannot hold (a newline in a value; a key with
 * whitespace or '=') is reported, and then nothing is written.  Keys not
 * of that shape (folder markers, <prefix>/<key>) are skipped with a
 * warning.  Files are written whole (a temporary file, then rename) and
 * mode 0600, since they hold the secrets too.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "consul-load.h"
#include "exits.h"

struct outfile {
	char *name;      /* <file> */
	struct buf text; /* its lines */
	size_t keys;
};

struct outfiles {
	struct outfile *v;
	size_t n;
};

static struct outfile *
outfile_for(struct outfiles *fs, const char *prefix, const char *name, size_t len)
{
	if (fs->n > 0 && strlen(fs->v[fs->n - 1].name) == len &&
	    strncmp(fs->v[fs->n - 1].name, name, len) == 0)
		return &fs->v[fs->n - 1]; /* keys arrive sorted: one file at a time */
	fs->v = xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
	struct outfile *f = &fs->v[fs->n++];
	f->name = xstrndup(name, len);
	f->keys = 0;
	buf_init(&f->text, SIZE_MAX);
	xbuf(buf_printf(
	    &f->text, "# %s/%s/ as exported from Consul by consul-load\n", prefix, f->name));
	return f;
}

static void
outfiles_free(struct outfiles *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].name);
		buf_wipe(&fs->v[i].text);
	}
	free(fs->v);
}

static bool
bad_name(const char *s, size_t n, bool is_file)
{
	if (n == 0 || s[0] == '#' || (is_file && s[0] == '.'))
		return true;
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20 || s[i] == '=' ||
		    (is_file && s[i] == '/'))
			return true;
	return !utf8_valid(s, n);
}

/* add_line puts one key into its file; a problem if a line cannot hold it. */
static void
add_line(struct outfiles *fs, const struct kv *kv, const char *prefix, struct problems *p)
{
	size_t skip = strlen(prefix) + 1;
	const char *rest = kv->key + skip, *slash = strchr(rest, '/');
	size_t n = strlen(rest);
	if (n > 0 && rest[n - 1] == '/') {
		log_debug(p->lg, "not exported: %s, a folder marker", kv->key);
		return;
	}
	if (slash == NULL || slash == rest || slash[1] == '\0') {
		log_warn(
		    p->lg, "not exported: %s is not %.*s<file>/<key>", kv->key, (int)skip, kv->key);
		return;
	}
	const char *key = slash + 1;
	if (bad_name(rest, (size_t)(slash - rest), true) || bad_name(key, strlen(key), false)) {
		problem(p,
		    "%s: a .conf file cannot hold this key (whitespace, '=', a leading "
		    "'#' or '.', or not UTF-8)",
		    kv->key);
		return;
	}
	struct outfile *f = outfile_for(fs, prefix, rest, (size_t)(slash - rest));
	xbuf(buf_printf(&f->text, "%s=", key));
	if (!utf8_valid(kv->value, kv->vlen) ||
	    conf_quote_value(&f->text, kv->value, kv->vlen) == -1) {
		problem(
		    p, "%s: a .conf line cannot hold its value (a newline, or not UTF-8)", kv->key);
		return;
	}
	xbuf(buf_putc(&f->text, '\n'));
	f->keys++;
}

/* write_whole writes text to dir/name.conf through a temporary file. */
static int
write_whole(const char *dir, const struct outfile *f, struct log *lg)
{
	char path[4096], tmp[4096];
	if (str_fmt(path, sizeof(path), "%s/%s.conf", dir, f->name) == -1 ||
	    str_fmt(tmp, sizeof(tmp), "%s/.%s.conf.XXXXXX", dir, f->name) == -1) {
		log_error(lg, "%s/%s.conf: path too long", dir, f->name);
		return EX_CANTCREAT;
	}
	int fd = mkstemp(tmp); /* mode 0600 */
	if (fd == -1) {
		log_error(lg, "cannot create a file in %s: %s", dir, strerror(errno));
		return EX_CANTCREAT;
	}
	const char *p = f->text.data;
	size_t left = f->text.len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			break;
		p += w;
		left -= (size_t)w;
	}
	if (left > 0 || fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		log_error(lg, "cannot write %s: %s", path, strerror(errno));
		if (left > 0)
			close(fd);
		unlink(tmp);
		return EX_IOERR;
	}
	return 0;
}

/* warn_strays: DIR's other .conf files would load too; say so. */
static void
warn_strays(const char *dir, const struct outfiles *fs, struct log *lg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		bool ours = false;
		if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		for (size_t i = 0; i < fs->n && !ours; i++)
			ours = strlen(fs->v[i].name) == n - 5 &&
			    strncmp(fs->v[i].name, e->d_name, n - 5) == 0;
		if (!ours)
			log_warn(lg,
			    "%s/%s is not part of the export (left as it is); loading %s "
			    "would load it too",
			    dir, e->d_name, dir);
	}
	closedir(d);
}

static int
summary(struct buf *out, const struct outfiles *fs, const char *prefix, const char *dir, bool json,
    bool dry_run, size_t keys)
{
	if (!json)
		return buf_printf(
		    out, "%s: exported %zu keys to %zu files in %s\n", prefix, keys, fs->n, dir);
	json_t *files = json_array();
	for (size_t i = 0; files && i < fs->n; i++)
		json_array_append_new(files,
		    json_pack(
		        "{s:s, s:I}", "file", fs->v[i].name, "keys", (json_int_t)fs->v[i].keys));
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:o}", "prefix", prefix, "dir", dir, "dry_run",
	    dry_run, "keys", (json_int_t)keys, "files", files);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	int rc = text && buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
	free(text);
	return rc;
}

int
export_tree(const struct kvset *have, const char *prefix, const char *dir, bool dry_run, bool json,
    struct buf *out, struct log *lg)
{
	struct outfiles fs = {0};
	struct problems p = {.lg = lg};
	size_t keys = 0;
	int rc = 0;
	for (size_t i = 0; i < have->n; i++)
		add_line(&fs, &have->v[i], prefix, &p);
	for (size_t i = 0; i < fs.n; i++)
		keys += fs.v[i].keys;
	if (p.n > 0) {
		log_error(lg,
		    "%d key%s under %s/ cannot be written as .conf lines; nothing "
		    "was written",
		    p.n, p.n == 1 ? "" : "s", prefix);
		rc = EX_DATAERR;
	} else if (keys == 0) {
		log_error(lg, "no keys to export under %s/ in Consul", prefix);
		rc = EX_NOINPUT;
	} else if (!dry_run && mkdir(dir, 0755) == -1 && errno != EEXIST) {
		log_error(lg, "cannot create %s: %s", dir, strerror(errno));
		rc = EX_CANTCREAT;
	}
	for (size_t i = 0; rc == 0 && i < fs.n; i++) {
		log_info(lg, "%s %s/%s.conf (%zu keys)", dry_run ? "would write" : "writing", dir,
		    fs.v[i].name, fs.v[i].keys);
		if (!dry_run)
			rc = write_whole(dir, &fs.v[i], lg);
	}
	if (rc == 0) {
		warn_strays(dir, &fs, lg);
		xbuf(summary(out, &fs, prefix, dir, json, dry_run, keys));
	}
	outfiles_free(&fs);
	return rc;
}
