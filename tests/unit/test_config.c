/*
 * test_config.c: socorro.ini loading, resolution with templates and
 * overrides, and the file:line errors for every kind of bad file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "exits.h"
#include "strdist.h"

static char path[64];

static const char good[] =
    "# comment\n"
    "[env:stage]\n"
    "region = us-west-2\n"
    "roles = web, worker\n"
    "master = web\n"
    "\n"
    "[env:prod]\n"
    "roles = web worker\n"
    "\n"
    "[role:*]\n"
    "roleenv = {role}-{env}\n"
    "autoscalename = as-{env}-{role}\n"
    "elbname = elb-{env}-{role}\n"
    "sslelb = false\n"
    "applyscalingpolicy = false\n"
    "notifyforunhealthyelb = true\n"
    "scalevariable = {role}_num.{env}\n"
    "\n"
    "[role:web]\n"
    "terraformname = webapp\n"
    "sslelb@prod = true\n"
    "\n"
    "[role:worker]\n"
    "terraformname = worker\n"
    "elbname =\n"
    "roleenv@prod = prod-{role}\n";

static void
write_file(const char *text)
{
	str_fmt(path, sizeof(path), "/tmp/sb-config-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* load text; expect failure whose message ends with want (after path). */
static void
expect_error(const char *text, const char *want)
{
	struct config cfg;
	write_file(text);
	int r = config_load(&cfg, path);
	char expected[CFG_ERROR_MAX];
	str_fmt(expected, sizeof(expected), "%s%s", path, want);
	ck_assert_int_eq(r, EX_CONFIG);
	ck_assert_str_eq(cfg.error, expected);
	config_free(&cfg);
	unlink(path);
}

START_TEST(resolves_with_templates_and_overrides)
{
	struct config cfg;
	struct role_info ri;
	write_file(good);
	ck_assert_int_eq(config_load(&cfg, path), 0);
	ck_assert_int_eq(config_resolve(&cfg, "web-stage", &ri), 0);
	ck_assert_str_eq(ri.role, "web");
	ck_assert_str_eq(ri.env, "stage");
	ck_assert_str_eq(ri.autoscalename, "as-stage-web");
	ck_assert_str_eq(ri.elbname, "elb-stage-web");
	ck_assert_str_eq(ri.terraformname, "webapp");
	ck_assert(!ri.sslelb);
	ck_assert(ri.notifyforunhealthyelb);
	ck_assert_str_eq(ri.scalevariable, "web_num.stage");
	ck_assert_int_eq(config_resolve(&cfg, "web-prod", &ri), 0);
	ck_assert(ri.sslelb); /* key@prod override */
	ck_assert_int_eq(config_resolve(&cfg, "prod-worker", &ri), 0);
	ck_assert_str_eq(ri.elbname, ""); /* no ELB */
	ck_assert_int_eq(config_resolve(&cfg, "worker-prod", &ri), -1);
	ck_assert_int_eq(config_resolve(&cfg, "nothing", &ri), -1);
	ck_assert_str_eq(config_env_value(&cfg, "stage", "region"), "us-west-2");
	ck_assert_ptr_null(config_env_value(&cfg, "prod", "region"));
	ck_assert(config_has_env(&cfg, "prod"));
	ck_assert(!config_has_env(&cfg, "dev"));
	config_free(&cfg);
	unlink(path);
}
END_TEST

START_TEST(lists_in_file_order)
{
	struct config cfg;
	struct role_info ri;
	write_file(good);
	ck_assert_int_eq(config_load(&cfg, path), 0);
	const char *all[] = { "web-stage", "worker-stage", "web-prod", "prod-worker" };
	size_t i = 0;
	for (; config_roleenv_at(&cfg, NULL, false, i, &ri) == 0; i++)
		ck_assert_str_eq(ri.roleenv, all[i]);
	ck_assert_uint_eq(i, 4);
	ck_assert_int_eq(config_roleenv_at(&cfg, "stage", true, 0, &ri), 0);
	ck_assert_str_eq(ri.roleenv, "web-stage");
	ck_assert_int_eq(config_roleenv_at(&cfg, "stage", true, 1, &ri), -1);
	ck_assert_int_eq(config_roleenv_at(&cfg, "prod", true, 0, &ri), -1); /* no master */
	config_free(&cfg);
	unlink(path);
}
END_TEST

START_TEST(suggests_near_names)
{
	struct config cfg;
	write_file(good);
	ck_assert_int_eq(config_load(&cfg, path), 0);
	char near[3][CFG_VALUE_MAX];
	ck_assert_uint_eq(config_suggest(&cfg, "web-stag", near, 3), 2);
	ck_assert_str_eq(near[0], "web-stage");
	ck_assert_str_eq(near[1], "web-prod");
	ck_assert_uint_eq(config_suggest(&cfg, "zzzzzzzzzzzzzzzzzz", near, 3), 0);
	config_free(&cfg);
	unlink(path);
}
END_TEST

START_TEST(every_error_names_file_and_line)
{
	expect_error("[env:a]\nroles = r\n[bogus]\nx = 1\n",
	    ":4: unknown section [bogus]; expected [env:NAME], [role:NAME] or [role:*]");
	expect_error("x = 1\n", ":1: \"x\" is outside any section");
	expect_error("[env:a]\nroles = r\nnot a pair\n",
	    ":3: syntax error: expected [section], key = value, or a # comment");
	expect_error("[env:a]\nroles = r\nroles = s\n", ":3: key \"roles\" repeated (first at line 2)");
	expect_error("[env:a]\nroles = r\ncolour = red\n",
	    ":3: unknown key \"colour\" in an env section [env:a]");
	expect_error("[env:a]\nroles = r\n[role:r]\nsslelb = maybe\n",
	    ":4: sslelb = \"maybe\": expected true or false");
	expect_error("[env:a]\nroles = r\n[role:r]\nroleenv = {role}-{stage}\n",
	    ":4: unknown template {stage} in \"{role}-{stage}\"; use {env} or {role}");
	expect_error("[env:a]\nroles = r q\n[role:r]\nterraformname = t\n",
	    ":2: roles: unknown role \"q\" (no [role:q] section)");
	expect_error("[env:a]\nroles = r\nmaster = q\n[role:r]\nterraformname = t\n",
	    ":3: master: \"q\" is not in this env's roles list");
	expect_error("[env:a]\nroles = r\n[role:r]\nsslelb@b = true\n",
	    ":4: \"sslelb@b\": no [env:b] section");
	expect_error("[env:a]\nroles = r\n[role:r]\nterraformname = t\n",
	    ":4: role r has no roleenv for env a (set it in [role:r] or [role:*])");
	expect_error("[env:a]\nroles = r s\n[role:*]\nroleenv = same\nautoscalename = x\n"
		     "terraformname = t\nsslelb = false\napplyscalingpolicy = false\n"
		     "notifyforunhealthyelb = false\nscalevariable = v\n[role:r]\nterraformname = t\n"
		     "[role:s]\nterraformname = u\n",
	    ":14: role r in env a and role s in env a both resolve to same");
	expect_error("[env:a]\nroles = r\n[role:r]\nterraformname = t\n[env:a]\nmaster = r\n",
	    ":6: section [env:a] repeated (first at line 2)");
	expect_error("[env:a b]\nroles = r\n",
	    ":2: bad name in [env:a b]: use letters, digits, '_', '.', '-' (at most 63)");
}
END_TEST

START_TEST(missing_file_is_a_config_error)
{
	struct config cfg;
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/socorro.ini"), EX_CONFIG);
	ck_assert_str_eq(cfg.error, "/nonexistent/socorro.ini: cannot open: No such file or directory");
	config_free(&cfg);
}
END_TEST

START_TEST(shipped_config_loads)
{
	struct config cfg;
	struct role_info ri;
	ck_assert_int_eq(config_load(&cfg, "etc/socorro.ini"), 0);
	size_t n = 0;
	while (config_roleenv_at(&cfg, NULL, false, n, &ri) == 0)
		n++;
	ck_assert_uint_eq(n, 21);
	config_free(&cfg);
}
END_TEST

START_TEST(find_prefers_flag_then_env)
{
	char out[CFG_PATH_MAX];
	const char *source;
	setenv("SOCORRO_CONFIG", "/from/env.ini", 1);
	ck_assert_int_eq(config_find("/from/flag.ini", out, sizeof(out), &source), 0);
	ck_assert_str_eq(out, "/from/flag.ini");
	ck_assert_str_eq(source, "--config");
	ck_assert_int_eq(config_find(NULL, out, sizeof(out), &source), 0);
	ck_assert_str_eq(out, "/from/env.ini");
	ck_assert_str_eq(source, "SOCORRO_CONFIG");
	unsetenv("SOCORRO_CONFIG");
}
END_TEST

START_TEST(edit_distance)
{
	ck_assert_uint_eq(str_distance("", ""), 0);
	ck_assert_uint_eq(str_distance("abc", ""), 3);
	ck_assert_uint_eq(str_distance("kitten", "sitting"), 3);
	ck_assert_uint_eq(str_distance("socorroweb-stag", "socorroweb-stage"), 1);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, resolves_with_templates_and_overrides);
	tcase_add_test(tc, lists_in_file_order);
	tcase_add_test(tc, suggests_near_names);
	tcase_add_test(tc, every_error_names_file_and_line);
	tcase_add_test(tc, missing_file_is_a_config_error);
	tcase_add_test(tc, shipped_config_loads);
	tcase_add_test(tc, find_prefers_flag_then_env);
	tcase_add_test(tc, edit_distance);
	suite_add_tcase(s, tc);
	return s;
}
