/* SPDX-License-Identifier: GPL-2.0 */
/* safeio.h - opening and reading files that a traced process controls.
 *
 * The target chooses the paths agentleak opens (its mappings in /proc/PID/maps, the
 * debug link in its ELF files, files under /proc/PID/root): any of them can be a FIFO,
 * on which a plain open() blocks for as long as no writer comes, or a device. Such
 * files are opened non-blocking and kept only when they are regular files.
 */
#ifndef AL_SAFEIO_H
#define AL_SAFEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* open(path, O_RDONLY) that never blocks and returns only a regular file: -1 with
 * errno (EINVAL for anything but a regular file) otherwise. */
int safeio_open(const char *path);
/* Does path exist as something other than a regular file or directory (a FIFO, a
 * socket, a device)? For paths a library will open by itself. */
bool safeio_special(const char *path);
/* The whole of what fd reads, in a malloc'ed buffer with a NUL after its *lenp bytes
 * (lenp may be NULL): the way agentleak reads text a target controls (/proc/PID/maps,
 * /proc/PID/environ, files under its root), never by lines of a fixed size. NULL with
 * errno when a read fails or memory runs out. */
char *safeio_read_fd(int fd, size_t *lenp);
/* The same for the file at path, opened by safeio_open(). */
char *safeio_read_file(const char *path, size_t *lenp);
/* The value of variable name in an environment block (/proc/PID/environ: len bytes of
 * NUL-separated VAR=value strings, with a NUL after them), or NULL. Pure. */
char *safeio_env_value(char *env, size_t len, const char *name);
/* A small file the kernel writes (/proc/PID/stat, status, comm; a cgroup's memory.max)
 * into buf, NUL-terminated and cut to size - 1 bytes. Returns its length, or -errno. */
ssize_t safeio_read_small(const char *path, char *buf, size_t size);

#endif
