/*
 * s3.h: an S3 client for the commands that store files in a bucket
 * (create-rpm --publish, backup): PUT, GET, HEAD, DELETE, ListObjectsV2
 * with pagination, and multipart upload that streams a body of any size
 * through one part-sized buffer and aborts the upload if anything fails.
 *
 *	struct s3_client s3;
 *	if (s3_client_init(&s3, &session, &http, "bucket", S3_ADDR_AUTO, err, sizeof(err)))
 *		...
 *	struct s3_error e;
 *	FILE *f = fopen(path, "rb");
 *	if ((rc = s3_upload_file(&s3, "repo/x.rpm", f, size, "application/x-rpm", &e)))
 *		log_die(&lg, rc, "%s", e.text);
 *
 * Every request is signed with SigV4 (sigv4.h) including
 * x-amz-content-sha256, the hash of the body: a file body is hashed in a
 * first pass, a multipart part from its buffer.  The endpoint is
 * aws_endpoint("S3", "s3", region): $AWS_ENDPOINT_URL_S3 or
 * $AWS_ENDPOINT_URL for S3-compatible stores, else AWS.  Addressing:
 * virtual-host (bucket.host) on AWS, path-style (host/bucket) with a
 * custom endpoint, unless told (S3_ADDR_PATH, S3_ADDR_VIRTUAL, or
 * $AWS_S3_ADDRESSING_STYLE=path|virtual with S3_ADDR_AUTO).
 *
 * Transport errors, 429 and 5xx (SlowDown, InternalError) are retried by
 * the HTTP client with backoff; a file body is re-read from its start.
 *
 * Ownership: the caller owns the client, the session and the HTTP client
 * (which must outlive it), and every argument.  s3_list fills a list the
 * caller frees with s3_list_free.  Nothing here prints or exits.
 *
 * Errors: functions return 0 or an EX_* code with e->text one line
 * ("s3 PUT s3://bucket/key: AccessDenied: ... (HTTP 403)"):
 * EX_NOPERM refused credentials or signature, EX_NOINPUT no such key or
 * bucket, EX_DATAERR another client error, EX_UNAVAILABLE server errors
 * or no answer after the retries, EX_TEMPFAIL timeout, EX_IOERR a local
 * read failed.
 */
#ifndef SB_S3_H
#define SB_S3_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aws_session.h"
#include "buf.h"
#include "http.h"

#define S3_PART_SIZE (8u << 20)      /* default multipart part size */
#define S3_MIN_PART_SIZE (5u << 20)  /* S3's least, for all parts but the last */
#define S3_MAX_PARTS 10000
#define S3_ETAG_MAX 80
#define S3_ERR_MAX 1200

enum s3_addressing { S3_ADDR_AUTO, S3_ADDR_PATH, S3_ADDR_VIRTUAL };

struct s3_client {
	struct aws_session *session;
	struct http_client *http;
	char endpoint[256];   /* scheme://host[:port] */
	char scheme[8];       /* "http" or "https" */
	char hostport[200];   /* host[:port] of the endpoint */
	char bucket[64];
	bool path_style;
	size_t part_size;     /* multipart part size, S3_PART_SIZE by default */
	unsigned long calls;  /* requests sent, for -v */
	/*
	 * Server-side encryption for the objects this client writes (PUT,
	 * CreateMultipartUpload), NULL for the bucket's default: "AES256"
	 * or "aws:kms", with sse_kms_key_id the KMS key (NULL: the default
	 * key).  Sent as x-amz-server-side-encryption[-aws-kms-key-id].
	 */
	const char *sse;
	const char *sse_kms_key_id;
};

struct s3_error {
	long status;          /* HTTP status, 0 if none answered */
	char code[128];       /* S3's error code ("NoSuchKey"), or "" */
	char text[S3_ERR_MAX];
};

struct s3_object {
	char *key;
	uint64_t size;
	char etag[S3_ETAG_MAX]; /* without quotes */
};

struct s3_list {
	struct s3_object *v;
	size_t n, cap;
};

/*
 * s3_client_init: the endpoint and addressing for bucket.  Returns 0, or
 * EX_CONFIG (err set) for a bad endpoint or bucket name.
 */
int s3_client_init(struct s3_client *c, struct aws_session *s, struct http_client *h,
    const char *bucket, enum s3_addressing addr, char *err, size_t errsize);

/* s3_put_mem stores n bytes at key. */
int s3_put_mem(struct s3_client *c, const char *key, const void *p, size_t n,
    const char *content_type, struct s3_error *e);
/*
 * s3_upload_file stores size bytes of f, from its current offset, at key:
 * one streamed PUT up to part_size, multipart above (constant memory).
 */
int s3_upload_file(struct s3_client *c, const char *key, FILE *f, uint64_t size,
    const char *content_type, struct s3_error *e);
/*
 * s3_upload_stream stores everything read returns (a pipe: bytes read, 0
 * at the end, (size_t)-1 on error) at key, as a multipart upload; on any
 * failure the upload is aborted (e->text says whether the abort worked).
 */
int s3_upload_stream(struct s3_client *c, const char *key,
    size_t (*read)(void *ctx, char *buf, size_t n), void *ctx, const char *content_type,
    struct s3_error *e);
/*
 * The steps of a multipart upload, for callers that drive their own (one
 * client per thread; see s3_upload_stream for the usual way).
 * s3_multipart_start writes the upload id into id; s3_multipart_part
 * sends part number num (1-based) of n bytes and writes its ETag
 * (payload_hash: the part's SHA-256 in lowercase hex if the caller has
 * it, else NULL and it is computed here);
 * s3_multipart_complete joins parts 1..n given their ETags (an error
 * inside a 200 counts); s3_multipart_abort adds its outcome to e->text.
 */
int s3_multipart_start(struct s3_client *c, const char *key, const char *content_type,
    char *id, size_t idsize, struct s3_error *e);
int s3_multipart_part(struct s3_client *c, const char *key, const char *id, size_t num,
    const char *p, size_t n, const char *payload_hash, char etag[S3_ETAG_MAX],
    struct s3_error *e);
int s3_multipart_complete(struct s3_client *c, const char *key, const char *id,
    char (*etags)[S3_ETAG_MAX], size_t n, struct s3_error *e);
void s3_multipart_abort(struct s3_client *c, const char *key, const char *id,
    struct s3_error *e);
/* s3_get streams the object's body to sink (see http.h's on_data). */
int s3_get(struct s3_client *c, const char *key, int (*sink)(void *ctx, const char *p, size_t n),
    void *ctx, struct s3_error *e);
/* s3_head: 0 and *out filled (out->key stays NULL), EX_NOINPUT if absent. */
int s3_head(struct s3_client *c, const char *key, struct s3_object *out, struct s3_error *e);
/* s3_delete: 0 also when the key did not exist (S3's own semantics). */
int s3_delete(struct s3_client *c, const char *key, struct s3_error *e);
/* s3_list appends every object under prefix, following continuation tokens. */
int s3_list(struct s3_client *c, const char *prefix, struct s3_list *out, struct s3_error *e);
void s3_list_free(struct s3_list *l);

/*
 * s3_etag_file computes the ETag S3 gives size bytes of f (from its
 * offset, put back after) uploaded by s3_upload_file with part_size: the
 * MD5 in hex, or for multipart the MD5 of the parts' MD5s, "-", the part
 * count.  md5, if not NULL, gets the MD5 of the whole (some S3-compatible
 * stores give that as a multipart ETag).  0 or -1 (errno).
 */
int s3_etag_file(FILE *f, uint64_t size, size_t part_size, char out[S3_ETAG_MAX], char md5[33]);

/* The pieces above, exposed for tests. */
/* s3_target: the URL, Host and signed path of key (NULL: the bucket) and
   query (raw, may be NULL). */
int s3_target(const struct s3_client *c, const char *key, const char *query, struct buf *url,
    struct buf *host, struct buf *path);
/* s3_parse_list appends a ListObjectsV2 page to out; *next gets the
   continuation token ("" when the listing is complete).  0 or -1. */
int s3_parse_list(const char *xml, size_t n, struct s3_list *out, char *next, size_t nextsize);
/* s3_parse_error fills e's code and text from an S3 error answer and
   returns the EX_* code for it. */
int s3_parse_error(const char *what, long status, const char *body, size_t n,
    struct s3_error *e);
/* s3_complete_xml: the CompleteMultipartUpload body for the parts' ETags. */
int s3_complete_xml(char (*etags)[S3_ETAG_MAX], size_t n, struct buf *out);

#endif
