// SPDX-License-Identifier: GPL-2.0
/* mmap_ops: anonymous mmap/munmap/mremap calls made directly by the program,
 * with known live bytes at the end.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/mmap_ops tests/workloads/mmap_ops.c
 *
 * Usage: mmap_ops [--exit]
 *
 * Live after the phase (kind mmap; frame #0 = the function that called mmap):
 *   leak_mmap      mmap 10 pages                           40960 B
 *   split_munmap   mmap 16 pages, munmap pages 4..7        49152 B
 *   grow_mremap    mmap 8 pages, mremap to 20 (MAYMOVE)    81920 B
 *   shrink_mremap  mmap 10 pages, mremap to 3              12288 B
 *   unmap_all      mmap 5 pages, munmap all                    0 B
 *   remap_to       (does the mremap calls, no mmap)            0 B
 */
#define _GNU_SOURCE
#include "workload.h"

#include <sys/mman.h>

#define PAGE 4096UL

void *volatile g_leak_mmap;
void *volatile g_split;
void *volatile g_grow;
void *volatile g_shrink;
void *volatile g_unmap_all;

/* mremap lives in a function of its own: the bytes must stay with the
 * function that made the original mmap. */
WL_NOINLINE void *remap_to(void *p, size_t old_pages, size_t new_pages)
{
	void *q = mremap(p, old_pages * PAGE, new_pages * PAGE, MREMAP_MAYMOVE);

	if (q == MAP_FAILED)
		wl_die("mremap");
	return q;
}

WL_NOINLINE void leak_mmap(void)
{
	g_leak_mmap =
	    mmap(NULL, 10 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_leak_mmap == MAP_FAILED)
		wl_die("mmap");
}

WL_NOINLINE void split_munmap(void)
{
	g_split = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_split == MAP_FAILED)
		wl_die("mmap");
	if (munmap((char *)g_split + 4 * PAGE, 4 * PAGE))
		wl_die("munmap");
}

WL_NOINLINE void grow_mremap(void)
{
	g_grow = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_grow == MAP_FAILED)
		wl_die("mmap");
	g_grow = remap_to(g_grow, 8, 20);
}

WL_NOINLINE void shrink_mremap(void)
{
	g_shrink =
	    mmap(NULL, 10 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_shrink == MAP_FAILED)
		wl_die("mmap");
	g_shrink = remap_to(g_shrink, 10, 3);
}

WL_NOINLINE void unmap_all(void)
{
	g_unmap_all =
	    mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_unmap_all == MAP_FAILED)
		wl_die("mmap");
	if (munmap(g_unmap_all, 5 * PAGE))
		wl_die("munmap");
	g_unmap_all = NULL;
}

int main(int argc, char **argv)
{
	struct wl_opts o;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	if (sysconf(_SC_PAGESIZE) != (long)PAGE)
		wl_fail("page size is not 4096");
	wl_ready();
	wl_wait_start();

	leak_mmap();
	split_munmap();
	grow_mremap();
	shrink_mremap();
	unmap_all();
	return wl_finish(o.exit_after);
}
