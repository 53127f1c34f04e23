/*
 * pg_pgpass.c: the password file (~/.pgpass, PGPASSFILE, passfile), read
 * as libpq reads it: the first line whose four fields match wins; the
 * file is ignored when it is not a plain file or group/others may read
 * it (libpq's rule: 0600 or stricter).
 */
#include "pg_conninfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

/* field reads one ':'-separated field at *pp, undoing '\' escapes. */
static void
field(char **pp, char *out, size_t outsz)
{
	char *p = *pp;
	size_t j = 0;
	while (*p && *p != ':') {
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (j + 1 < outsz)
			out[j++] = *p;
		p++;
	}
	out[j] = '\0';
	*pp = *p == ':' ? p + 1 : p;
}

static int
match(const char *pattern, const char *value)
{
	return strcmp(pattern, "*") == 0 || strcmp(pattern, value) == 0;
}

int
pg_pgpass_lookup(const char *path, const char *host, const char *port, const char *db,
    const char *user, char *out, size_t outsz, char *err, size_t errsz, char *warn,
    size_t warnsz)
{
	struct stat st;
	char line[4096], f[4][PG_CI_VALUE_MAX];
	int found = 0;

	FILE *fp = fopen(path, "re");
	if (fp == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		str_fmt_clip(err, errsz, "cannot read password file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		if (warn != NULL)
			str_fmt_clip(warn, warnsz, "password file %s ignored: it must be a plain "
			    "file that only its owner can read (chmod 0600 %s)", path, path);
		fclose(fp);
		return 0;
	}
	/* A socket connection matches the "localhost" entries, as in libpq. */
	if (host[0] == '/')
		host = "localhost";
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *p = line;
		for (int i = 0; i < 4; i++)
			field(&p, f[i], sizeof(f[i]));
		if (!match(f[0], host) || !match(f[1], port) || !match(f[2], db) ||
		    !match(f[3], user))
			continue;
		/* The password is the rest of the line, escapes undone. */
		field(&p, f[0], sizeof(f[0]));
		if (str_copy(out, outsz, f[0]) == -1) {
			str_fmt_clip(err, errsz, "password in %s too long", path);
			found = -1;
		} else {
			found = 1;
		}
	}
	secure_wipe(line, sizeof(line));
	secure_wipe(f, sizeof(f));
	fclose(fp);
	return found;
}

int
pg_conninfo_password(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz,
    char *warn, size_t warnsz)
{
	char path[PG_CI_VALUE_MAX];
	if (ci->set[PG_CI_PASSWORD])
		return 0;
	if (ci->set[PG_CI_PASSFILE] && ci->val[PG_CI_PASSFILE][0] != '\0') {
		if (str_copy(path, sizeof(path), ci->val[PG_CI_PASSFILE]) == -1)
			return 0;
	} else {
		const char *home = get("HOME");
		if (home == NULL || *home == '\0' || str_fmt(path, sizeof(path), "%s/.pgpass",
		    home) == -1)
			return 0;
	}
	const char *host = ci->set[PG_CI_HOST] ? ci->val[PG_CI_HOST] : "localhost";
	int r = pg_pgpass_lookup(path, host, ci->val[PG_CI_PORT], ci->val[PG_CI_DBNAME],
	    ci->val[PG_CI_USER], ci->val[PG_CI_PASSWORD], sizeof(ci->val[PG_CI_PASSWORD]), err,
	    errsz, warn, warnsz);
	if (r == 1)
		ci->set[PG_CI_PASSWORD] = true;
	return r;
}
