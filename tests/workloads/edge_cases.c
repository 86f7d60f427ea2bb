// SPDX-License-Identifier: GPL-2.0
/* edge_cases: allocator calls that fail, free, or half succeed, whose live
 * result is exactly known.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/edge_cases tests/workloads/edge_cases.c
 *
 * Usage: edge_cases [--exit]
 *
 * Live after the phase (by frame #0):
 *   fail_malloc    malloc(SIZE_MAX) -> NULL                       0
 *   fail_mmap      mmap of length 0 and of 1 EiB -> MAP_FAILED   0
 *   realloc_null   7 x realloc(NULL, 700)                         7 objects, 4900 B
 *   realloc_zero   5 x (malloc(900); realloc(p, 0) frees p)      0
 *   keep_444       4 x malloc(444), then realloc_fail's
 *                  realloc(p, SIZE_MAX / 2) -> NULL keeps p       4 objects, 1776 B
 *   realloc_fail   (the failed reallocs)                          0
 *   pm_out         5 x posix_memalign(64, 320), 2 freed after     3 objects, 960 B
 */
#define _GNU_SOURCE
#include "workload.h"

#include <stdint.h>
#include <sys/mman.h>

/* Sizes read through volatile so the compiler can't see (or warn about) them. */
volatile size_t g_huge = SIZE_MAX;
volatile size_t g_half_huge = SIZE_MAX / 2;
volatile size_t g_huge_map = 1ULL << 60;

void *volatile g_fail_malloc;
void *volatile g_fail_mmap[2];
void *volatile g_realloc_null[7];
void *volatile g_realloc_zero[5];
void *volatile g_keep_444[4];
void *volatile g_realloc_fail[4];
void *volatile g_pm_out[5];

WL_NOINLINE void fail_malloc(void)
{
	g_fail_malloc = malloc(g_huge);
	if (g_fail_malloc)
		wl_fail("malloc(SIZE_MAX) succeeded");
}

WL_NOINLINE void fail_mmap(void)
{
	/* length 0: EINVAL */
	g_fail_mmap[0] = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_fail_mmap[0] != MAP_FAILED || errno != EINVAL)
		wl_fail("mmap of length 0 did not fail with EINVAL");
	/* 1 EiB: larger than any user address space (ENOMEM; valgrind says EINVAL) */
	g_fail_mmap[1] = mmap(NULL, g_huge_map, PROT_READ | PROT_WRITE,
	                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g_fail_mmap[1] != MAP_FAILED)
		wl_fail("mmap of 1 EiB succeeded");
}

WL_NOINLINE void realloc_null(void)
{
	int i;

	for (i = 0; i < 7; i++) {
		g_realloc_null[i] = realloc(wl_null, 700);
		if (!g_realloc_null[i])
			wl_fail("realloc(NULL, 700) failed");
	}
}

WL_NOINLINE void realloc_zero(void)
{
	void *p;
	int i;

	for (i = 0; i < 5; i++) {
		p = malloc(900);
		if (!p)
			wl_fail("malloc failed");
		/* glibc frees p and returns NULL */
		g_realloc_zero[i] = realloc(p, 0);
		if (g_realloc_zero[i])
			wl_fail("realloc(p, 0) did not return NULL");
	}
}

WL_NOINLINE void *keep_444(void)
{
	void *p = malloc(444);

	if (!p)
		wl_fail("malloc failed");
	return p;
}

WL_NOINLINE void realloc_fail(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		g_keep_444[i] = keep_444();
		/* fails, and leaves the block where it is */
		g_realloc_fail[i] = realloc(g_keep_444[i], g_half_huge);
		if (g_realloc_fail[i])
			wl_fail("realloc(p, SIZE_MAX / 2) succeeded");
	}
}

WL_NOINLINE void pm_out(void)
{
	void *p;
	int i;

	for (i = 0; i < 5; i++) {
		if (posix_memalign(&p, 64, 320))
			wl_fail("posix_memalign failed");
		g_pm_out[i] = p;
	}
}

WL_NOINLINE void memalign_out(void)
{
	pm_out();
	free(g_pm_out[0]);
	free(g_pm_out[3]);
	g_pm_out[0] = NULL;
	g_pm_out[3] = NULL;
}

int main(int argc, char **argv)
{
	struct wl_opts o;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	wl_ready();
	wl_wait_start();

	fail_malloc();
	fail_mmap();
	realloc_null();
	realloc_zero();
	realloc_fail();
	memalign_out();
	return wl_finish(o.exit_after);
}
