/*
 * setup-es: put a Socorro Elasticsearch cluster in shape: index templates,
 * the weekly crash indices, an alias on the current week, and the snapshot
 * repository that backups use.
 *
 * It replaces `setup-socorro.sh elasticsearch`, a Python script that
 * printed WARN and exited 0 when anything failed.  This one reads what the
 * server has, changes only what differs, says what it did, and exits
 * non-zero with one line naming the request when it cannot.  Run it again
 * and it changes nothing ("nothing to change").
 *
 * usage: setup-es [-qv] [--dry-run] --url URL [--user NAME]
 *                 [--password-file FILE] [--cacert FILE]
 *                 [--template FILE.json]... [--index-settings FILE]
 *                 [--shards N] [--index-prefix PREFIX] [--weeks N]
 *                 [--week-numbering iso|socorro] [--date YYYY-MM-DD]
 *                 [--alias NAME] [--snapshot-repo NAME --snapshot-type fs|s3
 *                 [--snapshot-setting KEY=VALUE]...] [--wait DURATION]
 *
 * What it does, in order:
 *  1. GET / for the server's version: 7.8 and later get composable index
 *     templates (_index_template), 6.7 to 7.7 legacy ones (_template).
 *  2. Waits until _cluster/health is at least yellow, for --wait at most.
 *  3. Each --template FILE.json becomes the index template named after the
 *     file (socorro_crash.json: socorro_crash), created or replaced only if
 *     the server's copy differs semantically.
 *  4. Creates the weekly crash indices <prefix>YYYYWW for the current week
 *     and the --weeks - 1 after it, with the settings and mappings of
 *     --index-settings (default: the shipped elasticsearch/socorro_crash.json:
 *     10 shards, query.default_field signature, the semicolon_keywords
 *     analyzer that splits on ';').  An index that exists is left alone.
 *  5. --alias NAME: moves NAME, in one atomic request, to today's index.
 *  6. --snapshot-repo: registers (or re-registers, if its settings differ)
 *     the snapshot repository.
 *
 * Week numbering (--week-numbering):
 *  iso (default)  ISO 8601 week-year and week, strftime %G%V: weeks run
 *                 Monday to Sunday, week 01 holds the year's first Thursday,
 *                 and a week has one name even across 1 January
 *                 (2024-12-30 .. 2025-01-05 is socorro202501; 2020-12-28 ..
 *                 2021-01-03 is socorro202053).  Set Socorro's
 *                 elasticsearch_index to socorro%G%V to match.
 *  socorro        Socorro's historical default elasticsearch_index,
 *                 socorro%Y%W: the calendar year and the count of Mondays so
 *                 far (week 00 before the first Monday).  The week holding
 *                 1 January then has two names (2024-12-30 is socorro202453,
 *                 2025-01-01 socorro202500), and both are created, since
 *                 Socorro's processor writes each crash to the index named by
 *                 the crash's own date.
 * "Today" is the UTC date, or --date (for tests, or to prepare ahead).
 *
 * Credentials: --user or ES_USER; the password from --password-file or
 * ES_PASSWORD, never from the command line; sent as HTTP basic auth.  The
 * URL may not carry user:password@.  https is verified against --cacert,
 * SSL_CERT_FILE or the system CA bundle.
 *
 * Output: KEY=value lines for eval: ES_VERSION, CURRENT_INDEX, INDICES
 * (space separated) and CHANGES (requests that changed something).  With
 * --dry-run, instead, each change request it would make ("PUT /path" and the
 * JSON body on the next line), and no change is made.
 *
 * Exit status: 0 done (also nothing to change); 64 usage; 65 a bad template
 * or settings file (file:line:column), or the server refused a document
 * (HTTP 400); 66 a file is missing; 69 the server is down, not
 * Elasticsearch, failing after retries (reset, cut short, 429, 5xx), or
 * answering a success that is not its JSON; 75 the cluster stayed below
 * yellow for --wait, or timed out after retries; 77 authentication or
 * authorization refused (HTTP 401/403); 78 no usable CA bundle.
 */
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cli.h"
#include "duration.h"
#include "exits.h"
#include "setup-es.h"
#include "shquote.h"
#include "week.h"

static const char usage_text[] =
    "usage: setup-es [-qv] [--dry-run] --url URL [--user NAME] [--password-file FILE]\n"
    "                [--cacert FILE] [--template FILE.json]... [--index-settings FILE]\n"
    "                [--shards N] [--index-prefix PREFIX] [--weeks N]\n"
    "                [--week-numbering iso|socorro] [--date YYYY-MM-DD] [--alias NAME]\n"
    "                [--snapshot-repo NAME --snapshot-type fs|s3\n"
    "                 [--snapshot-setting KEY=VALUE]...] [--wait DURATION]\n"
    "\n"
    "  --url URL              Elasticsearch, http(s)://HOST:PORT (or $ES_URL)\n"
    "  --user NAME            basic-auth user (or $ES_USER)\n"
    "  --password-file FILE   its password, first line (or $ES_PASSWORD)\n"
    "  --cacert FILE          CA bundle for https (or $SSL_CERT_FILE)\n"
    "  --template FILE.json   index template, named after the file; repeatable\n"
    "  --index-settings FILE  settings and mappings of new weekly indices\n"
    "                         (default: the shipped elasticsearch/socorro_crash.json)\n"
    "  --shards N             number_of_shards of new weekly indices\n"
    "  --index-prefix PREFIX  weekly index names PREFIXYYYYWW (default socorro)\n"
    "  --weeks N              this week and the N-1 after it (default 2)\n"
    "  --week-numbering iso|socorro\n"
    "                         YYYYWW as ISO %G%V (default) or Socorro's %Y%W\n"
    "  --date YYYY-MM-DD      act as if today (UTC) were this date\n"
    "  --alias NAME           keep alias NAME on the current week's index\n"
    "  --snapshot-repo NAME   register snapshot repository NAME\n"
    "  --snapshot-type fs|s3  its type\n"
    "  --snapshot-setting KEY=VALUE\n"
    "                         a repository setting (location=..., bucket=...)\n"
    "  --wait DURATION        wait this long for health yellow (default 60s)\n"
    "  --dry-run              print the change requests, change nothing\n"
    "  -v, --verbose          more detail (-vv: HTTP traces)\n"
    "  -q, --quiet            only errors on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          version and linked libraries\n";

static const char *const linked_libs[] = { "curl", "bearssl", "jansson", NULL };

#define MAX_TEMPLATES 32
#define MAX_SETTINGS 32
#define MAX_WEEKS 520

enum {
	OPT_URL = CLI_FIRST_PRIVATE, OPT_USER, OPT_PASSWORD_FILE, OPT_CACERT, OPT_TEMPLATE,
	OPT_INDEX_SETTINGS, OPT_SHARDS, OPT_PREFIX, OPT_WEEKS, OPT_NUMBERING, OPT_DATE,
	OPT_ALIAS, OPT_REPO, OPT_REPO_TYPE, OPT_REPO_SETTING, OPT_WAIT
};

struct options {
	struct cli_common common;
	const char *url, *user, *password_file, *cacert, *index_settings;
	const char *templates[MAX_TEMPLATES];
	int ntemplates;
	long shards, weeks, wait_s;
	const char *prefix, *alias, *repo, *repo_type;
	const char *repo_settings[MAX_SETTINGS];
	int nrepo_settings;
	bool socorro_weeks;
	long today;
};

static _Noreturn void usage_error(struct log *lg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* usage_error: one line saying what is wrong, then the usage, exit 64. */
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

static long
number_arg(struct log *lg, const char *opt, const char *arg, long min, long max)
{
	long v;
	if (str_to_long(arg, min, max, &v) == -1) {
		log_error(lg, "%s %s: expected a number from %ld to %ld", opt, arg, min, max);
		exit(EX_USAGE);
	}
	return v;
}

static void
take_option(struct options *o, int c, const char *arg, struct log *lg)
{
	switch (c) {
	case OPT_URL: o->url = arg; break;
	case OPT_USER: o->user = arg; break;
	case OPT_PASSWORD_FILE: o->password_file = arg; break;
	case OPT_CACERT: o->cacert = arg; break;
	case OPT_INDEX_SETTINGS: o->index_settings = arg; break;
	case OPT_PREFIX: o->prefix = arg; break;
	case OPT_ALIAS: o->alias = arg; break;
	case OPT_REPO: o->repo = arg; break;
	case OPT_REPO_TYPE: o->repo_type = arg; break;
	case OPT_SHARDS: o->shards = number_arg(lg, "--shards", arg, 1, 1024); break;
	case OPT_WEEKS: o->weeks = number_arg(lg, "--weeks", arg, 0, MAX_WEEKS); break;
	case OPT_TEMPLATE:
		if (o->ntemplates == MAX_TEMPLATES)
			usage_error(lg, "more than %d --template files", MAX_TEMPLATES);
		o->templates[o->ntemplates++] = arg;
		break;
	case OPT_REPO_SETTING:
		if (o->nrepo_settings == MAX_SETTINGS)
			usage_error(lg, "more than %d --snapshot-setting options", MAX_SETTINGS);
		o->repo_settings[o->nrepo_settings++] = arg;
		break;
	case OPT_NUMBERING:
		if (strcmp(arg, "iso") != 0 && strcmp(arg, "socorro") != 0)
			usage_error(lg, "--week-numbering %s: expected iso or socorro", arg);
		o->socorro_weeks = strcmp(arg, "socorro") == 0;
		break;
	case OPT_DATE:
		if (week_parse_date(arg, &o->today) == -1)
			usage_error(lg, "--date %s: expected a real date as YYYY-MM-DD", arg);
		break;
	case OPT_WAIT:
		if (duration_parse(arg, &o->wait_s) == -1)
			usage_error(lg, "--wait %s: expected a duration such as 90s, 5m, 1h", arg);
		break;
	default:
		fputs(usage_text, stderr);
		exit(EX_USAGE);
	}
}

static void
check_options(struct options *o, struct log *lg)
{
	if (o->url == NULL)
		o->url = getenv("ES_URL");
	if (o->url == NULL || *o->url == '\0')
		usage_error(lg, "give the server: --url http://HOST:9200 or ES_URL");
	if (!es_name_ok(o->prefix))
		usage_error(lg, "--index-prefix %s: use lowercase letters, digits, '.', '_' and "
		    "'-', not first '_', '-' or '.'", o->prefix);
	if (o->alias != NULL && (!es_name_ok(o->alias) || o->weeks == 0))
		usage_error(lg, "--alias %s: needs --weeks of 1 or more and a lowercase name "
		    "of letters, digits, '.', '_', '-'", o->alias);
	if ((o->repo != NULL) != (o->repo_type != NULL) || (o->nrepo_settings && !o->repo))
		usage_error(lg, "--snapshot-repo, --snapshot-type and --snapshot-setting go "
		    "together");
	if (o->repo != NULL && !es_name_ok(o->repo))
		usage_error(lg, "--snapshot-repo %s: use lowercase letters, digits, '.', '_', "
		    "'-'", o->repo);
	if (o->repo_type != NULL && strcmp(o->repo_type, "fs") != 0 &&
	    strcmp(o->repo_type, "s3") != 0)
		usage_error(lg, "--snapshot-type %s: expected fs or s3", o->repo_type);
}

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_DRY_RUN,
		{ "url", required_argument, NULL, OPT_URL },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "index-settings", required_argument, NULL, OPT_INDEX_SETTINGS },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "index-prefix", required_argument, NULL, OPT_PREFIX },
		{ "weeks", required_argument, NULL, OPT_WEEKS },
		{ "week-numbering", required_argument, NULL, OPT_NUMBERING },
		{ "date", required_argument, NULL, OPT_DATE },
		{ "alias", required_argument, NULL, OPT_ALIAS },
		{ "snapshot-repo", required_argument, NULL, OPT_REPO },
		{ "snapshot-type", required_argument, NULL, OPT_REPO_TYPE },
		{ "snapshot-setting", required_argument, NULL, OPT_REPO_SETTING },
		{ "wait", required_argument, NULL, OPT_WAIT },
		CLI_OPT_END
	};
	int c;
	cli_common_init(&o->common);
	o->prefix = "socorro";
	o->weeks = 2;
	o->wait_s = 60;
	o->today = (long)(time(NULL) / 86400);
	while ((c = getopt_long(argc, argv, "hVvq", longopts, NULL)) != -1)
		if (!cli_common_option(&o->common, c, optarg))
			take_option(o, c, optarg, lg);
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		usage_error(lg, "unexpected argument \"%s\"", argv[optind]);
	check_options(o, lg);
}

/* set_url checks URL and keeps it, without a trailing '/', in es->base. */
static void
set_url(struct es *es, const char *url)
{
	const char *rest = strncmp(url, "http://", 7) == 0 ? url + 7 :
	    strncmp(url, "https://", 8) == 0 ? url + 8 : NULL;
	if (rest == NULL || *rest == '\0' || *rest == '/')
		log_die(es->lg, EX_USAGE, "--url %s: expected http://HOST:PORT or https://HOST:PORT",
		    url);
	size_t hostlen = strcspn(rest, "/");
	if (memchr(rest, '@', hostlen) != NULL)
		/* Not echoed: it may hold a password. */
		log_die(es->lg, EX_USAGE, "--url: credentials do not go in the URL; use --user "
		    "(or ES_USER) and --password-file (or ES_PASSWORD)");
	if (strpbrk(url, "?#") != NULL || str_copy(es->base, sizeof(es->base), url) == -1)
		log_die(es->lg, EX_USAGE, "--url %s: no query or fragment, at most %d bytes", url,
		    ES_URL_MAX - 1);
	size_t n = strlen(es->base);
	while (n > 0 && es->base[n - 1] == '/')
		es->base[--n] = '\0';
}

/* read_password: the first line of file into pw (a secret). */
static void
read_password(struct log *lg, const char *file, struct buf *pw)
{
	char chunk[512];
	size_t n;
	FILE *f = fopen(file, "r");
	if (f == NULL)
		log_die(lg, EX_NOINPUT, "--password-file %s: cannot read it", file);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(pw, chunk, n) == -1)
			log_die(lg, EX_DATAERR, "--password-file %s: longer than %zu bytes", file,
			    pw->max);
	secure_wipe(chunk, sizeof(chunk));
	if (ferror(f))
		log_die(lg, EX_NOINPUT, "--password-file %s: read error", file);
	fclose(f);
	if (pw->len > 0) {
		pw->len = strcspn(pw->data, "\r\n");
		pw->data[pw->len] = '\0';
	}
	if (pw->len == 0)
		log_die(lg, EX_DATAERR, "--password-file %s: empty first line", file);
}

/*
 * set_credentials builds the Authorization header; the password, the
 * user:password pair and its base64 are registered as secrets first, so
 * no log line, error or trace can show them.
 */
static void
set_credentials(struct es *es, const struct options *o, struct buf *pw, struct buf *token)
{
	const char *user = o->user ? o->user : getenv("ES_USER");
	const char *env_pw = getenv("ES_PASSWORD");
	struct buf pair;
	if (o->password_file != NULL)
		read_password(es->lg, o->password_file, pw);
	else if (env_pw != NULL && *env_pw != '\0' && buf_puts(pw, env_pw) == -1)
		log_die(es->lg, EX_DATAERR, "ES_PASSWORD: longer than %zu bytes", pw->max);
	log_add_secret(es->lg, buf_str(pw));
	if (user == NULL || *user == '\0') {
		if (pw->len > 0)
			log_die(es->lg, EX_USAGE, "a password was given but no user: give --user "
			    "or ES_USER");
		return;
	}
	if (strchr(user, ':') != NULL)
		log_die(es->lg, EX_USAGE, "--user %s: a basic-auth user name cannot hold ':'", user);
	if (pw->len == 0)
		log_die(es->lg, EX_USAGE, "user %s has no password: give --password-file FILE "
		    "or ES_PASSWORD", user);
	buf_init(&pair, 4096);
	if (buf_printf(&pair, "%s:%s", user, buf_str(pw)) == -1 ||
	    base64_encode(token, pair.data, pair.len) == -1 ||
	    str_fmt(es->auth, sizeof(es->auth), "Basic %s", buf_str(token)) == -1)
		log_die(es->lg, EX_DATAERR, "user name and password too long");
	buf_wipe(&pair);
	log_add_secret(es->lg, buf_str(token));
	log_debug(es->lg, "authenticating as %s", user);
}

/* week_name writes PREFIXYYYYWW for day, in the numbering chosen. */
static void
week_name(const struct options *o, long day, char out[ES_NAME_MAX])
{
	int y, w;
	if (o->socorro_weeks)
		week_yw(day, &y, &w);
	else
		week_iso(day, &y, &w);
	str_fmt_clip(out, ES_NAME_MAX, "%s%04d%02d", o->prefix, y, w);
}

/*
 * plan_weeks: the index names for this week and the weeks-1 after it.
 * Every day of those weeks is named, and each new name kept, so that with
 * %Y%W both halves of the week that spans 1 January are covered.
 */
static void
plan_weeks(const struct options *o, struct weeks *wk, struct log *lg)
{
	long first = week_monday(o->today), last = first + 7 * o->weeks - 1;
	char name[ES_NAME_MAX], today[ES_NAME_MAX];
	wk->names = calloc((size_t)o->weeks * 2 + 1, sizeof(*wk->names));
	if (wk->names == NULL)
		log_die(lg, EX_SOFTWARE, "out of memory");
	wk->n = 0;
	wk->current = 0;
	week_name(o, o->today, today);
	for (long d = first; d <= last; d++) {
		week_name(o, d, name);
		if (wk->n > 0 && strcmp(wk->names[wk->n - 1], name) == 0)
			continue;
		memcpy(wk->names[wk->n], name, sizeof(name));
		if (strcmp(name, today) == 0)
			wk->current = wk->n;
		wk->n++;
	}
}

/* find_index_settings: the shipped socorro_crash.json, found like socorro.ini. */
static void
find_index_settings(struct log *lg, char *out, size_t n)
{
	char real[PATH_MAX];
	static const char sys[] = "/etc/socorro/elasticsearch/socorro_crash.json";
	static const char *const beside[] = {
		"../share/socorro-bootstrap/elasticsearch/socorro_crash.json",
		"../etc/elasticsearch/socorro_crash.json",
	};
	char exe[PATH_MAX], path[PATH_MAX];
	if (access(sys, R_OK) == 0 && str_copy(out, n, sys) == 0)
		return;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		const char *bindir = dirname(exe);
		for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++)
			if (str_fmt(path, sizeof(path), "%s/%s", bindir, beside[i]) == 0 &&
			    realpath(path, real) != NULL && access(real, R_OK) == 0 &&
			    str_copy(out, n, real) == 0)
				return;
	}
	log_die(lg, EX_NOINPUT, "no index settings: give --index-settings FILE (looked for %s "
	    "and elasticsearch/socorro_crash.json beside the binary)", sys);
}

/* template_name: FILE.json's base name without .json, checked. */
static void
template_name(struct log *lg, const char *path, char out[ES_NAME_MAX])
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (n >= ES_NAME_MAX)
		n = ES_NAME_MAX - 1;
	memcpy(out, base, n);
	out[n] = '\0';
	if (!es_name_ok(out))
		log_die(lg, EX_DATAERR, "%s: the template is named after its file, and \"%s\" is "
		    "not a valid name (lowercase letters, digits, '.', '_', '-')", path, out);
}

/* repo_document: {"type": T, "settings": {k: v}} from the options. */
static json_t *
repo_document(const struct options *o, struct log *lg)
{
	static const char *const secret_keys[] = { "access_key", "secret_key",
		"session_token", NULL };
	json_t *settings = json_object();
	for (int i = 0; i < o->nrepo_settings; i++) {
		const char *kv = o->repo_settings[i], *eq = strchr(kv, '=');
		char key[128];
		if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key))
			usage_error(lg, "--snapshot-setting %s: expected KEY=VALUE", kv);
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		for (int j = 0; secret_keys[j]; j++)
			if (strcmp(key, secret_keys[j]) == 0)
				log_die(lg, EX_USAGE, "--snapshot-setting %s: credentials do not go on "
				    "the command line; put them in the Elasticsearch keystore "
				    "(s3.client.default.%s)", key, key);
		if (json_object_set_new(settings, key, json_string(eq + 1)) == -1)
			usage_error(lg, "--snapshot-setting %s: not UTF-8 text", key);
	}
	const char *needed = strcmp(o->repo_type, "fs") == 0 ? "location" : "bucket";
	if (json_object_get(settings, needed) == NULL)
		log_die(lg, EX_USAGE, "--snapshot-type %s needs --snapshot-setting %s=...",
		    o->repo_type, needed);
	return json_pack("{ssso}", "type", o->repo_type, "settings", settings);
}

static void
trace_sink(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "%s", line);
}

/* report: the KEY=value lines, or the dry-run plan, on stdout. */
static void
report(struct es *es, const struct weeks *wk, struct buf *out)
{
	struct buf list;
	char n[32];
	if (es->dry_run) {
		fwrite(buf_str(es->plan), 1, es->plan->len, stdout);
		return;
	}
	buf_init(&list, 1u << 20);
	for (int i = 0; i < wk->n; i++)
		if (buf_printf(&list, "%s%s", i ? " " : "", wk->names[i]) == -1)
			log_die(es->lg, EX_SOFTWARE, "out of memory");
	str_fmt_clip(n, sizeof(n), "%d", es->changes);
	if (sh_assign(out, "ES_VERSION", es->version) == -1 ||
	    sh_assign(out, "CURRENT_INDEX", wk->n ? wk->names[wk->current] : "") == -1 ||
	    sh_assign(out, "INDICES", buf_str(&list)) == -1 ||
	    sh_assign(out, "CHANGES", n) == -1)
		log_die(es->lg, EX_SOFTWARE, "out of memory");
	buf_free(&list);
	fwrite(buf_str(out), 1, out->len, stdout);
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o = { 0 };
	struct es es = { 0 };
	struct buf pw, token, plan, out;
	struct weeks wk = { 0 };
	json_t *tmpls[MAX_TEMPLATES], *body = NULL, *repo = NULL;
	char names[MAX_TEMPLATES][ES_NAME_MAX], settings_path[PATH_MAX];

	log_init(&lg, "setup-es", stderr);
	parse_args(argc, argv, &o, &lg);
	es.lg = &lg;
	set_url(&es, o.url);
	buf_init(&pw, 4096);
	buf_init(&token, 8192);
	set_credentials(&es, &o, &pw, &token);

	/* Every input is read and checked before the first request. */
	if (o.repo != NULL)
		repo = repo_document(&o, &lg);
	for (int i = 0; i < o.ntemplates; i++) {
		template_name(&lg, o.templates[i], names[i]);
		tmpls[i] = tmpl_from_file(&lg, o.templates[i], doc_load(&lg, o.templates[i]));
	}
	if (o.weeks > 0) {
		if (o.index_settings == NULL)
			find_index_settings(&lg, settings_path, sizeof(settings_path));
		else
			str_fmt_clip(settings_path, sizeof(settings_path), "%s", o.index_settings);
		body = index_body(&lg, settings_path, o.shards);
		log_debug(&lg, "new indices get %s", settings_path);
	}
	plan_weeks(&o, &wk, &lg);

	if (http_client_init(&es.http) != 0)
		log_die(&lg, EX_SOFTWARE, "cannot initialize libcurl");
	es.http.ca_file = o.cacert;
	if (lg.verbosity >= 2) {
		es.http.trace = trace_sink;
		es.http.trace_ctx = &lg;
	}
	es.dry_run = o.common.dry_run;
	buf_init(&plan, 64u << 20);
	es.plan = &plan;

	es_detect_version(&es);
	es_wait_health(&es, "yellow", o.wait_s);
	for (int i = 0; i < o.ntemplates; i++)
		step_template(&es, o.templates[i], names[i], tmpls[i]);
	for (int i = 0; i < wk.n; i++)
		step_index(&es, wk.names[i], body);
	if (o.alias != NULL)
		step_alias(&es, o.alias, wk.names[wk.current]);
	if (repo != NULL)
		step_snapshot_repo(&es, o.repo, repo);

	if (es.changes == 0)
		log_info(&lg, "nothing to change: %s already as asked", es.base);
	else
		log_info(&lg, "%s %d change%s to %s", es.dry_run ? "dry run: would make" : "made",
		    es.changes, es.changes == 1 ? "" : "s", es.base);
	buf_init(&out, 4u << 20);
	report(&es, &wk, &out);

	http_client_free(&es.http);
	for (int i = 0; i < o.ntemplates; i++)
		json_decref(tmpls[i]);
	json_decref(body);
	json_decref(repo);
	free(wk.names);
	buf_free(&plan);
	buf_free(&out);
	log_forget_secrets(&lg);
	buf_wipe(&pw);
	buf_wipe(&token);
	secure_wipe(es.auth, sizeof(es.auth));
	return log_finish_stdout(&lg, EX_OK);
}
