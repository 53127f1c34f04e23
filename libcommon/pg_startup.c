/*
 * pg_startup.c: one try at a connection (see pg_startup.h).
 *
 * The sslmode decides the plan: disable, plain; allow, plain then TLS if
 * the server refuses plain; prefer, TLS (unverified) then plain if the
 * server has no TLS or the handshake fails; require, TLS unverified (or
 * verified as verify-ca when sslrootcert is given, as libpq does);
 * verify-ca and verify-full, TLS verified.  Unix sockets never use TLS.
 */
#include "pg_startup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "exits.h"
#include "http.h"
#include "pg_auth.h"
#include "pg_conn_impl.h"

enum verify { V_PLAIN, V_NONE, V_CA, V_FULL };

/* connect_fd connects a non-blocking socket to one address by the deadline. */
static int
connect_fd(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno == EINPROGRESS && pg_wait_fd(fd, POLLOUT, deadline) == 0) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
			return fd;
		errno = e ? e : errno;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
open_unix(struct pg_conn *c, const struct pg_conninfo *ci, int64_t deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (str_fmt(sun.sun_path, sizeof(sun.sun_path), "%s/.s.PGSQL.%s", ci->val[PG_CI_HOST],
	    ci->val[PG_CI_PORT]) == -1) {
		pg_errorf(c, "socket path too long");
		return EX_CONFIG;
	}
	c->fd = connect_fd(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), deadline);
	if (c->fd == -1) {
		pg_errorf(c, "cannot connect to %s: %s", sun.sun_path, strerror(errno));
		return errno == ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE;
	}
	return 0;
}

static int
open_tcp(struct pg_conn *c, const struct pg_conninfo *ci, int64_t deadline)
{
	const char *addr = pg_conninfo_get(ci, PG_CI_HOSTADDR);
	bool numeric = addr != NULL && *addr != '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = numeric ? AI_NUMERICHOST : 0 };
	struct addrinfo *res = NULL;
	int g = getaddrinfo(numeric ? addr : ci->val[PG_CI_HOST], ci->val[PG_CI_PORT], &hints,
	    &res);
	if (g != 0) {
		pg_errorf(c, "cannot resolve %s: %s", numeric ? addr : ci->val[PG_CI_HOST],
		    gai_strerror(g));
		return numeric ? EX_CONFIG : EX_UNAVAILABLE;
	}
	int e = 0;
	for (struct addrinfo *a = res; a != NULL && c->fd == -1; a = a->ai_next) {
		c->fd = connect_fd(a->ai_family, a->ai_addr, a->ai_addrlen, deadline);
		e = errno;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		pg_errorf(c, "cannot connect: %s", strerror(e));
		return e == ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE;
	}
	/* Small messages that wait for an answer: Nagle's algorithm would
	 * hold the TLS handshake's last records for a delayed ACK (40 ms). */
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* ca_path picks the CA file for verification. */
static int
ca_path(struct pg_conn *c, const struct pg_conninfo *ci, char *out, size_t outsz)
{
	static const char *const bundles[] = HTTP_CA_BUNDLES;
	const char *given = pg_conninfo_get(ci, PG_CI_SSLROOTCERT);
	if (given != NULL && *given != '\0' && strcmp(given, "system") != 0)
		return str_copy(out, outsz, given);
	if (given == NULL && c->home != NULL && *c->home &&
	    str_fmt(out, outsz, "%s/.postgresql/root.crt", c->home) == 0 &&
	    access(out, R_OK) == 0)
		return 0;
	if (c->ca_env_file != NULL && *c->ca_env_file)
		return str_copy(out, outsz, c->ca_env_file);
	for (size_t i = 0; bundles[i] != NULL; i++)
		if (access(bundles[i], R_OK) == 0)
			return str_copy(out, outsz, bundles[i]);
	return -1;
}

static int
start_tls(struct pg_conn *c, const struct pg_conninfo *ci, enum verify v, int64_t deadline)
{
	char path[1024], err[512];
	const char *name = NULL;
	if (v == V_FULL) {
		unsigned char a[16];
		name = ci->val[PG_CI_HOST];
		if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1) {
			pg_errorf(c, "sslmode=verify-full needs a host name, not an IP address "
			    "(give host=NAME, and hostaddr=%s to skip the lookup)", name);
			return EX_CONFIG;
		}
	}
	if (v != V_NONE && c->anchors.n == 0) {
		if (ca_path(c, ci, path, sizeof(path)) == -1) {
			pg_errorf(c, "no CA certificates to verify the server with: give "
			    "sslrootcert, PGSSLROOTCERT or SSL_CERT_FILE");
			return EX_CONFIG;
		}
		if (pg_anchors_load(&c->anchors, path, err, sizeof(err)) == -1) {
			pg_errorf(c, "%s", err);
			return EX_CONFIG;
		}
		pg_tracef(c, "verifying the server against %s (%zu CAs)", path, c->anchors.n);
	}
	c->t = malloc(sizeof(*c->t));
	if (c->t == NULL) {
		pg_errorf(c, "out of memory");
		return EX_SOFTWARE;
	}
	int rc = pg_tls_start(c->t, c->fd, v == V_NONE ? NULL : &c->anchors, name, deadline, err,
	    sizeof(err));
	if (rc != 0) {
		pg_errorf(c, "%s%s%s", err, v == V_FULL ? " " : "", v == V_FULL ? name : "");
		free(c->t);
		c->t = NULL;
		return rc;
	}
	c->tls = true;
	pg_tracef(c, "TLS established (%s)", v == V_NONE ? "server not verified"
	    : v == V_CA ? "CA verified" : "CA and host name verified");
	return 0;
}

/* ssl_request asks for TLS; *yes tells the server's answer. */
static int
ssl_request(struct pg_conn *c, int64_t deadline, bool *yes)
{
	char answer;
	if (pg_put_ssl_request(&c->out) == -1)
		return EX_SOFTWARE;
	pg_tracef(c, "-> SSLRequest");
	int rc = pg_io_flush(c);
	if (rc != 0)
		return rc;
	/* Exactly one byte: anything read past it would be unencrypted data
	 * slipped in ahead of the handshake (CVE-2021-23222). */
	for (;;) {
		if (pg_wait_fd(c->fd, POLLIN, deadline) == -1) {
			pg_errorf(c, "no answer to SSLRequest: %s", strerror(errno));
			return errno == ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE;
		}
		ssize_t n = recv(c->fd, &answer, 1, 0);
		if (n == 1)
			break;
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			pg_errorf(c, "connection closed after SSLRequest");
			return EX_UNAVAILABLE;
		}
	}
	if (answer != 'S' && answer != 'N') {
		pg_errorf(c, "bad answer to SSLRequest: not a PostgreSQL server?");
		return EX_UNAVAILABLE;
	}
	*yes = answer == 'S';
	pg_tracef(c, "<- SSLRequest answer '%c'", answer);
	return 0;
}

static int
send_startup(struct pg_conn *c, const struct pg_conninfo *ci)
{
	const char *app = pg_conninfo_get(ci, PG_CI_APPNAME);
	const char *params[] = { "user", ci->val[PG_CI_USER], "database", ci->val[PG_CI_DBNAME],
		"application_name", app ? app : c->app_name ? c->app_name : "socorro-bootstrap",
		"client_encoding", "UTF8", NULL, NULL };
	if (pg_put_startup(&c->out, params) == -1) {
		pg_errorf(c, "startup message too long");
		return EX_CONFIG;
	}
	pg_tracef(c, "-> StartupMessage (user %s, database %s)", ci->val[PG_CI_USER],
	    ci->val[PG_CI_DBNAME]);
	return pg_io_flush(c);
}

/* auth_error classifies the server's refusal during startup. */
static int
auth_error(struct pg_conn *c, const struct pg_msg *m)
{
	pg_server_error(c, m);
	const char *s = pg_sqlstate(c);
	if (strncmp(s, "28", 2) == 0 || strcmp(s, "42501") == 0)
		return EX_NOPERM;
	if (strcmp(s, "3D000") == 0)
		return EX_CONFIG;
	return EX_UNAVAILABLE;
}

static const char *
password_of(struct pg_conn *c, const struct pg_conninfo *ci)
{
	const char *pw = pg_conninfo_get(ci, PG_CI_PASSWORD);
	if (pw == NULL)
		pg_errorf(c, "the server asks for a password and none was given "
		    "(PGPASSWORD, the password file, or the connection string)");
	return pw;
}

struct auth_state {
	struct pg_scram scram;
	bool scram_started;
	bool scram_done;
};

/* answer_auth answers one Authentication request. */
static int
answer_auth(struct pg_conn *c, const struct pg_conninfo *ci, const struct pg_auth_req *a,
    struct auth_state *st)
{
	const char *pw;
	char md5[PG_MD5_PASSWORD_SIZE];
	struct buf b;
	int rc = 0;

	switch (a->code) {
	case PG_AUTH_CLEARTEXT:
		if ((pw = password_of(c, ci)) == NULL)
			return EX_NOPERM;
		c->auth = "password";
		pg_tracef(c, "-> PasswordMessage (clear text%s)", c->tls ? ", over TLS" : "");
		return pg_put_password(&c->out, pw) == -1 ? EX_SOFTWARE : pg_io_flush(c);
	case PG_AUTH_MD5:
		if ((pw = password_of(c, ci)) == NULL)
			return EX_NOPERM;
		c->auth = "md5";
		pg_md5_password(ci->val[PG_CI_USER], pw, a->data, md5);
		pg_tracef(c, "-> PasswordMessage (md5)");
		rc = pg_put_password(&c->out, md5) == -1 ? EX_SOFTWARE : pg_io_flush(c);
		secure_wipe(md5, sizeof(md5));
		return rc;
	case PG_AUTH_SASL:
		if (!pg_sasl_has_mech(a, PG_SCRAM_MECH)) {
			pg_errorf(c, "the server offers no SASL mechanism we speak (we speak %s)",
			    PG_SCRAM_MECH);
			return EX_CONFIG;
		}
		if (password_of(c, ci) == NULL)
			return EX_NOPERM;
		c->auth = PG_SCRAM_MECH;
		buf_init(&b, 4096);
		st->scram_started = true;
		if (pg_scram_first(&st->scram, "", NULL, &b) == -1 ||
		    pg_put_sasl_initial(&c->out, PG_SCRAM_MECH, b.data, b.len) == -1)
			rc = EX_SOFTWARE;
		buf_free(&b);
		pg_tracef(c, "-> SASLInitialResponse (%s)", PG_SCRAM_MECH);
		return rc ? rc : pg_io_flush(c);
	case PG_AUTH_SASL_CONTINUE:
		buf_init(&b, 4096);
		if (!st->scram_started || pg_scram_final(&st->scram, password_of(c, ci),
		    (const char *)a->data, a->len, &b) == -1) {
			buf_wipe(&b);
			pg_errorf(c, "bad SCRAM server-first-message");
			return EX_NOPERM;
		}
		rc = pg_put_sasl_response(&c->out, b.data, b.len) == -1 ? EX_SOFTWARE : 0;
		buf_wipe(&b);
		pg_tracef(c, "-> SASLResponse");
		return rc ? rc : pg_io_flush(c);
	case PG_AUTH_SASL_FINAL:
		if (!st->scram_started ||
		    pg_scram_verify(&st->scram, (const char *)a->data, a->len) == -1) {
			pg_errorf(c, "the server's SCRAM signature is wrong: it does not hold "
			    "this role's verifier (not the real server?)");
			return EX_NOPERM;
		}
		st->scram_done = true;
		return 0;
	}
	pg_errorf(c, "the server asks for authentication method %d, which is not supported "
	    "(trust, password, md5 and scram-sha-256 are)", (int)a->code);
	return EX_CONFIG;
}

/* authenticate runs the exchange up to the first ReadyForQuery. */
static int
authenticate(struct pg_conn *c, const struct pg_conninfo *ci, bool *answered)
{
	struct auth_state st = { .scram_started = false };
	struct pg_msg m;
	struct pg_auth_req a;
	int rc;

	pg_scram_init(&st.scram);
	c->auth = "trust";
	while ((rc = pg_io_next(c, &m)) == 0) {
		if (pg_async(c, &m))
			continue;
		if (m.type == 'E') {
			*answered = true;
			rc = auth_error(c, &m);
			break;
		}
		if (m.type == 'R') {
			if (pg_parse_auth(&m, &a) == -1) {
				rc = pg_protocol_error(c, &m, "(malformed)");
				break;
			}
			/* A server may not skip the proof once SCRAM began. */
			if (a.code == PG_AUTH_OK && st.scram_started && !st.scram_done) {
				pg_errorf(c, "the server ended SCRAM without proving itself");
				rc = EX_NOPERM;
				break;
			}
			if (a.code != PG_AUTH_OK && (rc = answer_auth(c, ci, &a, &st)) != 0)
				break;
			continue;
		}
		if (m.type == 'K') {
			if (pg_parse_key_data(&m, &c->pid, &c->key) == 0)
				continue;
		} else if (m.type == 'Z') {
			if (pg_parse_ready(&m, &c->txstatus) == 0)
				break;
		} else if (m.type == 'v') {
			continue; /* NegotiateProtocolVersion: we asked for nothing optional */
		}
		rc = pg_protocol_error(c, &m, "during startup");
		break;
	}
	pg_scram_free(&st.scram);
	return rc;
}

/* deadline_of: connect_timeout (default 10 s, at least 2 s as in libpq). */
static int64_t
deadline_of(const struct pg_conninfo *ci)
{
	long s = PG_DEFAULT_CONNECT_TIMEOUT;
	const char *t = pg_conninfo_get(ci, PG_CI_CONNECT_TIMEOUT);
	if (t != NULL && str_to_long(t, 0, 86400, &s) == -1)
		s = PG_DEFAULT_CONNECT_TIMEOUT;
	if (s == 0)
		return 0;
	return pg_now_ms() + (s < 2 ? 2 : s) * 1000;
}

/* attempt: socket, TLS as v says (prefer: fall back to plain on 'N'). */
static int
attempt(struct pg_conn *c, const struct pg_conninfo *ci, enum verify v, bool prefer,
    bool *answered, bool *tls_failed)
{
	int64_t deadline = deadline_of(ci);
	bool socket = pg_conninfo_is_socket(ci);
	int rc = socket ? open_unix(c, ci, deadline) : open_tcp(c, ci, deadline);
	if (rc != 0)
		return rc;
	if (v != V_PLAIN && !socket) {
		bool yes = false;
		if ((rc = ssl_request(c, deadline, &yes)) != 0)
			return rc;
		if (yes && (rc = start_tls(c, ci, v, deadline)) != 0) {
			*tls_failed = true;
			return rc;
		}
		if (!yes && !prefer) {
			pg_errorf(c, "the server does not offer TLS, and sslmode=%s requires it",
			    pg_sslmode_name(pg_conninfo_sslmode(ci)));
			return EX_CONFIG;
		}
	}
	c->deadline_ms = deadline;
	if ((rc = send_startup(c, ci)) != 0)
		return rc;
	/* Authentication may wait on the server, not on the network: the
	 * deadline still holds for it, as connect_timeout does in libpq.
	 * Queries then have none. */
	if (c->t != NULL)
		c->t->deadline_ms = deadline;
	rc = authenticate(c, ci, answered);
	if (c->t != NULL)
		c->t->deadline_ms = 0;
	c->deadline_ms = 0;
	return rc;
}

int
pg_startup_try(struct pg_conn *c, const struct pg_conninfo *ci, bool *answered)
{
	enum pg_sslmode mode = pg_conninfo_sslmode(ci);
	enum verify v = V_PLAIN;
	bool tls_failed = false;
	int rc;

	switch (mode) {
	case PG_SSL_DISABLE: case PG_SSL_ALLOW: v = V_PLAIN; break;
	case PG_SSL_PREFER: v = V_NONE; break;
	case PG_SSL_REQUIRE:
		v = pg_conninfo_get(ci, PG_CI_SSLROOTCERT) ? V_CA : V_NONE;
		break;
	case PG_SSL_VERIFY_CA: v = V_CA; break;
	case PG_SSL_VERIFY_FULL: v = V_FULL; break;
	}
	rc = attempt(c, ci, v, mode == PG_SSL_PREFER, answered, &tls_failed);
	bool fallback = (mode == PG_SSL_PREFER && tls_failed && rc != EX_CONFIG) ||
	    (mode == PG_SSL_ALLOW && *answered && strcmp(pg_sqlstate(c), "28000") == 0);
	if (rc == 0 || !fallback)
		return rc;
	pg_tracef(c, "sslmode=%s: trying again %s", pg_sslmode_name(mode),
	    mode == PG_SSL_PREFER ? "without TLS" : "with TLS");
	if (c->t != NULL) {
		free(c->t);
		c->t = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->tls = false;
	buf_reset(&c->in);
	buf_reset(&c->out);
	c->in_pos = 0;
	*answered = false;
	return attempt(c, ci, mode == PG_SSL_PREFER ? V_PLAIN : V_NONE, false, answered,
	    &tls_failed);
}
