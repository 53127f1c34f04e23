/*
 * s3_probe: a test client for libcommon's S3 client (s3.h), built with
 * the sanitizers, used by tests/integration/create-rpm.test against
 * s3rver to reach what create-rpm itself does not use (GET, HEAD,
 * streamed multipart uploads and their abort).
 *
 * usage: s3_probe BUCKET put KEY FILE       s3_upload_file
 *        s3_probe BUCKET get KEY            the body on stdout
 *        s3_probe BUCKET head KEY           "SIZE ETAG"
 *        s3_probe BUCKET delete KEY
 *        s3_probe BUCKET list PREFIX        "KEY SIZE ETAG" lines
 *        s3_probe BUCKET stream KEY [N]     s3_upload_stream of stdin; with
 *                                           N, the read fails after N bytes
 *
 * The AWS environment as create-rpm reads it; S3_PROBE_PART_SIZE sets the
 * part size.  Exits with the client's code, its error text on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exits.h"
#include "s3.h"

struct src {
	long long left; /* bytes before the read fails, -1: never */
};

static size_t
read_stdin(void *ctx, char *b, size_t n)
{
	struct src *s = ctx;
	if (s->left == 0)
		return (size_t)-1;
	if (s->left > 0 && (long long)n > s->left)
		n = (size_t)s->left;
	size_t got = fread(b, 1, n, stdin);
	if (s->left > 0)
		s->left -= (long long)got;
	return ferror(stdin) ? (size_t)-1 : got;
}

static int
sink(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : EX_IOERR;
}

static int
run(struct s3_client *c, int argc, char **argv, struct s3_error *e)
{
	const char *op = argv[2], *key = argv[3];
	if (strcmp(op, "put") == 0 && argc == 5) {
		FILE *f = fopen(argv[4], "rb");
		struct stat st;
		if (f == NULL || fstat(fileno(f), &st) == -1)
			return EX_NOINPUT;
		int r = s3_upload_file(c, key, f, (uint64_t)st.st_size, "application/octet-stream", e);
		fclose(f);
		return r;
	}
	if (strcmp(op, "get") == 0)
		return s3_get(c, key, sink, NULL, e);
	if (strcmp(op, "head") == 0) {
		struct s3_object o;
		int r = s3_head(c, key, &o, e);
		if (r == 0)
			printf("%llu %s\n", (unsigned long long)o.size, o.etag);
		return r;
	}
	if (strcmp(op, "delete") == 0)
		return s3_delete(c, key, e);
	if (strcmp(op, "list") == 0) {
		struct s3_list l = { 0 };
		int r = s3_list(c, key, &l, e);
		for (size_t i = 0; r == 0 && i < l.n; i++)
			printf("%s %llu %s\n", l.v[i].key, (unsigned long long)l.v[i].size, l.v[i].etag);
		s3_list_free(&l);
		return r;
	}
	if (strcmp(op, "stream") == 0) {
		struct src s = { argc == 5 ? strtoll(argv[4], NULL, 10) : -1 };
		return s3_upload_stream(c, key, read_stdin, &s, "application/octet-stream", e);
	}
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fputs("usage: s3_probe BUCKET put|get|head|delete|list|stream KEY [ARG]\n", stderr);
		return EX_USAGE;
	}
	char err[AWS_ERR_MAX];
	struct aws_session session;
	struct http_client http;
	struct s3_client c;
	int r = aws_session_init(&session, NULL, NULL, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "s3_probe: %s\n", err);
		return r;
	}
	if ((r = http_client_init(&http)) != 0)
		return r;
	http.max_attempts = 2;
	r = s3_client_init(&c, &session, &http, argv[1], S3_ADDR_AUTO, err, sizeof(err));
	if (r == 0) {
		const char *ps = getenv("S3_PROBE_PART_SIZE");
		if (ps)
			c.part_size = (size_t)strtoul(ps, NULL, 10);
		struct s3_error e;
		memset(&e, 0, sizeof(e));
		r = run(&c, argc, argv, &e);
		if (r != 0)
			fprintf(stderr, "s3_probe: %s\n", e.text[0] ? e.text : "usage");
		fprintf(stderr, "s3_probe: %lu requests\n", c.calls);
	} else {
		fprintf(stderr, "s3_probe: %s\n", err);
	}
	http_client_free(&http);
	aws_session_free(&session);
	fflush(stdout);
	return r;
}
