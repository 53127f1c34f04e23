/*
 * pg_backend.c: libFuzzer target for the backend message parser
 * (libcommon/pg_wire.c): every byte string a server could send is cut
 * into messages and each one is handed to every decoder, as the client
 * would.  Not run by `make check`.  Build and run from the top of the tree:
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilibcommon tests/fuzz/pg_backend.c libcommon/pg_wire.c libcommon/buf.c -o build/fuzz_pg_backend && build/fuzz_pg_backend -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pg_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_field(void *ctx, int i, const struct pg_field *f)
{
	(void)i;
	*(size_t *)ctx += strlen(f->name);
	return 0;
}

static int
on_value(void *ctx, int i, const unsigned char *v, int32_t len)
{
	(void)i;
	if (v != NULL && len > 0)
		*(size_t *)ctx += v[len - 1]; /* touch the last byte: must be in bounds */
	return 0;
}

static void
decode_all(const struct pg_msg *m)
{
	struct pg_auth_req a;
	struct pg_error e;
	const char *s1, *s2;
	int32_t i1, i2;
	int n, f;
	char st;
	size_t sum = 0;

	if (pg_parse_auth(m, &a) == 0)
		(void)pg_sasl_has_mech(&a, "SCRAM-SHA-256");
	(void)pg_parse_param(m, &s1, &s2);
	(void)pg_parse_key_data(m, &i1, &i2);
	(void)pg_parse_ready(m, &st);
	(void)pg_parse_command_complete(m, &s1);
	(void)pg_parse_copy_in(m, &f, &n);
	(void)pg_parse_row_desc(m, &n, on_field, &sum);
	(void)pg_parse_data_row(m, &n, on_value, &sum);
	if (pg_parse_error(m, &e) == 0 || e.len > 0) {
		(void)pg_error_field(&e, 'M');
		(void)pg_error_position(&e);
	}
	/* The same body under every type the client knows. */
	static const char types[] = "RSKZCGTDEN";
	for (const char *t = types; *t; t++) {
		struct pg_msg x = *m;
		x.type = *t;
		(void)pg_parse_ready(&x, &st);
		(void)pg_parse_row_desc(&x, &n, on_field, &sum);
		(void)pg_parse_data_row(&x, &n, on_value, &sum);
		(void)pg_parse_error(&x, &e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_msg m;
	size_t used;
	while (size > 0 && pg_msg_split(data, size, 1 << 20, &m, &used) == 1) {
		decode_all(&m);
		data += used;
		size -= used;
	}
	return 0;
}
