/* SPDX-License-Identifier: GPL-2.0 */
/* outfile.h - every file agentleak writes, under one rule.
 *
 * agentleak runs as root and writes where the user points it, possibly into a
 * directory others can write to. So every output file goes through here, and:
 *  - its directory is opened once, when the path is checked at start, and that
 *    directory descriptor is held for the whole run: later writes use openat/renameat
 *    relative to it, so swapping a directory in the path for a symbolic link later
 *    changes nothing;
 *  - nothing is ever written through a symbolic link: the file is created with
 *    O_EXCL|O_NOFOLLOW (a temporary file, then renamed over the destination), and the
 *    append-mode file (--json-file) is opened with O_NOFOLLOW and must be a regular
 *    file with one link, owned by us when the directory is world-writable;
 *  - files are created 0644 whatever the umask;
 *  - special files are never opened for writing (a FIFO would block).
 * Replaced files are written to a hidden temporary file in the same directory
 * (".BASE.XXXXXX": node_exporter and shells skip dotfiles), fsynced, renamed over the
 * destination, and the directory synced: a reader sees the old file or the new one.
 *
 * Every message is one line, "cannot write PATH: REASON"; every error is -errno.
 */
#ifndef AL_OUTFILE_H
#define AL_OUTFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define OUTFILE_MODE 0644

struct outfile {
	FILE *f;             /* the temporary file, open for writing */
	char path[PATH_MAX]; /* the destination */
	char tmp[NAME_MAX + 1];
	int dirfd;    /* the destination's directory */
	bool own_dir; /* dirfd opened for this write (path never checked) */
};

/* Check that path can be written (its directory exists and takes a new file; path is
 * absent or a regular file: a symbolic link (-ELOOP), a directory (-EISDIR) or any
 * special file (-EINVAL) is refused), and hold its directory open for the run.
 * Returns 0, or -errno with a message in err. */
int outfile_check(const char *path, char *err, size_t errlen);

/* Are a and b the same file (the same directory and name)? */
bool outfile_same(const char *a, const char *b);

/* The checks of outfile_check(), then a new temporary file beside path, mode `mode`
 * (0: OUTFILE_MODE), open in o->f. errno is 0 on success, so a later stream error
 * keeps its own. Returns 0, or -errno with a message in err (nothing left behind). */
int outfile_begin(struct outfile *o, const char *path, mode_t mode, char *err, size_t errlen);

/* Flush, fsync and close o->f, rename the temporary file over o->path, fsync the
 * directory. A stream error (ferror) fails the commit. On an error before the rename
 * the temporary file is removed and path left as it was; only a failed fsync of the
 * directory comes after path is replaced. Returns 0, or -errno with a message in err. */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/* Close and remove the temporary file; path is left as it was. Safe to repeat. */
void outfile_abort(struct outfile *o);

/* Writes a whole file's content to f: 0, or -errno (the file is then not replaced). */
typedef int (*outfile_writer)(FILE *f, const void *arg);

/* The whole of a file exporter's write: begin, write(f, arg) through a 64 KiB buffer,
 * commit; path is replaced only by a complete file. Returns 0, or -errno with a message
 * in err ("cannot write PATH: ..." when the writer fails). */
int outfile_write(const char *path, mode_t mode, outfile_writer write, const void *arg, char *err,
                  size_t errlen);

/* Open path for appending (created OUTFILE_MODE when absent), by the rules above.
 * Returns the stream, or NULL with a message in err. */
FILE *outfile_append(const char *path, char *err, size_t errlen);

/* Remove path if it is a regular file (never what a symbolic link points to). */
void outfile_remove(const char *path);

/* Close the directories held since outfile_check(). */
void outfile_release_all(void);

#endif
