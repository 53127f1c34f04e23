/* log.c: one-line messages on stderr, redaction, progress lines. */
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "exits.h"

static const char redacted[] = "[REDACTED]";

void
log_init(struct log *lg, const char *prog, FILE *out)
{
	memset(lg, 0, sizeof(*lg));
	lg->prog = prog;
	lg->out = out;
	lg->tty = isatty(fileno(out)) == 1;
}

int
log_add_secret(struct log *lg, const char *secret)
{
	if (secret == NULL || *secret == '\0')
		return 0;
	size_t n = strlen(secret);
	for (int i = 0; i < lg->nsecrets; i++)
		if (lg->secret_len[i] == n && memcmp(lg->secret_store + lg->secret_off[i], secret, n) == 0)
			return 0;
	if (lg->nsecrets == LOG_MAX_SECRETS || n > sizeof(lg->secret_store) - lg->secret_used)
		return -1;
	memcpy(lg->secret_store + lg->secret_used, secret, n);
	lg->secret_off[lg->nsecrets] = lg->secret_used;
	lg->secret_len[lg->nsecrets] = n;
	lg->secret_used += n;
	lg->nsecrets++;
	return 0;
}

void
log_forget_secrets(struct log *lg)
{
	secure_wipe(lg->secret_store, sizeof(lg->secret_store));
	lg->secret_used = 0;
	lg->nsecrets = 0;
}

bool
log_enabled(const struct log *lg, enum log_level level)
{
	switch (level) {
	case LOG_ERROR:
	case LOG_WARN:
		return true;
	case LOG_INFO:
		return lg->verbosity >= 0;
	case LOG_DEBUG:
		return lg->verbosity >= 1;
	case LOG_TRACE:
		return lg->verbosity >= 2;
	}
	return false;
}

/* longest registered secret that starts at p, or 0. */
static size_t
secret_at(const struct log *lg, const char *p)
{
	size_t best = 0;
	for (int i = 0; i < lg->nsecrets; i++) {
		size_t n = lg->secret_len[i];
		if (n > best && strncmp(p, lg->secret_store + lg->secret_off[i], n) == 0)
			best = n;
	}
	return best;
}

void
log_redact(const struct log *lg, const char *line, char *dst, size_t dstsize)
{
	static const char ellipsis[] = "...";
	size_t o = 0;
	/* Keep room for the ellipsis and the NUL. */
	size_t limit = dstsize > sizeof(ellipsis) ? dstsize - sizeof(ellipsis) : 0;

	for (const char *p = line; *p;) {
		char piece[16];
		size_t n;
		size_t skip = secret_at(lg, p);
		if (skip > 0) {
			n = sizeof(redacted) - 1;
			memcpy(piece, redacted, n);
			p += skip;
		} else {
			unsigned char c = (unsigned char)*p++;
			if (c == '\n')
				n = (size_t)snprintf(piece, sizeof(piece), "\\n");
			else if (c == '\r')
				n = (size_t)snprintf(piece, sizeof(piece), "\\r");
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
			else {
				piece[0] = (char)c;
				n = 1;
			}
		}
		if (o + n > limit) {
			memcpy(dst + o, ellipsis, sizeof(ellipsis));
			return;
		}
		memcpy(dst + o, piece, n);
		o += n;
	}
	if (dstsize > 0)
		dst[o] = '\0';
}

/*
 * format_raw formats a message before redaction.  If it is cut, a secret
 * may straddle the cut, and its first bytes would no longer match the
 * registry; so a cut message also loses its last (longest secret - 1)
 * bytes, the only place such a fragment can be.
 */
static void
format_raw(const struct log *lg, char *raw, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(raw, size, fmt, ap);
	if (n < 0) {
		raw[0] = '\0';
		return;
	}
	if ((size_t)n < size)
		return;
	size_t len = size - 1, longest = 0;
	for (int i = 0; i < lg->nsecrets; i++)
		if (lg->secret_len[i] > longest)
			longest = lg->secret_len[i];
	len = longest > len ? 0 : len - (longest ? longest - 1 : 0);
	secure_wipe(raw + len, size - len);
}

void
log_vmsg(struct log *lg, enum log_level level, const char *fmt, va_list ap)
{
	if (!log_enabled(lg, level))
		return;
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX];
	format_raw(lg, raw, sizeof(raw), fmt, ap);
	log_redact(lg, raw, line, sizeof(line));
	secure_wipe(raw, sizeof(raw));
	log_progress_end(lg);
	const char *tag = level == LOG_WARN ? "warning: " : "";
	fprintf(lg->out, "%s: %s%s\n", lg->prog, tag, line);
	fflush(lg->out);
}

void
log_msg(struct log *lg, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lg, level, fmt, ap);
	va_end(ap);
}

void
log_progress(struct log *lg, const char *fmt, ...)
{
	if (!log_enabled(lg, LOG_INFO))
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool due = lg->progress_last.tv_sec == 0 ||
	    now.tv_sec - lg->progress_last.tv_sec >= LOG_PROGRESS_INTERVAL;
	if (!lg->tty && !due)
		return;
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	format_raw(lg, raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_redact(lg, raw, line, sizeof(line));
	secure_wipe(raw, sizeof(raw));
	if (lg->tty) {
		/* Rewrite the line in place: CR, then erase to end of line. */
		fprintf(lg->out, "\r\033[K%s: %s", lg->prog, line);
		lg->progress_live = true;
	} else {
		fprintf(lg->out, "%s: %s\n", lg->prog, line);
	}
	fflush(lg->out);
	lg->progress_last = now;
}

void
log_progress_end(struct log *lg)
{
	if (lg->progress_live) {
		fputc('\n', lg->out);
		lg->progress_live = false;
	}
	lg->progress_last.tv_sec = 0;
}

void
log_die(struct log *lg, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lg, LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(code);
}

int
log_finish_stdout(struct log *lg, int code)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return code;
	if (errno == EPIPE)
		return code;
	log_error(lg, "cannot write standard output: %s", strerror(errno ? errno : EIO));
	return EX_IOERR;
}
