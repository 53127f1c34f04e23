/*
 * sha256.c: SHA-256, rounds unrolled, with a BMI2 build of the block
 * function picked at run time.  See sha256.h.
 */
#include "sha256.h"

#include <string.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define S0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define S1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define s0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define s1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define LOAD(i)                                                                  \
	(w[i] = (uint32_t)p[4 * (i)] << 24 | (uint32_t)p[4 * (i) + 1] << 16 |    \
	    (uint32_t)p[4 * (i) + 2] << 8 | (uint32_t)p[4 * (i) + 3])
#define SCHED(i) \
	(w[(i) & 15] += s1(w[((i) - 2) & 15]) + w[((i) - 7) & 15] + s0(w[((i) - 15) & 15]))
/* One round; the eight working variables rotate by renaming, not moving. */
#define RND(a, b, c, d, e, f, g, h, i, W)                            \
	do {                                                         \
		uint32_t t1 = h + S1(e) + CH(e, f, g) + K[i] + (W); \
		d += t1;                                             \
		h = t1 + S0(a) + MAJ(a, b, c);                       \
	} while (0)
#define R8(i, W)                                                 \
	RND(a, b, c, d, e, f, g, h, (i) + 0, W((i) + 0));        \
	RND(h, a, b, c, d, e, f, g, (i) + 1, W((i) + 1));        \
	RND(g, h, a, b, c, d, e, f, (i) + 2, W((i) + 2));        \
	RND(f, g, h, a, b, c, d, e, (i) + 3, W((i) + 3));        \
	RND(e, f, g, h, a, b, c, d, (i) + 4, W((i) + 4));        \
	RND(d, e, f, g, h, a, b, c, (i) + 5, W((i) + 5));        \
	RND(c, d, e, f, g, h, a, b, (i) + 6, W((i) + 6));        \
	RND(b, c, d, e, f, g, h, a, (i) + 7, W((i) + 7))
#define BLOCKS_BODY                                                                    \
	uint32_t w[16];                                                                \
	for (; nblocks > 0; nblocks--, p += 64) {                                      \
		uint32_t a = st[0], b = st[1], c = st[2], d = st[3];                   \
		uint32_t e = st[4], f = st[5], g = st[6], h = st[7];                   \
		R8(0, LOAD);                                                           \
		R8(8, LOAD);                                                           \
		R8(16, SCHED);                                                         \
		R8(24, SCHED);                                                         \
		R8(32, SCHED);                                                         \
		R8(40, SCHED);                                                         \
		R8(48, SCHED);                                                         \
		R8(56, SCHED);                                                         \
		st[0] += a, st[1] += b, st[2] += c, st[3] += d;                        \
		st[4] += e, st[5] += f, st[6] += g, st[7] += h;                        \
	}

/* The commands are built -Os; the rounds want -O2 (about 1.25x). */
__attribute__((optimize("O2"))) static void
blocks_generic(uint32_t st[8], const unsigned char *p, size_t nblocks)
{
	BLOCKS_BODY
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target("bmi2"), optimize("O2"))) static void
blocks_bmi2(uint32_t st[8], const unsigned char *p, size_t nblocks)
{
	BLOCKS_BODY
}
#endif

static void
blocks(uint32_t st[8], const unsigned char *p, size_t nblocks)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	/* A pure read of the CPU's features, set up before main. */
	if (__builtin_cpu_supports("bmi2")) {
		blocks_bmi2(st, p, nblocks);
		return;
	}
#endif
	blocks_generic(st, p, nblocks);
}

void
sha256_init(struct sha256 *h)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(h->state, iv, sizeof(iv));
	h->len = 0;
	h->nbuf = 0;
}

void
sha256_update(struct sha256 *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	h->len += n;
	if (h->nbuf > 0) {
		size_t take = 64 - h->nbuf < n ? 64 - h->nbuf : n;
		memcpy(h->buf + h->nbuf, p, take);
		h->nbuf += take;
		p += take;
		n -= take;
		if (h->nbuf < 64)
			return;
		blocks(h->state, h->buf, 1);
		h->nbuf = 0;
	}
	if (n >= 64) {
		blocks(h->state, p, n / 64);
		p += n / 64 * 64;
		n %= 64;
	}
	memcpy(h->buf, p, n);
	h->nbuf = n;
}

void
sha256_final(struct sha256 *h, unsigned char out[SHA256_SIZE])
{
	uint64_t bits = h->len * 8;
	unsigned char pad[72] = { 0x80 };
	size_t padlen = (h->nbuf < 56 ? 56 : 120) - h->nbuf;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	uint64_t len = h->len;
	sha256_update(h, pad, padlen + 8);
	h->len = len;
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h->state[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h->state[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h->state[i] >> 8);
		out[4 * i + 3] = (unsigned char)h->state[i];
	}
}

void
sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[SHA256_SIZE];
	sha256_final(h, d);
	for (int i = 0; i < SHA256_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

void
sha256_hex(const void *p, size_t n, char out[SHA256_HEX_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, p, n);
	sha256_final_hex(&h, out);
}
