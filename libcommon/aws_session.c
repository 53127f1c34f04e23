/* aws_session.c: the credential chain, the region, service endpoints. */
#include "aws_session.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "exits.h"

static int
ensure_imds(struct aws_session *s, char *err, size_t errsize)
{
	if (s->imds_ready)
		return 0;
	int r = imds_init(&s->imds, err, errsize);
	if (r == 0)
		s->imds_ready = true;
	return r;
}

static int
resolve_region(struct aws_session *s, const char *flag, char *err, size_t errsize)
{
	const char *sources[][2] = {
		{ flag, "--region" },
		{ getenv("AWS_REGION"), "AWS_REGION" },
		{ getenv("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION" },
	};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (sources[i][0] == NULL || *sources[i][0] == '\0')
			continue;
		str_copy(s->region_source, sizeof(s->region_source), sources[i][1]);
		if (str_copy(s->region, sizeof(s->region), sources[i][0]) == -1) {
			str_fmt_clip(err, errsize, "%s: region name too long", sources[i][1]);
			return EX_CONFIG;
		}
		return 0;
	}
	int r = aws_region_from_files(s->profile, s->region, sizeof(s->region), err, errsize);
	if (r == -1)
		return EX_CONFIG;
	if (r == 1) {
		str_fmt_clip(s->region_source, sizeof(s->region_source), "profile %s", s->profile);
		return 0;
	}
	char ierr[AWS_ERR_MAX];
	if (ensure_imds(s, ierr, sizeof(ierr)) == 0 &&
	    imds_region(&s->imds, s->region, sizeof(s->region), ierr, sizeof(ierr)) == 0) {
		str_copy(s->region_source, sizeof(s->region_source), "instance metadata");
		return 0;
	}
	str_fmt_clip(err, errsize, "no AWS region: give --region or set AWS_REGION "
				   "(not in ~/.aws/config either, and instance metadata did not answer)");
	return EX_CONFIG;
}

static int
resolve_credentials(struct aws_session *s, char *err, size_t errsize)
{
	int r = aws_creds_from_env(&s->cred, err, errsize);
	if (r == 0)
		r = aws_creds_from_files(s->profile, &s->cred, err, errsize);
	if (r == -1)
		return EX_CONFIG;
	if (r == 1)
		return 0;
	char ierr[AWS_ERR_MAX];
	r = ensure_imds(s, ierr, sizeof(ierr));
	if (r == 0)
		r = imds_credentials(&s->imds, &s->cred, ierr, sizeof(ierr));
	if (r == 0)
		return 0;
	str_fmt_clip(err, errsize, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
				   "or a profile in ~/.aws/credentials, or run on an instance with a role (%s)",
	    ierr);
	return EX_CONFIG;
}

int
aws_session_init(struct aws_session *s, const char *region, const char *profile, char *err,
    size_t errsize)
{
	memset(s, 0, sizeof(*s));
	if (str_copy(s->profile, sizeof(s->profile), aws_profile_name(profile)) == -1) {
		str_fmt_clip(err, errsize, "profile name too long");
		return EX_CONFIG;
	}
	int r = resolve_region(s, region, err, errsize);
	if (r == 0)
		r = resolve_credentials(s, err, errsize);
	return r;
}

int
aws_session_refresh(struct aws_session *s, char *err, size_t errsize)
{
	if (s->cred.source != AWS_CRED_IMDS || s->cred.expiration == 0 ||
	    time(NULL) + 300 < s->cred.expiration)
		return 0;
	struct aws_credentials fresh;
	int r = imds_credentials(&s->imds, &fresh, err, errsize);
	if (r == 0) {
		aws_credentials_wipe(&s->cred);
		s->cred = fresh;
	}
	aws_credentials_wipe(&fresh);
	return r;
}

void
aws_session_free(struct aws_session *s)
{
	aws_credentials_wipe(&s->cred);
	if (s->imds_ready)
		imds_free(&s->imds);
	s->imds_ready = false;
}

int
aws_endpoint(const char *env_name, const char *prefix, const char *region, char *out,
    size_t outsize)
{
	char var[64];
	if (str_fmt(var, sizeof(var), "AWS_ENDPOINT_URL_%s", env_name) == -1)
		return -1;
	const char *v = getenv(var);
	if (v == NULL || *v == '\0')
		v = getenv("AWS_ENDPOINT_URL");
	if (v != NULL && *v != '\0') {
		size_t n = strlen(v);
		while (n > 0 && v[n - 1] == '/')
			n--;
		if (n >= outsize)
			return -1;
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return str_fmt(out, outsize, "https://%s.%s.amazonaws.com", prefix, region);
}
