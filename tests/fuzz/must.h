/* SPDX-License-Identifier: GPL-2.0 */
/* must.h - the harnesses' one assertion: MUST(cond, fmt, ...) prints what a parser got
 * wrong ("fuzz invariant: ...") and aborts, which libFuzzer reports as a crash with the
 * input that caused it. Sanitizers catch memory errors; MUST catches wrong answers.
 */
#ifndef AL_FUZZ_MUST_H
#define AL_FUZZ_MUST_H

#include <stdio.h>
#include <stdlib.h>

#define MUST(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz invariant: " __VA_ARGS__);                           \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* AL_FUZZ_MUST_H */
