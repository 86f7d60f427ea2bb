// SPDX-License-Identifier: GPL-2.0
/* churn: two threads malloc and free at full speed while agentleak attaches;
 * once they are stopped and every block they kept is freed, only the final
 * marker leak is live.
 *
 * Build (tests/workloads/build.sh):
 *   gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread \
 *       -o build/tests/churn tests/workloads/churn.c
 *
 * Usage: churn [--exit]
 *
 * Setup: 2 threads run churn_loop: malloc(16..4096 bytes) into a ring of the
 * last 64 blocks per thread, freeing the oldest one it replaces. "ready" is
 * printed at once, so agentleak attaches in the middle of the churn.
 * Phase: stop and join the threads, free every block left in the rings, then
 * leak_marker 5 x malloc(1234), kept.
 * Live after the phase: leak_marker 5 objects, 6170 B; nothing from churn_loop.
 */
#define _GNU_SOURCE
#include "workload.h"

#include <pthread.h>
#include <stdatomic.h>

#define N_THREADS 2
#define RING      64
#define N_MARKER  5

void *volatile g_ring[N_THREADS][RING];
void *volatile g_marker[N_MARKER];
static atomic_int g_stop;

WL_NOINLINE void churn_loop(void *volatile *ring, unsigned long seed)
{
	unsigned long n = 0;
	size_t size;
	int slot;

	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		slot = n % RING;
		/* 16..4096 bytes, varying from one call to the next */
		size = 16 + (seed + n * 2654435761UL) % 4081;
		free(ring[slot]);
		ring[slot] = malloc(size);
		if (!ring[slot])
			wl_fail("malloc failed");
		n++;
	}
}

static void *churn_thread(void *arg)
{
	long id = (long)arg;

	churn_loop(g_ring[id], (unsigned long)id * 977);
	return NULL;
}

WL_NOINLINE void free_rings(void)
{
	int t, i;

	for (t = 0; t < N_THREADS; t++) {
		for (i = 0; i < RING; i++) {
			free(g_ring[t][i]);
			g_ring[t][i] = NULL;
		}
	}
}

WL_NOINLINE void leak_marker(void)
{
	int i;

	for (i = 0; i < N_MARKER; i++) {
		g_marker[i] = malloc(1234);
		if (!g_marker[i])
			wl_fail("malloc failed");
	}
}

int main(int argc, char **argv)
{
	pthread_t threads[N_THREADS];
	struct wl_opts o;
	long t;
	int err;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	for (t = 0; t < N_THREADS; t++) {
		err = pthread_create(&threads[t], NULL, churn_thread, (void *)t);
		if (err) {
			errno = err;
			wl_die("pthread_create");
		}
	}
	wl_ready();
	wl_wait_start();

	atomic_store(&g_stop, 1);
	for (t = 0; t < N_THREADS; t++)
		pthread_join(threads[t], NULL);
	free_rings();
	leak_marker();
	return wl_finish(o.exit_after);
}
