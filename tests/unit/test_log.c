/*
 * test_log.c: one line per message, levels, and the redaction registry:
 * once a secret is registered, no line can carry it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

struct capture {
	FILE *f;
	char *text;
	size_t len;
};

static void
capture_open(struct capture *c, struct log *lg, int verbosity)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	ck_assert_ptr_nonnull(c->f);
	log_init(lg, "tool", c->f);
	lg->verbosity = verbosity;
}

static const char *
capture_text(struct capture *c)
{
	fflush(c->f);
	return c->text ? c->text : "";
}

static void
capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->text);
}

START_TEST(lines_are_prefixed_and_leveled)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	log_error(&lg, "bad %s", "thing");
	log_warn(&lg, "careful");
	log_info(&lg, "info");
	log_debug(&lg, "hidden debug");
	ck_assert_str_eq(capture_text(&c), "tool: bad thing\ntool: warning: careful\ntool: info\n");
	capture_close(&c);

	capture_open(&c, &lg, -1);
	log_info(&lg, "quiet hides info");
	log_error(&lg, "errors stay");
	ck_assert_str_eq(capture_text(&c), "tool: errors stay\n");
	capture_close(&c);

	capture_open(&c, &lg, 2);
	log_debug(&lg, "d");
	log_trace(&lg, "t");
	ck_assert_str_eq(capture_text(&c), "tool: d\ntool: t\n");
	capture_close(&c);
}
END_TEST

START_TEST(registered_secrets_never_print)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 2);
	static const char secret[] = "hunter2-SeCrEt";
	static const char token[] = "tok-123";
	ck_assert_int_eq(log_add_secret(&lg, secret), 0);
	ck_assert_int_eq(log_add_secret(&lg, token), 0);
	ck_assert_int_eq(log_add_secret(&lg, ""), 0); /* ignored, not a wildcard */
	log_error(&lg, "password %s rejected", secret);
	log_trace(&lg, "Authorization: %s%s", token, secret);
	log_info(&lg, "twice: %s/%s", secret, secret);
	const char *t = capture_text(&c);
	ck_assert_ptr_null(strstr(t, secret));
	ck_assert_ptr_null(strstr(t, token));
	ck_assert_str_eq(t, "tool: password [REDACTED] rejected\n"
			    "tool: Authorization: [REDACTED][REDACTED]\n"
			    "tool: twice: [REDACTED]/[REDACTED]\n");
	capture_close(&c);
}
END_TEST

START_TEST(registry_keeps_its_own_copy)
{
	/* A caller may wipe and free its secret right after registering it. */
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	char *heap = strdup("freed-secret-value");
	ck_assert_int_eq(log_add_secret(&lg, heap), 0);
	ck_assert_int_eq(log_add_secret(&lg, "freed-secret-value"), 0); /* same text: once */
	ck_assert_int_eq(lg.nsecrets, 1);
	secure_wipe(heap, strlen(heap));
	free(heap);
	log_error(&lg, "leak? %s", "freed-secret-value");
	ck_assert_str_eq(capture_text(&c), "tool: leak? [REDACTED]\n");
	log_forget_secrets(&lg);
	for (size_t i = 0; i < sizeof(lg.secret_store); i++)
		ck_assert_int_eq(lg.secret_store[i], 0);
	capture_close(&c);
}
END_TEST

START_TEST(longest_secret_wins)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	log_add_secret(&lg, "abc");
	log_add_secret(&lg, "abcdef");
	log_error(&lg, "xabcdefx");
	ck_assert_str_eq(capture_text(&c), "tool: x[REDACTED]x\n");
	capture_close(&c);
}
END_TEST

START_TEST(registry_full_is_reported)
{
	struct log lg;
	log_init(&lg, "tool", stderr);
	static char secrets[LOG_MAX_SECRETS + 1][8];
	for (int i = 0; i <= LOG_MAX_SECRETS; i++)
		str_fmt(secrets[i], sizeof(secrets[i]), "s%02d", i % 100);
	for (int i = 0; i < LOG_MAX_SECRETS; i++)
		ck_assert_int_eq(log_add_secret(&lg, secrets[i]), 0);
	ck_assert_int_eq(log_add_secret(&lg, secrets[LOG_MAX_SECRETS]), -1);
}
END_TEST

START_TEST(control_characters_cannot_forge_lines)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	log_error(&lg, "value=%s", "a\nidentify-role: fake\r\x1b[2J");
	ck_assert_str_eq(capture_text(&c), "tool: value=a\\nidentify-role: fake\\r\\x1b[2J\n");
	capture_close(&c);
}
END_TEST

START_TEST(long_lines_are_cut_visibly)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	char big[LOG_LINE_MAX * 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error(&lg, "%s", big);
	const char *t = capture_text(&c);
	size_t n = strlen(t);
	ck_assert_uint_lt(n, LOG_LINE_MAX + 16);
	ck_assert_str_eq(t + n - 4, "...\n");
	capture_close(&c);
}
END_TEST

START_TEST(secret_split_by_truncation_is_not_leaked)
{
	/* A secret straddling the cut must not leave its prefix behind. */
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	static const char secret[] = "0123456789ABCDEFGHIJ";
	log_add_secret(&lg, secret);
	char line[LOG_LINE_MAX + 64];
	memset(line, 'y', sizeof(line));
	memcpy(line + LOG_LINE_MAX - 10, secret, sizeof(secret));
	log_error(&lg, "%s", line);
	ck_assert_ptr_null(strstr(capture_text(&c), "0123456789"));
	capture_close(&c);
}
END_TEST

START_TEST(progress_without_tty_is_periodic)
{
	struct log lg;
	struct capture c;
	capture_open(&c, &lg, 0);
	log_progress(&lg, "waiting %d", 1);
	log_progress(&lg, "waiting %d", 2); /* within the interval: dropped */
	ck_assert_str_eq(capture_text(&c), "tool: waiting 1\n");
	log_info(&lg, "done");
	log_progress(&lg, "again"); /* a message resets the interval */
	ck_assert_str_eq(capture_text(&c), "tool: waiting 1\ntool: done\ntool: again\n");
	capture_close(&c);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, lines_are_prefixed_and_leveled);
	tcase_add_test(tc, registered_secrets_never_print);
	tcase_add_test(tc, registry_keeps_its_own_copy);
	tcase_add_test(tc, longest_secret_wins);
	tcase_add_test(tc, registry_full_is_reported);
	tcase_add_test(tc, control_characters_cannot_forge_lines);
	tcase_add_test(tc, long_lines_are_cut_visibly);
	tcase_add_test(tc, secret_split_by_truncation_is_not_leaked);
	tcase_add_test(tc, progress_without_tty_is_periodic);
	suite_add_tcase(s, tc);
	return s;
}
