/*
 * imds_json.c: libFuzzer target for the instance metadata answers
 * (libcommon/imds.c): the credentials document is given whole to
 * role_credentials (static; reached by including imds.c), which parses
 * it with jansson and copies the keys; then the input is cut into the
 * answers of a full imds_credentials and imds_region exchange (session
 * token, role listing, document, region) served by
 * tests/fuzz/lib/fake_http.c (format in fuzz.h).
 * Seeds: the documents tests/fakes/aws serves for IMDS.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=imds_json scripts/fuzz 60
 *
 * fuzz-build: tests/fuzz/lib/fake_http.c
 */
#include "../../libcommon/imds.c"

#include "fuzz.h"

/* A field that took must be a string that ends inside its array. */
static void
check(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
check_creds(const struct aws_credentials *c)
{
	check(c->access_key_id, sizeof(c->access_key_id));
	check(c->secret_access_key, sizeof(c->secret_access_key));
	check(c->session_token, sizeof(c->session_token));
	check(c->detail, sizeof(c->detail));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials c;
	char err[512], region[64];
	struct buf doc;

	buf_init(&doc, 64 * 1024);
	if (buf_append(&doc, data, size) == 0) {
		memset(&c, 0, sizeof(c));
		err[0] = '\0';
		if (role_credentials("socorro-role", &doc, &c, err, sizeof(err)) == 0)
			check_creds(&c);
		else if (err[0] == '\0')
			abort();
		aws_credentials_wipe(&c);
	}
	buf_free(&doc);

	struct imds m;
	if (imds_init(&m, err, sizeof(err)) != 0)
		abort();
	fake_http_load(data, size);
	if (imds_credentials(&m, &c, err, sizeof(err)) == 0)
		check_creds(&c);
	aws_credentials_wipe(&c);
	if (imds_region(&m, region, sizeof(region), err, sizeof(err)) == 0)
		check(region, sizeof(region));
	imds_free(&m);
	return 0;
}
