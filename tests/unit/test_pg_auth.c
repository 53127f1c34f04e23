/*
 * test_pg_auth.c: SCRAM-SHA-256 against the RFC 7677 section 3 exchange
 * (user "user", password "pencil"), the forgeries a client must refuse,
 * PBKDF2-HMAC-SHA-256 known answers (RFC 7914 section 11 and the common
 * c=4096 vector), PostgreSQL verifiers and MD5 passwords (checked against
 * Python's hashlib).
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "pg_auth.h"
#include "sigv4.h"

#define NONCE "rOprNGfwEbeRWgbNEkqO"
#define SERVER_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define CLIENT_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* exchange runs the RFC's exchange up to the client-final-message. */
static void
exchange(struct pg_scram *s, struct buf *out)
{
	pg_scram_init(s);
	buf_init(out, 4096);
	ck_assert_int_eq(pg_scram_first(s, "user", NONCE, out), 0);
	ck_assert_str_eq(buf_str(out), "n,,n=user,r=" NONCE);
	buf_reset(out);
	ck_assert_int_eq(pg_scram_final(s, "pencil", SERVER_FIRST, strlen(SERVER_FIRST), out), 0);
}

START_TEST(scram_rfc7677)
{
	struct pg_scram s;
	struct buf out;
	exchange(&s, &out);
	ck_assert_str_eq(buf_str(&out), CLIENT_FINAL);
	ck_assert_int_eq(pg_scram_verify(&s, SERVER_FINAL, strlen(SERVER_FINAL)), 0);
	pg_scram_free(&s);
	buf_free(&out);
}
END_TEST

/* A server that does not hold the verifier cannot sign: refused. */
START_TEST(scram_forged_server_signature)
{
	struct pg_scram s;
	struct buf out;
	const char *forged = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
	exchange(&s, &out);
	errno = 0;
	ck_assert_int_eq(pg_scram_verify(&s, forged, strlen(forged)), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(pg_scram_verify(&s, "e=invalid-proof", 15), -1);
	ck_assert_int_eq(pg_scram_verify(&s, "v=short", 7), -1);
	pg_scram_free(&s);
	buf_free(&out);
}
END_TEST

START_TEST(scram_bad_server_first)
{
	static const char *const bad[] = {
		"r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* not our nonce */
		"r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",      /* nothing added */
		"r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",        /* no iterations */
		"r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999", /* too many */
		"r=" NONCE "x,s=!!!,i=4096",                          /* bad salt */
		"r=" NONCE "x,i=4096",                                /* no salt */
		"m=ext,r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* mandatory extension */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pg_scram s;
		struct buf out;
		pg_scram_init(&s);
		buf_init(&out, 4096);
		ck_assert_int_eq(pg_scram_first(&s, "", NONCE, &out), 0);
		ck_assert_msg(pg_scram_final(&s, "pencil", bad[i], strlen(bad[i]), &out) == -1,
		    "accepted %s", bad[i]);
		/* Without a final message sent, no signature can be accepted. */
		ck_assert_int_eq(pg_scram_verify(&s, SERVER_FINAL, strlen(SERVER_FINAL)), -1);
		pg_scram_free(&s);
		buf_free(&out);
	}
}
END_TEST

START_TEST(scram_random_nonce)
{
	struct pg_scram a, b;
	struct buf x, y;
	pg_scram_init(&a);
	pg_scram_init(&b);
	buf_init(&x, 4096);
	buf_init(&y, 4096);
	ck_assert_int_eq(pg_scram_first(&a, "", NULL, &x), 0);
	ck_assert_int_eq(pg_scram_first(&b, "", NULL, &y), 0);
	ck_assert_uint_eq(x.len, strlen("n,,n=,r=") + 24);
	ck_assert_str_ne(buf_str(&x), buf_str(&y));
	ck_assert_int_eq(pg_scram_first(&a, "", NULL, &x), -1); /* only once */
	pg_scram_free(&a);
	pg_scram_free(&b);
	buf_free(&x);
	buf_free(&y);
}
END_TEST

START_TEST(pbkdf2_known_answers)
{
	unsigned char out[32];
	char hex[SIGV4_HEX_SIZE];
	pg_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out);
	sigv4_hex(out, 32, hex);
	ck_assert_str_eq(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
	pg_pbkdf2_sha256("password", 8, "salt", 4, 4096, out);
	sigv4_hex(out, 32, hex);
	ck_assert_str_eq(hex, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}
END_TEST

START_TEST(verifier_known_answer)
{
	static const unsigned char salt[16] = { 0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
		0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81 }; /* W22ZaJ0SNY7soEsUEjb6gQ== */
	const char *want = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZk"
			   "BFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
	char v[PG_SCRAM_VERIFIER_MAX];
	ck_assert_int_eq(pg_scram_verifier("pencil", salt, sizeof(salt), 4096, v), 0);
	ck_assert_str_eq(v, want);
	ck_assert_int_eq(pg_scram_verifier_matches(want, "pencil"), 1);
	ck_assert_int_eq(pg_scram_verifier_matches(want, "pencil2"), 0);
	ck_assert_int_eq(pg_scram_verifier_matches("md5abcdef", "pencil"), -1);
	ck_assert_int_eq(pg_scram_verifier_matches("SCRAM-SHA-256$x:y", "pencil"), -1);
	/* Not ASCII: refused, since SASLprep is not applied here. */
	ck_assert_int_eq(pg_scram_verifier("caf\xc3\xa9", salt, sizeof(salt), 4096, v), -1);
	ck_assert_int_eq(pg_scram_verifier("x", salt, sizeof(salt), 0, v), -1);
}
END_TEST

START_TEST(md5_password)
{
	static const unsigned char salt[4] = { 1, 2, 3, 4 };
	char out[PG_MD5_PASSWORD_SIZE];
	ck_assert_int_eq(pg_md5_password("alice", "secret", salt, out), 0);
	ck_assert_str_eq(out, "md598a0412b9c31436fc53776e863350083");
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("pg_auth");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, scram_rfc7677);
	tcase_add_test(tc, scram_forged_server_signature);
	tcase_add_test(tc, scram_bad_server_first);
	tcase_add_test(tc, scram_random_nonce);
	tcase_add_test(tc, pbkdf2_known_answers);
	tcase_add_test(tc, verifier_known_answer);
	tcase_add_test(tc, md5_password);
	suite_add_tcase(s, tc);
	return s;
}
