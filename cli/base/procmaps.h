/* SPDX-License-Identifier: GPL-2.0 */
/* procmaps.h - /proc/PID/maps: the one parser of its lines and the one reader of the file.
 *
 *   7f0c5a428000-7f0c5a5bd000 r-xp 00028000 fe:01 1316          /usr/lib/libc.so.6
 *
 * The kernel writes every field but the last, the path, which the target chooses: a file
 * name may hold spaces and end in " (deleted)" (the kernel's mark of a file unlinked since
 * it was mapped, or part of the name); a memfd's name and an anonymous mapping's
 * ("[anon:...]") are the process's own. Only a newline is escaped. So the path is the rest
 * of the line as it is, and each user decides what to strip from it.
 */
#ifndef AL_PROCMAPS_H
#define AL_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>

struct procmaps_entry {
	unsigned long long start, end; /* addresses: [start, end) */
	char perms[5];                 /* "r-xp": read, write, execute, private or shared */
	unsigned long long offset;     /* in the file */
	unsigned int major, minor;     /* the file's device */
	unsigned long long inode;      /* 0: no file */
	char *path;                    /* in the line, NUL-terminated: "" (anonymous), a file,
	                                * "[heap]", "[vdso]"... */
	size_t pathlen;
};

/* Parse one line: NUL-terminated, cut at its first newline (a '\0' is written there).
 * Returns 0 with e filled (e->path points into line), or -1 when it is no maps line.
 * No I/O: tests/fuzz/fuzz_procmaps.c feeds it. */
int procmaps_parse_line(char *line, struct procmaps_entry *e);

/* Executable? */
static inline bool procmaps_exec(const struct procmaps_entry *e)
{
	return e->perms[2] == 'x';
}

/* Cut the " (deleted)" that the kernel appends to the path of an unlinked file: returns
 * whether path (NUL-terminated) ended with it and was longer. */
bool procmaps_strip_deleted(char *path);

/* What a reader calls for each mapping; non-zero stops the reading. e->path may be
 * changed (shortened) in place. */
typedef int (*procmaps_fn)(struct procmaps_entry *e, void *arg);

/* fn(e, arg) for every line of text (len bytes, NUL-terminated; cut in place) that parses,
 * in order, until fn returns non-zero. Returns 0 or what fn returned. No I/O. */
int procmaps_each(char *text, size_t len, procmaps_fn fn, void *arg);

/* The same on /proc/pid/maps, read whole first (safeio_read_file()). Returns 0, what fn
 * returned, or -errno when the file cannot be opened or read. */
int procmaps_read(int pid, procmaps_fn fn, void *arg);

#endif
