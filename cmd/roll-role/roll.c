/*
 * roll.c: the roll, and its undoing.
 *
 *   1. point the group at the new AMI and grow it: a new launch template
 *      version or launch configuration (source.c), then one
 *      UpdateAutoScalingGroup that sets it with MinSize and
 *      DesiredCapacity raised by the number of old instances (so
 *      doubled, as the original did; MaxSize raised when needed);
 *   2. wait until that many new instances are InService and Healthy in
 *      the group and InService in every load balancer of the group;
 *   3. deregister the old instances from the load balancers; drain;
 *   4. MinSize back; terminate the old instances, each decrementing the
 *      desired capacity; MaxSize back.
 *
 * Up to the first termination in step 4 (the commit point) a failure, a
 * timeout or a signal rolls back: roll_back() puts back the launch
 * source, sizes and load balancer registrations, terminates the new
 * instances and removes what step 1 made.  From the commit point on,
 * signals are held off and the roll is finished; a failure there leaves
 * healthy new instances serving and is reported with the old ids left.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "exits.h"
#include "roll-role.h"

#define POLL_FIRST_MS 250
#define POLL_CAP_MS 15000

bool
sleep_interruptible(struct roll *r, long ms)
{
	/* Short slices, so a signal is acted on within a tenth of a second. */
	while (ms > 0 && !*r->signalled) {
		long slice = ms < 100 ? ms : 100;
		struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return !*r->signalled;
}

void
signals_block(bool block)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

static bool
terminating(const struct instance *in)
{
	return strncmp(in->lifecycle, "Terminat", 8) == 0;
}

/* What an UpdateAutoScalingGroup changes; NULL and -1 leave a field. */
struct update {
	const char *lc;
	const char *lt_id, *lt_version;
	long min, max, desired;
};

static int
update_group(struct roll *r, const struct update *u)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "AutoScalingGroupName", r->before.name);
	if (u->lc)
		aws_params_add(&p, "LaunchConfigurationName", u->lc);
	if (u->lt_id) {
		aws_params_add(&p, "LaunchTemplate.LaunchTemplateId", u->lt_id);
		aws_params_add(&p, "LaunchTemplate.Version", u->lt_version);
	}
	if (u->min >= 0)
		aws_params_addf(&p, "MinSize", "%ld", u->min);
	if (u->max >= 0)
		aws_params_addf(&p, "MaxSize", "%ld", u->max);
	if (u->desired >= 0)
		aws_params_addf(&p, "DesiredCapacity", "%ld", u->desired);
	int rc = call(r, r->asg, "UpdateAutoScalingGroup", &p, &doc, &e);
	if (rc == 0)
		xml_free(&doc);
	return rc;
}

/* leaving: is id terminating or out of the group?  1 yes, 0 no, -1 unknown. */
static int
leaving(struct roll *r, const char *id)
{
	if (group_read(r, r->before.name, &r->probe) != 0)
		return -1;
	const struct instance *in = group_find(&r->probe, id);
	return in == NULL || terminating(in);
}

/*
 * terminate one instance, decrementing the desired capacity.  An
 * instance already terminating or gone counts as done: that is what a
 * retry after a lost answer sees, and terminating it again is the one
 * thing never to do.  When the answer itself is lost (malformed, cut,
 * timed out), the group says whether the termination happened: taking
 * it for undone would roll back a roll that passed its commit point.
 */
int
terminate_instance(struct roll *r, const char *id, const char *what)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "InstanceId", id);
	aws_params_add(&p, "ShouldDecrementDesiredCapacity", "true");
	int rc = aws_query_call(r->asg, "TerminateInstanceInAutoScalingGroup", &p, &doc, &e);
	aws_params_free(&p);
	if (rc == 0) {
		xml_free(&doc);
		log_info(r->lg, "terminating %s instance %s", what, id);
		return 0;
	}
	if (strcmp(e.code, "ValidationError") == 0 &&
	    (strstr(e.message, "not in InService or Standby") ||
		strstr(e.message, "No managed instance"))) {
		log_info(r->lg, "%s instance %s is already terminating or gone", what, id);
		return 0;
	}
	if (lost(rc) && leaving(r, id) == 1) {
		log_info(r->lg, "terminating %s instance %s (%s)", what, id, e.text);
		return 0;
	}
	log_error(r->lg, "%s", e.text);
	return rc;
}

/* ---------------------------------------------------------------- the roll */

static int
grow(struct roll *r)
{
	const struct group *b = &r->before;
	char version[24];
	struct update u = { .min = -1, .max = -1, .desired = -1 };
	if (r->nold > 0) {
		u.min = r->want_min;
		u.desired = r->want_desired;
		u.max = r->want_max > b->max ? r->want_max : -1;
	}
	if (r->need_source && b->kind == SRC_LC) {
		u.lc = r->new_lc;
	} else if (r->need_source) {
		/* The new version by number while rolling: "$Latest" comes back
		 * at the end (and already means the new version anyway). */
		str_fmt(version, sizeof(version), "%ld", r->new_version);
		u.lt_id = b->lt_id;
		u.lt_version =
		    r->nold == 0 && strcmp(b->lt_version, "$Latest") == 0 ? "$Latest" : version;
	}
	r->group_changed = true; /* before the call: its answer may be lost */
	int rc = update_group(r, &u);
	if (rc == 0 && r->nold > 0)
		log_info(r->lg,
		    "%s: launching %d new instances: min %ld, desired %ld, max %ld (were %ld, %ld, %ld)",
		    b->name, r->nold, r->want_min, r->want_desired, u.max >= 0 ? u.max : b->max,
		    b->min, b->desired, b->max);
	else if (rc == 0)
		log_info(r->lg, "%s now launches %s", b->name, r->ami);
	return rc;
}

/* count_new: new instances (not in the group before) seen and ready. */
static void
count_new(const struct roll *r, const struct group *g, int *seen, int *ready)
{
	*seen = *ready = 0;
	for (int i = 0; i < g->ninst; i++) {
		const struct instance *in = &g->inst[i];
		if (group_find(&r->before, in->id) != NULL || terminating(in))
			continue;
		(*seen)++;
		if (instance_ready(g, in))
			(*ready)++;
	}
}

/* explain says, for each new instance not ready, where it stands. */
static void
explain(struct roll *r, const struct group *g)
{
	int seen, ready;
	count_new(r, g, &seen, &ready);
	if (seen == 0)
		log_error(r->lg,
		    "%s launched no new instance (see its scaling activities)", g->name);
	for (int i = 0; i < g->ninst; i++) {
		const struct instance *in = &g->inst[i];
		if (group_find(&r->before, in->id) || terminating(in) || instance_ready(g, in))
			continue;
		log_error(r->lg, "new instance %s: %s, %s%s%s", in->id, in->lifecycle, in->health,
		    in->why[0] ? "; " : "", in->why);
	}
}

static int
wait_ready(struct roll *r)
{
	time_t start = time(NULL), deadline = start + r->timeout;
	long poll = POLL_FIRST_MS;
	char el[32], limit[32];
	duration_format(r->timeout, limit);
	for (;;) {
		int seen, ready;
		int rc = group_read(r, r->before.name, &r->now);
		if (rc == 0)
			rc = group_read_health(r, &r->now);
		if (rc != 0)
			return rc;
		count_new(r, &r->now, &seen, &ready);
		duration_format((long)(time(NULL) - start), el);
		if (ready >= r->nold) {
			log_progress_end(r->lg);
			log_info(r->lg, "%s: %d new instances in service after %s", r->before.name,
			    ready, el);
			return 0;
		}
		log_progress(r->lg, "%s: %d of %d new instances in service, %d launched (%s of %s)",
		    r->before.name, ready, r->nold, seen, el, limit);
		/* Fewer launched than asked for, after a first look: is the
		 * group failing to launch them? */
		if (seen < r->nold && poll > POLL_FIRST_MS && (rc = activities_failed(r)) != 0) {
			log_progress_end(r->lg);
			return rc;
		}
		long left = (long)(deadline - time(NULL)) * 1000;
		if (left <= 0) {
			log_progress_end(r->lg);
			log_error(r->lg,
			    "%s: only %d of %d new instances in service after %s (--timeout %s)",
			    r->before.name, ready, r->nold, el, limit);
			explain(r, &r->now);
			return EX_TEMPFAIL;
		}
		if (!sleep_interruptible(r, poll < left ? poll : left))
			return EX_TEMPFAIL; /* the caller sees the signal */
		poll = poll * 3 / 2 > POLL_CAP_MS ? POLL_CAP_MS : poll * 3 / 2;
	}
}

/* deregister_old takes the old instances out of every load balancer. */
static int
deregister_old(struct roll *r)
{
	for (int e = 0; e < r->now.nelbs; e++) {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error err;
		int n = 0;
		aws_params_init(&p);
		aws_params_add(&p, "LoadBalancerName", r->now.elbs[e]);
		for (int i = 0; i < r->nold; i++) {
			const struct instance *in = group_find(&r->now, r->old[i]);
			if (in == NULL || in->elb_state[e][0] == '\0')
				continue; /* not registered there */
			char k[48];
			str_fmt(k, sizeof(k), "Instances.member.%d.InstanceId", ++n);
			aws_params_add(&p, k, r->old[i]);
			r->dereg[i] |= 1u << e; /* before the call: its answer may be lost */
		}
		if (n == 0) {
			aws_params_free(&p);
			continue;
		}
		int rc = call(r, r->elb, "DeregisterInstancesFromLoadBalancer", &p, &doc, &err);
		if (rc != 0)
			return rc;
		xml_free(&doc);
		log_info(r->lg, "deregistered %d old instances from %s", n, r->now.elbs[e]);
	}
	return 0;
}

static int
drain(struct roll *r)
{
	char d[32];
	if (r->drain == 0 || r->now.nelbs == 0)
		return 0;
	duration_format(r->drain, d);
	log_info(r->lg, "draining connections for %s", d);
	return sleep_interruptible(r, r->drain * 1000) ? 0 : EX_TEMPFAIL;
}

/* left_behind reports the old instances a failed commit left running. */
static void
left_behind(struct roll *r)
{
	struct buf ids;
	buf_init(&ids, 16384);
	for (int i = 0; i < r->nold; i++)
		if (!r->gone[i])
			buf_printf(&ids, " %s", r->old[i]);
	char max[64] = "";
	if (r->want_max > r->before.max)
		str_fmt(max, sizeof(max), ", then set MaxSize back to %ld", r->before.max);
	log_error(r->lg,
	    "%s runs the new AMI, but old instances are still in it:%s; terminate them with "
	    "'aws autoscaling terminate-instance-in-auto-scaling-group "
	    "--should-decrement-desired-capacity --instance-id ID'%s",
	    r->before.name, buf_str(&ids), max);
	buf_free(&ids);
}

static int
commit(struct roll *r)
{
	const struct group *b = &r->before;
	struct update u = { .min = b->min, .max = -1, .desired = -1 };
	int rc = update_group(r, &u); /* still before the commit point */
	if (rc != 0 || *r->signalled)
		return rc ? rc : EX_TEMPFAIL;
	signals_block(true);
	if (*r->signalled) /* it came between the update and the block */
		return EX_TEMPFAIL;
	for (int i = 0; i < r->nold; i++) {
		rc = terminate_instance(r, r->old[i], "old");
		if (rc != 0 && !r->committed)
			return rc; /* nothing removed yet: roll back */
		if (rc != 0) {
			left_behind(r);
			return rc;
		}
		r->gone[i] = true;
		r->committed = true;
		str_copy(r->terminated[r->nterminated++], ID_MAX, r->old[i]);
	}
	r->committed = true;
	u = (struct update){ .min = -1, .max = -1, .desired = -1 };
	if (r->want_max > b->max)
		u.max = b->max;
	if (b->kind == SRC_LT && r->need_source && strcmp(b->lt_version, "$Latest") == 0) {
		u.lt_id = b->lt_id;
		u.lt_version = "$Latest";
	}
	if (u.max < 0 && u.lt_id == NULL)
		return 0;
	rc = update_group(r, &u);
	if (rc != 0)
		log_error(r->lg,
		    "%s is rolled, but MaxSize %ld / launch template version %s could not be "
		    "set back: set them by hand",
		    b->name, b->max, b->lt_version);
	return rc;
}

int
roll_run(struct roll *r)
{
	int rc = 0;
	if (r->need_source)
		rc = source_create(r);
	if (rc == 0 && !*r->signalled)
		rc = grow(r);
	if (r->nold == 0)
		return rc;
	if (rc == 0 && !*r->signalled)
		rc = wait_ready(r);
	if (rc == 0 && !*r->signalled)
		rc = deregister_old(r);
	if (rc == 0 && !*r->signalled)
		rc = drain(r);
	if (rc == 0 && !*r->signalled)
		rc = commit(r);
	if (rc == 0 && *r->signalled && !r->committed)
		rc = EX_TEMPFAIL;
	return rc;
}
