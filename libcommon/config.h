/*
 * config.h: the toolkit's configuration, etc/socorro.ini, read with inih.
 *
 *	[env:stage]                 one section per environment
 *	region = us-west-2
 *	roles  = socorroweb processor submitter ...   roles this env has
 *	master = socorroweb processor                 roles a deploy rolls
 *	postgres_url = postgres://db.internal/breakpad  where its services are
 *	                            (the full list: env_keys in config.c and
 *	                            etc/socorro.ini)
 *
 *	[role:*]                    defaults for every role
 *	roleenv       = {role}-{env}
 *	autoscalename = as-{env}-{role}
 *
 *	[role:symbolapi]            one section per role
 *	terraformname = symbolapi
 *	sslelb        = false
 *	sslelb@stage  = true        per-environment override: key@ENV
 *
 * Values may use {env} and {role}.  An empty elbname means the role has no
 * load balancer.  Everything is checked at load time (unknown sections and
 * keys, duplicates, bad booleans, bad templates, lists naming unknown
 * roles, two roles resolving to one ROLE-ENV), so a loaded config resolves
 * every name without error.  Errors read "file:line: message".
 *
 * struct config is large; callers allocate it (heap or static storage in
 * main) and release what config_load allocated with config_free().
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_NAME_MAX 64
#define CFG_VALUE_MAX 1024
#define CFG_ERROR_MAX 1200
#define CFG_PATH_MAX 1024

enum cfg_section_kind { CFG_ENV, CFG_ROLE, CFG_ROLE_DEFAULTS };

struct cfg_entry {
	char key[CFG_NAME_MAX];
	char env[CFG_NAME_MAX]; /* "" unless an override key@ENV */
	char value[CFG_VALUE_MAX];
	int line;
};

struct cfg_section {
	enum cfg_section_kind kind;
	char name[CFG_NAME_MAX]; /* env or role name; "*" for defaults */
	int line;
	struct cfg_entry *entries; /* owned; freed by config_free */
	size_t nentries, cap;
};

struct config {
	char path[CFG_PATH_MAX];
	struct cfg_section *sections; /* owned; freed by config_free */
	size_t nsections, cap;
	char error[CFG_ERROR_MAX]; /* set when config_load fails */
};

/* What a ROLE-ENV resolves to: identify-role's output. */
struct role_info {
	char roleenv[CFG_VALUE_MAX];
	char role[CFG_NAME_MAX];
	char env[CFG_NAME_MAX];
	char autoscalename[CFG_VALUE_MAX];
	char elbname[CFG_VALUE_MAX]; /* "" when the role has no ELB */
	char terraformname[CFG_VALUE_MAX];
	bool sslelb;
	bool applyscalingpolicy;
	bool notifyforunhealthyelb;
	char scalevariable[CFG_VALUE_MAX];
};

/*
 * config_load reads and checks path.  Returns 0, or an exit code with
 * cfg->error set: EX_CONFIG for a missing, unreadable or invalid file.
 * Call config_free() in either case.
 */
int config_load(struct config *cfg, const char *path);
void config_free(struct config *cfg);

/* config_resolve: 0 and *out filled, or -1 if no env has that ROLE-ENV. */
int config_resolve(const struct config *cfg, const char *roleenv, struct role_info *out);

/* config_has_env: true if [env:name] exists. */
bool config_has_env(const struct config *cfg, const char *env);

/*
 * config_env_value returns the value of key in [env:NAME], or NULL if the
 * env or the key is absent.
 */
const char *config_env_value(const struct config *cfg, const char *env, const char *key);

/*
 * config_env_key_at: the i-th key = value of [env:NAME], in file order;
 * 0, or -1 past the end (or no such env).
 */
int config_env_key_at(const struct config *cfg, const char *env, size_t i, const char **key,
    const char **value);

/*
 * Iteration over ROLE-ENVs, in file order: config_roleenv_at(cfg, env,
 * master_only, i, out) fills out for the i-th name and returns 0, or -1
 * past the end.  env NULL means every env.
 */
int config_roleenv_at(const struct config *cfg, const char *env, bool master_only,
    size_t i, struct role_info *out);

/*
 * config_suggest writes up to n known ROLE-ENVs closest to name (edit
 * distance) into out[] (each CFG_VALUE_MAX bytes) and returns how many.
 */
size_t config_suggest(const struct config *cfg, const char *name,
    char (*out)[CFG_VALUE_MAX], size_t n);



/*
 * config_find picks the configuration file, first match wins:
 *   1. flag (--config FILE), if not NULL;
 *   2. $SOCORRO_CONFIG, if set and not empty;
 *   3. /etc/socorro/socorro.ini;
 *   4. beside the binary: <bindir>/../share/socorro-bootstrap/socorro.ini
 *      (an installed tree), then <bindir>/../etc/socorro.ini (a checkout).
 * A file named by 1 or 2 is used whether or not it exists (loading then
 * reports it).  Writes the path into out and a short description of where
 * it came from into *source.  Returns 0, or -1 if none of 3-4 exists.
 */
int config_find(const char *flag, char *out, size_t outsize, const char **source);

#endif
