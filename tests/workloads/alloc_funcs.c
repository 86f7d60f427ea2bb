// SPDX-License-Identifier: GPL-2.0
/* alloc_funcs: leak a known number of blocks through every allocator entry
 * point, each from its own function, plus malloc/free churn that is never live.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/alloc_funcs tests/workloads/alloc_funcs.c
 *   gcc -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/alloc_funcs_nofp tests/workloads/alloc_funcs.c
 *
 * Usage: alloc_funcs [--exit] [--only malloc] [--count N] [--size BYTES]
 *
 * Live after the phase (frame #0 = the leak_* function):
 *   leak_malloc          10 x malloc(1000)            10000 B  (or --count x --size)
 *   leak_calloc          11 x calloc(10, 100)         11000 B
 *   leak_realloc         12 x realloc(wl_null, 1200)     14400 B
 *   leak_reallocarray    13 x reallocarray(wl_null, 5, 256) 16640 B
 *   leak_posix_memalign  14 x posix_memalign(64, 512)  7168 B
 *   leak_aligned_alloc   15 x aligned_alloc(256, 1024) 15360 B
 *   leak_memalign        16 x memalign(128, 768)      12288 B
 *   leak_valloc          17 x valloc(3000)            51000 B
 *   leak_pvalloc         18 x pvalloc(3000)           73728 B (rounded to 4096)
 *   churn                1000 x malloc(64) + free      0 B
 * --only malloc runs leak_malloc alone.
 */
#define _GNU_SOURCE
#include "workload.h"

#include <malloc.h>

#define MAX_COUNT 262144

void *volatile g_malloc[MAX_COUNT];
void *volatile g_calloc[11];
void *volatile g_realloc[12];
void *volatile g_reallocarray[13];
void *volatile g_posix_memalign[14];
void *volatile g_aligned_alloc[15];
void *volatile g_memalign[16];
void *volatile g_valloc[17];
void *volatile g_pvalloc[18];
void *volatile g_churn_sink;

static void check(void *p, const char *what)
{
	if (!p)
		wl_fail(what);
}

WL_NOINLINE void leak_malloc(long count, long size)
{
	long i;

	for (i = 0; i < count; i++) {
		g_malloc[i] = malloc(size);
		check(g_malloc[i], "malloc failed");
	}
}

WL_NOINLINE void leak_calloc(void)
{
	int i;

	for (i = 0; i < 11; i++) {
		g_calloc[i] = calloc(10, 100);
		check(g_calloc[i], "calloc failed");
	}
}

WL_NOINLINE void leak_realloc(void)
{
	int i;

	for (i = 0; i < 12; i++) {
		g_realloc[i] = realloc(wl_null, 1200);
		check(g_realloc[i], "realloc failed");
	}
}

WL_NOINLINE void leak_reallocarray(void)
{
	int i;

	for (i = 0; i < 13; i++) {
		g_reallocarray[i] = reallocarray(wl_null, 5, 256);
		check(g_reallocarray[i], "reallocarray failed");
	}
}

WL_NOINLINE void leak_posix_memalign(void)
{
	void *p;
	int i;

	for (i = 0; i < 14; i++) {
		if (posix_memalign(&p, 64, 512))
			wl_fail("posix_memalign failed");
		g_posix_memalign[i] = p;
	}
}

WL_NOINLINE void leak_aligned_alloc(void)
{
	int i;

	for (i = 0; i < 15; i++) {
		g_aligned_alloc[i] = aligned_alloc(256, 1024);
		check(g_aligned_alloc[i], "aligned_alloc failed");
	}
}

WL_NOINLINE void leak_memalign(void)
{
	int i;

	for (i = 0; i < 16; i++) {
		g_memalign[i] = memalign(128, 768);
		check(g_memalign[i], "memalign failed");
	}
}

WL_NOINLINE void leak_valloc(void)
{
	int i;

	for (i = 0; i < 17; i++) {
		g_valloc[i] = valloc(3000);
		check(g_valloc[i], "valloc failed");
	}
}

WL_NOINLINE void leak_pvalloc(void)
{
	int i;

	for (i = 0; i < 18; i++) {
		g_pvalloc[i] = pvalloc(3000);
		check(g_pvalloc[i], "pvalloc failed");
	}
}

/* Short-lived blocks: allocated and freed, never live at the end. */
WL_NOINLINE void churn(void)
{
	int i;

	for (i = 0; i < 1000; i++) {
		g_churn_sink = malloc(64);
		check(g_churn_sink, "malloc failed");
		free(g_churn_sink);
	}
	g_churn_sink = NULL;
}

int main(int argc, char **argv)
{
	struct wl_opts o;
	long count, size;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 1);
	if (o.only && strcmp(o.only, "malloc"))
		wl_usage(argv[0], 1);
	count = o.count > 0 ? o.count : 10;
	size = o.size > 0 ? o.size : 1000;
	if (count > MAX_COUNT)
		wl_fail("--count too large");

	wl_ready();
	wl_wait_start();

	leak_malloc(count, size);
	if (!o.only) {
		leak_calloc();
		leak_realloc();
		leak_reallocarray();
		leak_posix_memalign();
		leak_aligned_alloc();
		leak_memalign();
		leak_valloc();
		leak_pvalloc();
		churn();
	}
	return wl_finish(o.exit_after);
}
