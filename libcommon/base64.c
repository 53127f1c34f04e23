/* base64.c: RFC 4648 section 4, strict on decode. */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char q[4] = { alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
			i + 1 < n ? alphabet[v >> 6 & 63] : '=', i + 2 < n ? alphabet[v & 63] : '=' };
		if (buf_append(out, q, 4) == -1)
			return -1;
	}
	if (n == 0 && buf_append(out, "", 0) == -1)
		return -1;
	return 0;
}

static int
value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(struct buf *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	int have = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = value_of(c);
		if (v < 0 || pad > 0) /* data after padding is not base64 */
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (++have == 4) {
			unsigned char b[3] = { acc >> 16 & 255, acc >> 8 & 255, acc & 255 };
			if (buf_append(out, b, 3) == -1)
				return -1;
			acc = 0;
			have = 0;
		}
	}
	/* What is left must match the padding exactly. */
	if (have == 0 && pad == 0)
		return buf_append(out, "", 0);
	if (have == 2 && pad == 2) {
		unsigned char b = acc >> 4 & 255;
		return buf_append(out, &b, 1);
	}
	if (have == 3 && pad == 1) {
		unsigned char b[2] = { acc >> 10 & 255, acc >> 2 & 255 };
		return buf_append(out, b, 2);
	}
	return -1;
}
