/* outfile.c - output files replaced atomically: checks, temporary file, rename.
 *
 * The one place where the file exporters (pprof, folded, HTML, the Prometheus
 * textfile) check an output path and replace a file: temporary file next to it,
 * fsync, rename(2), fsync of the directory. See outfile.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

/* "cannot write PATH: REASON" into err (when there is one); returns ret. */
__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, int ret,
                                                      const char *path, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (!err || !errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "cannot write %s: %s", path, why);
	return ret;
}

/* o->path, o->dir and o->tmp (".BASE.XXXXXX" beside path) from path. */
static int split(struct outfile *o, const char *path, char *err, size_t errlen)
{
	const char *base;
	size_t len = path ? strlen(path) : 0;
	int dirlen;

	if (!len) {
		if (err && errlen)
			snprintf(err, errlen, "empty path: no file name to write");
		return -EINVAL;
	}
	if (len >= sizeof(o->path))
		return fail(err, errlen, -ENAMETOOLONG, path, "file name too long");
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return fail(err, errlen, -EISDIR, path, "it is a directory");
	dirlen = (int)(base - path);
	memcpy(o->path, path, len + 1);
	if (!dirlen)
		snprintf(o->dir, sizeof(o->dir), ".");
	else
		snprintf(o->dir, sizeof(o->dir), "%.*s", dirlen > 1 ? dirlen - 1 : 1, path);
	/* The base name is cut so that the temporary name stays under NAME_MAX. */
	if (snprintf(o->tmp, sizeof(o->tmp), "%.*s.%.200s.XXXXXX", dirlen, path, base) >=
	    (int)sizeof(o->tmp))
		return fail(err, errlen, -ENAMETOOLONG, path, "file name too long");
	return 0;
}

/* The directory exists; path is absent or a regular file. */
static int check_kinds(const struct outfile *o, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (stat(o->dir, &st)) {
		e = errno;
		if (e == ENOENT)
			return fail(err, errlen, -e, o->path, "directory %s does not exist",
			            o->dir);
		if (e == ENOTDIR)
			return fail(err, errlen, -e, o->path, "%s is not a directory", o->dir);
		return fail(err, errlen, -e, o->path, "directory %s: %s", o->dir, strerror(e));
	}
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, -ENOTDIR, o->path, "%s is not a directory", o->dir);
	if (lstat(o->path, &st)) {
		e = errno;
		return e == ENOENT ? 0 : fail(err, errlen, -e, o->path, "%s", strerror(e));
	}
	if (S_ISLNK(st.st_mode))
		return fail(err, errlen, -ELOOP, o->path,
		            "it is a symbolic link (refusing to replace it)");
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, -EISDIR, o->path, "it is a directory");
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, o->path, "not a regular file");
	return 0;
}

int outfile_begin(struct outfile *o, const char *path, mode_t mode, char *err, size_t errlen)
{
	mode_t mask;
	int fd, e;

	o->f = NULL;
	e = split(o, path, err, errlen);
	if (!e)
		e = check_kinds(o, err, errlen);
	if (e) {
		o->tmp[0] = '\0';
		return e;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		o->tmp[0] = '\0';
		return fail(err, errlen, -e, path, "cannot create a file in %s: %s", o->dir,
		            strerror(e));
	}
	if (!mode) {
		mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (fchmod(fd, mode) || !(o->f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		outfile_abort(o);
		return fail(err, errlen, -e, path, "temporary file %s: %s", o->tmp, strerror(e));
	}
	errno = 0;
	return 0;
}

/* fsync the directory, so that the rename survives a crash. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) && errno != EINVAL)
		e = -errno;
	close(fd);
	return e;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	int e = 0;

	if (fflush(o->f))
		e = errno ? errno : EIO;
	else if (ferror(o->f))
		e = errno ? errno : EIO; /* kept since outfile_begin() cleared it */
	else if (fsync(fileno(o->f)))
		e = errno;
	if (fclose(o->f) && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (!e && rename(o->tmp, o->path))
		e = errno;
	if (e) {
		outfile_abort(o);
		return fail(err, errlen, -e, o->path, "%s", strerror(e));
	}
	o->tmp[0] = '\0';
	e = sync_dir(o->dir);
	if (e)
		return fail(err, errlen, e, o->path, "replaced, but fsync of %s: %s", o->dir,
		            strerror(-e));
	return 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = '\0';
}

int outfile_check(const char *path, char *err, size_t errlen)
{
	struct outfile o;
	int e = outfile_begin(&o, path, 0600, err, errlen);

	if (!e)
		outfile_abort(&o);
	return e;
}
