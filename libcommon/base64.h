/*
 * base64.h: RFC 4648 base64 (standard alphabet, padded).  None of the
 * project's libraries exports one (BearSSL and curl keep theirs private).
 */
#ifndef SB_BASE64_H
#define SB_BASE64_H

#include <stddef.h>

#include "buf.h"

/* base64_encode appends the encoding of p[0..n) to out; 0 or -1. */
int base64_encode(struct buf *out, const void *p, size_t n);
/*
 * base64_decode appends the decoding of s[0..n) to out.  Whitespace
 * (as in line-wrapped output) is skipped; anything else outside the
 * alphabet, or bad padding, is an error: -1.
 */
int base64_decode(struct buf *out, const char *s, size_t n);

#endif
