/* test_cli.c: the common options and --version's library lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exits.h"

START_TEST(common_options_are_recognised)
{
	struct cli_common c;
	cli_common_init(&c);
	ck_assert(cli_common_option(&c, 'v', NULL));
	ck_assert(cli_common_option(&c, 'v', NULL));
	ck_assert_int_eq(c.verbosity, 2);
	ck_assert(cli_common_option(&c, 'q', NULL));
	ck_assert_int_eq(c.verbosity, -1);
	ck_assert(cli_common_option(&c, 'v', NULL)); /* -v after -q: back to 1 */
	ck_assert_int_eq(c.verbosity, 1);
	ck_assert(cli_common_option(&c, CLI_DRY_RUN, NULL));
	ck_assert(cli_common_option(&c, CLI_JSON, NULL));
	ck_assert(cli_common_option(&c, 'c', "x.ini"));
	ck_assert(c.dry_run && c.json);
	ck_assert_str_eq(c.config, "x.ini");
	ck_assert(!cli_common_option(&c, 'z', NULL));
	ck_assert(!cli_common_option(&c, CLI_FIRST_PRIVATE, NULL));
}
END_TEST

START_TEST(version_names_debian_revisions)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	static const char *const libs[] = { "curl", "bearssl", NULL };
	ck_assert_int_eq(cli_print_version(f, "tool", libs), 0);
	fclose(f);
	ck_assert_msg(strncmp(text, "tool (socorro-bootstrap) " SB_VERSION "\n", 26) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\n  curl 7.88.1-"));
	ck_assert_ptr_nonnull(strstr(text, "\n  bearssl 0.6"));
	ck_assert_ptr_null(strstr(text, "jansson")); /* only the libraries asked for */
	free(text);
}
END_TEST

START_TEST(exit_names_mirror_sysexits)
{
	ck_assert_int_eq(EX_USAGE, 64);
	ck_assert_int_eq(EX_CONFIG, 78);
	ck_assert_str_eq(exit_name(EX_UNAVAILABLE), "EX_UNAVAILABLE");
	ck_assert_str_eq(exit_name(12), "?");
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, common_options_are_recognised);
	tcase_add_test(tc, version_names_debian_revisions);
	tcase_add_test(tc, exit_names_mirror_sysexits);
	suite_add_tcase(s, tc);
	return s;
}
