// SPDX-License-Identifier: GPL-2.0
/* safeio.c - opening and reading files that a traced process controls (see safeio.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "base/safeio.h"
#include "base/vec.h"

#define READ_CHUNK 4096 /* room asked for before each read */

int safeio_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* A regular file: blocking reads from now on, as usual. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

bool safeio_special(const char *path)
{
	struct stat st;

	return !stat(path, &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

char *safeio_read_fd(int fd, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t n;
	int err;

	for (;;) {
		if (VEC_GROW(buf, cap, len + READ_CHUNK + 1)) {
			err = ENOMEM;
			goto fail;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			goto fail;
		}
		len += n;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
fail:
	free(buf);
	errno = err;
	return NULL;
}

char *safeio_read_file(const char *path, size_t *lenp)
{
	int fd = safeio_open(path), err;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = safeio_read_fd(fd, lenp);
	err = errno;
	close(fd);
	errno = err;
	return buf;
}

ssize_t safeio_read_small(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, err;

	if (!size)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			close(fd);
			return err;
		}
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
}

char *safeio_env_value(char *env, size_t len, const char *name)
{
	size_t n = strlen(name);
	char *s;

	for (s = env; s < env + len; s += strlen(s) + 1)
		if (!strncmp(s, name, n) && s[n] == '=')
			return s + n + 1;
	return NULL;
}
