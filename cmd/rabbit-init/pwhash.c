/*
 * pwhash.c: RabbitMQ's password hashes, computed here so that the clear
 * password never crosses the wire.
 *
 * rabbit_auth_backend_internal stores base64(salt || H(salt || password))
 * with a 4-byte random salt; H is SHA-256 by default
 * (rabbit_password_hashing_sha256), SHA-512 or MD5 on brokers configured
 * so or upgraded from 3.5.  We write SHA-256 and can check all three, so
 * that an existing user keeps its password when the given one matches.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl_hash.h>

#include "base64.h"
#include "buf.h"
#include "rabbit-init.h"

#define SALT_LEN 4

static const br_hash_class *
hash_class(const char *algorithm)
{
	if (algorithm == NULL || strcmp(algorithm, "rabbit_password_hashing_sha256") == 0)
		return &br_sha256_vtable;
	if (strcmp(algorithm, "rabbit_password_hashing_sha512") == 0)
		return &br_sha512_vtable;
	if (strcmp(algorithm, "rabbit_password_hashing_md5") == 0)
		return &br_md5_vtable;
	return NULL;
}

static size_t
hash_len(const br_hash_class *h)
{
	return (h->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
}

/* salted writes H(salt || password) into out (64 bytes is enough for all). */
static void
salted(const br_hash_class *h, const unsigned char salt[SALT_LEN], const char *password,
    unsigned char out[64])
{
	br_hash_compat_context ctx;
	h->init(&ctx.vtable);
	h->update(&ctx.vtable, salt, SALT_LEN);
	h->update(&ctx.vtable, password, strlen(password));
	h->out(&ctx.vtable, out);
	secure_wipe(&ctx, sizeof(ctx));
}

int
pw_hash(struct buf *out, const char *password)
{
	unsigned char raw[SALT_LEN + 64];
	size_t got = 0;
	while (got < SALT_LEN) {
		ssize_t n = getrandom(raw + got, SALT_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	salted(&br_sha256_vtable, raw, password, raw + SALT_LEN);
	int r = base64_encode(out, raw, SALT_LEN + hash_len(&br_sha256_vtable));
	secure_wipe(raw, sizeof(raw));
	return r;
}

int
pw_verify(const char *hash_b64, const char *algorithm, const char *password)
{
	const br_hash_class *h = hash_class(algorithm);
	struct buf raw;
	unsigned char want[64];
	int r = -1;
	if (h == NULL || hash_b64 == NULL)
		return -1;
	buf_init(&raw, 256);
	if (base64_decode(&raw, hash_b64, strlen(hash_b64)) == 0 &&
	    raw.len == SALT_LEN + hash_len(h)) {
		const unsigned char *p = (const unsigned char *)raw.data;
		unsigned diff = 0;
		salted(h, p, password, want);
		for (size_t i = 0; i < hash_len(h); i++)
			diff |= (unsigned)(p[SALT_LEN + i] ^ want[i]);
		r = diff == 0;
	}
	secure_wipe(want, sizeof(want));
	buf_wipe(&raw);
	return r;
}
