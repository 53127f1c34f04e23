/* cli_exit.c: --help, --version and a usage error, as every command answers them. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "exits.h"
#include "log.h"

void
cli_exit_if_help(struct log *lg, const struct cli_common *c, const char *usage,
    const char *const libs[])
{
	if (c->help) {
		fputs(usage, stdout);
		exit(log_finish_stdout(lg, EX_OK));
	}
	if (c->version) {
		cli_print_version(stdout, lg->prog, libs);
		exit(log_finish_stdout(lg, EX_OK));
	}
}

void
cli_exit_usage(struct log *lg, const char *usage, const char *msg)
{
	if (msg != NULL)
		log_error(lg, "%s", msg);
	fputs(usage, stderr);
	exit(EX_USAGE);
}
