/*
 * aws_query.h: the AWS Query API (EC2, Auto Scaling, classic ELB): a
 * form-encoded POST of Action, Version and parameters, signed with
 * SigV4, answered in XML.
 *
 *	struct aws_query q;
 *	aws_query_init(&q, &session, &http, "EC2", "ec2", "ec2", "2016-11-15", err, sizeof(err));
 *	struct aws_params p;
 *	aws_params_init(&p);
 *	aws_params_add(&p, "InstanceId.1", id);
 *	struct xml_doc doc;
 *	struct aws_error e;
 *	int r = aws_query_call(&q, "DescribeInstances", &p, &doc, &e);
 *	...xml_text(doc.root, ...)...; xml_free(&doc);
 *	aws_params_free(&p);
 *
 * Transport faults and 5xx are retried by the HTTP client; throttling
 * answers (RequestLimitExceeded, Throttling, ...) are retried here, with
 * a fresh signature each time.  Errors come back as a struct aws_error
 * (both the EC2 and the Auto Scaling/ELB XML shapes) and an EX_* code.
 */
#ifndef SB_AWS_QUERY_H
#define SB_AWS_QUERY_H

#include "aws_session.h"
#include "buf.h"
#include "http.h"
#include "xml.h"

#define AWS_QUERY_BODY_MAX (1u << 20)

struct aws_query {
	struct aws_session *session;
	struct http_client *http;
	const char *service; /* signing name: "ec2", "autoscaling", ... */
	const char *version; /* API version: "2016-11-15" */
	char endpoint[256];
	char host[256];      /* host[:port] of endpoint, as signed and sent */
	int max_attempts;    /* throttling retries; default 6 */
	unsigned long calls; /* requests sent, for benchmarks and -v */
};

struct aws_params {
	struct buf body; /* "k=v&k=v", each part percent-encoded */
	bool failed;     /* an add did not fit: aws_query_call refuses */
};

struct aws_error {
	long status;        /* HTTP status, 0 if no answer */
	char code[128];     /* "InvalidAMIID.NotFound", "" if none */
	char message[512];
	char request_id[128];
	char text[1200];    /* one line for the user: "ec2 RunInstances: ..." */
};

int aws_query_init(struct aws_query *q, struct aws_session *s, struct http_client *http,
    const char *env_name, const char *prefix, const char *service, const char *version,
    char *err, size_t errsize);

void aws_params_init(struct aws_params *p);
void aws_params_add(struct aws_params *p, const char *key, const char *value);
void aws_params_addf(struct aws_params *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void aws_params_free(struct aws_params *p);

/*
 * aws_query_call: 0 with *out parsed (free it with xml_free), or an EX_*
 * code with *e filled: EX_NOPERM for refused credentials or signatures
 * (with a clock-skew hint when the server's clock disagrees), EX_DATAERR
 * for other client errors, EX_UNAVAILABLE for throttling or server
 * errors that outlasted the retries, EX_TEMPFAIL for a timeout.
 */
int aws_query_call(struct aws_query *q, const char *action, const struct aws_params *p,
    struct xml_doc *out, struct aws_error *e);

#endif
