/*
 * header.c: RPM header blobs (rpm's lib/header.c, written down).
 *
 * A header is 8 bytes of magic (8e ad e8 01 00000000), the entry count
 * and the data length (32-bit big-endian), the index (16 bytes per
 * entry: tag, type, offset, count) and the data store.  Ours always
 * opens with a region entry (62 for the signature header, 63 for the
 * main one) whose data is a 16-byte trailer at the very end of the
 * store: an index entry with the same tag and the negated size of the
 * whole index.  rpm >= 4.14 checks that the region spans the whole
 * header, that entries are sorted by tag, that data is aligned for its
 * type and that no entry's data overlaps the next one, so entries are
 * laid out in tag order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "create-rpm.h"

#define HDR_POOL_MAX (256u << 20)  /* rpm's own limit on a header's data */
#define HDR_MAX_ENTRIES 65536

static const unsigned char hdr_magic[8] = { 0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0 };

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
hdr_init(struct hdr *h)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->pool, HDR_POOL_MAX);
}

void
hdr_free(struct hdr *h)
{
	free(h->e);
	buf_free(&h->pool);
	memset(h, 0, sizeof(*h));
}

/* add: a new entry whose n bytes of data (already big-endian) are p. */
static void
add(struct hdr *h, uint32_t tag, uint32_t type, uint32_t count, const void *p, size_t n)
{
	if (h->failed)
		return;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hdr_entry *e = cap <= HDR_MAX_ENTRIES ? realloc(h->e, cap * sizeof(*e)) : NULL;
		if (e == NULL) {
			h->failed = true;
			return;
		}
		h->e = e;
		h->cap = cap;
	}
	struct hdr_entry *e = &h->e[h->n];
	e->tag = tag;
	e->type = type;
	e->count = count;
	e->off = h->pool.len;
	e->len = n;
	if (buf_append(&h->pool, p, n) == -1) {
		h->failed = true;
		return;
	}
	h->n++;
}

void
hdr_add_string(struct hdr *h, uint32_t tag, const char *s)
{
	add(h, tag, RPM_STRING_TYPE, 1, s, strlen(s) + 1);
}

void
hdr_add_i18n(struct hdr *h, uint32_t tag, const char *s)
{
	add(h, tag, RPM_I18NSTRING_TYPE, 1, s, strlen(s) + 1);
}

void
hdr_add_strings(struct hdr *h, uint32_t tag, const char *const *v, size_t n)
{
	struct buf b;
	buf_init(&b, HDR_POOL_MAX);
	for (size_t i = 0; i < n; i++)
		if (buf_append(&b, v[i], strlen(v[i]) + 1) == -1)
			h->failed = true;
	add(h, tag, RPM_STRING_ARRAY_TYPE, n, b.data ? b.data : "", b.len);
	buf_free(&b);
}

void
hdr_add_u32(struct hdr *h, uint32_t tag, const uint32_t *v, size_t n)
{
	unsigned char *p = malloc(n * 4 + 1);
	if (p == NULL) {
		h->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		put32(p + 4 * i, v[i]);
	add(h, tag, RPM_INT32_TYPE, n, p, n * 4);
	free(p);
}

void
hdr_add_u16(struct hdr *h, uint32_t tag, const uint16_t *v, size_t n)
{
	unsigned char *p = malloc(n * 2 + 1);
	if (p == NULL) {
		h->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		p[2 * i] = v[i] >> 8;
		p[2 * i + 1] = v[i];
	}
	add(h, tag, RPM_INT16_TYPE, n, p, n * 2);
	free(p);
}

void
hdr_add_bin(struct hdr *h, uint32_t tag, const void *p, size_t n)
{
	add(h, tag, RPM_BIN_TYPE, n, p, n);
}

static size_t
type_align(uint32_t type)
{
	switch (type) {
	case RPM_INT16_TYPE: return 2;
	case RPM_INT32_TYPE: return 4;
	case RPM_INT64_TYPE: return 8;
	}
	return 1;
}

static int
by_tag(const void *a, const void *b)
{
	const struct hdr_entry *x = a, *y = b;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

int
hdr_write(struct hdr *h, uint32_t region, struct buf *out)
{
	if (h->failed) {
		errno = ENOMEM;
		return -1;
	}
	qsort(h->e, h->n, sizeof(*h->e), by_tag);
	uint32_t il = h->n + 1;
	/* Lay out the data in tag order, each item aligned for its type. */
	size_t *offs = malloc((h->n + 1) * sizeof(*offs));
	if (offs == NULL)
		return -1;
	size_t dl = 0;
	for (size_t i = 0; i < h->n; i++) {
		size_t a = type_align(h->e[i].type);
		dl = (dl + a - 1) / a * a;
		offs[i] = dl;
		dl += h->e[i].len;
	}
	size_t trailer = dl;
	dl += 16;
	unsigned char head[16], ent[16];
	memcpy(head, hdr_magic, 8);
	put32(head + 8, il);
	put32(head + 12, (uint32_t)dl);
	int r = buf_append(out, head, 16);
	put32(ent, region);
	put32(ent + 4, RPM_BIN_TYPE);
	put32(ent + 8, (uint32_t)trailer);
	put32(ent + 12, 16);
	r |= buf_append(out, ent, 16);
	for (size_t i = 0; i < h->n && r == 0; i++) {
		put32(ent, h->e[i].tag);
		put32(ent + 4, h->e[i].type);
		put32(ent + 8, (uint32_t)offs[i]);
		put32(ent + 12, h->e[i].count);
		r |= buf_append(out, ent, 16);
	}
	size_t pos = 0;
	static const unsigned char zeros[8];
	for (size_t i = 0; i < h->n && r == 0; i++) {
		if (offs[i] > pos)
			r |= buf_append(out, zeros, offs[i] - pos);
		r |= buf_append(out, h->pool.data + h->e[i].off, h->e[i].len);
		pos = offs[i] + h->e[i].len;
	}
	free(offs);
	/* The trailer: the region tag again, with minus the index size. */
	put32(ent, region);
	put32(ent + 4, RPM_BIN_TYPE);
	put32(ent + 8, (uint32_t)-(int32_t)(il * 16));
	put32(ent + 12, 16);
	r |= buf_append(out, ent, 16);
	return r ? -1 : 0;
}

/* data_len: bytes of an entry's data starting at p (end: end of store). */
static long
data_len(uint32_t type, uint32_t count, const unsigned char *p, const unsigned char *end)
{
	switch (type) {
	case RPM_CHAR_TYPE:
	case RPM_INT8_TYPE:
	case RPM_BIN_TYPE: return count;
	case RPM_INT16_TYPE: return 2L * count;
	case RPM_INT32_TYPE: return 4L * count;
	case RPM_INT64_TYPE: return 8L * count;
	case RPM_STRING_TYPE:
	case RPM_STRING_ARRAY_TYPE:
	case RPM_I18NSTRING_TYPE: {
		const unsigned char *q = p;
		for (uint32_t i = 0; i < count; i++) {
			const unsigned char *z = memchr(q, 0, end - q);
			if (z == NULL)
				return -1;
			q = z + 1;
		}
		return q - p;
	}
	}
	return -1;
}

int
hdr_parse(struct hdr *h, const unsigned char *p, size_t n)
{
	if (n < 16 || memcmp(p, hdr_magic, 8) != 0) {
		errno = EINVAL;
		return -1;
	}
	uint32_t il = get32(p + 8), dl = get32(p + 12);
	if (il > HDR_MAX_ENTRIES || dl > HDR_POOL_MAX || 16 + (size_t)il * 16 + dl > n) {
		errno = EINVAL;
		return -1;
	}
	const unsigned char *idx = p + 16, *ds = idx + (size_t)il * 16;
	for (uint32_t i = 0; i < il; i++) {
		const unsigned char *x = idx + 16 * (size_t)i;
		uint32_t tag = get32(x), type = get32(x + 4), off = get32(x + 8), cnt = get32(x + 12);
		if (tag == 62 || tag == 63)
			continue; /* the region: nothing to read */
		long len = off < dl ? data_len(type, cnt, ds + off, ds + dl) : -1;
		if (len < 0 || off + (size_t)len > dl) {
			errno = EINVAL;
			return -1;
		}
		add(h, tag, type, cnt, ds + off, (size_t)len);
	}
	return h->failed ? -1 : 0;
}

const struct hdr_entry *
hdr_get(const struct hdr *h, uint32_t tag)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->e[i].tag == tag)
			return &h->e[i];
	return NULL;
}

uint32_t
hdr_count(const struct hdr *h, uint32_t tag)
{
	const struct hdr_entry *e = hdr_get(h, tag);
	return e ? e->count : 0;
}

const char *
hdr_str_at(const struct hdr *h, uint32_t tag, size_t i)
{
	const struct hdr_entry *e = hdr_get(h, tag);
	if (e == NULL || i >= e->count || (e->type != RPM_STRING_TYPE &&
	    e->type != RPM_STRING_ARRAY_TYPE && e->type != RPM_I18NSTRING_TYPE))
		return NULL;
	const char *s = h->pool.data + e->off;
	while (i-- > 0)
		s += strlen(s) + 1;
	return s;
}

const char *
hdr_str(const struct hdr *h, uint32_t tag)
{
	return hdr_str_at(h, tag, 0);
}

uint32_t
hdr_u32_at(const struct hdr *h, uint32_t tag, size_t i, uint32_t dflt)
{
	const struct hdr_entry *e = hdr_get(h, tag);
	if (e == NULL || i >= e->count)
		return dflt;
	const unsigned char *p = (const unsigned char *)h->pool.data + e->off;
	if (e->type == RPM_INT32_TYPE)
		return get32(p + 4 * i);
	if (e->type == RPM_INT16_TYPE)
		return (uint32_t)p[2 * i] << 8 | p[2 * i + 1];
	return dflt;
}
