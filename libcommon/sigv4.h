/*
 * sigv4.h: AWS Signature Version 4, our own.
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: 7.88 neither sorts nor re-encodes
 * the query string, cannot hash a streamed body, and cannot presign a URL,
 * which S3 needs.  Checked byte for byte against the AWS SigV4 test suite
 * (tests/vectors/sigv4, tests/unit/test_sigv4.c).
 *
 * Signing a request with headers:
 *
 *	struct sigv4_credentials cred = { akid, secret, token_or_NULL };
 *	struct sigv4_request req = {
 *		.method = "PUT", .host = "bucket.s3.eu-west-1.amazonaws.com",
 *		.path = "/backups/x.json",   // as sent: see sigv4_uri_encode
 *		.query = "",                 // raw, as sent, without the '?'
 *		.headers = hdrs, .nheaders = n,   // other headers to sign
 *		.when = time(NULL), .region = "eu-west-1", .service = "s3",
 *		.payload_hash = hex,         // sigv4_payload_hash*() or SIGV4_UNSIGNED
 *		.flags = SIGV4_S3,
 *	};
 *	struct sigv4_auth auth;
 *	if (sigv4_sign_headers(&req, &cred, &auth, NULL) == -1)
 *		... errno: EINVAL bad input, EMSGSIZE too long, ENOMEM
 *	for (size_t i = 0; i < auth.nheaders; i++)
 *		add "auth.headers[i].name: auth.headers[i].value" to the request
 *
 * Presigning (a URL anyone may GET until it expires):
 *
 *	struct buf q;  buf_init(&q, 16384);
 *	sigv4_presign(&req, &cred, 3600, &q, NULL);
 *	url = "https://" host path "?" buf_str(&q)
 *
 * Ownership: the caller owns every argument and every result.  The signer
 * allocates only temporary memory, freed before it returns, and wipes the
 * keys it derives from the secret.  It keeps pointers to nothing, except
 * that struct sigv4_auth's headers point into the auth itself, into
 * cred->session_token and into req->payload_hash: use them while those
 * live.  Nothing here prints, exits or reads global state (sigv4_amz_date
 * and the request's .when read no clock: the caller passes the time).
 *
 * Errors: functions returning int give 0, or -1 with errno set: EINVAL for
 * bad input, EMSGSIZE when a result does not fit its buffer, ENOMEM, or the
 * errno of a failed read.
 */
#ifndef SB_SIGV4_H
#define SB_SIGV4_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <bearssl_hash.h>

#include "buf.h"

#define SIGV4_DATE_SIZE 17        /* "YYYYMMDDTHHMMSSZ" and its NUL */
#define SIGV4_HEX_SIZE 65         /* a SHA-256 in lowercase hex and its NUL */
#define SIGV4_AUTH_SIZE 2048      /* the Authorization value and its NUL */
#define SIGV4_ADD_MAX 4           /* headers sigv4_sign_headers adds */
#define SIGV4_SECRET_MAX 256      /* longest secret access key accepted */
#define SIGV4_CANON_MAX (1 << 20) /* longest canonical request */
#define SIGV4_EXPIRES_MAX 604800  /* a presigned URL lives at most 7 days */

/* The payload hash for a body that is not signed (S3 presigned URLs). */
#define SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"
/* The hash of an empty body. */
#define SIGV4_EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * Credentials.  The signer only reads them.  The caller keeps the secret
 * as briefly as it can and wipes it (secure_wipe) when done; the signer
 * wipes the keys it derives from it.  session_token is NULL or "" for
 * long-term keys.
 */
struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
};

struct sigv4_header {
	const char *name;
	const char *value;
};

enum sigv4_flags {
	/* Remove "." and ".." segments and empty segments ("//") from the
	 * path before signing.  Every service but S3. */
	SIGV4_NORMALIZE_PATH = 1 << 0,
	/* Sign the path exactly as given (already percent-encoded once)
	 * instead of percent-encoding it again.  S3 only. */
	SIGV4_PATH_AS_IS = 1 << 1,
	/* Add and sign an x-amz-content-sha256 header holding the payload
	 * hash.  S3 requires it; ignored by sigv4_presign. */
	SIGV4_CONTENT_SHA256 = 1 << 2,
	/* Add X-Amz-Security-Token (header or query parameter) after
	 * signing, leaving it out of the signature: for the few services
	 * that want that (IoT).  Default: the token is signed. */
	SIGV4_TOKEN_UNSIGNED = 1 << 3
};
#define SIGV4_S3 (SIGV4_PATH_AS_IS | SIGV4_CONTENT_SHA256)

/*
 * A request to sign.  path and query are as they go on the wire: path
 * percent-encoded (a raw S3 key goes through sigv4_uri_encode(.., false)
 * first), query the raw string after '?' ("" or NULL for none; it is
 * decoded and re-encoded for signing, so either encoding of a character
 * signs the same).  headers are the other headers to sign, Host included
 * unless .host is set; names are matched without case, a repeated name is
 * signed as one header with its values joined by ",".  Values must not
 * hold CR or LF.  The time is .amz_date ("YYYYMMDDTHHMMSSZ") if not NULL,
 * else .when.  payload_hash is 64 lowercase hex digits, SIGV4_UNSIGNED,
 * or an S3 "STREAMING-..." literal.
 */
struct sigv4_request {
	const char *method;
	const char *host;  /* the Host header, or NULL if in headers */
	const char *path;  /* "" means "/" */
	const char *query; /* NULL means none */
	const struct sigv4_header *headers;
	size_t nheaders;
	const char *amz_date;
	time_t when;
	const char *region;
	const char *service;
	const char *payload_hash;
	unsigned flags; /* enum sigv4_flags */
};

/*
 * What sigv4_sign_headers adds, in the order to send: X-Amz-Security-Token
 * (with a token), X-Amz-Date, x-amz-content-sha256 (SIGV4_CONTENT_SHA256),
 * Authorization.  A request whose headers already hold Authorization,
 * X-Amz-Date, or another header the signer would add is refused (EINVAL).
 * On failure the contents of auth are undefined.
 */
struct sigv4_auth {
	char amz_date[SIGV4_DATE_SIZE];
	char authorization[SIGV4_AUTH_SIZE];
	struct sigv4_header headers[SIGV4_ADD_MAX];
	size_t nheaders;
};

/*
 * The intermediate texts, for tests and -vv traces.  The caller runs
 * buf_init on both bufs first and buf_free after; the signer replaces
 * their contents.  Neither holds the secret; canonical_request holds the
 * signed header values (a session token among them).
 */
struct sigv4_trace {
	struct buf canonical_request;
	struct buf string_to_sign;
	char signature[SIGV4_HEX_SIZE];
};

/* sigv4_sign_headers signs req with cred into auth; trace may be NULL. */
int sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_credentials *cred,
    struct sigv4_auth *auth, struct sigv4_trace *trace);

/*
 * sigv4_presign appends to query the whole query string of a URL
 * presigned for expires seconds (1 to SIGV4_EXPIRES_MAX): req->query as
 * given, then X-Amz-Algorithm, -Credential, -Date, -SignedHeaders,
 * -Expires, -Security-Token (with a token) and -Signature.  Only Host and
 * req->headers are signed; the client must send those headers as given.
 * S3 wants payload_hash SIGV4_UNSIGNED here.  trace may be NULL.  On
 * failure query is left as it was.
 */
int sigv4_presign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
    unsigned expires, struct buf *query, struct sigv4_trace *trace);

/*
 * sigv4_uri_encode appends s to b percent-encoded as RFC 3986 and SigV4
 * want: A-Z a-z 0-9 - . _ ~ kept, every other byte as %XX (upper-case
 * hex, UTF-8 byte by byte, space as %20, never '+').  '/' is kept unless
 * encode_slash: false for a path or S3 key, true for a query or form
 * name or value.
 */
int sigv4_uri_encode(struct buf *b, const char *s, int encode_slash);

/* sigv4_amz_date formats t (seconds since the epoch) as UTC
 * "YYYYMMDDTHHMMSSZ"; -1 (EINVAL) if the year is not 0000-9999. */
int sigv4_amz_date(time_t t, char out[SIGV4_DATE_SIZE]);

/*
 * Payload hashing, as lowercase hex for .payload_hash.  A streamed body
 * is hashed with init, any number of updates, then final; the context is
 * the caller's (on its stack) and holds no secret.
 */
struct sigv4_sha256 {
	br_sha256_context ctx;
};
void sigv4_sha256_init(struct sigv4_sha256 *h);
void sigv4_sha256_update(struct sigv4_sha256 *h, const void *p, size_t n);
void sigv4_sha256_final(struct sigv4_sha256 *h, char out[SIGV4_HEX_SIZE]);

void sigv4_payload_hash(const void *p, size_t n, char out[SIGV4_HEX_SIZE]);
/*
 * sigv4_payload_hash_fd and _file hash from the current offset to the end
 * of file, in fixed chunks (constant memory).  When the descriptor or
 * stream can seek, its offset is put back where it was, so the same body
 * can be sent next; a pipe is consumed.
 */
int sigv4_payload_hash_fd(int fd, char out[SIGV4_HEX_SIZE]);
int sigv4_payload_hash_file(FILE *fp, char out[SIGV4_HEX_SIZE]);

/* sigv4_hmac_sha256 is HMAC-SHA256 (RFC 2104); it wipes its contexts. */
void sigv4_hmac_sha256(
    const void *key, size_t keylen, const void *msg, size_t n, unsigned char out[32]);
/* sigv4_hex writes n bytes as 2n lowercase hex digits and a NUL. */
void sigv4_hex(const unsigned char *p, size_t n, char *out);

#endif
