/*
 * identify-role: resolve ROLE-ENV names to their auto-scaling group, load
 * balancer, terraform name and flags, from socorro.ini.
 *
 * It replaces the original deploy scripts' identify_role, a 21-branch bash
 * case statement; the table now lives in etc/socorro.ini, written with
 * {env} templates and per-environment overrides, and this command prints
 * it in a form shell scripts can eval:
 *
 *	eval "$(identify-role socorroweb-stage)"
 *	echo "$AUTOSCALENAME $ELBNAME"
 *
 * usage: identify-role [-qv] [-c FILE] [--json | --field NAME] ROLE-ENV...
 *        identify-role [-qv] [-c FILE] [--json | --field NAME] --self
 *        identify-role [-qv] [-c FILE] [--json] --list ENV
 *        identify-role [-qv] [-c FILE] [--json] --all
 *        identify-role [-qv] [-c FILE] [--json] --env ENV
 *        identify-role [-qv] --payload FILE|-
 *
 *   -c, --config FILE   configuration (default: $SOCORRO_CONFIG,
 *                       /etc/socorro/socorro.ini, then the copy installed
 *                       beside the binary)
 *   --json              one JSON object per name, one per line
 *   --field NAME        print only field NAME (e.g. AUTOSCALENAME), bare,
 *                       one line per ROLE-ENV
 *   --list ENV          the ROLE-ENVs a deploy of ENV rolls (its master
 *                       list), one per line
 *   --all               every ROLE-ENV the configuration knows
 *   --env ENV           the environment's own settings (region, service
 *                       endpoints, secret file paths) as KEY=value lines,
 *                       keys upper-cased: what deploy-socorro evals
 *   --payload FILE|-    read a GitHub push webhook payload (Jenkins'
 *                       $payload): PAYLOAD_KIND (tag or branch),
 *                       PAYLOAD_REF, PAYLOAD_HASH, PAYLOAD_ENV (a tag
 *                       means prod, as in the original deploy job)
 *   --self              on an EC2 instance: the instance's own ROLE-ENV, from
 *                       its socorro:roleenv tag or its auto-scaling group
 *                       (instance metadata, IMDSv2; see self.c)
 *   -v, --verbose       say which configuration file is used
 *   -q, --quiet         only errors on stderr
 *   -h, --help          this text
 *   -V, --version       version and linked libraries
 *
 * Output for each ROLE-ENV, as KEY=value lines (values quoted for eval;
 * blocks separated by a blank line): ROLEENV ROLE ENV AUTOSCALENAME
 * ELBNAME (NONE when the role has no load balancer) TERRAFORMNAME SSLELB
 * APPLYSCALINGPOLICY NOTIFYFORUNHEALTHYELB SCALEVARIABLE.
 *
 * Exit status: 0 done; 64 usage; 65 an unknown ROLE-ENV or ENV (nothing is
 * printed on stdout then); 69 --self: instance metadata or EC2 unreachable,
 * failing or answering nonsense; 74 stdout failed; 75 --self: timed out;
 * 77 --self: token or credentials refused; 78 configuration missing or
 * invalid.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "exits.h"
#include "log.h"
#include "identify-role.h"
#include "shquote.h"

static const char usage_text[] =
    "usage: identify-role [-qv] [-c FILE] [--json | --field NAME] ROLE-ENV...\n"
    "       identify-role [-qv] [-c FILE] [--json | --field NAME] --self\n"
    "       identify-role [-qv] [-c FILE] [--json] --list ENV\n"
    "       identify-role [-qv] [-c FILE] [--json] --all\n"
    "       identify-role [-qv] [-c FILE] [--json] --env ENV\n"
    "       identify-role [-qv] --payload FILE|-\n"
    "\n"
    "  -c, --config FILE   configuration file\n"
    "  --json              one JSON object per name, one per line\n"
    "  --field NAME        print only field NAME, bare, one line per ROLE-ENV\n"
    "  --list ENV          the ROLE-ENVs a deploy of ENV rolls (master list)\n"
    "  --all               every ROLE-ENV the configuration knows\n"
    "  --self              this EC2 instance's own ROLE-ENV (from its tags)\n"
    "  --env ENV           the environment's settings as KEY=value lines\n"
    "  --payload FILE|-    a GitHub push webhook payload: kind, ref, hash, env\n"
    "  -v, --verbose       say which configuration file is used\n"
    "  -q, --quiet         only errors on stderr\n"
    "  -h, --help          this text\n"
    "  -V, --version       version and linked libraries\n"
    "\n"
    "Fields: ROLEENV ROLE ENV AUTOSCALENAME ELBNAME TERRAFORMNAME SSLELB\n"
    "APPLYSCALINGPOLICY NOTIFYFORUNHEALTHYELB SCALEVARIABLE\n";

static const char *const linked_libs[] = { "libinih", "jansson", "curl", "bearssl", "expat", NULL };

enum { OPT_FIELD = CLI_FIRST_PRIVATE, OPT_LIST, OPT_ALL, OPT_SELF, OPT_ENV, OPT_PAYLOAD };

#define NFIELDS 10
static const char *const field_names[NFIELDS] = { "ROLEENV", "ROLE", "ENV",
	"AUTOSCALENAME", "ELBNAME", "TERRAFORMNAME", "SSLELB",
	"APPLYSCALINGPOLICY", "NOTIFYFORUNHEALTHYELB", "SCALEVARIABLE" };

/* field_value: the text of field i of ri, as the original printed it. */
static const char *
field_value(const struct role_info *ri, int i)
{
	switch (i) {
	case 0: return ri->roleenv;
	case 1: return ri->role;
	case 2: return ri->env;
	case 3: return ri->autoscalename;
	case 4: return ri->elbname[0] ? ri->elbname : "NONE";
	case 5: return ri->terraformname;
	case 6: return ri->sslelb ? "true" : "false";
	case 7: return ri->applyscalingpolicy ? "true" : "false";
	case 8: return ri->notifyforunhealthyelb ? "true" : "false";
	case 9: return ri->scalevariable;
	}
	return "";
}

static int
field_index(const char *name)
{
	for (int i = 0; i < NFIELDS; i++)
		if (strcasecmp(name, field_names[i]) == 0)
			return i;
	return -1;
}

/* format_env appends ri as eval-safe KEY=value lines. */
static int
format_env(struct buf *out, const struct role_info *ri)
{
	for (int i = 0; i < NFIELDS; i++)
		if (sh_assign(out, field_names[i], field_value(ri, i)) == -1)
			return -1;
	return 0;
}

/* format_json appends ri as one compact JSON object and a newline. */
static int
format_json(struct buf *out, const struct role_info *ri)
{
	json_t *o = json_object();
	int r = o ? 0 : -1;
	for (int i = 0; i < NFIELDS && r == 0; i++) {
		json_t *v;
		if (i == 4 && ri->elbname[0] == '\0')
			v = json_null();
		else if (i >= 6 && i <= 8)
			v = json_boolean(strcmp(field_value(ri, i), "true") == 0);
		else
			v = json_string(field_value(ri, i));
		r = json_object_set_new(o, field_names[i], v);
	}
	char *text = r == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (text == NULL)
		return -1;
	r = buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
	free(text);
	return r;
}

struct options {
	struct cli_common common;
	const char *field;
	const char *list_env;
	const char *env;
	const char *payload;
	bool all;
	bool self;
};

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET,
		CLI_OPT_CONFIG, CLI_OPT_JSON,
		{ "field", required_argument, NULL, OPT_FIELD },
		{ "list", required_argument, NULL, OPT_LIST },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "self", no_argument, NULL, OPT_SELF },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		CLI_OPT_END
	};
	int c;
	cli_common_init(&o->common);
	while ((c = getopt_long(argc, argv, "hVvqc:", longopts, NULL)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		switch (c) {
		case OPT_FIELD: o->field = optarg; break;
		case OPT_LIST: o->list_env = optarg; break;
		case OPT_ALL: o->all = true; break;
		case OPT_SELF: o->self = true; break;
		case OPT_ENV: o->env = optarg; break;
		case OPT_PAYLOAD: o->payload = optarg; break;
		default:
			fputs(usage_text, stderr);
			exit(EX_USAGE);
		}
	}
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	int modes = (optind < argc) + (o->list_env != NULL) + o->all + o->self + (o->env != NULL) +
	    (o->payload != NULL);
	if (modes != 1) {
		log_error(lg, modes == 0 ? "give a ROLE-ENV, --self, --list ENV, --all, --env ENV or --payload"
					 : "ROLE-ENV names, --self, --list, --all, --env and --payload do not mix");
		fputs(usage_text, stderr);
		exit(EX_USAGE);
	}
	if (o->field != NULL && (o->common.json || (optind == argc && !o->self))) {
		log_error(lg, "--field goes with ROLE-ENV names or --self, without --json");
		exit(EX_USAGE);
	}
	if (o->field != NULL && field_index(o->field) < 0) {
		log_error(lg, "--field %s: unknown field; one of ROLEENV ROLE ENV AUTOSCALENAME "
			      "ELBNAME TERRAFORMNAME SSLELB APPLYSCALINGPOLICY "
			      "NOTIFYFORUNHEALTHYELB SCALEVARIABLE", o->field);
		exit(EX_USAGE);
	}
}

/* format_settings appends [env:NAME]'s keys as KEY=value lines, or JSON. */
static int
format_settings(struct buf *out, const struct config *cfg, const char *env, bool json)
{
	const char *key, *value;
	json_t *o = json ? json_object() : NULL;
	int r = json && o == NULL ? -1 : 0;
	if (r == 0 && !json)
		r = sh_assign(out, "ENV", env);
	else if (r == 0)
		r = json_object_set_new(o, "ENV", json_string(env));
	for (size_t i = 0; r == 0 && config_env_key_at(cfg, env, i, &key, &value) == 0; i++) {
		char upper[CFG_NAME_MAX];
		size_t n = 0;
		for (; key[n] && n < sizeof(upper) - 1; n++)
			upper[n] = (char)toupper((unsigned char)key[n]);
		upper[n] = '\0';
		r = json ? json_object_set_new(o, upper, json_string(value)) : sh_assign(out, upper, value);
	}
	if (json) {
		char *text = r == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		r = text && buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
		free(text);
	}
	return r;
}

/* format_one appends one resolved name in the form the options ask for. */
static int
format_one(struct buf *out, const struct options *o, const struct role_info *ri, bool first)
{
	if (o->field != NULL)
		return buf_printf(out, "%s\n", field_value(ri, field_index(o->field)));
	if (o->common.json)
		return format_json(out, ri);
	if (!first && buf_putc(out, '\n') == -1)
		return -1;
	return format_env(out, ri);
}

static void
load_config(struct config *cfg, const char *flag, struct log *lg)
{
	char path[CFG_PATH_MAX];
	const char *source;
	if (config_find(flag, path, sizeof(path), &source) == -1)
		log_die(lg, EX_CONFIG, "no configuration found: give --config FILE or set SOCORRO_CONFIG "
				       "(looked in /etc/socorro/socorro.ini and beside the binary)");
	log_debug(lg, "using configuration %s (from %s)", path, source);
	int r = config_load(cfg, path);
	if (r != 0)
		log_die(lg, r, "%s", cfg->error);
}

/* report_unknown names the unknown name and the closest known ones. */
static void
report_unknown(struct log *lg, const struct config *cfg, const char *name)
{
	char near[3][CFG_VALUE_MAX];
	size_t n = config_suggest(cfg, name, near, 3);
	struct buf hint;
	buf_init(&hint, sizeof(near) + 32);
	for (size_t i = 0; i < n; i++)
		buf_printf(&hint, "%s%s", i == 0 ? "; closest: " : ", ", near[i]);
	log_error(lg, "unknown ROLE-ENV \"%s\" in %s%s", name, cfg->path,
	    n ? buf_str(&hint) : "; identify-role --all lists the known names");
	buf_free(&hint);
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o = { 0 };
	struct config cfg;
	struct role_info ri;
	struct buf out;
	int status = EX_OK;

	log_init(&lg, "identify-role", stderr);
	parse_args(argc, argv, &o, &lg);
	if (o.payload != NULL) {
		/* Needs no configuration: a payload names no role. */
		buf_init(&out, 4096);
		status = identify_payload(&lg, o.payload, &out);
		if (status == EX_OK)
			fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return log_finish_stdout(&lg, status);
	}
	load_config(&cfg, o.common.config, &lg);
	buf_init(&out, 16u << 20);

	if (o.list_env != NULL || o.all) {
		if (o.list_env != NULL && !config_has_env(&cfg, o.list_env)) {
			log_error(&lg, "unknown env \"%s\" in %s", o.list_env, cfg.path);
			config_free(&cfg);
			return EX_DATAERR;
		}
		for (size_t i = 0; config_roleenv_at(&cfg, o.list_env, !o.all, i, &ri) == 0; i++) {
			int r = o.common.json ? format_json(&out, &ri)
					      : buf_printf(&out, "%s\n", ri.roleenv);
			if (r == -1)
				log_die(&lg, EX_SOFTWARE, "out of memory formatting output");
		}
	} else if (o.env != NULL) {
		if (!config_has_env(&cfg, o.env)) {
			log_error(&lg, "unknown env \"%s\" in %s", o.env, cfg.path);
			config_free(&cfg);
			return EX_DATAERR;
		}
		if (format_settings(&out, &cfg, o.env, o.common.json) == -1)
			log_die(&lg, EX_SOFTWARE, "out of memory formatting output");
	} else if (o.self) {
		status = identify_self(&lg, &cfg, &ri);
		if (status == EX_OK && format_one(&out, &o, &ri, true) == -1)
			log_die(&lg, EX_SOFTWARE, "out of memory formatting output");
	} else {
		for (int i = optind; i < argc; i++) {
			if (config_resolve(&cfg, argv[i], &ri) == -1) {
				report_unknown(&lg, &cfg, argv[i]);
				status = EX_DATAERR;
				continue;
			}
			if (format_one(&out, &o, &ri, i == optind) == -1)
				log_die(&lg, EX_SOFTWARE, "out of memory formatting output");
		}
	}
	config_free(&cfg);
	/* All or nothing: a caller's eval must not see half the names. */
	if (status == EX_OK)
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	return log_finish_stdout(&lg, status);
}
