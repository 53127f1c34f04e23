/* test_encoding.c: base64 (RFC 4648 section 10 vectors) and durations. */
#include <check.h>
#include <string.h>

#include "base64.h"
#include "duration.h"

static const char *const rfc4648[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
	{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" } };

START_TEST(base64_rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		struct buf e, d;
		buf_init(&e, 100);
		buf_init(&d, 100);
		ck_assert_int_eq(base64_encode(&e, rfc4648[i][0], strlen(rfc4648[i][0])), 0);
		ck_assert_str_eq(buf_str(&e), rfc4648[i][1]);
		ck_assert_int_eq(base64_decode(&d, rfc4648[i][1], strlen(rfc4648[i][1])), 0);
		ck_assert_str_eq(buf_str(&d), rfc4648[i][0]);
		buf_free(&e);
		buf_free(&d);
	}
}
END_TEST

START_TEST(base64_binary_and_strictness)
{
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	struct buf e, d;
	buf_init(&e, 1000);
	buf_init(&d, 1000);
	ck_assert_int_eq(base64_encode(&e, all, sizeof(all)), 0);
	ck_assert_int_eq(base64_decode(&d, e.data, e.len), 0);
	ck_assert_uint_eq(d.len, 256);
	ck_assert_int_eq(memcmp(d.data, all, 256), 0);
	buf_reset(&d);
	ck_assert_int_eq(base64_decode(&d, "Zm9v\nYmFy\n", 10), 0); /* wrapped lines */
	ck_assert_str_eq(buf_str(&d), "foobar");
	ck_assert_int_eq(base64_decode(&d, "Zm9*", 4), -1);
	ck_assert_int_eq(base64_decode(&d, "Zg=", 3), -1);
	ck_assert_int_eq(base64_decode(&d, "Zg==Zg==", 8), -1);
	ck_assert_int_eq(base64_decode(&d, "Z", 1), -1);
	buf_free(&e);
	buf_free(&d);
}
END_TEST

START_TEST(durations)
{
	long s;
	ck_assert_int_eq(duration_parse("90", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(duration_parse("90s", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(duration_parse("15m", &s), 0);
	ck_assert_int_eq(s, 900);
	ck_assert_int_eq(duration_parse("1h30m", &s), 0);
	ck_assert_int_eq(s, 5400);
	ck_assert_int_eq(duration_parse("2d", &s), 0);
	ck_assert_int_eq(s, 172800);
	ck_assert_int_eq(duration_parse("", &s), -1);
	ck_assert_int_eq(duration_parse("m", &s), -1);
	ck_assert_int_eq(duration_parse("1h30", &s), -1);
	ck_assert_int_eq(duration_parse("-5s", &s), -1);
	ck_assert_int_eq(duration_parse("5x", &s), -1);
	ck_assert_int_eq(duration_parse("99999999999999999999s", &s), -1);
	char out[32];
	duration_format(3723, out);
	ck_assert_str_eq(out, "1h02m03s");
	duration_format(61, out);
	ck_assert_str_eq(out, "1m01s");
	duration_format(5, out);
	ck_assert_str_eq(out, "5s");
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, base64_rfc4648_vectors);
	tcase_add_test(tc, base64_binary_and_strictness);
	tcase_add_test(tc, durations);
	suite_add_tcase(s, tc);
	return s;
}
