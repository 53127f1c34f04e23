/*
 * shquote.h: shell quoting for KEY=value output that is safe under eval.
 *
 * Values made only of characters no POSIX shell treats specially are
 * written bare; anything else is single-quoted, with each ' written as
 * '\''.  Inside single quotes nothing ($, `, \, newlines) is expanded.
 */
#ifndef SB_SHQUOTE_H
#define SB_SHQUOTE_H

#include <stdbool.h>

#include "buf.h"

/* sh_quote appends value, quoted if needed, to b.  0, or -1 (see buf). */
int sh_quote(struct buf *b, const char *value);
/* sh_assign appends "KEY=value\n"; key must pass sh_is_name(). */
int sh_assign(struct buf *b, const char *key, const char *value);
/* sh_is_name: a valid shell variable name ([A-Za-z_][A-Za-z0-9_]*). */
bool sh_is_name(const char *s);

#endif
