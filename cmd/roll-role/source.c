/*
 * source.c: the group's new launch source, and its removal on rollback.
 *
 * A launch template gets a new version made from the version the group
 * uses, with only the ImageId changed (CreateLaunchTemplateVersion with
 * SourceVersion; a client token makes a retried call create nothing
 * twice).  A launch configuration cannot be changed, so it is copied
 * field by field under a new name with the new ImageId.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exits.h"
#include "roll-role.h"

/* Fields of a described launch configuration that are not inputs. */
static const char *const lc_skip[] = { "LaunchConfigurationName", "LaunchConfigurationARN",
	"CreatedTime", "ImageId", NULL };

static bool
skipped(const char *name)
{
	for (int i = 0; lc_skip[i]; i++)
		if (strcmp(lc_skip[i], name) == 0)
			return true;
	return false;
}

/*
 * copy_fields turns the elements below n (a DescribeLaunchConfigurations
 * member) into CreateLaunchConfiguration parameters: the same names,
 * lists as Name.member.N, structures as Name.Field.  Empty values are
 * left out: AWS describes unset fields (KernelId, ...) as empty strings
 * but refuses empty strings as input.
 */
static void
copy_fields(struct aws_params *p, const struct xml_node *n, const char *prefix, bool top)
{
	for (const struct xml_node *c = n->first; c; c = c->next) {
		char key[300];
		if (top && skipped(c->name))
			continue;
		if (str_fmt(key, sizeof(key), "%s%s", prefix, c->name) == -1) {
			p->failed = true;
			return;
		}
		if (c->first == NULL) {
			if (c->textlen > 0)
				aws_params_add(p, key, c->text);
		} else if (strcmp(c->first->name, "member") == 0) {
			int i = 0;
			for (const struct xml_node *m = c->first; m; m = xml_next(m)) {
				char item[340];
				if (str_fmt(item, sizeof(item), "%s.member.%d%s", key, ++i,
					m->first ? "." : "") == -1) {
					p->failed = true;
					return;
				}
				if (m->first == NULL)
					aws_params_add(p, item, m->text);
				else
					copy_fields(p, m, item, false);
			}
		} else {
			char sub[310];
			if (str_fmt(sub, sizeof(sub), "%s.", key) == -1) {
				p->failed = true;
				return;
			}
			copy_fields(p, c, sub, false);
		}
	}
}

static int
copy_launch_configuration(struct roll *r)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "LaunchConfigurationNames.member.1", r->before.lc);
	int rc = call(r, r->asg, "DescribeLaunchConfigurations", &p, &doc, &e);
	if (rc != 0)
		return rc;
	const struct xml_node *m =
	    xml_first(doc.root, "DescribeLaunchConfigurationsResult/LaunchConfigurations/member");
	if (m == NULL) {
		xml_free(&doc);
		log_error(r->lg, "launch configuration %s is gone", r->before.lc);
		return EX_DATAERR;
	}
	/* A new, unique name: group, AMI and the time, to the second. */
	char stamp[20];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&now));
	if (str_fmt(r->new_lc, sizeof(r->new_lc), "%s-%s-%s", r->before.name, r->ami, stamp) == -1)
		str_fmt(r->new_lc, sizeof(r->new_lc), "roll-role-%s-%s", r->ami, stamp);
	aws_params_init(&p);
	aws_params_add(&p, "LaunchConfigurationName", r->new_lc);
	aws_params_add(&p, "ImageId", r->ami);
	copy_fields(&p, m, "", true);
	xml_free(&doc);
	rc = aws_query_call(r->asg, "CreateLaunchConfiguration", &p, &doc, &e);
	aws_params_free(&p);
	if (rc != 0 && strcmp(e.code, "AlreadyExists") == 0) {
		/* Our own name, made a moment ago: a retry after a lost answer. */
		log_debug(r->lg,
		    "launch configuration %s already exists: a retried call", r->new_lc);
		return 0;
	}
	if (rc != 0) {
		log_error(r->lg, "%s", e.text);
		return rc;
	}
	xml_free(&doc);
	log_info(r->lg, "created launch configuration %s (a copy of %s with %s)", r->new_lc,
	    r->before.lc, r->ami);
	return 0;
}

static int
new_template_version(struct roll *r)
{
	const struct group *g = &r->before;
	unsigned char rnd[16];
	char token[40];
	if (getentropy(rnd, sizeof(rnd)) != 0) {
		log_error(r->lg, "getentropy: %s", strerror(errno));
		return EX_SOFTWARE;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	aws_params_init(&p);
	aws_params_add(&p, "LaunchTemplateId", g->lt_id);
	aws_params_addf(&p, "SourceVersion", "%ld", g->lt_number);
	aws_params_add(&p, "LaunchTemplateData.ImageId", r->ami);
	aws_params_addf(&p, "VersionDescription", "roll-role: %s for %s (from version %ld)", r->ami,
	    g->name, g->lt_number);
	aws_params_add(&p, "ClientToken", token);
	int rc = aws_query_call(r->ec2, "CreateLaunchTemplateVersion", &p, &doc, &e);
	if (rc != 0 && lost(rc)) {
		/* Its answer is lost, not the version: the same client token
		 * gives back the version the first call made, or makes it. */
		log_debug(r->lg, "%s; again, with the same client token", e.text);
		rc = aws_query_call(r->ec2, "CreateLaunchTemplateVersion", &p, &doc, &e);
	}
	aws_params_free(&p);
	if (rc != 0 && lost(rc))
		log_error(r->lg,
		    "%s; a new version of launch template %s may have been made all the same: "
		    "delete it by hand",
		    e.text, g->lt_id);
	else if (rc != 0)
		log_error(r->lg, "%s", e.text);
	if (rc != 0)
		return rc;
	r->new_version = node_number(doc.root, "launchTemplateVersion/versionNumber");
	for (const struct xml_node *w = xml_first(doc.root, "warning/errorSet/item"); w;
	     w = xml_next(w))
		log_warn(r->lg, "launch template %s: %s: %s", g->lt_id, node_text(w, "code"),
		    node_text(w, "message"));
	xml_free(&doc);
	if (r->new_version < 1) {
		r->new_version = 0;
		log_error(r->lg,
		    "ec2 CreateLaunchTemplateVersion: no version number in the answer");
		return EX_UNAVAILABLE;
	}
	log_info(r->lg, "created launch template %s version %ld (version %ld with %s)", g->lt_id,
	    r->new_version, g->lt_number, r->ami);
	return 0;
}

int
source_create(struct roll *r)
{
	return r->before.kind == SRC_LC ? copy_launch_configuration(r) : new_template_version(r);
}

int
source_delete(struct roll *r)
{
	struct aws_params p;
	struct xml_doc doc;
	struct aws_error e;
	int rc;
	aws_params_init(&p);
	if (r->new_lc[0]) {
		aws_params_add(&p, "LaunchConfigurationName", r->new_lc);
		rc = aws_query_call(r->asg, "DeleteLaunchConfiguration", &p, &doc, &e);
		aws_params_free(&p);
		if (rc != 0 && strstr(e.message, "not found") == NULL) {
			log_error(r->lg,
			    "%s; delete launch configuration %s by hand", e.text, r->new_lc);
			return rc;
		}
		if (rc == 0)
			xml_free(&doc);
		log_info(r->lg, "deleted launch configuration %s", r->new_lc);
		r->new_lc[0] = '\0';
		return 0;
	}
	if (r->new_version == 0) {
		aws_params_free(&p);
		return 0;
	}
	aws_params_add(&p, "LaunchTemplateId", r->before.lt_id);
	aws_params_addf(&p, "LaunchTemplateVersion.1", "%ld", r->new_version);
	rc = call(r, r->ec2, "DeleteLaunchTemplateVersions", &p, &doc, &e);
	if (rc != 0) {
		log_error(r->lg, "delete version %ld of launch template %s by hand", r->new_version,
		    r->before.lt_id);
		return rc;
	}
	const struct xml_node *bad =
	    xml_first(doc.root, "unsuccessfullyDeletedLaunchTemplateVersionSet/item");
	if (bad != NULL) {
		log_error(r->lg, "launch template %s version %ld not deleted: %s: %s",
		    r->before.lt_id, r->new_version, node_text(bad, "responseError/code"),
		    node_text(bad, "responseError/message"));
		rc = EX_UNAVAILABLE;
	} else {
		log_info(r->lg, "deleted launch template %s version %ld", r->before.lt_id,
		    r->new_version);
		r->new_version = 0;
	}
	xml_free(&doc);
	return rc;
}
