/*
 * group.c: reading a group's state, changing nothing: the group itself
 * (sizes, launch source, load balancers, instances with their lifecycle
 * and health), the AMI its launch source starts, each instance's AMI
 * (EC2), and each instance's state in each of the group's load balancers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "roll-role.h"

int
call(struct roll *r, struct aws_query *q, const char *action, struct aws_params *p,
    struct xml_doc *doc, struct aws_error *e)
{
	int rc = aws_query_call(q, action, p, doc, e);
	aws_params_free(p);
	if (rc != 0)
		log_error(r->lg, "%s", e->text);
	return rc;
}

const char *
node_text(const struct xml_node *n, const char *path)
{
	const char *t = n ? xml_text(n, path) : NULL;
	return t ? t : "";
}

long
node_number(const struct xml_node *n, const char *path)
{
	const char *t = node_text(n, path);
	char *end;
	errno = 0;
	long v = strtol(t, &end, 10);
	if (*t == '\0' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	return v;
}

const struct instance *
group_find(const struct group *g, const char *id)
{
	for (int i = 0; i < g->ninst; i++)
		if (strcmp(g->inst[i].id, id) == 0)
			return &g->inst[i];
	return NULL;
}

bool
instance_ready(const struct group *g, const struct instance *in)
{
	if (strcmp(in->lifecycle, "InService") != 0 || strcmp(in->health, "Healthy") != 0)
		return false;
	for (int e = 0; e < g->nelbs; e++)
		if (strcmp(in->elb_state[e], "InService") != 0)
			return false;
	return true;
}

/* parse_group fills g from one AutoScalingGroups member. */
static int
parse_group(struct roll *r, const struct xml_node *m, struct group *g)
{
	str_copy(g->name, sizeof(g->name), node_text(m, "AutoScalingGroupName"));
	g->min = node_number(m, "MinSize");
	g->max = node_number(m, "MaxSize");
	g->desired = node_number(m, "DesiredCapacity");
	if (g->min < 0 || g->max < 0 || g->desired < 0) {
		log_error(r->lg,
		    "autoscaling DescribeAutoScalingGroups: %s: sizes missing from the answer",
		    g->name);
		return EX_UNAVAILABLE;
	}
	const struct xml_node *lt = xml_first(m, "LaunchTemplate");
	if (xml_first(m, "MixedInstancesPolicy") != NULL) {
		log_error(r->lg,
		    "group %s uses a mixed instances policy: roll-role rolls groups with "
		    "one launch template or launch configuration",
		    g->name);
		return EX_DATAERR;
	}
	if (node_text(m, "LaunchConfigurationName")[0]) {
		g->kind = SRC_LC;
		str_copy(g->lc, sizeof(g->lc), node_text(m, "LaunchConfigurationName"));
	} else if (lt != NULL) {
		g->kind = SRC_LT;
		str_copy(g->lt_id, sizeof(g->lt_id), node_text(lt, "LaunchTemplateId"));
		str_copy(g->lt_name, sizeof(g->lt_name), node_text(lt, "LaunchTemplateName"));
		str_copy(g->lt_version, sizeof(g->lt_version), node_text(lt, "Version"));
		if (g->lt_version[0] == '\0')
			str_copy(g->lt_version, sizeof(g->lt_version), "$Default");
	} else {
		log_error(r->lg,
		    "group %s has neither a launch template nor a launch configuration", g->name);
		return EX_DATAERR;
	}
	for (const struct xml_node *n = xml_first(m, "LoadBalancerNames/member"); n;
	     n = xml_next(n)) {
		if (g->nelbs == MAX_ELBS) {
			log_error(r->lg,
			    "group %s has more than %d load balancers", g->name, MAX_ELBS);
			return EX_DATAERR;
		}
		str_copy(g->elbs[g->nelbs++], RR_NAME_MAX, n->text);
	}
	for (const struct xml_node *n = xml_first(m, "Instances/member"); n; n = xml_next(n)) {
		if (g->ninst == MAX_INSTANCES) {
			log_error(r->lg,
			    "group %s has more than %d instances", g->name, MAX_INSTANCES);
			return EX_DATAERR;
		}
		struct instance *in = &g->inst[g->ninst++];
		str_copy(in->id, sizeof(in->id), node_text(n, "InstanceId"));
		str_copy(in->lifecycle, sizeof(in->lifecycle), node_text(n, "LifecycleState"));
		str_copy(in->health, sizeof(in->health), node_text(n, "HealthStatus"));
	}
	return 0;
}

int
group_read(struct roll *r, const char *name, struct group *g)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "AutoScalingGroupNames.member.1", name);
	int rc = call(r, r->asg, "DescribeAutoScalingGroups", &p, &doc, &e);
	if (rc != 0)
		return rc;
	const struct xml_node *m =
	    xml_first(doc.root, "DescribeAutoScalingGroupsResult/AutoScalingGroups/member");
	memset(g, 0, sizeof(*g));
	if (m == NULL) {
		log_error(r->lg,
		    "no Auto Scaling group named %s in %s", name, r->asg->session->region);
		rc = EX_DATAERR;
	} else {
		rc = parse_group(r, m, g);
	}
	xml_free(&doc);
	return rc;
}

/* The AMI of a launch configuration. */
static int
read_lc(struct roll *r, struct group *g)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "LaunchConfigurationNames.member.1", g->lc);
	int rc = call(r, r->asg, "DescribeLaunchConfigurations", &p, &doc, &e);
	if (rc != 0)
		return rc;
	const struct xml_node *m =
	    xml_first(doc.root, "DescribeLaunchConfigurationsResult/LaunchConfigurations/member");
	if (m == NULL) {
		log_error(r->lg, "group %s names launch configuration %s, which does not exist",
		    g->name, g->lc);
		rc = EX_DATAERR;
	} else {
		str_copy(g->ami, sizeof(g->ami), node_text(m, "ImageId"));
	}
	xml_free(&doc);
	return rc;
}

/* The version a launch template spec resolves to, and its AMI. */
static int
read_lt(struct roll *r, struct group *g)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "LaunchTemplateId", g->lt_id);
	aws_params_add(&p, "LaunchTemplateVersion.1", g->lt_version);
	int rc = call(r, r->ec2, "DescribeLaunchTemplateVersions", &p, &doc, &e);
	if (rc != 0)
		return rc;
	const struct xml_node *v = xml_first(doc.root, "launchTemplateVersionSet/item");
	g->lt_number = node_number(v, "versionNumber");
	if (v == NULL || g->lt_number < 1) {
		log_error(r->lg, "launch template %s has no version %s", g->lt_id, g->lt_version);
		rc = EX_DATAERR;
	} else {
		str_copy(g->ami, sizeof(g->ami), node_text(v, "launchTemplateData/imageId"));
	}
	xml_free(&doc);
	return rc;
}

int
group_read_source(struct roll *r, struct group *g)
{
	return g->kind == SRC_LC ? read_lc(r, g) : read_lt(r, g);
}

int
group_read_amis(struct roll *r, struct group *g)
{
	char token[2048] = "";
	if (g->ninst == 0)
		return 0;
	do {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error e;
		aws_params_init(&p);
		/* A filter, not InstanceId.N: an instance that vanished in the
		 * meantime is simply left out instead of failing the call. */
		aws_params_add(&p, "Filter.1.Name", "instance-id");
		for (int i = 0; i < g->ninst; i++) {
			char k[32];
			str_fmt(k, sizeof(k), "Filter.1.Value.%d", i + 1);
			aws_params_add(&p, k, g->inst[i].id);
		}
		if (token[0])
			aws_params_add(&p, "NextToken", token);
		int rc = call(r, r->ec2, "DescribeInstances", &p, &doc, &e);
		if (rc != 0)
			return rc;
		for (const struct xml_node *res = xml_first(doc.root, "reservationSet/item"); res;
		     res = xml_next(res))
			for (const struct xml_node *n = xml_first(res, "instancesSet/item"); n;
			     n = xml_next(n))
				for (int i = 0; i < g->ninst; i++)
					if (strcmp(g->inst[i].id, node_text(n, "instanceId")) == 0)
						str_copy(g->inst[i].ami, ID_MAX,
						    node_text(n, "imageId"));
		str_copy(token, sizeof(token), node_text(doc.root, "nextToken"));
		xml_free(&doc);
	} while (token[0]);
	return 0;
}

int
group_read_health(struct roll *r, struct group *g)
{
	for (int e = 0; e < g->nelbs; e++) {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error err;
		aws_params_init(&p);
		aws_params_add(&p, "LoadBalancerName", g->elbs[e]);
		int rc = call(r, r->elb, "DescribeInstanceHealth", &p, &doc, &err);
		if (rc != 0)
			return rc;
		for (const struct xml_node *n =
			 xml_first(doc.root, "DescribeInstanceHealthResult/InstanceStates/member");
		     n; n = xml_next(n)) {
			struct instance *in =
			    (struct instance *)group_find(g, node_text(n, "InstanceId"));
			if (in == NULL)
				continue;
			str_copy(in->elb_state[e], STATE_MAX, node_text(n, "State"));
			if (strcmp(in->elb_state[e], "InService") != 0 && in->why[0] == '\0')
				str_fmt_clip(in->why, sizeof(in->why), "%s: %s", g->elbs[e],
				    node_text(n, "Description"));
		}
		xml_free(&doc);
	}
	return 0;
}

int
group_read_all(struct roll *r, const char *name, struct group *g)
{
	int rc = group_read(r, name, g);
	if (rc == 0)
		rc = group_read_source(r, g);
	if (rc == 0)
		rc = group_read_amis(r, g);
	if (rc == 0)
		rc = group_read_health(r, g);
	return rc;
}

int
image_check(struct roll *r, const char *ami)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "ImageId.1", ami);
	int rc = aws_query_call(r->ec2, "DescribeImages", &p, &doc, &e);
	aws_params_free(&p);
	if (rc != 0 && strncmp(e.code, "InvalidAMIID.", 13) == 0) {
		log_error(r->lg, "--ami %s: no such image in %s (%s)", ami, r->ec2->session->region,
		    e.code);
		return EX_DATAERR;
	}
	if (rc != 0) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	const char *state = node_text(doc.root, "imagesSet/item/imageState");
	if (strcmp(state, "available") != 0) {
		log_error(r->lg, "--ami %s is %s, not available: nothing could be launched from it",
		    ami, state[0] ? state : "not listed");
		rc = EX_DATAERR;
	} else {
		log_debug(r->lg, "AMI %s (%s) is available", ami,
		    node_text(doc.root, "imagesSet/item/name"));
	}
	xml_free(&doc);
	return rc;
}

/* scaling activities: the ids there are before the roll, so that a
 * failure later is known to be the roll's. */
static int
activities(struct roll *r, struct xml_doc *doc)
{
	struct aws_params p;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "AutoScalingGroupName", r->before.name);
	aws_params_addf(&p, "MaxRecords", "%d", MAX_ACTIVITIES);
	return call(r, r->asg, "DescribeScalingActivities", &p, doc, &e);
}

int
activities_read(struct roll *r)
{
	struct xml_doc doc;
	int rc = activities(r, &doc);
	if (rc != 0)
		return rc;
	for (const struct xml_node *a =
		 xml_first(doc.root, "DescribeScalingActivitiesResult/Activities/member");
	     a && r->nacts < MAX_ACTIVITIES; a = xml_next(a))
		str_copy(r->acts[r->nacts++], ID_MAX, node_text(a, "ActivityId"));
	xml_free(&doc);
	return 0;
}

/*
 * activities_failed: EX_UNAVAILABLE if the group failed to launch since
 * the roll began (an AMI it cannot boot, an instance limit, ...): then
 * waiting longer is pointless.  Its reason is logged.
 */
int
activities_failed(struct roll *r)
{
	struct xml_doc doc;
	int rc = activities(r, &doc);
	if (rc != 0)
		return rc;
	for (const struct xml_node *a =
		 xml_first(doc.root, "DescribeScalingActivitiesResult/Activities/member");
	     a && rc == 0; a = xml_next(a)) {
		bool known = false;
		for (int i = 0; i < r->nacts && !known; i++)
			known = strcmp(r->acts[i], node_text(a, "ActivityId")) == 0;
		if (known || strcmp(node_text(a, "StatusCode"), "Failed") != 0)
			continue;
		const char *why = node_text(a, "StatusMessage");
		log_error(r->lg, "%s cannot launch new instances: %s", r->before.name,
		    why[0] ? why : node_text(a, "Description"));
		rc = EX_UNAVAILABLE;
	}
	xml_free(&doc);
	return rc;
}
