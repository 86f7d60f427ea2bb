// SPDX-License-Identifier: GPL-2.0
/* procmaps.c - /proc/PID/maps, parsed by field and read whole (see procmaps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/procmaps.h"
#include "base/safeio.h"

#define DELETED " (deleted)"

/* A hexadecimal number of 1 to max digits at s, into *v; the text after it, or NULL. */
static const char *hex(const char *s, unsigned long long *v, int max)
{
	unsigned long long x = 0;
	int n, d;

	for (n = 0;; n++, s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (n == max)
			return NULL;
		x = x << 4 | (unsigned int)d;
	}
	*v = x;
	return n ? s : NULL;
}

/* A decimal number that fits 64 bits at s, into *v; the text after it, or NULL. */
static const char *dec(const char *s, unsigned long long *v)
{
	unsigned long long x = 0;
	const char *start = s;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (~0ULL - (unsigned int)(*s - '0')) / 10)
			return NULL;
		x = x * 10 + (unsigned int)(*s - '0');
	}
	*v = x;
	return s > start ? s : NULL;
}

/* One or more spaces at s (none when at the end, if may_end); the text after, or NULL. */
static const char *spaces(const char *s, bool may_end)
{
	const char *start = s;

	while (*s == ' ')
		s++;
	return s > start || (may_end && !*s) ? s : NULL;
}

int procmaps_parse_line(char *line, struct procmaps_entry *e)
{
	unsigned long long major, minor;
	const char *s = line;
	size_t n;

	line[strcspn(line, "\n")] = '\0';
	memset(e, 0, sizeof(*e));
	if (!(s = hex(s, &e->start, 16)) || *s++ != '-' || !(s = hex(s, &e->end, 16)) ||
	    !(s = spaces(s, false)))
		return -1;
	for (n = 0; s[n] && s[n] != ' '; n++)
		if (n == 4)
			return -1;
	if (n != 4)
		return -1;
	memcpy(e->perms, s, 4);
	if (!(s = spaces(s + 4, false)) || !(s = hex(s, &e->offset, 16)) ||
	    !(s = spaces(s, false)) || !(s = hex(s, &major, 8)) || *s++ != ':' ||
	    !(s = hex(s, &minor, 8)) || !(s = spaces(s, false)) || !(s = dec(s, &e->inode)) ||
	    !(s = spaces(s, true)))
		return -1;
	e->major = (unsigned int)major;
	e->minor = (unsigned int)minor;
	e->path = line + (s - line);
	e->pathlen = strlen(e->path);
	return 0;
}

bool procmaps_strip_deleted(char *path)
{
	size_t n = strlen(path), t = sizeof(DELETED) - 1;

	if (n <= t || strcmp(path + n - t, DELETED))
		return false;
	path[n - t] = '\0';
	return true;
}

int procmaps_each(char *text, size_t len, procmaps_fn fn, void *arg)
{
	char *line = text, *end = text + len, *nl;
	struct procmaps_entry e;
	int r;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end; /* the last line, without its newline: text[len] ends it */
		*nl = '\0';
		if (procmaps_parse_line(line, &e))
			continue;
		r = fn(&e, arg);
		if (r)
			return r;
	}
	return 0;
}

int procmaps_read(int pid, procmaps_fn fn, void *arg)
{
	char path[64], *text;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	text = safeio_read_file(path, &len);
	if (!text)
		return -errno;
	r = procmaps_each(text, len, fn, arg);
	free(text);
	return r;
}
