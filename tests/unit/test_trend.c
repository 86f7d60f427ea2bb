// SPDX-License-Identifier: GPL-2.0
/* test_trend.c - unit tests of cli/analyse/trend.c: the robust statistics (Theil-Sen,
 * Mann-Kendall, R^2, the normal tail), the series decimation, and the verdicts on
 * synthetic series sampled the way agentleak samples: x = requests handled (about
 * 200 per sample, one sample per 0.2 s), y = live bytes of one stack.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -g -Wall -Iinclude -Icli -o build/test_trend \
 *       tests/unit/test_trend.c cli/analyse/trend.c -lm
 *   build/test_trend [-v]
 * Output: one "ok - ..." or "not ok - ..." line per check, then "N passed, N failed";
 * exit status 0 only if every check passed. -v prints each verdict as it changes.
 * Deterministic: the noise comes from a fixed-seed xorshift generator. No libm.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "analyse/trend.h"

static int verbose;

#include "check.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)

/* ---- deterministic noise ---- */

static uint64_t rng_state = 88172645463325252ULL;

static void rng_seed(uint64_t seed)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
}

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* uniform in [0, 1) */
static double uniform(void)
{
	return (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Gaussian-ish (Irwin-Hall: 12 uniforms), mean 0, standard deviation 1 */
static double gauss(void)
{
	double s = 0;
	int i;

	for (i = 0; i < 12; i++)
		s += uniform();
	return s - 6;
}

static double abs_d(double v)
{
	return v < 0 ? -v : v;
}

static int near(double got, double want, double rel)
{
	return abs_d(got - want) <= rel * abs_d(want);
}

static int close_to(double got, double want, double eps)
{
	return abs_d(got - want) <= eps;
}

static double ols_slope(const double *x, const double *y, int n)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0;
	int i;

	for (i = 0; i < n; i++) {
		mx += x[i] / n;
		my += y[i] / n;
	}
	for (i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	return sxy / sxx;
}

/* ---- statistics ---- */

static void test_normal_tail(void)
{
	/* reference values: 0.5 * erfc(z / sqrt(2)) */
	CHECK(close_to(normal_tail(0), 0.5, 1e-15), "normal_tail(0) = 0.5");
	CHECK(near(normal_tail(1), 0.15865525393145707, 1e-12), "normal_tail(1)");
	CHECK(near(normal_tail(1.6448536269514722), 0.05, 1e-12), "normal_tail(1.645) = 0.05");
	CHECK(near(normal_tail(2.3263478740408408), 0.01, 1e-12), "normal_tail(2.326) = 0.01");
	CHECK(near(normal_tail(3), 0.0013498980316300957, 1e-12), "normal_tail(3)");
	CHECK(near(normal_tail(5), 2.866515718791946e-07, 1e-12), "normal_tail(5)");
	CHECK(near(normal_tail(-1), 0.8413447460685429, 1e-12), "normal_tail(-1)");
	CHECK(normal_tail(40) == 0 && normal_tail(-40) == 1, "normal_tail saturates");
}

static void test_theil_sen_exact(void)
{
	double x[20], y[20], lo, hi, s;
	int i;

	for (i = 0; i < 20; i++) {
		x[i] = 100 + 37.5 * i;
		y[i] = 4096 * x[i] + 12345;
	}
	s = theil_sen(x, y, 20, &lo, &hi);
	CHECK(s == 4096 && lo == 4096 && hi == 4096, "Theil-Sen on an exact line: %g [%g, %g]", s,
	      lo, hi);
	for (i = 0; i < 20; i++)
		y[i] = 1e6 - 3.25 * x[i];
	s = theil_sen(x, y, 20, NULL, NULL);
	CHECK(s == -3.25, "Theil-Sen on a falling exact line: %g", s);
	CHECK(theil_sen(x, y, 1, &lo, &hi) == 0 && lo == 0 && hi == 0, "Theil-Sen of 1 point is 0");
}

static void test_theil_sen_noise(void)
{
	double x[32], y[32], s;
	int i;

	rng_seed(1);
	for (i = 0; i < 32; i++) {
		x[i] = i + 1;
		y[i] = 100 * x[i] + 50 * gauss();
	}
	s = theil_sen(x, y, 32, NULL, NULL);
	CHECK(near(s, 100, 0.03), "Theil-Sen with noise (sd 50 on a 3200 rise): %.2f ~ 100", s);
}

static void test_theil_sen_outliers(void)
{
	double x[50], y[50], ts, ols;
	int trial, i, ts_ok = 0, ols_bad = 0;

	rng_seed(2);
	for (trial = 0; trial < 100; trial++) {
		for (i = 0; i < 50; i++) {
			x[i] = i;
			y[i] = 10 * i + 2 * gauss();
		}
		/* 20% gross outliers: 10 distinct points jump up by 2000..5000 */
		for (i = 0; i < 10;) {
			int k = (int)(uniform() * 50);

			if (y[k] > 1000)
				continue;
			y[k] += 2000 + 3000 * uniform();
			i++;
		}
		ts = theil_sen(x, y, 50, NULL, NULL);
		ols = ols_slope(x, y, 50);
		ts_ok += near(ts, 10, 0.1);
		ols_bad += !near(ols, 10, 0.2);
	}
	CHECK(ts_ok == 100, "Theil-Sen with 20%% gross outliers within 10%% in %d/100 trials",
	      ts_ok);
	CHECK(ols_bad >= 80, "least squares off by > 20%% in %d/100 of the same trials", ols_bad);
}

static void test_theil_sen_ties(void)
{
	/* x ties: slopes only between distinct x; sorted slopes (by hand, 24 of 28
	 * pairs): 1.5 x3, 1.75 x2, 1.833, 2 x12, 2.167, 2.25 x2, 2.5 x3 -> median 2 */
	double x1[8] = {1, 1, 2, 2, 3, 3, 4, 4};
	double y1[8] = {2, 2.5, 4, 4.5, 6, 6.5, 8, 8.5};
	/* y ties: 15 slopes 0 0 0 .333 .333 .4 .5 .5 .5 .5 .5 .5 .667 1 1 -> 0.5 */
	double x2[6] = {1, 2, 3, 4, 5, 6};
	double y2[6] = {1, 1, 2, 2, 3, 3};
	double x3[6] = {5, 5, 5, 5, 5, 5};
	double lo, hi;

	CHECK(theil_sen(x1, y1, 8, NULL, NULL) == 2, "Theil-Sen, ties in x: 2");
	CHECK(theil_sen(x2, y2, 6, &lo, &hi) == 0.5 && lo <= 0.5 && hi >= 0.5,
	      "Theil-Sen, ties in y: 0.5 [%g, %g]", lo, hi);
	CHECK(theil_sen(x3, y2, 6, &lo, &hi) == 0, "Theil-Sen, all x equal: 0");
}

static void test_theil_sen_ci(void)
{
	double x[32], y[32], lo, hi, s;
	int trial, i, hit = 0;

	rng_seed(3);
	for (trial = 0; trial < 200; trial++) {
		double xi = 0;

		for (i = 0; i < 32; i++) {
			xi += 150 + 100 * uniform();
			x[i] = xi;
			y[i] = 3 * xi + 400 * gauss();
		}
		s = theil_sen(x, y, 32, &lo, &hi);
		hit += lo <= 3 && 3 <= hi && lo <= s && s <= hi;
	}
	CHECK(hit >= 180, "95%% CI holds the true slope in %d/200 noisy trials (>= 180)", hit);
}

static void test_mann_kendall(void)
{
	double x5[5] = {1, 2, 3, 4, 5}, y5[5] = {1, 3, 2, 5, 4};
	double x6[6] = {1, 2, 3, 4, 5, 6}, y6[6] = {1, 2, 2, 3, 3, 3};
	double xt[5] = {1, 1, 2, 2, 3};
	double x8[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y8[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	double c[8] = {7, 7, 7, 7, 7, 7, 7, 7};
	double s, z, p;

	/* 1 3 2 5 4: +4 (from 1) +1 (3: -,+,+) +2 (2: +,+) -1 (5: -) = 6;
	 * var = 5*4*15/18 = 16.667; z = (6-1)/sqrt(16.667) = 1.2247; p = 0.11034 */
	s = mann_kendall(x5, y5, 5, &z, &p);
	CHECK(s == 6 && close_to(z, 1.224744871391589, 1e-9) && near(p, 0.11033568095992344, 1e-9),
	      "MK 1 3 2 5 4: S=%g z=%.4f p=%.5f (6, 1.2247, 0.11034)", s, z, p);
	/* 1 2 2 3 3 3: S = 5 + 3 + 3 = 11; y ties 2 and 3: var = (6*5*17 - 2*1*9
	 * - 3*2*11)/18 = 426/18 = 23.667; z = 10/sqrt(23.667) = 2.0556; p = 0.01991 */
	s = mann_kendall(x6, y6, 6, &z, &p);
	CHECK(s == 11 && close_to(z, 2.055566129482595, 1e-9) &&
	          near(p, 0.019912177682405368, 1e-9),
	      "MK ties in y: S=%g z=%.4f p=%.5f (11, 2.0556, 0.01991)", s, z, p);
	/* x 1 1 2 2 3, y 1..5: 10 pairs, 2 tied in x count 0: S = 8; x ties 2 and 2:
	 * var = (300 - 36)/18 = 14.667; z = 7/sqrt(14.667) = 1.8278; p = 0.03379 */
	s = mann_kendall(xt, x5, 5, &z, &p);
	CHECK(s == 8 && close_to(z, 1.8278153875348273, 1e-9) && near(p, 0.03378863152793529, 1e-9),
	      "MK ties in x: S=%g z=%.4f p=%.5f (8, 1.8278, 0.03379)", s, z, p);
	/* falling 8..1: S = -28, var = 8*7*21/18 = 65.333, z = -27/8.083 = -3.3404 */
	s = mann_kendall(x8, y8, 8, &z, &p);
	CHECK(s == -28 && close_to(z, -3.340383700311406, 1e-9) && p > 0.999,
	      "MK falling: S=%g z=%.4f p(increasing)=%.4f", s, z, p);
	s = mann_kendall(x8, c, 8, &z, &p);
	CHECK(s == 0 && z == 0 && p == 0.5, "MK constant: S=0 z=0 p=0.5");
}

static void test_mann_kendall_noise(void)
{
	double x[32], y[32], p;
	int trial, i, hits = 0;

	rng_seed(4);
	for (trial = 0; trial < 500; trial++) {
		for (i = 0; i < 32; i++) {
			x[i] = i;
			y[i] = 1e6 + 1e5 * gauss();
		}
		mann_kendall(x, y, 32, NULL, &p);
		hits += p < 0.01;
	}
	CHECK(hits < 15, "MK on pure noise: %d/500 below alpha 0.01 (< 3%%)", hits);
}

static void test_r_squared(void)
{
	double x[5] = {1, 2, 3, 4, 5}, y[5] = {2, 4, 6, 8, 10}, c[5] = {3, 3, 3, 3, 3};
	double yn[5] = {1, 3, 2, 5, 4}, x0[5] = {2, 2, 2, 2, 2};

	CHECK(close_to(r_squared(x, y, 5), 1, 1e-12), "R^2 of a line is 1");
	/* 1 3 2 5 4 against 1..5: sxy = 8, sxx = syy = 10, R^2 = 64/100 */
	CHECK(close_to(r_squared(x, yn, 5), 0.64, 1e-12), "R^2 of 1 3 2 5 4 is 0.64");
	CHECK(r_squared(x, c, 5) == 1, "R^2 of constant y is 1");
	CHECK(r_squared(x0, y, 5) == 0, "R^2 with constant x is 0");
}

/* ---- series ---- */

static void test_decimation(void)
{
	struct trend_params p;
	struct series *s;
	double t, x, y, prev = -1;
	int i, max_len = 0, mono = 1;

	trend_defaults(&p);
	s = series_new(&p);
	for (i = 0; i < 1000; i++) {
		series_add(s, 0.2 * i, 5 + 10.0 * i, 1000.0 * i);
		if (series_len(s) > max_len)
			max_len = series_len(s);
	}
	CHECK(max_len <= 32, "1000 samples into capacity 32: at most %d held", max_len);
	series_sample(s, 0, &t, &x, &y);
	CHECK(t == 0 && x == 5 && y == 0, "the first sample is kept");
	series_sample(s, series_len(s) - 1, &t, &x, &y);
	CHECK(x == 5 + 9990 && y == 999000, "the newest sample is kept (x=%g y=%g)", x, y);
	for (i = 0; i < series_len(s); i++) {
		series_sample(s, i, &t, &x, &y);
		mono &= x > prev;
		prev = x;
	}
	CHECK(mono, "x increases through the %d samples held", series_len(s));
	series_sample(s, 1, &t, &x, &y);
	CHECK(x < 5 + 9990 / 8, "the horizon reaches back to the start (sample 1 at x=%g)", x);
	CHECK(series_size(&p) <= 416, "a series takes %zu bytes (capacity 32)", series_size(&p));
	series_free(s);
}

/* ---- verdicts on simulated sampling ---- */

struct sim {
	struct trend_params p;
	struct series *s;
	struct trend_result r;
	double t, x;
	int k; /* samples added */
	const char *name;
};

static void sim_start(struct sim *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	trend_defaults(&m->p);
	m->s = series_new(&m->p);
	m->name = name;
}

/* One sample: the service handled dx more requests, the stack holds y bytes. */
static enum verdict sim_step(struct sim *m, double dx, double y)
{
	enum verdict before = m->r.verdict;

	m->t += 0.2;
	m->x += dx;
	series_add(m->s, m->t, m->x, y);
	trend_classify(m->s, &m->p, &m->r);
	m->k++;
	if (verbose && m->r.verdict != before)
		printf("# %s: sample %d x=%.0f y=%.0f -> %s (slope %.1f [%.1f, %.1f] p=%.3g "
		       "r2=%.2f)\n",
		       m->name, m->k, m->x, y, verdict_name(m->r.verdict), m->r.slope,
		       m->r.slope_lo, m->r.slope_hi, m->r.mk_p, m->r.r2);
	return m->r.verdict;
}

static double requests(void)
{
	return 150 + (int)(100 * uniform()); /* about 200 requests per sample */
}

/* (1) 4096 B per request with noise (sd 100 KiB, an eighth of one sample's
 * growth): V_LEAK by the 10th sample after warmup, with the slope there within 5%. */
static void test_leak(void)
{
	int seed, on_time = 0, slope_ok = 0, end_ok = 0, ci_ok = 0, growing_first = 0,
	          leak_third = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		int i;

		sim_start(&m, "leak");
		rng_seed(100 + seed);
		for (i = 0; i < 2 + 10; i++) {
			double dx = requests();
			enum verdict v;

			v = sim_step(&m, dx, 3 * MIB + 4096 * (m.x + dx) + 100 * KIB * gauss());
			/* the first candidates (from 6 samples after warmup) are V_GROWING
			 * until `persistence` (3) of them in a row */
			if (i == 7 || i == 8)
				growing_first += v == V_GROWING;
			if (i == 9)
				leak_third += v == V_LEAK;
		}
		on_time += m.r.verdict == V_LEAK;
		slope_ok += near(m.r.slope, 4096, 0.05);
		for (i = 0; i < 200; i++) {
			double dx = requests();

			sim_step(&m, dx, 3 * MIB + 4096 * (m.x + dx) + 100 * KIB * gauss());
		}
		end_ok += m.r.verdict == V_LEAK && near(m.r.slope, 4096, 0.01);
		ci_ok += m.r.slope_lo <= 4096 && 4096 <= m.r.slope_hi;
		series_free(m.s);
	}
	CHECK(on_time == 20, "leak 4096 B/request: V_LEAK by 10 samples after warmup, %d/20",
	      on_time);
	CHECK(slope_ok == 20, "leak 4096 B/request: slope within 5%% there, %d/20", slope_ok);
	CHECK(growing_first == 40 && leak_third == 20,
	      "leak 4096 B/request: V_GROWING, V_GROWING, then V_LEAK (persistence 3), %d/40 %d/20",
	      growing_first, leak_third);
	CHECK(end_ok == 20,
	      "leak 4096 B/request: V_LEAK 200 samples later, slope within 1%%, %d/20", end_ok);
	CHECK(ci_ok >= 17, "leak 4096 B/request: 95%% CI holds 4096 then, %d/20 (>= 17)", ci_ok);
}

/* (2) 4096 B leaked on 1 request in 10: a step function in x. */
static void test_step_leak(void)
{
	int seed, leak = 0, slope_ok = 0, first_max = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		double y = 1 * MIB;
		int i, j, first = 0;

		sim_start(&m, "step leak");
		rng_seed(200 + seed);
		for (i = 0; i < 100; i++) {
			int dx = (int)requests();

			for (j = 0; j < dx; j++)
				y += uniform() < 0.1 ? 4096 : 0;
			if (sim_step(&m, dx, y) == V_LEAK && !first)
				first = m.k;
		}
		leak += m.r.verdict == V_LEAK && first;
		if (first > first_max)
			first_max = first;
		slope_ok += near(m.r.slope, 409.6, 0.1);
		series_free(m.s);
	}
	CHECK(leak == 20, "step leak 4096 B per 10 requests: V_LEAK, %d/20 (by sample %d)", leak,
	      first_max);
	CHECK(slope_ok == 20, "step leak: slope within 10%% of 409.6, %d/20", slope_ok);
}

/* (3) a cache filled in the first 3 samples, then flat with small noise. */
static void test_fast_cache(void)
{
	int seed, never_leak = 0, plateau = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		int i, leak = 0;

		sim_start(&m, "fast cache");
		rng_seed(300 + seed);
		sim_step(&m, requests(), 0); /* the stack appeared after attach */
		for (i = 1; i < 103; i++) {
			double fill = i < 3 ? i / 3.0 : 1;

			leak |=
			    sim_step(&m, requests(), 8 * MIB * fill + 16 * KIB * gauss()) == V_LEAK;
		}
		never_leak += !leak;
		plateau += m.r.verdict == V_PLATEAU;
		series_free(m.s);
	}
	CHECK(never_leak == 20, "cache filled in 3 samples: never V_LEAK, %d/20", never_leak);
	CHECK(plateau == 20, "cache filled in 3 samples: V_PLATEAU at the end, %d/20", plateau);
}

/* (4) a cache filling linearly over 15 samples (15 MiB), then flat for 100.
 * While it fills it is a leak as far as anyone can tell (V_LEAK is allowed).
 * Once flat: V_LEAK may linger for at most 5 samples (the recent half still holds
 * filling samples), V_PLATEAU must come within 10 flat samples and hold at every
 * sample from then on; V_LEAK never comes back. */
static void test_slow_cache(void)
{
	int seed, plateau_soon = 0, stays = 0, worst = 0, leak_after = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		double full = 0;
		int i, first_plateau = 0, left = 1, last_leak = 0;

		sim_start(&m, "slow cache");
		rng_seed(400 + seed);
		for (i = 0; i < 115; i++) {
			double dx = requests();
			enum verdict v;

			if (i < 15)
				full = 15 * MIB * (i + 1) / 15;
			v = sim_step(&m, dx, full + 32 * KIB * gauss());
			if (i < 15)
				continue;
			/* flat from sample i = 15 (the 16th) on: k - 15 samples since */
			if (v == V_PLATEAU && !first_plateau)
				first_plateau = i - 14;
			if (v == V_LEAK)
				last_leak = i - 14;
			if (first_plateau && v != V_PLATEAU)
				left = 0;
		}
		plateau_soon += first_plateau && first_plateau <= 10;
		stays += left && first_plateau;
		if (first_plateau > worst)
			worst = first_plateau;
		if (last_leak > leak_after)
			leak_after = last_leak;
		series_free(m.s);
	}
	CHECK(plateau_soon == 20,
	      "cache filling over 15 samples: V_PLATEAU within 10 flat samples, %d/20 (worst %d)",
	      plateau_soon, worst);
	CHECK(stays == 20, "cache filling over 15 samples: V_PLATEAU from then on, %d/20", stays);
	CHECK(leak_after <= 5,
	      "cache filling over 15 samples: last V_LEAK %d flat samples in (<= 5)", leak_after);
}

/* (5) a buffer growing by realloc, 1 KiB per request, freed every 500..900
 * requests: sampled every ~200 requests it shows at a random phase. */
static void test_sawtooth(void)
{
	int seed, clean = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		double fill = 0, period = 700;
		int i, j, leak = 0;

		sim_start(&m, "sawtooth");
		rng_seed(500 + seed);
		for (i = 0; i < 300; i++) {
			int dx = (int)requests();

			for (j = 0; j < dx; j++) {
				fill += 1;
				if (fill >= period) {
					fill = 0;
					period = 500 + 400 * uniform();
				}
			}
			leak |= sim_step(&m, dx, 256 * KIB + fill * KIB) == V_LEAK;
		}
		clean += !leak;
		series_free(m.s);
	}
	CHECK(clean == 20,
	      "sawtooth (realloc growth freed every 500..900 requests): never V_LEAK, "
	      "%d/20",
	      clean);
}

/* (6) bursts: nothing live, now and then a sample catches 1..8 MiB in flight. */
static void test_bursts(void)
{
	int seed, clean = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		int i, leak = 0;

		sim_start(&m, "bursts");
		rng_seed(600 + seed);
		for (i = 0; i < 300; i++) {
			double y = uniform() < 0.05 ? MIB * (1 + 7 * uniform()) : 0;

			leak |= sim_step(&m, requests(), y) == V_LEAK;
		}
		clean += !leak;
		series_free(m.s);
	}
	CHECK(clean == 20, "bursts (zeros, a spike in 5%% of samples): never V_LEAK, %d/20", clean);
}

/* (7) constant */
static void test_constant(void)
{
	struct sim m;
	int i, stable = 1, none_first = 1;

	sim_start(&m, "constant");
	rng_seed(7);
	for (i = 0; i < 100; i++) {
		enum verdict v = sim_step(&m, requests(), 1 * MIB);

		if (i < 2 + 6 - 1)
			none_first &= v == V_NONE;
		else
			stable &= v == V_STABLE;
	}
	CHECK(none_first, "constant: V_NONE before warmup + min_samples");
	CHECK(stable, "constant: V_STABLE from then on");
	series_free(m.s);
}

/* (8) a leak of bytes_per_hour at 1000 requests/s in 64-byte blocks, 2 hours
 * sampled once a second: returns the verdict at the end, *leaked if V_LEAK ever. */
static enum verdict slow_leak(double bytes_per_hour, int *leaked, struct trend_result *r)
{
	struct sim m;
	double per_request = bytes_per_hour / 3600 / 1000;
	enum verdict v = V_NONE;
	int i;

	sim_start(&m, "slow leak");
	*leaked = 0;
	for (i = 0; i < 7200; i++) {
		double blocks = (int)((m.x + 1000) * per_request / 64);

		m.t += 0.8; /* sim_step adds 0.2 */
		v = sim_step(&m, 1000, 2 * MIB + 64 * blocks);
		*leaked |= v == V_LEAK;
	}
	*r = m.r;
	series_free(m.s);
	return v;
}

static void test_slow_leaks(void)
{
	struct trend_result r;
	enum verdict v;
	int leaked;

	v = slow_leak(0.5 * MIB, &leaked, &r);
	CHECK(!leaked, "slow leak 0.5 MiB/hour (below min_growth_per_hour): never V_LEAK");
	CHECK(v == V_GROWING && near(r.per_hour, 0.5 * MIB, 0.05),
	      "slow leak 0.5 MiB/hour: V_GROWING at %.2f MiB/hour (got %s)", r.per_hour / MIB,
	      verdict_name(v));
	v = slow_leak(4 * MIB, &leaked, &r);
	CHECK(v == V_LEAK && near(r.per_hour, 4 * MIB, 0.05),
	      "slow leak 4 MiB/hour: V_LEAK at %.2f MiB/hour (got %s)", r.per_hour / MIB,
	      verdict_name(v));
}

/* (9) time mode: x is t itself. */
static void test_time_mode(void)
{
	struct sim m;
	int i, first = 0, leak = 0;

	sim_start(&m, "time leak");
	rng_seed(9);
	for (i = 0; i < 100; i++) {
		double t = m.t + 0.2;

		if (sim_step(&m, 0.2, 5 * MIB + 1 * MIB * t + 30 * KIB * gauss()) == V_LEAK &&
		    !first)
			first = m.k;
	}
	CHECK(first && first <= 12 && m.r.verdict == V_LEAK,
	      "time mode: 1 MiB/s leak is V_LEAK at sample %d (<= 12) and stays", first);
	CHECK(near(m.r.slope, MIB, 0.05) && near(m.r.per_hour, 3600 * MIB, 0.05),
	      "time mode: slope %.0f B/s, %.0f MiB/hour", m.r.slope, m.r.per_hour / MIB);
	series_free(m.s);

	sim_start(&m, "time cache");
	for (i = 0; i < 100; i++) {
		double fill = i < 3 ? i / 3.0 : 1;

		leak |= sim_step(&m, 0.2, 4 * MIB * fill + 8 * KIB * gauss()) == V_LEAK;
	}
	CHECK(!leak && m.r.verdict == V_PLATEAU, "time mode: cache is V_PLATEAU, never V_LEAK");
	series_free(m.s);
}

/* (10) transient: from 1 MiB up 2 MB over 10 samples, then back down. */
static void test_transient(void)
{
	struct sim m;
	int i, leak = 0;

	sim_start(&m, "transient");
	rng_seed(10);
	for (i = 0; i < 40; i++) {
		double up = i < 10 ? 2e6 * i / 10 : i < 15 ? 2e6 : 0;

		leak |= sim_step(&m, requests(), 1 * MIB + up + 4 * KIB * gauss()) == V_LEAK;
	}
	CHECK(m.r.verdict == V_TRANSIENT, "transient: rises 2 MB, returns: %s",
	      verdict_name(m.r.verdict));
	CHECK(close_to(m.r.peak - m.r.baseline, 2e6, 20 * KIB),
	      "transient: peak %.0f over baseline", m.r.peak - m.r.baseline);
	for (i = 0; i < 300; i++)
		sim_step(&m, requests(), 1 * MIB + 4 * KIB * gauss());
	CHECK(m.r.verdict == V_TRANSIENT, "transient: still V_TRANSIENT 300 samples later (%s)",
	      verdict_name(m.r.verdict));
	series_free(m.s);
}

/* (11) white noise around a level (sd 50 KiB, just under min_bytes): V_STABLE,
 * not a plateau, transient or leak, though the range check cannot settle it. */
static void test_noisy_stable(void)
{
	int seed, leak = 0, stable = 0, total = 0;

	for (seed = 0; seed < 20; seed++) {
		struct sim m;
		int i;

		sim_start(&m, "noisy stable");
		rng_seed(1100 + seed);
		for (i = 0; i < 300; i++) {
			enum verdict v = sim_step(&m, requests(), 4 * MIB + 50 * KIB * gauss());

			if (v == V_NONE)
				continue;
			leak += v == V_LEAK;
			stable += v == V_STABLE;
			total++;
		}
		series_free(m.s);
	}
	CHECK(!leak && stable >= 0.97 * total,
	      "noisy level (sd 50 KiB): never V_LEAK, V_STABLE in %d/%d verdicts (>= 97%%)", stable,
	      total);
}

/* (12) a queue whose bytes wander and return (AR(1), correlation ~10 samples,
 * sd 2 MiB): a short stretch can look like a leak; it rarely passes for one. */
static void test_wander(void)
{
	int seed, leaked = 0;

	for (seed = 0; seed < 50; seed++) {
		struct sim m;
		double w = 0;
		int i, leak = 0;

		sim_start(&m, "wander");
		rng_seed(1200 + seed);
		for (i = 0; i < 1000; i++) {
			w = 0.9 * w + 0.436 * 2 * MIB * gauss();
			leak |= sim_step(&m, requests(), 16 * MIB + w) == V_LEAK;
		}
		leaked += leak;
		series_free(m.s);
	}
	CHECK(leaked <= 3, "wandering queue (AR(1)): V_LEAK at any point in %d/50 runs (<= 3)",
	      leaked);
}

/* trend_fit(): the numbers for a stack whose verdict did not need them. */
static void test_fit(void)
{
	struct trend_result r, f;
	struct sim m;
	int i;

	sim_start(&m, "fit");
	rng_seed(13);
	for (i = 0; i < 40; i++)
		sim_step(&m, requests(), 1 * MIB + 4 * KIB * gauss());
	trend_fit(m.s, &m.p, &f);
	r = m.r;
	CHECK(r.verdict == V_STABLE && r.slope == 0 && r.r2 == 0 && r.mk_p == 1,
	      "a stable stack's verdict leaves the statistics at 0");
	CHECK(f.verdict == V_NONE && f.n == r.n && f.mk_p < 1 && f.r2 > 0 &&
	          f.slope_lo <= f.slope && f.slope <= f.slope_hi && close_to(f.slope, 0, 10),
	      "trend_fit fills them: slope %.2f [%.2f, %.2f] B/request, p %.2f, R^2 %.3f", f.slope,
	      f.slope_lo, f.slope_hi, f.mk_p, f.r2);
	trend_classify(m.s, &m.p, &r);
	CHECK(r.verdict == V_STABLE, "trend_fit leaves the verdict state alone");
	series_free(m.s);
}

static void test_names(void)
{
	CHECK(!strcmp(verdict_name(V_NONE), "-") && !strcmp(verdict_name(V_LEAK), "leak") &&
	          !strcmp(verdict_name(V_PLATEAU), "plateau") &&
	          !strcmp(verdict_name(V_TRANSIENT), "transient") &&
	          !strcmp(verdict_name(V_GROWING), "growing") &&
	          !strcmp(verdict_name(V_STABLE), "stable"),
	      "verdict names");
}

int main(int argc, char **argv)
{
	verbose = argc > 1 && !strcmp(argv[1], "-v");
	test_normal_tail();
	test_theil_sen_exact();
	test_theil_sen_noise();
	test_theil_sen_outliers();
	test_theil_sen_ties();
	test_theil_sen_ci();
	test_mann_kendall();
	test_mann_kendall_noise();
	test_r_squared();
	test_decimation();
	test_leak();
	test_step_leak();
	test_fast_cache();
	test_slow_cache();
	test_sawtooth();
	test_bursts();
	test_constant();
	test_slow_leaks();
	test_time_mode();
	test_transient();
	test_noisy_stable();
	test_wander();
	test_fit();
	test_names();
	return check_done();
}
