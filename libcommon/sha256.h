/*
 * sha256.h: SHA-256 (FIPS 180-4), for hashing large streams quickly.
 *
 * Why another one beside BearSSL's (sigv4.h's sigv4_sha256_*): backup
 * hashes every byte it stores twice (the manifest's SHA-256 of the whole
 * object, and SigV4's of each S3 part), and on a machine without the
 * SHA extensions that is most of its CPU.  This one unrolls the rounds
 * and, where the CPU has BMI2 (checked once, at run time), uses rorx for
 * the rotations: about 1.5x BearSSL's C as the toolkit builds it.
 * Checked against the FIPS 180-4 examples and against BearSSL
 * (tests/unit/test_sha256.c).
 *
 *	struct sha256 h;
 *	sha256_init(&h);
 *	sha256_update(&h, p, n);        // any number of times
 *	sha256_final(&h, digest);       // or sha256_final_hex(&h, hex)
 *
 * The caller owns the context (on its stack); nothing is allocated,
 * printed or kept.  Not for secrets: the context is not wiped.
 */
#ifndef SB_SHA256_H
#define SB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_SIZE 32
#define SHA256_HEX_SIZE 65 /* 64 lowercase hex digits and a NUL */

struct sha256 {
	uint32_t state[8];
	uint64_t len;            /* bytes hashed so far */
	unsigned char buf[64];   /* a partial block */
	size_t nbuf;
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *p, size_t n);
void sha256_final(struct sha256 *h, unsigned char out[SHA256_SIZE]);
void sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_SIZE]);
/* sha256_hex: the digest of p[0..n) in lowercase hex. */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_SIZE]);

#endif
