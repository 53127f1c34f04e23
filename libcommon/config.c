/* config.c: etc/socorro.ini, loaded with inih and checked whole. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "buf.h"
#include "exits.h"
#include "strdist.h"

/*
 * An environment's keys: its roles, and where its services are (read by
 * the commands with --env, and by deploy-socorro through
 * identify-role --env).  Secrets never go here, only paths to files
 * holding them.
 */
static const char *const env_keys[] = { "region", "roles", "master",
	"consul_addr", "consul_token_file", "socorro_config", "vars_file",
	"postgres_url", "postgres_rw_password_file", "postgres_ro_password_file",
	"elasticsearch_url", "rabbitmq_url",
	"rabbitmq_admin_password_file", "rabbitmq_password_file",
	"backup_url", "yum_publish", "rpm_sign_key_file",
	"ami_source", "ami_instance_type", "ami_subnet", "ami_security_group",
	"ami_iam_profile", NULL };
static const char *const role_keys[] = { "roleenv", "autoscalename", "elbname",
	"terraformname", "sslelb", "applyscalingpolicy", "notifyforunhealthyelb",
	"scalevariable", NULL };

struct load_ctx {
	struct config *cfg;
	struct cfg_section *cur;
	char header[CFG_NAME_MAX + 8]; /* the [header] cur came from */
	bool failed;
};

static void
set_error(struct config *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(struct config *cfg, int line, const char *fmt, ...)
{
	char msg[CFG_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		str_fmt_clip(cfg->error, sizeof(cfg->error), "%s:%d: %s", cfg->path, line, msg);
	else
		str_fmt_clip(cfg->error, sizeof(cfg->error), "%s: %s", cfg->path, msg);
}

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

static const struct cfg_section *
find_section(const struct config *cfg, enum cfg_section_kind kind, const char *name)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].kind == kind && strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return NULL;
}

static const struct cfg_entry *
find_entry(const struct cfg_section *s, const char *key, const char *env)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->nentries; i++)
		if (strcmp(s->entries[i].key, key) == 0 && strcmp(s->entries[i].env, env) == 0)
			return &s->entries[i];
	return NULL;
}

static int
add_section(struct load_ctx *ctx, const char *header, int line)
{
	struct config *cfg = ctx->cfg;
	enum cfg_section_kind kind;
	const char *name;
	if (strncmp(header, "env:", 4) == 0) {
		kind = CFG_ENV;
		name = header + 4;
	} else if (strcmp(header, "role:*") == 0) {
		kind = CFG_ROLE_DEFAULTS;
		name = "*";
	} else if (strncmp(header, "role:", 5) == 0) {
		kind = CFG_ROLE;
		name = header + 5;
	} else {
		set_error(cfg, line, "unknown section [%s]; expected [env:NAME], [role:NAME] or [role:*]", header);
		return 0;
	}
	if (kind != CFG_ROLE_DEFAULTS && (!valid_name(name) || strlen(name) >= CFG_NAME_MAX)) {
		set_error(cfg, line, "bad name in [%s]: use letters, digits, '_', '.', '-' (at most %d)",
		    header, CFG_NAME_MAX - 1);
		return 0;
	}
	const struct cfg_section *dup = find_section(cfg, kind, name);
	if (dup != NULL) {
		set_error(cfg, line, "section [%s] repeated (first at line %d)", header, dup->line);
		return 0;
	}
	if (cfg->nsections == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 16;
		struct cfg_section *p = realloc(cfg->sections, cap * sizeof(*p));
		if (p == NULL) {
			set_error(cfg, line, "out of memory");
			return 0;
		}
		cfg->sections = p;
		cfg->cap = cap;
	}
	struct cfg_section *s = &cfg->sections[cfg->nsections++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = line;
	str_copy(s->name, sizeof(s->name), name);
	ctx->cur = s;
	return 1;
}

static int
add_entry(struct load_ctx *ctx, const char *name, const char *value, int line)
{
	struct config *cfg = ctx->cfg;
	struct cfg_section *s = ctx->cur;
	if (s == NULL) {
		set_error(cfg, line, "\"%s\" is outside any section", name);
		return 0;
	}
	struct cfg_entry e;
	memset(&e, 0, sizeof(e));
	e.line = line;
	const char *at = strchr(name, '@');
	size_t keylen = at ? (size_t)(at - name) : strlen(name);
	if (keylen == 0 || keylen >= sizeof(e.key)) {
		set_error(cfg, line, "bad key \"%s\"", name);
		return 0;
	}
	memcpy(e.key, name, keylen);
	if (at != NULL) {
		if (s->kind == CFG_ENV) {
			set_error(cfg, line, "\"%s\": overrides (key@ENV) belong in role sections", name);
			return 0;
		}
		if (!valid_name(at + 1) || str_copy(e.env, sizeof(e.env), at + 1) == -1) {
			set_error(cfg, line, "bad environment name in \"%s\"", name);
			return 0;
		}
	}
	const char *const *known = s->kind == CFG_ENV ? env_keys : role_keys;
	if (!in_list(known, e.key)) {
		set_error(cfg, line, "unknown key \"%s\" in %s section [%s%s]", e.key,
		    s->kind == CFG_ENV ? "an env" : "a role",
		    s->kind == CFG_ENV ? "env:" : "role:", s->name);
		return 0;
	}
	const struct cfg_entry *dup = find_entry(s, e.key, e.env);
	if (dup != NULL) {
		set_error(cfg, line, "key \"%s\" repeated (first at line %d)", name, dup->line);
		return 0;
	}
	if (str_copy(e.value, sizeof(e.value), value) == -1) {
		set_error(cfg, line, "value of \"%s\" longer than %d bytes", name, CFG_VALUE_MAX - 1);
		return 0;
	}
	if (s->nentries == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct cfg_entry *p = realloc(s->entries, cap * sizeof(*p));
		if (p == NULL) {
			set_error(cfg, line, "out of memory");
			return 0;
		}
		s->entries = p;
		s->cap = cap;
	}
	s->entries[s->nentries++] = e;
	return 1;
}

static int
on_ini_line(void *user, const char *section, const char *name, const char *value, int line)
{
	struct load_ctx *ctx = user;
	int ok = 1;
	/*
	 * inih reports a section only with its keys, so a new section is
	 * noticed at its first key (whose line the section's errors name).
	 */
	if (*section != '\0' && (ctx->cur == NULL || strcmp(ctx->header, section) != 0)) {
		ok = add_section(ctx, section, line);
		str_copy(ctx->header, sizeof(ctx->header), section);
	}
	if (ok)
		ok = add_entry(ctx, name, value, line);
	if (!ok)
		ctx->failed = true;
	return ok;
}

/*
 * next_word: the words of a roles/master list, separated by spaces,
 * tabs or commas.  Copies the next word into w and returns the rest, or
 * NULL at the end (or if a word is too long, with *toolong set).
 */
static const char *
next_word(const char *p, char *w, size_t wsize, bool *toolong)
{
	*toolong = false;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p == '\0')
		return NULL;
	size_t n = strcspn(p, " \t,");
	if (n >= wsize) {
		*toolong = true;
		return NULL;
	}
	memcpy(w, p, n);
	w[n] = '\0';
	return p + n;
}

/* lookup: key for role in env, most specific first. */
static const struct cfg_entry *
lookup(const struct config *cfg, const struct cfg_section *role, const char *key, const char *env)
{
	const struct cfg_section *defaults = find_section(cfg, CFG_ROLE_DEFAULTS, "*");
	const struct cfg_entry *e;
	if ((e = find_entry(role, key, env)) || (e = find_entry(role, key, "")) ||
	    (e = find_entry(defaults, key, env)) || (e = find_entry(defaults, key, "")))
		return e;
	return NULL;
}

/* expand {env} and {role} in e's value into out; 0, or -1 with error set. */
static int
expand(const struct cfg_entry *e, const char *env,
    const char *role, char *out, size_t outsize, char *err, size_t errsize)
{
	struct buf b;
	buf_init(&b, outsize - 1);
	int r = 0;
	for (const char *p = e->value; *p && r == 0;) {
		if (*p != '{') {
			r = buf_putc(&b, *p++);
			continue;
		}
		const char *close = strchr(p, '}');
		if (close == NULL) {
			str_fmt_clip(err, errsize, "unclosed '{' in \"%s\"", e->value);
			buf_free(&b);
			return -1;
		}
		size_t n = (size_t)(close - p - 1);
		if (n == 3 && strncmp(p + 1, "env", 3) == 0)
			r = buf_puts(&b, env);
		else if (n == 4 && strncmp(p + 1, "role", 4) == 0)
			r = buf_puts(&b, role);
		else {
			str_fmt_clip(err, errsize, "unknown template {%.*s} in \"%s\"; use {env} or {role}",
			    (int)n, p + 1, e->value);
			buf_free(&b);
			return -1;
		}
		p = close + 1;
	}
	if (r == -1) {
		str_fmt_clip(err, errsize, "\"%s\" expands to more than %zu bytes", e->value, outsize - 1);
		buf_free(&b);
		return -1;
	}
	str_copy(out, outsize, buf_str(&b));
	buf_free(&b);
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

/*
 * resolve_role fills out for role in env.  On error returns -1 with
 * *line and err set (the line of the entry at fault, or the role's).
 */
static int
resolve_role(const struct config *cfg, const char *env, const char *role,
    struct role_info *out, int *line, char *err, size_t errsize)
{
	const struct cfg_section *rs = find_section(cfg, CFG_ROLE, role);
	memset(out, 0, sizeof(*out));
	*line = rs ? rs->line : 0;
	if (rs == NULL) {
		str_fmt_clip(err, errsize, "no section [role:%s]", role);
		return -1;
	}
	str_copy(out->role, sizeof(out->role), role);
	str_copy(out->env, sizeof(out->env), env);
	struct {
		const char *key;
		char *text;
		size_t size;
		bool *flag;
	} fields[] = {
		{ "roleenv", out->roleenv, sizeof(out->roleenv), NULL },
		{ "autoscalename", out->autoscalename, sizeof(out->autoscalename), NULL },
		{ "elbname", out->elbname, sizeof(out->elbname), NULL },
		{ "terraformname", out->terraformname, sizeof(out->terraformname), NULL },
		{ "scalevariable", out->scalevariable, sizeof(out->scalevariable), NULL },
		{ "sslelb", NULL, 0, &out->sslelb },
		{ "applyscalingpolicy", NULL, 0, &out->applyscalingpolicy },
		{ "notifyforunhealthyelb", NULL, 0, &out->notifyforunhealthyelb },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct cfg_entry *e = lookup(cfg, rs, fields[i].key, env);
		if (e == NULL) {
			if (strcmp(fields[i].key, "elbname") == 0)
				continue; /* no ELB */
			str_fmt_clip(err, errsize, "role %s has no %s for env %s (set it in [role:%s] or [role:*])",
			    role, fields[i].key, env, role);
			return -1;
		}
		*line = e->line;
		if (fields[i].flag != NULL) {
			if (parse_bool(e->value, fields[i].flag) == -1) {
				str_fmt_clip(err, errsize, "%s = \"%s\": expected true or false", e->key, e->value);
				return -1;
			}
		} else if (expand(e, env, role, fields[i].text, fields[i].size, err, errsize) == -1) {
			return -1;
		}
	}
	if (out->roleenv[0] == '\0' || out->autoscalename[0] == '\0' || out->terraformname[0] == '\0') {
		str_fmt_clip(err, errsize, "role %s in env %s: roleenv, autoscalename and terraformname must not be empty",
		    role, env);
		return -1;
	}
	return 0;
}

/* validate_env checks one env's lists; 0, or -1 with cfg->error set. */
static int
validate_env(struct config *cfg, const struct cfg_section *env)
{
	const struct cfg_entry *roles = find_entry(env, "roles", "");
	const struct cfg_entry *master = find_entry(env, "master", "");
	char w[CFG_NAME_MAX];
	bool toolong;
	if (roles == NULL) {
		set_error(cfg, env->line, "[env:%s] has no roles = list", env->name);
		return -1;
	}
	const char *p = roles->value;
	while ((p = next_word(p, w, sizeof(w), &toolong)) != NULL) {
		if (find_section(cfg, CFG_ROLE, w) == NULL) {
			set_error(cfg, roles->line, "roles: unknown role \"%s\" (no [role:%s] section)", w, w);
			return -1;
		}
	}
	if (toolong) {
		set_error(cfg, roles->line, "roles: a name is longer than %d bytes", CFG_NAME_MAX - 1);
		return -1;
	}
	p = master ? master->value : "";
	while ((p = next_word(p, w, sizeof(w), &toolong)) != NULL) {
		char r[CFG_NAME_MAX];
		const char *q = roles->value;
		bool found = false;
		while (!found && (q = next_word(q, r, sizeof(r), &toolong)) != NULL)
			found = strcmp(r, w) == 0;
		if (!found) {
			set_error(cfg, master->line, "master: \"%s\" is not in this env's roles list", w);
			return -1;
		}
	}
	if (toolong) {
		set_error(cfg, master->line, "master: a name is longer than %d bytes", CFG_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

/*
 * check_value: a role value on its own, in file order, before any
 * resolution: booleans parse, templates name only {env} and {role}.
 */
static int
check_value(const struct cfg_entry *e, char *err, size_t errsize)
{
	static const char *const flags[] = { "sslelb", "applyscalingpolicy",
		"notifyforunhealthyelb", NULL };
	bool flag;
	char text[CFG_VALUE_MAX];
	if (in_list(flags, e->key)) {
		if (parse_bool(e->value, &flag) == 0)
			return 0;
		str_fmt_clip(err, errsize, "%s = \"%s\": expected true or false", e->key, e->value);
		return -1;
	}
	/* Expanding with short names finds bad templates; length is checked
	 * for real names at resolution. */
	return expand(e, "e", "r", text, sizeof(text), err, errsize);
}

/* validate checks the whole file after parsing; 0 or -1 with error set. */
static int
validate(struct config *cfg)
{
	char err[CFG_ERROR_MAX / 2];
	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct cfg_section *s = &cfg->sections[i];
		for (size_t j = 0; j < s->nentries; j++) {
			const struct cfg_entry *e = &s->entries[j];
			if (e->env[0] && find_section(cfg, CFG_ENV, e->env) == NULL) {
				set_error(cfg, e->line, "\"%s@%s\": no [env:%s] section", e->key, e->env, e->env);
				return -1;
			}
			if (s->kind != CFG_ENV && check_value(e, err, sizeof(err)) == -1) {
				set_error(cfg, e->line, "%s", err);
				return -1;
			}
		}
		if (s->kind == CFG_ENV && validate_env(cfg, s) == -1)
			return -1;
	}
	/* Every name must resolve, and no two to the same ROLE-ENV. */
	struct role_info a, b;
	for (size_t i = 0; config_roleenv_at(cfg, NULL, false, i, &a) == 0; i++) {
		for (size_t j = 0; j < i; j++) {
			config_roleenv_at(cfg, NULL, false, j, &b);
			if (strcmp(a.roleenv, b.roleenv) == 0) {
				const struct cfg_section *rs = find_section(cfg, CFG_ROLE, a.role);
				set_error(cfg, rs->line, "role %s in env %s and role %s in env %s both resolve to %s",
				    b.role, b.env, a.role, a.env, a.roleenv);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct cfg_section *env = &cfg->sections[i];
		if (env->kind != CFG_ENV)
			continue;
		const char *p = find_entry(env, "roles", "")->value;
		char w[CFG_NAME_MAX];
		bool toolong;
		while ((p = next_word(p, w, sizeof(w), &toolong)) != NULL) {
			int line;
			if (resolve_role(cfg, env->name, w, &a, &line, err, sizeof(err)) == -1) {
				set_error(cfg, line, "%s", err);
				return -1;
			}
		}
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	if (str_copy(cfg->path, sizeof(cfg->path), path) == -1) {
		set_error(cfg, 0, "path too long");
		return EX_CONFIG;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		set_error(cfg, 0, "cannot open: %s", strerror(errno));
		return EX_CONFIG;
	}
	struct load_ctx ctx = { .cfg = cfg, .cur = NULL, .failed = false };
	int r = ini_parse_file(f, on_ini_line, &ctx);
	bool read_error = ferror(f);
	fclose(f);
	if (read_error) {
		set_error(cfg, 0, "read error");
		return EX_CONFIG;
	}
	if (r == -2) {
		set_error(cfg, 0, "out of memory");
		return EX_CONFIG;
	}
	if (r > 0 && !ctx.failed) {
		set_error(cfg, r, "syntax error: expected [section], key = value, or a # comment");
		return EX_CONFIG;
	}
	if (r != 0)
		return EX_CONFIG;
	if (validate(cfg) == -1)
		return EX_CONFIG;
	return 0;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		free(cfg->sections[i].entries);
	free(cfg->sections);
	cfg->sections = NULL;
	cfg->nsections = cfg->cap = 0;
}

bool
config_has_env(const struct config *cfg, const char *env)
{
	return find_section(cfg, CFG_ENV, env) != NULL;
}

const char *
config_env_value(const struct config *cfg, const char *env, const char *key)
{
	const struct cfg_entry *e = find_entry(find_section(cfg, CFG_ENV, env), key, "");
	return e ? e->value : NULL;
}

int
config_env_key_at(const struct config *cfg, const char *env, size_t i, const char **key,
    const char **value)
{
	const struct cfg_section *s = find_section(cfg, CFG_ENV, env);
	if (s == NULL || i >= s->nentries)
		return -1;
	*key = s->entries[i].key;
	*value = s->entries[i].value;
	return 0;
}

int
config_roleenv_at(const struct config *cfg, const char *env, bool master_only,
    size_t i, struct role_info *out)
{
	size_t n = 0;
	for (size_t s = 0; s < cfg->nsections; s++) {
		const struct cfg_section *es = &cfg->sections[s];
		if (es->kind != CFG_ENV || (env != NULL && strcmp(es->name, env) != 0))
			continue;
		const struct cfg_entry *list = find_entry(es, master_only ? "master" : "roles", "");
		const char *p = list ? list->value : "";
		char w[CFG_NAME_MAX];
		bool toolong;
		while ((p = next_word(p, w, sizeof(w), &toolong)) != NULL) {
			if (n++ != i)
				continue;
			int line;
			char err[256];
			return resolve_role(cfg, es->name, w, out, &line, err, sizeof(err));
		}
	}
	return -1;
}

int
config_resolve(const struct config *cfg, const char *roleenv, struct role_info *out)
{
	for (size_t i = 0; config_roleenv_at(cfg, NULL, false, i, out) == 0; i++)
		if (strcmp(out->roleenv, roleenv) == 0)
			return 0;
	return -1;
}

size_t
config_suggest(const struct config *cfg, const char *name, char (*out)[CFG_VALUE_MAX], size_t n)
{
	size_t dist[8];
	size_t got = 0;
	struct role_info ri;
	if (n > 8)
		n = 8;
	/* Anything further than a third of the name is not a near miss. */
	size_t limit = strlen(name) / 3 + 2;
	for (size_t i = 0; config_roleenv_at(cfg, NULL, false, i, &ri) == 0; i++) {
		size_t d = str_distance(name, ri.roleenv);
		if (d > limit)
			continue;
		/* insert in order of distance, keeping the n closest */
		size_t k = got < n ? got++ : n;
		if (k == n && d >= dist[n - 1])
			continue;
		if (k == n)
			k = n - 1;
		while (k > 0 && dist[k - 1] > d) {
			dist[k] = dist[k - 1];
			memcpy(out[k], out[k - 1], CFG_VALUE_MAX);
			k--;
		}
		dist[k] = d;
		str_copy(out[k], CFG_VALUE_MAX, ri.roleenv);
	}
	return got;
}
