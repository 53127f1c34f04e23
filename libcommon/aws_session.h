/*
 * aws_session.h: region, credentials and endpoints, the way every AWS
 * tool finds them.
 *
 * Credentials, first found wins: the environment, the shared files
 * (profile: flag, $AWS_PROFILE, "default"), then instance metadata
 * (IMDSv2; those expire, and aws_session_refresh() fetches new ones five
 * minutes before).  Region: flag, $AWS_REGION, $AWS_DEFAULT_REGION, the
 * profile's region in ~/.aws/config, then instance metadata.
 *
 * Endpoints: $AWS_ENDPOINT_URL_<SERVICE> (EC2, AUTO_SCALING,
 * ELASTIC_LOAD_BALANCING, S3), else $AWS_ENDPOINT_URL, else
 * https://<prefix>.<region>.amazonaws.com.
 *
 * The session holds secrets: aws_session_free() wipes them.
 */
#ifndef SB_AWS_SESSION_H
#define SB_AWS_SESSION_H

#include <stdbool.h>

#include "aws_creds.h"
#include "imds.h"

struct aws_session {
	struct aws_credentials cred;
	char region[AWS_REGION_MAX];
	char region_source[64];
	char profile[AWS_PROFILE_MAX];
	struct imds imds;
	bool imds_ready;
};

/*
 * aws_session_init resolves region and credentials.  region and profile
 * are the command's flags (NULL if not given).  Returns 0, or an EX_*
 * code with err set (EX_CONFIG: no region or no credentials anywhere).
 */
int aws_session_init(struct aws_session *s, const char *region, const char *profile,
    char *err, size_t errsize);
/* aws_session_refresh renews instance-role credentials near expiry. */
int aws_session_refresh(struct aws_session *s, char *err, size_t errsize);
void aws_session_free(struct aws_session *s);

/*
 * aws_endpoint writes the endpoint URL of a service: env_name is its
 * variable suffix ("EC2"), prefix its host prefix ("ec2").  0 or -1.
 */
int aws_endpoint(const char *env_name, const char *prefix, const char *region, char *out,
    size_t outsize);

#endif
