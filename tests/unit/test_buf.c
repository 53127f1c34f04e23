/* test_buf.c: growable buffers with a maximum; bounded string helpers. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "buf.h"

START_TEST(append_grows_and_terminates)
{
	struct buf b;
	buf_init(&b, 1000);
	ck_assert_str_eq(buf_str(&b), "");
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(buf_append(&b, "abcdefghij", 10), 0);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_int_eq(b.data[1000], '\0');
	ck_assert_int_eq(memcmp(b.data + 990, "abcdefghij", 10), 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(max_is_enforced_without_partial_write)
{
	struct buf b;
	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "12345"), 0);
	errno = 0;
	ck_assert_int_eq(buf_puts(&b, "6789"), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(buf_str(&b), "12345"); /* nothing half-appended */
	ck_assert_int_eq(buf_puts(&b, "678"), 0);
	ck_assert_str_eq(buf_str(&b), "12345678");
	ck_assert_int_eq(buf_putc(&b, 'x'), -1);
	buf_free(&b);
}
END_TEST

START_TEST(printf_formats_and_respects_max)
{
	struct buf b;
	buf_init(&b, 16);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "n", 42), 0);
	ck_assert_str_eq(buf_str(&b), "n=42");
	ck_assert_int_eq(buf_printf(&b, "%0100d", 1), -1);
	ck_assert_str_eq(buf_str(&b), "n=42");
	buf_reset(&b);
	ck_assert_str_eq(buf_str(&b), "");
	buf_wipe(&b);
}
END_TEST

START_TEST(str_copy_reports_truncation)
{
	char d[4];
	ck_assert_int_eq(str_copy(d, sizeof(d), "abc"), 0);
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_copy(d, sizeof(d), "abcd"), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(d, "abc");
	ck_assert_int_eq(str_fmt(d, sizeof(d), "%d", 123), 0);
	ck_assert_int_eq(str_fmt(d, sizeof(d), "%d", 1234), -1);
}
END_TEST

START_TEST(str_fmt_clip_marks_cut_text)
{
	char d[10];
	str_fmt_clip(d, sizeof(d), "%s", "short");
	ck_assert_str_eq(d, "short");
	str_fmt_clip(d, sizeof(d), "%s", "much too long for it");
	ck_assert_str_eq(d, "much t..."); /* 9 bytes and the NUL */
}
END_TEST

START_TEST(str_to_long_is_strict)
{
	long v = 0;
	ck_assert_int_eq(str_to_long("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(str_to_long("-5", -10, 10, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(str_to_long("", 0, 100, &v), -1);
	ck_assert_int_eq(str_to_long(" 4", 0, 100, &v), -1);
	ck_assert_int_eq(str_to_long("4x", 0, 100, &v), -1);
	ck_assert_int_eq(str_to_long("101", 0, 100, &v), -1);
	ck_assert_int_eq(str_to_long("99999999999999999999999", 0, LONG_MAX, &v), -1);
}
END_TEST

START_TEST(str_trim_both_ends)
{
	char s[] = " \t a b \n";
	ck_assert_str_eq(str_trim(s), "a b");
	char e[] = "   ";
	ck_assert_str_eq(str_trim(e), "");
}
END_TEST

START_TEST(secure_wipe_zeroes)
{
	char s[8] = "secret!";
	secure_wipe(s, sizeof(s));
	for (size_t i = 0; i < sizeof(s); i++)
		ck_assert_int_eq(s[i], 0);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, append_grows_and_terminates);
	tcase_add_test(tc, max_is_enforced_without_partial_write);
	tcase_add_test(tc, printf_formats_and_respects_max);
	tcase_add_test(tc, str_copy_reports_truncation);
	tcase_add_test(tc, str_fmt_clip_marks_cut_text);
	tcase_add_test(tc, str_to_long_is_strict);
	tcase_add_test(tc, str_trim_both_ends);
	tcase_add_test(tc, secure_wipe_zeroes);
	suite_add_tcase(s, tc);
	return s;
}
