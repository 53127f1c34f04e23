/*
 * report.c: what roll-role says.  The final state goes to stdout as
 * eval-safe KEY=value lines or one JSON object (what the original's
 * infra_report printed: launch source, AMI, instances and their health);
 * the plan and state descriptions go to the log.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "duration.h"
#include "roll-role.h"
#include "shquote.h"

static bool
gone(const struct instance *in)
{
	return strncmp(in->lifecycle, "Terminat", 8) == 0;
}

/* health_of: InService when the instance serves everywhere it should,
 * else the first thing that is not so. */
static void
health_of(const struct group *g, const struct instance *in, char *out, size_t n)
{
	for (int e = 0; e < g->nelbs; e++)
		if (strcmp(in->elb_state[e], "InService") != 0) {
			str_copy(out, n, in->elb_state[e][0] ? in->elb_state[e] : "Unregistered");
			return;
		}
	if (strcmp(in->lifecycle, "InService") != 0)
		str_copy(out, n, in->lifecycle);
	else if (strcmp(in->health, "Healthy") != 0)
		str_copy(out, n, in->health);
	else
		str_copy(out, n, "InService");
}

static int
report_env(const struct roll *r, const struct group *g, const char *roleenv, const char *result,
    struct buf *out)
{
	struct buf elbs, ids, health, done;
	char num[32], state[STATE_MAX];
	buf_init(&elbs, 4096);
	buf_init(&ids, 1u << 16);
	buf_init(&health, 1u << 16);
	buf_init(&done, 1u << 16);
	for (int e = 0; e < g->nelbs; e++)
		buf_printf(&elbs, "%s%s", e ? " " : "", g->elbs[e]);
	for (int i = 0; i < g->ninst; i++) {
		if (gone(&g->inst[i]))
			continue;
		health_of(g, &g->inst[i], state, sizeof(state));
		buf_printf(&ids, "%s%s", ids.len ? " " : "", g->inst[i].id);
		buf_printf(&health, "%s%s:%s", health.len ? " " : "", g->inst[i].id, state);
	}
	for (int i = 0; i < r->nterminated; i++)
		buf_printf(&done, "%s%s", i ? " " : "", r->terminated[i]);
	int rc = 0;
	if (roleenv)
		rc |= sh_assign(out, "ROLEENV", roleenv);
	rc |= sh_assign(out, "AUTOSCALENAME", g->name);
	rc |= sh_assign(out, "RESULT", result);
	rc |= sh_assign(out, "AMI", g->ami);
	rc |= sh_assign(out, "PREVIOUSAMI", r->before.ami);
	rc |= sh_assign(out, "LAUNCHTEMPLATE", g->kind == SRC_LT ? g->lt_id : "");
	str_fmt(num, sizeof(num), "%ld", g->lt_number);
	rc |= sh_assign(out, "LAUNCHTEMPLATEVERSION", g->kind == SRC_LT ? num : "");
	rc |= sh_assign(out, "LAUNCHCONFIGURATION", g->kind == SRC_LC ? g->lc : "");
	str_fmt(num, sizeof(num), "%ld", g->min);
	rc |= sh_assign(out, "MINSIZE", num);
	str_fmt(num, sizeof(num), "%ld", g->max);
	rc |= sh_assign(out, "MAXSIZE", num);
	str_fmt(num, sizeof(num), "%ld", g->desired);
	rc |= sh_assign(out, "DESIREDCAPACITY", num);
	rc |= sh_assign(out, "ELBNAMES", g->nelbs ? buf_str(&elbs) : "NONE");
	rc |= sh_assign(out, "INSTANCES", buf_str(&ids));
	rc |= sh_assign(out, "TERMINATED", buf_str(&done));
	rc |= sh_assign(out, "HEALTH", buf_str(&health));
	buf_free(&elbs);
	buf_free(&ids);
	buf_free(&health);
	buf_free(&done);
	return rc ? -1 : 0;
}

static json_t *
instance_json(const struct group *g, const struct instance *in)
{
	json_t *elb = json_object();
	for (int e = 0; e < g->nelbs; e++)
		json_object_set_new(elb, g->elbs[e],
		    in->elb_state[e][0] ? json_string(in->elb_state[e]) : json_null());
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", in->id, "ami", in->ami, "lifecycle",
	    in->lifecycle, "health", in->health, "elb", elb);
}

static int
report_json(const struct roll *r, const struct group *g, const char *roleenv, const char *result,
    struct buf *out)
{
	json_t *o = json_object(), *elbs = json_array(), *insts = json_array(),
	       *done = json_array();
	for (int e = 0; e < g->nelbs; e++)
		json_array_append_new(elbs, json_string(g->elbs[e]));
	for (int i = 0; i < g->ninst; i++)
		if (!gone(&g->inst[i]))
			json_array_append_new(insts, instance_json(g, &g->inst[i]));
	for (int i = 0; i < r->nterminated; i++)
		json_array_append_new(done, json_string(r->terminated[i]));
	if (roleenv)
		json_object_set_new(o, "ROLEENV", json_string(roleenv));
	json_object_set_new(o, "AUTOSCALENAME", json_string(g->name));
	json_object_set_new(o, "RESULT", json_string(result));
	json_object_set_new(o, "AMI", json_string(g->ami));
	json_object_set_new(o, "PREVIOUSAMI", json_string(r->before.ami));
	json_object_set_new(o, "LAUNCHTEMPLATE",
	    g->kind != SRC_LT ?
		json_null() :
		json_pack("{s:s, s:s, s:s, s:I}", "id", g->lt_id, "name", g->lt_name, "version",
		    g->lt_version, "number", (json_int_t)g->lt_number));
	json_object_set_new(o,
	    "LAUNCHCONFIGURATION", g->kind == SRC_LC ? json_string(g->lc) : json_null());
	json_object_set_new(o, "MINSIZE", json_integer(g->min));
	json_object_set_new(o, "MAXSIZE", json_integer(g->max));
	json_object_set_new(o, "DESIREDCAPACITY", json_integer(g->desired));
	json_object_set_new(o, "ELBNAMES", elbs);
	json_object_set_new(o, "INSTANCES", insts);
	json_object_set_new(o, "TERMINATED", done);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int rc = text && buf_puts(out, text) == 0 && buf_putc(out, '\n') == 0 ? 0 : -1;
	free(text);
	return rc;
}

int
report(const struct roll *r, const struct group *g, const char *roleenv, const char *result,
    bool json, struct buf *out)
{
	return json ? report_json(r, g, roleenv, result, out) :
		      report_env(r, g, roleenv, result, out);
}

void
describe_group(struct log *lg, const char *what, const struct group *g)
{
	struct buf ids;
	buf_init(&ids, 1u << 16);
	for (int i = 0; i < g->ninst; i++)
		if (!gone(&g->inst[i]))
			buf_printf(&ids, " %s", g->inst[i].id);
	if (g->kind == SRC_LT)
		log_info(lg,
		    "%s: %s launches %s (launch template %s version %s = %ld); min %ld max %ld "
		    "desired %ld; instances:%s",
		    what, g->name, g->ami, g->lt_id, g->lt_version, g->lt_number, g->min, g->max,
		    g->desired, ids.len ? buf_str(&ids) : " none");
	else
		log_info(lg,
		    "%s: %s launches %s (launch configuration %s); min %ld max %ld desired %ld; "
		    "instances:%s",
		    what, g->name, g->ami, g->lc, g->min, g->max, g->desired,
		    ids.len ? buf_str(&ids) : " none");
	buf_free(&ids);
}

void
report_plan(const struct roll *r)
{
	const struct group *b = &r->before;
	struct log *lg = r->lg;
	char t[32], d[32];
	struct buf old;
	buf_init(&old, 1u << 16);
	for (int i = 0; i < r->nold; i++)
		buf_printf(&old, " %s", r->old[i]);
	duration_format(r->timeout, t);
	duration_format(r->drain, d);
	log_info(lg, "dry run: nothing will be changed");
	describe_group(lg, "now", b);
	if (r->need_source && b->kind == SRC_LT)
		log_info(lg,
		    "would create a version of launch template %s from version %ld with ImageId %s",
		    b->lt_id, b->lt_number, r->ami);
	else if (r->need_source)
		log_info(lg, "would copy launch configuration %s with ImageId %s", b->lc, r->ami);
	if (r->nold == 0) {
		log_info(lg, "would point the group at it; every instance already runs %s", r->ami);
		buf_free(&old);
		return;
	}
	log_info(lg, "would set min %ld, desired %ld, max %ld (now %ld, %ld, %ld)%s", r->want_min,
	    r->want_desired, r->want_max, b->min, b->desired, b->max,
	    r->need_source ? " and point the group at it" : "");
	if (b->nelbs)
		log_info(lg,
		    "would wait up to %s for %d new instances InService in %d load balancer%s", t,
		    r->nold, b->nelbs, b->nelbs > 1 ? "s" : "");
	else
		log_info(lg,
		    "would wait up to %s for %d new instances InService and Healthy in the group",
		    t, r->nold);
	if (b->nelbs)
		log_info(lg, "would deregister%s from the load balancers and drain for %s",
		    buf_str(&old), d);
	log_info(lg,
	    "would set min back to %ld and terminate%s, decrementing the desired capacity%s",
	    b->min, buf_str(&old), r->want_max > b->max ? "; then set max back" : "");
	log_info(lg, "would roll back on failure, timeout or signal before the first termination");
	buf_free(&old);
}
