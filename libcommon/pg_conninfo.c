/*
 * pg_conninfo.c: connection strings, PG* variables and defaults, the
 * libpq way (see pg_conninfo.h).  The password file is in pg_pgpass.c.
 */
#include "pg_conninfo.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static const char *const keywords[PG_CI_NKEYS] = { "host", "hostaddr", "port", "user",
	"password", "dbname", "sslmode", "sslrootcert", "connect_timeout", "passfile",
	"application_name" };
static const char *const envvars[PG_CI_NKEYS] = { "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER",
	"PGPASSWORD", "PGDATABASE", "PGSSLMODE", "PGSSLROOTCERT", "PGCONNECT_TIMEOUT",
	"PGPASSFILE", "PGAPPNAME" };
static const char *const sslmodes[] = { "disable", "allow", "prefer", "require", "verify-ca",
	"verify-full", NULL };

void
pg_conninfo_init(struct pg_conninfo *ci)
{
	memset(ci, 0, sizeof(*ci));
}

void
pg_conninfo_wipe(struct pg_conninfo *ci)
{
	secure_wipe(ci, sizeof(*ci));
}

const char *
pg_conninfo_get(const struct pg_conninfo *ci, enum pg_ci_key k)
{
	return ci->set[k] ? ci->val[k] : NULL;
}

static int
key_index(const char *key)
{
	for (int i = 0; i < PG_CI_NKEYS; i++)
		if (strcmp(key, keywords[i]) == 0)
			return i;
	return -1;
}

int
pg_conninfo_set(struct pg_conninfo *ci, const char *key, const char *value, char *err,
    size_t errsz)
{
	int k = key_index(key);
	/* The JDBC-style ssl=true that libpq also accepts in URIs. */
	if (k == -1 && strcmp(key, "ssl") == 0 && strcmp(value, "true") == 0) {
		k = PG_CI_SSLMODE;
		value = "require";
	}
	if (k == -1) {
		str_fmt_clip(err, errsz, "unknown connection setting \"%s\" (known: host hostaddr "
		    "port user password dbname sslmode sslrootcert connect_timeout passfile "
		    "application_name)", key);
		return -1;
	}
	if (k == PG_CI_HOST && strchr(value, ',') != NULL) {
		str_fmt_clip(err, errsz, "host \"%s\": only one host is supported", value);
		return -1;
	}
	if (str_copy(ci->val[k], sizeof(ci->val[k]), value) == -1) {
		str_fmt_clip(err, errsz, "connection setting %s is too long", key);
		return -1;
	}
	ci->set[k] = true;
	return 0;
}

void
pg_conninfo_fill(struct pg_conninfo *ci, const struct pg_conninfo *src)
{
	for (int i = 0; i < PG_CI_NKEYS; i++)
		if (!ci->set[i] && src->set[i]) {
			memcpy(ci->val[i], src->val[i], sizeof(ci->val[i]));
			ci->set[i] = true;
		}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* decode percent-decodes s[0..n) into out; -1 on a bad escape or a NUL. */
static int
decode(const char *s, size_t n, char *out, size_t outsz, char *err, size_t errsz)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			c = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
			if (c <= 0) {
				str_fmt_clip(err, errsz, "bad percent-encoding in connection URI");
				return -1;
			}
			i += 2;
		}
		if (j + 1 >= outsz) {
			str_fmt_clip(err, errsz, "connection URI part too long");
			return -1;
		}
		out[j++] = (char)c;
	}
	out[j] = '\0';
	return 0;
}

/* set_part decodes s[0..n) and sets keyword key to it. */
static int
set_part(struct pg_conninfo *ci, const char *key, const char *s, size_t n, char *err,
    size_t errsz)
{
	char v[PG_CI_VALUE_MAX];
	int r = decode(s, n, v, sizeof(v), err, errsz) == 0 ? pg_conninfo_set(ci, key, v, err,
	    errsz) : -1;
	secure_wipe(v, sizeof(v));
	return r;
}

static int
parse_query(struct pg_conninfo *ci, const char *q, char *err, size_t errsz)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		char key[64];
		if (eq == NULL) {
			str_fmt_clip(err, errsz, "connection URI parameter without '=': %.*s",
			    (int)(n > 64 ? 64 : n), q);
			return -1;
		}
		if (decode(q, (size_t)(eq - q), key, sizeof(key), err, errsz) == -1 ||
		    set_part(ci, key, eq + 1, n - (size_t)(eq + 1 - q), err, errsz) == -1)
			return -1;
		q += n + (q[n] == '&');
	}
	return 0;
}

/* parse_hostport reads "host", "host:port", "[v6]:port" or ":port". */
static int
parse_hostport(struct pg_conninfo *ci, const char *s, size_t n, char *err, size_t errsz)
{
	const char *port = NULL;
	size_t hn = n;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL) {
			str_fmt_clip(err, errsz, "connection URI: missing ']' after IPv6 address");
			return -1;
		}
		if (set_part(ci, "host", s + 1, (size_t)(close - s - 1), err, errsz) == -1)
			return -1;
		if (close + 1 < s + n && close[1] == ':')
			port = close + 2;
		else if (close + 1 != s + n) {
			str_fmt_clip(err, errsz, "connection URI: junk after IPv6 address");
			return -1;
		}
		hn = 0;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon != NULL) {
			port = colon + 1;
			hn = (size_t)(colon - s);
		}
	}
	if (hn > 0 && set_part(ci, "host", s, hn, err, errsz) == -1)
		return -1;
	if (port != NULL && port < s + n &&
	    set_part(ci, "port", port, (size_t)(s + n - port), err, errsz) == -1)
		return -1;
	return 0;
}

static int
parse_uri(struct pg_conninfo *ci, const char *s, char *err, size_t errsz)
{
	const char *p = strstr(s, "://") + 3;
	size_t auth_len = strcspn(p, "/?");
	const char *at = NULL;
	for (size_t i = 0; i < auth_len; i++)
		if (p[i] == '@')
			at = p + i; /* the last '@': a password may hold one, encoded or not */
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (ulen > 0 && set_part(ci, "user", p, ulen, err, errsz) == -1)
			return -1;
		if (colon != NULL &&
		    set_part(ci, "password", colon + 1, (size_t)(at - colon - 1), err, errsz) == -1)
			return -1;
		auth_len -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (parse_hostport(ci, p, auth_len, err, errsz) == -1)
		return -1;
	p += auth_len;
	if (*p == '/') {
		p++;
		size_t n = strcspn(p, "?");
		if (n > 0 && set_part(ci, "dbname", p, n, err, errsz) == -1)
			return -1;
		p += n;
	}
	return *p == '?' ? parse_query(ci, p + 1, err, errsz) : 0;
}

/* kv_value reads one value at *pp (quoted or bare) into out. */
static int
kv_value(const char **pp, char *out, size_t outsz, char *err, size_t errsz)
{
	const char *p = *pp;
	size_t j = 0;
	bool quoted = *p == '\'';
	if (quoted)
		p++;
	for (;;) {
		if (*p == '\0') {
			if (quoted) {
				str_fmt_clip(err, errsz, "unterminated quoted value in connection string");
				return -1;
			}
			break;
		}
		if (quoted ? *p == '\'' : isspace((unsigned char)*p)) {
			p += quoted;
			break;
		}
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (j + 1 >= outsz) {
			str_fmt_clip(err, errsz, "value too long in connection string");
			return -1;
		}
		out[j++] = *p++;
	}
	out[j] = '\0';
	*pp = p;
	return 0;
}

static int
parse_keywords(struct pg_conninfo *ci, const char *s, char *err, size_t errsz)
{
	char key[64], val[PG_CI_VALUE_MAX];
	int r = 0;
	const char *p = s;
	while (r == 0) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, "= \t\n\r\f\v");
		if (n == 0 || n >= sizeof(key)) {
			str_fmt_clip(err, errsz, "bad connection string near \"%.20s\"", p);
			r = -1;
			break;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		p += n;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			str_fmt_clip(err, errsz, "missing \"=\" after \"%s\" in connection string", key);
			r = -1;
			break;
		}
		p++;
		while (isspace((unsigned char)*p))
			p++;
		r = kv_value(&p, val, sizeof(val), err, errsz);
		if (r == 0)
			r = pg_conninfo_set(ci, key, val, err, errsz);
	}
	secure_wipe(val, sizeof(val));
	return r;
}

int
pg_conninfo_parse(struct pg_conninfo *ci, const char *s, char *err, size_t errsz)
{
	if (strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0)
		return parse_uri(ci, s, err, errsz);
	if (strstr(s, "://") != NULL && strchr(s, '=') == NULL) {
		str_fmt_clip(err, errsz, "connection URI must start with postgres:// or "
		    "postgresql://");
		return -1;
	}
	return parse_keywords(ci, s, err, errsz);
}

int
pg_conninfo_env(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz)
{
	for (int i = 0; i < PG_CI_NKEYS; i++) {
		const char *v = get(envvars[i]);
		if (ci->set[i] || v == NULL || *v == '\0')
			continue;
		if (pg_conninfo_set(ci, keywords[i], v, err, errsz) == -1) {
			str_fmt_clip(err, errsz, "%s: value unusable (too long, or a host list)",
			    envvars[i]);
			return -1;
		}
	}
	return 0;
}

/* default_host: a socket directory holding the port's socket, else localhost. */
static void
default_host(struct pg_conninfo *ci, const char *port)
{
	static const char *const dirs[] = { "/var/run/postgresql", "/tmp", NULL };
	char path[256];
	for (int i = 0; dirs[i] != NULL; i++) {
		struct stat st;
		if (str_fmt(path, sizeof(path), "%s/.s.PGSQL.%s", dirs[i], port) == 0 &&
		    stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			str_copy(ci->val[PG_CI_HOST], sizeof(ci->val[PG_CI_HOST]), dirs[i]);
			ci->set[PG_CI_HOST] = true;
			return;
		}
	}
	str_copy(ci->val[PG_CI_HOST], sizeof(ci->val[PG_CI_HOST]), "localhost");
	ci->set[PG_CI_HOST] = true;
}

static int
default_user(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz)
{
	const char *u = get("USER");
	struct passwd *pw = NULL;
	if (u == NULL || *u == '\0') {
		pw = getpwuid(geteuid());
		u = pw ? pw->pw_name : NULL;
	}
	if (u == NULL || str_copy(ci->val[PG_CI_USER], sizeof(ci->val[PG_CI_USER]), u) == -1) {
		str_fmt_clip(err, errsz, "no database user: set user in the connection string "
		    "or PGUSER");
		return -1;
	}
	ci->set[PG_CI_USER] = true;
	return 0;
}

int
pg_conninfo_finish(struct pg_conninfo *ci, pg_getenv_fn get, char *err, size_t errsz)
{
	long v;
	if (!ci->set[PG_CI_PORT] || ci->val[PG_CI_PORT][0] == '\0')
		pg_conninfo_set(ci, "port", PG_DEFAULT_PORT, err, errsz);
	if (str_to_long(ci->val[PG_CI_PORT], 1, 65535, &v) == -1) {
		str_fmt_clip(err, errsz, "port \"%s\" is not a number from 1 to 65535",
		    ci->val[PG_CI_PORT]);
		return -1;
	}
	if (!ci->set[PG_CI_HOST] || ci->val[PG_CI_HOST][0] == '\0')
		default_host(ci, ci->val[PG_CI_PORT]);
	if ((!ci->set[PG_CI_USER] || ci->val[PG_CI_USER][0] == '\0') &&
	    default_user(ci, get, err, errsz) == -1)
		return -1;
	if (!ci->set[PG_CI_DBNAME] || ci->val[PG_CI_DBNAME][0] == '\0')
		pg_conninfo_set(ci, "dbname", ci->val[PG_CI_USER], err, errsz);
	if (ci->set[PG_CI_SSLMODE]) {
		bool known = false;
		for (int i = 0; sslmodes[i] != NULL; i++)
			known |= strcmp(ci->val[PG_CI_SSLMODE], sslmodes[i]) == 0;
		if (!known) {
			str_fmt_clip(err, errsz, "sslmode \"%s\": use disable, allow, prefer, "
			    "require, verify-ca or verify-full", ci->val[PG_CI_SSLMODE]);
			return -1;
		}
	}
	if (ci->set[PG_CI_CONNECT_TIMEOUT] &&
	    str_to_long(ci->val[PG_CI_CONNECT_TIMEOUT], 0, 86400, &v) == -1) {
		str_fmt_clip(err, errsz, "connect_timeout \"%s\" is not a number of seconds",
		    ci->val[PG_CI_CONNECT_TIMEOUT]);
		return -1;
	}
	return 0;
}

bool
pg_conninfo_is_socket(const struct pg_conninfo *ci)
{
	return ci->set[PG_CI_HOST] && ci->val[PG_CI_HOST][0] == '/' &&
	    !(ci->set[PG_CI_HOSTADDR] && ci->val[PG_CI_HOSTADDR][0] != '\0');
}

bool
pg_conninfo_is_local(const struct pg_conninfo *ci)
{
	const char *h = ci->set[PG_CI_HOSTADDR] && ci->val[PG_CI_HOSTADDR][0]
	    ? ci->val[PG_CI_HOSTADDR] : ci->val[PG_CI_HOST];
	return pg_conninfo_is_socket(ci) || strcasecmp(h, "localhost") == 0 ||
	    strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

enum pg_sslmode
pg_conninfo_sslmode(const struct pg_conninfo *ci)
{
	if (ci->set[PG_CI_SSLMODE])
		for (int i = 0; sslmodes[i] != NULL; i++)
			if (strcmp(ci->val[PG_CI_SSLMODE], sslmodes[i]) == 0)
				return (enum pg_sslmode)i;
	if (pg_conninfo_is_socket(ci))
		return PG_SSL_DISABLE;
	return pg_conninfo_is_local(ci) ? PG_SSL_PREFER : PG_SSL_VERIFY_FULL;
}

const char *
pg_sslmode_name(enum pg_sslmode m)
{
	return m <= PG_SSL_VERIFY_FULL ? sslmodes[m] : "?";
}

void
pg_conninfo_describe(const struct pg_conninfo *ci, char *out, size_t outsz)
{
	const char *h = ci->val[PG_CI_HOST];
	if (pg_conninfo_is_socket(ci))
		str_fmt_clip(out, outsz, "%s@%s/.s.PGSQL.%s dbname=%s", ci->val[PG_CI_USER], h,
		    ci->val[PG_CI_PORT], ci->val[PG_CI_DBNAME]);
	else
		str_fmt_clip(out, outsz, "%s@%s%s%s:%s/%s", ci->val[PG_CI_USER],
		    strchr(h, ':') ? "[" : "", h, strchr(h, ':') ? "]" : "", ci->val[PG_CI_PORT],
		    ci->val[PG_CI_DBNAME]);
}
