/* SPDX-License-Identifier: GPL-2.0 */
/* errbuf.h - the one-line reasons that functions give back through (char *err, size_t errlen).
 *
 * A function that can fail takes a caller's buffer and its size, writes why it failed
 * there and returns -1; the caller may prefix what it was doing. Both tolerate a NULL
 * buffer or a zero size (the caller does not want the reason) and cut a long message.
 */
#ifndef AL_ERRBUF_H
#define AL_ERRBUF_H

#include <stddef.h>

/* Write the message into err (len bytes). Returns -1, for "return err_set(...)". */
int err_set(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Put the formatted prefix and ": " before the message already in err, as
 * snprintf(err, len, "%s: %s", prefix, message) would. Returns -1. */
int err_prefix(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
