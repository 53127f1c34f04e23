/*
 * roll-role.h: what the files of roll-role share.  Private to this
 * command: main.c parses, plans and dispatches; group.c reads a group's
 * state from Auto Scaling, EC2 and ELB; source.c makes and removes the
 * new launch template version or launch configuration; roll.c changes
 * the group, waits, drains, commits or rolls back; report.c prints.
 */
#ifndef ROLL_ROLE_H
#define ROLL_ROLE_H

#include <signal.h>
#include <stdbool.h>

#include "aws_query.h"
#include "buf.h"
#include "exits.h"
#include "log.h"

#define ID_MAX 64
#define RR_NAME_MAX 256
#define MAX_INSTANCES 128 /* a group larger than this is refused (65) */
#define MAX_ELBS 8
#define STATE_MAX 32
#define MAX_ACTIVITIES 50 /* the latest scaling activities remembered */

enum source_kind { SRC_NONE, SRC_LC, SRC_LT };

struct instance {
	char id[ID_MAX];
	char lifecycle[STATE_MAX]; /* Pending, InService, Terminating, ... */
	char health[STATE_MAX];    /* Healthy, Unhealthy */
	char ami[ID_MAX];          /* from EC2; "" if EC2 does not know it */
	/* per ELB of the group: InService, OutOfService, ...; "" = not registered */
	char elb_state[MAX_ELBS][STATE_MAX];
	char why[160];             /* an ELB's description when not InService */
};

/* A group as read at one moment. */
struct group {
	char name[RR_NAME_MAX];
	long min, max, desired;
	enum source_kind kind;
	char lc[RR_NAME_MAX];          /* SRC_LC: launch configuration name */
	char lt_id[ID_MAX];            /* SRC_LT: the template and the version */
	char lt_name[RR_NAME_MAX];     /* as the group names it ("$Latest", */
	char lt_version[STATE_MAX];    /* "$Default" or a number) */
	long lt_number;                /* the number it resolves to */
	char ami[ID_MAX];              /* the AMI the source launches */
	char elbs[MAX_ELBS][RR_NAME_MAX];
	int nelbs;
	struct instance inst[MAX_INSTANCES];
	int ninst;
};

/* One roll, owned by main; roll.c records its progress here so that
 * roll_back() knows exactly what to undo. */
struct roll {
	struct log *lg;
	struct aws_query *asg, *ec2, *elb;
	volatile sig_atomic_t *signalled; /* set by main's signal handler */
	const char *ami;                  /* the new AMI */
	long timeout, drain;              /* seconds */
	bool dry_run;

	struct group before;              /* as found */
	struct group now;                 /* scratch: the latest read */
	struct group probe;               /* scratch: a look after a lost answer */
	char old[MAX_INSTANCES][ID_MAX];  /* instances to replace (other AMI) */
	int nold;
	bool need_source;                 /* the group's source is another AMI */
	char acts[MAX_ACTIVITIES][ID_MAX]; /* scaling activities before the roll */
	int nacts;
	long want_min, want_max, want_desired;

	/* progress, for roll_back */
	char new_lc[RR_NAME_MAX];         /* launch configuration we made */
	long new_version;                 /* launch template version we made */
	bool group_changed;               /* UpdateAutoScalingGroup was sent */
	unsigned dereg[MAX_INSTANCES];    /* old[i]: bit e = taken out of ELB e */
	bool gone[MAX_INSTANCES];         /* old[i] terminated by us */
	bool committed;                   /* an old instance was terminated */
	char terminated[MAX_INSTANCES][ID_MAX];
	int nterminated;
};

/*
 * lost: a failed call that may have been carried out all the same (its
 * answer timed out, was cut or malformed, or the server failed), as
 * opposed to one AWS refused.
 */
static inline bool
lost(int rc)
{
	return rc == EX_UNAVAILABLE || rc == EX_TEMPFAIL;
}

/* group.c */
int group_read(struct roll *r, const char *name, struct group *g);
int group_read_source(struct roll *r, struct group *g);
int group_read_amis(struct roll *r, struct group *g);
int group_read_health(struct roll *r, struct group *g);
int group_read_all(struct roll *r, const char *name, struct group *g);
int image_check(struct roll *r, const char *ami);
int activities_read(struct roll *r);
int activities_failed(struct roll *r);
const struct instance *group_find(const struct group *g, const char *id);
bool instance_ready(const struct group *g, const struct instance *in);
/* node_text: the text at path below n, or "" (AWS leaves out empty values) */
const char *node_text(const struct xml_node *n, const char *path);
/* node_number: the non-negative integer at path below n, or -1 */
long node_number(const struct xml_node *n, const char *path);
/* call: one API call, its error logged; frees p; 0 or an EX_* code. */
int call(struct roll *r, struct aws_query *q, const char *action, struct aws_params *p,
    struct xml_doc *doc, struct aws_error *e);

/* source.c */
int source_create(struct roll *r);
int source_delete(struct roll *r);

/* roll.c */
int roll_run(struct roll *r);
/* terminate_instance: id terminated (or already going), 0; else EX_*. */
int terminate_instance(struct roll *r, const char *id, const char *what);
int roll_back(struct roll *r);
bool sleep_interruptible(struct roll *r, long ms);
void signals_block(bool block);

/* report.c */
int report(const struct roll *r, const struct group *g, const char *roleenv, const char *result,
    bool json, struct buf *out);
void report_plan(const struct roll *r);
void describe_group(struct log *lg, const char *what, const struct group *g);

#endif
