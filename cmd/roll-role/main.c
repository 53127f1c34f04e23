/*
 * roll-role: replace the instances of a role's Auto Scaling group with
 * instances of a new AMI, health-checked, drained, and rolled back when
 * anything goes wrong.
 *
 * It replaces the heart of the original deploy script: dozens of `aws`
 * CLI calls with fixed sleeps (60 s polls, 15 tries, 30 s drain), awk
 * over text output, and no rollback ("Instances which may need to be
 * terminated manually").  The steps are the original's (see roll.c):
 * point the group at the new AMI (a new launch template version, or a
 * copy of its launch configuration), double its minimum and desired
 * capacity, wait until the new instances are InService in every load
 * balancer of the group (or InService and Healthy in the group when it
 * has none), deregister the old instances, drain, then set the minimum
 * back and terminate the old instances, decrementing the desired
 * capacity.  Polls back off from 250 ms to 15 s.  Until the first old
 * instance is terminated, a failure, a timeout, or SIGINT, SIGTERM or
 * SIGHUP rolls back (rollback.c): the group ends as it started.
 *
 * usage: roll-role [-qv] [-c FILE] --ami AMI-ID [--timeout DURATION]
 *            [--drain DURATION] [--region R] [--profile P] [--dry-run]
 *            [--json] ROLE-ENV
 *        roll-role [-qv] --ami AMI-ID --asg NAME [--elb NAME] [...]
 *
 *   ROLE-ENV            a name identify-role knows (socorroweb-stage): its
 *                       group, load balancer and region come from socorro.ini
 *   --asg NAME          the Auto Scaling group, without socorro.ini
 *   --elb NAME          the load balancer the role should be behind; the
 *                       group's own list is what is waited on (a mismatch
 *                       is reported)
 *   --ami AMI-ID        the new AMI (must exist and be available)
 *   --timeout DURATION  how long new instances may take (default 15m)
 *   --drain DURATION    connection draining after deregistration (30s)
 *   --dry-run           read the group, print the plan, change nothing
 *   --json              the final state as one JSON object
 *
 * stdout, on success: KEY=value lines for eval (ROLEENV AUTOSCALENAME
 * RESULT=rolled|unchanged|would-roll AMI PREVIOUSAMI LAUNCHTEMPLATE
 * LAUNCHTEMPLATEVERSION LAUNCHCONFIGURATION MINSIZE MAXSIZE
 * DESIREDCAPACITY ELBNAMES INSTANCES TERMINATED HEALTH), or --json.
 * A group that already launches the AMI and has no instance of another
 * AMI is left alone (RESULT=unchanged).
 *
 * Exit status: 0 rolled or nothing to change; 64 usage; 65 unknown
 * ROLE-ENV or group, AMI missing or not available, a group it cannot
 * roll; 69 AWS unreachable, failing after retries or answering
 * nonsense (rolled back; or, past the commit point, the old instances
 * left are named); 75 new instances not in service within --timeout, or
 * a call timed out after its retries (rolled back); 77
 * credentials refused; 78 configuration; 128+N stopped by signal N
 * (after rolling back).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "duration.h"
#include "exits.h"
#include "http.h"
#include "roll-role.h"

static const char usage_text[] =
    "usage: roll-role [-qv] [-c FILE] --ami AMI-ID [--timeout DURATION] [--drain DURATION]\n"
    "           [--region R] [--profile P] [--dry-run] [--json] ROLE-ENV\n"
    "       roll-role [-qv] --ami AMI-ID --asg NAME [--elb NAME] [--timeout DURATION]\n"
    "           [--drain DURATION] [--region R] [--profile P] [--dry-run] [--json]\n"
    "\n"
    "  ROLE-ENV            a role as identify-role names it (socorroweb-stage)\n"
    "  --asg NAME          the Auto Scaling group, without socorro.ini\n"
    "  --elb NAME          the load balancer the role should be behind\n"
    "  --ami AMI-ID        the new AMI\n"
    "  --timeout DURATION  how long new instances may take to serve (default 15m)\n"
    "  --drain DURATION    connection draining after deregistration (default 30s)\n"
    "  --dry-run           print the plan from the group's state, change nothing\n"
    "  --json              the final state as one JSON object\n"
    "  -c, --config FILE   configuration file (for ROLE-ENV)\n"
    "  --region R, --profile P  AWS region and shared-credentials profile\n"
    "  -v, --verbose       more detail; -q, --quiet: only errors\n"
    "  -h, --help, -V, --version\n";

static const char *const linked_libs[] = { "curl", "bearssl", "expat", "jansson", "libinih", NULL };

/* Set by the signal handler, read by the waits: main owns it. */
static volatile sig_atomic_t caught_signal;

static void
on_signal(int sig)
{
	caught_signal = sig;
}

enum { OPT_AMI = CLI_FIRST_PRIVATE, OPT_ASG, OPT_ELB, OPT_TIMEOUT, OPT_DRAIN, OPT_REGION,
	OPT_PROFILE };

struct options {
	struct cli_common common;
	const char *roleenv, *asg, *elb, *ami, *region, *profile;
	long timeout, drain;
};

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	static const struct option longopts[] = {
		CLI_OPT_HELP, CLI_OPT_VERSION, CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_CONFIG,
		CLI_OPT_DRY_RUN, CLI_OPT_JSON,
		{ "ami", required_argument, NULL, OPT_AMI },
		{ "asg", required_argument, NULL, OPT_ASG },
		{ "elb", required_argument, NULL, OPT_ELB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		CLI_OPT_END
	};
	int c;
	cli_common_init(&o->common);
	o->timeout = 15 * 60; /* the original: 15 polls of 60 s */
	o->drain = 30;
	while ((c = getopt_long(argc, argv, "hVvqc:", longopts, NULL)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		switch (c) {
		case OPT_AMI: o->ami = optarg; break;
		case OPT_ASG: o->asg = optarg; break;
		case OPT_ELB: o->elb = optarg; break;
		case OPT_REGION: o->region = optarg; break;
		case OPT_PROFILE: o->profile = optarg; break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &o->timeout) == -1 || o->timeout == 0)
				cli_exit_usage(lg, usage_text, "--timeout wants a duration such as 15m or 1h");
			break;
		case OPT_DRAIN:
			if (duration_parse(optarg, &o->drain) == -1)
				cli_exit_usage(lg, usage_text,
				    "--drain wants a duration such as 30s (0s for none)");
			break;
		default:
			cli_exit_usage(lg, usage_text, NULL);
		}
	}
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		o->roleenv = argv[optind++];
	if (optind < argc)
		cli_exit_usage(lg, usage_text, "one ROLE-ENV at a time");
	if ((o->roleenv != NULL) == (o->asg != NULL))
		cli_exit_usage(lg, usage_text, "give a ROLE-ENV or --asg NAME");
	if (o->elb && !o->asg)
		cli_exit_usage(lg, usage_text, "--elb goes with --asg (a ROLE-ENV's comes from socorro.ini)");
	if (o->ami == NULL)
		cli_exit_usage(lg, usage_text, "--ami AMI-ID is required");
}

/* resolve fills o->asg, o->elb and the region from socorro.ini. */
static void
resolve(struct options *o, struct log *lg, char *region, size_t size)
{
	static struct config cfg;
	static struct role_info ri;
	char path[CFG_PATH_MAX];
	const char *source;
	if (config_find(o->common.config, path, sizeof(path), &source) == -1)
		log_die(lg, EX_CONFIG,
		    "no configuration found for %s: give --config FILE or set "
		    "SOCORRO_CONFIG, or name the group with --asg",
		    o->roleenv);
	log_debug(lg, "using configuration %s (from %s)", path, source);
	int r = config_load(&cfg, path);
	if (r != 0)
		log_die(lg, r, "%s", cfg.error);
	if (config_resolve(&cfg, o->roleenv, &ri) == -1)
		log_die(lg, EX_DATAERR,
		    "unknown ROLE-ENV \"%s\" in %s; identify-role --all lists the "
		    "known names",
		    o->roleenv, cfg.path);
	o->asg = ri.autoscalename;
	o->elb = ri.elbname[0] ? ri.elbname : NULL;
	const char *reg = config_env_value(&cfg, ri.env, "region");
	if (reg != NULL)
		str_copy(region, size, reg);
	log_debug(lg, "%s: group %s, load balancer %s, region %s", o->roleenv, o->asg,
	    o->elb ? o->elb : "none", reg ? reg : "not set");
}

/* plan reads the group and decides what the roll has to do. */
static int
plan(struct roll *r, const struct options *o)
{
	int rc = group_read_all(r, o->asg, &r->before);
	if (rc == 0)
		rc = image_check(r, o->ami);
	if (rc != 0)
		return rc;
	struct group *b = &r->before;
	bool listed = o->elb == NULL;
	for (int e = 0; e < b->nelbs; e++)
		listed = listed || strcmp(b->elbs[e], o->elb) == 0;
	if (!listed)
		log_warn(r->lg,
		    "%s is expected behind %s, but the group's load balancers are: %s%s", b->name,
		    o->elb, b->nelbs ? b->elbs[0] : "none", b->nelbs > 1 ? " ..." : "");
	for (int i = 0; i < b->ninst; i++) {
		const struct instance *in = &b->inst[i];
		if (strncmp(in->lifecycle, "Terminat", 8) == 0 || in->ami[0] == '\0' ||
		    strcmp(in->ami, o->ami) == 0)
			continue;
		str_copy(r->old[r->nold++], ID_MAX, in->id);
	}
	r->need_source = strcmp(b->ami, o->ami) != 0;
	r->want_min = b->min + r->nold;
	r->want_desired = b->desired + r->nold;
	r->want_max = r->want_desired > b->max ? r->want_desired : b->max;
	if (!o->common.dry_run && (r->need_source || r->nold > 0))
		return activities_read(r);
	return 0;
}

/* finish: die of the signal that stopped us, once everything is done. */
static int
finish(struct log *lg, int code, bool committed)
{
	signals_block(false); /* a signal held off during the commit lands here */
	int sig = caught_signal;
	if (sig == 0)
		return log_finish_stdout(lg, code);
	log_finish_stdout(lg, code);
	if (committed)
		log_error(lg,
		    "signal %d arrived while the roll was finishing; it is finished", sig);
	else
		log_error(lg, "stopped by signal %d after rolling back", sig);
	signal(sig, SIG_DFL);
	raise(sig);
	return 128 + sig;
}

/* run: the roll, or the rollback, then the report. */
static int
run(struct roll *r, const struct options *o, struct buf *out)
{
	if (!r->need_source && r->nold == 0) {
		log_info(r->lg,
		    "%s already launches %s and every instance runs it: nothing to change",
		    r->before.name, o->ami);
		return report(r, &r->before, o->roleenv, "unchanged", o->common.json, out) ?
		    EX_SOFTWARE :
		    0;
	}
	if (o->common.dry_run) {
		report_plan(r);
		return report(r, &r->before, o->roleenv, "would-roll", o->common.json, out) ?
		    EX_SOFTWARE :
		    0;
	}
	cli_catch_stop_signals(on_signal);
	int rc = roll_run(r);
	if ((rc != 0 || caught_signal) && !r->committed) {
		/* Nothing may interrupt the rollback: it is what keeps the group whole. */
		signals_block(true);
		if (caught_signal)
			log_error(r->lg,
			    "signal %d: rolling back before exiting", (int)caught_signal);
		roll_back(r);
		return rc ? rc : EX_TEMPFAIL;
	}
	if (rc != 0)
		return rc;
	signals_block(true);
	rc = group_read_all(r, r->before.name, &r->now);
	if (rc == 0) {
		describe_group(r->lg, "rolled", &r->now);
		if (report(r, &r->now, o->roleenv, "rolled", o->common.json, out) == -1)
			rc = EX_SOFTWARE;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o;
	char region[64] = "", err[1024];
	memset(&o, 0, sizeof(o));
	log_init(&lg, "roll-role", stderr);
	parse_args(argc, argv, &o, &lg);
	if (o.roleenv)
		resolve(&o, &lg, region, sizeof(region));
	/* Precedence: --region, the environment, then socorro.ini's. */
	const char *want = o.region;
	if (want == NULL && !(getenv("AWS_REGION") && *getenv("AWS_REGION")) &&
	    !(getenv("AWS_DEFAULT_REGION") && *getenv("AWS_DEFAULT_REGION")) && region[0])
		want = region;

	struct aws_session session;
	struct http_client http;
	struct aws_query asg, ec2, elb;
	int rc = aws_session_init(&session, want, o.profile, err, sizeof(err));
	if (rc != 0)
		log_die(&lg, rc, "%s", err);
	log_add_secret(&lg, session.cred.secret_access_key);
	log_add_secret(&lg, session.cred.session_token);
	log_debug(&lg, "region %s (from %s); credentials from %s", session.region,
	    want && want == region ? "socorro.ini" : session.region_source, session.cred.detail);
	if (http_client_init(&http) != 0)
		log_die(&lg, EX_SOFTWARE, "cannot set up HTTP");
	if ((rc = aws_query_init(&asg, &session, &http, "AUTO_SCALING", "autoscaling",
		 "autoscaling", "2011-01-01", err, sizeof(err))) != 0 ||
	    (rc = aws_query_init(&ec2, &session, &http, "EC2", "ec2", "ec2", "2016-11-15", err,
		 sizeof(err))) != 0 ||
	    (rc = aws_query_init(&elb, &session, &http, "ELASTIC_LOAD_BALANCING",
		 "elasticloadbalancing", "elasticloadbalancing", "2012-06-01", err, sizeof(err))) !=
		0)
		log_die(&lg, rc, "%s", err);

	/* Large (instance tables): static storage, owned by main. */
	static struct roll r;
	r.lg = &lg;
	r.asg = &asg;
	r.ec2 = &ec2;
	r.elb = &elb;
	r.signalled = &caught_signal;
	r.ami = o.ami;
	r.timeout = o.timeout;
	r.drain = o.drain;
	r.dry_run = o.common.dry_run;

	struct buf out;
	buf_init(&out, 1u << 20);
	rc = plan(&r, &o);
	if (rc == 0)
		rc = run(&r, &o, &out);
	log_debug(&lg, "%lu API calls (%lu Auto Scaling, %lu EC2, %lu ELB)",
	    asg.calls + ec2.calls + elb.calls, asg.calls, ec2.calls, elb.calls);
	if (rc == 0)
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	http_client_free(&http);
	aws_session_free(&session);
	return finish(&lg, rc, r.committed);
}
