/*
 * test_aws_creds.c: the environment and shared-file links of the AWS
 * credential chain, and endpoint selection.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_creds.h"
#include "aws_session.h"

static char dir[64];
static char credfile[128], conffile[128];

static void
clear_env(void)
{
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", NULL };
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);
}

static void
setup(void)
{
	clear_env();
	snprintf(dir, sizeof(dir), "/tmp/sb-aws-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(credfile, sizeof(credfile), "%s/credentials", dir);
	snprintf(conffile, sizeof(conffile), "%s/config", dir);
	FILE *f = fopen(credfile, "w");
	fputs("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secretdefault\n"
	      "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = secretci\n"
	      "aws_session_token = tokci\n"
	      "[half]\naws_access_key_id = AKIDHALF\n",
	    f);
	fclose(f);
	f = fopen(conffile, "w");
	fputs("[default]\nregion = eu-west-1\n[profile cfgonly]\nregion = us-east-2\n"
	      "aws_access_key_id = AKIDCFG\naws_secret_access_key = secretcfg\n",
	    f);
	fclose(f);
	setenv("AWS_SHARED_CREDENTIALS_FILE", credfile, 1);
	setenv("AWS_CONFIG_FILE", conffile, 1);
}

static void
teardown(void)
{
	unlink(credfile);
	unlink(conffile);
	rmdir(dir);
	clear_env();
}

START_TEST(environment_wins_and_must_be_whole)
{
	struct aws_credentials c;
	char err[256];
	ck_assert_int_eq(aws_creds_from_env(&c, err, sizeof(err)), 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	ck_assert_int_eq(aws_creds_from_env(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "AWS_SECRET_ACCESS_KEY is not"));
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	ck_assert_int_eq(aws_creds_from_env(&c, err, sizeof(err)), 1);
	ck_assert_str_eq(c.access_key_id, "AKIDENV");
	ck_assert_str_eq(c.secret_access_key, "secretenv");
	ck_assert_str_eq(c.session_token, "tokenv");
	ck_assert_int_eq(c.source, AWS_CRED_ENV);
	aws_credentials_wipe(&c);
	ck_assert_str_eq(c.secret_access_key, "");
}
END_TEST

START_TEST(shared_files_by_profile)
{
	struct aws_credentials c;
	char err[256];
	ck_assert_int_eq(aws_creds_from_files(NULL, &c, err, sizeof(err)), 1);
	ck_assert_str_eq(c.access_key_id, "AKIDDEFAULT");
	ck_assert_int_eq(c.source, AWS_CRED_FILE);
	setenv("AWS_PROFILE", "ci", 1);
	ck_assert_int_eq(aws_creds_from_files(NULL, &c, err, sizeof(err)), 1);
	ck_assert_str_eq(c.session_token, "tokci");
	ck_assert_int_eq(aws_creds_from_files("cfgonly", &c, err, sizeof(err)), 1);
	ck_assert_str_eq(c.access_key_id, "AKIDCFG"); /* [profile cfgonly] in config */
	ck_assert_int_eq(aws_creds_from_files("nosuch", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(aws_creds_from_files("half", &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs both"));
}
END_TEST

START_TEST(region_from_config)
{
	char region[64], err[256];
	ck_assert_int_eq(aws_region_from_files(NULL, region, sizeof(region), err, sizeof(err)), 1);
	ck_assert_str_eq(region, "eu-west-1");
	ck_assert_int_eq(aws_region_from_files("cfgonly", region, sizeof(region), err, sizeof(err)), 1);
	ck_assert_str_eq(region, "us-east-2");
	ck_assert_int_eq(aws_region_from_files("ci", region, sizeof(region), err, sizeof(err)), 0);
}
END_TEST

START_TEST(missing_files_are_absent_not_errors)
{
	struct aws_credentials c;
	char err[256];
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	ck_assert_int_eq(aws_creds_from_files(NULL, &c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(endpoints)
{
	char url[256];
	ck_assert_int_eq(aws_endpoint("EC2", "ec2", "us-west-2", url, sizeof(url)), 0);
	ck_assert_str_eq(url, "https://ec2.us-west-2.amazonaws.com");
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
	ck_assert_int_eq(aws_endpoint("EC2", "ec2", "us-west-2", url, sizeof(url)), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:9000");
	setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9001", 1);
	ck_assert_int_eq(aws_endpoint("EC2", "ec2", "us-west-2", url, sizeof(url)), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:9001");
	ck_assert_int_eq(aws_endpoint("S3", "s3", "us-west-2", url, sizeof(url)), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:9000");
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("aws_creds");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, environment_wins_and_must_be_whole);
	tcase_add_test(tc, shared_files_by_profile);
	tcase_add_test(tc, region_from_config);
	tcase_add_test(tc, missing_files_are_absent_not_errors);
	tcase_add_test(tc, endpoints);
	suite_add_tcase(s, tc);
	return s;
}
