/*
 * create-ami.h: what the files of create-ami share.  Private to this
 * command: main.c parses and dispatches, build.c runs a build from
 * RunInstances to the image, images.c finds and reaps, userdata.c wraps
 * the provisioning script.
 */
#ifndef CREATE_AMI_H
#define CREATE_AMI_H

#include <signal.h>
#include <stdbool.h>

#include "aws_query.h"
#include "buf.h"
#include "log.h"

#define MAX_TAGS 40
#define MAX_GROUPS 16
#define ID_MAX 64

/* The tags every builder carries, so --reap can find what a SIGKILL left. */
#define BUILDER_TAG "socorro-bootstrap:builder"
#define EXPIRES_TAG "socorro-bootstrap:expires"
/* The line the wrapped user data prints on the console when done. */
#define STATUS_MARKER "SOCORRO-BUILD-STATUS: "

struct tag {
	char key[128];     /* EC2 allows 128 characters */
	const char *value; /* points into argv */
};

struct build_options {
	const char *source_ami;
	const char *instance_type;
	const char *user_data_file;
	const char *subnet;
	const char *groups[MAX_GROUPS];
	int ngroups;
	const char *iam_profile;
	const char *key_name;
	const char *name_template;
	struct tag tags[MAX_TAGS];
	int ntags;
	long timeout;       /* seconds for the whole build */
	bool force;
	bool dry_run;
};

/* The state of one run, owned by main. */
struct run {
	struct log *lg;
	struct aws_query *ec2;
	volatile sig_atomic_t *signalled; /* set by main's signal handler */
	char instance_id[ID_MAX];          /* builder, once RunInstances said so */
	char image_id[ID_MAX];             /* image, once CreateImage said so */
	bool image_ready;
};

/* userdata.c */
int userdata_wrap(const char *script, size_t len, struct buf *out, char *err, size_t errsize);
int console_status(const char *console, int *status);

/* images.c: images_find(r, "name", NAME, ...) looks up an image name. */
int images_find(struct run *r, const char *key, const char *value, char *id, size_t idsize);
int images_reap(struct run *r, long older_than, bool dry_run, struct buf *out);
int tag_parse(const char *arg, struct tag *t);

/* build.c */
int build_run(struct run *r, const struct build_options *o, const char *name,
    const struct buf *user_data, struct buf *out);
void build_cleanup(struct run *r);
/* sleep_interruptible: false if a signal cut the sleep short. */
bool sleep_interruptible(struct run *r, long ms);

#endif
