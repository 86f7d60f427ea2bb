// SPDX-License-Identifier: GPL-2.0
/* outfile.c - every file agentleak writes: checks, held directories, temporary file,
 * rename, append (see outfile.h for the rule).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export/outfile.h"

#define MAX_HELD 16

/* The directories of the paths checked at start, held open for the run. */
static struct held {
	char path[PATH_MAX];
	int dirfd;
} held[MAX_HELD];
static int nheld;

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

/* path's directory (".": none) and base name. */
static int split(const char *path, char *dir, size_t dirlen, const char **base, char *err,
                 size_t errlen)
{
	size_t len = path ? strlen(path) : 0;
	const char *b;
	int n;

	if (!len) {
		if (err && errlen)
			snprintf(err, errlen, "empty path: no file name to write");
		return -EINVAL;
	}
	if (len >= PATH_MAX)
		return fail(err, errlen, -ENAMETOOLONG, path, "file name too long");
	b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (!*b || !strcmp(b, ".") || !strcmp(b, ".."))
		return fail(err, errlen, -EISDIR, path, "it is a directory");
	if (strlen(b) > 200)
		return fail(err, errlen, -ENAMETOOLONG, path, "file name too long");
	n = (int)(b - path);
	if (!n)
		snprintf(dir, dirlen, ".");
	else
		snprintf(dir, dirlen, "%.*s", n > 1 ? n - 1 : 1, path);
	*base = b;
	return 0;
}

static int held_dir(const char *path)
{
	int i;

	for (i = 0; i < nheld; i++)
		if (!strcmp(held[i].path, path))
			return held[i].dirfd;
	return -1;
}

/* The directory of path: the one held since outfile_check(), else opened now (*own). */
static int open_dir(const char *path, const char **base, bool *own, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int fd, e;

	e = split(path, dir, sizeof(dir), base, err, errlen);
	if (e)
		return e;
	fd = held_dir(path);
	if (fd >= 0) {
		*own = false;
		return fd;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return fail(err, errlen, -e, path, "directory %s does not exist", dir);
		if (e == ENOTDIR)
			return fail(err, errlen, -e, path, "%s is not a directory", dir);
		return fail(err, errlen, -e, path, "directory %s: %s", dir, strerror(e));
	}
	*own = true;
	return fd;
}

/* base in dirfd is absent or a regular file. */
static int check_kind(int dirfd, const char *base, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : fail(err, errlen, -errno, path, "%s", strerror(errno));
	if (S_ISLNK(st.st_mode))
		return fail(err, errlen, -ELOOP, path,
		            "it is a symbolic link (agentleak never writes through one)");
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, -EISDIR, path, "it is a directory");
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, path, "not a regular file");
	return 0;
}

/* A new file ".BASE.XXXXXX" in dirfd, created exclusively, never through a link. */
static int create_tmp(int dirfd, const char *base, char *tmp, size_t tmplen, mode_t mode)
{
	int tries, fd;

	for (tries = 0; tries < 100; tries++) {
		unsigned int r = 0;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (unsigned int)rand() ^ (unsigned int)getpid() << 8;
		snprintf(tmp, tmplen, ".%s.%06x", base, r & 0xffffff);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (fchmod(fd, mode)) {
				int e = errno;

				close(fd);
				unlinkat(dirfd, tmp, 0);
				errno = e;
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int outfile_begin(struct outfile *o, const char *path, mode_t mode, char *err, size_t errlen)
{
	const char *base;
	int fd, e;

	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
	fd = open_dir(path, &base, &o->own_dir, err, errlen);
	if (fd < 0)
		return fd;
	o->dirfd = fd;
	snprintf(o->path, sizeof(o->path), "%s", path);
	e = check_kind(fd, base, path, err, errlen);
	if (e) {
		outfile_abort(o);
		return e;
	}
	fd = create_tmp(o->dirfd, base, o->tmp, sizeof(o->tmp), mode ? mode : OUTFILE_MODE);
	if (fd < 0) {
		char dir[PATH_MAX];

		e = errno;
		o->tmp[0] = '\0';
		outfile_abort(o);
		split(path, dir, sizeof(dir), &base, NULL, 0);
		return fail(err, errlen, -e, path, "cannot create a file in %s: %s", dir,
		            strerror(e));
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		e = errno;
		close(fd);
		outfile_abort(o);
		return fail(err, errlen, -e, path, "%s", strerror(e));
	}
	errno = 0;
	return 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	const char *base = strrchr(o->path, '/');
	int e = 0;

	base = base ? base + 1 : o->path;
	if (fflush(o->f))
		e = errno ? errno : EIO;
	else if (ferror(o->f))
		e = errno ? errno : EIO; /* kept since outfile_begin() cleared it */
	else if (fsync(fileno(o->f)))
		e = errno;
	if (fclose(o->f) && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	/* Again: a symbolic link planted since is refused, not replaced. */
	if (!e)
		e = -check_kind(o->dirfd, base, o->path, NULL, 0);
	if (!e && renameat(o->dirfd, o->tmp, o->dirfd, base))
		e = errno;
	if (e) {
		outfile_abort(o);
		return fail(err, errlen, -e, o->path, "%s",
		            e == ELOOP ? "it became a symbolic link (agentleak never writes "
		                         "through one)"
		                       : strerror(e));
	}
	o->tmp[0] = '\0';
	if (fsync(o->dirfd) && errno != EINVAL)
		e = errno;
	outfile_abort(o);
	if (e)
		return fail(err, errlen, -e, o->path, "replaced, but fsync of its directory: %s",
		            strerror(e));
	return 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp[0] && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmp, 0);
	o->tmp[0] = '\0';
	if (o->own_dir && o->dirfd >= 0)
		close(o->dirfd);
	o->own_dir = false;
	o->dirfd = -1;
}

int outfile_check(const char *path, char *err, size_t errlen)
{
	struct outfile o;
	int e = outfile_begin(&o, path, 0600, err, errlen);

	if (e)
		return e;
	if (o.own_dir && nheld < MAX_HELD) {
		/* Hold the directory for the run. */
		snprintf(held[nheld].path, sizeof(held[nheld].path), "%s", path);
		held[nheld++].dirfd = o.dirfd;
		o.own_dir = false;
	}
	outfile_abort(&o);
	return 0;
}

bool outfile_same(const char *a, const char *b)
{
	char da[PATH_MAX], db[PATH_MAX];
	const char *ba, *bb;
	struct stat sa, sb;

	if (split(a, da, sizeof(da), &ba, NULL, 0) || split(b, db, sizeof(db), &bb, NULL, 0))
		return false;
	if (strcmp(ba, bb))
		return false;
	if (stat(da, &sa) || stat(db, &sb))
		return !strcmp(da, db);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

FILE *outfile_append(const char *path, char *err, size_t errlen)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct stat st, dst;
	const char *base;
	bool own;
	int dirfd, fd, e = 0;
	FILE *f = NULL;

	dirfd = open_dir(path, &base, &own, err, errlen);
	if (dirfd < 0)
		return NULL;
	fd = openat(dirfd, base, flags | O_CREAT | O_EXCL, OUTFILE_MODE);
	if (fd >= 0) {
		if (fchmod(fd, OUTFILE_MODE))
			e = errno;
	} else if (errno == EEXIST) {
		fd = openat(dirfd, base, flags);
	}
	if (fd < 0) {
		e = errno;
		fail(err, errlen, -e, path, "%s",
		     e == ELOOP   ? "it is a symbolic link (agentleak never writes through one)"
		     : e == ENXIO ? "not a regular file"
		                  : strerror(e));
		goto out;
	}
	if (!e && fstat(fd, &st))
		e = errno;
	if (e) {
		fail(err, errlen, -e, path, "%s", strerror(e));
	} else if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		fail(err, errlen, -e, path, "not a regular file");
	} else if (st.st_nlink > 1) {
		e = EMLINK;
		fail(err, errlen, -e, path,
		     "it has %lu hard links (refused: one may be another's file)",
		     (unsigned long)st.st_nlink);
	} else if (!fstat(dirfd, &dst) && (dst.st_mode & S_IWOTH) && st.st_uid != geteuid()) {
		e = EPERM;
		fail(err, errlen, -e, path,
		     "owned by uid %u in a directory anyone can write (refused)",
		     (unsigned)st.st_uid);
	} else if (fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) || !(f = fdopen(fd, "a"))) {
		e = errno;
		fail(err, errlen, -e, path, "%s", strerror(e));
	}
	if (e && fd >= 0)
		close(fd);
out:
	if (own)
		close(dirfd);
	return e ? NULL : f;
}

void outfile_remove(const char *path)
{
	const char *base;
	struct stat st;
	bool own;
	int dirfd = open_dir(path, &base, &own, NULL, 0);

	if (dirfd < 0)
		return;
	if (!fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode))
		unlinkat(dirfd, base, 0);
	if (own)
		close(dirfd);
}

void outfile_release_all(void)
{
	while (nheld > 0)
		close(held[--nheld].dirfd);
}

int outfile_write(const char *path, mode_t mode, outfile_writer write, const void *arg, char *err,
                  size_t errlen)
{
	struct outfile o;
	int r;

	r = outfile_begin(&o, path, mode, err, errlen);
	if (r)
		return r;
	setvbuf(o.f, NULL, _IOFBF, 1 << 16);
	r = write(o.f, arg);
	if (r) {
		outfile_abort(&o);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	return outfile_commit(&o, err, errlen);
}
