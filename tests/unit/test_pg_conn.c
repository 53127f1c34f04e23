/*
 * test_pg_conn.c: the client against a scripted backend on a Unix socket
 * (a forked child speaking protocol 3.0 byte by byte): queries, errors
 * and notices; COPY; SCRAM with the server's side computed here; and the
 * forgeries and faults a client must refuse: a wrong server signature,
 * AuthenticationOk before the proof, a malformed message, a server that
 * hangs up, an unsupported method, a server still starting (retried).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bearssl_hash.h>

#include "base64.h"
#include "exits.h"
#include "pg_auth.h"
#include "pg_conn.h"
#include "sigv4.h"

enum scenario { TRUST_QUERY, COPY_IN, SCRAM_GOOD, SCRAM_FORGED, SKIP_PROOF, MALFORMED,
	HANG_UP, GSS, STARTING, WRONG_PASSWORD };

static char dir[64];

/* --- the fake backend (child side) -------------------------------------- */
/* xwrite: a client that gave up may have closed already; that is fine. */
static void
xwrite(int fd, const void *p, size_t n)
{
	(void)!write(fd, p, n);
}

static void
xread(int fd, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			_exit(4);
		got += (size_t)r;
	}
}

static void
send_msg(int fd, char type, const void *body, size_t n)
{
	unsigned char h[5] = { (unsigned char)type, (unsigned char)((n + 4) >> 24),
		(unsigned char)((n + 4) >> 16), (unsigned char)((n + 4) >> 8),
		(unsigned char)(n + 4) };
	xwrite(fd, h, 5);
	xwrite(fd, body, n);
}

/* recv_msg reads one frontend message (startup: type 0) into buf. */
static size_t
recv_msg(int fd, int startup, char *type, char *buf, size_t size)
{
	unsigned char h[4];
	*type = 0;
	if (!startup)
		xread(fd, type, 1);
	xread(fd, h, 4);
	size_t n = ((size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]) - 4;
	if (n >= size)
		_exit(5);
	xread(fd, buf, n);
	buf[n] = '\0';
	return n;
}

/* LIT: a literal body and its length, less the implicit NUL. */
#define LIT(s) s, sizeof(s) - 1

static void
auth(int fd, int code, const void *data, size_t n)
{
	char b[512] = { 0, 0, 0, (char)code };
	memcpy(b + 4, data, n);
	send_msg(fd, 'R', b, n + 4);
}

static void
ready(int fd)
{
	send_msg(fd, 'S', LIT("server_version\0" "15.99\0"));
	send_msg(fd, 'K', LIT("\0\0\0\1\0\0\0\2"));
	send_msg(fd, 'Z', LIT("I"));
}

static void
hmac(const void *k, size_t kl, const void *m, size_t n, unsigned char out[32])
{
	sigv4_hmac_sha256(k, kl, m, n, out);
}

/* scram_server plays the server's side of SCRAM for password "pencil". */
static void
scram_server(int fd, int forge)
{
	static const unsigned char salt[16] = "0123456789abcdef";
	char type, buf[4096], first[512], final_wo[512];
	unsigned char salted[32], ck[32], stored[32], sk[32], sig[32], proof[32];
	struct buf b64, am, p;
	auth(fd, PG_AUTH_SASL, LIT("SCRAM-SHA-256\0\0"));
	size_t n = recv_msg(fd, 0, &type, buf, sizeof(buf));
	/* mechanism\0, int32 length, "n,,n=,r=NONCE" */
	const char *cf = buf + strlen(buf) + 1 + 4;
	if (n < 20 || strncmp(cf, "n,,", 3) != 0)
		_exit(6);
	buf_init(&b64, 4096);
	base64_encode(&b64, salt, 16);
	snprintf(first, sizeof(first), "r=%sSRV,s=%s,i=4096", cf + 8, buf_str(&b64));
	buf_init(&am, 4096);
	buf_printf(&am, "%s,%s,", cf + 3, first);
	auth(fd, PG_AUTH_SASL_CONTINUE, first, strlen(first));
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	char *pp = strstr(buf, ",p=");
	if (pp == NULL)
		_exit(7);
	snprintf(final_wo, sizeof(final_wo), "%.*s", (int)(pp - buf), buf);
	buf_puts(&am, final_wo);
	pg_pbkdf2_sha256("pencil", 6, salt, 16, 4096, salted);
	hmac(salted, 32, "Client Key", 10, ck);
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, ck, 32);
	br_sha256_out(&h, stored);
	/* Check the client's proof as a server would. */
	buf_init(&p, 64);
	base64_decode(&p, pp + 3, strlen(pp + 3));
	hmac(stored, 32, am.data, am.len, sig);
	for (int i = 0; i < 32; i++)
		proof[i] = (unsigned char)(p.data[i] ^ sig[i]);
	br_sha256_init(&h);
	br_sha256_update(&h, proof, 32);
	br_sha256_out(&h, sig);
	if (memcmp(sig, stored, 32) != 0) {
		send_msg(fd, 'E', LIT("SFATAL\0C28P01\0Mbad proof\0\0"));
		_exit(0);
	}
	hmac(salted, 32, "Server Key", 10, sk);
	hmac(sk, 32, am.data, am.len, sig);
	if (forge)
		sig[0] ^= 1;
	buf_reset(&b64);
	buf_puts(&b64, "v=");
	base64_encode(&b64, sig, 32);
	auth(fd, PG_AUTH_SASL_FINAL, b64.data, b64.len);
	auth(fd, PG_AUTH_OK, "", 0);
	ready(fd);
}

static void
query_answers(int fd)
{
	char type, buf[4096];
	static const unsigned char rd[] = { 0, 2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4,
		0xff, 0xff, 0xff, 0xff, 0, 0, 'b', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0, 0 };
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	send_msg(fd, 'T', rd, sizeof(rd));
	send_msg(fd, 'D', LIT("\0\2\0\0\0\1" "1" "\xff\xff\xff\xff"));
	send_msg(fd, 'D', LIT("\0\2\0\0\0\1" "2" "\0\0\0\1" "x"));
	send_msg(fd, 'C', LIT("SELECT 2\0"));
	send_msg(fd, 'Z', LIT("I"));
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	send_msg(fd, 'E', LIT("SERROR\0VERROR\0C42601\0Msyntax error at or near \"x\"\0P8\0\0"));
	send_msg(fd, 'Z', LIT("I"));
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	send_msg(fd, 'N', LIT("SNOTICE\0C00000\0Mjust so you know\0\0"));
	send_msg(fd, 'C', LIT("SET\0"));
	send_msg(fd, 'Z', LIT("I"));
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	if (type != 'X')
		_exit(8);
}

static void
copy_answers(int fd)
{
	char type, buf[70000], tag[32];
	size_t total = 0;
	recv_msg(fd, 0, &type, buf, sizeof(buf));
	send_msg(fd, 'G', LIT("\0\0\1\0\0"));
	for (;;) {
		size_t n = recv_msg(fd, 0, &type, buf, sizeof(buf));
		if (type != 'd')
			break;
		total += n;
	}
	snprintf(tag, sizeof(tag), "COPY %zu", total);
	send_msg(fd, 'C', tag, strlen(tag) + 1);
	send_msg(fd, 'Z', LIT("I"));
}

static void
serve_one(int fd, enum scenario s, int nth)
{
	char type, buf[4096];
	recv_msg(fd, 1, &type, buf, sizeof(buf));
	switch (s) {
	case TRUST_QUERY: auth(fd, PG_AUTH_OK, "", 0); ready(fd); query_answers(fd); break;
	case COPY_IN: auth(fd, PG_AUTH_OK, "", 0); ready(fd); copy_answers(fd); break;
	case SCRAM_GOOD: scram_server(fd, 0); break;
	case SCRAM_FORGED: scram_server(fd, 1); break;
	case SKIP_PROOF:
		auth(fd, PG_AUTH_SASL, LIT("SCRAM-SHA-256\0\0"));
		recv_msg(fd, 0, &type, buf, sizeof(buf));
		auth(fd, PG_AUTH_OK, "", 0);
		ready(fd);
		break;
	case MALFORMED: xwrite(fd, "Z\0\0\0\2", 5); break;
	case HANG_UP: return;
	case GSS: auth(fd, PG_AUTH_GSS, "", 0); break;
	case STARTING:
		if (nth == 0) {
			send_msg(fd, 'E',
			    LIT("SFATAL\0C57P03\0Mthe database system is starting up\0\0"));
			break;
		}
		auth(fd, PG_AUTH_OK, "", 0);
		ready(fd);
		break;
	case WRONG_PASSWORD:
		auth(fd, PG_AUTH_CLEARTEXT, "", 0);
		recv_msg(fd, 0, &type, buf, sizeof(buf));
		if (strcmp(buf, "pencil") != 0)
			_exit(9);
		send_msg(fd, 'E', LIT("SFATAL\0C28P01\0Mpassword authentication failed\0\0"));
		break;
	}
	/* Wait for the client to hang up, so nothing it sends is refused. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* start forks the backend for scenario s; returns its pid. */
static pid_t
start(enum scenario s, int conns)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strncpy(dir, "/tmp/test_pg_conn.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/.s.PGSQL.5432", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid_t pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (int i = 0; i < conns; i++) {
			int fd = accept(lfd, NULL, NULL);
			if (fd == -1)
				_exit(2);
			serve_one(fd, s, i);
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
stop(pid_t pid, int want_clean)
{
	int st;
	char path[128];
	if (!want_clean)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (want_clean)
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fake backend failed: %d", st);
	snprintf(path, sizeof(path), "%s/.s.PGSQL.5432", dir);
	unlink(path);
	rmdir(dir);
}

/* --- the client (test side) ---------------------------------------------- */
static int
connect_fake(struct pg_conn *c, const char *extra)
{
	struct pg_conninfo ci;
	char err[PG_CI_ERR_MAX], s[256];
	snprintf(s, sizeof(s), "host=%s port=5432 user=u dbname=d %s", dir, extra);
	pg_conninfo_init(&ci);
	ck_assert_int_eq(pg_conninfo_parse(&ci, s, err, sizeof(err)), 0);
	pg_conn_init(c);
	c->attempts = 2;
	c->backoff_ms = 10;
	return pg_connect(c, &ci);
}

static int notices;
static void
on_notice(void *ctx, const struct pg_error *e)
{
	(void)ctx;
	ck_assert_str_eq(pg_error_field(e, 'M'), "just so you know");
	notices++;
}

START_TEST(trust_and_queries)
{
	struct pg_conn c;
	struct pg_result r;
	pid_t pid = start(TRUST_QUERY, 1);
	ck_assert_int_eq(connect_fake(&c, ""), 0);
	ck_assert_str_eq(c.auth, "trust");
	ck_assert_str_eq(c.server_version, "15.99");
	pg_result_init(&r);
	ck_assert_int_eq(pg_query(&c, "SELECT ...", &r), 0);
	ck_assert_uint_eq(r.nrows, 2);
	ck_assert_str_eq(pg_column_name(&r, 1), "b");
	ck_assert_str_eq(pg_value(&r, 0, 0), "1");
	ck_assert_ptr_null(pg_value(&r, 0, 1));
	ck_assert_str_eq(pg_value(&r, 1, 1), "x");
	ck_assert_ptr_null(pg_value(&r, 2, 0));
	ck_assert_str_eq(r.tag, "SELECT 2");
	ck_assert_int_eq(pg_query(&c, "SELECT x", &r), EX_DATAERR);
	ck_assert_str_eq(pg_sqlstate(&c), "42601");
	ck_assert_int_eq(pg_error_position(&c.err), 8);
	ck_assert_ptr_nonnull(strstr(c.error, "syntax error"));
	c.notice = on_notice;
	ck_assert_int_eq(pg_query(&c, "SET x = 1", &r), 0); /* still usable */
	ck_assert_int_eq(notices, 1);
	ck_assert_str_eq(r.tag, "SET");
	pg_result_free(&r);
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

static size_t copy_left;
static long
copy_source(void *ctx, char *buf, size_t size)
{
	(void)ctx;
	size_t n = copy_left < size ? copy_left : size;
	memset(buf, 'a', n);
	copy_left -= n;
	return (long)n;
}

START_TEST(copy_in)
{
	struct pg_conn c;
	char tag[64];
	pid_t pid = start(COPY_IN, 1);
	ck_assert_int_eq(connect_fake(&c, ""), 0);
	copy_left = 150000; /* several CopyData messages */
	ck_assert_int_eq(pg_copy_in(&c, "COPY t FROM STDIN", copy_source, NULL, tag), 0);
	ck_assert_str_eq(tag, "COPY 150000");
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

START_TEST(scram_good)
{
	struct pg_conn c;
	pid_t pid = start(SCRAM_GOOD, 1);
	ck_assert_int_eq(connect_fake(&c, "password=pencil"), 0);
	ck_assert_str_eq(c.auth, "SCRAM-SHA-256");
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

START_TEST(scram_forged)
{
	struct pg_conn c;
	pid_t pid = start(SCRAM_FORGED, 1);
	ck_assert_int_eq(connect_fake(&c, "password=pencil"), EX_NOPERM);
	ck_assert_ptr_nonnull(strstr(c.error, "SCRAM signature is wrong"));
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

START_TEST(skip_proof)
{
	struct pg_conn c;
	pid_t pid = start(SKIP_PROOF, 1);
	ck_assert_int_eq(connect_fake(&c, "password=pencil"), EX_NOPERM);
	pg_close(&c);
	stop(pid, 0);
}
END_TEST

START_TEST(faults)
{
	struct pg_conn c;
	pid_t pid = start(MALFORMED, 1);
	ck_assert_int_eq(connect_fake(&c, ""), EX_UNAVAILABLE); /* a protocol violation */
	pg_close(&c);
	stop(pid, 1);
	pid = start(HANG_UP, 2);
	ck_assert_int_eq(connect_fake(&c, ""), EX_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(c.error, "after 2 tries"));
	pg_close(&c);
	stop(pid, 1);
	pid = start(GSS, 1);
	ck_assert_int_eq(connect_fake(&c, ""), EX_CONFIG);
	pg_close(&c);
	stop(pid, 1);
	pid = start(WRONG_PASSWORD, 1);
	ck_assert_int_eq(connect_fake(&c, "password=pencil"), EX_NOPERM);
	ck_assert_str_eq(pg_sqlstate(&c), "28P01");
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

START_TEST(starting_up_is_retried)
{
	struct pg_conn c;
	pid_t pid = start(STARTING, 2);
	ck_assert_int_eq(connect_fake(&c, ""), 0);
	pg_close(&c);
	stop(pid, 1);
}
END_TEST

START_TEST(nobody_there)
{
	struct pg_conn c;
	strncpy(dir, "/nonexistent", sizeof(dir));
	ck_assert_int_eq(connect_fake(&c, ""), EX_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(c.error, "/nonexistent/.s.PGSQL.5432"));
	pg_close(&c);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("pg_conn");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, trust_and_queries);
	tcase_add_test(tc, copy_in);
	tcase_add_test(tc, scram_good);
	tcase_add_test(tc, scram_forged);
	tcase_add_test(tc, skip_proof);
	tcase_add_test(tc, faults);
	tcase_add_test(tc, starting_up_is_retried);
	tcase_add_test(tc, nobody_there);
	suite_add_tcase(s, tc);
	return s;
}
