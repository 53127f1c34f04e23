/*
 * package.c: write the .rpm (rpm's lib/package.c and build/pack.c, as a
 * streaming writer).
 *
 *   lead (96 bytes)  signature header (+ pad to 8)  main header  payload
 *
 * The payload is a cpio "newc" archive of the files in path order,
 * gzip-compressed with zlib.  It is written first, to an unlinked temp
 * file, while each file is read once to compute its SHA-256: the main
 * header needs those digests and the payload's own SHA-256.  Then the
 * header is built, and the payload is read back once to hash header +
 * payload (MD5, and the OpenPGP signature), and once more to copy it
 * after the headers.  Memory stays constant whatever the payload size:
 * only the file list is in memory.
 *
 * Signature header tags, as rpm 4.11 (CentOS 7) and rpm >= 4.14 check
 * them: SIZE (1000), PAYLOADSIZE (1007), MD5 (1004), SHA1HEADER (269),
 * SHA256HEADER (273), and with a key RSAHEADER (268, header only) and
 * PGP (1002, header + payload).  No 64-bit LONGSIZE tags: packages and
 * files stay under 4 GiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "create-rpm.h"
#include "exits.h"

#define CHUNK (256u << 10)
#define HDR_MAX (256u << 20)

struct payload {
	int fd;                    /* the unlinked temp file */
	struct gzpipe gz;          /* compresses, hashes and writes to fd */
	uint64_t usize;            /* cpio bytes */
	char *err;
	size_t errsize;
};

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[p[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
sha256_file_hex(const char *path, char out[65], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	br_sha256_context c;
	br_sha256_init(&c);
	unsigned char b[65536], h[32];
	ssize_t n;
	uint64_t total = 0;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		br_sha256_update(&c, b, (size_t)n);
		total += (uint64_t)n;
	}
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	br_sha256_out(&c, h);
	hex(h, 32, out);
	if (size)
		*size = total;
	return 0;
}

static int
pl_write(struct payload *pl, const void *p, size_t n)
{
	pl->usize += n;
	if (gzpipe_write(&pl->gz, p, n) == 0)
		return 0;
	str_fmt_clip(pl->err, pl->errsize, "writing the payload: %s", strerror(pl->gz.err));
	return -1;
}

static int
pl_pad(struct payload *pl)
{
	static const char zeros[4];
	size_t pad = (4 - pl->usize % 4) % 4;
	return pad ? pl_write(pl, zeros, pad) : 0;
}

static void
hex8(char *p, uint32_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
}

/* cpio_header writes a newc header for name with the given fields. */
static int
cpio_header(struct payload *pl, const char *name, uint32_t ino, uint32_t mode, uint32_t nlink,
    uint32_t mtime, uint32_t size)
{
	char h[110];
	uint32_t f[13] = { ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0,
		(uint32_t)strlen(name) + 1, 0 };
	memcpy(h, "070701", 6);
	for (int i = 0; i < 13; i++)
		hex8(h + 6 + 8 * i, f[i]);
	if (pl_write(pl, h, sizeof(h)) == -1 || pl_write(pl, name, strlen(name) + 1) == -1)
		return -1;
	return pl_pad(pl);
}

/* add_file_data streams a regular file into the payload, hashing it. */
static int
add_file_data(struct payload *pl, struct entry *e, unsigned char *b)
{
	int fd = open(e->src, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		str_fmt_clip(pl->err, pl->errsize, "%s: %s", e->src, strerror(errno));
		return EX_NOINPUT;
	}
	br_sha256_context c;
	br_sha256_init(&c);
	uint64_t total = 0;
	ssize_t n;
	while ((n = read(fd, b, CHUNK)) > 0) {
		total += (uint64_t)n;
		if (total > e->size)
			break;
		br_sha256_update(&c, b, (size_t)n);
		if (pl_write(pl, b, (size_t)n) == -1) {
			close(fd);
			return EX_IOERR;
		}
	}
	int saved = errno;
	close(fd);
	if (n < 0) {
		str_fmt_clip(pl->err, pl->errsize, "%s: %s", e->src, strerror(saved));
		return EX_NOINPUT;
	}
	if (total != e->size) {
		str_fmt_clip(pl->err, pl->errsize, "%s changed size while being packaged", e->src);
		return EX_DATAERR;
	}
	unsigned char h[32];
	br_sha256_out(&c, h);
	hex(h, 32, e->digest);
	return pl_pad(pl) == -1 ? EX_IOERR : 0;
}

/* write_payload: the cpio archive of t, compressed into pl. */
static int
write_payload(struct payload *pl, struct tree *t, struct log *lg)
{
	unsigned char *b = malloc(CHUNK);
	struct buf name;
	buf_init(&name, 1u << 16);
	int r = b ? 0 : EX_SOFTWARE;
	time_t start = time(NULL);
	for (size_t i = 0; i < t->n && r == 0; i++) {
		struct entry *e = &t->v[i];
		if (e->flags & RPMFILE_GHOST)
			continue; /* %ghost files are in the header only */
		uint32_t size = S_ISLNK(e->mode) || e->has_data ? e->size : 0;
		buf_reset(&name);
		if (buf_putc(&name, '.') == -1 || buf_puts(&name, e->path) == -1 ||
		    cpio_header(pl, name.data, e->inode, e->mode, e->nlink, e->mtime, size) == -1) {
			r = EX_IOERR;
			break;
		}
		if (S_ISLNK(e->mode))
			r = pl_write(pl, e->linkto, e->size) == -1 || pl_pad(pl) == -1 ? EX_IOERR : 0;
		else if (e->has_data)
			r = add_file_data(pl, e, b);
		/* Progress only for builds long enough to want it. */
		if (i % 64 == 0 && time(NULL) - start >= 2)
			log_progress(lg, "payload: %zu/%zu files", i + 1, t->n);
	}
	log_progress_end(lg);
	if (r == 0 && cpio_header(pl, "TRAILER!!!", 0, 0, 1, 0, 0) == -1)
		r = EX_IOERR;
	if (gzpipe_finish(&pl->gz, r == 0) == -1 && r == 0) {
		str_fmt_clip(pl->err, pl->errsize, "writing the payload: %s", strerror(pl->gz.err));
		r = EX_IOERR;
	}
	/* Hard links without data carry the digest of their set. */
	for (size_t i = 0; i < t->n && r == 0; i++) {
		struct entry *e = &t->v[i];
		if (!S_ISREG(e->mode) || e->has_data || (e->flags & RPMFILE_GHOST))
			continue;
		for (size_t j = i + 1; j < t->n; j++)
			if (t->v[j].inode == e->inode && t->v[j].has_data)
				memcpy(e->digest, t->v[j].digest, sizeof(e->digest));
	}
	free(b);
	buf_free(&name);
	return r;
}

static int
lead_archnum(const char *arch)
{
	static const struct {
		const char *arch;
		int num;
	} t[] = { { "x86_64", 1 }, { "i386", 1 }, { "i586", 1 }, { "i686", 1 }, { "noarch", 1 },
		{ "aarch64", 19 }, { "ppc64le", 16 }, { "ppc64", 16 }, { "s390x", 15 },
		{ "armv7hl", 12 } };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(arch, t[i].arch) == 0)
			return t[i].num;
	return 0;
}

static void
make_lead(const struct spec *s, unsigned char lead[96])
{
	memset(lead, 0, 96);
	lead[0] = 0xed, lead[1] = 0xab, lead[2] = 0xee, lead[3] = 0xdb;
	lead[4] = 3;                /* major */
	lead[5] = 0;                /* minor */
	lead[7] = 0;                /* type: binary */
	lead[9] = (unsigned char)lead_archnum(s->arch);
	char name[66];
	str_fmt_clip(name, sizeof(name), "%s-%s-%s", s->name, s->version, s->release);
	memcpy(lead + 10, name, strlen(name));
	lead[77] = 1;               /* os: Linux */
	lead[79] = 5;               /* signature type: header-style */
}

/* Signature inputs: what the second pass over header + payload yields. */
struct digests {
	char sha1hdr[41], sha256hdr[65];
	unsigned char md5[16];
	struct buf rsa, pgp;        /* signature packets, empty when unsigned */
};

static int
sign_pass(int fd, const struct buf *header, const struct build_opts *o, uint32_t when,
    struct digests *d, char *err, size_t errsize)
{
	unsigned char h[32];
	br_sha1_context s1;
	br_sha256_context s256, hdrsig, allsig;
	br_md5_context md5;
	br_sha1_init(&s1);
	br_sha1_update(&s1, header->data, header->len);
	br_sha1_out(&s1, h);
	hex(h, 20, d->sha1hdr);
	br_sha256_init(&s256);
	br_sha256_update(&s256, header->data, header->len);
	br_sha256_out(&s256, h);
	hex(h, 32, d->sha256hdr);
	br_md5_init(&md5);
	br_md5_update(&md5, header->data, header->len);
	pgp_sig_begin(&hdrsig);
	br_sha256_update(&hdrsig, header->data, header->len);
	allsig = hdrsig;
	unsigned char *b = malloc(CHUNK);
	ssize_t n = b && lseek(fd, 0, SEEK_SET) == 0 ? 0 : -1;
	while (b && n == 0 && (n = read(fd, b, CHUNK)) > 0) {
		br_md5_update(&md5, b, (size_t)n);
		if (o->key)
			br_sha256_update(&allsig, b, (size_t)n);
		n = 0;
	}
	free(b);
	if (n != 0) {
		str_fmt_clip(err, errsize, "reading the payload back: %s", strerror(errno));
		return EX_IOERR;
	}
	br_md5_out(&md5, d->md5);
	if (o->key && (pgp_sig_finish(o->key, &hdrsig, when, &d->rsa) == -1 ||
			  pgp_sig_finish(o->key, &allsig, when, &d->pgp) == -1)) {
		str_fmt_clip(err, errsize, "signing with the RSA key failed");
		return EX_SOFTWARE;
	}
	return 0;
}

static int
sig_header(const struct buf *header, uint64_t csize, uint64_t usize, const struct digests *d,
    struct buf *out)
{
	struct hdr h;
	hdr_init(&h);
	uint32_t size = (uint32_t)(header->len + csize), psize = (uint32_t)usize;
	if (d->rsa.len)
		hdr_add_bin(&h, 268, d->rsa.data, d->rsa.len);
	hdr_add_string(&h, 269, d->sha1hdr);
	hdr_add_string(&h, 273, d->sha256hdr);
	hdr_add_u32(&h, 1000, &size, 1);
	if (d->pgp.len)
		hdr_add_bin(&h, 1002, d->pgp.data, d->pgp.len);
	hdr_add_bin(&h, 1004, d->md5, 16);
	hdr_add_u32(&h, 1007, &psize, 1);
	int r = hdr_write(&h, 62, out);
	hdr_free(&h);
	static const char zeros[8];
	size_t pad = (8 - out->len % 8) % 8; /* the signature header is padded to 8 */
	return r == 0 && (pad == 0 || buf_append(out, zeros, pad) == 0) ? 0 : -1;
}

static int write_package(const struct spec *s, const struct buf *sig, const struct buf *header,
    int pfd, int fd, const char *path, struct log *lg, const char *tmp, char *err, size_t errsize);

/* assemble writes lead, signature, header and the payload to a temp file
   beside the output, then renames it into place. */
static int
assemble(const struct spec *s, const struct buf *sig, const struct buf *header, int pfd,
    const char *path, struct log *lg, char *err, size_t errsize)
{
	char tmp[4200];
	if (str_fmt(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) == -1) {
		str_fmt_clip(err, errsize, "%s: path too long", path);
		return EX_CANTCREAT;
	}
	int fd = mkstemp(tmp);
	if (fd == -1) {
		str_fmt_clip(err, errsize, "%s: %s", tmp, strerror(errno));
		return EX_CANTCREAT;
	}
	cleanup_on_signal(tmp);
	int r = write_package(s, sig, header, pfd, fd, path, lg, tmp, err, errsize);
	cleanup_on_signal(NULL);
	return r;
}

static int
write_package(const struct spec *s, const struct buf *sig, const struct buf *header, int pfd,
    int fd, const char *path, struct log *lg, const char *tmp, char *err, size_t errsize)
{
	unsigned char lead[96], h[32];
	make_lead(s, lead);
	/* Hash what is written, to leave an identical package untouched. */
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, lead, 96);
	br_sha256_update(&c, sig->data, sig->len);
	br_sha256_update(&c, header->data, header->len);
	unsigned char *b = malloc(CHUNK);
	int r = b && write_all(fd, lead, 96) == 0 && write_all(fd, sig->data, sig->len) == 0 &&
		write_all(fd, header->data, header->len) == 0 && lseek(pfd, 0, SEEK_SET) == 0 ? 0 : -1;
	ssize_t n = 0;
	while (r == 0 && (n = read(pfd, b, CHUNK)) > 0) {
		br_sha256_update(&c, b, (size_t)n);
		r = write_all(fd, b, (size_t)n);
	}
	free(b);
	if (r != 0 || n < 0 || fchmod(fd, 0644) == -1 || fsync(fd) == -1) {
		str_fmt_clip(err, errsize, "writing %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return EX_IOERR;
	}
	char ours[65], theirs[65];
	br_sha256_out(&c, h);
	hex(h, 32, ours);
	if (sha256_file_hex(path, theirs, NULL) == 0 && strcmp(ours, theirs) == 0) {
		log_info(lg, "%s is up to date (same bytes): left as it was", path);
		close(fd);
		unlink(tmp);
		return 0;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		str_fmt_clip(err, errsize, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		return EX_CANTCREAT;
	}
	return 0;
}

static int
open_payload(struct payload *pl, const char *outdir, char *err, size_t errsize)
{
	char tmp[4200];
	if (str_fmt(tmp, sizeof(tmp), "%s/.create-rpm-payload.XXXXXX", outdir) == -1)
		return EX_CANTCREAT;
	pl->fd = mkstemp(tmp);
	if (pl->fd == -1) {
		str_fmt_clip(err, errsize, "-o %s: %s", outdir, strerror(errno));
		return EX_CANTCREAT;
	}
	unlink(tmp); /* gone from the directory whatever happens next */
	return 0;
}

int
package_build(struct spec *s, struct tree *t, const struct build_opts *o, struct log *lg,
    struct buf *path_out, char *err, size_t errsize)
{
	if (buf_printf(path_out, "%s/%s-%s-%s.%s.rpm", o->outdir, s->name, s->version, s->release,
		s->arch) == -1)
		return EX_SOFTWARE;
	if (o->dry_run)
		return 0;
	struct payload pl = { .fd = -1, .err = err, .errsize = errsize };
	int r = open_payload(&pl, o->outdir, err, errsize);
	if (r == 0 && gzpipe_start(&pl.gz, pl.fd, o->level) == -1) {
		gzpipe_finish(&pl.gz, false);
		str_fmt_clip(err, errsize, "cannot start compressing: out of memory");
		r = EX_SOFTWARE;
	}
	if (r == 0)
		r = write_payload(&pl, t, lg);
	if (r == 0 && pl.usize > 0xffffffffu) {
		str_fmt_clip(err, errsize, "the payload is over 4 GiB, which needs 64-bit size tags "
					   "(not supported: they break rpm 4.11)");
		r = EX_DATAERR;
	}
	unsigned char psha[32];
	char psha_hex[65];
	br_sha256_out(&pl.gz.sha, psha);
	hex(psha, 32, psha_hex);
	time_t now = time(NULL);
	uint32_t when = (uint32_t)(o->sde >= 0 ? o->sde : now);
	char host[256] = "localhost";
	if (s->buildhost)
		str_copy(host, sizeof(host), s->buildhost);
	else if (o->sde < 0 && gethostname(host, sizeof(host) - 1) == -1)
		str_copy(host, sizeof(host), "localhost");
	struct hdr h;
	struct buf header, sig;
	struct digests d;
	hdr_init(&h);
	buf_init(&header, HDR_MAX);
	buf_init(&sig, 1u << 20);
	memset(&d, 0, sizeof(d));
	buf_init(&d.rsa, 4096);
	buf_init(&d.pgp, 4096);
	if (r == 0 && (header_build(s, t, psha_hex, when, host, o->level, &h) == -1 ||
			  hdr_write(&h, 63, &header) == -1)) {
		str_fmt_clip(err, errsize, "building the header: %s", strerror(errno));
		r = EX_SOFTWARE;
	}
	/* A signature is never older than the key, or rpm refuses it. */
	uint32_t sigtime = o->key && when < o->key->created ? o->key->created : when;
	if (r == 0)
		r = sign_pass(pl.fd, &header, o, sigtime, &d, err, errsize);
	if (r == 0 && sig_header(&header, pl.gz.csize, pl.usize, &d, &sig) == -1)
		r = EX_SOFTWARE;
	if (r == 0)
		r = assemble(s, &sig, &header, pl.fd, buf_str(path_out), lg, err, errsize);
	if (r == 0)
		log_debug(lg, "%s: %zu files, payload %llu bytes, %llu compressed%s", buf_str(path_out),
		    t->n, (unsigned long long)pl.usize, (unsigned long long)pl.gz.csize,
		    o->key ? ", signed" : "");
	if (pl.fd >= 0)
		close(pl.fd);
	hdr_free(&h);
	buf_free(&header);
	buf_free(&sig);
	buf_free(&d.rsa);
	buf_free(&d.pgp);
	return r;
}
