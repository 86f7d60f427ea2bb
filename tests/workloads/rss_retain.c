// SPDX-License-Identifier: GPL-2.0
/* rss_retain.c - the heap is freed but glibc cannot give it back: RSS stays high.
 *
 * In the phase: fill_heap() makes 200,000 malloc(1000) (about 200 MB through brk,
 * every page touched), pin_top() keeps one malloc(100) above them, then
 * drain_heap() frees the 200,000. The freed chunks coalesce into one big free
 * chunk below the pinned block, so the top of the heap is not free and default
 * glibc (no mallopt) cannot trim it: RSS stays about 200 MB while the live heap
 * is 100 bytes. agentleak must say "RSS high, live heap flat" for this process.
 *
 * Prints "rss fill RssAnon KB" and "rss drain RssAnon KB" (from /proc/self/status)
 * before "done", so that a test can tell a workload problem from a tool problem.
 *
 * Usage: rss_retain [--exit]   (protocol of workload.h)
 */
#define _GNU_SOURCE
#include "workload.h"

#define NBLOCKS    200000
#define BLOCK_SIZE 1000
#define PIN_SIZE   100

#define NOINLINE WL_NOINLINE

static void *blocks[NBLOCKS]; /* in .bss, not on the heap */
static void *volatile pin;

NOINLINE void fill_heap(void)
{
	int i;

	for (i = 0; i < NBLOCKS; i++) {
		blocks[i] = malloc(BLOCK_SIZE);
		if (!blocks[i])
			wl_die("malloc");
		memset(blocks[i], i, BLOCK_SIZE);
	}
}

NOINLINE void pin_top(void)
{
	pin = malloc(PIN_SIZE);
	if (!pin)
		wl_die("malloc");
	memset(pin, 1, PIN_SIZE);
}

NOINLINE void drain_heap(void)
{
	int i;

	for (i = 0; i < NBLOCKS; i++) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
}

/* RssAnon of this process in kB, or -1. */
static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	struct wl_opts o;
	long after_fill, after_drain;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	wl_ready();
	wl_wait_start();

	fill_heap();
	pin_top();
	after_fill = rss_anon_kb();
	drain_heap();
	after_drain = rss_anon_kb();
	printf("rss fill %ld KB\nrss drain %ld KB\n", after_fill, after_drain);
	fflush(stdout);
	return wl_finish(o.exit_after);
}
