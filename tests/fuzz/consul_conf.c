/*
 * consul_conf.c: libFuzzer target for consul-load's .conf and vars-file
 * readers (cmd/consul-load/conf.c, text.c, vars.c).  The input is a vars
 * file, "\n===\n", then a .conf file (no separator: only the .conf);
 * both go through the real file readers (vars_load_file, conf_load).
 * Then every value that loaded is written back the way --export writes
 * it (conf_quote_value) and loaded again: it must come back byte for
 * byte, or an export/load round trip would change Consul.
 * Seeds: tests/fixtures/socorro-config and the integration test's files.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=consul_conf scripts/fuzz 60
 *
 * fuzz-build: cmd/consul-load/conf.c cmd/consul-load/text.c cmd/consul-load/vars.c cmd/consul-load/kvset.c
 */
#include <stdlib.h>
#include <string.h>

#include "consul-load.h"
#include "fuzz.h"

/* round_trip: want's values, quoted as export does, must load unchanged. */
static void
round_trip(const struct kvset *want, struct log *lg)
{
	struct buf text;
	struct vars none = { 0 };
	struct kvset again = { 0 };
	struct problems p = { .lg = lg };
	size_t *from = calloc(want->n + 1, sizeof(*from)), n = 0;
	if (from == NULL)
		abort();
	buf_init(&text, SIZE_MAX);
	for (size_t i = 0; i < want->n; i++) {
		const struct kv *kv = &want->v[i];
		size_t mark = text.len;
		xbuf(buf_printf(&text, "k%05zu=", n));
		if (!utf8_valid(kv->value, kv->vlen) ||
		    conf_quote_value(&text, kv->value, kv->vlen) == -1) {
			text.len = mark; /* export refuses these too */
			continue;
		}
		xbuf(buf_putc(&text, '\n'));
		from[n++] = i;
	}
	char *path = xstrdup(fuzz_file("rt.conf", (const uint8_t *)buf_str(&text), text.len));
	char *ops[] = { path };
	if (conf_load(ops, 1, "x", &none, true, &again, &p) != 0 || again.n != n)
		abort();
	for (size_t j = 0; j < n; j++) { /* sorted by key: k00000, k00001, ... */
		const struct kv *a = &want->v[from[j]], *b = &again.v[j];
		if (a->vlen != b->vlen || memcmp(a->value, b->value, a->vlen) != 0)
			abort();
	}
	kvset_free(&again);
	free(path);
	free(from);
	buf_free(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log *lg = fuzz_log();
	struct vars vs = { 0 };
	struct kvset want = { 0 };
	struct problems p = { .lg = lg };
	const uint8_t *conf = data;
	size_t conflen = size;
	const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR));
	if (sep != NULL) {
		size_t vlen = (size_t)(sep - data);
		(void)vars_load_file(&vs, fuzz_file("vars", data, vlen), &p);
		conf = sep + strlen(FUZZ_SEPARATOR);
		conflen = size - vlen - strlen(FUZZ_SEPARATOR);
	}
	char *path = xstrdup(fuzz_file("input.conf", conf, conflen));
	char *ops[] = { path };
	/* With placeholders allowed, nothing is refused for a missing value. */
	int rc = conf_load(ops, 1, "socorro", &vs, true, &want, &p);
	if (rc == 0 && p.n == 0)
		round_trip(&want, lg);
	kvset_free(&want);
	vars_free(&vs);
	free(path);
	return 0;
}
