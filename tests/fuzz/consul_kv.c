/*
 * consul_kv.c: libFuzzer target for consul-load's reading of Consul's
 * answers (cmd/consul-load/consul.c): the recurse listing (JSON, base64
 * values, ModifyIndex, the ACL-filtered header), then a plan applied
 * against it, whose /v1/txn answers (200, 409 with its Errors list, 403,
 * 413, ...) and re-reads come from the rest of the input.  The answers
 * are served by tests/fuzz/lib/fake_http.c (format in fuzz.h) in place of
 * libcommon/http.c: the real code above http_do runs unchanged.
 * Seeds: answers of tests/fakes' Consul as the integration test sees them.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=consul_kv scripts/fuzz 60
 *
 * fuzz-build: cmd/consul-load/consul.c cmd/consul-load/plan.c cmd/consul-load/kvset.c
 * fuzz-build: cmd/consul-load/text.c cmd/consul-load/conf.c cmd/consul-load/vars.c
 * fuzz-build: tests/fuzz/lib/fake_http.c
 */
#include <stdlib.h>
#include <string.h>

#include "consul-load.h"
#include "fuzz.h"

static void
want_add(struct kvset *s, const char *key, const char *value)
{
	struct kv kv = { .key = xstrdup(key),
		.value = xstrdup(value),
		.vlen = strlen(value),
		.file = "fuzz.conf",
		.line = (int)s->n + 1 };
	kvset_add(s, &kv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log *lg = fuzz_log();
	struct consul c;
	struct kvset have = { 0 }, want = { 0 };
	struct plan pl = { 0 };
	size_t txns;
	if (consul_open(&c, "http://127.0.0.1:8500", lg) != 0)
		abort();
	fake_http_load(data, size);
	if (consul_read_tree(&c, "socorro", &have) == 0) {
		/* Keys the file would hold: some the answer may have, some not. */
		want_add(&want, "socorro/common/database_name", "breakpad");
		want_add(&want, "socorro/common/secret_key", "s3cr3t");
		want_add(&want, "socorro/processor/x", "");
		kvset_sort(&want);
		for (size_t i = 1; i < have.n; i++)
			if (strcmp(have.v[i - 1].key, have.v[i].key) > 0)
				abort(); /* the plan needs it sorted */
		plan_make(&pl, &want, &have, true);
		(void)consul_apply(&c, &pl, "socorro", &txns);
		plan_free(&pl);
	}
	kvset_free(&have);
	kvset_free(&want);
	consul_close(&c);
	return 0;
}
