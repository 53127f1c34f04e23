/*
 * es_json.c: libFuzzer target for setup-es's reading of Elasticsearch
 * (cmd/setup-es/es.c, json.c, steps.c): the version and health answers,
 * then each step's GET answer compared with what it wants (templates in
 * both forms, normalised by tmpl_normal and flattened settings; indices;
 * aliases; snapshot repositories), and the write answers and errors,
 * every answer from the input through tests/fuzz/lib/fake_http.c
 * (format in fuzz.h).  The whole input is also given, when it is JSON, to
 * the template and settings code as a template file and as a server's
 * template.  setup-es dies on a bad answer (es_fail, log_die): exit() is
 * caught (fuzz.h's FUZZ_TRY), so leaks are not checked here.
 * Seeds: etc/elasticsearch/socorro_crash.json and the fake server's answers.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=es_json scripts/fuzz 60
 *
 * fuzz-build: cmd/setup-es/es.c cmd/setup-es/json.c cmd/setup-es/steps.c
 * fuzz-build: tests/fuzz/lib/fake_http.c
 * fuzz-options: -detect_leaks=0
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "setup-es.h"

static const char tmpl_text[] =
    "{\"index_patterns\":[\"socorro*\"],\"order\":1,\"settings\":{\"index\":"
    "{\"number_of_shards\":5,\"refresh_interval\":\"5s\"}},\"mappings\":{\"properties\":"
    "{\"date\":{\"type\":\"date\"}}},\"aliases\":{}}";
static const char repo_text[] =
    "{\"type\":\"s3\",\"settings\":{\"bucket\":\"b\",\"base_path\":\"es\"}}";
static const char index_text[] =
    "{\"settings\":{\"index.number_of_shards\":\"5\"},\"mappings\":{}}";

static struct es es;

/* What a caught exit() skipped leaks by design: no leak report at exit. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
static json_t *tmpl, *repo, *body;

/* The parts a server answer meets on its own, outside any exchange. */
static void
direct(struct log *lg, const uint8_t *data, size_t size)
{
	static json_t *doc, *t;
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		return;
	for (int comp = 0; comp < 2; comp++) {
		json_t *a = tmpl_normal(doc, comp), *b = tmpl_normal(doc, comp);
		if (!json_equal(a, b)) /* the comparison must be stable */
			abort();
		json_decref(a);
		json_decref(b);
	}
	json_decref(settings_flat(json_object_get(doc, "settings"), true, true));
	json_decref(settings_flat(doc, false, false));
	if (FUZZ_TRY() == 0) {
		t = tmpl_from_file(lg, "fuzz.json", json_deep_copy(doc));
		json_decref(tmpl_for_server(lg, "fuzz.json", t, false));
		json_decref(t);
	}
	FUZZ_END();
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log *lg = fuzz_log();
	static struct buf plan;
	if (tmpl == NULL) {
		tmpl = tmpl_from_file(lg, "socorro_crash.json", json_loads(tmpl_text, 0, NULL));
		repo = json_loads(repo_text, 0, NULL);
		body = json_loads(index_text, 0, NULL);
		if (tmpl == NULL || repo == NULL || body == NULL)
			abort();
		buf_init(&plan, 1u << 20);
	}
	direct(lg, data, size);

	memset(&es, 0, sizeof(es));
	es.lg = lg;
	str_copy(es.base, sizeof(es.base), "http://127.0.0.1:9200");
	str_copy(es.auth, sizeof(es.auth), "Basic ZWxhc3RpYzpwdw==");
	http_client_init(&es.http);
	buf_reset(&plan);
	es.plan = &plan;
	fake_http_load(data, size);
	/* Each step dies on its own bad answer; the next one still runs. */
	if (FUZZ_TRY() == 0)
		es_detect_version(&es);
	if (FUZZ_TRY() == 0)
		es_wait_health(&es, "yellow", 0);
	if (es.major == 0)
		es.major = 7, es.minor = size ? data[0] & 15 : 8; /* both template forms */
	if (FUZZ_TRY() == 0)
		step_template(&es, "socorro_crash.json", "socorro_crash", tmpl);
	if (FUZZ_TRY() == 0)
		step_index(&es, "socorro202401", body);
	if (FUZZ_TRY() == 0)
		step_alias(&es, "socorro", "socorro202401");
	if (FUZZ_TRY() == 0)
		step_snapshot_repo(&es, "backups", repo);
	FUZZ_END();
	http_client_free(&es.http);
	return 0;
}
