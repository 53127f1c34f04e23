/*
 * test_s3.c: the S3 client's pure parts: where a request goes (path-style
 * and virtual-host, key encoding), endpoint and addressing choice,
 * ListObjectsV2 pages, error answers, the CompleteMultipartUpload body
 * and S3's ETags.  The requests themselves are tested end to end against
 * s3rver in tests/integration/create-rpm.test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "s3.h"

static struct aws_session session;

static void
setup(void)
{
	memset(&session, 0, sizeof(session));
	str_copy(session.region, sizeof(session.region), "eu-west-1");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_S3_ADDRESSING_STYLE");
}

static void
target(struct s3_client *c, const char *key, const char *query, struct buf *url, struct buf *host,
    struct buf *path)
{
	ck_assert_int_eq(s3_target(c, key, query, url, host, path), 0);
}

START_TEST(aws_is_virtual_host)
{
	struct s3_client c;
	char err[256];
	struct http_client h;
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "my-bucket", S3_ADDR_AUTO, err, sizeof(err)), 0);
	ck_assert(!c.path_style);
	ck_assert_str_eq(c.endpoint, "https://s3.eu-west-1.amazonaws.com");
	struct buf url, host, path;
	buf_init(&url, 8192);
	buf_init(&host, 512);
	buf_init(&path, 8192);
	target(&c, "repo/a b+c.rpm", NULL, &url, &host, &path);
	ck_assert_str_eq(buf_str(&host), "my-bucket.s3.eu-west-1.amazonaws.com");
	ck_assert_str_eq(buf_str(&path), "/repo/a%20b%2Bc.rpm");
	ck_assert_str_eq(buf_str(&url), "https://my-bucket.s3.eu-west-1.amazonaws.com/repo/a%20b%2Bc.rpm");
	target(&c, NULL, "list-type=2&prefix=el7%2F", &url, &host, &path);
	ck_assert_str_eq(buf_str(&path), "/");
	ck_assert_str_eq(buf_str(&url), "https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=el7%2F");
	buf_free(&url);
	buf_free(&host);
	buf_free(&path);
}
END_TEST

START_TEST(custom_endpoint_is_path_style)
{
	struct s3_client c;
	char err[256];
	struct http_client h;
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "yum", S3_ADDR_AUTO, err, sizeof(err)), 0);
	ck_assert(c.path_style);
	ck_assert_str_eq(c.hostport, "127.0.0.1:9000");
	struct buf url, host, path;
	buf_init(&url, 8192);
	buf_init(&host, 512);
	buf_init(&path, 8192);
	target(&c, "el7/repodata/repomd.xml", "uploadId=a%2Fb", &url, &host, &path);
	ck_assert_str_eq(buf_str(&host), "127.0.0.1:9000");
	ck_assert_str_eq(buf_str(&path), "/yum/el7/repodata/repomd.xml");
	ck_assert_str_eq(buf_str(&url), "http://127.0.0.1:9000/yum/el7/repodata/repomd.xml?uploadId=a%2Fb");
	target(&c, NULL, NULL, &url, &host, &path);
	ck_assert_str_eq(buf_str(&path), "/yum");
	buf_free(&url);
	buf_free(&host);
	buf_free(&path);
	/* The S3-specific variable wins, and the style can be forced. */
	setenv("AWS_ENDPOINT_URL_S3", "http://s3.localhost:4568", 1);
	setenv("AWS_S3_ADDRESSING_STYLE", "virtual", 1);
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "yum", S3_ADDR_AUTO, err, sizeof(err)), 0);
	ck_assert(!c.path_style);
	ck_assert_str_eq(c.hostport, "s3.localhost:4568");
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "yum", S3_ADDR_PATH, err, sizeof(err)), 0);
	ck_assert(c.path_style);
}
END_TEST

START_TEST(bad_bucket_and_endpoint)
{
	struct s3_client c;
	char err[256];
	struct http_client h;
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "Bad_Bucket", S3_ADDR_AUTO, err, sizeof(err)),
	    EX_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "Bad_Bucket"));
	/* A "bucket" that holds credentials is not echoed back. */
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "AKID:s3cr3t@bucket", S3_ADDR_AUTO, err,
	    sizeof(err)), EX_CONFIG);
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "ab", S3_ADDR_AUTO, err, sizeof(err)), EX_CONFIG);
	setenv("AWS_ENDPOINT_URL", "ftp://example.com", 1);
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "abc", S3_ADDR_AUTO, err, sizeof(err)), EX_CONFIG);
	setenv("AWS_ENDPOINT_URL", "http://example.com/base", 1);
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "abc", S3_ADDR_AUTO, err, sizeof(err)), EX_CONFIG);
	unsetenv("AWS_ENDPOINT_URL");
	/* A dotted bucket cannot be a TLS host name: path-style. */
	ck_assert_int_eq(s3_client_init(&c, &session, &h, "a.b.c", S3_ADDR_AUTO, err, sizeof(err)), 0);
	ck_assert(c.path_style);
}
END_TEST

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>yum</Name><Prefix>el7/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>el7/a&amp;b.rpm</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
    "<ETag>&quot;900150983cd24fb0d6963f7d28e17f72&quot;</ETag><Size>3</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>el7/big.rpm</Key><ETag>\"71137c4e3b3e1260a16dbb574ab9e256-3\"</ETag>"
    "<Size>9000000000</Size></Contents>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

static const char page2[] =
    "<ListBucketResult><IsTruncated>false</IsTruncated>"
    "<Contents><Key>el7/c.rpm</Key><ETag>\"x\"</ETag><Size>0</Size></Contents>"
    "</ListBucketResult>";

START_TEST(list_pages)
{
	struct s3_list l = { 0 };
	char next[256];
	ck_assert_int_eq(s3_parse_list(page1, strlen(page1), &l, next, sizeof(next)), 0);
	ck_assert_str_eq(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].key, "el7/a&b.rpm");
	ck_assert_str_eq(l.v[0].etag, "900150983cd24fb0d6963f7d28e17f72");
	ck_assert_uint_eq(l.v[0].size, 3);
	ck_assert_uint_eq(l.v[1].size, 9000000000ULL);
	ck_assert_str_eq(l.v[1].etag, "71137c4e3b3e1260a16dbb574ab9e256-3");
	ck_assert_int_eq(s3_parse_list(page2, strlen(page2), &l, next, sizeof(next)), 0);
	ck_assert_str_eq(next, "");
	ck_assert_int_eq(l.n, 3);
	s3_list_free(&l);
}
END_TEST

START_TEST(list_refuses_bad_pages)
{
	static const char no_token[] = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
	static const char bad_size[] = "<ListBucketResult><Contents><Key>k</Key><Size>-1x</Size>"
				       "</Contents></ListBucketResult>";
	static const char other[] = "<Error><Code>AccessDenied</Code></Error>";
	struct s3_list l = { 0 };
	char next[256];
	ck_assert_int_eq(s3_parse_list(no_token, strlen(no_token), &l, next, sizeof(next)), -1);
	ck_assert_int_eq(s3_parse_list(bad_size, strlen(bad_size), &l, next, sizeof(next)), -1);
	ck_assert_int_eq(s3_parse_list(other, strlen(other), &l, next, sizeof(next)), -1);
	ck_assert_int_eq(s3_parse_list("<a", 2, &l, next, sizeof(next)), -1);
	s3_list_free(&l);
}
END_TEST

START_TEST(errors)
{
	static const char sig[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
				  "SignatureDoesNotMatch</Code><Message>The request signature we "
				  "calculated does not match</Message></Error>";
	struct s3_error e;
	ck_assert_int_eq(s3_parse_error("s3 PUT s3://b/k", 403, sig, strlen(sig), &e), EX_NOPERM);
	ck_assert_str_eq(e.code, "SignatureDoesNotMatch");
	ck_assert_str_eq(e.text, "s3 PUT s3://b/k: SignatureDoesNotMatch: The request signature we "
				 "calculated does not match (HTTP 403); check AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(s3_parse_error("s3 HEAD s3://b/k", 404, "", 0, &e), EX_NOINPUT);
	ck_assert_str_eq(e.text, "s3 HEAD s3://b/k: NotFound (HTTP 404)");
	ck_assert_int_eq(s3_parse_error("x", 503, "<Error><Code>SlowDown</Code></Error>", 36, &e),
	    EX_UNAVAILABLE);
	ck_assert_str_eq(e.code, "SlowDown");
	ck_assert_int_eq(s3_parse_error("x", 400, "not xml", 7, &e), EX_DATAERR);
	ck_assert_int_eq(s3_parse_error("x", 405, "<Error><Code>MethodNotAllowed</Code></Error>", 44, &e),
	    EX_DATAERR);
}
END_TEST

START_TEST(complete_body)
{
	char etags[2][S3_ETAG_MAX] = { "aaa", "bbb" };
	struct buf b;
	buf_init(&b, 4096);
	ck_assert_int_eq(s3_complete_xml(etags, 2, &b), 0);
	ck_assert_str_eq(buf_str(&b),
	    "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Part><PartNumber>1</PartNumber><ETag>\"aaa\"</ETag></Part>"
	    "<Part><PartNumber>2</PartNumber><ETag>\"bbb\"</ETag></Part>"
	    "</CompleteMultipartUpload>");
	buf_free(&b);
}
END_TEST

START_TEST(etags)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fputs("abcdefghijklmn", f);
	char etag[S3_ETAG_MAX], md5[33];
	/* One part: the MD5 of the body ("abcdefghijklmn"). */
	rewind(f);
	ck_assert_int_eq(s3_etag_file(f, 14, 100, etag, md5), 0);
	ck_assert_str_eq(etag, "0845a5972cd9ad4a46bad66f1253581f");
	ck_assert_str_eq(md5, etag);
	ck_assert_int_eq(ftell(f), 0);
	/* Parts of 5: MD5 of the three parts' MD5s, then "-3". */
	ck_assert_int_eq(s3_etag_file(f, 14, 5, etag, md5), 0);
	ck_assert_str_eq(etag, "71137c4e3b3e1260a16dbb574ab9e256-3");
	ck_assert_str_eq(md5, "0845a5972cd9ad4a46bad66f1253581f");
	/* From an offset, and a size that disagrees with the file. */
	fseek(f, 11, SEEK_SET);
	ck_assert_int_eq(s3_etag_file(f, 3, 100, etag, NULL), 0);
	ck_assert_int_eq(ftell(f), 11);
	ck_assert_int_eq(s3_etag_file(f, 4, 100, etag, NULL), -1);
	fclose(f);
}
END_TEST

Suite *suite(void);

Suite *
suite(void)
{
	Suite *s = suite_create("s3");
	TCase *t = tcase_create("s3");
	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, aws_is_virtual_host);
	tcase_add_test(t, custom_endpoint_is_path_style);
	tcase_add_test(t, bad_bucket_and_endpoint);
	tcase_add_test(t, list_pages);
	tcase_add_test(t, list_refuses_bad_pages);
	tcase_add_test(t, errors);
	tcase_add_test(t, complete_body);
	tcase_add_test(t, etags);
	suite_add_tcase(s, t);
	return s;
}
