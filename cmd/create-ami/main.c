/*
 * create-ami: build an AMI from a source AMI and a provisioning script,
 * tag it, and never leave a builder behind; or find an AMI by tag.
 *
 * It replaces `packer build` + grepping the AMI id out of Packer's log +
 * `aws ec2 create-tags`, and fixes their worst fault: a failed or
 * interrupted build left its builder instance running.  No SSH and no
 * Packer: the builder boots with the provisioning script wrapped in user
 * data that reports its exit status on the console and powers the
 * machine off; create-ami waits for the stop, reads the status with
 * GetConsoleOutput, images the instance, and terminates it.  After
 * RunInstances, every way out (failure, timeout, SIGINT, SIGTERM, SIGHUP)
 * terminates the builder and deregisters an unfinished image first.
 *
 * usage: create-ami [-qv] [--region R] [--profile P] --source-ami ID
 *            --instance-type T --user-data FILE --name TEMPLATE
 *            [--tag KEY=VALUE]... [--subnet ID] [--security-group ID]...
 *            [--iam-profile NAME] [--key-name NAME] [--timeout DURATION]
 *            [--force] [--dry-run]
 *        create-ami [-qv] [--region R] --find KEY=VALUE
 *        create-ami [-qv] [--region R] --reap [--older-than DURATION] [--dry-run]
 *
 * The name template may use {time} (UTC YYYYmmddHHMM), {date} (YYYYmmdd)
 * and {tag:KEY} (the value of --tag KEY=...).  The tags go on the image
 * and its snapshots (plus Name, unless given).  If a --tag apphash=X is
 * given and an available AMI of this account already carries it, that AMI
 * is printed and nothing is built (--force builds anyway).
 *
 * stdout: the AMI id and nothing else (--reap: the builders terminated).
 * Exit status: 0 done; 64 usage; 65 the provisioning script failed (its
 * console tail is shown) or bad input; 66 --find found nothing or the
 * user-data file is missing; 69 AWS unreachable, refusing after
 * retries or answering nonsense; 75 timeout; 77 credentials refused; 78
 * no region/credentials; 128+N killed by signal N (after cleaning up).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_query.h"
#include "cli.h"
#include "create-ami.h"
#include "duration.h"
#include "exits.h"
#include "http.h"
#include "log.h"

static const char usage_text[] =
    "usage: create-ami [-qv] [--region R] [--profile P] --source-ami ID\n"
    "           --instance-type T --user-data FILE --name TEMPLATE\n"
    "           [--tag KEY=VALUE]... [--subnet ID] [--security-group ID]...\n"
    "           [--iam-profile NAME] [--key-name NAME] [--timeout DURATION]\n"
    "           [--force] [--dry-run]\n"
    "       create-ami [-qv] [--region R] [--profile P] --find KEY=VALUE\n"
    "       create-ami [-qv] [--region R] [--profile P] --reap [--older-than DURATION] [--dry-run]\n"
    "\n"
    "  --source-ami ID        the AMI the builder boots from\n"
    "  --instance-type T      builder instance type (e.g. t3.medium)\n"
    "  --user-data FILE       the provisioning script\n"
    "  --name TEMPLATE        AMI name; {time} {date} {tag:KEY} are filled in\n"
    "  --tag KEY=VALUE        tag for the image and its snapshots (repeatable)\n"
    "  --subnet ID, --security-group ID, --iam-profile NAME, --key-name NAME\n"
    "                         where and how the builder runs\n"
    "  --timeout DURATION     give up after this long (default 45m)\n"
    "  --force                build even if an AMI with this apphash exists\n"
    "  --find KEY=VALUE       print the newest available AMI with this tag\n"
    "  --reap                 terminate builders left by killed runs\n"
    "  --older-than DURATION  --reap: by launch time instead of their expiry tag\n"
    "  --dry-run              print the plan, change nothing\n"
    "  --region R, --profile P  AWS region and shared-credentials profile\n"
    "  -v, --verbose          more detail (the builder's console with -v)\n"
    "  -q, --quiet            only errors\n"
    "  -h, --help, -V, --version\n";

static const char *const linked_libs[] = { "curl", "bearssl", "expat", "jansson", "libinih", NULL };

/* Set by the signal handler, read by the wait loops: main owns it. */
static volatile sig_atomic_t caught_signal;

static void
on_signal(int sig)
{
	caught_signal = sig;
}

enum {
	OPT_SOURCE = CLI_FIRST_PRIVATE, OPT_TYPE, OPT_USERDATA, OPT_NAME, OPT_TAG, OPT_SUBNET,
	OPT_GROUP, OPT_PROFILE_IAM, OPT_KEYNAME, OPT_TIMEOUT, OPT_FORCE, OPT_FIND, OPT_REAP,
	OPT_OLDER, OPT_REGION, OPT_PROFILE
};

struct options {
	struct cli_common common;
	struct build_options build;
	const char *find;
	bool reap;
	long older_than; /* -1: use the expiry tags */
	const char *region, *profile;
};

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_DRY_RUN,
		{ "source-ami", required_argument, NULL, OPT_SOURCE },
		{ "instance-type", required_argument, NULL, OPT_TYPE },
		{ "user-data", required_argument, NULL, OPT_USERDATA },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "security-group", required_argument, NULL, OPT_GROUP },
		{ "iam-profile", required_argument, NULL, OPT_PROFILE_IAM },
		{ "key-name", required_argument, NULL, OPT_KEYNAME },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "find", required_argument, NULL, OPT_FIND },
		{ "reap", no_argument, NULL, OPT_REAP },
		{ "older-than", required_argument, NULL, OPT_OLDER },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		CLI_OPT_END
	};
	struct build_options *b = &o->build;
	int c;
	cli_common_init(&o->common);
	b->timeout = 45 * 60;
	o->older_than = -1;
	while ((c = getopt_long(argc, argv, "hVvq", longopts, NULL)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		switch (c) {
		case OPT_SOURCE: b->source_ami = optarg; break;
		case OPT_TYPE: b->instance_type = optarg; break;
		case OPT_USERDATA: b->user_data_file = optarg; break;
		case OPT_NAME: b->name_template = optarg; break;
		case OPT_SUBNET: b->subnet = optarg; break;
		case OPT_PROFILE_IAM: b->iam_profile = optarg; break;
		case OPT_KEYNAME: b->key_name = optarg; break;
		case OPT_FORCE: b->force = true; break;
		case OPT_FIND: o->find = optarg; break;
		case OPT_REAP: o->reap = true; break;
		case OPT_REGION: o->region = optarg; break;
		case OPT_PROFILE: o->profile = optarg; break;
		case OPT_TAG:
			if (b->ntags == MAX_TAGS || tag_parse(optarg, &b->tags[b->ntags]) == -1)
				cli_exit_usage(lg, usage_text, "--tag wants KEY=VALUE (at most 40 tags)");
			b->ntags++;
			break;
		case OPT_GROUP:
			if (b->ngroups == MAX_GROUPS)
				cli_exit_usage(lg, usage_text, "at most 16 --security-group");
			b->groups[b->ngroups++] = optarg;
			break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &b->timeout) == -1 || b->timeout == 0)
				cli_exit_usage(lg, usage_text, "--timeout wants a duration such as 45m or 1h30m");
			break;
		case OPT_OLDER:
			if (duration_parse(optarg, &o->older_than) == -1)
				cli_exit_usage(lg, usage_text, "--older-than wants a duration such as 2h");
			break;
		default:
			cli_exit_usage(lg, usage_text, NULL);
		}
	}
	lg->verbosity = o->common.verbosity;
	b->dry_run = o->common.dry_run;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		cli_exit_usage(lg, usage_text, "unexpected argument");
	if (o->find && o->reap)
		cli_exit_usage(lg, usage_text, "--find and --reap do not mix");
	if (!o->find && !o->reap &&
	    !(b->source_ami && b->instance_type && b->user_data_file && b->name_template))
		cli_exit_usage(lg, usage_text, "a build needs --source-ami, --instance-type, --user-data and --name");
}

/* expand_name fills the name template; 0 or -1 with a message logged. */
static int
expand_name(struct log *lg, const struct build_options *b, char *out, size_t size)
{
	struct buf name;
	buf_init(&name, 128);
	time_t now = time(NULL);
	char stamp[16];
	int r = 0;
	for (const char *p = b->name_template; *p && r == 0;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (close == NULL) {
			r = buf_putc(&name, *p++);
			continue;
		}
		size_t n = (size_t)(close - p - 1);
		const char *v = NULL;
		if (n == 4 && strncmp(p + 1, "time", 4) == 0) {
			strftime(stamp, sizeof(stamp), "%Y%m%d%H%M", gmtime(&now));
			v = stamp;
		} else if (n == 4 && strncmp(p + 1, "date", 4) == 0) {
			strftime(stamp, sizeof(stamp), "%Y%m%d", gmtime(&now));
			v = stamp;
		} else if (n > 4 && strncmp(p + 1, "tag:", 4) == 0) {
			for (int i = 0; i < b->ntags && v == NULL; i++) {
				const char *k = b->tags[i].key;
				if (strlen(k) == n - 4 && strncmp(k, p + 5, n - 4) == 0)
					v = b->tags[i].value;
			}
		}
		if (v == NULL) {
			log_error(lg, "--name %s: {%.*s} is not {time}, {date} or {tag:KEY} of a --tag",
			    b->name_template, (int)n, p + 1);
			buf_free(&name);
			return -1;
		}
		r = buf_puts(&name, v);
		p = close + 1;
	}
	/* EC2's rule for AMI names: 3 to 128 of these characters. */
	size_t len = name.len;
	bool ok = r == 0 && len >= 3 && len <= 128 &&
	    strspn(buf_str(&name), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789()[] ./-'@_") == len;
	if (!ok)
		log_error(lg, "AMI name \"%s\": EC2 wants 3-128 letters, digits, spaces or ()[]./-'@_",
		    buf_str(&name));
	else
		str_copy(out, size, buf_str(&name));
	buf_free(&name);
	return ok ? 0 : -1;
}

static int
read_user_data(struct log *lg, const char *path, struct buf *wrapped)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		log_die(lg, errno == ENOENT ? EX_NOINPUT : EX_NOINPUT, "--user-data %s: %s", path,
		    strerror(errno));
	struct buf script;
	buf_init(&script, 64 * 1024);
	char chunk[4096];
	size_t n;
	int r = 0;
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = buf_append(&script, chunk, n);
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		log_die(lg, EX_IOERR, "--user-data %s: read error", path);
	if (r == -1)
		log_die(lg, EX_DATAERR, "--user-data %s: larger than EC2's 16 KiB user data limit", path);
	char err[300];
	r = userdata_wrap(script.data ? script.data : "", script.len, wrapped, err, sizeof(err));
	buf_free(&script);
	if (r != 0)
		log_die(lg, r, "--user-data %s: %s", path, err);
	return 0;
}

static void
print_plan(struct log *lg, const struct build_options *b, const char *name, size_t udlen)
{
	log_info(lg, "dry run: nothing will be started or created");
	log_info(lg, "would run a %s builder from %s with %zu bytes of wrapped user data%s%s",
	    b->instance_type, b->source_ami, udlen, b->subnet ? " in subnet " : "",
	    b->subnet ? b->subnet : "");
	log_info(lg, "would wait up to %lds for it to stop, check its console, then image it as \"%s\"",
	    b->timeout, name);
	for (int i = 0; i < b->ntags; i++)
		log_info(lg, "would tag the image and snapshots %s=%s", b->tags[i].key, b->tags[i].value);
	log_info(lg, "would terminate the builder and print the AMI id");
}

/* finish: after cleanup, die of the signal that stopped us, if any. */
static int
finish(struct log *lg, int code)
{
	int sig = caught_signal;
	if (sig == 0)
		return log_finish_stdout(lg, code);
	log_error(lg, "stopped by signal %d after cleaning up", sig);
	signal(sig, SIG_DFL);
	raise(sig);
	return 128 + sig;
}

static int
do_build(struct run *r, struct options *o, struct buf *out)
{
	struct build_options *b = &o->build;
	char name[160];
	struct buf ud;
	buf_init(&ud, 64 * 1024);
	if (expand_name(r->lg, b, name, sizeof(name)) == -1)
		return EX_USAGE;
	read_user_data(r->lg, b->user_data_file, &ud);
	if (b->dry_run) {
		print_plan(r->lg, b, name, ud.len);
		buf_free(&ud);
		return EX_OK;
	}
	for (int i = 0; i < b->ntags && !b->force; i++) {
		if (strcmp(b->tags[i].key, "apphash") != 0)
			continue;
		char id[ID_MAX];
		int rc = images_find(r, "apphash", b->tags[i].value, id, sizeof(id));
		if (rc == 0) {
			log_info(r->lg, "%s already carries apphash=%s; not building (--force to rebuild)", id,
			    b->tags[i].value);
			buf_free(&ud);
			return buf_printf(out, "%s\n", id) == 0 ? EX_OK : EX_SOFTWARE;
		}
		if (rc != EX_NOINPUT) {
			buf_free(&ud);
			return rc;
		}
	}
	/* A taken name would only fail at CreateImage, after the whole build. */
	char taken[ID_MAX];
	int rc = images_find(r, "name", name, taken, sizeof(taken));
	if (rc == 0) {
		log_error(r->lg, "AMI name \"%s\" is already used by %s; choose another --name", name, taken);
		buf_free(&ud);
		return EX_DATAERR;
	}
	if (rc != EX_NOINPUT) {
		buf_free(&ud);
		return rc;
	}
	cli_catch_stop_signals(on_signal);
	rc = build_run(r, b, name, &ud, out);
	buf_free(&ud);
	if (rc != 0 || caught_signal) {
		/* Nothing may interrupt the cleanup: it is what prevents orphans. */
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		if (caught_signal)
			log_error(r->lg, "signal %d: cleaning up before exiting", (int)caught_signal);
		build_cleanup(r);
		buf_reset(out);
		return rc ? rc : EX_TEMPFAIL;
	}
	/* Done: the builder's work is in the image; terminate it. */
	r->image_ready = true;
	build_cleanup(r);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o;
	memset(&o, 0, sizeof(o));
	log_init(&lg, "create-ami", stderr);
	parse_args(argc, argv, &o, &lg);

	struct buf out;
	buf_init(&out, 1u << 20);
	if (o.build.dry_run && !o.find && !o.reap) {
		struct run dry = { .lg = &lg, .signalled = &caught_signal };
		int rc = do_build(&dry, &o, &out);
		return log_finish_stdout(&lg, rc);
	}

	char err[AWS_ERR_MAX];
	struct aws_session session;
	struct http_client http;
	struct aws_query ec2;
	int rc = aws_session_init(&session, o.region, o.profile, err, sizeof(err));
	if (rc != 0)
		log_die(&lg, rc, "%s", err);
	log_add_secret(&lg, session.cred.secret_access_key);
	log_add_secret(&lg, session.cred.session_token);
	log_debug(&lg, "region %s (from %s); credentials from %s", session.region,
	    session.region_source, session.cred.detail);
	if (http_client_init(&http) != 0)
		log_die(&lg, EX_SOFTWARE, "cannot set up HTTP");
	rc = aws_query_init(&ec2, &session, &http, "EC2", "ec2", "ec2", "2016-11-15", err, sizeof(err));
	if (rc != 0)
		log_die(&lg, rc, "%s", err);

	struct run r = { .lg = &lg, .ec2 = &ec2, .signalled = &caught_signal };
	if (o.find) {
		struct tag t;
		char id[ID_MAX];
		if (tag_parse(o.find, &t) == -1)
			cli_exit_usage(&lg, usage_text, "--find wants KEY=VALUE");
		rc = images_find(&r, t.key, t.value, id, sizeof(id));
		if (rc == EX_NOINPUT)
			log_error(&lg, "no available AMI tagged %s in %s", o.find, session.region);
		else if (rc == 0)
			buf_printf(&out, "%s\n", id);
	} else if (o.reap) {
		rc = images_reap(&r, o.older_than, o.common.dry_run, &out);
	} else {
		rc = do_build(&r, &o, &out);
	}
	log_debug(&lg, "%lu EC2 API calls", ec2.calls);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	http_client_free(&http);
	aws_session_free(&session);
	return finish(&lg, rc);
}
