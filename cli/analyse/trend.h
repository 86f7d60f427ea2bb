/* SPDX-License-Identifier: GPL-2.0 */
/* trend.h - is a stack's live-bytes series a leak, a cache, a burst or stable?
 *
 * The sampler feeds one series per allocation stack: (t, x, y) with t seconds since
 * start, x the request count (or t when there is no request source) and y the live
 * bytes. trend_classify() fits y against x robustly (Theil-Sen, Mann-Kendall) and
 * gives a verdict with the numbers the report prints (bytes per request with its
 * interval, bytes per hour). See docs/design.md section 5 and the rules in trend.c.
 * Pure code (libc only, not even libm): unit tested in tests/unit/test_trend.c.
 */
#ifndef AL_TREND_H
#define AL_TREND_H

#include <stddef.h>

/* One sample of a stack's series as the reports plot it. */
struct trend_point {
	double t; /* seconds since attach */
	double x; /* requests (seconds in time mode) */
	double y; /* live bytes (a thread stack's: live threads) */
};

enum verdict {
	V_NONE = 0, /* not enough samples yet */
	V_STABLE,
	V_GROWING,
	V_LEAK,
	V_PLATEAU,
	V_TRANSIENT,
};

/* "-", "stable", "growing", "leak", "plateau", "transient" */
const char *verdict_name(enum verdict v);

struct trend_params {
	int capacity;               /* samples kept per series, 8..256; default 32 */
	int warmup;                 /* first samples not used, <= capacity/2; default 2 */
	int min_samples;            /* used samples before any verdict; default 6 */
	int persistence;            /* consecutive leak candidates before V_LEAK; default 3 */
	double min_growth_per_hour; /* bytes/hour below which nothing is a leak; default 1 MiB */
	double min_bytes;           /* smallest change that counts; default 64 KiB */
	double alpha;               /* one-sided Mann-Kendall level of a leak; default 0.01 */
};

/* A full series halves to capacity/2 + 1 samples: keep warmup + min_samples
 * below that, or the verdict goes back to V_NONE after a halving. */
void trend_defaults(struct trend_params *p);

/* The statistics are computed only as far as the verdict needs them; the others
 * are 0 (mk_p 1). n, x_span, growth, baseline and peak are always set (from
 * min_samples on); mk_z, mk_p and r2 once the range check cannot settle the
 * series; slope, slope_lo, slope_hi and per_hour when mk_p < 0.05. */
struct trend_result {
	enum verdict verdict;
	int n;           /* samples used for the trend (after warmup) */
	double slope;    /* Theil-Sen slope of y against x (bytes per request) */
	double slope_lo; /* its 95% confidence interval (Sen 1968) */
	double slope_hi;
	double per_hour;   /* slope * requests per hour over the samples used */
	double r2;         /* R^2 of the least-squares line of y on x */
	double mk_z, mk_p; /* Mann-Kendall z and one-sided p for an increasing trend */
	double x_span;     /* x covered by the samples used */
	double growth;     /* y_last - y_first over the samples used */
	double baseline;   /* y of the very first sample the series got */
	double peak;       /* max y ever */
};

struct series;

/* NULL when out of memory. */
struct series *series_new(const struct trend_params *p);
void series_free(struct series *s);
/* For callers that keep many series in one block: make the series_size(p) bytes at
 * mem (aligned for a double) an empty series; nothing to free but the block. */
struct series *series_init(void *mem, const struct trend_params *p);
/* Add one sample. Samples come in increasing t and x. When the series is full it
 * keeps every other sample (and always the first and the newest) and from then on
 * keeps one sample per 2 (4, 8, ...) calls: the newest sample is overwritten by the
 * following calls until it stands for that many calls, so the last sample is always
 * the latest call and the horizon doubles instead of forgetting the start. */
void series_add(struct series *s, double t, double x, double y);
/* Samples held now, warm-up ones included (for tests and the memory budget). */
int series_len(const struct series *s);
/* The i-th sample held (0 is the first sample ever); 0 if i is out of range. */
int series_sample(const struct series *s, int i, double *t, double *x, double *y);
/* Classify the series now; call it once after each series_add(). It keeps the
 * persistence state (consecutive leak candidates) inside the series. */
void trend_classify(struct series *s, const struct trend_params *p, struct trend_result *out);
/* All the statistics of the result (Mann-Kendall, R^2, Theil-Sen with its
 * interval, per_hour) whatever the verdict, for the few stacks a report shows;
 * out->verdict is V_NONE and the series' persistence state is left alone. */
void trend_fit(const struct series *s, const struct trend_params *p, struct trend_result *out);
/* Bytes one series takes, for the memory budget. */
size_t series_size(const struct trend_params *p);

/* Pure statistics, exposed for the unit tests. Pairs (i, j) are ordered by x;
 * pairs with equal x carry no slope and no sign. */

/* Theil-Sen slope: the median of the pairwise slopes. lo and hi (may be NULL) get
 * its 95% confidence interval from the Mann-Kendall variance (Sen 1968). */
double theil_sen(const double *x, const double *y, int n, double *lo, double *hi);
/* Mann-Kendall S = sum of sign(x_j - x_i) * sign(y_j - y_i). z (continuity
 * corrected, variance corrected for ties in x and in y) and p_increasing (the
 * one-sided p of an increasing trend) may be NULL. */
double mann_kendall(const double *x, const double *y, int n, double *z, double *p_increasing);
/* R^2 of the least-squares line of y on x: 1 when y is constant, 0 when x is. */
double r_squared(const double *x, const double *y, int n);
/* Upper tail of the standard normal, P(Z > z), without libm. */
double normal_tail(double z);

#endif
