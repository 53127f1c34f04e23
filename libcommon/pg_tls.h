/*
 * pg_tls.h: TLS for PostgreSQL connections, with BearSSL, started on a
 * connected socket after the server answered 'S' to an SSLRequest.
 *
 * Three kinds of checking, from the sslmode (pg_conn.c decides):
 *   verify-full  the chain ends at one of the trust anchors and the
 *                certificate names the host (DNS names only: BearSSL does
 *                not match IP addresses, so verify-full needs a host name);
 *   verify-ca    the chain ends at a trust anchor, any name;
 *   none         (require, prefer) the link is encrypted, the server is
 *                not authenticated: anyone in the path can pose as it.
 *
 * Trust anchors come from a PEM file of CA certificates (sslrootcert, or a
 * system bundle):
 *
 *	struct pg_anchors a;
 *	pg_anchors_init(&a);
 *	if (pg_anchors_load(&a, "/etc/ssl/certs/ca-certificates.crt", err, sizeof(err)) == -1)
 *		...
 *	struct pg_tls *t = malloc(sizeof(*t));    // about 40 KiB: keep it off the stack
 *	rc = pg_tls_start(t, fd, &a, "db.example.com", deadline_ms, err, sizeof(err));
 *	pg_tls_write(t, p, n); pg_tls_read(t, p, n); ...
 *	pg_tls_close(t);                          // close_notify; the fd stays open
 *	pg_anchors_free(&a);                      // after the last pg_tls_* call
 *
 * pg_tls_start returns 0, or an exit code with err set: EX_NOPERM when
 * the server's certificate is refused (untrusted, wrong name, expired),
 * EX_UNAVAILABLE when the handshake fails otherwise (the server closed,
 * no common cipher), EX_TEMPFAIL when the deadline passed.  The anchors,
 * the server name and the struct must outlive the connection.
 */
#ifndef SB_PG_TLS_H
#define SB_PG_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h>

struct pg_anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
};

void pg_anchors_init(struct pg_anchors *a);
/* pg_anchors_load adds every CERTIFICATE in the PEM file path; -1 (err
 * set) if it cannot be read or holds no usable certificate. */
int pg_anchors_load(struct pg_anchors *a, const char *path, char *err, size_t errsz);
void pg_anchors_free(struct pg_anchors *a);

/* The X.509 engine for unverified TLS: takes the server's key, checks nothing. */
struct pg_x509_any {
	const br_x509_class *vtable;
	br_x509_decoder_context dc;
	int ncerts;
};

struct pg_tls {
	br_ssl_client_context sc;
	br_x509_minimal_context xc;
	struct pg_x509_any any;
	br_sslio_context io;
	int fd;
	int64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0 = wait for ever */
	int sys_errno;       /* errno of the last failed socket call */
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/*
 * pg_tls_start runs the handshake on fd.  anchors NULL means no
 * verification at all; server_name NULL with anchors means verify-ca.
 */
int pg_tls_start(struct pg_tls *t, int fd, const struct pg_anchors *anchors,
    const char *server_name, int64_t deadline_ms, char *err, size_t errsz);
/* pg_tls_write sends all n bytes: 0, or -1. */
int pg_tls_write(struct pg_tls *t, const void *p, size_t n);
/* pg_tls_read: bytes read (>0), 0 when the server closed, -1 on error. */
ssize_t pg_tls_read(struct pg_tls *t, void *p, size_t n);
/* pg_tls_close sends close_notify (best effort). */
void pg_tls_close(struct pg_tls *t);
/* pg_tls_describe: a line on the last failure, from BearSSL's error code. */
void pg_tls_describe(const struct pg_tls *t, char *out, size_t outsz);

/* pg_now_ms: CLOCK_MONOTONIC in milliseconds, for deadlines. */
int64_t pg_now_ms(void);
/*
 * pg_wait_fd waits until fd is ready for events (POLLIN/POLLOUT) or the
 * deadline (0: none) passes: 0 ready, -1 with errno ETIMEDOUT or poll's.
 */
int pg_wait_fd(int fd, short events, int64_t deadline_ms);

#endif
