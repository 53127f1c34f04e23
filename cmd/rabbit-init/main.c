/*
 * rabbit-init: set up RabbitMQ for Socorro (a vhost, a user with its
 * password, tags and permissions, and durable queues) through the
 * management HTTP API, from any machine that reaches port 15672.
 *
 * It replaces `rabbitmqctl add_user socorro $PASSWORD` (the password in
 * argv, visible in ps, and the command only works on the broker itself)
 * and `rabbitmqctl set_permissions -p / socorro ".*" ".*" ".*"`.  The
 * user's password is hashed here (rabbit_password_hashing_sha256: base64
 * of salt || SHA-256(salt || password), 4 random bytes of salt), so the
 * clear password never crosses the wire.  An existing user whose stored
 * hash matches the given password is left alone; one whose does not gets
 * the new password, and the run says so.
 *
 * usage: rabbit-init --url URL [--admin-user USER] [--admin-password-file FILE]
 *                    [--user USER] [--password-file FILE] [--vhost VHOST]
 *                    [--configure RE] [--write RE] [--read RE] [--tags TAGS]
 *                    [--queue NAME[:opt=val,...]]... [--no-queues]
 *                    [--wait DURATION] [--cacert FILE] [--dry-run] [--json] [-qv]
 *
 *   --url URL                  the management API, http://HOST:15672
 *   --admin-user USER          (or $RABBITMQ_ADMIN_USER; default guest) an
 *                              administrator
 *   --admin-password-file FILE (or $RABBITMQ_ADMIN_PASSWORD; guest's default
 *                              is guest)
 *   --user USER                the user to set up (default socorro)
 *   --password-file FILE       (or $RABBITMQ_PASSWORD) its password
 *   --vhost VHOST              (default /)
 *   --configure, --write, --read RE   its permissions (default .* each)
 *   --tags TAGS                comma-separated user tags (default none)
 *   --queue NAME[:opt=val,...] a queue to declare, repeatable; replaces the
 *                              default socorro.normal, socorro.priority,
 *                              socorro.reprocessing.  opts: durable=BOOL
 *                              (default true), auto_delete=BOOL (default
 *                              false), type=classic|quorum|stream, x-ARG=V
 *                              (digits are numbers, true/false booleans)
 *   --no-queues                declare no queue
 *   --wait DURATION            wait this long for the broker to come up
 *   --cacert FILE              CA bundle for an https URL
 *   --dry-run                  print the plan, change nothing
 *   --json                     one JSON object per line on stdout
 *
 * Order of work: check the broker (overview, admin is an administrator,
 * no resource alarm, vhosts running; log the cluster's nodes), read the
 * state of every object into a plan, stop on any conflict before
 * changing anything, then create or change what differs.
 *
 * Output: one line per object, "ACTION KIND NAME", ACTION being created,
 * changed or unchanged (with --dry-run: create, change or unchanged),
 * KIND vhost, user, permissions (NAME user@vhost) or queue.  Printed only
 * when the whole run succeeded.
 *
 * Exit status: 0 done (also: nothing to change); 64 usage; 65 a queue
 * exists with other settings (nothing changed), the broker refused a
 * value, or a password is empty; 66 a password file unreadable; 69 the broker unreachable after
 * retries (or --wait), unhealthy, or failing; 75 timed out; 77 admin
 * credentials refused or not an administrator; 78 --url is not a
 * management API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "duration.h"
#include "exits.h"
#include "log.h"
#include "rabbit-init.h"

static const char usage_text[] =
    "usage: rabbit-init --url URL [--admin-user USER] [--admin-password-file FILE]\n"
    "                   [--user USER] [--password-file FILE] [--vhost VHOST]\n"
    "                   [--configure RE] [--write RE] [--read RE] [--tags TAGS]\n"
    "                   [--queue NAME[:opt=val,...]]... [--no-queues]\n"
    "                   [--wait DURATION] [--cacert FILE] [--dry-run] [--json] [-qv]\n"
    "\n"
    "  --url URL                   management API, e.g. http://HOST:15672\n"
    "  --admin-user USER           an administrator (or $RABBITMQ_ADMIN_USER; default guest)\n"
    "  --admin-password-file FILE  its password (or $RABBITMQ_ADMIN_PASSWORD)\n"
    "  --user USER                 the user to set up (default socorro)\n"
    "  --password-file FILE        its password (or $RABBITMQ_PASSWORD)\n"
    "  --vhost VHOST               (default /)\n"
    "  --configure/--write/--read RE  permissions (default .* each)\n"
    "  --tags TAGS                 comma-separated user tags (default none)\n"
    "  --queue NAME[:opt=val,...]  queue to declare, repeatable (default socorro.normal,\n"
    "                              socorro.priority, socorro.reprocessing); opts:\n"
    "                              durable=BOOL auto_delete=BOOL type=TYPE x-ARG=VALUE\n"
    "  --no-queues                 declare no queue\n"
    "  --wait DURATION             wait up to DURATION (90s, 5m) for the broker\n"
    "  --cacert FILE               CA bundle for an https URL\n"
    "  --dry-run                   print the plan, change nothing\n"
    "  --json                      one JSON object per line\n"
    "  -v, --verbose               more detail (-vv: HTTP traces)\n"
    "  -q, --quiet                 only errors on stderr\n"
    "  -h, --help                  this text\n"
    "  -V, --version               version and linked libraries\n";

static const char *const linked_libs[] = { "curl", "bearssl", "jansson", NULL };
static const char *const default_queues[] = { "socorro.normal", "socorro.priority",
	"socorro.reprocessing" };

enum { OPT_URL = CLI_FIRST_PRIVATE, OPT_ADMIN_USER, OPT_ADMIN_PW, OPT_USER, OPT_PW,
	OPT_VHOST, OPT_CONFIGURE, OPT_WRITE, OPT_READ, OPT_TAGS, OPT_QUEUE, OPT_NO_QUEUES,
	OPT_WAIT, OPT_CACERT };

struct options {
	struct cli_common common;
	const char *url, *admin_user, *admin_pw_file, *user, *pw_file, *vhost, *tags, *cacert;
	const char *perm[3];
	const char *queues[RI_MAX_QUEUES];
	size_t nqueues;
	bool no_queues;
	long wait_s;
};

static _Noreturn void
usage_error(struct log *lg, const char *msg, const char *arg)
{
	log_error(lg, "%s%s", msg, arg ? arg : "");
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET,
		CLI_OPT_DRY_RUN, CLI_OPT_JSON,
		{ "url", required_argument, NULL, OPT_URL },
		{ "admin-user", required_argument, NULL, OPT_ADMIN_USER },
		{ "admin-password-file", required_argument, NULL, OPT_ADMIN_PW },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PW },
		{ "vhost", required_argument, NULL, OPT_VHOST },
		{ "configure", required_argument, NULL, OPT_CONFIGURE },
		{ "write", required_argument, NULL, OPT_WRITE },
		{ "read", required_argument, NULL, OPT_READ },
		{ "tags", required_argument, NULL, OPT_TAGS },
		{ "queue", required_argument, NULL, OPT_QUEUE },
		{ "no-queues", no_argument, NULL, OPT_NO_QUEUES },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		CLI_OPT_END
	};
	int c;
	cli_common_init(&o->common);
	o->user = "socorro";
	o->vhost = "/";
	o->tags = "";
	o->perm[0] = o->perm[1] = o->perm[2] = ".*";
	while ((c = getopt_long(argc, argv, "hVvq", longopts, NULL)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		switch (c) {
		case OPT_URL: o->url = optarg; break;
		case OPT_ADMIN_USER: o->admin_user = optarg; break;
		case OPT_ADMIN_PW: o->admin_pw_file = optarg; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_PW: o->pw_file = optarg; break;
		case OPT_VHOST: o->vhost = optarg; break;
		case OPT_CONFIGURE: o->perm[0] = optarg; break;
		case OPT_WRITE: o->perm[1] = optarg; break;
		case OPT_READ: o->perm[2] = optarg; break;
		case OPT_TAGS: o->tags = optarg; break;
		case OPT_NO_QUEUES: o->no_queues = true; break;
		case OPT_CACERT: o->cacert = optarg; break;
		case OPT_QUEUE:
			if (o->nqueues == RI_MAX_QUEUES)
				usage_error(lg, "too many --queue options", NULL);
			o->queues[o->nqueues++] = optarg;
			break;
		case OPT_WAIT:
			if (duration_parse(optarg, &o->wait_s) == -1)
				usage_error(lg, "--wait: not a duration (90s, 5m, 1h): ", optarg);
			break;
		default:
			fputs(usage_text, stderr);
			exit(EX_USAGE);
		}
	}
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		usage_error(lg, "unexpected argument: ", argv[optind]);
	if (o->url == NULL)
		usage_error(lg, "give --url http://HOST:15672 (the management API)", NULL);
	if (o->no_queues && o->nqueues > 0)
		usage_error(lg, "--queue and --no-queues do not mix", NULL);
}

/*
 * read_secret_file reads the password in file: its one line, without the
 * newline.  Read in one go, so no copy is left behind by a growing buffer.
 */
static void
read_secret_file(struct log *lg, const char *file, const char *flag, struct buf *out)
{
	char text[4097];
	FILE *f = fopen(file, "r");
	size_t n;
	if (f == NULL)
		log_die(lg, EX_NOINPUT, "%s %s: cannot open: %s", flag, file, strerror(errno));
	n = fread(text, 1, sizeof(text), f);
	if (ferror(f))
		log_die(lg, EX_NOINPUT, "%s %s: cannot read: %s", flag, file, strerror(errno));
	fclose(f);
	if (n == sizeof(text))
		log_die(lg, EX_DATAERR, "%s %s: longer than a password can be", flag, file);
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0 || memchr(text, '\n', n) != NULL || memchr(text, '\0', n) != NULL)
		log_die(lg, EX_DATAERR, "%s %s: expected one line holding the password", flag,
		    file);
	if (buf_append(out, text, n) == -1)
		log_die(lg, EX_SOFTWARE, "out of memory");
	secure_wipe(text, sizeof(text));
}

/*
 * read_secret reads a password from file or, without a file, from the
 * environment variable env.  Returns 0 (the secret in out, registered with
 * lg so no log line can show it), 1 if neither was given, or exits.
 */
static int
read_secret(struct log *lg, const char *file, const char *env, const char *flag,
    struct buf *out)
{
	const char *value = getenv(env);
	if (file != NULL) {
		read_secret_file(lg, file, flag, out);
	} else if (value != NULL) {
		if (*value == '\0')
			log_die(lg, EX_DATAERR, "$%s is set but empty", env);
		if (strlen(value) > 4096 || buf_puts(out, value) == -1)
			log_die(lg, EX_DATAERR, "$%s: longer than a password can be", env);
	} else {
		return 1;
	}
	log_add_secret(lg, out->data);
	return 0;
}

/* check_text: the broker takes names and patterns as JSON strings. */
static void
check_text(struct log *lg, const char *what, const char *s, bool may_be_empty)
{
	json_t *j = json_string(s);
	if (j == NULL)
		usage_error(lg, what, ": not valid UTF-8");
	json_decref(j);
	if (!may_be_empty && *s == '\0')
		usage_error(lg, what, " is empty");
	if (strlen(s) >= RI_NAME_MAX)
		usage_error(lg, what, " is longer than 255 bytes");
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * wait_healthy runs the health checks; with --wait, again every second
 * while the broker is down or unhealthy (fresh VMs boot in any order),
 * until it answers or the time is up.  Refused credentials never pass
 * with time: they end the wait at once.
 */
static void
wait_healthy(struct broker *b, long wait_s, struct log *lg)
{
	long attempts = b->http.max_attempts, connect_ms = b->http.connect_timeout_ms;
	long timeout_ms = b->http.timeout_ms;
	double start = now_s();
	char left[32];
	int rc;
	if (wait_s > 0) {
		/* One quick attempt per round: the loop does the retrying. */
		b->http.max_attempts = 1;
		b->http.connect_timeout_ms = 2000;
		b->http.timeout_ms = 10000;
	}
	while ((rc = broker_health(b)) != 0) {
		long waited = (long)(now_s() - start);
		if (rc != EX_UNAVAILABLE && rc != EX_TEMPFAIL)
			log_die(lg, rc, "%s", b->error);
		if (wait_s == 0)
			log_die(lg, rc, "%s%s", b->error, b->no_answer ?
			    "; is the broker up? (--wait DURATION waits for it)" : "");
		if (waited >= wait_s) {
			duration_format(wait_s, left);
			log_die(lg, rc, "%s; gave up after waiting %s", b->error, left);
		}
		duration_format(wait_s - waited, left);
		log_progress(lg, "waiting for the broker (%s left): %s", left, b->error);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
	log_progress_end(lg);
	b->http.max_attempts = (int)attempts;
	b->http.connect_timeout_ms = connect_ms;
	b->http.timeout_ms = timeout_ms;
}

static const char *
action_word(enum step_action a, bool dry_run)
{
	switch (a) {
	case ACT_CREATE: return dry_run ? "create" : "created";
	case ACT_CHANGE: return dry_run ? "change" : "changed";
	case ACT_KEEP: return "unchanged";
	case ACT_CONFLICT: return "conflict";
	}
	return "?";
}

/* report formats the plan for stdout and logs a summary. */
static void
report(struct log *lg, const struct plan *p, const char *vhost, const struct options *o,
    struct buf *out)
{
	int n[4] = { 0 };
	for (size_t i = 0; i < p->n; i++) {
		const struct step *s = &p->steps[i];
		const char *act = action_word(s->action, o->common.dry_run);
		n[s->action]++;
		if (o->common.json) {
			json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "action", act,
			    "kind", step_kind_name(s->kind), "name", s->name, "vhost", vhost,
			    "detail", s->what);
			char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
			if (t == NULL || buf_puts(out, t) == -1 || buf_putc(out, '\n') == -1)
				log_die(lg, EX_SOFTWARE, "out of memory formatting output");
			free(t);
			json_decref(j);
		} else if (buf_printf(out, "%s %s %s\n", act, step_kind_name(s->kind),
		    s->name) == -1) {
			log_die(lg, EX_SOFTWARE, "out of memory formatting output");
		}
		if (o->common.dry_run && s->action != ACT_KEEP)
			log_info(lg, "would %s %s %s%s%s", act, step_kind_name(s->kind), s->name,
			    s->what[0] ? ": " : "", s->what);
	}
	if (n[ACT_CREATE] + n[ACT_CHANGE] == 0)
		log_info(lg, "nothing to change: all %zu objects are as asked", p->n);
	else if (o->common.dry_run)
		log_info(lg, "dry run: would create %d, change %d, leave %d; nothing was changed",
		    n[ACT_CREATE], n[ACT_CHANGE], n[ACT_KEEP]);
	else
		log_info(lg, "created %d, changed %d, left %d unchanged", n[ACT_CREATE],
		    n[ACT_CHANGE], n[ACT_KEEP]);
}

/* report_conflicts: one line per conflicting queue; never touch its data. */
static void
report_conflicts(struct log *lg, const struct plan *p, const char *vhost)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action == ACT_CONFLICT)
			log_error(lg, "queue %s in vhost %s exists with other settings (%s); not "
			    "deleting it: change --queue to match, or delete the queue yourself",
			    p->steps[i].name, vhost, p->steps[i].what);
	log_die(lg, EX_DATAERR, "%d conflicting queue%s; nothing was changed", p->conflicts,
	    p->conflicts == 1 ? "" : "s");
}

/*
 * read_passwords: the admin's and the user's, from files or the
 * environment, never from argv.
 */
static void
read_passwords(struct options *o, struct log *lg, struct buf *admin_pw, struct buf *user_pw)
{
	if (o->admin_user == NULL)
		o->admin_user = getenv("RABBITMQ_ADMIN_USER");
	if (o->admin_user == NULL || *o->admin_user == '\0')
		o->admin_user = "guest";
	if (read_secret(lg, o->admin_pw_file, "RABBITMQ_ADMIN_PASSWORD", "--admin-password-file",
	    admin_pw) == 1) {
		if (strcmp(o->admin_user, "guest") != 0)
			usage_error(lg, "give --admin-password-file FILE or set "
			    "RABBITMQ_ADMIN_PASSWORD", NULL);
		/* The broker's built-in account, which it lets in from localhost only. */
		buf_puts(admin_pw, "guest");
		log_debug(lg, "no admin password given: trying guest's default");
	}
	if (read_secret(lg, o->pw_file, "RABBITMQ_PASSWORD", "--password-file", user_pw) == 1)
		usage_error(lg, "give --password-file FILE or set RABBITMQ_PASSWORD", NULL);
}

/* want_from: what to ensure, checked, with the queue specs parsed into queues. */
static struct want
want_from(struct options *o, struct log *lg, const char *password,
    struct queue_spec queues[RI_MAX_QUEUES])
{
	char err[1024];
	check_text(lg, "--user", o->user, false);
	check_text(lg, "--vhost", o->vhost, false);
	check_text(lg, "--tags", o->tags, true);
	for (int i = 0; i < 3; i++)
		check_text(lg, "--configure/--write/--read", o->perm[i], true);
	if (strcmp(o->user, o->admin_user) == 0)
		usage_error(lg, "--user must not be the admin user: its tags would be replaced",
		    NULL);
	if (o->nqueues == 0 && !o->no_queues)
		for (size_t i = 0; i < 3; i++)
			o->queues[o->nqueues++] = default_queues[i];
	for (size_t i = 0; i < o->nqueues; i++) {
		if (queue_parse(o->queues[i], &queues[i], err, sizeof(err)) == -1)
			usage_error(lg, err, NULL);
		check_text(lg, "--queue", queues[i].name, false);
	}
	return (struct want){ .vhost = o->vhost, .user = o->user, .password = password,
		.perm = { o->perm[0], o->perm[1], o->perm[2] }, .tags = o->tags,
		.queues = queues, .nqueues = o->nqueues };
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o = { 0 };
	struct buf admin_pw, user_pw, out;
	struct queue_spec queues[RI_MAX_QUEUES];
	struct want w;
	struct broker b;
	static struct plan plan;
	int rc;

	log_init(&lg, "rabbit-init", stderr);
	parse_args(argc, argv, &o, &lg);
	buf_init(&admin_pw, 4096);
	buf_init(&user_pw, 4096);
	read_passwords(&o, &lg, &admin_pw, &user_pw);
	w = want_from(&o, &lg, user_pw.data, queues);

	if ((rc = broker_init(&b, &lg, o.url, o.admin_user, admin_pw.data, o.cacert)) != 0) {
		if (rc == EX_USAGE)
			usage_error(&lg, b.error, NULL);
		log_die(&lg, rc, "%s", b.error);
	}
	/* Health first: never half-configure a broker that is failing. */
	wait_healthy(&b, o.wait_s, &lg);

	/* Read everything, then change: a conflict stops the run before any change. */
	if ((rc = plan_make(&b, &w, &plan)) != 0)
		log_die(&lg, rc, "%s", b.error);
	if (plan.conflicts > 0)
		report_conflicts(&lg, &plan, o.vhost);
	if (!o.common.dry_run && (rc = plan_apply(&b, &plan)) != 0)
		log_die(&lg, rc, "%s", b.error);

	buf_init(&out, 1u << 20);
	report(&lg, &plan, o.vhost, &o, &out);
	/* All or nothing: a caller reading stdout sees a finished run only. */
	fwrite(out.data ? out.data : "", 1, out.len, stdout);

	buf_free(&out);
	plan_free(&plan);
	for (size_t i = 0; i < o.nqueues; i++)
		json_decref(queues[i].args);
	broker_free(&b);
	log_forget_secrets(&lg);
	buf_wipe(&admin_pw);
	buf_wipe(&user_pw);
	return log_finish_stdout(&lg, EX_OK);
}
