/*
 * pg_tls.c: BearSSL client for PostgreSQL connections (see pg_tls.h).
 * The trust-anchor loading follows BearSSL's own tools/certs.c.
 */
#include "pg_tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exits.h"

int64_t
pg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pg_wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int timeout = -1;
		if (deadline_ms > 0) {
			int64_t left = deadline_ms - pg_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			timeout = left > 86400000 ? 86400000 : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, timeout);
		if (r > 0)
			return 0;
		if (r == 0)
			continue; /* the deadline check above ends it */
		if (errno != EINTR)
			return -1;
	}
}

void
pg_anchors_init(struct pg_anchors *a)
{
	memset(a, 0, sizeof(*a));
}

void
pg_anchors_free(struct pg_anchors *a)
{
	for (size_t i = 0; i < a->n; i++) {
		br_x509_trust_anchor *ta = &a->ta[i];
		free(ta->dn.data);
		if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
			free(ta->pkey.key.rsa.n);
			free(ta->pkey.key.rsa.e);
		} else {
			free(ta->pkey.key.ec.q);
		}
	}
	free(a->ta);
	pg_anchors_init(a);
}

static void
append_to_buf(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;
	if (buf_append(b, p, n) == -1)
		b->max = 0; /* marks the failure: checked after decoding */
}

static unsigned char *
dup_bytes(const void *p, size_t n)
{
	unsigned char *q = malloc(n ? n : 1);
	if (q != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

/* add_anchor decodes one DER certificate into a trust anchor.  A
 * certificate whose key BearSSL cannot use is skipped: 0 either way,
 * -1 only when memory runs out. */
static int
add_anchor(struct pg_anchors *a, const struct buf *der)
{
	br_x509_decoder_context dc;
	struct buf dn;
	buf_init(&dn, 1 << 16);
	br_x509_decoder_init(&dc, append_to_buf, &dn);
	br_x509_decoder_push(&dc, der->data, der->len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || dn.max == 0 || dn.len == 0) {
		buf_free(&dn);
		return 0;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		br_x509_trust_anchor *t = realloc(a->ta, cap * sizeof(*t));
		if (t == NULL) {
			buf_free(&dn);
			return -1;
		}
		a->ta = t;
		a->cap = cap;
	}
	br_x509_trust_anchor *ta = &a->ta[a->n];
	memset(ta, 0, sizeof(*ta));
	ta->dn.data = dup_bytes(dn.data, dn.len);
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	int ok = ta->dn.data != NULL;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
		ok = ok && ta->pkey.key.rsa.n && ta->pkey.key.rsa.e;
	} else {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
		ok = ok && ta->pkey.key.ec.q;
	}
	a->n++; /* counted even when incomplete, so pg_anchors_free frees it */
	buf_free(&dn);
	return ok ? 0 : -1;
}

static int
read_file(const char *path, struct buf *b, char *err, size_t errsz)
{
	FILE *fp = fopen(path, "rbe");
	char chunk[8192];
	size_t n;
	if (fp == NULL) {
		str_fmt_clip(err, errsz, "cannot read CA file %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(b, chunk, n) == -1) {
			str_fmt_clip(err, errsz, "CA file %s: too large", path);
			fclose(fp);
			return -1;
		}
	int bad = ferror(fp);
	fclose(fp);
	if (bad) {
		str_fmt_clip(err, errsz, "cannot read CA file %s", path);
		return -1;
	}
	return 0;
}

/* decode_pem feeds the whole file to the PEM decoder, adding each
 * certificate as it ends. */
static int
decode_pem(struct pg_anchors *a, const struct buf *pem, struct buf *der)
{
	br_pem_decoder_context pc;
	const unsigned char *p = (const unsigned char *)pem->data;
	size_t n = pem->len;
	int incert = 0;
	br_pem_decoder_init(&pc);
	/* A final newline lets the decoder see the last END line. */
	for (int tail = 0; n > 0 || tail == 0;) {
		if (n == 0) {
			p = (const unsigned char *)"\n";
			n = 1;
			tail = 1;
		}
		size_t k = br_pem_decoder_push(&pc, p, n);
		p += k;
		n -= k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ: {
			const char *name = br_pem_decoder_name(&pc);
			incert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
			buf_reset(der);
			br_pem_decoder_setdest(&pc, incert ? append_to_buf : NULL, incert ? der : NULL);
			break;
		}
		case BR_PEM_END_OBJ:
			if (incert && der->max != 0 && add_anchor(a, der) == -1)
				return -1;
			incert = 0;
			break;
		case BR_PEM_ERROR:
			return -1;
		}
	}
	return 0;
}

int
pg_anchors_load(struct pg_anchors *a, const char *path, char *err, size_t errsz)
{
	struct buf pem, der;
	size_t before = a->n;
	int r = -1;
	buf_init(&pem, 64u << 20);
	buf_init(&der, 1u << 20);
	if (read_file(path, &pem, err, errsz) == 0) {
		if (decode_pem(a, &pem, &der) == -1)
			str_fmt_clip(err, errsz, "CA file %s: not valid PEM", path);
		else if (a->n == before)
			str_fmt_clip(err, errsz, "CA file %s: no usable certificate in it", path);
		else
			r = 0;
	}
	buf_free(&pem);
	buf_free(&der);
	return r;
}

/* The "any" X.509 engine: decodes the server's own certificate for its
 * key and checks nothing else (sslmode require and prefer). */
static void
any_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct pg_x509_any *x = (struct pg_x509_any *)ctx;
	(void)server_name;
	x->ncerts = 0;
}

static void
any_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct pg_x509_any *x = (struct pg_x509_any *)ctx;
	(void)length;
	if (x->ncerts == 0)
		br_x509_decoder_init(&x->dc, NULL, NULL);
}

static void
any_append(const br_x509_class **ctx, const unsigned char *p, size_t n)
{
	struct pg_x509_any *x = (struct pg_x509_any *)ctx;
	if (x->ncerts == 0)
		br_x509_decoder_push(&x->dc, p, n);
}

static void
any_end_cert(const br_x509_class **ctx)
{
	((struct pg_x509_any *)ctx)->ncerts++;
}

static unsigned
any_end_chain(const br_x509_class **ctx)
{
	struct pg_x509_any *x = (struct pg_x509_any *)ctx;
	if (x->ncerts == 0)
		return BR_ERR_X509_EMPTY_CHAIN;
	int e = br_x509_decoder_last_error(&x->dc);
	if (e != 0)
		return (unsigned)e;
	return br_x509_decoder_get_pkey(&x->dc) ? 0 : BR_ERR_X509_UNSUPPORTED;
}

static const br_x509_pkey *
any_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct pg_x509_any *x = (struct pg_x509_any *)(uintptr_t)ctx;
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&x->dc);
}

static const br_x509_class any_vtable = { sizeof(struct pg_x509_any), any_start_chain,
	any_start_cert, any_append, any_end_cert, any_end_chain, any_get_pkey };

static int
low_read(void *ctx, unsigned char *p, size_t n)
{
	struct pg_tls *t = ctx;
	for (;;) {
		if (pg_wait_fd(t->fd, POLLIN, t->deadline_ms) == -1) {
			t->sys_errno = errno;
			return -1;
		}
		ssize_t r = recv(t->fd, p, n, 0);
		if (r > 0)
			return (int)r;
		if (r == 0) {
			t->sys_errno = ECONNRESET;
			return -1;
		}
		if (errno != EINTR && errno != EAGAIN) {
			t->sys_errno = errno;
			return -1;
		}
	}
}

static int
low_write(void *ctx, const unsigned char *p, size_t n)
{
	struct pg_tls *t = ctx;
	for (;;) {
		if (pg_wait_fd(t->fd, POLLOUT, t->deadline_ms) == -1) {
			t->sys_errno = errno;
			return -1;
		}
		ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return (int)r;
		if (errno != EINTR && errno != EAGAIN) {
			t->sys_errno = errno;
			return -1;
		}
	}
}

void
pg_tls_describe(const struct pg_tls *t, char *out, size_t outsz)
{
	int e = br_ssl_engine_last_error(&t->sc.eng);
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		str_fmt_clip(out, outsz, "server certificate is not signed by a trusted CA "
		    "(give the right one with sslrootcert or PGSSLROOTCERT)");
		return;
	case BR_ERR_X509_BAD_SERVER_NAME:
		str_fmt_clip(out, outsz, "server certificate does not name this host");
		return;
	case BR_ERR_X509_EXPIRED:
		str_fmt_clip(out, outsz, "server certificate has expired or is not yet valid");
		return;
	case BR_ERR_IO:
		str_fmt_clip(out, outsz, "connection lost during TLS: %s",
		    t->sys_errno == ETIMEDOUT ? "timed out" : strerror(t->sys_errno));
		return;
	}
	if (e >= BR_ERR_X509_OK && e < BR_ERR_X509_OK + 64)
		str_fmt_clip(out, outsz, "server certificate refused (BearSSL X.509 error %d)", e);
	else if (e >= BR_ERR_SEND_FATAL_ALERT)
		str_fmt_clip(out, outsz, "TLS failed: we sent alert %d", e - BR_ERR_SEND_FATAL_ALERT);
	else if (e >= BR_ERR_RECV_FATAL_ALERT)
		str_fmt_clip(out, outsz, "TLS failed: the server sent alert %d",
		    e - BR_ERR_RECV_FATAL_ALERT);
	else
		str_fmt_clip(out, outsz, "TLS failed (BearSSL error %d)", e);
}

int
pg_tls_start(struct pg_tls *t, int fd, const struct pg_anchors *anchors,
    const char *server_name, int64_t deadline_ms, char *err, size_t errsz)
{
	t->fd = fd;
	t->deadline_ms = deadline_ms;
	t->sys_errno = 0;
	br_ssl_client_init_full(&t->sc, &t->xc, anchors ? anchors->ta : NULL,
	    anchors ? anchors->n : 0);
	if (anchors == NULL) {
		t->any.vtable = &any_vtable;
		br_ssl_engine_set_x509(&t->sc.eng, &t->any.vtable);
		server_name = NULL;
	}
	br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof(t->iobuf), 1);
	if (!br_ssl_client_reset(&t->sc, server_name, 0)) {
		str_fmt_clip(err, errsz, "TLS setup failed (no random source?)");
		return EX_SOFTWARE;
	}
	br_sslio_init(&t->io, &t->sc.eng, low_read, t, low_write, t);
	/* Flushing with nothing to send drives the handshake to its end. */
	if (br_sslio_flush(&t->io) == 0 &&
	    (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_SENDAPP) != 0)
		return 0;
	pg_tls_describe(t, err, errsz);
	int e = br_ssl_engine_last_error(&t->sc.eng);
	if (e >= BR_ERR_X509_OK && e < BR_ERR_X509_OK + 64)
		return EX_NOPERM;
	if (e == BR_ERR_IO && t->sys_errno == ETIMEDOUT)
		return EX_TEMPFAIL;
	return EX_UNAVAILABLE;
}

int
pg_tls_write(struct pg_tls *t, const void *p, size_t n)
{
	if (br_sslio_write_all(&t->io, p, n) == -1 || br_sslio_flush(&t->io) == -1)
		return -1;
	return 0;
}

ssize_t
pg_tls_read(struct pg_tls *t, void *p, size_t n)
{
	int r = br_sslio_read(&t->io, p, n);
	if (r > 0)
		return r;
	/* A clean close_notify or a dropped link both end the stream. */
	return br_ssl_engine_last_error(&t->sc.eng) == BR_ERR_OK ? 0 : -1;
}

void
pg_tls_close(struct pg_tls *t)
{
	int64_t saved = t->deadline_ms;
	t->deadline_ms = pg_now_ms() + 1000;
	br_sslio_close(&t->io);
	t->deadline_ms = saved;
}
