/*
 * test_sigv4_hash.c: the hashing SigV4 uses (sigv4_hash.c): SHA-256
 * known answers (FIPS 180-2), HMAC-SHA256 (RFC 4231), and payload hashes
 * of a file, a descriptor and odd-sized chunks that must agree.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sigv4.h"

START_TEST(sha256_known_answers)
{
	char hex[SIGV4_HEX_SIZE];

	sigv4_payload_hash("", 0, hex);
	ck_assert_str_eq(hex, SIGV4_EMPTY_HASH);
	sigv4_payload_hash("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

/* RFC 4231 section 4, test cases 1 to 4. */
START_TEST(hmac_rfc4231)
{
	unsigned char k1[20], k3[20], k4[25], d3[50], d4[50], mac[32];
	char hex[SIGV4_HEX_SIZE];

	memset(k1, 0x0b, sizeof(k1));
	memset(k3, 0xaa, sizeof(k3));
	memset(d3, 0xdd, sizeof(d3));
	memset(d4, 0xcd, sizeof(d4));
	for (int i = 0; i < 25; i++)
		k4[i] = (unsigned char)(i + 1);
	sigv4_hmac_sha256(k1, sizeof(k1), "Hi There", 8, mac);
	sigv4_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	sigv4_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	sigv4_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	sigv4_hmac_sha256(k3, sizeof(k3), d3, sizeof(d3), mac);
	sigv4_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	sigv4_hmac_sha256(k4, sizeof(k4), d4, sizeof(d4), mac);
	sigv4_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}
END_TEST

/* A file, the same bytes in memory and in odd chunks hash alike, and
 * the offset a body is sent from is put back. */
START_TEST(payload_hash_file_fd_chunks)
{
	enum { N = 70001, SKIP = 10 };
	static unsigned char data[N];
	char mem[SIGV4_HEX_SIZE], tail[SIGV4_HEX_SIZE], got[SIGV4_HEX_SIZE];
	struct sigv4_sha256 h;
	unsigned x = 12345;

	for (size_t i = 0; i < N; i++, x = x * 1103515245u + 12345u)
		data[i] = (unsigned char)(x >> 16);
	sigv4_payload_hash(data, N, mem);
	sigv4_payload_hash(data + SKIP, N - SKIP, tail);

	sigv4_sha256_init(&h);
	for (size_t off = 0, step = 1; off < N; off += step, step = step * 3 % 997 + 1)
		sigv4_sha256_update(&h, data + off, off + step > N ? N - off : step);
	sigv4_sha256_final(&h, got);
	ck_assert_str_eq(got, mem);

	FILE *fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, N, fp), N);
	ck_assert_int_eq(fflush(fp), 0);
	rewind(fp);
	ck_assert_int_eq(sigv4_payload_hash_file(fp, got), 0);
	ck_assert_str_eq(got, mem);
	ck_assert_int_eq(ftello(fp), 0);
	ck_assert_int_eq(fseeko(fp, SKIP, SEEK_SET), 0);
	ck_assert_int_eq(sigv4_payload_hash_file(fp, got), 0);
	ck_assert_str_eq(got, tail);
	ck_assert_int_eq(ftello(fp), SKIP);

	int fd = fileno(fp);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(sigv4_payload_hash_fd(fd, got), 0);
	ck_assert_str_eq(got, mem);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	fclose(fp);
}
END_TEST

Suite *suite(void);

Suite *
suite(void)
{
	Suite *s = suite_create("sigv4_hash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sha256_known_answers);
	tcase_add_test(tc, hmac_rfc4231);
	tcase_add_test(tc, payload_hash_file_fd_chunks);
	suite_add_tcase(s, tc);
	return s;
}
