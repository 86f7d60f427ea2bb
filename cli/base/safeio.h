/* SPDX-License-Identifier: GPL-2.0 */
/* safeio.h - opening files that a traced process controls.
 *
 * The target chooses the paths agentleak opens (its mappings in /proc/PID/maps, the
 * debug link in its ELF files, files under /proc/PID/root): any of them can be a FIFO,
 * on which a plain open() blocks for as long as no writer comes, or a device. Such
 * files are opened non-blocking and kept only when they are regular files.
 */
#ifndef AL_SAFEIO_H
#define AL_SAFEIO_H

#include <stdbool.h>

/* open(path, O_RDONLY) that never blocks and returns only a regular file: -1 with
 * errno (EINVAL for anything but a regular file) otherwise. */
int safeio_open(const char *path);
/* Does path exist as something other than a regular file or directory (a FIFO, a
 * socket, a device)? For paths a library will open by itself. */
bool safeio_special(const char *path);

#endif
