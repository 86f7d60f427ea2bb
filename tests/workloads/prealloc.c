// SPDX-License-Identifier: GPL-2.0
/* prealloc: blocks allocated before agentleak attaches and freed after; their
 * frees must not make anything negative, and only the later leak is live.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/prealloc tests/workloads/prealloc.c
 *
 * Usage: prealloc [--exit]
 *
 * Setup (before "ready"): pre_alloc 1000 x malloc(48), kept.
 * Phase: free_pre frees all 1000; leak_after 50 x malloc(80), kept.
 * Live after the phase: leak_after 50 objects, 4000 B; nothing from pre_alloc.
 */
#define _GNU_SOURCE
#include "workload.h"

#define N_PRE   1000
#define N_AFTER 50

void *volatile g_pre[N_PRE];
void *volatile g_after[N_AFTER];

WL_NOINLINE void pre_alloc(void)
{
	int i;

	for (i = 0; i < N_PRE; i++) {
		g_pre[i] = malloc(48);
		if (!g_pre[i])
			wl_fail("malloc failed");
	}
}

WL_NOINLINE void free_pre(void)
{
	int i;

	for (i = 0; i < N_PRE; i++) {
		free(g_pre[i]);
		g_pre[i] = NULL;
	}
}

WL_NOINLINE void leak_after(void)
{
	int i;

	for (i = 0; i < N_AFTER; i++) {
		g_after[i] = malloc(80);
		if (!g_after[i])
			wl_fail("malloc failed");
	}
}

int main(int argc, char **argv)
{
	struct wl_opts o;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	pre_alloc();
	wl_ready();
	wl_wait_start();

	free_pre();
	leak_after();
	return wl_finish(o.exit_after);
}
