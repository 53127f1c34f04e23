/*
 * aws_creds.h: AWS credentials from the environment and the shared
 * files, the first two links of the standard chain (aws_session.h adds
 * instance metadata and puts the chain together).
 *
 *   environment:  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   files:        $AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials),
 *                 section [NAME]; then $AWS_CONFIG_FILE (default
 *                 ~/.aws/config), section [profile NAME] ([default] for
 *                 default).  NAME: the caller's, else $AWS_PROFILE, else
 *                 "default".
 *
 * A struct aws_credentials holds a secret: the caller wipes it with
 * aws_credentials_wipe() when done.
 */
#ifndef SB_AWS_CREDS_H
#define SB_AWS_CREDS_H

#include <stddef.h>
#include <time.h>

#define AWS_KEY_MAX 128
#define AWS_SECRET_MAX 256
#define AWS_TOKEN_MAX 4096
#define AWS_REGION_MAX 64
#define AWS_PROFILE_MAX 128
#define AWS_ERR_MAX 512

enum aws_cred_source { AWS_CRED_NONE, AWS_CRED_ENV, AWS_CRED_FILE, AWS_CRED_IMDS };

struct aws_credentials {
	char access_key_id[AWS_KEY_MAX];
	char secret_access_key[AWS_SECRET_MAX];
	char session_token[AWS_TOKEN_MAX]; /* "" when none */
	time_t expiration;                 /* 0: does not expire */
	enum aws_cred_source source;
	char detail[300];                  /* where they came from, for -v */
};

void aws_credentials_wipe(struct aws_credentials *c);

/*
 * Each returns 1 when it found credentials, 0 when its source has none,
 * or -1 with a one-line err when the source is there but broken (a key
 * id without a secret, an unreadable or malformed file).
 */
int aws_creds_from_env(struct aws_credentials *c, char *err, size_t errsize);
int aws_creds_from_files(const char *profile, struct aws_credentials *c, char *err, size_t errsize);

/*
 * aws_region_from_files: region = ... of the profile in the config file.
 * 1 found, 0 not there, -1 error.
 */
int aws_region_from_files(const char *profile, char *out, size_t outsize, char *err, size_t errsize);

/* aws_profile_name: the caller's profile, else $AWS_PROFILE, else "default". */
const char *aws_profile_name(const char *profile);

#endif
