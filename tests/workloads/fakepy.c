// SPDX-License-Identifier: GPL-2.0
/* fakepy.c - a C program that passes for CPython 3.11 and lies to the Python stack walk.
 *
 * It exports what agentleak looks for (_PyRuntime, PyCode_Type, _Py_NoneStruct,
 * Py_Version = 3.11.0; built with -rdynamic) and builds, in _PyRuntime, an
 * interpreter whose first thread state is reached the way CPython 3.11's is, then:
 *   threads   the thread list is a cycle that never holds this thread
 *   frames    this thread's frame chain is a cycle of two frames whose "code objects"
 *             are not code objects
 *   moving    like frames, while another thread rewrites the frames' pointers (to
 *             the other frame, to garbage, to NULL) without pause: memory that
 *             changes under the reader
 * and in each case mallocs COUNT blocks of SIZE bytes it keeps (leak_here), so the
 * test can check that the tracing stays exact and ends, whatever the walk finds.
 */
#define _GNU_SOURCE
#include "workload.h"
#include <pthread.h>
#include <stdint.h>

#define COUNT 300
#define SIZE  100

/* 3.11's offsets (cli/target/python.c). */
#define RT_INTERP_HEAD  40
#define IS_THREADS      16
#define IS_RUNTIME      40
#define TS_NEXT         8
#define TS_THREAD_ID    152
#define TS_CFRAME       56
#define CF_CURRENT      8
#define FR_CODE         32
#define FR_PREVIOUS     48
#define FR_PREV_INSTR   56

const unsigned long Py_Version = 0x030b00f0;
unsigned char _PyRuntime[4096] __attribute__((aligned(64)));
unsigned char PyCode_Type[512];
unsigned char _Py_NoneStruct[16];

static unsigned char interp[256], tstate[512], other[512], cframe[64], frames[2][128], code[256];
static void *volatile kept[COUNT];
static volatile int stop;

static void put(unsigned char *where, size_t off, const void *value)
{
	uint64_t v = (uint64_t)(uintptr_t)value;

	memcpy(where + off, &v, sizeof(v));
}

static void build(const char *mode)
{
	put(_PyRuntime, RT_INTERP_HEAD, interp);
	put(interp, IS_RUNTIME, _PyRuntime);
	put(interp, IS_THREADS, tstate);
	if (!strcmp(mode, "threads")) {
		/* Two thread states pointing at each other, neither this thread. */
		put(tstate, TS_NEXT, other);
		put(other, TS_NEXT, tstate);
		return;
	}
	put(tstate, TS_THREAD_ID, (void *)pthread_self());
	put(tstate, TS_CFRAME, cframe);
	put(cframe, CF_CURRENT, frames[0]);
	put(frames[0], FR_CODE, code);
	put(frames[1], FR_CODE, code + 8);
	put(frames[0], FR_PREVIOUS, frames[1]);
	put(frames[1], FR_PREVIOUS, frames[0]);
	put(frames[0], FR_PREV_INSTR, code + 200);
}

static void *rewrite(void *arg)
{
	uint64_t x = 88172645463325252ULL;

	(void)arg;
	while (!stop) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift */
		put(frames[x & 1], FR_PREVIOUS, (x & 6) == 0   ? NULL
		                                : (x & 6) == 2 ? (void *)(uintptr_t)x
		                                               : frames[(x >> 3) & 1]);
		put(frames[(x >> 4) & 1], FR_CODE, (void *)(uintptr_t)(x >> 8));
	}
	return NULL;
}

WL_NOINLINE static void leak_here(void)
{
	int i;

	for (i = 0; i < COUNT; i++)
		kept[i] = malloc(SIZE);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pthread_t t;

	wl_block_signals();
	if (strcmp(mode, "threads") && strcmp(mode, "frames") && strcmp(mode, "moving")) {
		fprintf(stderr, "usage: fakepy threads|frames|moving\n");
		return 2;
	}
	build(mode);
	wl_ready();
	wl_wait_start();
	/* The rewriter spins: only while the leak is made. */
	if (!strcmp(mode, "moving") && pthread_create(&t, NULL, rewrite, NULL))
		return 1;
	leak_here();
	stop = 1;
	if (!strcmp(mode, "moving"))
		pthread_join(t, NULL);
	return wl_finish(0);
}
