/*
 * backup: back up and restore Socorro's state (Consul's KV store,
 * RabbitMQ's definitions, the PostgreSQL database, Elasticsearch through
 * its snapshots) to S3 or a local directory, keeping the last N.
 *
 * It replaces `consulate kv backup | aws s3 cp - s3://.../consul-backup-
 * <YYYYmmddHHMM>-<host>.json`, ad-hoc pg_dump runs, snapshots taken by
 * hand and cold copies of RabbitMQ's files.  Every backup gets a manifest
 * beside it (service, time, host, tool version, size and SHA-256 of the
 * stored bytes, where it came from), written last: a backup that failed
 * at any point leaves nothing that list or restore latest would pick.
 * Restore checks the size and SHA-256 before it writes anything.
 *
 *	backup consul --to s3://bucket/backups --env stage --keep 14
 *	PGHOST=db PGUSER=breakpad_rw backup postgres --database breakpad
 *	backup restore consul --from latest --env stage --to s3://bucket/backups
 *	backup list postgres --env stage; backup verify s3://bucket/backups/...
 *
 * usage: backup [-qv] [--dry-run] [--json] [-c FILE] SERVICE [--to URL]
 *               [--env NAME] [--keep N] [--no-compress] [service options]
 *        backup [-qv] [--dry-run] restore SERVICE --from URL|NAME|latest
 *               [--to URL] [--env NAME] [--overwrite] [--unverified]
 *               [service options]
 *        backup [-qv] [--json] list SERVICE [--to URL] [--env NAME]
 *        backup [-qv] verify URL
 *
 * SERVICE is consul, rabbitmq, postgres or elasticsearch.
 *
 *   --to URL          the store: s3://BUCKET[/PREFIX] or file:///DIR (default
 *                     $SOCORRO_BACKUP_URL, then backup_url of [env:NAME] in
 *                     socorro.ini, then file:///var/backups/socorro)
 *   --env NAME        the environment, a level of the layout (default
 *                     $SOCORRO_ENV, else "default")
 *   --keep N          after the new backup is stored and verified, delete
 *                     the oldest of this service and env beyond N
 *   --no-compress     store JSON as it is, not gzipped
 *   --from WHAT       restore: a backup's URL, its name in this service and
 *                     env, or latest
 *   --overwrite       restore: replace values that differ (consul), drop
 *                     and recreate objects (postgres: --clean --if-exists)
 *   --url URL         the service: Consul (CONSUL_HTTP_ADDR), RabbitMQ's
 *                     management API (RABBITMQ_MANAGEMENT_URL),
 *                     Elasticsearch (ES_URL)
 *   --cacert FILE     CA bundle for an https service
 *   --user NAME       RabbitMQ admin (RABBITMQ_ADMIN_USER, default guest),
 *                     Elasticsearch user (ES_USER)
 *   --password-file FILE  its password (else RABBITMQ_ADMIN_PASSWORD or
 *                     ES_PASSWORD); never on the command line
 *   --prefix PREFIX   consul: only keys starting with PREFIX (default all)
 *   --base64          consul restore: a consulate backup made with -b
 *   --unverified      restore: an object without a manifest (a backup made
 *                     before this tool, e.g. consulate's), unchecked
 *   --database NAME   postgres: the database (default PGDATABASE)
 *   --pg-dump PATH, --pg-restore PATH   the tools (default: on PATH)
 *   --no-owner        postgres restore: pg_restore --no-owner
 *   --repo NAME       elasticsearch: snapshot repository (ES_SNAPSHOT_REPO,
 *                     default backups)
 *   --indices LIST    elasticsearch: indices to snapshot or restore (all)
 *   --wait DURATION   elasticsearch: how long a snapshot or restore may take
 *                     (default 1h)
 *   --region REGION   S3 region (else AWS_REGION, the profile, metadata)
 *   --sse AES256|aws:kms  S3 server-side encryption of what is written
 *                     (default: the bucket's); --sse-kms-key-id ID its key
 *   --dry-run         say what would be done; write, delete, restore nothing
 *   --json            backup: the manifest; list: one object per line
 *   -v, -q, -h, -V    more detail (-vv: HTTP traces), quiet, help, version
 *
 * Credentials come only from the environment or files: AWS_* (and the
 * shared files, instance metadata), CONSUL_HTTP_TOKEN[_FILE], PGPASSWORD
 * or ~/.pgpass, RABBITMQ_ADMIN_PASSWORD, ES_PASSWORD.
 *
 * Output: backup, the new backup's URL; list, "TIME SIZE URL" per complete
 * backup, oldest first (elasticsearch: also its snapshot and its state);
 * restore, a summary line; verify, "URL: verified ...".
 *
 * Exit status: 0 done; 64 usage; 65 bad input (a backup that fails its
 * check, a manifest or document that is not one); 66 no such backup; 69 a
 * service or the store unreachable or failing after retries (also a failed
 * pg_dump); 73 cannot create a file; 74 I/O error; 75 timeout, a run
 * interrupted, or Consul changed during a restore; 77 credentials refused;
 * 78 configuration (no region or credentials, no pg_dump, no repository).
 */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "config.h"
#include "duration.h"
#include "exits.h"

static const char usage_text[] =
    "usage: backup [-qv] [--dry-run] [--json] [-c FILE] SERVICE [--to URL]\n"
    "              [--env NAME] [--keep N] [--no-compress] [service options]\n"
    "       backup [-qv] [--dry-run] restore SERVICE --from URL|NAME|latest\n"
    "              [--to URL] [--env NAME] [--overwrite] [service options]\n"
    "       backup [-qv] [--json] list SERVICE [--to URL] [--env NAME]\n"
    "       backup [-qv] verify URL\n"
    "\n"
    "SERVICE: consul, rabbitmq, postgres, elasticsearch\n"
    "  --to URL            s3://BUCKET[/PREFIX] or file:///DIR (default\n"
    "                      $SOCORRO_BACKUP_URL, file:///var/backups/socorro)\n"
    "  --env NAME          environment (default $SOCORRO_ENV, else default)\n"
    "  --keep N            then delete the oldest beyond N (after verifying)\n"
    "  --no-compress       store JSON without gzip\n"
    "  --from WHAT         restore: a URL, a backup's name, or latest\n"
    "  --overwrite         restore: replace what differs\n"
    "  --url URL           the service (CONSUL_HTTP_ADDR, RABBITMQ_MANAGEMENT_URL,\n"
    "                      ES_URL)\n"
    "  --cacert FILE       CA bundle for an https service\n"
    "  --user NAME         RabbitMQ admin or Elasticsearch user\n"
    "  --password-file F   its password (or RABBITMQ_ADMIN_PASSWORD, ES_PASSWORD)\n"
    "  --prefix PREFIX     consul: keys starting with PREFIX (default all)\n"
    "  --base64            consul restore: consulate backup made with -b\n"
    "  --unverified        restore an object that has no manifest (an old backup)\n"
    "  --database NAME     postgres database (default PGDATABASE)\n"
    "  --pg-dump PATH      --pg-restore PATH   the tools (default: PATH)\n"
    "  --no-owner          postgres restore: pg_restore --no-owner\n"
    "  --repo NAME         elasticsearch snapshot repository (default backups)\n"
    "  --indices LIST      elasticsearch indices (default all)\n"
    "  --wait DURATION     elasticsearch: snapshot/restore time limit (1h)\n"
    "  --region REGION     S3 region\n"
    "  --sse AES256|aws:kms  S3 server-side encryption (--sse-kms-key-id ID)\n"
    "  --dry-run           say what would be done, change nothing\n"
    "  --json              JSON output\n"
    "  -v, --verbose       more detail (-vv: HTTP traces, secrets hidden)\n"
    "  -q, --quiet         only warnings and errors on stderr\n"
    "  -h, --help          this text\n"
    "  -V, --version       version and linked libraries\n";

static const char *const linked_libs[] = { "curl", "bearssl", "jansson", "zlib", "libinih",
	NULL };

volatile sig_atomic_t bk_interrupted;

enum {
	OPT_TO = CLI_FIRST_PRIVATE, OPT_FROM, OPT_ENV, OPT_KEEP, OPT_NO_COMPRESS, OPT_OVERWRITE,
	OPT_URL, OPT_CACERT, OPT_USER, OPT_PASSWORD_FILE, OPT_PREFIX, OPT_BASE64, OPT_DATABASE,
	OPT_PG_DUMP, OPT_PG_RESTORE, OPT_NO_OWNER, OPT_REPO, OPT_INDICES, OPT_WAIT, OPT_REGION,
	OPT_SSE, OPT_SSE_KMS_KEY, OPT_UNVERIFIED
};

enum mode { MODE_BACKUP, MODE_RESTORE, MODE_LIST, MODE_VERIFY };

static _Noreturn void usage_error(struct log *lg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static _Noreturn void
usage_error(struct log *lg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lg, LOG_ERROR, fmt, ap);
	va_end(ap);
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

/* bad_option: getopt has said what was wrong. */
static _Noreturn void
bad_option(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	(void)sig;
	bk_interrupted = 1;
}

/* An option for one service, given to another, is a mistake to report. */
static void
set_option(struct options *o, int c, const char *arg, struct log *lg)
{
	switch (c) {
	case OPT_TO: o->to = arg; break;
	case OPT_FROM: o->from = arg; break;
	case OPT_ENV: o->env = arg; break;
	case OPT_KEEP:
		if (str_to_long(arg, 1, 100000, &o->keep) == -1)
			usage_error(lg, "--keep %s: expected a whole number of at least 1", arg);
		break;
	case OPT_NO_COMPRESS: o->no_compress = true; break;
	case OPT_OVERWRITE: o->overwrite = true; break;
	case OPT_URL: o->url = arg; break;
	case OPT_CACERT: o->cacert = arg; break;
	case OPT_USER: o->user = arg; break;
	case OPT_PASSWORD_FILE: o->password_file = arg; break;
	case OPT_PREFIX: o->prefix = arg; break;
	case OPT_BASE64: o->base64 = true; break;
	case OPT_DATABASE: o->database = arg; break;
	case OPT_PG_DUMP: o->pg_dump = arg; break;
	case OPT_PG_RESTORE: o->pg_restore = arg; break;
	case OPT_NO_OWNER: o->no_owner = true; break;
	case OPT_REPO: o->repo = arg; break;
	case OPT_INDICES: o->indices = arg; break;
	case OPT_WAIT:
		if (duration_parse(arg, &o->wait_s) == -1 || o->wait_s < 1)
			usage_error(lg, "--wait %s: expected a duration such as 90s, 15m, 2h", arg);
		break;
	case OPT_REGION: o->region = arg; break;
	case OPT_SSE:
		if (strcmp(arg, "AES256") != 0 && strcmp(arg, "aws:kms") != 0)
			usage_error(lg, "--sse %s: expected AES256 or aws:kms", arg);
		o->sse = arg;
		break;
	case OPT_SSE_KMS_KEY: o->sse_kms_key = arg; break;
	case OPT_UNVERIFIED: o->unverified = true; break;
	default: bad_option();
	}
}

static enum mode
parse_args(int argc, char **argv, struct options *o, struct log *lg, const char **operand)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_CONFIG,
		CLI_OPT_DRY_RUN, CLI_OPT_JSON,
		{ "to", required_argument, NULL, OPT_TO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "no-compress", no_argument, NULL, OPT_NO_COMPRESS },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "url", required_argument, NULL, OPT_URL },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "base64", no_argument, NULL, OPT_BASE64 },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "pg-dump", required_argument, NULL, OPT_PG_DUMP },
		{ "pg-restore", required_argument, NULL, OPT_PG_RESTORE },
		{ "no-owner", no_argument, NULL, OPT_NO_OWNER },
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "indices", required_argument, NULL, OPT_INDICES },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "sse", required_argument, NULL, OPT_SSE },
		{ "sse-kms-key-id", required_argument, NULL, OPT_SSE_KMS_KEY },
		{ "unverified", no_argument, NULL, OPT_UNVERIFIED },
		CLI_OPT_END
	};
	struct cli_common cc;
	int c;
	cli_common_init(&cc);
	o->wait_s = 3600;
	while ((c = getopt_long(argc, argv, "hVvqc:", longopts, NULL)) != -1)
		if (!cli_common_option(&cc, c, optarg))
			set_option(o, c, optarg, lg);
	lg->verbosity = o->verbosity = cc.verbosity;
	o->dry_run = cc.dry_run;
	o->json = cc.json;
	o->config = cc.config;
	cli_exit_if_help(lg, &cc, usage_text, linked_libs);
	char **ops = argv + optind;
	int nops = argc - optind;
	enum mode m = MODE_BACKUP;
	if (nops > 0 && strcmp(ops[0], "restore") == 0)
		m = MODE_RESTORE;
	else if (nops > 0 && strcmp(ops[0], "list") == 0)
		m = MODE_LIST;
	else if (nops > 0 && strcmp(ops[0], "verify") == 0)
		m = MODE_VERIFY;
	if (m != MODE_BACKUP)
		ops++, nops--;
	if (nops != 1)
		usage_error(lg, "%s", nops == 0 ? (m == MODE_VERIFY ? "verify: give a backup's URL"
		    : "give a SERVICE: consul, rabbitmq, postgres or elasticsearch")
		    : "too many operands");
	*operand = ops[0];
	if (m != MODE_VERIFY) {
		int s = svc_from_name(ops[0]);
		if (s < 0)
			usage_error(lg, "%s: unknown service; consul, rabbitmq, postgres or "
					"elasticsearch", ops[0]);
		o->svc = (enum svc)s;
	}
	return m;
}

/* check_mode: options that mean nothing in this mode are refused. */
static void
check_mode(enum mode m, const struct options *o, struct log *lg)
{
	if (m == MODE_RESTORE && o->from == NULL)
		usage_error(lg, "%s", "restore: give --from URL, NAME or latest");
	if (m != MODE_RESTORE && (o->from || o->overwrite || o->base64 || o->no_owner ||
	    o->unverified))
		usage_error(lg, "%s", "--from, --overwrite, --base64, --no-owner and --unverified go "
				      "with restore");
	if (o->unverified && o->from && strcmp(o->from, "latest") == 0)
		usage_error(lg, "%s", "--unverified names one object: --from URL or NAME, not latest");
	if (m != MODE_BACKUP && (o->keep || o->no_compress))
		usage_error(lg, "%s", "--keep and --no-compress go with a backup");
	if (m == MODE_VERIFY && (o->to || o->env))
		usage_error(lg, "%s", "verify takes the backup's whole URL, without --to or --env");
	if (o->prefix && o->svc != SVC_CONSUL)
		usage_error(lg, "%s", "--prefix is for consul");
	if ((o->database || o->pg_dump || o->pg_restore) && o->svc != SVC_POSTGRES)
		usage_error(lg, "%s", "--database, --pg-dump and --pg-restore are for postgres");
	if ((o->repo || o->indices) && o->svc != SVC_ELASTICSEARCH)
		usage_error(lg, "%s", "--repo and --indices are for elasticsearch");
	if (o->sse_kms_key && (o->sse == NULL || strcmp(o->sse, "aws:kms") != 0))
		usage_error(lg, "%s", "--sse-kms-key-id goes with --sse aws:kms");
}

static bool
good_name(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

/* config_url: backup_url of [env:NAME] in socorro.ini, if one is found. */
static const char *
config_url(const struct options *o, const char *env, const char *key, struct log *lg,
    struct config *cfg)
{
	char path[CFG_PATH_MAX];
	const char *source;
	if (config_find(o->config, path, sizeof(path), &source) == -1)
		return NULL;
	int r = config_load(cfg, path);
	if (r != 0)
		log_die(lg, r, "%s", cfg->error);
	log_debug(lg, "using configuration %s (from %s)", path, source);
	return config_env_value(cfg, env, key);
}

/* resolve: env, host and store root, by flag, environment, config, default. */
static void
resolve(struct ctx *c, struct config *cfg)
{
	const struct options *o = c->o;
	const char *env = o->env ? o->env : getenv("SOCORRO_ENV");
	if (env == NULL || *env == '\0')
		env = "default";
	if (!good_name(env))
		log_die(c->lg, EX_USAGE, "--env %s: use letters, digits, '.', '_', '-'", env);
	str_copy(c->env, sizeof(c->env), env);
	const char *root = o->to ? o->to : getenv("SOCORRO_BACKUP_URL");
	if (root == NULL || *root == '\0')
		root = config_url(o, env, "backup_url", c->lg, cfg);
	if (root == NULL || *root == '\0')
		root = "file:///var/backups/socorro";
	if (store_url_refused(root, c->lg))
		exit(EX_USAGE);
	if (str_copy(c->root, sizeof(c->root), root) == -1)
		log_die(c->lg, EX_USAGE, "--to: URL too long");
	if (gethostname(c->host, sizeof(c->host) - 1) == -1 || c->host[0] == '\0')
		str_copy(c->host, sizeof(c->host), "localhost");
	/* Lowercase, and nothing a name or a snapshot could not hold. */
	for (char *p = c->host; *p; p++)
		*p = isalnum((unsigned char)*p) || *p == '.' ? (char)tolower((unsigned char)*p) : '-';
	log_debug(c->lg, "store %s, env %s, host %s", c->root, c->env, c->host);
}

static void
signals(void)
{
	cli_catch_stop_signals(on_signal);
	signal(SIGPIPE, SIG_IGN); /* a pipe to pg_restore that closes: EPIPE */
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o;
	struct ctx c;
	const char *operand;
	log_init(&lg, "backup", stderr);
	memset(&o, 0, sizeof(o));
	enum mode m = parse_args(argc, argv, &o, &lg, &operand);
	check_mode(m, &o, &lg);
	memset(&c, 0, sizeof(c));
	c.o = &o;
	c.lg = &lg;
	buf_init(&c.out, 64u << 20);
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		log_die(&lg, EX_SOFTWARE, "out of memory");
	signals();
	int r;
	if (m == MODE_VERIFY) {
		r = do_verify(&c, operand);
	} else {
		resolve(&c, cfg);
		r = m == MODE_BACKUP ? do_backup(&c) : m == MODE_RESTORE ? do_restore(&c)
		                                                         : do_list(&c);
	}
	if (r == 0)
		fwrite(c.out.data ? c.out.data : "", 1, c.out.len, stdout);
	buf_free(&c.out);
	config_free(cfg);
	free(cfg);
	r = log_finish_stdout(&lg, r);
	secrets_release(&lg);
	return r;
}
