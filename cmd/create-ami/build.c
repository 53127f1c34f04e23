/*
 * build.c: one build, from RunInstances to an available image, and the
 * cleanup that every way out of it runs: the builder is terminated and a
 * failed image deregistered, so nothing is left running or half-made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "create-ami.h"
#include "duration.h"
#include "exits.h"

#define POLL_FIRST_MS 1000
#define POLL_CAP_MS 15000
#define CONSOLE_GRACE 120 /* s to wait for the status line after the stop */

bool
sleep_interruptible(struct run *r, long ms)
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

/*
 * lost: true if a failed call may still have been carried out (its
 * answer timed out, was cut, malformed or a server error), so that what
 * it made must be looked for; false if AWS refused it (a client error,
 * refused credentials).
 */
static bool
lost(int rc)
{
	return rc == EX_UNAVAILABLE || rc == EX_TEMPFAIL;
}

/*
 * lookup: the text at path in the answer to action (p is freed): 0 with
 * it in out, EX_NOINPUT if the answer has none, or the call's EX_* code
 * with *e filled.
 */
static int
lookup(struct run *r, const char *action, struct aws_params *p, const char *path, char *out,
    size_t size, struct aws_error *e)
{
	struct xml_doc doc;
	int rc = aws_query_call(r->ec2, action, p, &doc, e);
	aws_params_free(p);
	if (rc != 0)
		return rc;
	const char *v = xml_text(doc.root, path);
	rc = v != NULL && str_copy(out, size, v) == 0 ? 0 : EX_NOINPUT;
	xml_free(&doc);
	return rc;
}

/*
 * find_builder: after RunInstances failed with its outcome unknown, the
 * builder it may have started, by the client token (a builder nobody
 * knows of is the one thing create-ami must never leave).  0 if found
 * (r->instance_id set; the build goes on), else rc with one line logged.
 */
static int
find_builder(struct run *r, const char *token, int rc, const char *why)
{
	struct aws_params p;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "Filter.1.Name", "client-token");
	aws_params_add(&p, "Filter.1.Value.1", token);
	int f = lookup(r, "DescribeInstances", &p, "reservationSet/item/instancesSet/item/instanceId",
	    r->instance_id, sizeof(r->instance_id), &e);
	if (f == 0) {
		log_info(r->lg, "%s; builder %s was started all the same (found by its client token)",
		    why, r->instance_id);
		return 0;
	}
	r->instance_id[0] = '\0';
	if (f == EX_NOINPUT)
		log_error(r->lg, "%s", why);
	else
		log_error(r->lg,
		    "%s; whether a builder was started is unknown (%s): create-ami --reap "
		    "terminates it once its %s tag has passed",
		    why, e.text, EXPIRES_TAG);
	return rc;
}

static long
next_poll(long ms)
{
	ms = ms * 3 / 2;
	return ms > POLL_CAP_MS ? POLL_CAP_MS : ms;
}

static void
add_tags(struct aws_params *p, int spec, const char *type, const struct build_options *o,
    const char *name)
{
	char k[64];
	str_fmt(k, sizeof(k), "TagSpecification.%d.ResourceType", spec);
	aws_params_add(p, k, type);
	int n = 0;
	for (; n < o->ntags; n++) {
		str_fmt(k, sizeof(k), "TagSpecification.%d.Tag.%d.Key", spec, n + 1);
		aws_params_add(p, k, o->tags[n].key);
		str_fmt(k, sizeof(k), "TagSpecification.%d.Tag.%d.Value", spec, n + 1);
		aws_params_add(p, k, o->tags[n].value);
	}
	bool named = false;
	for (int i = 0; i < o->ntags; i++)
		named = named || strcmp(o->tags[i].key, "Name") == 0;
	if (!named) {
		str_fmt(k, sizeof(k), "TagSpecification.%d.Tag.%d.Key", spec, n + 1);
		aws_params_add(p, k, "Name");
		str_fmt(k, sizeof(k), "TagSpecification.%d.Tag.%d.Value", spec, n + 1);
		aws_params_add(p, k, name);
	}
}

static int
run_builder(struct run *r, const struct build_options *o, const char *name,
    const struct buf *user_data)
{
	struct aws_params p;
	struct buf b64;
	char token[40], expires[32], label[300];
	aws_params_init(&p);
	buf_init(&b64, 64 * 1024);
	base64_encode(&b64, user_data->data, user_data->len);
	/* A client token makes RunInstances idempotent: a retry after a lost
	 * answer cannot start a second, unseen builder. */
	unsigned char rnd[16];
	if (getentropy(rnd, sizeof(rnd)) != 0)
		log_die(r->lg, EX_SOFTWARE, "getentropy: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	time_t exp = time(NULL) + o->timeout + 900;
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", gmtime(&exp));
	str_fmt_clip(label, sizeof(label), "create-ami builder for %s", name);

	aws_params_add(&p, "ImageId", o->source_ami);
	aws_params_add(&p, "InstanceType", o->instance_type);
	aws_params_add(&p, "MinCount", "1");
	aws_params_add(&p, "MaxCount", "1");
	aws_params_add(&p, "ClientToken", token);
	aws_params_add(&p, "UserData", buf_str(&b64));
	aws_params_add(&p, "InstanceInitiatedShutdownBehavior", "stop");
	if (o->subnet)
		aws_params_add(&p, "SubnetId", o->subnet);
	for (int i = 0; i < o->ngroups; i++) {
		char k[32];
		str_fmt(k, sizeof(k), "SecurityGroupId.%d", i + 1);
		aws_params_add(&p, k, o->groups[i]);
	}
	if (o->iam_profile)
		aws_params_add(&p, "IamInstanceProfile.Name", o->iam_profile);
	if (o->key_name)
		aws_params_add(&p, "KeyName", o->key_name);
	aws_params_add(&p, "TagSpecification.1.ResourceType", "instance");
	aws_params_add(&p, "TagSpecification.1.Tag.1.Key", BUILDER_TAG);
	aws_params_add(&p, "TagSpecification.1.Tag.1.Value", "create-ami");
	aws_params_add(&p, "TagSpecification.1.Tag.2.Key", EXPIRES_TAG);
	aws_params_add(&p, "TagSpecification.1.Tag.2.Value", expires);
	aws_params_add(&p, "TagSpecification.1.Tag.3.Key", "Name");
	aws_params_add(&p, "TagSpecification.1.Tag.3.Value", label);

	struct xml_doc doc;
	struct aws_error e;
	int rc = aws_query_call(r->ec2, "RunInstances", &p, &doc, &e);
	aws_params_free(&p);
	buf_free(&b64);
	if (rc != 0 && !lost(rc)) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	if (rc == 0) {
		const char *id = xml_text(doc.root, "instancesSet/item/instanceId");
		if (id == NULL || str_copy(r->instance_id, sizeof(r->instance_id), id) == -1) {
			str_copy(e.text, sizeof(e.text), "ec2 RunInstances: no instance id in the answer");
			rc = EX_UNAVAILABLE;
		}
		xml_free(&doc);
	}
	if (rc != 0 && (rc = find_builder(r, token, rc, e.text)) != 0)
		return rc;
	log_info(r->lg, "builder %s started from %s (%s)", r->instance_id, o->source_ami, o->instance_type);
	return 0;
}

/* instance_state: the builder's state name into state. */
static int
instance_state(struct run *r, char *state, size_t size)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "InstanceId.1", r->instance_id);
	int rc = aws_query_call(r->ec2, "DescribeInstances", &p, &doc, &e);
	aws_params_free(&p);
	if (rc != 0) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	const char *s = xml_text(doc.root, "reservationSet/item/instancesSet/item/instanceState/name");
	str_copy(state, size, s ? s : "unknown");
	xml_free(&doc);
	return 0;
}

/* console: the builder's console output, decoded, into out. */
static int
console(struct run *r, struct buf *out)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "InstanceId", r->instance_id);
	int rc = aws_query_call(r->ec2, "GetConsoleOutput", &p, &doc, &e);
	aws_params_free(&p);
	if (rc != 0) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	const char *text = xml_text(doc.root, "output");
	buf_reset(out);
	if (text != NULL && base64_decode(out, text, strlen(text)) == -1) {
		xml_free(&doc);
		log_error(r->lg, "ec2 GetConsoleOutput: the output is not base64");
		return EX_UNAVAILABLE;
	}
	xml_free(&doc);
	return 0;
}

/* show_new_console logs (-v) the console lines not shown before. */
static void
show_new_console(struct run *r, const struct buf *text, size_t *shown)
{
	if (!log_enabled(r->lg, LOG_DEBUG) || text->len <= *shown)
		return;
	const char *p = text->data + *shown;
	const char *end = text->data + text->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break; /* an unfinished line: wait for the rest */
		/* Serial consoles end lines with CR LF: drop the CR. */
		int n = (int)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		log_debug(r->lg, "console: %.*s", n, p);
		p = nl + 1;
	}
	*shown = (size_t)(p - text->data);
}

/* show_console_tail logs the last lines of the console on failure. */
static void
show_console_tail(struct run *r, const struct buf *text)
{
	const char *start = text->data ? text->data : "";
	const char *p = start + text->len;
	int lines = 0;
	while (p > start && lines <= 20)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	log_error(r->lg, "last lines of the builder's console:");
	while (*p) {
		size_t n = strcspn(p, "\n");
		size_t shown = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		log_error(r->lg, "| %.*s", (int)shown, p);
		p += n + (p[n] == '\n');
	}
}

/* wait_stopped: until the builder powers itself off, or the deadline. */
static int
wait_stopped(struct run *r, time_t deadline, struct buf *text)
{
	long poll = POLL_FIRST_MS;
	size_t shown = 0;
	time_t start = time(NULL);
	char state[32];
	for (;;) {
		int rc = instance_state(r, state, sizeof(state));
		if (rc != 0)
			return rc;
		if (log_enabled(r->lg, LOG_DEBUG) && console(r, text) == 0)
			show_new_console(r, text, &shown);
		if (strcmp(state, "stopped") == 0)
			break;
		if (strcmp(state, "terminated") == 0 || strcmp(state, "shutting-down") == 0) {
			log_error(r->lg, "builder %s was terminated by someone else", r->instance_id);
			return EX_UNAVAILABLE;
		}
		char el[32];
		duration_format((long)(time(NULL) - start), el);
		log_progress(r->lg, "builder %s: %s, provisioning (%s)", r->instance_id, state, el);
		if (time(NULL) >= deadline) {
			log_error(r->lg, "builder %s did not finish within the timeout; giving up", r->instance_id);
			return EX_TEMPFAIL;
		}
		if (!sleep_interruptible(r, poll))
			return EX_TEMPFAIL; /* the caller sees the signal */
		poll = next_poll(poll);
	}
	log_progress_end(r->lg);
	return 0;
}

/* provision_status reads the wrapper's status line from the console. */
static int
provision_status(struct run *r, struct buf *text)
{
	int status = -1;
	time_t give_up = time(NULL) + CONSOLE_GRACE;
	/* EC2 publishes console output with a lag: the line may come late. */
	for (long poll = POLL_FIRST_MS;; poll = next_poll(poll)) {
		int rc = console(r, text);
		if (rc != 0)
			return rc;
		if (console_status(buf_str(text), &status) == 0)
			break;
		if (time(NULL) >= give_up || !sleep_interruptible(r, poll)) {
			show_console_tail(r, text);
			log_error(r->lg, "builder %s stopped without reporting a build status on its console",
			    r->instance_id);
			return EX_DATAERR;
		}
	}
	if (status != 0) {
		show_console_tail(r, text);
		log_error(r->lg, "the provisioning script failed on %s with exit status %d", r->instance_id,
		    status);
		return EX_DATAERR;
	}
	log_info(r->lg, "provisioning succeeded on %s", r->instance_id);
	return 0;
}

/*
 * find_image: after CreateImage failed with its outcome unknown, the
 * image it may have begun, by its name (unique, and free before the
 * build).  0 if found (r->image_id set), else rc with one line logged.
 */
static int
find_image(struct run *r, const char *name, int rc, const char *why)
{
	struct aws_params p;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "Owner.1", "self");
	aws_params_add(&p, "Filter.1.Name", "name");
	aws_params_add(&p, "Filter.1.Value.1", name);
	int f = lookup(r, "DescribeImages", &p, "imagesSet/item/imageId", r->image_id,
	    sizeof(r->image_id), &e);
	if (f == 0) {
		log_info(r->lg, "%s; image %s was begun all the same (found by its name)", why,
		    r->image_id);
		return 0;
	}
	r->image_id[0] = '\0';
	if (f == EX_NOINPUT)
		log_error(r->lg, "%s", why);
	else
		log_error(r->lg,
		    "%s; whether image \"%s\" was begun is unknown (%s): look for it and "
		    "deregister it by hand",
		    why, name, e.text);
	return rc;
}

static int
create_image(struct run *r, const struct build_options *o, const char *name)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "InstanceId", r->instance_id);
	aws_params_add(&p, "Name", name);
	aws_params_addf(&p, "Description", "socorro-bootstrap create-ami from %s", o->source_ami);
	add_tags(&p, 1, "image", o, name);
	add_tags(&p, 2, "snapshot", o, name);
	int rc = aws_query_call(r->ec2, "CreateImage", &p, &doc, &e);
	aws_params_free(&p);
	/* Duplicate: the name was free before the build, so this is a retry
	 * of a call whose answer was lost, and the image is ours. */
	bool dup = rc != 0 && strcmp(e.code, "InvalidAMIName.Duplicate") == 0;
	if (rc != 0 && !lost(rc) && !dup) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	if (rc == 0) {
		const char *id = xml_text(doc.root, "imageId");
		if (id == NULL || str_copy(r->image_id, sizeof(r->image_id), id) == -1) {
			str_copy(e.text, sizeof(e.text), "ec2 CreateImage: no image id in the answer");
			rc = EX_UNAVAILABLE;
		}
		xml_free(&doc);
	}
	if (rc != 0 && (rc = find_image(r, name, rc, e.text)) != 0)
		return rc;
	log_info(r->lg, "image %s (%s) being created from %s", r->image_id, name, r->instance_id);
	return 0;
}

static int
wait_available(struct run *r, time_t deadline)
{
	long poll = POLL_FIRST_MS;
	time_t start = time(NULL);
	for (;;) {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error e;
		aws_params_init(&p);
		aws_params_add(&p, "ImageId.1", r->image_id);
		int rc = aws_query_call(r->ec2, "DescribeImages", &p, &doc, &e);
		aws_params_free(&p);
		if (rc != 0) {
			log_error(r->lg, "%s", e.text);
			return rc;
		}
		char state[32], reason[300];
		const char *s = xml_text(doc.root, "imagesSet/item/imageState");
		const char *why = xml_text(doc.root, "imagesSet/item/stateReason/message");
		str_copy(state, sizeof(state), s ? s : "unknown");
		str_copy(reason, sizeof(reason), why ? why : "no reason given");
		xml_free(&doc);
		if (strcmp(state, "available") == 0)
			break;
		if (strcmp(state, "failed") == 0 || strcmp(state, "invalid") == 0 ||
		    strcmp(state, "deregistered") == 0) {
			log_error(r->lg, "image %s is %s: %s", r->image_id, state, reason);
			return EX_UNAVAILABLE;
		}
		char el[32];
		duration_format((long)(time(NULL) - start), el);
		log_progress(r->lg, "image %s: %s (%s)", r->image_id, state, el);
		if (time(NULL) >= deadline) {
			log_error(r->lg, "image %s not available within the timeout", r->image_id);
			return EX_TEMPFAIL;
		}
		if (!sleep_interruptible(r, poll))
			return EX_TEMPFAIL;
		poll = next_poll(poll);
	}
	log_progress_end(r->lg);
	r->image_ready = true;
	return 0;
}

int
build_run(struct run *r, const struct build_options *o, const char *name,
    const struct buf *user_data, struct buf *out)
{
	time_t deadline = time(NULL) + o->timeout;
	struct buf text;
	buf_init(&text, 4u << 20);
	int rc = run_builder(r, o, name, user_data);
	if (rc == 0 && !*r->signalled)
		rc = wait_stopped(r, deadline, &text);
	if (rc == 0 && !*r->signalled)
		rc = provision_status(r, &text);
	if (rc == 0 && !*r->signalled)
		rc = create_image(r, o, name);
	if (rc == 0 && !*r->signalled)
		rc = wait_available(r, deadline);
	buf_free(&text);
	if (rc == 0 && !*r->signalled && buf_printf(out, "%s\n", r->image_id) == -1)
		rc = EX_SOFTWARE;
	return rc;
}

/* terminate the builder; say so, or say what must be done by hand. */
static void
terminate_builder(struct run *r)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "InstanceId.1", r->instance_id);
	int rc = aws_query_call(r->ec2, "TerminateInstances", &p, &doc, &e);
	aws_params_free(&p);
	char state[32] = "";
	if (rc != 0 && lost(rc)) {
		/* Its answer may be what was lost: look before crying wolf. */
		struct aws_params q;
		struct aws_error qe;
		aws_params_init(&q);
		aws_params_add(&q, "InstanceId.1", r->instance_id);
		if (lookup(r, "DescribeInstances", &q,
			"reservationSet/item/instancesSet/item/instanceState/name", state,
			sizeof(state), &qe) != 0)
			state[0] = '\0';
	}
	if (rc == 0) {
		xml_free(&doc);
		log_info(r->lg, "terminated builder %s", r->instance_id);
	} else if (strcmp(e.code, "InvalidInstanceID.NotFound") == 0) {
		log_info(r->lg, "builder %s is already gone", r->instance_id);
	} else if (strcmp(state, "shutting-down") == 0 || strcmp(state, "terminated") == 0) {
		log_info(r->lg, "terminated builder %s (%s)", r->instance_id, e.text);
	} else {
		log_error(r->lg, "%s; builder %s is still there: create-ami --reap will terminate it",
		    e.text, r->instance_id);
	}
}

static void
deregister_image(struct run *r)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "ImageId", r->image_id);
	int rc = aws_query_call(r->ec2, "DeregisterImage", &p, &doc, &e);
	aws_params_free(&p);
	char state[32] = "";
	int f = -1;
	if (rc != 0 && lost(rc)) {
		/* Its answer may be what was lost: is the image still there? */
		struct aws_params q;
		struct aws_error qe;
		aws_params_init(&q);
		aws_params_add(&q, "ImageId.1", r->image_id);
		f = lookup(r, "DescribeImages", &q, "imagesSet/item/imageState", state,
		    sizeof(state), &qe);
		if (f != 0 && f != EX_NOINPUT && strncmp(qe.code, "InvalidAMIID.", 13) == 0)
			f = EX_NOINPUT;
	}
	if (rc == 0) {
		xml_free(&doc);
		log_info(r->lg, "deregistered unfinished image %s", r->image_id);
	} else if (f == EX_NOINPUT || (f == 0 && strcmp(state, "deregistered") == 0)) {
		log_info(r->lg, "deregistered unfinished image %s (%s)", r->image_id, e.text);
	} else {
		log_error(r->lg, "%s; deregister image %s by hand", e.text, r->image_id);
	}
}

void
build_cleanup(struct run *r)
{
	if (r->image_id[0] && !r->image_ready)
		deregister_image(r);
	if (r->instance_id[0])
		terminate_builder(r);
}
