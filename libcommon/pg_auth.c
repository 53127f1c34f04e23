/*
 * pg_auth.c: MD5 and SCRAM-SHA-256 for PostgreSQL (see pg_auth.h).
 * Every intermediate key is wiped before returning.
 */
#include "pg_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <bearssl_hash.h>
#include <bearssl_hmac.h>

#include "base64.h"

static void
hmac(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	br_hmac_key_init(&kc, &br_sha256_vtable, key, klen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, n);
	br_hmac_out(&hc, out);
	secure_wipe(&kc, sizeof(kc));
	secure_wipe(&hc, sizeof(hc));
}

static void
sha256(const void *p, size_t n, unsigned char out[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, out);
}

void
pg_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
    int iterations, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	unsigned char u[32];
	static const unsigned char one[4] = { 0, 0, 0, 1 };

	/* The key schedule is computed once: each round is then two
	 * compressions, as in any PBKDF2 worth the name. */
	br_hmac_key_init(&kc, &br_sha256_vtable, password, plen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, salt, slen);
	br_hmac_update(&hc, one, 4);
	br_hmac_out(&hc, u);
	memcpy(out, u, 32);
	for (int i = 1; i < iterations; i++) {
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, u, 32);
		br_hmac_out(&hc, u);
		for (int j = 0; j < 32; j++)
			out[j] ^= u[j];
	}
	secure_wipe(u, sizeof(u));
	secure_wipe(&kc, sizeof(kc));
	secure_wipe(&hc, sizeof(hc));
}

int
pg_random(void *p, size_t n)
{
	unsigned char *q = p;
	while (n > 0) {
		ssize_t r = getrandom(q, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		q += r;
		n -= (size_t)r;
	}
	if (n == 0)
		return 0;
	/* Kernels before 3.17 lack getrandom. */
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	while (n > 0) {
		ssize_t r = read(fd, q, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			errno = EIO;
			return -1;
		}
		q += r;
		n -= (size_t)r;
	}
	close(fd);
	return 0;
}

void
pg_scram_init(struct pg_scram *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->first_bare, 4096);
	buf_init(&s->auth_message, 16384);
}

void
pg_scram_free(struct pg_scram *s)
{
	buf_wipe(&s->first_bare);
	buf_wipe(&s->auth_message);
	secure_wipe(s, sizeof(*s));
}

static int
einval(void)
{
	errno = EINVAL;
	return -1;
}

int
pg_scram_first(struct pg_scram *s, const char *user, const char *nonce, struct buf *out)
{
	if (s->state != 0 || strchr(user, ',') != NULL || strchr(user, '=') != NULL)
		return einval();
	if (nonce == NULL) {
		unsigned char raw[18];
		struct buf b;
		buf_init(&b, sizeof(s->client_nonce) - 1);
		int r = pg_random(raw, sizeof(raw)) == 0 && base64_encode(&b, raw, sizeof(raw)) == 0
		    ? str_copy(s->client_nonce, sizeof(s->client_nonce), buf_str(&b)) : -1;
		buf_free(&b);
		if (r == -1)
			return -1;
	} else if (*nonce == '\0' || strchr(nonce, ',') != NULL ||
	    str_copy(s->client_nonce, sizeof(s->client_nonce), nonce) == -1) {
		return einval();
	}
	buf_reset(&s->first_bare);
	if (buf_printf(&s->first_bare, "n=%s,r=%s", user, s->client_nonce) == -1)
		return -1;
	if (buf_puts(out, "n,,") == -1 || buf_puts(out, buf_str(&s->first_bare)) == -1)
		return -1;
	s->state = 1;
	return 0;
}

/* attr finds "k=value" among the comma-separated attributes of msg[0..n)
 * and returns value's start and length, or NULL. */
static const char *
attr(const char *msg, size_t n, char k, size_t *len)
{
	size_t i = 0;
	while (i + 1 < n) {
		const char *end = memchr(msg + i, ',', n - i);
		size_t l = end ? (size_t)(end - (msg + i)) : n - i;
		if (l >= 2 && msg[i] == k && msg[i + 1] == '=') {
			*len = l - 2;
			return msg + i + 2;
		}
		i += l + 1;
	}
	return NULL;
}

struct server_first {
	const char *nonce;
	size_t nonce_len;
	struct buf salt;
	long iterations;
};

static int
parse_server_first(const struct pg_scram *s, const char *sf, size_t n, struct server_first *p)
{
	size_t slen, ilen;
	char num[16];
	if (memchr(sf, '\0', n) != NULL || (n > 0 && sf[0] == 'm'))
		return einval(); /* mandatory extensions: none are known */
	p->nonce = attr(sf, n, 'r', &p->nonce_len);
	const char *salt = attr(sf, n, 's', &slen);
	const char *iter = attr(sf, n, 'i', &ilen);
	if (p->nonce == NULL || salt == NULL || iter == NULL || ilen == 0 || ilen >= sizeof(num))
		return einval();
	/* The server's nonce must extend ours, or this is a replay. */
	size_t cl = strlen(s->client_nonce);
	if (p->nonce_len <= cl || memcmp(p->nonce, s->client_nonce, cl) != 0) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(num, iter, ilen);
	num[ilen] = '\0';
	if (str_to_long(num, 1, PG_SCRAM_MAX_ITERATIONS, &p->iterations) == -1)
		return einval();
	if (base64_decode(&p->salt, salt, slen) == -1 || p->salt.len == 0)
		return einval();
	return 0;
}

/* client_key derives ClientKey and StoredKey, and keeps ServerKey. */
static void
derive_keys(struct pg_scram *s, const char *password, const struct server_first *p,
    unsigned char client_key[32], unsigned char stored_key[32])
{
	pg_pbkdf2_sha256(password, strlen(password), p->salt.data, p->salt.len,
	    (int)p->iterations, s->salted);
	hmac(s->salted, 32, "Client Key", 10, client_key);
	sha256(client_key, 32, stored_key);
	hmac(s->salted, 32, "Server Key", 10, s->server_key);
}

int
pg_scram_final(struct pg_scram *s, const char *password, const char *sf, size_t n,
    struct buf *out)
{
	struct server_first p;
	unsigned char ck[32], sk[32], sig[32];
	struct buf without_proof;
	int r = -1;

	if (s->state != 1)
		return einval();
	buf_init(&p.salt, 1024);
	buf_init(&without_proof, 1024);
	if (parse_server_first(s, sf, n, &p) == -1)
		goto out;
	/* c=biws is base64("n,,"): no channel binding. */
	if (buf_puts(&without_proof, "c=biws,r=") == -1 ||
	    buf_append(&without_proof, p.nonce, p.nonce_len) == -1)
		goto out;
	buf_reset(&s->auth_message);
	if (buf_puts(&s->auth_message, buf_str(&s->first_bare)) == -1 ||
	    buf_putc(&s->auth_message, ',') == -1 || buf_append(&s->auth_message, sf, n) == -1 ||
	    buf_putc(&s->auth_message, ',') == -1 ||
	    buf_puts(&s->auth_message, buf_str(&without_proof)) == -1)
		goto out;
	derive_keys(s, password, &p, ck, sk);
	hmac(sk, 32, s->auth_message.data, s->auth_message.len, sig);
	for (int i = 0; i < 32; i++)
		ck[i] ^= sig[i]; /* ClientProof */
	if (buf_puts(out, buf_str(&without_proof)) == -1 || buf_puts(out, ",p=") == -1 ||
	    base64_encode(out, ck, 32) == -1)
		goto out;
	s->state = 2;
	r = 0;
out:
	secure_wipe(ck, sizeof(ck));
	secure_wipe(sk, sizeof(sk));
	secure_wipe(sig, sizeof(sig));
	buf_free(&p.salt);
	buf_free(&without_proof);
	return r;
}

int
pg_scram_verify(struct pg_scram *s, const char *ff, size_t n)
{
	unsigned char expect[32];
	struct buf got;
	size_t vlen;
	int r = -1;

	if (s->state != 2)
		return einval();
	const char *v = attr(ff, n, 'v', &vlen);
	if (v == NULL) {
		errno = attr(ff, n, 'e', &vlen) ? EACCES : EINVAL;
		return -1;
	}
	buf_init(&got, 64);
	hmac(s->server_key, 32, s->auth_message.data, s->auth_message.len, expect);
	if (base64_decode(&got, v, vlen) == -1 || got.len != 32) {
		errno = EINVAL;
		goto out;
	}
	unsigned char diff = 0;
	for (int i = 0; i < 32; i++)
		diff |= (unsigned char)(expect[i] ^ (unsigned char)got.data[i]);
	if (diff != 0) {
		errno = EACCES;
		goto out;
	}
	s->state = 3;
	r = 0;
out:
	secure_wipe(expect, sizeof(expect));
	buf_free(&got);
	return r;
}

int
pg_scram_verifier(const char *password, const unsigned char *salt, size_t saltlen,
    int iterations, char out[PG_SCRAM_VERIFIER_MAX])
{
	unsigned char salted[32], ck[32], stored[32], server[32];
	struct buf b;
	int r = -1;

	for (const char *p = password; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return einval();
	if (iterations < 1 || saltlen == 0)
		return einval();
	buf_init(&b, PG_SCRAM_VERIFIER_MAX - 1);
	pg_pbkdf2_sha256(password, strlen(password), salt, saltlen, iterations, salted);
	hmac(salted, 32, "Client Key", 10, ck);
	sha256(ck, 32, stored);
	hmac(salted, 32, "Server Key", 10, server);
	if (buf_printf(&b, "%s$%d:", PG_SCRAM_MECH, iterations) == 0 &&
	    base64_encode(&b, salt, saltlen) == 0 && buf_putc(&b, '$') == 0 &&
	    base64_encode(&b, stored, 32) == 0 && buf_putc(&b, ':') == 0 &&
	    base64_encode(&b, server, 32) == 0)
		r = str_copy(out, PG_SCRAM_VERIFIER_MAX, buf_str(&b));
	secure_wipe(salted, sizeof(salted));
	secure_wipe(ck, sizeof(ck));
	buf_wipe(&b);
	return r;
}

int
pg_scram_verifier_matches(const char *verifier, const char *password)
{
	static const char prefix[] = PG_SCRAM_MECH "$";
	char mine[PG_SCRAM_VERIFIER_MAX];
	struct buf salt;
	long iter;
	int r = -1;

	if (strncmp(verifier, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	const char *p = verifier + sizeof(prefix) - 1;
	const char *colon = strchr(p, ':');
	const char *dollar = colon ? strchr(colon, '$') : NULL;
	char num[16];
	if (colon == NULL || dollar == NULL || (size_t)(colon - p) >= sizeof(num))
		return -1;
	memcpy(num, p, (size_t)(colon - p));
	num[colon - p] = '\0';
	buf_init(&salt, 1024);
	if (str_to_long(num, 1, PG_SCRAM_MAX_ITERATIONS, &iter) == 0 &&
	    base64_decode(&salt, colon + 1, (size_t)(dollar - colon - 1)) == 0 && salt.len > 0) {
		if (pg_scram_verifier(password, (unsigned char *)salt.data, salt.len, (int)iter,
			mine) == 0)
			r = strcmp(mine, verifier) == 0;
		else
			r = 0; /* a password we cannot hash cannot match */
	}
	secure_wipe(mine, sizeof(mine));
	buf_free(&salt);
	return r;
}

int
pg_md5_password(const char *user, const char *password, const unsigned char salt[4],
    char out[PG_MD5_PASSWORD_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	br_md5_context c;
	unsigned char d[16];
	char inner[33];

	br_md5_init(&c);
	br_md5_update(&c, password, strlen(password));
	br_md5_update(&c, user, strlen(user));
	br_md5_out(&c, d);
	for (int i = 0; i < 16; i++) {
		inner[2 * i] = hex[d[i] >> 4];
		inner[2 * i + 1] = hex[d[i] & 15];
	}
	br_md5_init(&c);
	br_md5_update(&c, inner, 32);
	br_md5_update(&c, salt, 4);
	br_md5_out(&c, d);
	memcpy(out, "md5", 3);
	for (int i = 0; i < 16; i++) {
		out[3 + 2 * i] = hex[d[i] >> 4];
		out[3 + 2 * i + 1] = hex[d[i] & 15];
	}
	out[35] = '\0';
	secure_wipe(inner, sizeof(inner));
	secure_wipe(&c, sizeof(c));
	return 0;
}
