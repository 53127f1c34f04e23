/* exits.c: names of the exit codes, for logs and tests. */
#include "exits.h"

const char *
exit_name(int code)
{
	switch (code) {
	case EX_OK: return "EX_OK";
	case EX_FAIL: return "EX_FAIL";
	case EX_USAGE: return "EX_USAGE";
	case EX_DATAERR: return "EX_DATAERR";
	case EX_NOINPUT: return "EX_NOINPUT";
	case EX_UNAVAILABLE: return "EX_UNAVAILABLE";
	case EX_SOFTWARE: return "EX_SOFTWARE";
	case EX_CANTCREAT: return "EX_CANTCREAT";
	case EX_IOERR: return "EX_IOERR";
	case EX_TEMPFAIL: return "EX_TEMPFAIL";
	case EX_NOPERM: return "EX_NOPERM";
	case EX_CONFIG: return "EX_CONFIG";
	}
	return "?";
}
