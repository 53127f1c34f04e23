/*
 * create-rpm.h: what the files of create-rpm share.  Private to this
 * command:
 *
 *   main.c     options, modes, the story of a run
 *   spec.c     the package description: INI spec file and flags
 *   tree.c     the staged tree: walk, per-path attributes, hard links
 *   header.c   RPM header blobs: build, serialize, read back
 *   package.c  the package: cpio payload, digests, tags, signature header
 *   pgp.c      OpenPGP v4: RSA key from PEM, signatures, public key export
 *   repo.c     yum repodata (repomd.xml, primary, filelists, other)
 *   repo_pkg.c reading a package's metadata back for the repodata
 *   publish.c  S3 upload of a repository, packages first, repodata last
 */
#ifndef CREATE_RPM_H
#define CREATE_RPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <bearssl.h>
#include <zlib.h>

#include "buf.h"
#include "log.h"

#define ERR_MAX 1200

/* RPM dependency sense flags (rpmds.h). */
enum {
	RPMSENSE_LESS = 1 << 1,
	RPMSENSE_GREATER = 1 << 2,
	RPMSENSE_EQUAL = 1 << 3,
	RPMSENSE_INTERP = 1 << 8,
	RPMSENSE_SCRIPT_PRE = 1 << 9,
	RPMSENSE_SCRIPT_POST = 1 << 10,
	RPMSENSE_SCRIPT_PREUN = 1 << 11,
	RPMSENSE_SCRIPT_POSTUN = 1 << 12,
	RPMSENSE_RPMLIB = 1 << 24
};

/* RPM file flags (rpmfiles.h). */
enum {
	RPMFILE_CONFIG = 1 << 0,
	RPMFILE_DOC = 1 << 1,
	RPMFILE_NOREPLACE = 1 << 4,
	RPMFILE_GHOST = 1 << 6
};

struct dep {
	char *name;
	char *version; /* "" when unversioned */
	uint32_t flags;
};

struct deps {
	struct dep *v;
	size_t n, cap;
};

/* A per-path rule: [/path] in the spec, or --attr.  Later rules win. */
struct rule {
	char *pattern;   /* absolute package path, fnmatch(3) glob */
	char *user;      /* NULL: keep */
	char *group;
	long mode;       /* permission bits, -1: keep */
	int config;      /* -1 keep, 0 no, 1 %config, 2 %config(noreplace) */
	int dir;         /* -1 keep, 0 no, 1 own this directory */
	int ghost;       /* -1 keep, 0 no, 1 %ghost */
	int doc;         /* -1 keep, 0 no, 1 %doc */
	char where[300]; /* "file:line" or "--attr", for errors */
	bool matched;
};

enum { SCRIPT_PRE, SCRIPT_POST, SCRIPT_PREUN, SCRIPT_POSTUN, NSCRIPTS };

struct change {
	uint32_t time;   /* the day, as seconds since 1970 */
	char *author;    /* "Name <mail> - VERSION-RELEASE" */
	char *text;      /* "- what changed" */
};

struct spec {
	char *name, *version, *release, *arch, *summary, *description, *license, *url,
	    *vendor, *packager, *group, *prefix, *buildhost, *default_user, *default_group;
	long epoch;                /* -1: none */
	struct deps requires, provides, conflicts, obsoletes;
	char *script[NSCRIPTS];    /* text, or NULL */
	struct rule *rules;
	size_t nrules, rcap;
	struct change *changes;    /* newest first, as rpm lists them */
	size_t nchanges;
};

/* spec.c */
void spec_init(struct spec *s);
void spec_free(struct spec *s);
/* spec_load reads an INI spec; EX_* with err "file:line: ..." on error. */
int spec_load(struct spec *s, const char *path, char *err, size_t errsize);
/* spec_set sets [package] KEY (flags use the same names). */
int spec_set(struct spec *s, const char *key, const char *value, char *err, size_t errsize);
/* spec_add_deps parses "a >= 1, b" into d; 0 or -1 with err. */
int spec_add_deps(struct deps *d, const char *list, char *err, size_t errsize);
/* spec_add_attr parses --attr "PATH:key=value,key=value". */
int spec_add_attr(struct spec *s, const char *arg, char *err, size_t errsize);
/* spec_script_file reads a scriptlet from a file. */
int spec_script_file(struct spec *s, int which, const char *path, char *err, size_t errsize);
/* spec_finish checks required fields and fills defaults. */
int spec_finish(struct spec *s, char *err, size_t errsize);
/* spec_parse_time: seconds since 1970, or YYYY-MM-DD[THH:MM:SSZ] (UTC). */
int spec_parse_time(const char *s, long *out);
/* spec_evr writes [E:]V-R. */
int spec_evr(const struct spec *s, char *out, size_t outsize);

/* One file of the package, in sorted order. */
struct entry {
	char *path;       /* absolute package path, "/usr/bin/x" */
	char *src;        /* path on disk, or NULL for a missing %ghost */
	char *linkto;     /* symlink target, else "" */
	char *user, *group;
	uint32_t mode;    /* full st_mode */
	uint32_t size;
	uint32_t mtime;
	uint32_t flags;   /* RPMFILE_* */
	uint32_t inode;   /* 1-based, shared by hard links */
	uint32_t nlink;   /* members of its link set in the package */
	bool has_data;    /* the payload carries its bytes (last of a link set) */
	char digest[65];  /* SHA-256 hex of a regular file, else "" */
	dev_t st_dev;
	ino_t st_ino;
};

struct tree {
	struct entry *v;
	size_t n, cap;
	uint64_t total_size;
};

/* tree.c */
int tree_scan(struct tree *t, struct spec *s, const char *root, long clamp_mtime,
    char *err, size_t errsize);
void tree_free(struct tree *t);

/* header.c: an RPM header being built, or read back. */
enum {
	RPM_NULL_TYPE, RPM_CHAR_TYPE, RPM_INT8_TYPE, RPM_INT16_TYPE, RPM_INT32_TYPE,
	RPM_INT64_TYPE, RPM_STRING_TYPE, RPM_BIN_TYPE, RPM_STRING_ARRAY_TYPE,
	RPM_I18NSTRING_TYPE
};

struct hdr_entry {
	uint32_t tag, type, count;
	size_t off, len; /* in hdr.pool */
};

struct hdr {
	struct hdr_entry *e;
	size_t n, cap;
	struct buf pool;
	bool failed;     /* an add ran out of memory: hdr_write refuses */
};

void hdr_init(struct hdr *h);
void hdr_free(struct hdr *h);
void hdr_add_string(struct hdr *h, uint32_t tag, const char *s);
void hdr_add_i18n(struct hdr *h, uint32_t tag, const char *s);
void hdr_add_strings(struct hdr *h, uint32_t tag, const char *const *v, size_t n);
void hdr_add_u32(struct hdr *h, uint32_t tag, const uint32_t *v, size_t n);
void hdr_add_u16(struct hdr *h, uint32_t tag, const uint16_t *v, size_t n);
void hdr_add_bin(struct hdr *h, uint32_t tag, const void *p, size_t n);
/* hdr_write serializes h with region tag region (62 or 63) into out. */
int hdr_write(struct hdr *h, uint32_t region, struct buf *out);
/* hdr_parse reads a serialized header (magic onward) into h. */
int hdr_parse(struct hdr *h, const unsigned char *p, size_t n);
const struct hdr_entry *hdr_get(const struct hdr *h, uint32_t tag);
/* Accessors on a parsed header: NULL/0 when the tag is absent. */
const char *hdr_str(const struct hdr *h, uint32_t tag);
const char *hdr_str_at(const struct hdr *h, uint32_t tag, size_t i);
uint32_t hdr_u32_at(const struct hdr *h, uint32_t tag, size_t i, uint32_t dflt);
uint32_t hdr_count(const struct hdr *h, uint32_t tag);

/* pgp.c */
struct pgp_key {
	br_rsa_private_key sk;
	unsigned char skbuf[BR_RSA_KBUF_PRIV_SIZE(4096)];
	unsigned char n[512], e[8];
	size_t nlen, elen;
	uint32_t created;
	unsigned char fpr[20];
	unsigned char keyid[8];
};
int pgp_key_load(struct pgp_key *k, const char *path, uint32_t created, char *err,
    size_t errsize);
void pgp_key_wipe(struct pgp_key *k);
/* pgp_sig_begin/finish: a binary-document (0x00) signature over data
   hashed into ctx with SHA-256; appends the signature packet to out. */
void pgp_sig_begin(br_sha256_context *ctx);
int pgp_sig_finish(const struct pgp_key *k, br_sha256_context *ctx, uint32_t when,
    struct buf *out);
int pgp_export(const struct pgp_key *k, const char *uid, uint32_t when, struct buf *out);
/* pgp_armor appends ASCII armor ("PUBLIC KEY BLOCK" or "SIGNATURE"). */
int pgp_armor(const char *what, const unsigned char *p, size_t n, struct buf *out);
void pgp_fpr_hex(const struct pgp_key *k, char out[41]);

/* tags.c: the main header of a package. */
int header_build(const struct spec *s, const struct tree *t, const char *payload_sha,
    uint32_t buildtime, const char *buildhost, int level, struct hdr *h);

/* gzpipe.c: gzip on a second thread, through a ring of chunks. */
#define GZPIPE_CHUNK (256u << 10)
#define GZPIPE_SLOTS 4
struct gzpipe {
	int fd;                   /* where the compressed bytes go */
	z_stream z;
	br_sha256_context sha;    /* of the compressed bytes */
	uint64_t csize;
	int err;                  /* errno of a failed write */
	unsigned char *chunk[GZPIPE_SLOTS];
	size_t len[GZPIPE_SLOTS];
	size_t head, tail, filled, fill;
	bool done, failed, started;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};
int gzpipe_start(struct gzpipe *g, int fd, int level);
int gzpipe_write(struct gzpipe *g, const void *p, size_t n);
/* gzpipe_finish ends the stream (ok) or abandons it; 0, or -1 if failed. */
int gzpipe_finish(struct gzpipe *g, bool ok);

/* package.c */
struct build_opts {
	const char *outdir;
	int level;            /* gzip level 1..9 */
	long sde;             /* SOURCE_DATE_EPOCH, -1: none */
	const struct pgp_key *key; /* NULL: unsigned */
	bool dry_run;
};
int package_build(struct spec *s, struct tree *t, const struct build_opts *o,
    struct log *lg, struct buf *path_out, char *err, size_t errsize);

/* repo.c */
struct repo_opts {
	const char *dir;
	const struct pgp_key *key;  /* --sign-repo, or NULL */
	long sde;
	bool dry_run;
};
int repo_update(const struct repo_opts *o, struct log *lg, char *err, size_t errsize);

/* repo_pkg.c: one package's metadata for the repodata. */
struct pkg_info {
	char *file;          /* name in the repo directory */
	struct hdr h;
	char checksum[65];
	uint64_t size;
	long mtime;
	uint64_t hdr_start, hdr_end;
	uint32_t archive_size;
};
int pkg_read(struct pkg_info *p, const char *dir, const char *file, const char *known_sum,
    char *err, size_t errsize);
void pkg_free(struct pkg_info *p);
int pkg_primary_xml(const struct pkg_info *p, struct buf *out);
int pkg_filelists_xml(const struct pkg_info *p, struct buf *out);
int pkg_other_xml(const struct pkg_info *p, struct buf *out);
void xml_escape(struct buf *out, const char *s);

/* publish.c */
struct publish_opts {
	const char *dir;
	const char *url;      /* s3://bucket/prefix */
	const char *region;
	bool dry_run;
};
int publish_repo(const struct publish_opts *o, struct log *lg, struct buf *out, char *err,
    size_t errsize);

/* main.c: a temp file to remove if a signal stops us (NULL: none). */
void cleanup_on_signal(const char *path);

/* Shared small helpers (package.c). */
int write_all(int fd, const void *p, size_t n);
int sha256_file_hex(const char *path, char out[65], uint64_t *size);

#endif
