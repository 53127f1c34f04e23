/*
 * rabbit_json.c: libFuzzer target for rabbit-init's reading of the
 * RabbitMQ management API (cmd/rabbit-init/broker.c, plan.c, pwhash.c):
 * the health checks (overview, whoami, alarms, vhosts, nodes), then the
 * plan read from the broker's vhost, user (its password hash is checked
 * with pw_verify), permissions and queues, then the plan applied, every
 * answer taken from the input by tests/fuzz/lib/fake_http.c (format in
 * fuzz.h) in place of libcommon/http.c.
 * Seeds: answers of the fake broker the integration test starts.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=rabbit_json scripts/fuzz 60
 *
 * fuzz-build: cmd/rabbit-init/broker.c cmd/rabbit-init/plan.c cmd/rabbit-init/pwhash.c
 * fuzz-build: tests/fuzz/lib/fake_http.c
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rabbit-init.h"

static struct queue_spec queues[2];
static struct broker b;
static struct plan p;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log *lg = fuzz_log();
	char err[256];
	if (queues[0].args == NULL &&
	    (queue_parse("socorro.normal", &queues[0], err, sizeof(err)) != 0 ||
		queue_parse("socorro.priority:durable=true,x-max-priority=10,type=classic",
		    &queues[1], err, sizeof(err)) != 0))
		abort();
	struct want w = { .vhost = "socorro",
		.user = "socorro",
		.password = "s3cr3t",
		.perm = { ".*", ".*", ".*" },
		.tags = "monitoring,management",
		.queues = queues,
		.nqueues = 2 };

	if (broker_init(&b, lg, "http://127.0.0.1:15672", "admin", "adminpw", NULL) != 0)
		abort();
	fake_http_load(data, size);
	/* Each stage reads its own answers: run them all, whatever came before. */
	(void)broker_health(&b);
	memset(&p, 0, sizeof(p));
	if (plan_make(&b, &w, &p) == 0)
		(void)plan_apply(&b, &p);
	plan_free(&p);
	if (memchr(b.error, '\0', sizeof(b.error)) == NULL)
		abort();
	broker_free(&b);
	return 0;
}
