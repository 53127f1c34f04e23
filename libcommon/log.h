/*
 * log.h: the one way commands report.  Lines go to stderr as
 * "command: message", one line each; control characters are escaped so a
 * value can never forge a second line.
 *
 * The caller owns a struct log (in main) and passes it down.  Every line
 * passes through the redaction registry: once log_add_secret() has seen a
 * secret, no line written through this log can contain it.  The registry
 * stores pointers, so a registered secret must stay alive (and unchanged)
 * until log_forget_secrets() or the end of the program.
 *
 * Progress: log_progress() keeps one live line on a TTY, and writes a
 * plain line at most every LOG_PROGRESS_INTERVAL seconds otherwise.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define LOG_MAX_SECRETS 64
#define LOG_SECRET_STORE 16384 /* bytes for all the copies together */
#define LOG_LINE_MAX 4096
#define LOG_PROGRESS_INTERVAL 5

enum log_level {
	LOG_ERROR, /* always shown */
	LOG_WARN,  /* always shown */
	LOG_INFO,  /* hidden by -q */
	LOG_DEBUG, /* shown with -v */
	LOG_TRACE  /* shown with -vv: request/response traces */
};

struct log {
	const char *prog;
	FILE *out;
	int verbosity; /* -1 quiet, 0 normal, 1 -v, 2 -vv */
	bool tty;
	bool progress_live;              /* a live line is on the screen */
	struct timespec progress_last;   /* when the last progress was shown */
	char secret_store[LOG_SECRET_STORE]; /* the copies, back to back */
	size_t secret_used;
	size_t secret_off[LOG_MAX_SECRETS];
	size_t secret_len[LOG_MAX_SECRETS];
	int nsecrets;
};

void log_init(struct log *lg, const char *prog, FILE *out);
/* log_add_secret: 0, or -1 if the registry is full.  "" is ignored, and
 * so is a secret already registered. */
int log_add_secret(struct log *lg, const char *secret);
void log_forget_secrets(struct log *lg);
bool log_enabled(const struct log *lg, enum log_level level);
void log_msg(struct log *lg, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(struct log *lg, enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
#define log_error(lg, ...) log_msg((lg), LOG_ERROR, __VA_ARGS__)
#define log_warn(lg, ...) log_msg((lg), LOG_WARN, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_msg((lg), LOG_DEBUG, __VA_ARGS__)
#define log_trace(lg, ...) log_msg((lg), LOG_TRACE, __VA_ARGS__)

void log_progress(struct log *lg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* log_progress_end ends a live progress line, if one is showing. */
void log_progress_end(struct log *lg);

/*
 * log_redact rewrites the NUL-terminated line in dst (size dstsize) with
 * every registered secret replaced by "[REDACTED]" and control characters
 * escaped.  Used by log_msg; exposed for tests and for trace sinks.
 */
void log_redact(const struct log *lg, const char *line, char *dst, size_t dstsize);

/* log_die: log an error line and exit with code.  For cmd/ only. */
_Noreturn void log_die(struct log *lg, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * log_finish_stdout flushes stdout and checks it for errors; returns code
 * unchanged, or EX_IOERR (after one error line) if stdout failed for any
 * reason but EPIPE, on which a pipeline reader simply went away.
 */
int log_finish_stdout(struct log *lg, int code);

#endif
