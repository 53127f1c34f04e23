/*
 * tree.c: the staged tree under --root, as the package's file list.
 *
 * Like `fpm -s dir`: every regular file and symlink under ROOT becomes
 * PREFIX/relative-path; a directory is packaged (owned) only when a rule
 * says dir = yes.  Rules are applied in order, each key overriding the
 * ones before.  A %ghost rule naming a path that is not in the tree adds
 * it (an empty 0644 file owned by the package, not in the payload).  A
 * rule that matches nothing is an error: a typo in a spec must not ship a
 * package without its config flag.
 *
 * Hard links: regular files sharing an inode form a link set; the
 * payload carries their bytes once, on the set's last member in path
 * order, as rpmbuild writes it.  Inode numbers are renumbered by path
 * order so two runs give the same header.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "create-rpm.h"
#include "exits.h"

#define TREE_MAX_FILES 2000000

struct walk {
	struct tree *t;
	struct spec *s;
	const char *root;
	long clamp;
	char *err;
	size_t errsize;
};

void
tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].src);
		free(t->v[i].linkto);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct entry *
new_entry(struct tree *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct entry *v = cap <= TREE_MAX_FILES ? realloc(t->v, cap * sizeof(*v)) : NULL;
		if (v == NULL)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct entry *e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* pkg_path: the package path of rel (relative to the root, "" = root). */
static char *
pkg_path(const char *prefix, const char *rel)
{
	struct buf b;
	buf_init(&b, PATH_MAX * 2);
	size_t pl = strlen(prefix);
	while (pl > 1 && prefix[pl - 1] == '/')
		pl--;
	if (*rel == '\0')
		return strndup(prefix, pl); /* the root itself is the prefix */
	if (buf_append(&b, prefix, pl) == -1 ||
	    (pl > 0 && prefix[pl - 1] != '/' && buf_putc(&b, '/') == -1) ||
	    buf_puts(&b, rel) == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.data; /* the buffer's allocation becomes the string */
}

/* rules_want_dir: true if the last rule deciding "dir" for path says yes. */
static bool
rules_want_dir(struct spec *s, const char *path)
{
	int want = 0;
	for (size_t i = 0; i < s->nrules; i++)
		if (s->rules[i].dir >= 0 && fnmatch(s->rules[i].pattern, path, 0) == 0)
			want = s->rules[i].dir;
	return want == 1;
}

static int
add_file(struct walk *w, const char *src, const char *rel, const struct stat *st)
{
	struct entry *e = new_entry(w->t);
	if (e == NULL)
		return EX_SOFTWARE;
	e->path = pkg_path(w->s->prefix, rel);
	e->src = strdup(src);
	e->mode = st->st_mode;
	e->size = S_ISDIR(st->st_mode) ? 4096 : (uint32_t)st->st_size;
	e->mtime = (uint32_t)(w->clamp >= 0 && st->st_mtime > w->clamp ? w->clamp : st->st_mtime);
	e->st_dev = st->st_dev;
	e->st_ino = st->st_ino;
	e->nlink = S_ISREG(st->st_mode) ? (uint32_t)st->st_nlink : 1;
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0) {
			str_fmt_clip(w->err, w->errsize, "%s: %s", src, strerror(errno));
			return EX_NOINPUT;
		}
		target[n] = '\0';
		e->linkto = strdup(target);
		e->size = (uint32_t)n;
	} else {
		e->linkto = strdup("");
	}
	if (e->path == NULL || e->src == NULL || e->linkto == NULL)
		return EX_SOFTWARE;
	if (S_ISREG(st->st_mode) && st->st_size > 0xffffffffLL) {
		str_fmt_clip(w->err, w->errsize, "%s: larger than 4 GiB, which needs 64-bit size tags "
						 "(not supported: they break rpm 4.11)", src);
		return EX_DATAERR;
	}
	if (S_ISREG(st->st_mode))
		w->t->total_size += st->st_size;
	return 0;
}

static int
walk_dir(struct walk *w, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		str_fmt_clip(w->err, w->errsize, "%s: %s", dir, strerror(errno));
		return EX_NOINPUT;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char src[PATH_MAX], sub[PATH_MAX];
		struct stat st;
		if (str_fmt(src, sizeof(src), "%s/%s", dir, de->d_name) == -1 ||
		    str_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) == -1) {
			str_fmt_clip(w->err, w->errsize, "%s/%s: path too long", dir, de->d_name);
			r = EX_DATAERR;
		} else if (lstat(src, &st) == -1) {
			str_fmt_clip(w->err, w->errsize, "%s: %s", src, strerror(errno));
			r = EX_NOINPUT;
		} else if (S_ISDIR(st.st_mode)) {
			char *p = pkg_path(w->s->prefix, sub);
			if (p == NULL)
				r = EX_SOFTWARE;
			else if (rules_want_dir(w->s, p))
				r = add_file(w, src, sub, &st);
			free(p);
			if (r == 0)
				r = walk_dir(w, src, sub);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			r = add_file(w, src, sub, &st);
		} else {
			str_fmt_clip(w->err, w->errsize, "%s: not a regular file, directory or symlink "
							 "(devices, fifos and sockets are not packaged)", src);
			r = EX_DATAERR;
		}
	}
	if (r == 0 && errno != 0) {
		str_fmt_clip(w->err, w->errsize, "%s: %s", dir, strerror(errno));
		r = EX_IOERR;
	}
	closedir(d);
	return r;
}

static bool
is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* add_missing_ghosts: a %ghost rule naming an absent path adds it. */
static int
add_missing_ghosts(struct walk *w)
{
	for (size_t i = 0; i < w->s->nrules; i++) {
		struct rule *r = &w->s->rules[i];
		if (r->ghost != 1 || is_glob(r->pattern))
			continue;
		bool found = false;
		for (size_t j = 0; j < w->t->n && !found; j++)
			found = strcmp(w->t->v[j].path, r->pattern) == 0;
		if (found)
			continue;
		struct entry *e = new_entry(w->t);
		if (e == NULL || (e->path = strdup(r->pattern)) == NULL ||
		    (e->linkto = strdup("")) == NULL)
			return EX_SOFTWARE;
		e->mode = S_IFREG | 0644;
		e->mtime = (uint32_t)(w->clamp >= 0 ? w->clamp : 0);
		e->nlink = 1;
	}
	return 0;
}

static int
apply_rules(struct walk *w, struct entry *e)
{
	const char *user = w->s->default_user, *group = w->s->default_group;
	int config = 0, ghost = 0, doc = 0;
	for (size_t i = 0; i < w->s->nrules; i++) {
		struct rule *r = &w->s->rules[i];
		if (fnmatch(r->pattern, e->path, 0) != 0)
			continue;
		r->matched = true;
		if (r->user)
			user = r->user;
		if (r->group)
			group = r->group;
		if (r->mode >= 0)
			e->mode = (e->mode & ~07777u) | (uint32_t)r->mode;
		if (r->config >= 0)
			config = r->config;
		if (r->ghost >= 0)
			ghost = r->ghost;
		if (r->doc >= 0)
			doc = r->doc;
	}
	e->user = (char *)user; /* owned by the spec, which outlives the tree */
	e->group = (char *)group;
	if (config && S_ISDIR(e->mode))
		config = 0; /* rpmbuild ignores %config on a directory, and so do we */
	e->flags = (config ? RPMFILE_CONFIG : 0) | (config == 2 ? RPMFILE_NOREPLACE : 0) |
	    (ghost ? RPMFILE_GHOST : 0) | (doc ? RPMFILE_DOC : 0);
	return 0;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

/* link_sets numbers inodes in path order and marks each set's last member. */
static int
link_sets(struct walk *w)
{
	struct tree *t = w->t;
	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->v[i];
		e->inode = (uint32_t)i + 1;
		e->has_data = S_ISREG(e->mode) && !(e->flags & RPMFILE_GHOST);
		if (!e->has_data || e->nlink < 2) {
			e->nlink = 1;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			struct entry *f = &t->v[j];
			if (f->src == NULL || f->st_dev != e->st_dev || f->st_ino != e->st_ino ||
			    !S_ISREG(f->mode) || (f->flags & RPMFILE_GHOST))
				continue;
			if (f->mode != e->mode || strcmp(f->user, e->user) || strcmp(f->group, e->group) ||
			    f->flags != e->flags) {
				str_fmt_clip(w->err, w->errsize, "%s and %s are hard links with different "
								 "attributes: give both the same rules", f->path, e->path);
				return EX_DATAERR;
			}
			e->inode = f->inode;
		}
	}
	/* Count each set, and give its bytes to its last member only. */
	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->v[i];
		if (!e->has_data || e->nlink < 2)
			continue; /* nlink >= 2 still holds st_nlink: maybe linked */
		uint32_t n = 0;
		for (size_t j = 0; j < t->n; j++)
			n += t->v[j].inode == e->inode; /* equal inodes: one link set */
		e->nlink = n;
		for (size_t j = i + 1; j < t->n && n > 1; j++)
			if (t->v[j].inode == e->inode) {
				e->has_data = false;
				break;
			}
	}
	return 0;
}

int
tree_scan(struct tree *t, struct spec *s, const char *root, long clamp_mtime, char *err,
    size_t errsize)
{
	struct walk w = { t, s, root, clamp_mtime, err, errsize };
	struct stat st;
	memset(t, 0, sizeof(*t));
	if (stat(root, &st) == -1) {
		str_fmt_clip(err, errsize, "--root %s: %s", root, strerror(errno));
		return EX_NOINPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		str_fmt_clip(err, errsize, "--root %s: not a directory", root);
		return EX_NOINPUT;
	}
	/* The prefix directory itself, when a rule owns it. */
	char *top = pkg_path(s->prefix, "");
	int r = top ? 0 : EX_SOFTWARE;
	if (r == 0 && strcmp(top, "/") != 0 && rules_want_dir(s, top))
		r = add_file(&w, root, "", &st);
	free(top);
	if (r == 0)
		r = walk_dir(&w, root, "");
	if (r == 0)
		r = add_missing_ghosts(&w);
	for (size_t i = 0; i < t->n && r == 0; i++)
		r = apply_rules(&w, &t->v[i]);
	for (size_t i = 0; i < s->nrules && r == 0; i++) {
		if (!s->rules[i].matched) {
			str_fmt_clip(err, errsize, "%s: [%s] matches nothing under %s (with prefix %s; "
						     "a directory is packaged only with dir = yes)",
			    s->rules[i].where, s->rules[i].pattern, root, s->prefix);
			r = EX_DATAERR;
		}
	}
	if (r != 0)
		return r;
	qsort(t->v, t->n, sizeof(*t->v), by_path);
	for (size_t i = 1; i < t->n; i++) {
		if (strcmp(t->v[i - 1].path, t->v[i].path) == 0) {
			str_fmt_clip(err, errsize, "%s appears twice in the package", t->v[i].path);
			return EX_DATAERR;
		}
	}
	return link_sets(&w);
}
