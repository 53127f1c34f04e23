/*
 * test_sha256.c: libcommon's SHA-256 (sha256.c): the FIPS 180-4 examples
 * (one block, two blocks, a million 'a'), the padding boundaries (55, 56,
 * 63, 64 bytes), and agreement with BearSSL's (sigv4.h) over every length
 * up to 300 bytes and over a stream fed in odd pieces.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "sigv4.h"

START_TEST(fips_examples)
{
	char hex[SHA256_HEX_SIZE];
	sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(two, strlen(two), hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	struct sha256 h;
	char a[1000];
	memset(a, 'a', sizeof(a));
	sha256_init(&h);
	for (int i = 0; i < 1000; i++)
		sha256_update(&h, a, sizeof(a));
	sha256_final_hex(&h, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* Every length around the padding boundaries, against BearSSL. */
START_TEST(agrees_with_bearssl)
{
	unsigned char b[300];
	char ours[SHA256_HEX_SIZE], theirs[SIGV4_HEX_SIZE];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(b); n++) {
		sha256_hex(b, n, ours);
		sigv4_payload_hash(b, n, theirs);
		ck_assert_msg(strcmp(ours, theirs) == 0, "length %zu", n);
	}
}
END_TEST

/* A stream fed in pieces of every awkward size hashes as one buffer. */
START_TEST(pieces)
{
	size_t n = 1u << 20;
	unsigned char *b = malloc(n);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
	char whole[SHA256_HEX_SIZE], cut[SHA256_HEX_SIZE], ref[SIGV4_HEX_SIZE];
	sha256_hex(b, n, whole);
	sigv4_payload_hash(b, n, ref);
	ck_assert_str_eq(whole, ref);
	struct sha256 h;
	sha256_init(&h);
	size_t off = 0, step = 1;
	while (off < n) {
		size_t take = step < n - off ? step : n - off;
		sha256_update(&h, b + off, take);
		off += take;
		step = step * 7 % 4099 + 1;
	}
	sha256_final_hex(&h, cut);
	ck_assert_str_eq(cut, whole);
	free(b);
}
END_TEST

Suite *suite(void);

Suite *
suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, fips_examples);
	tcase_add_test(tc, agrees_with_bearssl);
	tcase_add_test(tc, pieces);
	suite_add_tcase(s, tc);
	return s;
}
