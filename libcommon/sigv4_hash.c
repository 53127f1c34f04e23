/*
 * sigv4_hash.c: the hashing SigV4 needs: SHA-256 of a payload (memory,
 * stream, file), HMAC-SHA256, and lowercase hex.  BearSSL does the work.
 */
#include "sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <bearssl_hmac.h>

#define HASH_CHUNK 16384

void
sigv4_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void
sigv4_sha256_init(struct sigv4_sha256 *h)
{
	br_sha256_init(&h->ctx);
}

void
sigv4_sha256_update(struct sigv4_sha256 *h, const void *p, size_t n)
{
	br_sha256_update(&h->ctx, p, n);
}

void
sigv4_sha256_final(struct sigv4_sha256 *h, char out[SIGV4_HEX_SIZE])
{
	unsigned char md[br_sha256_SIZE];

	br_sha256_out(&h->ctx, md);
	sigv4_hex(md, sizeof(md), out);
}

void
sigv4_payload_hash(const void *p, size_t n, char out[SIGV4_HEX_SIZE])
{
	struct sigv4_sha256 h;

	sigv4_sha256_init(&h);
	sigv4_sha256_update(&h, p, n);
	sigv4_sha256_final(&h, out);
}

/* read_full reads until n bytes or EOF, retrying EINTR; -1 on error. */
static ssize_t
read_full(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
sigv4_payload_hash_fd(int fd, char out[SIGV4_HEX_SIZE])
{
	unsigned char chunk[HASH_CHUNK];
	struct sigv4_sha256 h;
	off_t start = lseek(fd, 0, SEEK_CUR); /* -1 for a pipe: consumed */
	ssize_t r;

	sigv4_sha256_init(&h);
	while ((r = read_full(fd, chunk, sizeof(chunk))) > 0)
		sigv4_sha256_update(&h, chunk, (size_t)r);
	if (r == -1)
		return -1;
	if (start != -1 && lseek(fd, start, SEEK_SET) == -1)
		return -1;
	sigv4_sha256_final(&h, out);
	return 0;
}

int
sigv4_payload_hash_file(FILE *fp, char out[SIGV4_HEX_SIZE])
{
	unsigned char chunk[HASH_CHUNK];
	struct sigv4_sha256 h;
	off_t start = ftello(fp);
	size_t r;

	sigv4_sha256_init(&h);
	while ((r = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		sigv4_sha256_update(&h, chunk, r);
	if (ferror(fp)) {
		errno = EIO;
		return -1;
	}
	/* fseeko also clears EOF, so the caller can read the body again. */
	if (start != -1 && fseeko(fp, start, SEEK_SET) == -1)
		return -1;
	sigv4_sha256_final(&h, out);
	return 0;
}

void
sigv4_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, keylen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, n);
	br_hmac_out(&hc, out);
	/* Both hold state derived from the key: a signing key, here. */
	secure_wipe(&kc, sizeof(kc));
	secure_wipe(&hc, sizeof(hc));
}
