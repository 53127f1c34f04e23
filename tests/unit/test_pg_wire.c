/*
 * test_pg_wire.c: protocol 3.0 messages byte for byte (the protocol
 * documentation's "Message Formats"), and decoders that refuse what does
 * not add up.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "pg_wire.h"

/* msg builds a backend message from a type and a body. */
static struct pg_msg
msg(char type, const void *body, size_t len)
{
	struct pg_msg m = { type, body, len };
	return m;
}

START_TEST(split)
{
	static const unsigned char two[] = { 'Z', 0, 0, 0, 5, 'I', 'C', 0, 0, 0, 8, 'S', 'E', 'T', 0 };
	struct pg_msg m;
	size_t used;
	ck_assert_int_eq(pg_msg_split(two, 4, PG_MSG_MAX, &m, &used), 0);
	ck_assert_int_eq(pg_msg_split(two, 5, PG_MSG_MAX, &m, &used), 0);
	ck_assert_int_eq(pg_msg_split(two, sizeof(two), PG_MSG_MAX, &m, &used), 1);
	ck_assert_int_eq(m.type, 'Z');
	ck_assert_uint_eq(m.len, 1);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(pg_msg_split(two + 6, sizeof(two) - 7, PG_MSG_MAX, &m, &used), 0);
	ck_assert_int_eq(pg_msg_split(two + 6, sizeof(two) - 6, PG_MSG_MAX, &m, &used), 1);
	ck_assert_int_eq(m.type, 'C');
	static const unsigned char bad[] = { 'E', 0, 0, 0, 3 };
	ck_assert_int_eq(pg_msg_split(bad, 5, PG_MSG_MAX, &m, &used), -1);
	ck_assert_int_eq(errno, EBADMSG);
	static const unsigned char huge[] = { 'D', 0x7f, 0xff, 0xff, 0xff };
	ck_assert_int_eq(pg_msg_split(huge, 5, 1000, &m, &used), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(auth_requests)
{
	struct pg_auth_req a;
	static const unsigned char ok[] = { 0, 0, 0, 0 };
	static const unsigned char md5[] = { 0, 0, 0, 5, 1, 2, 3, 4 };
	static const unsigned char md5_short[] = { 0, 0, 0, 5, 1, 2, 3 };
	static const unsigned char sasl[] = "\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0";
	struct pg_msg m = msg('R', ok, 4);
	ck_assert_int_eq(pg_parse_auth(&m, &a), 0);
	ck_assert_int_eq(a.code, PG_AUTH_OK);
	m = msg('R', md5, sizeof(md5));
	ck_assert_int_eq(pg_parse_auth(&m, &a), 0);
	ck_assert_int_eq(a.code, PG_AUTH_MD5);
	ck_assert_int_eq(a.data[3], 4);
	m = msg('R', md5_short, sizeof(md5_short));
	ck_assert_int_eq(pg_parse_auth(&m, &a), -1);
	m = msg('R', sasl, sizeof(sasl)); /* the array's own NUL ends the list */
	ck_assert_int_eq(pg_parse_auth(&m, &a), 0);
	ck_assert(pg_sasl_has_mech(&a, "SCRAM-SHA-256"));
	ck_assert(!pg_sasl_has_mech(&a, "SCRAM"));
	m = msg('R', sasl, sizeof(sasl) - 1); /* list not terminated */
	ck_assert_int_eq(pg_parse_auth(&m, &a), -1);
	m = msg('R', ok, 3);
	ck_assert_int_eq(pg_parse_auth(&m, &a), -1);
	m = msg('S', ok, 4);
	ck_assert_int_eq(pg_parse_auth(&m, &a), -1);
}
END_TEST

START_TEST(small_messages)
{
	const char *name, *value, *tag;
	int32_t pid, key;
	char st;
	int fmt, n;
	struct pg_msg m = msg('S', "TimeZone\0UTC", 13);
	ck_assert_int_eq(pg_parse_param(&m, &name, &value), 0);
	ck_assert_str_eq(name, "TimeZone");
	ck_assert_str_eq(value, "UTC");
	m = msg('S', "TimeZone\0UTC", 12); /* value not terminated */
	ck_assert_int_eq(pg_parse_param(&m, &name, &value), -1);
	m = msg('K', "\0\0\x30\x39\xff\xff\xff\xfe", 8);
	ck_assert_int_eq(pg_parse_key_data(&m, &pid, &key), 0);
	ck_assert_int_eq(pid, 12345);
	ck_assert_int_eq(key, -2);
	m = msg('Z', "T", 1);
	ck_assert_int_eq(pg_parse_ready(&m, &st), 0);
	ck_assert_int_eq(st, 'T');
	m = msg('Z', "X", 1);
	ck_assert_int_eq(pg_parse_ready(&m, &st), -1);
	m = msg('Z', "II", 2); /* trailing bytes */
	ck_assert_int_eq(pg_parse_ready(&m, &st), -1);
	m = msg('C', "INSERT 0 1", 11);
	ck_assert_int_eq(pg_parse_command_complete(&m, &tag), 0);
	ck_assert_str_eq(tag, "INSERT 0 1");
	m = msg('G', "\0\0\2\0\0\0\0", 7);
	ck_assert_int_eq(pg_parse_copy_in(&m, &fmt, &n), 0);
	ck_assert_int_eq(n, 2);
	m = msg('G', "\0\0\3\0\0\0\0", 7); /* says 3 columns, has 2 */
	ck_assert_int_eq(pg_parse_copy_in(&m, &fmt, &n), -1);
}
END_TEST

static char names[4][16];
static int
on_field(void *ctx, int i, const struct pg_field *f)
{
	(void)ctx;
	ck_assert_int_lt(i, 4);
	strncpy(names[i], f->name, sizeof(names[i]) - 1);
	return 0;
}

static char values[4][16];
static int
on_value(void *ctx, int i, const unsigned char *v, int32_t len)
{
	(void)ctx;
	if (v == NULL)
		memcpy(values[i], "NULL", 5);
	else {
		memcpy(values[i], v, (size_t)len);
		values[i][len] = '\0';
	}
	return 0;
}

START_TEST(rows)
{
	/* RowDescription: 2 columns "a" and "bc". */
	static const unsigned char rd[] = { 0, 2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4,
		0xff, 0xff, 0xff, 0xff, 0, 0, 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0, 0 };
	static const unsigned char dr[] = { 0, 2, 0, 0, 0, 2, '4', '2', 0xff, 0xff, 0xff, 0xff };
	static const unsigned char dr_long[] = { 0, 1, 0, 0, 0, 9, 'x' };
	static const unsigned char dr_neg[] = { 0, 1, 0xff, 0xff, 0xff, 0xfe };
	int n;
	struct pg_msg m = msg('T', rd, sizeof(rd));
	ck_assert_int_eq(pg_parse_row_desc(&m, &n, on_field, NULL), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(names[1], "bc");
	m = msg('T', rd, sizeof(rd) - 1);
	ck_assert_int_eq(pg_parse_row_desc(&m, &n, on_field, NULL), -1);
	m = msg('D', dr, sizeof(dr));
	ck_assert_int_eq(pg_parse_data_row(&m, &n, on_value, NULL), 0);
	ck_assert_str_eq(values[0], "42");
	ck_assert_str_eq(values[1], "NULL");
	m = msg('D', dr_long, sizeof(dr_long));
	ck_assert_int_eq(pg_parse_data_row(&m, &n, on_value, NULL), -1);
	m = msg('D', dr_neg, sizeof(dr_neg));
	ck_assert_int_eq(pg_parse_data_row(&m, &n, on_value, NULL), -1);
}
END_TEST

START_TEST(errors)
{
	static const char body[] = "SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0"
				   "P15\0Fparse_relation.c\0L1392\0RparserOpenTable\0";
	struct pg_error e;
	struct pg_msg m = msg('E', body, sizeof(body)); /* with the final NUL */
	ck_assert_int_eq(pg_parse_error(&m, &e), 0);
	ck_assert_str_eq(pg_error_field(&e, 'C'), "42P01");
	ck_assert_str_eq(pg_error_field(&e, 'M'), "relation \"x\" does not exist");
	ck_assert_str_eq(pg_error_field(&e, 'R'), "parserOpenTable");
	ck_assert_ptr_null(pg_error_field(&e, 'D'));
	ck_assert_int_eq(pg_error_position(&e), 15);
	m = msg('N', body, sizeof(body));
	ck_assert_int_eq(pg_parse_error(&m, &e), 0);
	m = msg('E', body, sizeof(body) - 2); /* the last field cut */
	ck_assert_int_eq(pg_parse_error(&m, &e), -1);
	ck_assert_str_eq(pg_error_field(&e, 'C'), "42P01"); /* what came is kept */
	pg_error_set(&e, "08006", "gone");
	ck_assert_str_eq(pg_error_field(&e, 'C'), "08006");
	ck_assert_str_eq(pg_error_field(&e, 'S'), "ERROR");
	/* Longer than PG_ERROR_MAX: clipped, still terminated. */
	static char big[PG_ERROR_MAX * 2];
	big[0] = 'M';
	memset(big + 1, 'x', sizeof(big) - 4);
	big[sizeof(big) - 3] = '\0';
	big[sizeof(big) - 2] = '\0';
	m = msg('E', big, sizeof(big) - 1);
	ck_assert_int_eq(pg_parse_error(&m, &e), 0);
	ck_assert_uint_lt(strlen(pg_error_field(&e, 'M')), PG_ERROR_MAX);
}
END_TEST

START_TEST(encoders)
{
	struct buf b;
	buf_init(&b, 1024);
	ck_assert_int_eq(pg_put_ssl_request(&b), 0);
	ck_assert_int_eq(memcmp(b.data, "\0\0\0\x08\x04\xd2\x16\x2f", 8), 0);
	buf_reset(&b);
	const char *params[] = { "user", "u", NULL, NULL };
	ck_assert_int_eq(pg_put_startup(&b, params), 0);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_int_eq(memcmp(b.data, "\0\0\0\x10\0\x03\0\0user\0u\0\0", 16), 0);
	buf_reset(&b);
	ck_assert_int_eq(pg_put_query(&b, "SELECT 1"), 0);
	ck_assert_int_eq(memcmp(b.data, "Q\0\0\0\x0dSELECT 1\0", 14), 0);
	buf_reset(&b);
	ck_assert_int_eq(pg_put_sasl_initial(&b, "SCRAM-SHA-256", "n,,", 3), 0);
	ck_assert_int_eq(memcmp(b.data, "p\0\0\0\x19SCRAM-SHA-256\0\0\0\0\x03n,,", 26), 0);
	buf_reset(&b);
	ck_assert_int_eq(pg_put_copy_data(&b, "ab", 2), 0);
	ck_assert_int_eq(pg_put_copy_done(&b), 0);
	ck_assert_int_eq(pg_put_terminate(&b), 0);
	ck_assert_int_eq(memcmp(b.data, "d\0\0\0\x06" "abc\0\0\0\x04X\0\0\0\x04", 17), 0);
	buf_reset(&b);
	ck_assert_int_eq(pg_put_copy_fail(&b, "no"), 0);
	ck_assert_int_eq(memcmp(b.data, "f\0\0\0\x07no\0", 8), 0);
	buf_free(&b);
	/* Past the buffer's max: an error, and the buffer as it was. */
	buf_init(&b, 10);
	ck_assert_int_eq(pg_put_terminate(&b), 0);
	ck_assert_int_eq(pg_put_query(&b, "SELECT 1"), -1);
	ck_assert_uint_eq(b.len, 5);
	buf_free(&b);
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("pg_wire");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, split);
	tcase_add_test(tc, auth_requests);
	tcase_add_test(tc, small_messages);
	tcase_add_test(tc, rows);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, encoders);
	suite_add_tcase(s, tc);
	return s;
}
