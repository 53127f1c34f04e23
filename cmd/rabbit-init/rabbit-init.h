/*
 * rabbit-init.h: what the files of rabbit-init share.  main.c tells the
 * story; broker.c talks to the management API; plan.c works out and
 * applies the changes; pwhash.c computes and checks RabbitMQ password
 * hashes.
 */
#ifndef RABBIT_INIT_H
#define RABBIT_INIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "http.h"
#include "log.h"

#define RI_URL_MAX 1024
#define RI_NAME_MAX 256    /* user, vhost, queue names (the broker's limit is 255) */
#define RI_MAX_QUEUES 64
#define RI_MAX_STEPS (3 + RI_MAX_QUEUES)

/* --- pwhash.c ------------------------------------------------------------- */

/* The algorithm rabbit-init writes; the broker's default since 3.6. */
#define PW_ALG_DEFAULT "rabbit_password_hashing_sha256"

/*
 * pw_hash appends to out the base64 of salt || H(salt || password), with
 * 4 bytes of salt from getrandom(2) and H = SHA-256: the form
 * rabbit_password_hashing_sha256 stores.  0, or -1 (no randomness, no
 * memory).
 */
int pw_hash(struct buf *out, const char *password);

/*
 * pw_verify checks password against a stored hash of the named algorithm
 * (rabbit_password_hashing_sha256, _sha512 or _md5).  1 if it matches,
 * 0 if not, -1 if the hash is malformed or the algorithm unknown.  The
 * comparison takes the same time wherever the bytes differ.
 */
int pw_verify(const char *hash_b64, const char *algorithm, const char *password);

/* --- broker.c ------------------------------------------------------------- */

struct broker {
	struct http_client http;
	struct log *lg;
	char base[RI_URL_MAX];     /* the --url, without a trailing '/' */
	const char *admin_user;
	char auth[1024];           /* "Basic ...": a secret, registered with lg */
	char error[HTTP_ERROR_MAX + RI_URL_MAX];  /* set when a call fails */
	bool no_answer;            /* the last call got no HTTP answer at all */
};

/* The answer to one call: status and the parsed body (NULL if none/not JSON). */
struct answer {
	long status;
	json_t *json;
};

/*
 * broker_init sets up the client for url with admin credentials; the
 * auth header is registered as a secret with lg.  0, or an EX_* code with
 * b->error set (a URL that is not http(s) or carries credentials: EX_USAGE).
 */
int broker_init(struct broker *b, struct log *lg, const char *url, const char *admin_user,
    const char *admin_password, const char *cacert);
void broker_free(struct broker *b);

/*
 * broker_call sends METHOD base/api/PATH (path already encoded) with an
 * optional JSON body.  0 on any final answer (a->status, a->json; free
 * a->json with json_decref), or an EX_* code with b->error set when no
 * answer came after the retries.
 */
int broker_call(struct broker *b, const char *method, const char *path, const json_t *body,
    struct answer *a);

/*
 * broker_refusal turns an unexpected answer into an exit code (401/403
 * EX_NOPERM, 400 EX_DATAERR, else EX_UNAVAILABLE) and writes into b->error
 * one line with the URL, the status and the broker's own reason.
 */
int broker_refusal(struct broker *b, const char *method, const char *path,
    const struct answer *a);

/*
 * broker_health checks that the broker answers and is healthy: overview,
 * admin is an administrator, no resource alarm, every vhost running.
 * Logs the version and the cluster's nodes.  0, or an EX_* code with
 * b->error set: EX_UNAVAILABLE/EX_TEMPFAIL may pass with time (--wait),
 * others will not.
 */
int broker_health(struct broker *b);

/* path_escape appends s percent-encoded as one path segment ("/" -> %2F). */
int path_escape(struct buf *out, const char *s);

/* --- plan.c --------------------------------------------------------------- */

struct queue_spec {
	char name[RI_NAME_MAX];
	bool durable;
	bool auto_delete;
	json_t *args;      /* object of x-arguments; owned */
};

/*
 * queue_parse reads "NAME[:opt=val,...]" (opts: durable, auto_delete,
 * type, x-*).  0, or -1 with err set.
 */
int queue_parse(const char *spec, struct queue_spec *q, char *err, size_t errsize);

struct want {
	const char *vhost;
	const char *user;
	const char *password;
	const char *perm[3];       /* configure, write, read */
	const char *tags;          /* comma-separated, may be "" */
	struct queue_spec *queues;
	size_t nqueues;
};

enum step_kind { STEP_VHOST, STEP_USER, STEP_PERMISSIONS, STEP_QUEUE };
enum step_action { ACT_KEEP, ACT_CREATE, ACT_CHANGE, ACT_CONFLICT };

struct step {
	enum step_kind kind;
	enum step_action action;
	char name[2 * RI_NAME_MAX + 2];
	char path[6 * RI_NAME_MAX + 64];   /* below /api, two names encoded */
	char what[512];                    /* what changes, or the conflict */
	json_t *body;                      /* the PUT body; owned */
};

struct plan {
	struct step steps[RI_MAX_STEPS];
	size_t n;
	int conflicts;
};

/*
 * plan_make reads the broker's state and fills p with one step per
 * object.  0, or an EX_* code with b->error set.  Conflicts are steps,
 * not errors.
 */
int plan_make(struct broker *b, const struct want *w, struct plan *p);
/* plan_apply sends the creates and changes in order; 0 or EX_* (b->error). */
int plan_apply(struct broker *b, struct plan *p);
void plan_free(struct plan *p);
const char *step_kind_name(enum step_kind k);

#endif
