/*
 * test_pg_tls.c: trust anchors from PEM files (a CA, several, junk
 * between, none, not PEM, missing), the system bundle, and the deadline
 * wait the TLS and socket code share.  Handshakes against a real server
 * are in tests/integration/setup-postgres.test.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "pg_tls.h"

static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBkzCCATmgAwIBAgIUV15MArU7kcrQA4Yw/5/zWgg2UxcwCgYIKoZIzj0EAwIw\n"
    "HjEcMBoGA1UEAwwTcGdfdGxzIHVuaXQgdGVzdCBDQTAgFw0yNjExMjIwMDIxMzVa\n"
    "GA8yMTI2MTAyOTAwMjEzNVowHjEcMBoGA1UEAwwTcGdfdGxzIHVuaXQgdGVzdCBD\n"
    "QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABK5h6JOis5oeRn7AsTEYv/gt8s8g\n"
    "5KPAy2KSRMWBsACQGYp6gHMRpgHjSJ3A0pJ0E1XpdMq/JjbgRBk5G96rdaajUzBR\n"
    "MB0GA1UdDgQWBBS3DieuRLsTC1s0e/MIFA3suLBHQDAfBgNVHSMEGDAWgBS3Dieu\n"
    "RLsTC1s0e/MIFA3suLBHQDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA\n"
    "MEUCIQDtPyen9h54XcydvUaWcJTLatvMW6pRcA7JC0ncSYci7QIgNvnxKTofvcb7\n"
    "C2IPaeVuintJleqN755CCu55Saxmiro=\n"
    "-----END CERTIFICATE-----\n";

static char path[64];

static const char *
write_file(const char *text)
{
	strncpy(path, "/tmp/test_pg_tls.XXXXXX", sizeof(path));
	int fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(one_ca)
{
	struct pg_anchors a;
	char err[256];
	pg_anchors_init(&a);
	ck_assert_int_eq(pg_anchors_load(&a, write_file(ca_pem), err, sizeof(err)), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.ta[0].flags & BR_X509_TA_CA, BR_X509_TA_CA);
	ck_assert_int_eq(a.ta[0].pkey.key_type, BR_KEYTYPE_EC);
	ck_assert_uint_eq(a.ta[0].pkey.key.ec.qlen, 65);
	unlink(path);
	pg_anchors_free(&a);
	ck_assert_uint_eq(a.n, 0);
}
END_TEST

START_TEST(several_with_junk)
{
	struct pg_anchors a;
	char err[256], text[4096];
	/* Bundles carry comments and labels between certificates. */
	snprintf(text, sizeof(text), "# first\n%sSubject: x\n\n%s", ca_pem, ca_pem);
	pg_anchors_init(&a);
	ck_assert_int_eq(pg_anchors_load(&a, write_file(text), err, sizeof(err)), 0);
	ck_assert_uint_eq(a.n, 2);
	unlink(path);
	/* Loading more adds to what is there. */
	ck_assert_int_eq(pg_anchors_load(&a, write_file(ca_pem), err, sizeof(err)), 0);
	ck_assert_uint_eq(a.n, 3);
	unlink(path);
	pg_anchors_free(&a);
}
END_TEST

START_TEST(refusals)
{
	struct pg_anchors a;
	char err[256];
	pg_anchors_init(&a);
	ck_assert_int_eq(pg_anchors_load(&a, "/nonexistent/ca.pem", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.pem"));
	ck_assert_int_eq(pg_anchors_load(&a, write_file("no certificates here\n"), err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no usable certificate"));
	unlink(path);
	ck_assert_int_eq(pg_anchors_load(&a, write_file("-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n"), err, sizeof(err)), -1);
	unlink(path);
	/* A certificate whose body is not DER: skipped, so none usable. */
	ck_assert_int_eq(pg_anchors_load(&a, write_file("-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n"), err, sizeof(err)), -1);
	unlink(path);
	ck_assert_uint_eq(a.n, 0);
	pg_anchors_free(&a);
}
END_TEST

START_TEST(system_bundle)
{
	static const char *const bundles[] = HTTP_CA_BUNDLES;
	struct pg_anchors a;
	char err[256];
	const char *found = NULL;
	for (int i = 0; bundles[i] != NULL && found == NULL; i++)
		if (access(bundles[i], R_OK) == 0)
			found = bundles[i];
	ck_assert_msg(found != NULL, "no system CA bundle (install ca-certificates)");
	pg_anchors_init(&a);
	ck_assert_int_eq(pg_anchors_load(&a, found, err, sizeof(err)), 0);
	ck_assert_uint_gt(a.n, 50);
	pg_anchors_free(&a);
}
END_TEST

START_TEST(wait_deadline)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int64_t t0 = pg_now_ms();
	errno = 0;
	ck_assert_int_eq(pg_wait_fd(p[0], POLLIN, t0 + 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(pg_now_ms() - t0, 49);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(pg_wait_fd(p[0], POLLIN, pg_now_ms() + 1000), 0);
	ck_assert_int_eq(pg_wait_fd(p[0], POLLIN, 0), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("pg_tls");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, one_ca);
	tcase_add_test(tc, several_with_junk);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, system_bundle);
	tcase_add_test(tc, wait_deadline);
	suite_add_tcase(s, tc);
	return s;
}
