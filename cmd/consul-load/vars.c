/*
 * vars.c: placeholder values.  @@@NAME@@@ is filled from --set NAME=VALUE,
 * then the --vars-file files (NAME=VALUE lines or INI, later files first),
 * then SOCORRO_NAME in the environment.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consul-load.h"
#include "exits.h"

static void
vars_put(struct vars *vs, const char *name, size_t nlen, const char *value, size_t vlen,
    const char *source)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strlen(vs->v[i].name) == nlen && memcmp(vs->v[i].name, name, nlen) == 0) {
			xfree_secret(vs->v[i].value);
			free(vs->v[i].source);
			vs->v[i].value = xstrndup(value, vlen);
			vs->v[i].source = xstrdup(source);
			return;
		}
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 16;
		vs->v = xrealloc(vs->v, vs->cap * sizeof(*vs->v));
	}
	vs->v[vs->n++] = (struct var){xstrndup(name, nlen), xstrndup(value, vlen), xstrdup(source)};
}

static const struct var *
vars_get(const struct vars *vs, const char *name, size_t nlen)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strlen(vs->v[i].name) == nlen && memcmp(vs->v[i].name, name, nlen) == 0)
			return &vs->v[i];
	return NULL;
}

/* --set NAME=VALUE: later ones win.  -1 on a malformed argument. */
int
vars_set_arg(struct vars *vs, const char *arg, struct log *lg)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || !placeholder_name(arg, (size_t)(eq - arg))) {
		log_error(lg, "--set %.*s: want NAME=VALUE, NAME made of letters, digits and _",
		    (int)(eq ? eq - arg : (long)strlen(arg)), arg);
		return -1;
	}
	char name[256];
	str_fmt_clip(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	if (secret_key(name))
		log_warn(lg,
		    "--set %s: a secret on the command line is visible to other users; "
		    "put it in a --vars-file or SOCORRO_%s instead",
		    name, name);
	vars_put(vs, arg, (size_t)(eq - arg), eq + 1, strlen(eq + 1), "--set");
	return 0;
}

/*
 * vars_load_file reads NAME=VALUE lines (INI [sections] and ; or #
 * comments allowed; names are global).  Values are trimmed and unquoted.
 * A --set given on the command line wins over the file.
 */
int
vars_load_file(struct vars *vs, const char *path, struct problems *p)
{
	struct buf b;
	struct stat st;
	char why[256];
	struct vars mine = {0};
	struct line ln = {.path = path};
	size_t pos = 0;
	buf_init(&b, FILE_MAX);
	int rc = text_read_file(path, &b, why, sizeof(why));
	if (rc != 0) {
		buf_wipe(&b);
		log_error(p->lg, "--vars-file %s: %s", path, why);
		return rc;
	}
	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warn(p->lg,
		    "--vars-file %s is readable by every user; chmod o-r it if it "
		    "holds secrets",
		    path);
	while (text_next_line(&b, &pos, &ln, p)) {
		char *key, *val;
		size_t klen, vlen;
		char *s = ln.text + strspn(ln.text, " \t");
		if (*s == '[')
			continue;
		if (text_split_line(&ln, "#;", &key, &klen, &val, &vlen, p) != 0)
			continue;
		while (vlen > 0 && isspace((unsigned char)*val))
			val++, vlen--;
		if (!placeholder_name(key, klen)) {
			problem(p, "%s:%d: \"%.*s\" is not a placeholder NAME (letters, digits, _)",
			    path, ln.no, (int)klen, key);
			continue;
		}
		const struct var *dup = vars_get(&mine, key, klen);
		if (dup != NULL) {
			problem(p, "%s:%d: %.*s set twice (first at %s)", path, ln.no, (int)klen,
			    key, dup->source);
			continue;
		}
		text_unquote(val, &vlen);
		char source[300];
		str_fmt_clip(source, sizeof(source), "%s:%d", path, ln.no);
		vars_put(&mine, key, klen, val, vlen, source);
	}
	buf_wipe(&b);
	/* A --set seen on the command line keeps its place above the file. */
	for (size_t i = 0; i < mine.n; i++) {
		const struct var *v = vars_get(vs, mine.v[i].name, strlen(mine.v[i].name));
		if (v == NULL || strcmp(v->source, "--set") != 0)
			vars_put(vs, mine.v[i].name, strlen(mine.v[i].name), mine.v[i].value,
			    strlen(mine.v[i].value), mine.v[i].source);
	}
	vars_free(&mine);
	return 0;
}

void
vars_free(struct vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		xfree_secret(vs->v[i].value);
		free(vs->v[i].source);
	}
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

/* The environment's SOCORRO_NAME comes last; its value is not copied. */
const char *
vars_lookup(const struct vars *vs, const char *name, size_t nlen)
{
	const struct var *v = vars_get(vs, name, nlen);
	if (v != NULL)
		return v->value;
	char env[300];
	if (str_fmt(env, sizeof(env), "SOCORRO_%.*s", (int)nlen, name) == -1)
		return NULL;
	return getenv(env);
}
