// SPDX-License-Identifier: GPL-2.0
/* die.c - one line on stderr and exit status 1 (see die.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "base/die.h"

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentleak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
