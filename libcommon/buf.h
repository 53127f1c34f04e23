/*
 * buf.h: growable byte buffers with a maximum size, and bounded string
 * helpers.  Truncation is always reported, never silent.
 *
 * A struct buf is owned by its caller (usually on the stack):
 *
 *	struct buf b;
 *	buf_init(&b, 1 << 20);           // grows on demand, never past 1 MiB
 *	if (buf_append(&b, p, n) == -1)  // errno ENOMEM, or EMSGSIZE past max
 *		...
 *	buf_free(&b);                    // or buf_wipe() if it held a secret
 *
 * The data is always NUL-terminated (the NUL is not counted in len), so a
 * buffer of text can be used as a C string.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* largest len allowed */
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* buf_str returns the contents as a C string ("" when empty). */
const char *buf_str(const struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* buf_wipe zeroes the whole allocation before freeing it. */
void buf_wipe(struct buf *b);

/*
 * str_copy copies src into dst of size dstsize, always NUL-terminated.
 * Returns 0, or -1 with errno EMSGSIZE if src did not fit (dst then holds
 * a truncated copy the caller must not use).
 */
int str_copy(char *dst, size_t dstsize, const char *src);
/* str_fmt is snprintf that returns -1 (errno EMSGSIZE) on truncation. */
int str_fmt(char *dst, size_t dstsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * str_fmt_clip is for diagnostics, where a cut message beats none: it
 * formats like snprintf and, if the text did not fit, ends it with "..."
 * so a reader can see it was cut.
 */
void str_fmt_clip(char *dst, size_t dstsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* str_trim strips leading and trailing ASCII whitespace in place. */
char *str_trim(char *s);
/* str_to_long parses a whole decimal string into [min,max]; 0 or -1. */
int str_to_long(const char *s, long min, long max, long *out);
/* secure_wipe zeroes memory in a way the compiler may not elide. */
void secure_wipe(void *p, size_t n);

#endif
