/*
 * setup-postgres: make a PostgreSQL server ready for Socorro: login
 * roles, the breakpad database, its extensions, its schema (versioned
 * migrations) and this and the next weeks' partitions.  Idempotent: a
 * re-run on a set-up server changes nothing and says so.
 *
 * It replaces `setup-socorro.sh postgres` and `admin` (Python and psql,
 * which printed WARN and exited 0 when they failed).  It speaks the
 * PostgreSQL protocol itself (libcommon/pg_*), so it runs from a fresh VM
 * or a build box with neither libpq nor psql, against a local server or
 * RDS.
 *
 *	PGPASSWORD=... PG_RW_PASSWORD=... setup-postgres -d 'postgres://admin@db:5432/postgres'
 *	setup-postgres --dry-run                  # the statements it would run
 *
 * usage: setup-postgres [-qv] [--dry-run] [--json] [-c FILE] [--env NAME]
 *                       [-d CONNINFO] [--database NAME]
 *                       [--rw-role NAME] [--ro-role NAME]
 *                       [--rw-password-file FILE] [--ro-password-file FILE]
 *                       [--reset-passwords] [--migrations DIR] [--allow-changed]
 *                       [--extension NAME]... [--weeks N] [--start DATE]
 *                       [--no-partitions]
 *
 *   -d, --dbconn CONNINFO  the admin connection: a postgres:// URI or a
 *                          keyword string; unset parts come from PGHOST
 *                          PGPORT PGUSER PGDATABASE PGSSLMODE PGSSLROOTCERT
 *                          PGCONNECT_TIMEOUT, then from postgres_url in the
 *                          --env section of socorro.ini.  Its database is
 *                          the one connected to first (default postgres).
 *                          Never a password here: PGPASSWORD or ~/.pgpass
 *   --env NAME             read postgres_url from [env:NAME] of socorro.ini
 *   -c, --config FILE      socorro.ini (see identify-role(1))
 *   --database NAME        database to create and migrate (breakpad)
 *   --rw-role NAME         owner role (breakpad_rw)
 *   --ro-role NAME         read-only role (breakpad_ro)
 *   --rw-password-file FILE, --ro-password-file FILE
 *                          the roles' passwords (first line); else
 *                          PG_RW_PASSWORD and PG_RO_PASSWORD
 *   --reset-passwords      set the passwords of roles that exist (default:
 *                          an existing role keeps its password)
 *   --migrations DIR       NNNN_name.sql files (default: the shipped
 *                          etc/postgres/migrations)
 *   --allow-changed        go on when an applied migration's file changed
 *   --extension NAME       extension to create when available (citext);
 *                          repeat for more, "none" for none
 *   --weeks N              partitions for this week and the next N (2)
 *   --start DATE           act as if today were DATE (YYYY-MM-DD, UTC)
 *   --no-partitions        skip the weekly partitions
 *   --dry-run              print the statements, with passwords shown as
 *                          <redacted>, and change nothing
 *   --json                 the summary as one JSON object
 *   -v, -q, -h, -V         more detail (-vv: protocol trace), quiet, help,
 *                          version
 *
 * Passwords are sent as SCRAM-SHA-256 verifiers computed here, as psql's
 * \password does: the clear text never reaches the server, its logs or
 * pg_stat_statements.
 *
 * Output: KEY=value lines, eval-safe: DATABASE, SCHEMA_VERSION (the
 * highest migration applied), CHANGES (how many changes this run made);
 * with --dry-run, the statements instead.
 *
 * Exit status: 0 done (also: nothing to change); 64 usage; 65 a bad or
 * changed migration, or a statement the server refused (file:line and
 * SQLSTATE given); 66 a password file or the migrations directory
 * missing; 69 the server unreachable, starting up (57P03) or full (53300)
 * after the tries, the connection lost, or a malformed answer; 75 no
 * answer within connect_timeout on every try; 77
 * authentication refused (wrong password, TLS certificate refused,
 * permission denied); 78 bad connection settings or configuration.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "exits.h"
#include "setup-postgres.h"
#include "shquote.h"
#include "week.h"

static const char usage_text[] =
    "usage: setup-postgres [-qv] [--dry-run] [--json] [-c FILE] [--env NAME]\n"
    "                      [-d CONNINFO] [--database NAME]\n"
    "                      [--rw-role NAME] [--ro-role NAME]\n"
    "                      [--rw-password-file FILE] [--ro-password-file FILE]\n"
    "                      [--reset-passwords] [--migrations DIR] [--allow-changed]\n"
    "                      [--extension NAME]... [--weeks N] [--start DATE]\n"
    "                      [--no-partitions]\n"
    "\n"
    "  -d, --dbconn CONNINFO  admin connection (postgres:// URI or keywords; no password:\n"
    "                         use PGPASSWORD or ~/.pgpass); PG* variables fill the rest\n"
    "  --env NAME             take postgres_url from [env:NAME] in socorro.ini\n"
    "  -c, --config FILE      socorro.ini\n"
    "  --database NAME        database to create and migrate (breakpad)\n"
    "  --rw-role NAME         owner role (breakpad_rw)\n"
    "  --ro-role NAME         read-only role (breakpad_ro)\n"
    "  --rw-password-file FILE, --ro-password-file FILE\n"
    "                         role passwords (else PG_RW_PASSWORD, PG_RO_PASSWORD)\n"
    "  --reset-passwords      also set the passwords of existing roles\n"
    "  --migrations DIR       NNNN_name.sql files (default: shipped migrations)\n"
    "  --allow-changed        go on when an applied migration's file changed\n"
    "  --extension NAME       extension to create when available (citext); \"none\"\n"
    "  --weeks N              partitions for this week and the next N (2)\n"
    "  --start DATE           act as if today were DATE (YYYY-MM-DD, UTC)\n"
    "  --no-partitions        skip the weekly partitions\n"
    "  --dry-run              print the statements (passwords redacted), change nothing\n"
    "  --json                 summary as one JSON object\n"
    "  -v, --verbose          more detail (-vv: protocol trace)\n"
    "  -q, --quiet            only errors on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          version and linked libraries\n";

static const char *const linked_libs[] = { "bearssl", "jansson", "libinih", NULL };

enum {
	OPT_ENV = CLI_FIRST_PRIVATE, OPT_DATABASE, OPT_RW_ROLE, OPT_RO_ROLE, OPT_RW_PWFILE,
	OPT_RO_PWFILE, OPT_RESET, OPT_MIGRATIONS, OPT_ALLOW_CHANGED, OPT_EXTENSION, OPT_WEEKS,
	OPT_START, OPT_NO_PARTITIONS
};

struct options {
	struct cli_common common;
	const char *dbconn, *env, *rw_pwfile, *ro_pwfile, *start;
};

static void
take_option(struct run *r, struct options *o, int c, const char *arg)
{
	long n;
	switch (c) {
	case 'd': o->dbconn = arg; break;
	case OPT_ENV: o->env = arg; break;
	case OPT_DATABASE: r->database = arg; break;
	case OPT_RW_ROLE: r->rw_role = arg; break;
	case OPT_RO_ROLE: r->ro_role = arg; break;
	case OPT_RW_PWFILE: o->rw_pwfile = arg; break;
	case OPT_RO_PWFILE: o->ro_pwfile = arg; break;
	case OPT_RESET: r->reset_passwords = true; break;
	case OPT_MIGRATIONS: r->migrations_dir = arg; break;
	case OPT_ALLOW_CHANGED: r->allow_changed = true; break;
	case OPT_NO_PARTITIONS: r->no_partitions = true; break;
	case OPT_START: o->start = arg; break;
	case OPT_EXTENSION:
		if (strcmp(arg, "none") == 0)
			r->nextensions = 0;
		else if (r->nextensions < SP_MAX_EXTENSIONS)
			r->extensions[r->nextensions++] = arg;
		break;
	case OPT_WEEKS:
		if (str_to_long(arg, 0, 520, &n) == -1)
			cli_exit_usage(r->lg, usage_text, "--weeks: give a number of weeks from 0 to 520");
		r->weeks = (int)n;
		break;
	default:
		cli_exit_usage(r->lg, usage_text, NULL);
	}
}

static void
parse_args(int argc, char **argv, struct options *o, struct run *r)
{
	static const struct option longopts[] = { CLI_OPT_HELP, CLI_OPT_VERSION,
		CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_CONFIG, CLI_OPT_DRY_RUN, CLI_OPT_JSON,
		{ "dbconn", required_argument, NULL, 'd' },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "rw-role", required_argument, NULL, OPT_RW_ROLE },
		{ "ro-role", required_argument, NULL, OPT_RO_ROLE },
		{ "rw-password-file", required_argument, NULL, OPT_RW_PWFILE },
		{ "ro-password-file", required_argument, NULL, OPT_RO_PWFILE },
		{ "reset-passwords", no_argument, NULL, OPT_RESET },
		{ "migrations", required_argument, NULL, OPT_MIGRATIONS },
		{ "allow-changed", no_argument, NULL, OPT_ALLOW_CHANGED },
		{ "extension", required_argument, NULL, OPT_EXTENSION },
		{ "weeks", required_argument, NULL, OPT_WEEKS },
		{ "start", required_argument, NULL, OPT_START },
		{ "no-partitions", no_argument, NULL, OPT_NO_PARTITIONS }, CLI_OPT_END };
	int c;
	cli_common_init(&o->common);
	while ((c = getopt_long(argc, argv, "hVvqc:d:", longopts, NULL)) != -1)
		if (!cli_common_option(&o->common, c, optarg))
			take_option(r, o, c, optarg);
	r->lg->verbosity = o->common.verbosity;
	cli_exit_if_help(r->lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		cli_exit_usage(r->lg, usage_text, "unexpected argument; setup-postgres takes options only");
	r->dry_run = o->common.dry_run;
	r->json = o->common.json;
	if (o->start != NULL && week_parse_date(o->start, &r->start_day) == -1)
		cli_exit_usage(r->lg, usage_text, "--start: give a date as YYYY-MM-DD");
}

/* read_secret reads the first line of a password file, or an env var. */
static const char *
read_secret(struct run *r, const char *file, const char *var, char *dst, size_t dstsz)
{
	if (file != NULL) {
		FILE *fp = fopen(file, "re");
		if (fp == NULL)
			log_die(r->lg, EX_NOINPUT, "cannot read password file %s: %s", file,
			    strerror(errno));
		if (fgets(dst, (int)dstsz, fp) == NULL)
			dst[0] = '\0';
		fclose(fp);
		dst[strcspn(dst, "\r\n")] = '\0';
		if (dst[0] == '\0')
			log_die(r->lg, EX_DATAERR, "%s:1: no password on the first line", file);
	} else {
		const char *v = getenv(var);
		if (v == NULL || *v == '\0')
			return NULL;
		if (str_copy(dst, dstsz, v) == -1)
			log_die(r->lg, EX_DATAERR, "%s: password too long", var);
	}
	log_add_secret(r->lg, dst);
	return dst;
}

/* settings: flags, then the environment, then socorro.ini, then defaults. */
static void
settings(struct run *r, const struct options *o)
{
	char err[PG_CI_ERR_MAX], warn[PG_CI_ERR_MAX] = "";
	struct pg_conninfo from_config;
	pg_conninfo_init(&r->admin);
	pg_conninfo_init(&from_config);
	if (o->dbconn != NULL && pg_conninfo_parse(&r->admin, o->dbconn, err, sizeof(err)) == -1)
		log_die(r->lg, EX_USAGE, "-d: %s", err);
	if (pg_conninfo_get(&r->admin, PG_CI_PASSWORD) != NULL)
		log_die(r->lg, EX_USAGE, "-d: a password on the command line is visible to every "
		    "user of this machine; use PGPASSWORD or ~/.pgpass");
	if (pg_conninfo_env(&r->admin, (pg_getenv_fn)getenv, err, sizeof(err)) == -1)
		log_die(r->lg, EX_CONFIG, "%s", err);
	if (o->env != NULL || o->common.config != NULL) {
		static struct config cfg;
		char path[CFG_PATH_MAX];
		const char *source, *url;
		if (config_find(o->common.config, path, sizeof(path), &source) == -1)
			log_die(r->lg, EX_CONFIG, "no configuration found: give --config FILE");
		int rc = config_load(&cfg, path);
		if (rc != 0)
			log_die(r->lg, rc, "%s", cfg.error);
		if (o->env != NULL && !config_has_env(&cfg, o->env))
			log_die(r->lg, EX_CONFIG, "--env %s: no [env:%s] in %s", o->env, o->env, path);
		url = o->env ? config_env_value(&cfg, o->env, "postgres_url") : NULL;
		if (url != NULL && pg_conninfo_parse(&from_config, url, err, sizeof(err)) == -1)
			log_die(r->lg, EX_CONFIG, "%s: [env:%s] postgres_url: %s", path, o->env, err);
		if (pg_conninfo_get(&from_config, PG_CI_PASSWORD) != NULL)
			log_die(r->lg, EX_CONFIG, "%s: [env:%s] postgres_url holds a password; keep "
			    "it in PGPASSWORD or ~/.pgpass", path, o->env);
		config_free(&cfg);
		pg_conninfo_fill(&r->admin, &from_config);
	}
	if (pg_conninfo_get(&r->admin, PG_CI_DBNAME) == NULL)
		pg_conninfo_set(&r->admin, "dbname", "postgres", err, sizeof(err));
	if (pg_conninfo_finish(&r->admin, (pg_getenv_fn)getenv, err, sizeof(err)) == -1)
		log_die(r->lg, EX_CONFIG, "%s", err);
	if (pg_conninfo_password(&r->admin, (pg_getenv_fn)getenv, err, sizeof(err), warn,
	    sizeof(warn)) == -1)
		log_die(r->lg, EX_CONFIG, "%s", err);
	if (warn[0])
		log_warn(r->lg, "%s", warn);
	log_add_secret(r->lg, pg_conninfo_get(&r->admin, PG_CI_PASSWORD));
}

/* find_migrations: the flag, else the shipped directory (installed or
 * beside the binary in a checkout). */
static void
find_migrations(struct run *r, char *out, size_t outsz)
{
	static const char *const beside[] = { "../share/socorro-bootstrap/postgres/migrations",
		"../etc/postgres/migrations", NULL };
	char exe[PATH_MAX], path[PATH_MAX];
	if (r->migrations_dir != NULL)
		return;
	if (access("/etc/socorro/postgres/migrations", R_OK) == 0 &&
	    str_copy(out, outsz, "/etc/socorro/postgres/migrations") == 0) {
		r->migrations_dir = out;
		return;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		const char *bindir = dirname(exe);
		for (int i = 0; beside[i] != NULL; i++)
			if (str_fmt(path, sizeof(path), "%s/%s", bindir, beside[i]) == 0 &&
			    realpath(path, out) != NULL && access(out, R_OK) == 0) {
				r->migrations_dir = out;
				return;
			}
	}
	log_die(r->lg, EX_NOINPUT, "no migrations directory found: give --migrations DIR "
	    "(looked in /etc/socorro/postgres/migrations and beside the binary)");
}

static void
check_names(struct run *r)
{
	const char *names[] = { r->database, r->rw_role, r->ro_role };
	for (int i = 0; i < 3; i++)
		if (names[i][0] == '\0' || strlen(names[i]) > 63)
			cli_exit_usage(r->lg, usage_text, "database and role names must be 1 to 63 bytes");
	if (strcmp(r->rw_role, r->ro_role) == 0)
		cli_exit_usage(r->lg, usage_text, "--rw-role and --ro-role must differ");
	if (r->rw_password == NULL)
		log_info(r->lg, "no password for %s (PG_RW_PASSWORD or --rw-password-file): a new "
		    "role gets none and logs in only where pg_hba.conf trusts it", r->rw_role);
}

static void
summary(struct run *r)
{
	if (r->dry_run) {
		if (r->nchanges == 0)
			log_info(r->lg, "nothing to change");
		return;
	}
	char v[32];
	str_fmt_clip(v, sizeof(v), "%ld", r->schema_version);
	if (r->json) {
		json_t *o = json_pack("{s:s, s:I, s:i, s:O}", "database", r->database,
		    "schema_version", (json_int_t)r->schema_version, "changes", r->nchanges,
		    "changed", r->changes);
		char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (s == NULL || buf_puts(&r->out, s) == -1 || buf_putc(&r->out, '\n') == -1)
			log_die(r->lg, EX_SOFTWARE, "out of memory");
		free(s);
		json_decref(o);
	} else if (sh_assign(&r->out, "DATABASE", r->database) == -1 ||
	    sh_assign(&r->out, "SCHEMA_VERSION", v) == -1 ||
	    buf_printf(&r->out, "CHANGES=%d\n", r->nchanges) == -1) {
		log_die(r->lg, EX_SOFTWARE, "out of memory");
	}
	if (r->nchanges == 0)
		log_info(r->lg, "nothing to change: %s is set up (schema version %ld)", r->database,
		    r->schema_version);
	else
		log_info(r->lg, "done: %d change%s", r->nchanges, r->nchanges == 1 ? "" : "s");
}

int
main(int argc, char **argv)
{
	static char rw_pw[1024], ro_pw[1024], migdir[PATH_MAX];
	struct log lg;
	struct options o = { .dbconn = NULL };
	struct run r = { .lg = &lg, .database = "breakpad", .rw_role = "breakpad_rw",
		.ro_role = "breakpad_ro", .weeks = 2, .extensions = { "citext" },
		.nextensions = 1 };
	struct pg_conn admin, db;

	log_init(&lg, "setup-postgres", stderr);
	r.start_day = (long)(time(NULL) / 86400);
	parse_args(argc, argv, &o, &r);
	r.rw_password = read_secret(&r, o.rw_pwfile, "PG_RW_PASSWORD", rw_pw, sizeof(rw_pw));
	r.ro_password = read_secret(&r, o.ro_pwfile, "PG_RO_PASSWORD", ro_pw, sizeof(ro_pw));
	check_names(&r);
	settings(&r, &o);
	find_migrations(&r, migdir, sizeof(migdir));
	load_migrations(&r);
	buf_init(&r.out, 64u << 20);
	r.changes = json_array();

	/* On the server: roles and the database from the admin database,
	 * the rest inside the new database, under one advisory lock. */
	connect_to(&r, &admin, pg_conninfo_get(&r.admin, PG_CI_DBNAME));
	take_lock(&r);
	ensure_roles(&r);
	ensure_membership(&r);
	ensure_database(&r);
	if (!r.dry_run || r.db_exists) {
		connect_to(&r, &db, r.database);
		take_lock(&r);
		ensure_extensions(&r);
		apply_migrations(&r);
		if (!r.no_partitions)
			ensure_partitions(&r);
		pg_close(&db);
	} else {
		plan_note(&r, "database %s does not exist yet: then every migration runs, and "
		    "the partitions its report_partition_info rows ask for are made", r.database);
		r.schema_version = r.nmig ? r.mig[r.nmig - 1].version : 0;
	}
	pg_close(&admin);
	summary(&r);

	fwrite(r.out.data ? r.out.data : "", 1, r.out.len, stdout);
	buf_free(&r.out);
	json_decref(r.changes);
	free_migrations(&r);
	pg_conninfo_wipe(&r.admin);
	secure_wipe(rw_pw, sizeof(rw_pw));
	secure_wipe(ro_pw, sizeof(ro_pw));
	return log_finish_stdout(&lg, EX_OK);
}
