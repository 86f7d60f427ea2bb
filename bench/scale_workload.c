// SPDX-License-Identifier: GPL-2.0
/* scale_workload.c - many live allocations over many distinct stacks, for bench/scale.sh.
 *
 * Makes NALLOCS live malloc(32) blocks spread over NSTACKS distinct call stacks: a
 * recursion of depth 16 whose path (left or right at each level) spells the stack
 * number in binary, so every stack is a different chain of return addresses. Prints
 * "ready PID", waits for SIGUSR1, allocates (keeping everything), prints "done", then
 * keeps allocating and freeing one block per stack per second (so the stacks stay
 * busy) until SIGTERM.
 *
 * Usage: scale_workload NALLOCS NSTACKS
 * Build: gcc -O1 -g -fno-omit-frame-pointer -o build/bench/scale_workload bench/scale_workload.c
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define DEPTH 16

static void *volatile sink;

static __attribute__((noinline)) void *leaf(void)
{
	return malloc(32);
}

static void *go_left(unsigned int path, int level);
static void *go_right(unsigned int path, int level);

static __attribute__((noinline)) void *step(unsigned int path, int level)
{
	if (level == DEPTH)
		return leaf();
	return (path >> level) & 1 ? go_right(path, level + 1) : go_left(path, level + 1);
}

static __attribute__((noinline)) void *go_left(unsigned int path, int level)
{
	void *p = step(path, level);

	sink = p;
	return p;
}

static __attribute__((noinline)) void *go_right(unsigned int path, int level)
{
	void *p = step(path, level);

	sink = p;
	return p;
}

int main(int argc, char **argv)
{
	long nallocs = argc > 1 ? atol(argv[1]) : 1000000, i;
	unsigned int nstacks = argc > 2 ? (unsigned int)atol(argv[2]) : 50000;
	void **blocks;
	sigset_t set;
	int sig;

	if (nallocs <= 0 || !nstacks || nstacks > (1u << DEPTH)) {
		fprintf(stderr, "usage: scale_workload NALLOCS NSTACKS (NSTACKS <= %u)\n",
		        1u << DEPTH);
		return 2;
	}
	blocks = calloc(nallocs, sizeof(*blocks));
	if (!blocks)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	do
		sigwait(&set, &sig);
	while (sig != SIGUSR1 && sig != SIGTERM);
	if (sig == SIGTERM)
		return 0;
	for (i = 0; i < nallocs; i++)
		blocks[i] = step((unsigned int)(i % nstacks), 0);
	printf("done\n");
	fflush(stdout);
	for (;;) {
		unsigned int s;

		for (s = 0; s < nstacks; s++) {
			free(blocks[s]);
			blocks[s] = step(s, 0);
		}
		if (sigtimedwait(&set, NULL, &(struct timespec){1, 0}) == SIGTERM)
			return 0;
	}
}
