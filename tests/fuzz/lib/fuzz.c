/*
 * fuzz.c: helpers for the libFuzzer targets (see fuzz.h): a silent log,
 * inputs as files for parsers that take a path, and exit() caught for
 * code that dies on bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"

jmp_buf fuzz_exit_jmp;
int fuzz_exit_armed;

void __wrap_exit(int code) __attribute__((noreturn));
void __real_exit(int code) __attribute__((noreturn));

void
__wrap_exit(int code)
{
	if (fuzz_exit_armed) {
		fuzz_exit_armed = 0;
		longjmp(fuzz_exit_jmp, code == 0 ? 256 : code);
	}
	__real_exit(code);
}

static char dir[64];
static char made[16][128]; /* the files fuzz_file wrote, to remove at exit */
static size_t nmade;

static void
remove_dir(void)
{
	for (size_t i = 0; i < nmade; i++)
		(void)unlink(made[i]);
	(void)rmdir(dir);
}

const char *
fuzz_dir(void)
{
	if (dir[0] == '\0') {
		/* tmpfs if there is one: inputs are written thousands of times a second. */
		bool shm = access("/dev/shm", W_OK) == 0;
		str_copy(dir, sizeof(dir), shm ? "/dev/shm/sb-fuzz.XXXXXX" : "/tmp/sb-fuzz.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(remove_dir);
	}
	return dir;
}

const char *
fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[128];
	if (str_fmt(path, sizeof(path), "%s/%s", fuzz_dir(), name) == -1)
		abort();
	size_t i = 0;
	while (i < nmade && strcmp(made[i], path) != 0)
		i++;
	if (i == nmade && nmade < sizeof(made) / sizeof(made[0]))
		str_copy(made[nmade++], sizeof(made[0]), path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		perror(path);
		abort();
	}
	while (size > 0) {
		ssize_t w = write(fd, data, size);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror(path);
			abort();
		}
		data += w;
		size -= (size_t)w;
	}
	close(fd);
	return path;
}

struct log *
fuzz_log(void)
{
	static struct log lg;
	static FILE *null;
	if (null == NULL) {
		null = fopen("/dev/null", "w");
		if (null == NULL)
			abort();
		log_init(&lg, "fuzz", null);
		lg.verbosity = 2;
	}
	log_forget_secrets(&lg);
	return &lg;
}
