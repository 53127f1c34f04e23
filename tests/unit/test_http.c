/*
 * test_http.c: the http module against real servers on 127.0.0.1: a
 * Python fault-injecting HTTP server (tests/helpers/http_fault_server.py)
 * and `openssl s_server -www` with certificates from
 * tests/helpers/mkcerts.sh.  Each test starts its own servers and stops
 * them by PID; run from the top of the repository.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <bearssl_hash.h>
#include <jansson.h>

#include "buf.h"
#include "exits.h"
#include "http.h"
#include "http_impl.h"

extern char **environ;

#define FAULT_SERVER "tests/helpers/http_fault_server.py"
#define MKCERTS "tests/helpers/mkcerts.sh"

Suite *suite(void);

/* --- servers ------------------------------------------------------------ */

struct server {
	pid_t pid;
	int port;
	int in; /* the server's stdin: it exits at EOF, should a test die */
};

static int
read_port(int fd)
{
	char line[32];
	size_t n = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	while (n < sizeof(line) - 1) {
		ck_assert_msg(poll(&p, 1, 10000) == 1, "server printed no port");
		ssize_t r = read(fd, line + n, 1);
		ck_assert_msg(r == 1, "server exited before printing its port");
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	long port;
	ck_assert_int_eq(str_to_long(line, 1, 65535, &port), 0);
	return (int)port;
}

static pid_t
spawn(char *const argv[], int in, int out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(&fa, out, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
	return pid;
}

static int
run(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv, -1, -1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void
server_start(struct server *s, char *const argv[], int port)
{
	int in[2], out[2];
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	s->pid = spawn(argv, in[0], port == 0 ? out[1] : -1);
	close(in[0]);
	close(out[1]);
	s->in = in[1];
	s->port = port == 0 ? read_port(out[0]) : port;
	close(out[0]);
}

static void
server_stop(struct server *s)
{
	ck_assert_int_eq(kill(s->pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(s->pid, NULL, 0), s->pid);
	close(s->in);
}

static void
fault_server(struct server *s)
{
	char *argv[] = { "python3", FAULT_SERVER, NULL };
	server_start(s, argv, 0);
}

static int
connect_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc;
}

/* A port nothing listens on: bound, then closed. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct tls {
	char dir[64];
	char path[128];
	struct server srv;
};

static const char *
tls_file(struct tls *t, const char *name)
{
	ck_assert_int_eq(str_fmt(t->path, sizeof(t->path), "%s/%s", t->dir, name), 0);
	return t->path;
}

/* tls_start: certificates in a temp dir, s_server presenting NAME.pem. */
static void
tls_start(struct tls *t, const char *name)
{
	char cert[128], key[128], accept[32], file[32];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	ck_assert_int_eq(str_fmt(t->dir, sizeof(t->dir), "%s/sbhttp.XXXXXX", tmp), 0);
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	char *mk[] = { "sh", MKCERTS, t->dir, NULL };
	ck_assert_int_eq(run(mk), 0);
	ck_assert_int_eq(str_fmt(file, sizeof(file), "%s.pem", name), 0);
	ck_assert_int_eq(str_copy(cert, sizeof(cert), tls_file(t, file)), 0);
	ck_assert_int_eq(str_fmt(file, sizeof(file), "%s.key", name), 0);
	ck_assert_int_eq(str_copy(key, sizeof(key), tls_file(t, file)), 0);
	int port = free_port();
	ck_assert_int_eq(str_fmt(accept, sizeof(accept), "127.0.0.1:%d", port), 0);
	/* timeout(1) bounds its life should this test die before stopping it. */
	char *argv[] = { "timeout", "60", "openssl", "s_server", "-accept", accept, "-cert",
		cert, "-key", key, "-www", NULL };
	server_start(&t->srv, argv, port);
	for (int i = 0; connect_port(port) != 0; i++) {
		ck_assert_msg(i < 500, "s_server does not accept connections");
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
}

static void
tls_stop(struct tls *t)
{
	server_stop(&t->srv);
	char *rm[] = { "rm", "-rf", t->dir, NULL };
	ck_assert_int_eq(run(rm), 0);
}

/* --- client helpers ----------------------------------------------------- */

static void
client(struct http_client *c)
{
	ck_assert_int_eq(http_client_init(c), 0);
	c->connect_timeout_ms = 2000;
	c->timeout_ms = 5000;
	c->max_attempts = 4;
	c->backoff_base_ms = 1; /* keep the suite fast */
	c->backoff_cap_ms = 20;
	c->ca_env_file = NULL;
}

static const char *
url(char *dst, size_t n, int port, const char *path)
{
	ck_assert_int_eq(str_fmt(dst, n, "http://127.0.0.1:%d%s", port, path), 0);
	return dst;
}

static int
get(struct http_client *c, const char *u, struct http_response *r)
{
	struct http_request rq = { .method = "GET", .url = u };
	return http_do(c, &rq, r);
}

static json_t *
echo_doc(const struct http_response *r)
{
	json_error_t err;
	json_t *doc = json_loadb(r->body.data, r->body.len, JSON_ALLOW_NUL, &err);
	ck_assert_msg(doc != NULL, "echo is not JSON: %s", err.text);
	return doc;
}

static const char *
echo_str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));
	ck_assert_msg(s != NULL, "echo has no %s", key);
	return s;
}

static const char *
echo_header(json_t *doc, const char *name)
{
	return json_string_value(json_object_get(json_object_get(doc, "headers"), name));
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	br_sha256_context ctx;
	unsigned char md[32];
	br_sha256_init(&ctx);
	br_sha256_update(&ctx, p, n);
	br_sha256_out(&ctx, md);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* check_echo: the server got method and exactly the n bytes at p. */
static json_t *
check_echo(const struct http_response *r, const char *method, const void *p, size_t n)
{
	char want[65];
	json_t *doc = echo_doc(r);
	sha256_hex(p, n, want);
	ck_assert_str_eq(echo_str(doc, "method"), method);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "body_len")), (json_int_t)n);
	ck_assert_str_eq(echo_str(doc, "body_sha256"), want);
	return doc;
}

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 31 + seed) ^ (i >> 8));
}

struct lines {
	struct buf all;
	int multiline; /* lines holding CR or LF: must stay 0 */
	int count;
};

static void
trace_sink(void *ctx, const char *line)
{
	struct lines *l = ctx;
	if (strpbrk(line, "\r\n") != NULL)
		l->multiline++;
	l->count++;
	ck_assert_int_eq(buf_puts(&l->all, line), 0);
	ck_assert_int_eq(buf_putc(&l->all, '\n'), 0);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* --- plain HTTP ----------------------------------------------------------- */

START_TEST(test_get_ok)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/ok"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_str_eq(buf_str(&r.body), "hello\n");
	ck_assert_ptr_nonnull(strstr(buf_str(&r.headers), "Content-Length: 6\r\n"));
	ck_assert_str_eq(r.error, "");
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_404_not_retried)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/nothing-here"), &r), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_str_eq(buf_str(&r.body), "not found\n");
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_retry_503_then_ok)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/status/503-then-200?count=2"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_str_eq(buf_str(&r.body), "ok\n"); /* not the 503 bodies before it */
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_retry_dropped_connection)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/drop?count=2"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_str_eq(buf_str(&r.body), "ok\n");
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_retry_reset_mid_body)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/reset?count=1"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_uint_eq(r.body.len, 100000); /* the cut first body is gone */
	ck_assert_int_eq(r.body.data[0], 'y');
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_give_up_after_budget)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128], want[160];
	fault_server(&s);
	client(&c);
	c.max_attempts = 3;
	http_response_init(&r, 1 << 20);
	url(u, sizeof(u), s.port, "/status/503-then-200?count=100");
	ck_assert_int_eq(get(&c, u, &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(str_fmt(want, sizeof(want), "GET %s: ", u), 0);
	ck_assert_msg(strncmp(r.error, want, strlen(want)) == 0, "error: %s", r.error);
	ck_assert_ptr_nonnull(strstr(r.error, "HTTP 503"));
	ck_assert_ptr_nonnull(strstr(r.error, "(after 3 attempts)"));
	ck_assert_ptr_null(strchr(r.error, '\n'));
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_extra_retry_status)
{
	static const long conflict[] = { 409 };
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	/* Not retryable by default: the 409 is the answer. */
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/status/409-then-200?key=a"), &r), 0);
	ck_assert_int_eq(r.status, 409);
	ck_assert_int_eq(r.attempts, 1);
	struct http_request rq = { .method = "GET",
		.url = url(u, sizeof(u), s.port, "/status/409-then-200?key=b"),
		.retry_statuses = conflict, .nretry_statuses = 1 };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 2);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_retry_after_capped)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	struct timespec t0;
	char u[128];
	fault_server(&s);
	client(&c);
	c.backoff_cap_ms = 300; /* Retry-After says 5 s: wait 300 ms, not 5 s, not ~1 ms */
	http_response_init(&r, 1 << 20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/retry-after?count=1&secs=5"), &r), 0);
	long ms = elapsed_ms(&t0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_msg(ms >= 290 && ms < 2000, "waited %ld ms", ms);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_timeout)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	c.timeout_ms = 200;
	c.max_attempts = 2;
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/slow?ms=3000"), &r), EX_TEMPFAIL);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.error, "timed out"));
	ck_assert_ptr_nonnull(strstr(r.error, u));
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

/* SOCORRO_HTTP_TIMEOUT replaces the limit the command chose. */
START_TEST(test_env_timeout)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	ck_assert_int_eq(setenv("SOCORRO_HTTP_TIMEOUT", "1s", 1), 0);
	client(&c);
	c.timeout_ms = 60000;
	c.max_attempts = 1;
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/slow?ms=4000"), &r), EX_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(r.error, "timed out"));
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_env_timeout_malformed)
{
	static const char *const bad[] = { "soon", "0s", "-5", "2d", "5x" };
	struct server s;
	char u[128];
	fault_server(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_client c;
		struct http_response r;
		ck_assert_int_eq(setenv("SOCORRO_HTTP_TIMEOUT", bad[i], 1), 0);
		client(&c);
		http_response_init(&r, 1 << 20);
		ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/ok"), &r), EX_CONFIG);
		ck_assert_int_eq(r.attempts, 0);
		ck_assert_ptr_nonnull(strstr(r.error, "SOCORRO_HTTP_TIMEOUT"));
		http_response_free(&r);
		http_client_free(&c);
	}
	/* empty is unset: the default applies */
	{
		struct http_client c;
		struct http_response r;
		ck_assert_int_eq(setenv("SOCORRO_HTTP_TIMEOUT", "", 1), 0);
		client(&c);
		http_response_init(&r, 1 << 20);
		ck_assert_int_eq(get(&c, url(u, sizeof(u), s.port, "/ok"), &r), 0);
		ck_assert_int_eq(r.status, 200);
		http_response_free(&r);
		http_client_free(&c);
	}
	server_stop(&s);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct http_client c;
	struct http_response r;
	char u[128];
	client(&c);
	c.max_attempts = 3;
	http_response_init(&r, 1 << 20);
	url(u, sizeof(u), free_port(), "/ok");
	ck_assert_int_eq(get(&c, u, &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.error, u));
	ck_assert_ptr_nonnull(strstr(r.error, "(after 3 attempts)"));
	http_response_free(&r);
	http_client_free(&c);
}
END_TEST

START_TEST(test_response_too_big)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	struct http_request rq = { .method = "GET", .max_response = 1000,
		.url = url(u, sizeof(u), s.port, "/big?bytes=5000") };
	ck_assert_int_eq(http_do(&c, &rq, &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_ptr_nonnull(strstr(r.error, "larger than 1000 bytes"));
	rq.url = url(u, sizeof(u), s.port, "/big?bytes=1000"); /* exactly the limit is fine */
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_uint_eq(r.body.len, 1000);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_bad_urls)
{
	struct http_client c;
	struct http_response r;
	client(&c);
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, "ftp://127.0.0.1/x", &r), EX_DATAERR);
	ck_assert_int_eq(r.attempts, 0);
	ck_assert_int_eq(get(&c, "http://[nope/", &r), EX_DATAERR);
	struct http_request rq = { .method = NULL, .url = "http://127.0.0.1/" };
	ck_assert_int_eq(http_do(&c, &rq, &r), EX_SOFTWARE);
	http_response_free(&r);
	http_client_free(&c);
}
END_TEST

/* --- request bodies --------------------------------------------------------- */

START_TEST(test_post_mem_body)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	unsigned char data[3000];
	char u[128];
	fill(data, sizeof(data), 1);
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	struct http_header h[] = { { "Content-Type", "application/octet-stream" } };
	struct http_request rq = { .method = "POST", .url = url(u, sizeof(u), s.port, "/echo"),
		.headers = h, .nheaders = 1,
		.body = { .kind = HTTP_BODY_MEM, .data = data, .len = sizeof(data) } };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.status, 200);
	json_t *doc = check_echo(&r, "POST", data, sizeof(data));
	ck_assert_str_eq(echo_header(doc, "Content-Type"), "application/octet-stream");
	ck_assert_str_eq(echo_header(doc, "Content-Length"), "3000");
	ck_assert_ptr_null(echo_header(doc, "Expect"));
	ck_assert_str_eq(echo_header(doc, "User-Agent"), "socorro-bootstrap/" SB_VERSION);
	json_decref(doc);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_put_file_body_resent_whole)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	static unsigned char data[200000];
	char u[128];
	fill(data, sizeof(data), 2);
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, sizeof(data), f), sizeof(data));
	ck_assert_int_eq(fseeko(f, 10, SEEK_SET), 0); /* the body starts where the file is */
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	struct http_request rq = { .method = "PUT",
		.url = url(u, sizeof(u), s.port, "/echo?drop=1"),
		.body = { .kind = HTTP_BODY_FILE, .file = f, .size = sizeof(data) - 10 } };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.attempts, 2);
	json_decref(check_echo(&r, "PUT", data + 10, sizeof(data) - 10));
	fclose(f);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

struct stream {
	const unsigned char *p;
	size_t len, off;
	int rewinds;
};

static size_t
stream_read(void *ctx, char *buf, size_t n)
{
	struct stream *st = ctx;
	if (n > 777)
		n = 777; /* odd sizes, to cross chunk boundaries */
	if (n > st->len - st->off)
		n = st->len - st->off;
	memcpy(buf, st->p + st->off, n);
	st->off += n;
	return n;
}

static int
stream_rewind(void *ctx)
{
	struct stream *st = ctx;
	st->off = 0;
	st->rewinds++;
	return 0;
}

START_TEST(test_post_stream_chunked)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	unsigned char data[50000];
	char u[128];
	fill(data, sizeof(data), 3);
	struct stream st = { data, sizeof(data), 0, 0 };
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	struct http_request rq = { .method = "POST", .url = url(u, sizeof(u), s.port, "/echo"),
		.body = { .kind = HTTP_BODY_STREAM, .read = stream_read, .ctx = &st, .size = -1 } };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	json_t *doc = check_echo(&r, "POST", data, sizeof(data));
	ck_assert(json_is_true(json_object_get(doc, "chunked")));
	json_decref(doc);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_stream_retry_needs_rewind)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	unsigned char data[20000];
	char u[128];
	fill(data, sizeof(data), 4);
	struct stream st = { data, sizeof(data), 0, 0 };
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	/* Without rewind, a body once sent cannot be sent again: no retry. */
	struct http_request rq = { .method = "POST",
		.url = url(u, sizeof(u), s.port, "/echo?drop=1&key=a"),
		.body = { .kind = HTTP_BODY_STREAM, .read = stream_read, .ctx = &st,
			.size = sizeof(data) } };
	ck_assert_int_eq(http_do(&c, &rq, &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 1);
	/* With rewind it is retried and arrives whole. */
	st.off = 0;
	rq.url = url(u, sizeof(u), s.port, "/echo?drop=1&key=b");
	rq.body.rewind = stream_rewind;
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_ge(st.rewinds, 1);
	json_decref(check_echo(&r, "POST", data, sizeof(data)));
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

struct sink {
	struct buf got;
	int stop_with;
};

static int
sink_data(void *ctx, const char *p, size_t n)
{
	struct sink *k = ctx;
	if (k->stop_with)
		return k->stop_with;
	return buf_append(&k->got, p, n) == 0 ? 0 : EX_SOFTWARE;
}

START_TEST(test_on_data_sink)
{
	struct server s;
	struct http_client c;
	struct http_response r;
	struct sink k = { .stop_with = 0 };
	char u[128];
	buf_init(&k.got, 1 << 20);
	fault_server(&s);
	client(&c);
	http_response_init(&r, 1 << 20);
	struct http_request rq = { .method = "GET", .max_response = 100,
		.url = url(u, sizeof(u), s.port, "/big?bytes=50000"),
		.on_data = sink_data, .on_data_ctx = &k };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0); /* max_response is for resp->body only */
	ck_assert_uint_eq(k.got.len, 50000);
	ck_assert_uint_eq(r.body.len, 0);
	/* An error status's body goes to resp->body, for the error message. */
	rq.url = url(u, sizeof(u), s.port, "/nothing");
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(buf_str(&r.body), "not found\n");
	ck_assert_uint_eq(k.got.len, 50000);
	/* The sink can stop the transfer with its own code. */
	k.stop_with = EX_CANTCREAT;
	rq.url = url(u, sizeof(u), s.port, "/big?bytes=50000");
	ck_assert_int_eq(http_do(&c, &rq, &r), EX_CANTCREAT);
	ck_assert_int_eq(r.attempts, 1);
	buf_free(&k.got);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

/* --- connections and secrets ------------------------------------------------ */

START_TEST(test_connection_reused)
{
	struct server s;
	struct http_client c, c2;
	struct http_response r;
	char u[128];
	fault_server(&s);
	client(&c);
	client(&c2);
	http_response_init(&r, 1 << 20);
	url(u, sizeof(u), s.port, "/echo");
	ck_assert_int_eq(get(&c, u, &r), 0);
	json_t *first = echo_doc(&r);
	ck_assert_int_eq(get(&c, u, &r), 0);
	json_t *second = echo_doc(&r);
	ck_assert_int_eq(get(&c2, u, &r), 0); /* another client: its own connection */
	json_t *other = echo_doc(&r);
	json_int_t conn = json_integer_value(json_object_get(first, "conn"));
	ck_assert_int_gt(conn, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(second, "conn")), conn);
	ck_assert_int_eq(json_integer_value(json_object_get(second, "client_port")),
	    json_integer_value(json_object_get(first, "client_port")));
	ck_assert_int_ne(json_integer_value(json_object_get(other, "conn")), conn);
	json_decref(first);
	json_decref(second);
	json_decref(other);
	http_response_free(&r);
	http_client_free(&c2);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

static void
assert_no_secrets(const char *text)
{
	static const char *const secrets[] = { "sekrit", "AUTHSECRET", "CONSULSECRET",
		"MYSECRET", "tok123", "sig456", "BODYSECRET", NULL };
	for (size_t i = 0; secrets[i] != NULL; i++)
		ck_assert_msg(strstr(text, secrets[i]) == NULL, "%s leaked in:\n%s", secrets[i], text);
}

START_TEST(test_trace_redacts_secrets)
{
	static const char *const mine[] = { "X-My-Secret", NULL };
	struct server s;
	struct http_client c;
	struct http_response r;
	struct lines tr = { .multiline = 0 };
	char u[256];
	buf_init(&tr.all, 1 << 20);
	fault_server(&s);
	client(&c);
	c.trace = trace_sink;
	c.trace_ctx = &tr;
	c.secret_headers = mine;
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(str_fmt(u, sizeof(u), "http://bob:sekrit@127.0.0.1:%d/echo?drop=1&"
	    "token=tok123&X-Amz-Signature=sig456&keep=yes", s.port), 0);
	struct http_header h[] = { { "Authorization", "Bearer AUTHSECRET" },
		{ "x-consul-token", "CONSULSECRET" }, { "X-My-Secret", "MYSECRET" } };
	struct http_request rq = { .method = "POST", .url = u, .headers = h, .nheaders = 3,
		.body = { .kind = HTTP_BODY_MEM, .data = "BODYSECRET", .len = 10 } };
	ck_assert_int_eq(http_do(&c, &rq, &r), 0);
	ck_assert_int_eq(r.attempts, 2);
	/* The secrets did go to the server... */
	json_t *doc = check_echo(&r, "POST", "BODYSECRET", 10);
	ck_assert_str_eq(echo_header(doc, "Authorization"), "Bearer AUTHSECRET");
	ck_assert_str_eq(echo_header(doc, "x-consul-token"), "CONSULSECRET");
	json_decref(doc);
	/* ...but not into the trace. */
	const char *t = buf_str(&tr.all);
	assert_no_secrets(t);
	ck_assert_int_eq(tr.multiline, 0);
	ck_assert_ptr_nonnull(strstr(t, "> Authorization: [REDACTED]\n"));
	ck_assert_ptr_nonnull(strstr(t, "> x-consul-token: [REDACTED]\n"));
	ck_assert_ptr_nonnull(strstr(t, "> X-My-Secret: [REDACTED]\n"));
	ck_assert_ptr_nonnull(strstr(t, "token=REDACTED&X-Amz-Signature=REDACTED&keep=yes"));
	ck_assert_ptr_nonnull(strstr(t, "> [10 bytes]\n"));
	ck_assert_ptr_nonnull(strstr(t, "< HTTP/1.1 200 OK\n"));
	ck_assert_ptr_nonnull(strstr(t, "* retrying in "));
	/* Nor into error text. */
	c.max_attempts = 1;
	ck_assert_int_eq(str_fmt(u, sizeof(u), "http://bob:sekrit@127.0.0.1:%d/x?token=tok123",
	    free_port()), 0);
	ck_assert_int_eq(http_do(&c, &rq, &r), EX_UNAVAILABLE);
	assert_no_secrets(r.error);
	ck_assert_ptr_nonnull(strstr(r.error, "POST http://127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(r.error, "/x?token=REDACTED: "));
	assert_no_secrets(buf_str(&tr.all));
	buf_free(&tr.all);
	http_response_free(&r);
	http_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_redact_known_answers)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "https://u:p@h.example/x?X-Amz-Credential=AK%2F1&a=1#f",
		    "https://h.example/x?X-Amz-Credential=REDACTED&a=1#f" },
		{ "GET /b?x-amz-security-token=abc&PASSWORD=p HTTP/1.1",
		    "GET /b?x-amz-security-token=REDACTED&PASSWORD=REDACTED HTTP/1.1" },
		{ "http://user:p@ss@host:8500/v1/kv?tokenish=1&token=",
		    "http://host:8500/v1/kv?tokenish=1&token=REDACTED" },
		{ "see http://a@b/ and https://c:d@e/", "see http://b/ and https://e/" },
		{ "no @ here: mail me@x.test", "no @ here: mail me@x.test" },
		{ "line\nbreak\r\x01", "line\\x0abreak\\x0d\\x01" },
	};
	char out[128];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		http_redact(v[i].in, out, sizeof(out));
		ck_assert_str_eq(out, v[i].out);
	}
	http_redact("http://example.test/a/long/path", out, 16);
	ck_assert_str_eq(out, "http://examp...");
}
END_TEST

/*
 * libcurl's trace buffers end without a NUL (found by tests/fuzz/
 * http_headers): nothing past n may be read, or shown.  ASan catches a
 * read past these exact-size copies.
 */
START_TEST(test_trace_unterminated_blocks)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "Location: https://u:p@h/?token=abc", "< Location: https://h/?token=REDACTED\n" },
		{ "Location: http:/", "< Location: http:/\n" },
		{ "Location: http://u:p", "< Location: http://u:p\n" },
		{ "GET /x?password", "< GET /x?password\n" },
		{ "GET /x?token=", "< GET /x?token=REDACTED\n" },
		{ "Host: a:", "< Host: a:\n" },
		{ "Cookie:", "< Cookie: [REDACTED]\n" },
	};
	struct http_client c;
	struct http_trace t;
	struct lines tr = { .multiline = 0 };
	memset(&c, 0, sizeof(c));
	c.trace = trace_sink;
	c.trace_ctx = &tr;
	buf_init(&tr.all, 1 << 16);
	http_trace_start(&t, &c);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);
		char *p = malloc(n);
		ck_assert_ptr_nonnull(p);
		memcpy(p, v[i].in, n); /* no NUL after it */
		buf_reset(&tr.all);
		http_trace_debug(NULL, CURLINFO_HEADER_IN, p, n, &t);
		ck_assert_str_eq(buf_str(&tr.all), v[i].out);
		free(p);
	}
	buf_free(&tr.all);
}
END_TEST

/* --- TLS -------------------------------------------------------------------- */

static int
tls_get(struct tls *t, const char *ca, const char *host, struct http_response *r)
{
	struct http_client c;
	char u[128];
	client(&c);
	c.max_attempts = 3;
	c.ca_file = ca;
	ck_assert_int_eq(str_fmt(u, sizeof(u), "https://%s:%d/", host, t->srv.port), 0);
	int rc = get(&c, u, r);
	http_client_free(&c);
	return rc;
}

START_TEST(test_tls_trusted_ca)
{
	struct tls t;
	struct http_response r;
	char ca[128];
	tls_start(&t, "localhost");
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(str_copy(ca, sizeof(ca), tls_file(&t, "ca.pem")), 0);
	ck_assert_int_eq(tls_get(&t, ca, "localhost", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "<HTML>"));
	http_response_free(&r);
	tls_stop(&t);
}
END_TEST

START_TEST(test_tls_unknown_ca)
{
	struct tls t;
	struct http_response r;
	char ca[128];
	tls_start(&t, "localhost");
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(str_copy(ca, sizeof(ca), tls_file(&t, "other-ca.pem")), 0);
	ck_assert_int_eq(tls_get(&t, ca, "localhost", &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 1); /* not retried */
	ck_assert_ptr_nonnull(strstr(r.error, "certificate"));
	ck_assert_ptr_nonnull(strstr(r.error, "trust anchor"));
	ck_assert_ptr_nonnull(strstr(r.error, "--cacert or SSL_CERT_FILE"));
	http_response_free(&r);
	tls_stop(&t);
}
END_TEST

START_TEST(test_tls_wrong_host)
{
	struct tls t;
	struct http_response r;
	char ca[128];
	tls_start(&t, "wrong");
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(str_copy(ca, sizeof(ca), tls_file(&t, "ca.pem")), 0);
	ck_assert_int_eq(tls_get(&t, ca, "localhost", &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_ptr_nonnull(strstr(r.error, "certificate"));
	ck_assert_ptr_nonnull(strstr(r.error, "server name"));
	http_response_free(&r);
	tls_stop(&t);
}
END_TEST

START_TEST(test_tls_bare_ip_refused)
{
	struct tls t;
	struct http_response r;
	char ca[128];
	tls_start(&t, "localhost");
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(str_copy(ca, sizeof(ca), tls_file(&t, "ca.pem")), 0);
	ck_assert_int_eq(tls_get(&t, ca, "127.0.0.1", &r), EX_UNAVAILABLE);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_ptr_nonnull(strstr(r.error, "IP address"));
	http_response_free(&r);
	tls_stop(&t);
}
END_TEST

START_TEST(test_tls_missing_ca_file)
{
	struct http_client c;
	struct http_response r;
	client(&c);
	c.ca_file = "/nonexistent/ca.pem";
	http_response_init(&r, 1 << 20);
	ck_assert_int_eq(get(&c, "https://localhost:1/", &r), EX_CONFIG);
	ck_assert_int_eq(r.attempts, 0);
	ck_assert_ptr_nonnull(strstr(r.error, "cannot read CA bundle /nonexistent/ca.pem"));
	/* SSL_CERT_FILE's value is used when no flag is given. */
	c.ca_file = NULL;
	c.ca_env_file = "/nonexistent/env.pem";
	ck_assert_int_eq(get(&c, "https://localhost:1/", &r), EX_CONFIG);
	ck_assert_ptr_nonnull(strstr(r.error, "/nonexistent/env.pem"));
	http_response_free(&r);
	http_client_free(&c);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_get_ok);
	tcase_add_test(tc, test_404_not_retried);
	tcase_add_test(tc, test_retry_503_then_ok);
	tcase_add_test(tc, test_retry_dropped_connection);
	tcase_add_test(tc, test_retry_reset_mid_body);
	tcase_add_test(tc, test_give_up_after_budget);
	tcase_add_test(tc, test_extra_retry_status);
	tcase_add_test(tc, test_retry_after_capped);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_env_timeout);
	tcase_add_test(tc, test_env_timeout_malformed);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_response_too_big);
	tcase_add_test(tc, test_bad_urls);
	tcase_add_test(tc, test_post_mem_body);
	tcase_add_test(tc, test_put_file_body_resent_whole);
	tcase_add_test(tc, test_post_stream_chunked);
	tcase_add_test(tc, test_stream_retry_needs_rewind);
	tcase_add_test(tc, test_on_data_sink);
	tcase_add_test(tc, test_connection_reused);
	tcase_add_test(tc, test_trace_redacts_secrets);
	tcase_add_test(tc, test_redact_known_answers);
	tcase_add_test(tc, test_trace_unterminated_blocks);
	tcase_add_test(tc, test_tls_trusted_ca);
	tcase_add_test(tc, test_tls_unknown_ca);
	tcase_add_test(tc, test_tls_wrong_host);
	tcase_add_test(tc, test_tls_bare_ip_refused);
	tcase_add_test(tc, test_tls_missing_ca_file);
	suite_add_tcase(s, tc);
	return s;
}
