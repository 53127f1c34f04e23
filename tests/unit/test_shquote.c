/*
 * test_shquote.c: KEY=value lines must survive eval unchanged.  The
 * round-trip test feeds quoted values to a real /bin/sh and reads them
 * back, so quoting mistakes show up as the shell would see them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shquote.h"

static char *
quoted(const char *v)
{
	static char out[256];
	struct buf b;
	buf_init(&b, sizeof(out) - 1);
	ck_assert_int_eq(sh_quote(&b, v), 0);
	str_copy(out, sizeof(out), buf_str(&b));
	buf_free(&b);
	return out;
}

START_TEST(plain_values_stay_bare)
{
	ck_assert_str_eq(quoted("as-stage-socorroweb"), "as-stage-socorroweb");
	ck_assert_str_eq(quoted("socorroweb_num.stage"), "socorroweb_num.stage");
	ck_assert_str_eq(quoted("a=b:c/d@e%f+g,h"), "a=b:c/d@e%f+g,h");
}
END_TEST

START_TEST(special_values_are_single_quoted)
{
	ck_assert_str_eq(quoted(""), "''");
	ck_assert_str_eq(quoted("a b"), "'a b'");
	ck_assert_str_eq(quoted("$(id)"), "'$(id)'");
	ck_assert_str_eq(quoted("it's"), "'it'\\''s'");
	ck_assert_str_eq(quoted("`x`"), "'`x`'");
}
END_TEST

START_TEST(names_are_checked)
{
	struct buf b;
	buf_init(&b, 100);
	ck_assert(sh_is_name("AUTOSCALENAME"));
	ck_assert(sh_is_name("_x1"));
	ck_assert(!sh_is_name("1x"));
	ck_assert(!sh_is_name("A-B"));
	ck_assert(!sh_is_name(""));
	ck_assert_int_eq(sh_assign(&b, "A;B", "v"), -1);
	ck_assert_int_eq(sh_assign(&b, "K", "v w"), 0);
	ck_assert_str_eq(buf_str(&b), "K='v w'\n");
	buf_free(&b);
}
END_TEST

/* eval the assignment in sh, print the variable back, compare. */
static void
round_trip(const char *value)
{
	struct buf script;
	buf_init(&script, 4096);
	ck_assert_int_eq(sh_assign(&script, "V", value), 0);
	ck_assert_int_eq(buf_puts(&script, "printf %s \"$V\"\n"), 0);
	int in[2], outp[2];
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(outp), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[1]);
		close(outp[0]);
		execl("/bin/sh", "sh", "-s", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	ck_assert_int_eq(write(in[1], script.data, script.len), (ssize_t)script.len);
	close(in[1]);
	char got[4096];
	size_t n = 0;
	ssize_t r;
	while ((r = read(outp[0], got + n, sizeof(got) - 1 - n)) > 0)
		n += (size_t)r;
	got[n] = '\0';
	close(outp[0]);
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_str_eq(got, value);
	buf_free(&script);
}

START_TEST(eval_round_trip_in_real_shell)
{
	static const char *const values[] = { "plain", "", "two words", "it's",
		"'''", "$(touch /tmp/sb-pwned)", "`id`", "a\\b", "line1\nline2",
		"$HOME ${X:-y} !x", "\"double\"", "*?[a]", "~root", "#hash", NULL };
	for (int i = 0; values[i]; i++)
		round_trip(values[i]);
	ck_assert_int_ne(access("/tmp/sb-pwned", F_OK), 0);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("shquote");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, plain_values_stay_bare);
	tcase_add_test(tc, special_values_are_single_quoted);
	tcase_add_test(tc, names_are_checked);
	tcase_add_test(tc, eval_round_trip_in_real_shell);
	suite_add_tcase(s, tc);
	return s;
}
