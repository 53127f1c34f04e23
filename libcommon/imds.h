/*
 * imds.h: EC2 instance metadata, IMDSv2 only (session token first).
 *
 * The endpoint is $AWS_EC2_METADATA_SERVICE_ENDPOINT (the SDKs' name for
 * the override; tests point it at the fake), else http://169.254.169.254.
 * $AWS_EC2_METADATA_DISABLED=true turns it off.  Off EC2 the address does
 * not answer, so the client waits one second at most and tries twice.
 *
 * struct imds owns its own HTTP client (short timeouts); imds_free()
 * releases it and wipes the token.
 */
#ifndef SB_IMDS_H
#define SB_IMDS_H

#include <stdbool.h>
#include <time.h>

#include "aws_creds.h"
#include "buf.h"
#include "http.h"

#define IMDS_TOKEN_TTL 21600 /* seconds: the longest IMDS allows */

struct imds {
	struct http_client http;
	char endpoint[256];
	char token[256];
	time_t token_expiry;
	bool disabled;
};

/* imds_init: 0, or an EX_* code with err set. */
int imds_init(struct imds *m, char *err, size_t errsize);
void imds_free(struct imds *m);

/*
 * imds_get fetches /latest/meta-data/<path> into out.  Returns 0, or an
 * EX_* code with err set (EX_UNAVAILABLE when IMDS is off or unreachable,
 * EX_NOINPUT for a 404: the item does not exist on this instance).
 */
int imds_get(struct imds *m, const char *path, struct buf *out, char *err, size_t errsize);

/* The instance role's credentials (they expire: see c->expiration). */
int imds_credentials(struct imds *m, struct aws_credentials *c, char *err, size_t errsize);
int imds_region(struct imds *m, char *out, size_t outsize, char *err, size_t errsize);

#endif
