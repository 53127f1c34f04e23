/*
 * pgp.c: just enough OpenPGP (RFC 4880) to sign packages and a repo
 * with an RSA key held as PEM, with BearSSL, instead of gpg.
 *
 * The OpenPGP identity of the key is its v4 public key packet: version
 * 4, a creation time, algorithm 1 (RSA), the modulus and exponent as
 * MPIs.  The fingerprint is SHA-1 over 0x99, the packet length and the
 * packet body; the key id is its last 8 bytes.  The creation time is not
 * in a PEM key, so the caller fixes it (--sign-key-created): the same
 * PEM key and time always give the same key id.
 *
 * Signatures are v4, SHA-256, PKCS#1 v1.5, with the creation time and
 * issuer fingerprint hashed, and the issuer key id unhashed (rpm 4.11
 * looks for it there).  Packets use the old-format header, which every
 * rpm and gpg reads.  No private key byte is ever printed or logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "create-rpm.h"
#include "exits.h"

#define KEYFILE_MAX (64u << 10)

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
pgp_key_wipe(struct pgp_key *k)
{
	secure_wipe(k, sizeof(*k));
}

static int
put_mpi(struct buf *b, const unsigned char *p, size_t n)
{
	while (n > 0 && *p == 0)
		p++, n--;
	unsigned bits = n ? (unsigned)(n - 1) * 8 : 0;
	for (unsigned char c = n ? p[0] : 0; c; c >>= 1)
		bits++;
	unsigned char h[2] = { (unsigned char)(bits >> 8), (unsigned char)bits };
	return buf_append(b, h, 2) || buf_append(b, p, n) ? -1 : 0;
}

/* packet appends an old-format packet with tag and body. */
static int
packet(struct buf *out, int tag, const void *body, size_t n)
{
	unsigned char h[5];
	size_t hl;
	if (n < 256) {
		h[0] = 0x80 | tag << 2, h[1] = (unsigned char)n, hl = 2;
	} else if (n < 65536) {
		h[0] = 0x80 | tag << 2 | 1, h[1] = n >> 8, h[2] = (unsigned char)n, hl = 3;
	} else {
		h[0] = 0x80 | tag << 2 | 2, put32(h + 1, (uint32_t)n), hl = 5;
	}
	return buf_append(out, h, hl) || buf_append(out, body, n) ? -1 : 0;
}

/* pubkey_body: the v4 public key packet body of k. */
static int
pubkey_body(const struct pgp_key *k, struct buf *b)
{
	unsigned char h[6] = { 4, 0, 0, 0, 0, 1 };
	put32(h + 1, k->created);
	return buf_append(b, h, 6) || put_mpi(b, k->n, k->nlen) || put_mpi(b, k->e, k->elen) ? -1 : 0;
}

static int
read_keyfile(const char *path, struct buf *b, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		str_fmt_clip(err, errsize, "signing key %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	char chunk[4096];
	size_t n;
	int r = 0;
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = buf_append(b, chunk, n);
	secure_wipe(chunk, sizeof(chunk));
	int bad = ferror(f);
	fclose(f);
	if (bad || r) {
		str_fmt_clip(err, errsize, "signing key %s: %s", path,
		    r ? "larger than 64 KiB: not a PEM key" : "read error");
		return EX_DATAERR;
	}
	return 0;
}

static void
pem_sink(void *ctx, const void *p, size_t n)
{
	if (buf_append(ctx, p, n) == -1)
		((struct buf *)ctx)->max = 0; /* marks the overflow */
}

/* pem_to_der: the DER of the first private key object in text. */
static int
pem_to_der(const struct buf *text, struct buf *der, char *name, size_t namesize)
{
	br_pem_decoder_context pc;
	br_pem_decoder_init(&pc);
	const char *p = text->data;
	size_t left = text->len;
	bool inside = false;
	while (left > 0) {
		size_t used = br_pem_decoder_push(&pc, p, left);
		p += used, left -= used;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			str_copy(name, namesize, br_pem_decoder_name(&pc));
			inside = strstr(name, "PRIVATE KEY") != NULL;
			br_pem_decoder_setdest(&pc, inside ? pem_sink : NULL, der);
			break;
		case BR_PEM_END_OBJ:
			if (inside)
				return der->max ? 0 : -1;
			break;
		case BR_PEM_ERROR:
			return -1;
		}
	}
	return -1;
}

static int
key_from_der(struct pgp_key *k, const struct buf *der)
{
	br_skey_decoder_context dc;
	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der->data, der->len);
	const br_rsa_private_key *sk = br_skey_decoder_last_error(&dc) == 0 &&
		br_skey_decoder_key_type(&dc) == BR_KEYTYPE_RSA ? br_skey_decoder_get_rsa(&dc) : NULL;
	int r = -1;
	size_t need = sk ? sk->plen + sk->qlen + sk->dplen + sk->dqlen + sk->iqlen : 0;
	if (sk && sk->n_bitlen >= 1024 && sk->n_bitlen <= 4096 && need <= sizeof(k->skbuf)) {
		unsigned char *dst = k->skbuf;
		k->sk.n_bitlen = sk->n_bitlen;
#define COPY(f, l) (memcpy(dst, sk->f, sk->l), k->sk.f = dst, k->sk.l = sk->l, dst += sk->l)
		COPY(p, plen), COPY(q, qlen), COPY(dp, dplen), COPY(dq, dqlen), COPY(iq, iqlen);
#undef COPY
		r = 0;
	}
	secure_wipe(&dc, sizeof(dc));
	return r;
}

/* der_next reads one DER element at *p: its tag, contents and length. */
static int
der_next(const unsigned char **p, const unsigned char *end, int *tag,
    const unsigned char **c, size_t *len)
{
	if (end - *p < 2)
		return -1;
	*tag = (*p)[0];
	size_t l = (*p)[1], hl = 2;
	if (l & 0x80) {
		size_t nb = l & 0x7f;
		if (nb == 0 || nb > 3 || (size_t)(end - *p) < 2 + nb)
			return -1;
		l = 0;
		for (size_t i = 0; i < nb; i++)
			l = l << 8 | (*p)[2 + i];
		hl += nb;
	}
	if ((size_t)(end - *p) - hl < l)
		return -1;
	*c = *p + hl;
	*len = l;
	*p = *c + l;
	return 0;
}

/* set_int copies a positive DER INTEGER without its leading zeros. */
static int
set_int(unsigned char *dst, size_t dstsize, size_t *dlen, const unsigned char *c, size_t len)
{
	while (len > 0 && *c == 0)
		c++, len--;
	if (len == 0 || len > dstsize)
		return -1;
	memcpy(dst, c, len);
	*dlen = len;
	return 0;
}

/* rsa_public: n and e from a PKCS#1 RSAPrivateKey, or the PKCS#1 key
   inside a PKCS#8 PrivateKeyInfo. */
static int
rsa_public(struct pgp_key *k, const unsigned char *der, size_t n)
{
	const unsigned char *p = der, *end = der + n, *c;
	size_t len;
	int tag;
	if (der_next(&p, end, &tag, &c, &len) == -1 || tag != 0x30)
		return -1;
	p = c, end = c + len;
	if (der_next(&p, end, &tag, &c, &len) == -1 || tag != 0x02)  /* version */
		return -1;
	if (der_next(&p, end, &tag, &c, &len) == -1)
		return -1;
	if (tag == 0x30) { /* PKCS#8: AlgorithmIdentifier, then the key */
		if (der_next(&p, end, &tag, &c, &len) == -1 || tag != 0x04)
			return -1;
		return rsa_public(k, c, len);
	}
	if (tag != 0x02 || set_int(k->n, sizeof(k->n), &k->nlen, c, len) == -1)
		return -1;
	if (der_next(&p, end, &tag, &c, &len) == -1 || tag != 0x02)
		return -1;
	return set_int(k->e, sizeof(k->e), &k->elen, c, len);
}

static void
fingerprint(struct pgp_key *k)
{
	struct buf body;
	buf_init(&body, 4096);
	pubkey_body(k, &body);
	unsigned char h[3] = { 0x99, (unsigned char)(body.len >> 8), (unsigned char)body.len };
	br_sha1_context c;
	br_sha1_init(&c);
	br_sha1_update(&c, h, 3);
	br_sha1_update(&c, body.data, body.len);
	br_sha1_out(&c, k->fpr);
	memcpy(k->keyid, k->fpr + 12, 8);
	buf_free(&body);
}

int
pgp_key_load(struct pgp_key *k, const char *path, uint32_t created, char *err, size_t errsize)
{
	struct buf text, der;
	char name[128] = "";
	memset(k, 0, sizeof(*k));
	buf_init(&text, KEYFILE_MAX);
	buf_init(&der, KEYFILE_MAX);
	int r = read_keyfile(path, &text, err, errsize);
	if (r == 0 && (strstr(buf_str(&text), "ENCRYPTED") != NULL)) {
		str_fmt_clip(err, errsize, "signing key %s: encrypted PEM keys are not supported; "
					   "decrypt it (openssl pkey -in KEY -out PLAIN) into a file only "
					   "you can read", path);
		r = EX_DATAERR;
	}
	if (r == 0 && pem_to_der(&text, &der, name, sizeof(name)) == -1) {
		str_fmt_clip(err, errsize, "signing key %s: no PEM private key found (want \"RSA "
					   "PRIVATE KEY\" or \"PRIVATE KEY\")", path);
		r = EX_DATAERR;
	}
	if (r == 0 && key_from_der(k, &der) == -1) {
		str_fmt_clip(err, errsize, "signing key %s: %s is not an RSA key of 1024 to 4096 "
					   "bits that BearSSL can decode", path, name);
		r = EX_DATAERR;
	}
	buf_wipe(&text);
	if (r != 0) {
		buf_wipe(&der);
		pgp_key_wipe(k);
		return r;
	}
	/* BearSSL can only recompute e for p = 3 mod 4: read n and e from
	   the DER, and check n against the one the factors give. */
	unsigned char n[512];
	br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
	size_t nlen = modulus(NULL, &k->sk);
	if (nlen == 0 || nlen > sizeof(n) || modulus(n, &k->sk) != nlen ||
	    rsa_public(k, (const unsigned char *)der.data, der.len) == -1 ||
	    k->nlen != nlen || memcmp(k->n, n, nlen) != 0) {
		str_fmt_clip(err, errsize, "signing key %s: inconsistent RSA key", path);
		buf_wipe(&der);
		pgp_key_wipe(k);
		return EX_DATAERR;
	}
	buf_wipe(&der);
	k->created = created;
	fingerprint(k);
	return 0;
}

void
pgp_fpr_hex(const struct pgp_key *k, char out[41])
{
	for (int i = 0; i < 20; i++) {
		out[2 * i] = "0123456789ABCDEF"[k->fpr[i] >> 4];
		out[2 * i + 1] = "0123456789ABCDEF"[k->fpr[i] & 15];
	}
	out[40] = '\0';
}

void
pgp_sig_begin(br_sha256_context *ctx)
{
	br_sha256_init(ctx);
}

/* hashed_part: version, type, algorithms and the hashed subpackets. */
static int
hashed_part(const struct pgp_key *k, int sigtype, uint32_t when, bool self, struct buf *b)
{
	unsigned char h[6] = { 4, (unsigned char)sigtype, 1, 8, 0, 0 };
	unsigned char sp[64];
	size_t n = 0;
	sp[n++] = 5, sp[n++] = 2; /* signature creation time */
	put32(sp + n, when), n += 4;
	if (self) {
		sp[n++] = 2, sp[n++] = 27, sp[n++] = 0x03;        /* key flags: certify, sign */
		sp[n++] = 3, sp[n++] = 21, sp[n++] = 8, sp[n++] = 10; /* hashes: SHA-256, SHA-512 */
	}
	sp[n++] = 22, sp[n++] = 33, sp[n++] = 4; /* issuer fingerprint, v4 */
	memcpy(sp + n, k->fpr, 20), n += 20;
	h[4] = (unsigned char)(n >> 8), h[5] = (unsigned char)n;
	return buf_append(b, h, 6) || buf_append(b, sp, n) ? -1 : 0;
}

/* finish: hash the hashed part and trailer into ctx, sign, and append
   the signature packet to out. */
static int
finish(const struct pgp_key *k, br_sha256_context *ctx, int sigtype, uint32_t when, bool self,
    struct buf *out)
{
	struct buf body;
	buf_init(&body, 4096);
	int r = hashed_part(k, sigtype, when, self, &body);
	unsigned char trailer[6] = { 4, 0xff };
	put32(trailer + 2, (uint32_t)body.len);
	br_sha256_update(ctx, body.data, body.len);
	br_sha256_update(ctx, trailer, 6);
	unsigned char hash[32], sig[512];
	br_sha256_out(ctx, hash);
	size_t slen = (k->sk.n_bitlen + 7) / 8;
	if (r == 0 && br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash, 32, &k->sk, sig) != 1)
		r = -1;
	unsigned char unhashed[12] = { 0, 10, 9, 16 }; /* issuer key id */
	memcpy(unhashed + 4, k->keyid, 8);
	r = r || buf_append(&body, unhashed, 12) || buf_append(&body, hash, 2) ||
		put_mpi(&body, sig, slen) || packet(out, 2, body.data, body.len) ? -1 : 0;
	buf_free(&body);
	return r;
}

int
pgp_sig_finish(const struct pgp_key *k, br_sha256_context *ctx, uint32_t when, struct buf *out)
{
	return finish(k, ctx, 0x00, when, false, out);
}

int
pgp_export(const struct pgp_key *k, const char *uid, uint32_t when, struct buf *out)
{
	struct buf body;
	buf_init(&body, 4096);
	int r = pubkey_body(k, &body);
	r |= packet(out, 6, body.data, body.len);
	r |= packet(out, 13, uid, strlen(uid));
	/* The positive certification (0x13) of the user id by the key. */
	br_sha256_context c;
	br_sha256_init(&c);
	unsigned char h[5] = { 0x99, (unsigned char)(body.len >> 8), (unsigned char)body.len };
	br_sha256_update(&c, h, 3);
	br_sha256_update(&c, body.data, body.len);
	h[0] = 0xb4;
	put32(h + 1, (uint32_t)strlen(uid));
	br_sha256_update(&c, h, 5);
	br_sha256_update(&c, uid, strlen(uid));
	r |= finish(k, &c, 0x13, when, true, out);
	buf_free(&body);
	return r ? -1 : 0;
}

static uint32_t
crc24(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xb704ce;
	while (n--) {
		crc ^= (uint32_t)*p++ << 16;
		for (int i = 0; i < 8; i++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864cfb;
		}
	}
	return crc & 0xffffff;
}

int
pgp_armor(const char *what, const unsigned char *p, size_t n, struct buf *out)
{
	struct buf b64;
	buf_init(&b64, 4 * n / 3 + 16);
	int r = buf_printf(out, "-----BEGIN PGP %s-----\n\n", what);
	r |= base64_encode(&b64, p, n);
	for (size_t i = 0; r == 0 && i < b64.len; i += 64) {
		size_t l = b64.len - i < 64 ? b64.len - i : 64;
		r |= buf_append(out, b64.data + i, l) || buf_putc(out, '\n');
	}
	uint32_t crc = crc24(p, n);
	unsigned char c[3] = { (unsigned char)(crc >> 16), (unsigned char)(crc >> 8), (unsigned char)crc };
	buf_reset(&b64);
	r |= base64_encode(&b64, c, 3);
	r |= buf_printf(out, "=%s\n-----END PGP %s-----\n", buf_str(&b64), what);
	buf_free(&b64);
	return r ? -1 : 0;
}
