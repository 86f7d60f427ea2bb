// SPDX-License-Identifier: GPL-2.0
/* pairloop: measure the cost of one malloc(32) + free pair, for bench/run.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PAIRS 200000L

/* Stores through a volatile pointer keep the compiler from eliding the pairs. */
static void *volatile sink;

static long parse_pairs(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n <= 0) {
		fprintf(stderr, "pairloop: bad pair count '%s'\n", s);
		exit(2);
	}
	return n;
}

static double now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = DEFAULT_PAIRS, i;
	double t0, t1, c0, c1;
	sigset_t set;
	int sig;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PAIRS]\n", argv[0]);
		return 2;
	}
	if (argc == 2)
		n = parse_pairs(argv[1]);

	/* Block SIGUSR1 before announcing ourselves so it can't be lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL)) {
		perror("pairloop: sigprocmask");
		return 1;
	}

	/* Warm up the allocator so the first pair is not a cold path. */
	sink = malloc(32);
	free(sink);

	printf("ready %d\n", (int)getpid());
	fflush(stdout);

	if (sigwait(&set, &sig)) {
		fprintf(stderr, "pairloop: sigwait failed\n");
		return 1;
	}

	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	t0 = now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		char *p = malloc(32);

		if (!p)
			abort();
		p[0] = (char)i;
		sink = p;
		free(sink);
	}
	t1 = now_ns(CLOCK_MONOTONIC);
	c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);

	/*
	 * The result is wall time; CPU time (which includes the kernel's uprobe
	 * work) is printed too, so that a run slowed by preemption can be told.
	 */
	printf("ns_per_pair %.1f\n", (t1 - t0) / (double)n);
	printf("cpu_ns_per_pair %.1f\n", (c1 - c0) / (double)n);
	fflush(stdout);
	return 0;
}
