// SPDX-License-Identifier: GPL-2.0
/* big_alloc: leak blocks big enough that glibc's malloc serves them with its
 * own mmap; they must be reported once, as malloc, and not also as mmap.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/big_alloc tests/workloads/big_alloc.c
 *
 * Usage: big_alloc [--exit]
 *
 * Live after the phase: leak_big 3 x malloc(2 MiB) = 6291456 B (malloc).
 */
#define _GNU_SOURCE
#include "workload.h"

#define BIG_SIZE (2UL << 20)

void *volatile g_big[3];

WL_NOINLINE void leak_big(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		g_big[i] = malloc(BIG_SIZE);
		if (!g_big[i])
			wl_fail("malloc failed");
	}
}

int main(int argc, char **argv)
{
	struct wl_opts o;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	wl_ready();
	wl_wait_start();
	leak_big();
	return wl_finish(o.exit_after);
}
