// SPDX-License-Identifier: GPL-2.0
/* nolibc: a static program without libc, so without any malloc to probe.
 * It prints "ready PID" and then sleeps in pause() until killed.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -static -nostdlib -O2 -fno-stack-protector -Wall -Wextra \
 *       -o build/tests/nolibc tests/workloads/nolibc.c
 */
#include <sys/syscall.h>

static long sys0(long nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c)
	                 : "rcx", "r11", "memory");
	return ret;
}

/* "ready PID\n" into buf, returns its length. */
static int format_ready(char *buf, long pid)
{
	static const char prefix[] = "ready ";
	char digits[24];
	int n = 0, len = 0;

	do {
		digits[n++] = '0' + pid % 10;
		pid /= 10;
	} while (pid);
	for (; prefix[len]; len++)
		buf[len] = prefix[len];
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	return len;
}

/* The kernel enters here with a 16-byte aligned stack and no return address. */
__attribute__((noreturn, force_align_arg_pointer)) void _start(void)
{
	char buf[48];
	int len;

	len = format_ready(buf, sys0(SYS_getpid));
	sys3(SYS_write, 1, (long)buf, len);
	for (;;)
		sys0(SYS_pause);
}
