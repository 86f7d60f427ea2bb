// SPDX-License-Identifier: GPL-2.0
/* classify_bench: CPU cost of one trend classification pass (cli/analyse/trend.c) over
 * 10,000 stacks, and the memory the series take. Not part of bench/run.sh.
 *
 *   gcc -O2 -Iinclude -Icli -o build/bench/classify_bench bench/classify_bench.c cli/analyse/trend.c -lm
 *   build/bench/classify_bench [stacks]
 *
 * A pass is what agentleak does every ~0.2 s: series_add() one new sample to
 * each series and trend_classify() it (the samples are made before the clock
 * starts). Each mix is measured two ways, 20 passes
 * each, the median printed (CPU time of the process, CLOCK_PROCESS_CPUTIME_ID):
 *  - full: every series holds 31 samples (refilled, untimed, before each pass),
 *    so the timed add makes 32, the most a series holds: the dearest pass;
 *  - running: the same series keep going (they halve at 32 and hold 18..32).
 * Mixes: realistic (70% constant or nearly, 20% noise without trend, 5% cache
 * plateau, 5% leak) and worst (every stack leaking with noise: Mann-Kendall,
 * Theil-Sen with its interval and the recent-half Theil-Sen for each one).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "analyse/trend.h"

#define PASSES 20
#define FILL   31
#define KIB    1024.0
#define MIB    (1024.0 * 1024.0)

enum kind { K_CONSTANT, K_NOISE, K_PLATEAU, K_LEAK };

struct stack {
	struct series *s;
	enum kind kind;
	double level, slope, noise;
	double next; /* live bytes for the next timed sample, made before the clock starts */
	int k;       /* samples given */
};

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
	double s = 0;
	int i;

	for (i = 0; i < 12; i++)
		s += uniform();
	return s - 6;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Live bytes of a stack at its k-th sample, x requests handled so far. */
static double live_bytes(const struct stack *st, double x)
{
	switch (st->kind) {
	case K_CONSTANT:
		return st->level + st->noise * gauss();
	case K_NOISE:
		return st->level + st->noise * gauss();
	case K_PLATEAU:
		return st->level * (st->k < 3 ? st->k / 3.0 : 1) + st->noise * gauss();
	default:
		return st->level + st->slope * x + st->noise * gauss();
	}
}

static void pick_kind(struct stack *st, int i, int worst)
{
	int r = i % 100;

	st->kind = worst    ? K_LEAK
	           : r < 70 ? K_CONSTANT
	           : r < 90 ? K_NOISE
	           : r < 95 ? K_PLATEAU
	                    : K_LEAK;
	st->level = (1 + 63 * uniform()) * KIB * (st->kind == K_PLATEAU ? 64 : 16);
	switch (st->kind) {
	case K_CONSTANT:
		/* half exactly constant, half wobbling well inside min_bytes */
		st->noise = i % 2 ? 0 : 2 * KIB;
		break;
	case K_NOISE:
		st->noise = (50 + 150 * uniform()) * KIB;
		break;
	case K_PLATEAU:
		st->noise = 8 * KIB;
		break;
	case K_LEAK:
		st->slope = 64 + 4032 * uniform();
		st->noise = st->slope * 200 * 0.2 * uniform(); /* up to 20% of a step */
		break;
	}
}

static void add(struct stack *st, double t, double x)
{
	series_add(st->s, t, x, live_bytes(st, x));
	st->k++;
}

static void refill(struct stack *stacks, int n, const struct trend_params *p)
{
	int i, k;

	for (i = 0; i < n; i++) {
		series_free(stacks[i].s);
		stacks[i].s = series_new(p);
		stacks[i].k = 0;
		for (k = 0; k < FILL; k++)
			add(&stacks[i], 0.2 * k, 200.0 * k);
	}
}

static double pass(struct stack *stacks, int n, const struct trend_params *p, double t,
                   int counts[6])
{
	struct trend_result r;
	double start;
	int i;

	for (i = 0; i < n; i++)
		stacks[i].next = live_bytes(&stacks[i], 1000 * t);
	start = cpu_ms();
	for (i = 0; i < n; i++) {
		series_add(stacks[i].s, t, 1000 * t, stacks[i].next);
		trend_classify(stacks[i].s, p, &r);
		counts[r.verdict]++;
	}
	start = cpu_ms() - start;
	for (i = 0; i < n; i++)
		stacks[i].k++;
	return start;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void print_counts(const int counts[6])
{
	int v;

	printf("   verdicts of the last pass:");
	for (v = 0; v < 6; v++)
		printf(" %s %d", verdict_name(v), counts[v]);
	printf("\n");
}

static void run(const char *name, int n, int worst, const struct trend_params *p)
{
	struct stack *stacks = calloc(n, sizeof(*stacks));
	double full[PASSES], running[PASSES], t, med;
	int counts[6], i, j;

	for (i = 0; i < n; i++)
		pick_kind(&stacks[i], i, worst);
	for (j = 0; j < PASSES; j++) {
		refill(stacks, n, p);
		for (i = 0; i < 6; i++)
			counts[i] = 0;
		full[j] = pass(stacks, n, p, 0.2 * FILL, counts);
	}
	med = median(full, PASSES); /* sorts full[] */
	printf("%s, %d stacks, full (32 samples held): median %.2f ms per pass (min %.2f, "
	       "max %.2f)\n",
	       name, n, med, full[0], full[PASSES - 1]);
	print_counts(counts);
	for (j = 0, t = 0.2 * (FILL + 1); j < PASSES; j++, t += 0.2) {
		for (i = 0; i < 6; i++)
			counts[i] = 0;
		running[j] = pass(stacks, n, p, t, counts);
	}
	med = median(running, PASSES);
	printf("%s, %d stacks, running (18..32 held): median %.2f ms per pass (min %.2f, "
	       "max %.2f)\n",
	       name, n, med, running[0], running[PASSES - 1]);
	print_counts(counts);
	for (i = 0; i < n; i++)
		series_free(stacks[i].s);
	free(stacks);
}

int main(int argc, char **argv)
{
	struct trend_params p;
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	size_t size;

	if (n <= 0) {
		fprintf(stderr, "usage: classify_bench [stacks]\n");
		return 2;
	}
	trend_defaults(&p);
	size = series_size(&p);
	printf("series: %zu bytes each (capacity %d); 10k stacks %.2f MiB, 50k stacks %.2f MiB "
	       "(plus malloc's own ~16 bytes per block)\n",
	       size, p.capacity, 10000.0 * size / MIB, 50000.0 * size / MIB);
	run("realistic mix", n, 0, &p);
	run("worst case (all leaking)", n, 1, &p);
	return 0;
}
