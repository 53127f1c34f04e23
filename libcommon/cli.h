/*
 * cli.h: what every command's option parsing shares.
 *
 * A command lists the common options it supports in its own getopt_long
 * table with the CLI_OPT_* entries below, and hands each option it does not
 * handle itself to cli_common_option().  The contract (DESIGN.md): --help
 * prints usage on stdout and exits 0; --version prints the version and the
 * linked libraries; a bad option prints usage on stderr and exits 64.
 */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

enum {
	CLI_DRY_RUN = 0x100, /* long-only option values start here */
	CLI_JSON,
	CLI_FIRST_PRIVATE = 0x200 /* a command's own long-only options */
};

#define CLI_OPT_HELP { "help", no_argument, NULL, 'h' }
#define CLI_OPT_VERSION { "version", no_argument, NULL, 'V' }
#define CLI_OPT_VERBOSE { "verbose", no_argument, NULL, 'v' }
#define CLI_OPT_QUIET { "quiet", no_argument, NULL, 'q' }
#define CLI_OPT_CONFIG { "config", required_argument, NULL, 'c' }
#define CLI_OPT_DRY_RUN { "dry-run", no_argument, NULL, CLI_DRY_RUN }
#define CLI_OPT_JSON { "json", no_argument, NULL, CLI_JSON }
#define CLI_OPT_END { NULL, 0, NULL, 0 }

struct cli_common {
	int verbosity;      /* -q: -1, -v: +1 each */
	bool dry_run;
	bool json;
	const char *config; /* --config FILE, or NULL */
	bool help;          /* --help seen */
	bool version;       /* --version seen */
};

void cli_common_init(struct cli_common *c);
/* cli_common_option: true if opt was one of the common options. */
bool cli_common_option(struct cli_common *c, int opt, const char *arg);

/*
 * cli_print_version writes "<prog> (socorro-bootstrap) <version>" and the
 * Debian source revision of each library named in libs (NULL-terminated),
 * as recorded by the build.
 */
int cli_print_version(FILE *out, const char *prog, const char *const libs[]);

/*
 * For cmd/ only (it prints and exits): when c asked for --help or
 * --version, print usage or the version of lg->prog with libs on stdout
 * and exit 0 (74 if stdout could not be written); else return.
 */
struct log;
/* cli_exit_usage: msg (if not NULL) as an error line, usage on stderr,
 * exit 64.  For cmd/ only. */
_Noreturn void cli_exit_usage(struct log *lg, const char *usage, const char *msg);
void cli_exit_if_help(struct log *lg, const struct cli_common *c, const char *usage,
    const char *const libs[]);

/*
 * cli_catch_stop_signals sends SIGINT, SIGTERM and SIGHUP to handler,
 * without SA_RESTART, so a blocked call returns EINTR and the command
 * can clean up before it dies of the signal.
 */
void cli_catch_stop_signals(void (*handler)(int));

#endif
