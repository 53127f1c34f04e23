/*
 * self.c: identify-role --self, for an instance that wants to know its
 * own ROLE-ENV (cloud-init user data, a boot script).
 *
 * The instance's tags say who it is: a "socorro:roleenv" tag names the
 * ROLE-ENV directly; otherwise the "aws:autoscaling:groupName" tag that
 * Auto Scaling puts on every instance it launches is matched against the
 * AUTOSCALENAME of every known name.  Tags are read from instance
 * metadata (IMDSv2) when the instance allows tags there, else with
 * DescribeTags on its own instance id, using the instance's role.
 */
#include <string.h>

#include "aws_query.h"
#include "exits.h"
#include "identify-role.h"
#include "imds.h"

#define ROLEENV_TAG "socorro:roleenv"
#define ASG_TAG "aws:autoscaling:groupName"

/* instance_id_ok: "i-" and 8 or 17 hex digits, as EC2 makes them. */
static bool
instance_id_ok(const char *id)
{
	size_t n = strlen(id);
	return strncmp(id, "i-", 2) == 0 && (n == 10 || n == 19) &&
	    strspn(id + 2, "0123456789abcdef") == n - 2;
}

/* read_id: this instance's id from IMDS; 0, or EX_* with one line logged. */
static int
read_id(struct log *lg, struct imds *m, char *id, size_t size)
{
	char err[AWS_ERR_MAX];
	struct buf b;
	buf_init(&b, 256);
	int r = imds_get(m, "instance-id", &b, err, sizeof(err));
	if (r == 0 && (!instance_id_ok(buf_str(&b)) || str_copy(id, size, buf_str(&b)) == -1)) {
		/* A cut or foreign answer (a proxy's page): not an id to act on. */
		char shown[48];
		str_fmt_clip(shown, sizeof(shown), "%s", buf_str(&b));
		str_fmt_clip(err, sizeof(err),
		    "instance metadata: GET /latest/meta-data/instance-id: \"%s\" is not an "
		    "instance id",
		    shown);
		r = EX_UNAVAILABLE;
		buf_free(&b);
		log_error(lg, "--self: cannot read this instance's id (%s)", err);
		return r;
	}
	buf_free(&b);
	if (r == EX_NOINPUT)
		r = EX_UNAVAILABLE;
	/* Off EC2 nothing answers; an HTTP status or a certificate means
	 * something did, and the question would mislead. */
	bool silent = strstr(err, "HTTP ") == NULL && strstr(err, "TLS:") == NULL;
	if ((r == EX_UNAVAILABLE || r == EX_TEMPFAIL) && silent)
		log_error(lg, "--self: cannot read this instance's id (%s); is this an EC2 instance?", err);
	else if (r != 0)
		log_error(lg, "--self: cannot read this instance's id (%s)", err);
	return r;
}

/* tag_from_imds: 0 found, EX_NOINPUT absent (or tags not in IMDS), else EX_*. */
static int
tag_from_imds(struct imds *m, const char *key, char *out, size_t size, char *err, size_t errsize)
{
	struct buf b;
	char path[128];
	buf_init(&b, 512);
	str_fmt(path, sizeof(path), "tags/instance/%s", key);
	int r = imds_get(m, path, &b, err, errsize);
	if (r == 0 && str_copy(out, size, buf_str(&b)) == -1)
		r = EX_DATAERR;
	buf_free(&b);
	return r;
}

/* tags_from_api: both tags of instance id with DescribeTags. */
static int
tags_from_api(struct log *lg, const char *id, char *roleenv, char *asg, size_t size)
{
	char err[AWS_ERR_MAX];
	struct aws_session s;
	struct http_client http;
	struct aws_query ec2;
	int r = aws_session_init(&s, NULL, NULL, err, sizeof(err));
	if (r == 0) {
		log_add_secret(lg, s.cred.secret_access_key);
		log_add_secret(lg, s.cred.session_token);
		r = http_client_init(&http);
		if (r == 0) {
			r = aws_query_init(&ec2, &s, &http, "EC2", "ec2", "ec2", "2016-11-15", err, sizeof(err));
			if (r == 0) {
				struct aws_params p;
				struct xml_doc doc;
				struct aws_error e;
				aws_params_init(&p);
				aws_params_add(&p, "Filter.1.Name", "resource-id");
				aws_params_add(&p, "Filter.1.Value.1", id);
				r = aws_query_call(&ec2, "DescribeTags", &p, &doc, &e);
				aws_params_free(&p);
				if (r != 0)
					str_copy(err, sizeof(err), e.text);
				for (const struct xml_node *t = r ? NULL : xml_first(doc.root, "tagSet/item"); t;
				    t = xml_next(t)) {
					const char *k = xml_text(t, "key"), *v = xml_text(t, "value");
					if (k && v && strcmp(k, ROLEENV_TAG) == 0)
						str_copy(roleenv, size, v);
					if (k && v && strcmp(k, ASG_TAG) == 0)
						str_copy(asg, size, v);
				}
				if (r == 0)
					xml_free(&doc);
			}
			http_client_free(&http);
		}
	}
	aws_session_free(&s);
	if (r != 0)
		log_error(lg, "--self: %s", err);
	return r;
}

int
identify_self(struct log *lg, const struct config *cfg, struct role_info *out)
{
	char err[AWS_ERR_MAX], id[64] = "", roleenv[CFG_VALUE_MAX] = "", asg[CFG_VALUE_MAX] = "";
	struct imds m;
	int r = imds_init(&m, err, sizeof(err));
	if (r != 0) {
		log_error(lg, "--self: %s", err);
		return r;
	}
	if ((r = read_id(lg, &m, id, sizeof(id))) != 0) {
		imds_free(&m);
		return r;
	}
	int t1 = tag_from_imds(&m, ROLEENV_TAG, roleenv, sizeof(roleenv), err, sizeof(err));
	int t2 = t1 == 0 ? EX_NOINPUT : tag_from_imds(&m, ASG_TAG, asg, sizeof(asg), err, sizeof(err));
	imds_free(&m);
	if (t1 != 0 && t2 != 0 && (t1 != EX_NOINPUT || t2 != EX_NOINPUT))
		log_debug(lg, "--self: tags not readable from instance metadata (%s)", err);
	if (t1 != 0 && t2 != 0) {
		log_debug(lg, "--self: reading the tags of %s with DescribeTags", id);
		r = tags_from_api(lg, id, roleenv, asg, sizeof(roleenv));
		if (r != 0)
			return r;
	}
	if (roleenv[0]) {
		log_debug(lg, "--self: %s has tag %s=%s", id, ROLEENV_TAG, roleenv);
		if (config_resolve(cfg, roleenv, out) == 0)
			return 0;
		log_error(lg, "--self: instance %s says it is %s=%s, unknown in %s", id, ROLEENV_TAG,
		    roleenv, cfg->path);
		return EX_DATAERR;
	}
	if (asg[0]) {
		for (size_t i = 0; config_roleenv_at(cfg, NULL, false, i, out) == 0; i++)
			if (strcmp(out->autoscalename, asg) == 0) {
				log_debug(lg, "--self: %s is in group %s", id, asg);
				return 0;
			}
		log_error(lg, "--self: instance %s is in auto-scaling group %s, which no ROLE-ENV in %s uses",
		    id, asg, cfg->path);
		return EX_DATAERR;
	}
	log_error(lg, "--self: instance %s has neither a %s tag nor an %s tag", id, ROLEENV_TAG, ASG_TAG);
	return EX_DATAERR;
}
