/*
 * aws_xml.c: libFuzzer target for AWS XML answers: the expat tree
 * (libcommon/xml.c xml_parse and its lookups, walked with the paths the
 * commands read: EC2 reservations and images, tags, Auto Scaling and ELB
 * members), the Query API's error shapes and Date header
 * (libcommon/aws_query.c describe_error and server_date, reached by
 * including that file: they are static), and S3's ListObjectsV2 page and
 * error answers (libcommon/s3_util.c s3_parse_list, s3_parse_error).
 * The input is "headers\n===\nbody", or a body alone.  The commands'
 * own loops over the tree (create-ami, identify-role, roll-role) are
 * covered only as far as these lookups are the ones they make.
 * Seeds: answers of tests/fakes/aws and the unit tests' XML.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=aws_xml scripts/fuzz 60
 *
 * fuzz-build: tests/fuzz/lib/fake_http.c
 */
#include "../../libcommon/aws_query.c"

#include "fuzz.h"
#include "s3.h"

static const char *const paths[] = { "reservationSet/item/instancesSet/item/instanceId",
	"reservationSet/item/instancesSet/item/instanceState/name", "imagesSet/item/imageState",
	"imagesSet/item/stateReason/message", "instancesSet/item/instanceId", "imageId",
	"DescribeAutoScalingGroupsResult/AutoScalingGroups/member/Instances/member/InstanceId",
	"DescribeInstanceHealthResult/InstanceStates/member/State", "nextToken", "output",
	"Contents/Key", "UploadId", "Error/Code", "Errors/Error/Code", "", NULL };

static const char *const lists[] = { "reservationSet/item", "imagesSet/item", "tagSet/item",
	"instancesSet/item", "Contents", "Errors/Error",
	"DescribeAutoScalingGroupsResult/AutoScalingGroups/member", NULL };

/* walk every node: parent links and text lengths must agree. */
static size_t
walk(const struct xml_node *n, size_t depth)
{
	size_t count = 1;
	if (depth > XML_MAX_DEPTH + 1 || n->name == NULL || n->text == NULL ||
	    strlen(n->text) != n->textlen)
		abort();
	for (const struct xml_node *c = n->first; c; c = c->next) {
		if (c->parent != n)
			abort();
		count += walk(c, depth + 1);
	}
	return count;
}

static void
lookups(const struct xml_doc *doc)
{
	for (const char *const *p = paths; *p; p++)
		(void)xml_text(doc->root, *p);
	for (const char *const *p = lists; *p; p++)
		for (const struct xml_node *i = xml_first(doc->root, *p); i; i = xml_next(i)) {
			(void)xml_text(i, "key");
			(void)xml_text(i, "value");
			(void)xml_text(i, "instanceId");
			(void)xml_child(i, "tagSet");
		}
	(void)xml_find(doc->root, "RequestId");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	size_t n = size;
	struct http_response resp;
	http_response_init(&resp, 1u << 20);
	const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR));
	if (sep != NULL) {
		(void)buf_append(&resp.headers, data, (size_t)(sep - data));
		body = (const char *)sep + strlen(FUZZ_SEPARATOR);
		n = size - (size_t)(sep - data) - strlen(FUZZ_SEPARATOR);
	}

	struct xml_doc doc;
	if (xml_parse(&doc, body, n) == 0) {
		if (doc.root == NULL || walk(doc.root, 0) != doc.nodes)
			abort();
		lookups(&doc);
		xml_free(&doc);
	} else if (doc.error[0] == '\0') {
		abort(); /* a refusal must say why */
	}

	/* The Query API's error answer, under each kind of status. */
	static const long statuses[] = { 400, 403, 503 };
	struct aws_query q = { .service = "ec2" };
	struct aws_error e;
	(void)buf_append(&resp.body, body, n);
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		memset(&e, 0, sizeof(e));
		resp.status = statuses[i];
		(void)describe_error(&q, "DescribeInstances", &resp, &e);
		if (memchr(e.text, '\0', sizeof(e.text)) == NULL)
			abort();
	}

	/* S3: a listing page, and an error answer. */
	struct s3_list l = { 0 };
	struct s3_error se;
	char next[1024];
	(void)s3_parse_list(body, n, &l, next, sizeof(next));
	s3_list_free(&l);
	(void)s3_parse_error("s3 GET s3://b/k", 403, body, n, &se);
	http_response_free(&resp);
	return 0;
}
