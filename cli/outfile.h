/* outfile.h - output files replaced atomically, shared by the file exporters.
 *
 * An exporter writes into a hidden temporary file in the destination's directory
 * (".BASE.XXXXXX": node_exporter and shells skip dotfiles, and it never ends in the
 * destination's suffix), then renames it over the destination and syncs the
 * directory, so a reader sees the complete old file or the complete new one, never
 * a part. outfile_check() runs the same checks before tracing starts, so that a bad
 * path is refused at once rather than at the first write.
 *
 * Every message is one line, "cannot write PATH: REASON"; every error is -errno.
 */
#ifndef AL_OUTFILE_H
#define AL_OUTFILE_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
	FILE *f;             /* the temporary file, open for writing */
	char path[PATH_MAX]; /* the destination */
	char tmp[PATH_MAX];  /* the temporary file */
	char dir[PATH_MAX];  /* their directory ("." for a bare name) */
};

/* Can path be written as outfile_begin() and outfile_commit() do it? The path is not
 * empty and does not end in '/', its directory exists and takes a new file (one is
 * created and removed), path itself is absent or a regular file: a symbolic link is
 * refused (-ELOOP) rather than followed or replaced, a directory (-EISDIR) and any
 * special file (-EINVAL) too. Returns 0, or -errno with a message in err. */
int outfile_check(const char *path, char *err, size_t errlen);

/* The checks of outfile_check(), then a new temporary file in path's directory
 * (mkstemp), mode `mode` exactly, or 0666 & ~umask when mode is 0, open in o->f.
 * errno is 0 on success, so a later stream error keeps its own. Returns 0, or -errno
 * with a message in err (nothing left behind). */
int outfile_begin(struct outfile *o, const char *path, mode_t mode, char *err, size_t errlen);

/* Flush, fsync and close o->f, rename the temporary file over o->path, fsync the
 * directory. A stream error (ferror) fails the commit. On an error before the rename
 * the temporary file is removed and path left as it was; only a failed fsync of the
 * directory comes after path is replaced. Returns 0, or -errno with a message in err. */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/* Close and remove the temporary file; path is left as it was. Safe to repeat. */
void outfile_abort(struct outfile *o);

#endif
