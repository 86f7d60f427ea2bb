/* SPDX-License-Identifier: GPL-2.0 */
/* folded.h - folded stacks for flame graph tools (flamegraph.pl, inferno, speedscope).
 *
 * One line per stack holding live memory: "comm-pid;root;...;leaf LIVE_BYTES", the
 * leaf being frames[0], the allocator's caller.
 */
#ifndef AL_FOLDED_H
#define AL_FOLDED_H

#include <stddef.h>
#include "export/snapshot.h"

/* Write the stacks of snap with live bytes > 0, one line each: "comm-pid;" then the
 * frames from the outermost to frames[0], separated by ';', then a space and the live
 * bytes. A frame is its function name, or "[module+0xOFF]" (module's base name, file
 * offset), or "[unknown]". In names ';' becomes ':', control characters and invalid
 * UTF-8 bytes become '?'. Written to a temporary file in the same directory, then
 * renamed over path. Returns 0, or -errno with a one-line message in err. */
int folded_write(const char *path, const struct snapshot *snap, char *err, size_t errlen);

#endif
