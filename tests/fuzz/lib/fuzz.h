/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share (fuzz.c,
 * fake_http.c).  Not part of any command.
 *
 * A target that reaches the network does so through fake_http.c, which
 * replaces libcommon/http.c and http_xfer.c: http_do answers from the
 * fuzz input instead of a server.  The input is cut into answers at each
 * "\n===\n"; one answer is
 *
 *	NNN\n                   optional: a 3-digit status (else 200)
 *	Name: value\n ...       with a status only: headers up to a blank line
 *	body...
 *
 * Each http_do call takes the next answer; when none is left it fails as
 * an unreachable server does (EX_UNAVAILABLE, status 0).  429 and 5xx
 * come back as http.c returns them once its retries are spent.
 */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define FUZZ_SEPARATOR "\n===\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fake_http_load: the answers the next http_do calls give (data is copied). */
void fake_http_load(const uint8_t *data, size_t size);
/* fake_http_calls: http_do calls since the last load. */
size_t fake_http_calls(void);

/* fuzz_log: a log that formats everything (-vv) into /dev/null. */
struct log *fuzz_log(void);
/*
 * fuzz_file writes data to a file named name in a private temp directory
 * (made once, removed at exit) and returns its path (static storage).
 */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);
/* fuzz_dir: that directory. */
const char *fuzz_dir(void);

/*
 * For targets whose code ends the program on bad input (log_die, a
 * command's exit): link with -Wl,--wrap=exit and run the code under
 * FUZZ_TRY; exit() then returns here instead (the code it skipped leaks,
 * so such targets run with -detect_leaks=0).
 */
extern jmp_buf fuzz_exit_jmp;
extern int fuzz_exit_armed;
#define FUZZ_TRY() (fuzz_exit_armed = 1, setjmp(fuzz_exit_jmp))
#define FUZZ_END() (fuzz_exit_armed = 0)

#endif
