/*
 * spec.c: what the package says about itself, from an INI spec file
 * (read with inih) and from flags, which win.
 *
 *	[package]                  name version release epoch arch summary
 *	name = socorro             description description_file license url
 *	...                        vendor packager group prefix buildhost
 *	                           default_user default_group (owners)
 *	[depends]                  requires provides conflicts obsoletes:
 *	requires = python3 >= 3.6, nginx      comma lists, repeatable
 *	[scripts]                  pre post preun postun (one line) or
 *	post_file = scripts/post.sh           pre_file ... (path relative to
 *	                                      the spec file)
 *	[changelog]                time (YYYY-MM-DD) starts an entry, then
 *	time = 2024-05-01          author ("Name <mail> - 1.2-1") and text
 *	[/etc/socorro/app.conf]    per-path attributes (fnmatch globs):
 *	config = noreplace         user group mode config (yes|noreplace|no)
 *	mode = 0640                doc dir (own this directory) ghost
 *
 * Every error names file:line.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ini.h>

#include "create-rpm.h"
#include "exits.h"

#define SCRIPT_MAX (1u << 20)

static const char *const script_names[NSCRIPTS] = { "pre", "post", "preun", "postun" };

void
spec_init(struct spec *s)
{
	memset(s, 0, sizeof(*s));
	s->epoch = -1;
}

static void
deps_free(struct deps *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].version);
	}
	free(d->v);
}

void
spec_free(struct spec *s)
{
	char **strs[] = { &s->name, &s->version, &s->release, &s->arch, &s->summary,
		&s->description, &s->license, &s->url, &s->vendor, &s->packager, &s->group,
		&s->prefix, &s->buildhost, &s->default_user, &s->default_group };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	deps_free(&s->requires);
	deps_free(&s->provides);
	deps_free(&s->conflicts);
	deps_free(&s->obsoletes);
	for (int i = 0; i < NSCRIPTS; i++)
		free(s->script[i]);
	for (size_t i = 0; i < s->nrules; i++) {
		free(s->rules[i].pattern);
		free(s->rules[i].user);
		free(s->rules[i].group);
	}
	free(s->rules);
	for (size_t i = 0; i < s->nchanges; i++) {
		free(s->changes[i].author);
		free(s->changes[i].text);
	}
	free(s->changes);
	spec_init(s);
}

static int
set_str(char **dst, const char *v)
{
	char *c = strdup(v);
	if (c == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* valid_token: a name or version rpm can carry (no space, no control). */
static bool
valid_token(const char *s, const char *extra_bad)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr(extra_bad, *s))
			return false;
	return true;
}

int
spec_set(struct spec *s, const char *key, const char *value, char *err, size_t errsize)
{
	struct {
		const char *key;
		char **dst;
		const char *bad; /* characters refused, NULL: free text */
	} keys[] = {
		{ "name", &s->name, "/<>=," }, { "version", &s->version, "-/<>=," },
		{ "release", &s->release, "-/<>=," }, { "arch", &s->arch, "/-" },
		{ "summary", &s->summary, NULL }, { "description", &s->description, NULL },
		{ "license", &s->license, NULL }, { "url", &s->url, NULL },
		{ "vendor", &s->vendor, NULL }, { "packager", &s->packager, NULL },
		{ "group", &s->group, NULL }, { "prefix", &s->prefix, NULL },
		{ "buildhost", &s->buildhost, "/" }, { "default_user", &s->default_user, ":/" },
		{ "default_group", &s->default_group, ":/" },
	};
	if (strcmp(key, "epoch") == 0) {
		if (str_to_long(value, 0, 0x7fffffff, &s->epoch) == -1) {
			str_fmt_clip(err, errsize, "epoch \"%s\": not a number", value);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (keys[i].bad && !valid_token(value, keys[i].bad)) {
			str_fmt_clip(err, errsize, "%s \"%s\": empty, or holds a space or one of \"%s\"",
			    key, value, keys[i].bad);
			return -1;
		}
		if (strcmp(key, "prefix") == 0 && value[0] != '/') {
			str_fmt_clip(err, errsize, "prefix \"%s\": must be an absolute path", value);
			return -1;
		}
		return set_str(keys[i].dst, value);
	}
	str_fmt_clip(err, errsize, "unknown key \"%s\" in [package]", key);
	return -1;
}

/* parse_sense: "<", "<=", "=", "==", ">=", ">" into RPMSENSE_* bits. */
static uint32_t
parse_sense(const char *op, size_t n)
{
	uint32_t f = 0;
	for (size_t i = 0; i < n; i++) {
		if (op[i] == '<')
			f |= RPMSENSE_LESS;
		else if (op[i] == '>')
			f |= RPMSENSE_GREATER;
		else if (op[i] == '=')
			f |= RPMSENSE_EQUAL;
	}
	if ((f & RPMSENSE_LESS) && (f & RPMSENSE_GREATER))
		return 0;
	return f;
}

static int
add_dep(struct deps *d, const char *name, size_t nlen, const char *ver, size_t vlen, uint32_t f)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct dep *v = realloc(d->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		d->v = v;
		d->cap = cap;
	}
	struct dep *x = &d->v[d->n];
	x->name = strndup(name, nlen);
	x->version = strndup(ver, vlen);
	x->flags = f;
	if (x->name == NULL || x->version == NULL) {
		free(x->name);
		free(x->version);
		return -1;
	}
	d->n++;
	return 0;
}

/* add_one parses "name [op version]" (item is trimmed, not empty). */
static int
add_one(struct deps *d, const char *item, char *err, size_t errsize)
{
	const char *p = item;
	while (*p && !isspace((unsigned char)*p) && !strchr("<>=", *p))
		p++;
	const char *name = item;
	size_t nlen = p - item;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return add_dep(d, name, nlen, "", 0, 0);
	const char *op = p;
	while (*p && strchr("<>=", *p))
		p++;
	size_t oplen = p - op;
	while (isspace((unsigned char)*p))
		p++;
	uint32_t f = oplen && oplen <= 2 ? parse_sense(op, oplen) : 0;
	if (nlen == 0 || f == 0 || *p == '\0' || !valid_token(p, "<>=,")) {
		str_fmt_clip(err, errsize, "bad dependency \"%s\": want NAME, or NAME OP VERSION "
					    "with OP one of < <= = >= >", item);
		return -1;
	}
	return add_dep(d, name, nlen, p, strlen(p), f);
}

int
spec_add_deps(struct deps *d, const char *list, char *err, size_t errsize)
{
	char *copy = strdup(list), *save = copy, *item;
	if (copy == NULL)
		return -1;
	int r = 0;
	while (r == 0 && (item = strsep(&save, ",")) != NULL) {
		item = str_trim(item);
		if (*item != '\0')
			r = add_one(d, item, err, errsize);
	}
	free(copy);
	return r;
}

static int
read_text(const char *path, char **out, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		str_fmt_clip(err, errsize, "%s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	struct buf b;
	buf_init(&b, SCRIPT_MAX);
	char chunk[8192];
	size_t n;
	int r = 0;
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = buf_append(&b, chunk, n);
	if (ferror(f) || r != 0) {
		str_fmt_clip(err, errsize, "%s: %s", path, r ? "larger than 1 MiB" : strerror(errno));
		fclose(f);
		buf_free(&b);
		return EX_DATAERR;
	}
	fclose(f);
	/* rpm stores scriptlets without their trailing newline. */
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	free(*out);
	*out = strdup(buf_str(&b));
	buf_free(&b);
	return *out ? 0 : EX_SOFTWARE;
}

int
spec_script_file(struct spec *s, int which, const char *path, char *err, size_t errsize)
{
	return read_text(path, &s->script[which], err, errsize);
}

static int
parse_bool(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static struct rule *
rule_for(struct spec *s, const char *pattern, const char *where)
{
	if (s->nrules > 0 && strcmp(s->rules[s->nrules - 1].pattern, pattern) == 0)
		return &s->rules[s->nrules - 1];
	if (s->nrules == s->rcap) {
		size_t cap = s->rcap ? 2 * s->rcap : 16;
		struct rule *v = realloc(s->rules, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		s->rules = v;
		s->rcap = cap;
	}
	struct rule *r = &s->rules[s->nrules];
	memset(r, 0, sizeof(*r));
	r->pattern = strdup(pattern);
	if (r->pattern == NULL)
		return NULL;
	r->mode = -1;
	r->config = r->dir = r->ghost = r->doc = -1;
	str_copy(r->where, sizeof(r->where), where);
	s->nrules++;
	return r;
}

static int
rule_set(struct rule *r, const char *key, const char *v, char *err, size_t errsize)
{
	int b = parse_bool(v);
	if (strcmp(key, "user") == 0 || strcmp(key, "owner") == 0) {
		if (!valid_token(v, ":/"))
			goto bad;
		return set_str(&r->user, v);
	}
	if (strcmp(key, "group") == 0) {
		if (!valid_token(v, ":/"))
			goto bad;
		return set_str(&r->group, v);
	}
	if (strcmp(key, "mode") == 0) {
		char *end;
		errno = 0;
		long m = strtol(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno || m < 0 || m > 07777)
			goto bad;
		r->mode = m;
		return 0;
	}
	if (strcmp(key, "config") == 0) {
		if (strcasecmp(v, "noreplace") == 0)
			r->config = 2;
		else if (b >= 0)
			r->config = b;
		else
			goto bad;
		return 0;
	}
	int *flag = !strcmp(key, "dir") ? &r->dir : !strcmp(key, "ghost") ? &r->ghost
	    : !strcmp(key, "doc") ? &r->doc : NULL;
	if (flag && b >= 0) {
		*flag = b;
		return 0;
	}
	if (flag == NULL) {
		str_fmt_clip(err, errsize, "unknown attribute \"%s\" (user group mode config doc dir "
					   "ghost)", key);
		return -1;
	}
bad:
	str_fmt_clip(err, errsize, "%s = \"%s\": bad value", key, v);
	return -1;
}

int
spec_add_attr(struct spec *s, const char *arg, char *err, size_t errsize)
{
	const char *colon = strchr(arg, ':');
	if (arg[0] != '/' || colon == NULL || colon[1] == '\0') {
		str_fmt_clip(err, errsize, "--attr \"%s\": want /PATH:KEY=VALUE[,KEY=VALUE]", arg);
		return -1;
	}
	char *pattern = strndup(arg, colon - arg), *copy = strdup(colon + 1), *save = copy, *kv;
	struct rule *r = pattern && copy ? rule_for(s, pattern, "--attr") : NULL;
	int rc = r ? 0 : -1;
	while (rc == 0 && (kv = strsep(&save, ",")) != NULL) {
		char *eq = strchr(kv, '=');
		if (eq == NULL) {
			str_fmt_clip(err, errsize, "--attr \"%s\": \"%s\" is not KEY=VALUE", arg, kv);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = rule_set(r, str_trim(kv), str_trim(eq + 1), err, errsize);
	}
	free(pattern);
	free(copy);
	return rc;
}

struct load_ctx {
	struct spec *s;
	const char *path;
	char *err;
	size_t errsize;
	int code;
};

/* relative: path resolved against the spec file's directory. */
static int
relative(const char *spec, const char *path, char *out, size_t outsize)
{
	if (path[0] == '/')
		return str_copy(out, outsize, path);
	char *copy = strdup(spec);
	if (copy == NULL)
		return -1;
	int r = str_fmt(out, outsize, "%s/%s", dirname(copy), path);
	free(copy);
	return r;
}

int
spec_parse_time(const char *s, long *out)
{
	if (str_to_long(s, 0, 0xffffffffL, out) == 0)
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	time_t t = timegm(&tm);
	if (t < 0 || t > 0xffffffffL)
		return -1;
	*out = (long)t;
	return 0;
}

/* changelog_key: "time" opens an entry; author and text fill the last. */
static int
changelog_key(struct spec *s, const char *key, const char *value, char *msg, size_t msgsize)
{
	if (strcmp(key, "time") == 0) {
		long t;
		struct change *v = realloc(s->changes, (s->nchanges + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		s->changes = v;
		if (spec_parse_time(value, &t) == -1) {
			str_fmt_clip(msg, msgsize, "time \"%s\": want YYYY-MM-DD", value);
			return -1;
		}
		s->changes[s->nchanges++] = (struct change){ (uint32_t)t, NULL, NULL };
		return 0;
	}
	bool author = strcmp(key, "author") == 0;
	if (!author && strcmp(key, "text") != 0) {
		str_fmt_clip(msg, msgsize, "unknown key \"%s\" in [changelog] (time author text)", key);
		return -1;
	}
	if (s->nchanges == 0) {
		str_fmt_clip(msg, msgsize, "[changelog] entries start with time = YYYY-MM-DD");
		return -1;
	}
	struct change *c = &s->changes[s->nchanges - 1];
	if (author)
		return set_str(&c->author, value);
	/* Repeated text lines make one multi-line entry. */
	struct buf b;
	buf_init(&b, SCRIPT_MAX);
	int r = buf_printf(&b, "%s%s%s", c->text ? c->text : "", c->text ? "\n" : "", value);
	if (r == 0)
		r = set_str(&c->text, buf_str(&b));
	buf_free(&b);
	return r;
}

static int
handle_key(struct load_ctx *c, const char *section, const char *key, const char *value,
    char *msg, size_t msgsize)
{
	struct spec *s = c->s;
	char where[300], file[4096];
	if (strcmp(section, "package") == 0) {
		if (strcmp(key, "description_file") == 0) {
			if (relative(c->path, value, file, sizeof(file)) == -1)
				return -1;
			c->code = read_text(file, &s->description, msg, msgsize);
			return c->code ? -1 : 0;
		}
		return spec_set(s, key, value, msg, msgsize);
	}
	if (strcmp(section, "depends") == 0) {
		struct deps *d = !strcmp(key, "requires")    ? &s->requires
		    : !strcmp(key, "provides")  ? &s->provides
		    : !strcmp(key, "conflicts") ? &s->conflicts
		    : !strcmp(key, "obsoletes") ? &s->obsoletes : NULL;
		if (d == NULL) {
			str_fmt_clip(msg, msgsize, "unknown key \"%s\" in [depends] "
						   "(requires provides conflicts obsoletes)", key);
			return -1;
		}
		return spec_add_deps(d, value, msg, msgsize);
	}
	if (strcmp(section, "scripts") == 0) {
		for (int i = 0; i < NSCRIPTS; i++) {
			size_t n = strlen(script_names[i]);
			if (strncmp(key, script_names[i], n) != 0)
				continue;
			if (key[n] == '\0')
				return set_str(&s->script[i], value);
			if (strcmp(key + n, "_file") == 0) {
				if (relative(c->path, value, file, sizeof(file)) == -1)
					return -1;
				c->code = read_text(file, &s->script[i], msg, msgsize);
				return c->code ? -1 : 0;
			}
		}
		str_fmt_clip(msg, msgsize, "unknown key \"%s\" in [scripts] (pre post preun postun, "
					   "or with _file)", key);
		return -1;
	}
	if (strcmp(section, "changelog") == 0)
		return changelog_key(s, key, value, msg, msgsize);
	if (section[0] == '/') {
		str_fmt_clip(where, sizeof(where), "%s", c->path);
		struct rule *r = rule_for(s, section, where);
		return r ? rule_set(r, key, value, msg, msgsize) : -1;
	}
	str_fmt_clip(msg, msgsize, "unknown section [%s] (package depends scripts changelog /PATH)", section);
	return -1;
}

static int
ini_cb(void *user, const char *section, const char *key, const char *value, int line)
{
	struct load_ctx *c = user;
	char msg[ERR_MAX] = "out of memory";
	if (handle_key(c, section, key, value, msg, sizeof(msg)) == 0) {
		if (section[0] == '/') {
			struct rule *r = &c->s->rules[c->s->nrules - 1];
			if (strcmp(r->where, c->path) == 0)
				str_fmt_clip(r->where, sizeof(r->where), "%s:%d", c->path, line);
		}
		return 1;
	}
	str_fmt_clip(c->err, c->errsize, "%s:%d: %s", c->path, line, msg);
	if (c->code == 0)
		c->code = EX_DATAERR;
	return 0;
}

int
spec_load(struct spec *s, const char *path, char *err, size_t errsize)
{
	struct load_ctx c = { s, path, err, errsize, 0 };
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		str_fmt_clip(err, errsize, "spec %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	int r = ini_parse_file(f, ini_cb, &c);
	fclose(f);
	if (r == 0)
		return 0;
	if (c.code == 0) {
		str_fmt_clip(err, errsize, "%s:%d: not an INI line ([section] or key = value)", path, r);
		c.code = EX_DATAERR;
	}
	return c.code;
}

int
spec_finish(struct spec *s, char *err, size_t errsize)
{
	if (s->name == NULL || s->version == NULL) {
		str_fmt_clip(err, errsize, "the package needs a name and a version "
					   "(--name/--version, or [package] in --spec)");
		return EX_USAGE;
	}
	struct {
		char **p;
		const char *v;
	} dflt[] = { { &s->release, "1" }, { &s->arch, "x86_64" }, { &s->license, "Unspecified" },
		{ &s->group, "Unspecified" }, { &s->prefix, "/" }, { &s->default_user, "root" },
		{ &s->default_group, "root" } };
	for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
		if (*dflt[i].p == NULL && set_str(dflt[i].p, dflt[i].v) == -1)
			return EX_SOFTWARE;
	for (size_t i = 0; i < s->nchanges; i++) {
		if (s->changes[i].author == NULL || s->changes[i].text == NULL) {
			str_fmt_clip(err, errsize, "[changelog] entry %zu needs author and text", i + 1);
			return EX_DATAERR;
		}
	}
	if (s->summary == NULL && set_str(&s->summary, s->name) == -1)
		return EX_SOFTWARE;
	if (s->description == NULL && set_str(&s->description, s->summary) == -1)
		return EX_SOFTWARE;
	return 0;
}

int
spec_evr(const struct spec *s, char *out, size_t outsize)
{
	if (s->epoch >= 0)
		return str_fmt(out, outsize, "%ld:%s-%s", s->epoch, s->version, s->release);
	return str_fmt(out, outsize, "%s-%s", s->version, s->release);
}
