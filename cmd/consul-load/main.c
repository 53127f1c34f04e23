/*
 * consul-load: load socorro-config *.conf files into Consul's KV store,
 * validated, diffed and atomic; or write a tree back out as .conf files.
 *
 * It replaces bulk_load.sh, which ran one `curl -X PUT` per key, needed
 * its @@@NAME@@@ placeholders replaced by hand, and stopped half-way on an
 * error.  Here every file is read and checked first (nothing is written if
 * any line is bad or any placeholder unfilled), the current tree is read
 * once, the plan is shown as a diff with secret values masked, and only
 * the changes are written, in transactions of at most 64 check-and-set
 * operations, so that a key changed by someone else since the read is
 * reported instead of overwritten.  A second run writes nothing.
 *
 *	consul-load --vars-file /etc/socorro/secrets.ini etc/socorro-config/
 *	consul-load --export socorro backup/
 *
 * usage: consul-load [-qv] [--dry-run] [--json] [--prune] [--prefix PREFIX]
 *                    [--addr URL] [--set NAME=VALUE]... [--vars-file FILE]...
 *                    [--allow-placeholders] DIR|FILE.conf...
 *        consul-load [-qv] [--dry-run] [--json] [--addr URL] --export PREFIX DIR
 *
 *   --prefix PREFIX       keys go to PREFIX/<file>/<key> (default socorro)
 *   --addr URL            Consul (default $CONSUL_HTTP_ADDR, else
 *                         http://127.0.0.1:8500)
 *   --set NAME=VALUE      fill @@@NAME@@@ (not for secrets: argv is public)
 *   --vars-file FILE      NAME=VALUE lines or INI, filling placeholders;
 *                         later files win, --set wins over files, files
 *                         over SOCORRO_NAME in the environment
 *   --allow-placeholders  load unfilled @@@NAME@@@ as they are
 *   --prune               also delete keys under PREFIX/ no file defines
 *   --export PREFIX DIR   write PREFIX/<file>/<key> as DIR/<file>.conf
 *   --dry-run             show the plan, write nothing
 *   --json                the summary as one JSON object
 *   -v, --verbose         more detail (-vv: HTTP traces, secrets hidden)
 *   -q, --quiet           only warnings and errors on stderr
 *   -h, --help, -V, --version
 *
 * Environment: CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL, CONSUL_HTTP_TOKEN,
 * CONSUL_HTTP_TOKEN_FILE (the token, sent as X-Consul-Token), CONSUL_CACERT
 * (CA bundle for https), CONSUL_HTTP_SSL_VERIFY (false is refused),
 * SOCORRO_<NAME> (placeholder values).
 *
 * stdout: "PREFIX: added N changed N deleted N unchanged N", or with
 * --json {"prefix", "dry_run", "added", ..., "added_keys": [...], ...}.
 *
 * Exit status: 0 done (also nothing to change); 64 usage; 65 bad input
 * (every bad line and unfilled placeholder is reported with file:line,
 * and nothing is written), or Consul refused a value; 66 a file or
 * directory missing; 69 Consul unreachable or failing after retries (refused,
 * reset, cut short, 429, 5xx), an answer that is not Consul's (an HTML
 * page, garbled JSON), or TLS refused; 73 cannot create an export file;
 * 74 I/O error; 75 a key changed in Consul between the read and the write
 * (nothing of that transaction was applied; run again), or a timeout after
 * retries; 77 the token was refused; 78
 * configuration error (CONSUL_* variables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "consul-load.h"
#include "exits.h"
#include "log.h"

static const char usage_text[] =
    "usage: consul-load [-qv] [--dry-run] [--json] [--prune] [--prefix PREFIX]\n"
    "                   [--addr URL] [--set NAME=VALUE]... [--vars-file FILE]...\n"
    "                   [--allow-placeholders] DIR|FILE.conf...\n"
    "       consul-load [-qv] [--dry-run] [--json] [--addr URL] --export PREFIX DIR\n"
    "\n"
    "  --prefix PREFIX       keys go to PREFIX/<file>/<key> (default socorro)\n"
    "  --addr URL            Consul (default $CONSUL_HTTP_ADDR, 127.0.0.1:8500)\n"
    "  --set NAME=VALUE      fill @@@NAME@@@ (not for secrets: argv is public)\n"
    "  --vars-file FILE      NAME=VALUE lines or INI filling placeholders; --set\n"
    "                        wins, then the files (the later first), $SOCORRO_NAME\n"
    "  --allow-placeholders  load unfilled @@@NAME@@@ as they are\n"
    "  --prune               also delete keys under PREFIX/ that no file defines\n"
    "  --export PREFIX DIR   write PREFIX/<file>/<key> as DIR/<file>.conf\n"
    "  --dry-run             show the plan, write nothing\n"
    "  --json                the summary as one JSON object\n"
    "  -v, --verbose         more detail (-vv: HTTP traces, secrets hidden)\n"
    "  -q, --quiet           only warnings and errors on stderr\n"
    "  -h, --help            this text\n"
    "  -V, --version         version and linked libraries\n"
    "\n"
    "Environment: CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE,\n"
    "CONSUL_CACERT, CONSUL_HTTP_SSL, SOCORRO_<NAME> (placeholder values).\n";

static const char *const linked_libs[] = {"curl", "bearssl", "jansson", "zlib", NULL};

enum {
	OPT_PREFIX = CLI_FIRST_PRIVATE,
	OPT_ADDR,
	OPT_SET,
	OPT_VARS_FILE,
	OPT_ALLOW_PLACEHOLDERS,
	OPT_PRUNE,
	OPT_EXPORT
};

struct options {
	struct cli_common common;
	char *prefix;
	const char *addr;
	const char **vars_files;
	int nvars_files;
	bool allow_placeholders;
	bool prune;
	bool mixed; /* a load-only option was given */
	char *export_prefix;
};

static _Noreturn void
usage_error(struct log *lg, const char *why)
{
	if (why != NULL)
		log_error(lg, "%s", why);
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

/* clean_prefix: PREFIX without leading or trailing '/', or NULL if unusable. */
static char *
clean_prefix(const char *s)
{
	while (*s == '/')
		s++;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n == 0 || !utf8_valid(s, n))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return NULL;
	return xstrndup(s, n);
}

static char *
prefix_arg(struct log *lg, const char *flag, const char *arg)
{
	char *p = clean_prefix(arg);
	if (p == NULL) {
		log_error(lg, "%s \"%s\": want a Consul key prefix such as socorro", flag, arg);
		exit(EX_USAGE);
	}
	return p;
}

static void
parse_args(int argc, char **argv, struct options *o, struct vars *vs, struct log *lg)
{
	/* clang-format off */
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET,
		CLI_OPT_DRY_RUN, CLI_OPT_JSON,
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ "set", required_argument, NULL, OPT_SET },
		{ "vars-file", required_argument, NULL, OPT_VARS_FILE },
		{ "allow-placeholders", no_argument, NULL, OPT_ALLOW_PLACEHOLDERS },
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ "export", required_argument, NULL, OPT_EXPORT },
		CLI_OPT_END
	};
	/* clang-format on */
	int c;
	cli_common_init(&o->common);
	while ((c = getopt_long(argc, argv, "hVvq", longopts, NULL)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		o->mixed |= c == OPT_PREFIX || c == OPT_SET || c == OPT_VARS_FILE ||
		    c == OPT_ALLOW_PLACEHOLDERS || c == OPT_PRUNE;
		switch (c) {
		case OPT_PREFIX:
			free(o->prefix);
			o->prefix = prefix_arg(lg, "--prefix", optarg);
			break;
		case OPT_ADDR: o->addr = optarg; break;
		case OPT_SET:
			if (vars_set_arg(vs, optarg, lg) == -1)
				usage_error(lg, NULL);
			break;
		case OPT_VARS_FILE:
			o->vars_files = xrealloc(
			    o->vars_files, (size_t)(o->nvars_files + 1) * sizeof(*o->vars_files));
			o->vars_files[o->nvars_files++] = optarg;
			break;
		case OPT_ALLOW_PLACEHOLDERS: o->allow_placeholders = true; break;
		case OPT_PRUNE: o->prune = true; break;
		case OPT_EXPORT:
			free(o->export_prefix);
			o->export_prefix = prefix_arg(lg, "--export", optarg);
			break;
		default: usage_error(lg, NULL);
		}
	}
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (o->export_prefix != NULL && o->mixed)
		usage_error(lg,
		    "--export goes without --prefix, --set, --vars-file, "
		    "--allow-placeholders and --prune");
	if (o->export_prefix != NULL && argc - optind != 1)
		usage_error(lg, "--export PREFIX takes one DIR to write to");
	if (o->export_prefix == NULL && optind == argc)
		usage_error(lg, "give a socorro-config DIR or FILE.conf files to load");
	if (o->prefix == NULL)
		o->prefix = xstrdup("socorro");
}

/* public_text: the prefix, every key, and every value not under a secret key. */
static void
public_text(struct buf *b, const char *prefix, const struct kvset *s)
{
	if (b->len == 0)
		xbuf(buf_puts(b, prefix));
	for (size_t i = 0; s != NULL && i < s->n; i++) {
		xbuf(buf_putc(b, '\n'));
		xbuf(buf_puts(b, s->v[i].key));
		if (!secret_key(s->v[i].key)) {
			xbuf(buf_putc(b, '\n'));
			xbuf(buf_append(b, s->v[i].value, s->v[i].vlen));
		}
	}
}

static bool
any_secret(const struct kvset *s)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (secret_key(s->v[i].key) && s->v[i].vlen > 0)
			return true;
	return false;
}

/* hide adds a secret to the log's registry, unless the text is public anyway. */
static void
hide(struct log *lg, const struct buf *pub, const char *secret, bool *full)
{
	if (*secret == '\0' ||
	    (pub->len > 0 && memmem(pub->data, pub->len, secret, strlen(secret)) != NULL))
		return;
	*full |= log_add_secret(lg, secret) == -1;
}

/*
 * hide_secrets registers the values under secret-looking keys, and of
 * secret-looking placeholders, so that no log line can show them.  A
 * value under a secret key that also stands in a key or in an ordinary
 * value (a user name "socorro" under secrets.*) is public anyway, and
 * hiding it would only blank out every line that names the prefix.
 */
static void
hide_secrets(struct log *lg, const char *prefix, const struct kvset *want, const struct kvset *have,
    const struct vars *vs)
{
	struct buf pub;
	bool full = false;
	buf_init(&pub, SIZE_MAX);
	if (any_secret(want) || any_secret(have)) {
		public_text(&pub, prefix, want);
		public_text(&pub, prefix, have);
	}
	for (size_t i = 0; want != NULL && i < want->n; i++)
		if (secret_key(want->v[i].key))
			hide(lg, &pub, want->v[i].value, &full);
	for (size_t i = 0; have != NULL && i < have->n; i++)
		if (secret_key(have->v[i].key))
			hide(lg, &pub, have->v[i].value, &full);
	/* A secret-looking placeholder is a secret wherever it was put. */
	buf_reset(&pub);
	for (size_t i = 0; vs != NULL && i < vs->n; i++)
		if (secret_key(vs->v[i].name))
			hide(lg, &pub, vs->v[i].value, &full);
	buf_wipe(&pub);
	if (full)
		log_warn(lg,
		    "more than %d secret values: the later ones are masked in the plan "
		    "but not searched for in other log lines",
		    LOG_MAX_SECRETS);
}

/* load_files: the operands and the placeholder values, all checked. */
static void
load_files(const struct options *o, char **files, int nfiles, struct vars *vs, struct kvset *want,
    struct log *lg)
{
	struct problems p = {.lg = lg};
	int rc = 0;
	for (int i = 0; i < o->nvars_files && rc == 0; i++)
		rc = vars_load_file(vs, o->vars_files[i], &p);
	if (rc == 0)
		rc = conf_load(files, nfiles, o->prefix, vs, o->allow_placeholders, want, &p);
	if (rc != 0)
		exit(rc);
	if (p.n > 0)
		log_die(lg, EX_DATAERR, "%d problem%s in the input%s; nothing was written", p.n,
		    p.n == 1 ? "" : "s", p.n > MAX_PROBLEMS ? " (the first 100 shown)" : "");
}

static int
export_mode(const struct options *o, const char *dir, struct buf *out, struct log *lg)
{
	struct consul c;
	struct kvset have = {0};
	int rc = consul_open(&c, o->addr, lg);
	if (rc == 0)
		rc = consul_read_tree(&c, o->export_prefix, &have);
	if (rc == 0) {
		hide_secrets(lg, o->export_prefix, NULL, &have, NULL);
		rc = export_tree(
		    &have, o->export_prefix, dir, o->common.dry_run, o->common.json, out, lg);
	}
	consul_close(&c);
	kvset_free(&have);
	return rc;
}

static int
load_mode(const struct options *o, const struct kvset *want, const struct vars *vs, struct buf *out,
    struct log *lg)
{
	struct consul c;
	struct kvset have = {0};
	struct plan pl = {0};
	size_t txns = 0;
	int rc = consul_open(&c, o->addr, lg);
	if (rc == 0)
		rc = consul_read_tree(&c, o->prefix, &have);
	if (rc == 0) {
		hide_secrets(lg, o->prefix, want, &have, vs);
		plan_make(&pl, want, &have, o->prune);
		if (pl.n == 0) {
			log_info(lg, "unchanged: %zu keys under %s/; nothing to write",
			    pl.unchanged, o->prefix);
		} else {
			log_info(lg,
			    "%s/: %zu to add, %zu to change, %zu to delete, %zu unchanged%s",
			    o->prefix, pl.added, pl.changed, pl.deleted, pl.unchanged,
			    o->common.dry_run ? " (dry run: nothing is written)" : "");
			plan_print(&pl, lg);
			if (!o->common.dry_run)
				rc = consul_apply(&c, &pl, o->prefix, &txns);
		}
	}
	if (rc == 0)
		xbuf(plan_summary(out, &pl, o->prefix, o->common.json, o->common.dry_run, txns));
	plan_free(&pl);
	consul_close(&c);
	kvset_free(&have);
	return rc;
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o = {0};
	struct vars vs = {0};
	struct kvset want = {0};
	struct buf out;
	int rc;

	log_init(&lg, "consul-load", stderr);
	parse_args(argc, argv, &o, &vs, &lg);
	buf_init(&out, SIZE_MAX);
	if (o.export_prefix != NULL) {
		rc = export_mode(&o, argv[optind], &out, &lg);
	} else {
		load_files(&o, argv + optind, argc - optind, &vs, &want, &lg);
		rc = load_mode(&o, &want, &vs, &out, &lg);
	}
	/* All or nothing: a script reading stdout sees a summary only on success. */
	if (rc == EX_OK)
		fwrite(buf_str(&out), 1, out.len, stdout);
	log_forget_secrets(&lg);
	kvset_free(&want);
	vars_free(&vs);
	buf_free(&out);
	free(o.prefix);
	free(o.export_prefix);
	free(o.vars_files);
	return log_finish_stdout(&lg, rc);
}
