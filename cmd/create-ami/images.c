/*
 * images.c: finding an AMI by tag (--find, and the "already built"
 * check), and reaping builders a killed run left behind (--reap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "create-ami.h"
#include "exits.h"

int
tag_parse(const char *arg, struct tag *t)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(t->key) || strlen(eq + 1) > 256)
		return -1;
	memcpy(t->key, arg, (size_t)(eq - arg));
	t->key[eq - arg] = '\0';
	t->value = eq + 1;
	return 0;
}

/* parse_iso: "2026-11-22T06:00:00.000Z" or without millis, or 0. */
static time_t
parse_iso(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

int
images_find(struct run *r, const char *key, const char *value, char *id, size_t idsize)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "Owner.1", "self");
	if (strcmp(key, "name") == 0) {
		/* An image name, in any state but gone: names are unique. */
		aws_params_add(&p, "Filter.1.Name", "name");
		aws_params_add(&p, "Filter.1.Value.1", value);
	} else {
		aws_params_addf(&p, "Filter.1.Name", "tag:%s", key);
		aws_params_add(&p, "Filter.1.Value.1", value);
		aws_params_add(&p, "Filter.2.Name", "state");
		aws_params_add(&p, "Filter.2.Value.1", "available");
	}
	int rc = aws_query_call(r->ec2, "DescribeImages", &p, &doc, &e);
	aws_params_free(&p);
	if (rc != 0) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	/* Newest first: creationDate is ISO 8601, so it sorts as text. */
	char best_date[64] = "";
	id[0] = '\0';
	for (const struct xml_node *i = xml_first(doc.root, "imagesSet/item"); i; i = xml_next(i)) {
		const char *iid = xml_text(i, "imageId");
		const char *date = xml_text(i, "creationDate");
		if (iid == NULL)
			continue;
		if (date == NULL)
			date = "";
		if (id[0] == '\0' || strcmp(date, best_date) > 0) {
			str_copy(id, idsize, iid);
			str_copy(best_date, sizeof(best_date), date);
		}
	}
	xml_free(&doc);
	return id[0] ? 0 : EX_NOINPUT;
}

/* builder_due: should this builder be reaped now? */
static bool
builder_due(const struct xml_node *inst, long older_than, time_t now)
{
	if (older_than >= 0) {
		time_t launched = parse_iso(xml_text(inst, "launchTime"));
		return launched != 0 && now - launched >= older_than;
	}
	for (const struct xml_node *t = xml_first(inst, "tagSet/item"); t; t = xml_next(t)) {
		const char *k = xml_text(t, "key");
		if (k != NULL && strcmp(k, EXPIRES_TAG) == 0) {
			time_t exp = parse_iso(xml_text(t, "value"));
			return exp != 0 && exp <= now;
		}
	}
	return false; /* no expiry tag: not ours to judge without --older-than */
}

/* reap_page: one page of builders; terminates (or lists) the due ones. */
static int
reap_page(struct run *r, const struct xml_doc *doc, long older_than, bool dry_run,
    struct buf *out, int *count)
{
	time_t now = time(NULL);
	for (const struct xml_node *res = xml_first(doc->root, "reservationSet/item"); res;
	    res = xml_next(res)) {
		for (const struct xml_node *i = xml_first(res, "instancesSet/item"); i; i = xml_next(i)) {
			const char *id = xml_text(i, "instanceId");
			if (id == NULL || !builder_due(i, older_than, now))
				continue;
			(*count)++;
			if (dry_run) {
				log_info(r->lg, "would terminate builder %s", id);
			} else {
				str_copy(r->instance_id, sizeof(r->instance_id), id);
				build_cleanup(r);
				r->instance_id[0] = '\0';
			}
			if (buf_printf(out, "%s\n", id) == -1)
				return EX_SOFTWARE;
		}
	}
	return 0;
}

int
images_reap(struct run *r, long older_than, bool dry_run, struct buf *out)
{
	char next[1024] = "";
	int count = 0, rc = 0;
	do {
		struct aws_params p;
		struct xml_doc doc;
		struct aws_error e;
		aws_params_init(&p);
		aws_params_add(&p, "Filter.1.Name", "tag-key");
		aws_params_add(&p, "Filter.1.Value.1", BUILDER_TAG);
		aws_params_add(&p, "Filter.2.Name", "instance-state-name");
		aws_params_add(&p, "Filter.2.Value.1", "pending");
		aws_params_add(&p, "Filter.2.Value.2", "running");
		aws_params_add(&p, "Filter.2.Value.3", "stopping");
		aws_params_add(&p, "Filter.2.Value.4", "stopped");
		if (next[0])
			aws_params_add(&p, "NextToken", next);
		rc = aws_query_call(r->ec2, "DescribeInstances", &p, &doc, &e);
		aws_params_free(&p);
		if (rc != 0) {
			log_error(r->lg, "%s", e.text);
			return rc;
		}
		const char *tok = xml_text(doc.root, "nextToken");
		str_copy(next, sizeof(next), tok ? tok : "");
		rc = reap_page(r, &doc, older_than, dry_run, out, &count);
		xml_free(&doc);
	} while (rc == 0 && next[0]);
	if (rc == 0)
		log_info(r->lg, count ? "%s %d builder(s)" : "%s no builders: nothing to reap",
		    dry_run ? "would terminate" : "terminated", count);
	return rc;
}
