/* SPDX-License-Identifier: GPL-2.0 */
/* check.h - the unit tests' one assertion: CHECK(cond, fmt, ...) prints "ok - ..." or
 * "not ok - ...", counts it, and check_done() prints "N passed, N failed[, N skipped]"
 * and gives the exit status (0 only when nothing failed). SKIP(fmt, ...) says what could
 * not be checked here (never counted as passed). Header-only: each test is one program.
 */
#ifndef AL_CHECK_H
#define AL_CHECK_H

#include <stdio.h>

static int passed, failed, skipped;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
			printf("ok - ");                                                           \
		} else {                                                                           \
			failed++;                                                                  \
			printf("not ok - ");                                                       \
		}                                                                                  \
		printf(__VA_ARGS__);                                                               \
		putchar('\n');                                                                     \
	} while (0)

#define SKIP(...)                                                                                  \
	do {                                                                                       \
		skipped++;                                                                         \
		printf("SKIP - ");                                                                 \
		printf(__VA_ARGS__);                                                               \
		putchar('\n');                                                                     \
	} while (0)

static inline int check_done(void)
{
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

#endif
