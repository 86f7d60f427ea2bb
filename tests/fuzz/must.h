/* SPDX-License-Identifier: GPL-2.0 */
/* must.h - the harnesses' one assertion: MUST(cond, fmt, ...) prints what a parser got
 * wrong ("fuzz invariant: ...") and aborts, which libFuzzer reports as a crash with the
 * input that caused it. Sanitizers catch memory errors; MUST catches wrong answers.
 */
#ifndef AL_FUZZ_MUST_H
#define AL_FUZZ_MUST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz invariant: " __VA_ARGS__);                           \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input as a C string: a copy with a NUL after its size bytes (NULL: no memory),
 * for the parsers that take text the way agentleak reads it from /proc. */
static inline char *fuzz_text(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif /* AL_FUZZ_MUST_H */
