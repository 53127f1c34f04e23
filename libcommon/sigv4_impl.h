/*
 * sigv4_impl.h: what sigv4.c and sigv4_canon.c share; not for commands.
 * The canon functions append to b and return 0, or -1 with errno.
 */
#ifndef SB_SIGV4_IMPL_H
#define SB_SIGV4_IMPL_H

#include <stddef.h>

#include "buf.h"
#include "sigv4.h"

/* The canonical URI: normalized if asked, encoded unless SIGV4_PATH_AS_IS. */
int sigv4_canon_path(struct buf *b, const char *path, unsigned flags);
/* The canonical query: raw's parameters and extra's (not yet encoded)
 * merged, each decoded and re-encoded, sorted by name then value. */
int sigv4_canon_query(
    struct buf *b, const char *raw, const struct sigv4_header *extra, size_t nextra);
/* The canonical headers ("name:value\n" each, sorted, repeats joined)
 * into b and the signed-headers list ("a;b;c") into names. */
int sigv4_canon_headers(struct buf *b, struct buf *names, const struct sigv4_header *h, size_t n);
/* sigv4_uri_encode of n bytes, which may include NUL. */
int sigv4_uri_encode_n(struct buf *b, const char *s, size_t n, int encode_slash);

#endif
