/*
 * rollback.c: undo a roll that did not reach its commit point, so that
 * the group ends as it started:
 *
 *   1. the old launch source back (a launch template by its old version
 *      number for now), MinSize back, and DesiredCapacity held at the
 *      number of instances there are, so nothing new is launched;
 *   2. every new instance terminated, each decrementing the desired
 *      capacity (never an old one: scale-in would pick old instances
 *      first, as they run the older launch source);
 *   3. the old instances registered again where they were deregistered;
 *   4. the launch template version or launch configuration we made
 *      deleted;
 *   5. MaxSize, DesiredCapacity and the group's launch template version
 *      as it named it ("$Latest" ...) back;
 * then the group is read again and compared with how it started.  Runs
 * with signals held off; each step is tried even if one before failed,
 * and whatever could not be undone is named.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exits.h"
#include "roll-role.h"

static bool
terminating(const struct instance *in)
{
	return strncmp(in->lifecycle, "Terminat", 8) == 0;
}

static bool
terminated_by_us(const struct roll *r, const char *id)
{
	for (int i = 0; i < r->nterminated; i++)
		if (strcmp(r->terminated[i], id) == 0)
			return true;
	return false;
}

static int
update(struct roll *r, bool final, long desired)
{
	const struct group *b = &r->before;
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "AutoScalingGroupName", b->name);
	if (b->kind == SRC_LC) {
		aws_params_add(&p, "LaunchConfigurationName", b->lc);
	} else {
		aws_params_add(&p, "LaunchTemplate.LaunchTemplateId", b->lt_id);
		if (final)
			aws_params_add(&p, "LaunchTemplate.Version", b->lt_version);
		else
			aws_params_addf(&p, "LaunchTemplate.Version", "%ld", b->lt_number);
	}
	aws_params_addf(&p, "MinSize", "%ld", b->min);
	if (final)
		aws_params_addf(&p, "MaxSize", "%ld", b->max);
	if (desired >= 0)
		aws_params_addf(&p, "DesiredCapacity", "%ld", desired);
	int rc = call(r, r->asg, "UpdateAutoScalingGroup", &p, &doc, &e);
	if (rc == 0)
		xml_free(&doc);
	return rc;
}

/* hold: step 1.  The desired capacity becomes the instances there are. */
static int
hold(struct roll *r)
{
	long count = -1;
	if (group_read(r, r->before.name, &r->now) == 0) {
		count = 0;
		for (int i = 0; i < r->now.ninst; i++)
			count += !terminating(&r->now.inst[i]);
		if (count < r->before.min)
			count = r->before.min;
		if (count > r->now.max)
			count = r->now.max;
	}
	return update(r, false, count);
}

static int
kill_one(struct roll *r, const char *id)
{
	int rc = terminate_instance(r, id, "new");
	if (rc == 0)
		str_copy(r->terminated[r->nterminated++], ID_MAX, id);
	return rc;
}

/* kill_new: step 2, in rounds, for instances launched meanwhile. */
static int
kill_new(struct roll *r)
{
	int rc = 0;
	for (int round = 0; round < 3; round++) {
		if (round > 1) { /* instances kept coming: let the group settle */
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
		}
		if ((round > 0 || r->now.name[0] == '\0') &&
		    (rc = group_read(r, r->before.name, &r->now)) != 0)
			return rc;
		struct buf failed;
		buf_init(&failed, 16384);
		int todo = 0, bad = 0;
		for (int i = 0; i < r->now.ninst; i++) {
			const struct instance *in = &r->now.inst[i];
			if (group_find(&r->before, in->id) || terminating(in) ||
			    terminated_by_us(r, in->id) || r->nterminated == MAX_INSTANCES)
				continue;
			todo++;
			int k = kill_one(r, in->id);
			if (k != 0) {
				rc = k;
				bad++;
				buf_printf(&failed, " %s", in->id);
			}
		}
		if (bad)
			log_error(r->lg,
			    "new instances could not be terminated:%s; terminate them by hand",
			    buf_str(&failed));
		buf_free(&failed);
		if (todo == 0 || bad)
			return rc;
	}
	return rc;
}

/* reregister: step 3. */
static int
reregister(struct roll *r)
{
	int rc = 0;
	for (int e = 0; e < r->before.nelbs; e++) {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error err;
		int n = 0;
		aws_params_init(&p);
		aws_params_add(&p, "LoadBalancerName", r->before.elbs[e]);
		for (int i = 0; i < r->nold; i++) {
			if (!(r->dereg[i] & (1u << e)))
				continue;
			char k[48];
			str_fmt(k, sizeof(k), "Instances.member.%d.InstanceId", ++n);
			aws_params_add(&p, k, r->old[i]);
		}
		if (n == 0) {
			aws_params_free(&p);
			continue;
		}
		int c = call(r, r->elb, "RegisterInstancesWithLoadBalancer", &p, &doc, &err);
		if (c != 0) {
			log_error(r->lg, "register the old instances with %s again by hand",
			    r->before.elbs[e]);
			rc = c;
			continue;
		}
		xml_free(&doc);
		log_info(r->lg, "registered %d old instances with %s again", n, r->before.elbs[e]);
	}
	return rc;
}

/* check compares the group now with how it started; 0 if the same. */
static int
check(struct roll *r)
{
	const struct group *b = &r->before;
	struct group *g = &r->now;
	int rc = group_read(r, b->name, g);
	if (rc == 0)
		rc = group_read_source(r, g);
	if (rc == 0)
		rc = group_read_health(r, g);
	if (rc != 0)
		return rc;
	int diffs = 0;
	if (g->min != b->min || g->max != b->max || g->desired != b->desired) {
		log_error(r->lg, "%s: min %ld max %ld desired %ld, not %ld %ld %ld as before",
		    b->name, g->min, g->max, g->desired, b->min, b->max, b->desired);
		diffs++;
	}
	if (strcmp(g->lc, b->lc) || strcmp(g->lt_version, b->lt_version) ||
	    strcmp(g->ami, b->ami)) {
		log_error(r->lg, "%s launches %s now, not %s as before", b->name, g->ami, b->ami);
		diffs++;
	}
	for (int i = 0; i < b->ninst; i++) {
		const struct instance *in = group_find(g, b->inst[i].id);
		if (terminating(&b->inst[i]))
			continue;
		if (in == NULL || terminating(in)) {
			log_error(r->lg,
			    "old instance %s is no longer in %s", b->inst[i].id, b->name);
			diffs++;
			continue;
		}
		for (int e = 0; e < g->nelbs; e++)
			if (b->inst[i].elb_state[e][0] && in->elb_state[e][0] == '\0') {
				log_error(r->lg, "old instance %s is not registered with %s",
				    in->id, g->elbs[e]);
				diffs++;
			}
	}
	for (int i = 0; i < g->ninst; i++)
		if (!group_find(b, g->inst[i].id) && !terminating(&g->inst[i])) {
			log_error(r->lg, "new instance %s is still in %s", g->inst[i].id, b->name);
			diffs++;
		}
	return diffs ? EX_UNAVAILABLE : 0;
}

int
roll_back(struct roll *r)
{
	int rc = 0, c;
	/* Info, not a warning: with -q the error that caused it is the one line. */
	log_info(r->lg, "rolling back %s", r->before.name);
	r->now.name[0] = '\0';
	if (r->group_changed) {
		if ((c = hold(r)) != 0)
			rc = c;
		if ((c = kill_new(r)) != 0)
			rc = c;
		if ((c = reregister(r)) != 0)
			rc = c;
	}
	if ((c = source_delete(r)) != 0)
		rc = c;
	if (r->group_changed && (c = update(r, true, r->before.desired)) != 0)
		rc = c;
	if (!r->group_changed)
		return rc;
	if ((c = check(r)) != 0) {
		log_error(r->lg,
		    "rollback of %s incomplete: fix the above by hand", r->before.name);
		return rc ? rc : c;
	}
	describe_group(r->lg, "rolled back", &r->now);
	return rc;
}
