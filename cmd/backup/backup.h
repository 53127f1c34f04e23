/*
 * backup.h: what the parts of backup share.  Private to cmd/backup:
 *
 *   main.c      options and the four stories: backup, restore, list, verify
 *   store.c     where backups live: file:///dir or s3://bucket/prefix
 *   stream.c    the byte pipeline: hashing, counting, gzip both ways
 *   catalog.c   object names, manifests, the list of complete backups
 *   web.c       HTTP services: base URL, credentials, error lines
 *   consul.c    Consul KV, in `consul kv export` format
 *   rabbit.c    RabbitMQ definitions
 *   pg.c        pg_dump and pg_restore, as child processes
 *   es.c        Elasticsearch snapshots
 *
 * Errors: functions return 0 or an EX_* code after logging one line that
 * says what failed and where; the caller only passes the code on.
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <zlib.h>

#include "aws_session.h"
#include "buf.h"
#include "http.h"
#include "log.h"
#include "s3.h"
#include "sha256.h"
#include "sigv4.h"

#define BK_NAME_MAX 256     /* an object's file name */
#define BK_KEY_MAX 1024     /* a key below the store's root */
#define BK_URL_MAX 2048
#define BK_JSON_MAX (1024u << 20) /* a JSON backup held in memory */
#define BK_CHUNK (256u << 10)     /* file store I/O */

/* Set by SIGINT, SIGTERM and SIGHUP: the pipeline stops at its next read. */
extern volatile sig_atomic_t bk_interrupted;

enum svc { SVC_CONSUL, SVC_RABBITMQ, SVC_POSTGRES, SVC_ELASTICSEARCH, SVC_N };

struct options {
	int verbosity;
	bool dry_run, json;
	const char *config;
	enum svc svc;
	const char *to, *from, *env;
	long keep;            /* 0: keep everything */
	bool no_compress;
	bool overwrite;
	const char *url;      /* the service's endpoint */
	const char *cacert;
	const char *user;
	const char *password_file;
	const char *prefix;   /* consul */
	const char *database; /* postgres */
	const char *pg_dump, *pg_restore;
	bool no_owner;
	bool base64;          /* consul: a consulate backup made with -b */
	bool unverified;      /* restore: an object without a manifest */
	const char *repo;     /* elasticsearch */
	const char *indices;
	long wait_s;
	const char *region;   /* s3 */
	const char *sse, *sse_kms_key;
};

/* What main resolved, for the four stories. */
struct ctx {
	struct options *o;
	struct log *lg;
	char root[BK_URL_MAX];  /* the store: --to, $SOCORRO_BACKUP_URL, config, default */
	char env[64];
	char host[128];
	struct buf out;         /* stdout, printed only when all went well */
};

/* run.c: a backup, then retention. */
int do_backup(struct ctx *c);
/* restore.c */
int do_restore(struct ctx *c);
int do_verify(struct ctx *c, const char *url);
int do_list(struct ctx *c);

/* --- store.c ------------------------------------------------------------- */

enum store_kind { STORE_FILE, STORE_S3 };

struct store {
	enum store_kind kind;
	char url[BK_URL_MAX];  /* the root, as given, without a trailing '/' */
	char dir[BK_KEY_MAX];  /* file: the root directory */
	char bucket[64];       /* s3 */
	char prefix[BK_KEY_MAX]; /* s3: key prefix, "" or ending in '/' */
	bool s3_ready;
	struct aws_session session;
	struct http_client http;
	struct s3_client s3;
	const struct options *o;
	struct log *lg;
};

struct store_item {
	char name[BK_NAME_MAX];
	uint64_t size;
};

struct store_items {
	struct store_item *v;
	size_t n, cap;
};

typedef size_t (*bk_read_fn)(void *ctx, char *b, size_t n);
typedef int (*bk_sink_fn)(void *ctx, const char *p, size_t n);

/* store_url_refused: true, with one line that does not repeat it, if URL
 * carries user:password@ (a secret, from argv, SOCORRO_BACKUP_URL or the
 * configuration, that no log line may show). */
bool store_url_refused(const char *url, struct log *lg);
/* store_open parses a file:///dir or s3://bucket[/prefix] root. */
int store_open(struct store *st, const char *url, const struct options *o, struct log *lg);
void store_close(struct store *st);
/* store_split: an object URL into its store root (opened) and its name. */
int store_open_object(struct store *st, const char *url, char *name, size_t namesize,
    const struct options *o, struct log *lg);
/* store_key_url writes the URL of key (relative to the root). */
void store_key_url(const struct store *st, const char *key, char *out, size_t outsize);
/* Writing: the object appears whole, or not at all. */
int store_put_stream(struct store *st, const char *key, bk_read_fn rd, void *ctx,
    const char *content_type);
int store_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const char *content_type);
/* store_get streams key into sink; size (if known, else 0) sets the timeout. */
int store_get(struct store *st, const char *key, uint64_t size, bk_sink_fn sink, void *ctx);
/* store_stat: 0 and *size, EX_NOINPUT (no line logged) when absent. */
int store_stat(struct store *st, const char *key, uint64_t *size);
int store_delete(struct store *st, const char *key);
/* store_list: the names directly under dir (a key ending in '/'). */
int store_list(struct store *st, const char *dir, struct store_items *out);
void store_items_free(struct store_items *l);

/* s3par.c: s3_upload_stream with parts sent in parallel; e as s3.h says. */
int s3par_upload(struct store *st, const char *key, bk_read_fn rd, void *ctx,
    const char *content_type, struct s3_error *e);

/* --- stream.c ------------------------------------------------------------ */

/* A reader over memory. */
struct mem_src {
	const char *p;
	size_t n, off;
};
size_t mem_read(void *ctx, char *b, size_t n);

/* tally: hashes and counts what passes, shows progress, stops on a signal. */
struct tally {
	bk_read_fn up;
	void *up_ctx;
	struct sha256 sha;
	uint64_t n;
	struct log *lg;
	const char *verb;  /* "uploaded", "read" */
	struct timespec start, shown;
	bool failed;
};
void tally_init(struct tally *t, bk_read_fn up, void *up_ctx, const char *verb, struct log *lg);
size_t tally_read(void *ctx, char *b, size_t n);
/* tally_sink: the same, for bytes pushed (restore, verify); next may be NULL. */
struct tally_sink {
	struct tally t;
	bk_sink_fn next;
	void *next_ctx;
};
int tally_push(void *ctx, const char *p, size_t n);
void tally_final(struct tally *t, char hex[SIGV4_HEX_SIZE]);
void tally_done(struct tally *t);

/* gzip_src: gzip what up yields. */
struct gzip_src {
	bk_read_fn up;
	void *up_ctx;
	z_stream z;
	unsigned char *in;
	bool in_eof, end, ready;
};
int gzip_src_init(struct gzip_src *g, bk_read_fn up, void *up_ctx);
size_t gzip_read(void *ctx, char *b, size_t n);
void gzip_src_free(struct gzip_src *g);

/* gunzip_sink: inflate what is pushed into next; gunzip_end checks the end. */
struct gunzip_sink {
	bk_sink_fn next;
	void *next_ctx;
	z_stream z;
	bool ready, end;
	struct log *lg;
};
int gunzip_init(struct gunzip_sink *g, bk_sink_fn next, void *next_ctx, struct log *lg);
int gunzip_push(void *ctx, const char *p, size_t n);
int gunzip_end(struct gunzip_sink *g);
/* gunzip_abort releases it after a failure, silently. */
void gunzip_abort(struct gunzip_sink *g);
/* gunzip_mem inflates a whole gzip buffer into out. */
int gunzip_mem(const char *p, size_t n, struct buf *out, struct log *lg);

/*
 * holdback: passes each piece on only when the next arrives, so the last
 * one waits until holdback_flush: the whole object can be checked before
 * its consumer sees its end.
 */
struct holdback {
	bk_sink_fn next;
	void *next_ctx;
	char *p;
	size_t n, cap;
};
int holdback_push(void *ctx, const char *p, size_t n);
int holdback_flush(struct holdback *h);
void holdback_free(struct holdback *h);

/* buf_sink: append to a struct buf (its max applies). */
int buf_sink(void *ctx, const char *p, size_t n);

/* human writes n bytes as "12.3 MiB". */
void human_size(uint64_t n, char out[32]);

/* --- catalog.c ------------------------------------------------------------ */

struct manifest {
	char service[32];
	char env[64];
	char time[32];        /* 2024-05-01T02:03:04Z */
	char host[128];
	char object[BK_NAME_MAX];
	char compression[16]; /* "gzip" or "none" */
	char content[64];
	uint64_t size;
	char sha256[SIGV4_HEX_SIZE];
	json_t *source;       /* owned */
	json_t *doc;          /* the whole manifest, owned */
	bool unverified;      /* none was found: --unverified, nothing to check */
};

struct backup_entry {
	char name[BK_NAME_MAX];  /* the object's name */
	char stamp[15];          /* YYYYmmddHHMMSS from the name */
	uint64_t size;
	bool object, manifest;
};

struct catalog {
	struct backup_entry *v;
	size_t n, cap;
};

extern const char *const svc_names[SVC_N];
int svc_from_name(const char *s);
/* svc_ext: the object name's extension for svc, ".json" or ".json.gz" ... */
const char *svc_ext(enum svc s, bool compress);
bool svc_compresses(enum svc s);

/* backup_name: <svc>-backup-<stamp>-<host><ext>. */
int backup_name(enum svc s, const char *stamp, const char *host, bool compress, char *out,
    size_t outsize);
/* parse_backup_name: true if name is one of svc's objects; stamp filled. */
bool parse_backup_name(enum svc s, const char *name, char stamp[15]);
/* manifest_name: the manifest beside object name. */
int manifest_name(const char *object, char *out, size_t outsize);

/* catalog_load: svc's objects and manifests under dir, oldest first. */
int catalog_load(struct store *st, const char *dir, enum svc s, struct catalog *c);
void catalog_free(struct catalog *c);
/* catalog_complete: how many entries have both object and manifest. */
size_t catalog_complete(const struct catalog *c);

/* manifest_make builds the manifest document (source is stolen). */
int manifest_make(struct manifest *m, json_t *source, const char *tool_version);
/* manifest_text: the manifest as pretty JSON text (caller frees). */
char *manifest_text(const struct manifest *m);
/* manifest_parse reads one; what names it in messages. */
int manifest_parse(struct manifest *m, const char *text, size_t n, const char *what,
    struct log *lg);
void manifest_free(struct manifest *m);
/* manifest_load fetches and parses the manifest of key. */
int manifest_load(struct store *st, const char *key, struct manifest *m);

/* --- web.c ----------------------------------------------------------------- */

struct web {
	struct http_client http;
	char base[512];    /* scheme://host[:port][/path], no trailing '/' */
	char auth[1200];   /* an Authorization value, or "" */
	struct http_header hdr[4];
	size_t nhdr;
	const char *what;  /* "RabbitMQ", "Elasticsearch", "Consul" */
	const char *hint;  /* which setting names the address */
	struct log *lg;
	bool ready;        /* http is initialized */
};

/* web_open checks url (http(s), no user:password@) and sets up the client. */
int web_open(struct web *w, const char *what, const char *url, const char *hint,
    const char *cacert, struct log *lg);
void web_close(struct web *w);
void web_header(struct web *w, const char *name, const char *value);
/* web_basic sets basic authentication (both registered as secrets). */
int web_basic(struct web *w, const char *user, const char *password);
/*
 * web_call sends one request to base + path.  0 with any final status
 * (rs->status), or an EX_* code after one line naming the URL.
 */
int web_call(struct web *w, const char *method, const char *path, const char *ctype,
    const void *body, size_t n, size_t max, struct http_response *rs);
/* web_refused: one line for an unexpected status; its EX_* code. */
int web_refused(struct web *w, const char *what, const struct http_response *rs);
/*
 * read_secret: a password from file, else from the environment variable
 * env.  0 (out holds it, registered as a secret), 1 if neither is set, or
 * an EX_* code after a line.
 */
int read_secret(struct log *lg, const char *file, const char *env, struct buf *out);
/* secret_hold registers a copy of s that lives until secrets_release. */
void secret_hold(struct log *lg, const char *s);
void secrets_release(struct log *lg);

/* --- the services ------------------------------------------------------------ */

/* What a backup of one service hands to the store. */
struct job {
	const struct options *o;
	struct log *lg;
	struct buf mem;        /* the content, when it is built in memory */
	json_t *source;        /* details for the manifest (owned) */
	const char *content;   /* what the bytes are, for the manifest */
	/* The content as a stream (postgres), or NULL to use mem. */
	bk_read_fn read;
	void *read_ctx;
	void *svc_state;       /* the service's own, freed by its finish */
	char stamp[15];
	char host[128];
	char snapshot[BK_NAME_MAX]; /* elasticsearch */
	struct buf *out;       /* restore: the summary for stdout */
};

/* consul.c */
int consul_backup(struct job *j);
int consul_restore(struct job *j, const char *data, size_t n);

/* rabbit.c */
int rabbit_backup(struct job *j);
int rabbit_restore(struct job *j, const char *data, size_t n);

/* pg.c: backup starts pg_dump, j->read reads it; pg_backup_end reaps it. */
int pg_backup_start(struct job *j);
int pg_backup_end(struct job *j, bool ok);
/* Restore: pg_restore_start, then push bytes with pg_restore_push, then end. */
int pg_restore_start(struct job *j);
int pg_restore_push(void *ctx, const char *p, size_t n);
int pg_restore_end(struct job *j, bool ok);
/* pg_restore_plan: the command a restore would run, for --dry-run. */
void pg_restore_plan(const struct options *o, struct buf *out);

/* es.c */
int es_backup(struct job *j);
/* es_discard drops the snapshot a failed backup made (best effort). */
void es_discard(struct job *j);
int es_restore(struct job *j, const char *data, size_t n);
/* es_forget deletes the snapshot named in a pruned backup's manifest. */
int es_forget(struct job *j, const struct manifest *m);
/* es_states: "SUCCESS", "missing"... per snapshot, as a JSON object. */
int es_states(struct job *j, json_t **out);

#endif
