// SPDX-License-Identifier: GPL-2.0
/* nolibc.c - a static program with no libc at all, for test_allocator.
 *
 * Nothing in it defines malloc, so allocator_find() must answer -ENOEXEC
 * for it. It sleeps in pause(2) until killed, using raw system calls.
 * test_allocator builds it itself:
 *   gcc -static -nostdlib -fno-stack-protector -o build/nolibc tests/unit/nolibc.c
 */
#define NR_PAUSE 34 /* x86-64 */

static long raw_syscall0(long nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	for (;;)
		raw_syscall0(NR_PAUSE);
}
