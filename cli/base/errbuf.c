// SPDX-License-Identifier: GPL-2.0
/* errbuf.c - one-line reasons in a caller's buffer (see errbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base/errbuf.h"

int err_set(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(char *err, size_t len, const char *fmt, ...)
{
	size_t n, p, msg;
	va_list ap;
	char save;
	int r;

	if (!err || !len)
		return -1;
	va_start(ap, fmt);
	r = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	n = (size_t)r;
	/* The message moves right by the prefix and ": ", cut to what fits... */
	p = n + 2 < len - 1 ? n + 2 : len - 1;
	msg = strnlen(err, len - 1);
	if (msg > len - 1 - p)
		msg = len - 1 - p;
	memmove(err + p, err, msg);
	err[p + msg] = '\0';
	/* ...and the prefix goes before it, as much of it as fits. */
	save = err[p];
	va_start(ap, fmt);
	vsnprintf(err, (n < p ? n : p) + 1, fmt, ap);
	va_end(ap);
	if (p > n)
		err[n] = ':';
	if (p > n + 1)
		err[n + 1] = ' ';
	err[p] = save;
	return -1;
}
