/*
 * payload.c: identify-role --payload, for Jenkins jobs triggered by a
 * GitHub push webhook.  The original deploy job read the hook's JSON
 * ($payload) to tell a release (a tag push: deploy prod) from a branch
 * push (deploy stage) and to get the commit; this does the same with
 * jansson, so deploy-socorro needs no jq.
 *
 * Output, eval-safe: PAYLOAD_KIND (tag or branch), PAYLOAD_REF,
 * PAYLOAD_HASH (the pushed commit), PAYLOAD_ENV (prod or stage).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "exits.h"
#include "identify-role.h"
#include "shquote.h"

/* is_hash: 7 to 40 lowercase hex digits, not all zero (a deleted ref). */
static bool
is_hash(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return s[n] == '\0' && n >= 7 && n <= 40 && strspn(s, "0") != n;
}

int
identify_payload(struct log *lg, const char *path, struct buf *out)
{
	json_error_t jerr;
	json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);
	if (j == NULL) {
		log_error(lg, "--payload %s:%d:%d: %s", strcmp(path, "-") ? path : "<stdin>", jerr.line,
		    jerr.column, jerr.text);
		return EX_DATAERR;
	}
	const char *ref = json_string_value(json_object_get(j, "ref"));
	const char *hash = json_string_value(json_object_get(j, "after"));
	if (hash == NULL || !is_hash(hash))
		hash = json_string_value(json_object_get(json_object_get(j, "head_commit"), "id"));
	int r = EX_OK;
	if (ref == NULL || strncmp(ref, "refs/", 5) != 0) {
		log_error(lg, "--payload %s: no \"ref\" (refs/heads/... or refs/tags/...): not a push event",
		    path);
		r = EX_DATAERR;
	} else if (hash == NULL || !is_hash(hash)) {
		log_error(lg, "--payload %s: no commit hash in \"after\" or \"head_commit.id\"", path);
		r = EX_DATAERR;
	} else {
		bool tag = strncmp(ref, "refs/tags/", 10) == 0;
		if (sh_assign(out, "PAYLOAD_KIND", tag ? "tag" : "branch") == -1 ||
		    sh_assign(out, "PAYLOAD_REF", ref) == -1 || sh_assign(out, "PAYLOAD_HASH", hash) == -1 ||
		    sh_assign(out, "PAYLOAD_ENV", tag ? "prod" : "stage") == -1)
			r = EX_SOFTWARE;
	}
	json_decref(j);
	return r;
}
