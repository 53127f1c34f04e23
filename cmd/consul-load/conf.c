/*
 * conf.c: reading socorro-config *.conf files into keys and values.
 *
 * A .conf line is `key=value`: the key is what comes before the first
 * `=`, trimmed; the value is the rest, verbatim, with trailing whitespace
 * trimmed.  The seed's style, `key='value'` or `key="value"`, loses one
 * level of matching quotes as a shell would: nothing is special inside
 * '...', and inside "..." a backslash escapes only \ " $ and `.  `#`
 * comment lines and blank lines are skipped (text.c reads the lines).
 * @@@NAME@@@ in a value is a placeholder, filled from vars.c's values.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "consul-load.h"
#include "exits.h"

bool
secret_key(const char *key)
{
	static const char *const words[] = {"secret", "password", "passwd", "token", NULL};
	char low[512];
	size_t n = strlen(key);
	if (n >= sizeof(low)) { /* rare: the slow way */
		for (int i = 0; words[i] != NULL; i++)
			if (strcasestr(key, words[i]) != NULL)
				return true;
		return strcasecmp(key + n - 4, "_key") == 0;
	}
	/* Lower-case once, then strstr: strcasestr is slow in musl. */
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	for (int i = 0; words[i] != NULL; i++)
		if (strstr(low, words[i]) != NULL)
			return true;
	return n >= 4 && strcmp(low + n - 4, "_key") == 0;
}

/* A value being built from a line, with its placeholders filled. */
struct filling {
	const struct line *ln;
	const char *key;
	const struct vars *vs;
	bool allow;
	struct problems *p;
	int unfilled;
};

/*
 * fill appends val[0..n) to out with each @@@NAME@@@ replaced by its
 * value.  Each unfilled one is a problem, unless --allow-placeholders.
 */
static void
fill(struct filling *f, const char *val, size_t n, struct buf *out)
{
	const char *end = val + n, *s = val;
	while (s < end) {
		const char *at = memmem(s, (size_t)(end - s), "@@@", 3);
		const char *name = at ? at + 3 : NULL;
		size_t nlen = 0;
		while (name && name + nlen < end &&
		    (isalnum((unsigned char)name[nlen]) || name[nlen] == '_'))
			nlen++;
		if (at == NULL) {
			xbuf(buf_append(out, s, (size_t)(end - s)));
			return;
		}
		if (!placeholder_name(name, nlen) || end - (name + nlen) < 3 ||
		    memcmp(name + nlen, "@@@", 3) != 0) {
			xbuf(buf_append(out, s, (size_t)(at + 1 - s))); /* not one: on after '@' */
			s = at + 1;
			continue;
		}
		xbuf(buf_append(out, s, (size_t)(at - s)));
		const char *v = vars_lookup(f->vs, name, nlen);
		if (v != NULL) {
			xbuf(buf_puts(out, v));
		} else {
			f->unfilled++;
			xbuf(buf_append(out, at, nlen + 6));
			if (!f->allow)
				problem(f->p,
				    "%s:%d: placeholder @@@%.*s@@@ (in %s) has no value: set %.*s "
				    "in a --vars-file, SOCORRO_%.*s in the environment, or --set "
				    "%.*s=VALUE",
				    f->ln->path, f->ln->no, (int)nlen, name, f->key, (int)nlen,
				    name, (int)nlen, name, (int)nlen, name);
		}
		s = name + nlen + 3;
	}
}

/* --- .conf files -------------------------------------------------------- */

/* bad_key: why key cannot be a Consul key segment, or NULL. */
static const char *
bad_key(const char *key, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)key[i]) || (unsigned char)key[i] < 0x20)
			return "has whitespace in it";
	if (key[0] == '/' || key[n - 1] == '/')
		return "starts or ends with '/'";
	return NULL;
}

/* conf_parse_line: one key=value line of a .conf into want. */
static void
conf_parse_line(const struct line *ln, const char *prefix, const char *name, struct filling *f,
    struct kvset *want)
{
	char *key, *val;
	size_t klen, vlen;
	struct problems *p = f->p;
	if (text_split_line(ln, "#", &key, &klen, &val, &vlen, p) != 0)
		return;
	const char *why = bad_key(key, klen);
	if (why != NULL) {
		problem(p, "%s:%d: key \"%.*s\" %s", ln->path, ln->no, (int)klen, key, why);
		return;
	}
	struct kv kv = {.file = ln->path, .line = ln->no};
	struct buf full;
	buf_init(&full, SIZE_MAX);
	xbuf(buf_puts(&full, prefix));
	xbuf(buf_putc(&full, '/'));
	xbuf(buf_puts(&full, name));
	xbuf(buf_putc(&full, '/'));
	xbuf(buf_append(&full, key, klen));
	kv.key = full.data; /* the key's own allocation from here on */

	struct buf v;
	buf_init(&v, SIZE_MAX);
	text_unquote(val, &vlen);
	f->ln = ln;
	f->key = kv.key;
	fill(f, val, vlen, &v);
	xbuf(buf_puts(&v, ""));
	kv.value = v.data;
	kv.vlen = v.len;
	if (kv.vlen > KV_MAX_VALUE)
		problem(p, "%s:%d: the value of %s is %zu bytes, over Consul's limit of %u",
		    ln->path, ln->no, kv.key, kv.vlen, KV_MAX_VALUE);
	else if (!utf8_valid(kv.value, kv.vlen) || memchr(kv.value, '\0', kv.vlen))
		problem(p,
		    "%s:%d: the value of %s is not UTF-8 text once its placeholders "
		    "are filled",
		    ln->path, ln->no, kv.key);
	kvset_add(want, &kv);
}

static int
conf_parse(
    const char *path, const char *name, const char *prefix, struct filling *f, struct kvset *want)
{
	struct buf b;
	char why[256];
	struct line ln = {.path = path};
	size_t pos = 0;
	buf_init(&b, FILE_MAX);
	int rc = text_read_file(path, &b, why, sizeof(why));
	if (rc == EX_DATAERR)
		problem(f->p, "%s: %s", path, why);
	else if (rc != 0)
		log_error(f->p->lg, "cannot read %s: %s", path, why);
	while (rc == 0 && text_next_line(&b, &pos, &ln, f->p))
		conf_parse_line(&ln, prefix, name, f, want);
	buf_wipe(&b);
	return rc == EX_DATAERR ? 0 : rc;
}

/* A file to read, and the name its keys go under. */
struct source {
	char *path;
	char *name;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ends_with_conf(const char *s)
{
	size_t n = strlen(s);
	return n > 5 && strcmp(s + n - 5, ".conf") == 0;
}

/* add_source records path under its base name, refusing a name seen twice. */
static void
add_source(struct source **v, size_t *n, const char *path, struct problems *p)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *name = xstrndup(base, strlen(base) - 5);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0) {
			problem(p, "%s: same name as %s; both would load into %s/", path,
			    (*v)[i].path, name);
			free(name);
			return;
		}
	if (bad_key(name, strlen(name)) != NULL || strchr(name, '/') != NULL) {
		problem(p, "%s: the file name \"%s\" cannot be a Consul key segment", path, name);
		free(name);
		return;
	}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct source){xstrdup(path), name};
}

/* add_dir adds DIR's *.conf files (not dot files), sorted by name. */
static int
add_dir(const char *dir, struct source **v, size_t *n, struct problems *p)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t nn = 0;
	struct dirent *e;
	if (d == NULL) {
		log_error(p->lg, "cannot read directory %s: %s", dir, strerror(errno));
		return EX_NOINPUT;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && ends_with_conf(e->d_name)) {
			names = xrealloc(names, (nn + 1) * sizeof(*names));
			names[nn++] = xstrdup(e->d_name);
		}
	closedir(d);
	if (nn == 0) {
		log_error(p->lg, "no *.conf files in %s", dir);
		return EX_NOINPUT;
	}
	qsort(names, nn, sizeof(*names), name_cmp);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		if (str_fmt(path, sizeof(path), "%s%s%s", dir,
		        dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]) == 0)
			add_source(v, n, path, p);
		free(names[i]);
	}
	free(names);
	return 0;
}

int
conf_load(char *const *operands, int n, const char *prefix, struct vars *vs,
    bool allow_placeholders, struct kvset *want, struct problems *p)
{
	struct source *src = NULL;
	size_t nsrc = 0;
	struct stat st;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		if (stat(operands[i], &st) == -1) {
			log_error(p->lg, "cannot read %s: %s", operands[i], strerror(errno));
			rc = EX_NOINPUT;
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_dir(operands[i], &src, &nsrc, p);
		} else if (!ends_with_conf(operands[i])) {
			log_error(p->lg, "%s: not a directory or a *.conf file", operands[i]);
			rc = EX_USAGE;
		} else {
			add_source(&src, &nsrc, operands[i], p);
		}
	}
	struct filling f = {.vs = vs, .allow = allow_placeholders, .p = p};
	for (size_t i = 0; i < nsrc && rc == 0; i++)
		rc = conf_parse(src[i].path, src[i].name, prefix, &f, want);
	/* The paths stay with want: its entries point at them for file:line. */
	want->paths = xrealloc(want->paths, (want->npaths + nsrc) * sizeof(*want->paths));
	for (size_t i = 0; i < nsrc; i++) {
		want->paths[want->npaths++] = src[i].path;
		free(src[i].name);
	}
	free(src);
	if (rc != 0)
		return rc;
	if (f.unfilled > 0 && allow_placeholders)
		log_warn(p->lg, "%d placeholder%s left unfilled (--allow-placeholders)", f.unfilled,
		    f.unfilled == 1 ? "" : "s");
	kvset_sort(want);
	for (size_t i = 1; i < want->n; i++)
		if (strcmp(want->v[i].key, want->v[i - 1].key) == 0)
			problem(p, "%s:%d: duplicate key %s (first at line %d)", want->v[i].file,
			    want->v[i].line, want->v[i].key, want->v[i - 1].line);
	return 0;
}
