/* SPDX-License-Identifier: GPL-2.0 */
/* text.h - names that come from a target (its comm, file names, symbol names), made
 * safe to print anywhere.
 *
 * A traced process chooses its own name (prctl PR_SET_NAME), its file names and the
 * symbol names in its ELF files: a newline would forge report lines, an escape sequence
 * would reach the user's terminal. Every such name passes through text_escape() where
 * agentleak reads it, so every output (text, JSON, metrics, pprof, folded, HTML) gets
 * printable text: control bytes, DEL, C1 controls and bytes that are not valid UTF-8
 * become "\xNN", a backslash "\\"; valid printable UTF-8 stays as it is.
 */
#ifndef AL_TEXT_H
#define AL_TEXT_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid: RFC 3629
 * as Go and Prometheus check it (no overlong forms, no surrogates, nothing above
 * U+10FFFF). */
size_t text_utf8_len(const char *s, size_t n);
/* Escape srclen bytes of src into dst (always terminated when len > 0; cut at a whole
 * escape). Returns the length written. */
size_t text_escape(char *dst, size_t len, const char *src, size_t srclen);
/* The same for the NUL-terminated string in s (capacity cap), in place. */
void text_sanitize(char *s, size_t cap);

#endif
