/* aws_creds.c: the environment and ~/.aws/{credentials,config}. */
#include "aws_creds.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "buf.h"

void
aws_credentials_wipe(struct aws_credentials *c)
{
	secure_wipe(c, sizeof(*c));
}

const char *
aws_profile_name(const char *profile)
{
	const char *env = getenv("AWS_PROFILE");
	if (profile != NULL && *profile)
		return profile;
	return env != NULL && *env ? env : "default";
}

int
aws_creds_from_env(struct aws_credentials *c, char *err, size_t errsize)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	memset(c, 0, sizeof(*c));
	if ((id == NULL || *id == '\0') && (secret == NULL || *secret == '\0'))
		return 0;
	if (id == NULL || *id == '\0' || secret == NULL || *secret == '\0') {
		str_fmt_clip(err, errsize, "%s is set but %s is not; set both or neither",
		    id && *id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    id && *id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -1;
	}
	if (str_copy(c->access_key_id, sizeof(c->access_key_id), id) == -1 ||
	    str_copy(c->secret_access_key, sizeof(c->secret_access_key), secret) == -1 ||
	    str_copy(c->session_token, sizeof(c->session_token), token ? token : "") == -1) {
		aws_credentials_wipe(c);
		str_fmt_clip(err, errsize, "AWS credentials in the environment are too long");
		return -1;
	}
	c->source = AWS_CRED_ENV;
	str_copy(c->detail, sizeof(c->detail), "the environment");
	return 1;
}

/* What one pass over a shared file is looking for, and what it found. */
struct file_scan {
	const char *section;      /* "NAME" or "profile NAME" */
	struct aws_credentials *c;
	char *region;             /* NULL unless scanning for region */
	size_t regionsize;
	bool found;               /* the section exists */
	bool toolong;
};

static int
on_shared_line(void *user, const char *section, const char *name, const char *value, int line)
{
	struct file_scan *s = user;
	(void)line;
	if (strcmp(section, s->section) != 0)
		return 1;
	s->found = true;
	int r = 0;
	if (s->c != NULL && strcmp(name, "aws_access_key_id") == 0)
		r = str_copy(s->c->access_key_id, sizeof(s->c->access_key_id), value);
	else if (s->c != NULL && strcmp(name, "aws_secret_access_key") == 0)
		r = str_copy(s->c->secret_access_key, sizeof(s->c->secret_access_key), value);
	else if (s->c != NULL && strcmp(name, "aws_session_token") == 0)
		r = str_copy(s->c->session_token, sizeof(s->c->session_token), value);
	else if (s->region != NULL && strcmp(name, "region") == 0)
		r = str_copy(s->region, s->regionsize, value);
	if (r == -1)
		s->toolong = true;
	return 1;
}

/*
 * shared_path: $VAR, else ~/.aws/NAME.  0, or -1 if there is no home to
 * look in (not an error: the source is simply absent).
 */
static int
shared_path(const char *var, const char *name, char *out, size_t outsize)
{
	const char *v = getenv(var);
	if (v != NULL && *v)
		return str_copy(out, outsize, v);
	const char *home = getenv("HOME");
	if (home == NULL || *home == '\0')
		return -1;
	return str_fmt(out, outsize, "%s/.aws/%s", home, name);
}

/* scan_file: 1 section found, 0 file or section absent, -1 error. */
static int
scan_file(const char *path, struct file_scan *s, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		str_fmt_clip(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	int r = ini_parse_file(f, on_shared_line, s);
	fclose(f);
	if (r != 0) {
		str_fmt_clip(err, errsize, "%s:%d: syntax error", path, r);
		return -1;
	}
	if (s->toolong) {
		str_fmt_clip(err, errsize, "%s: a value in [%s] is too long", path, s->section);
		return -1;
	}
	return s->found;
}

int
aws_creds_from_files(const char *profile, struct aws_credentials *c, char *err, size_t errsize)
{
	char path[1024], section[AWS_PROFILE_MAX + 8];
	const char *name = aws_profile_name(profile);
	memset(c, 0, sizeof(*c));

	/* ~/.aws/credentials: [NAME]; then ~/.aws/config: [profile NAME]. */
	static const struct {
		const char *var, *file, *prefix;
	} files[] = {
		{ "AWS_SHARED_CREDENTIALS_FILE", "credentials", "" },
		{ "AWS_CONFIG_FILE", "config", "profile " },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (shared_path(files[i].var, files[i].file, path, sizeof(path)) == -1)
			continue;
		const char *prefix = strcmp(name, "default") == 0 ? "" : files[i].prefix;
		if (str_fmt(section, sizeof(section), "%s%s", prefix, name) == -1) {
			str_fmt_clip(err, errsize, "profile name too long");
			return -1;
		}
		struct file_scan s = { .section = section, .c = c };
		int r = scan_file(path, &s, err, errsize);
		if (r == -1) {
			aws_credentials_wipe(c);
			return -1;
		}
		if (r == 0 || (c->access_key_id[0] == '\0' && c->secret_access_key[0] == '\0'))
			continue;
		if (c->access_key_id[0] == '\0' || c->secret_access_key[0] == '\0') {
			str_fmt_clip(err, errsize, "%s: [%s] needs both aws_access_key_id and aws_secret_access_key",
			    path, section);
			aws_credentials_wipe(c);
			return -1;
		}
		c->source = AWS_CRED_FILE;
		str_fmt_clip(c->detail, sizeof(c->detail), "profile %s in %s", name, path);
		return 1;
	}
	aws_credentials_wipe(c);
	return 0;
}

int
aws_region_from_files(const char *profile, char *out, size_t outsize, char *err, size_t errsize)
{
	char path[1024], section[AWS_PROFILE_MAX + 8];
	const char *name = aws_profile_name(profile);
	if (shared_path("AWS_CONFIG_FILE", "config", path, sizeof(path)) == -1)
		return 0;
	if (str_fmt(section, sizeof(section), "%s%s", strcmp(name, "default") ? "profile " : "", name) == -1) {
		str_fmt_clip(err, errsize, "profile name too long");
		return -1;
	}
	out[0] = '\0';
	struct file_scan s = { .section = section, .region = out, .regionsize = outsize };
	int r = scan_file(path, &s, err, errsize);
	if (r <= 0)
		return r;
	return out[0] != '\0';
}
