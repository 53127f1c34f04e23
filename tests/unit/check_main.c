/*
 * check_main.c: the main() every unit suite shares.  Each test_<module>.c
 * defines suite(); this runs it (forking each test, so one
 * crash fails one test) and prints one summary line the runner
 * (tests/run) adds up:  "# <name>: N passed, N failed".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *suite(void);

int
main(int argc, char **argv)
{
	(void)argc;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	Suite *s = suite();
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("# %s: %d passed, %d failed\n", name, run - failed, failed);
	return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
