/*
 * exits.h: the exit codes every command uses, mirroring sysexits.h.
 *
 * Commands include this header, never <sysexits.h>, so the set is one list
 * that the README and the man pages repeat.  Values are sysexits.h's own.
 */
#ifndef SB_EXITS_H
#define SB_EXITS_H

enum {
	EX_OK = 0,           /* done, including "nothing to change" */
	EX_FAIL = 1,         /* generic failure (not used by our commands) */
	EX_USAGE = 64,       /* bad command line */
	EX_DATAERR = 65,     /* bad input data (unknown name, bad file) */
	EX_NOINPUT = 66,     /* input file missing or unreadable */
	EX_UNAVAILABLE = 69, /* service unavailable after retries */
	EX_SOFTWARE = 70,    /* internal error */
	EX_CANTCREAT = 73,   /* cannot create an output file */
	EX_IOERR = 74,       /* I/O error */
	EX_TEMPFAIL = 75,    /* temporary failure: timeout, try again */
	EX_NOPERM = 77,      /* permission or authentication refused */
	EX_CONFIG = 78       /* configuration error */
};

/* exit_name returns the sysexits.h name of code ("EX_CONFIG"), or "?". */
const char *exit_name(int code);

#endif
