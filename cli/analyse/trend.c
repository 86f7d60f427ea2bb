// SPDX-License-Identifier: GPL-2.0
/* trend.c - leak, cache (plateau), burst (transient) or stable, per stack (see trend.h).
 *
 * A series holds at most `capacity` samples: the first sample ever in full
 * precision in the header, the others as float offsets from it (12 bytes each).
 * When it is full it keeps the first, every other one and the newest, and keeps
 * one sample per 2^shift calls from then on: the horizon doubles, memory stays put.
 *
 * Rules of trend_classify(), in this order. "Used" samples are the held ones minus
 * the first `warmup` samples ever (m of them); baseline = y of the first sample
 * ever; rise = y_last - baseline; peak = max y ever - baseline; growth = y_last -
 * y_first of the used samples; the recent half is the last ceil(m/2) used samples.
 *  0. m < min_samples: V_NONE.
 *  1. Range check, O(m): max(y) - min(y) of the used samples < min_bytes and
 *     |rise| < min_bytes: V_TRANSIENT if peak >= min_bytes and rise <= 20% of peak
 *     (a burst seen long ago), else V_STABLE. Most stacks stop here, in O(1)
 *     when every y the series was ever given lies within min_bytes.
 *  Noise: e = the increments between used samples less growth/x_span per x.
 *     noise = 1.4826 * MAD(e) / sqrt(2) (white noise of y, robust to the trend);
 *     floor = max(min_bytes, 5 * noise) is the smallest change that counts below.
 *     drift_z = growth / sqrt(x_span * sum(e^2 / dx) / (m - 2)): growth against
 *     how far a trendless random walk with these increments would wander.
 *  2. Leak candidate, cheap gates first: Mann-Kendall one-sided p < alpha, growth
 *     >= floor, R^2 >= 0.8, P(Z > drift_z) < alpha; then Theil-Sen: 95% CI lower
 *     bound > 0, per_hour >= min_growth_per_hour, and the recent half still
 *     rising: its Theil-Sen slope >= 0.5 x the overall one (a filling cache bends
 *     over). A candidate in `persistence` consecutive calls is V_LEAK, before
 *     that V_GROWING; a failed candidate resets the count (a leak that stops
 *     drops back at once).
 *  3. Plateau: rise >= floor and the recent half flat: |its Theil-Sen slope x
 *     its x span| < max(floor, 10% of rise).
 *  4. Transient: peak >= max(floor, 10 * noise) and rise <= 20% of peak.
 *  5. Growing: Mann-Kendall p < 0.05, Theil-Sen slope > 0 and growth >= floor.
 *  6. Else V_STABLE.
 * Mann-Kendall is O(m^2) sign tests; Theil-Sen (O(m^2) slopes and quickselect for
 * the median and the two interval ranks) runs only when rule 2's cheap gates pass
 * or p < 0.05, and on the recent half for rules 2 and 3.
 *
 * No libm: the Makefile links the cli objects without it, so the square root and
 * the normal tail are done here (Newton; series and Laplace's continued fraction).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "analyse/trend.h"

#define MIN_CAPACITY   8
#define MAX_CAPACITY   256
#define STACK_PAIRS    2016 /* slopes kept on the stack: 64 samples */
#define Z_975          1.959963984540054
#define LEAK_MIN_R2    0.8
#define RECENT_RISING  0.5 /* recent-half slope / overall slope still a leak */
#define PLATEAU_SHARE  0.1 /* recent-half change / rise still flat */
#define TRANSIENT_LEFT 0.2 /* rise / (peak - baseline) still "back down" */
#define GROWING_P      0.05
#define NOISE_K        5.0 /* a change counts from NOISE_K x the noise of y */
#define MAD_TO_SD      1.482602218505602
#define SQRT2          1.4142135623730951

struct sample {
	float t, x, y; /* offsets from the first sample */
};

struct series {
	double x0, y0;     /* the first sample ever; y0 is the baseline */
	float t0;          /* its time (only differences matter) */
	float peak;        /* max y ever, minus y0 */
	float low;         /* min y ever, minus y0 (<= 0) */
	uint32_t pending;  /* calls folded into the newest sample so far */
	uint16_t n;        /* samples held, the first one included */
	uint16_t cap;      /* capacity */
	uint8_t nwarm;     /* held samples that are warm-up samples */
	uint8_t warm_left; /* warm-up samples still to come */
	uint8_t shift;     /* one sample kept per 1 << shift calls */
	uint8_t streak;    /* consecutive leak candidates */
	struct sample s[]; /* samples 1 .. n-1 */
};

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case V_STABLE:
		return "stable";
	case V_GROWING:
		return "growing";
	case V_LEAK:
		return "leak";
	case V_PLATEAU:
		return "plateau";
	case V_TRANSIENT:
		return "transient";
	default:
		return "-";
	}
}

void trend_defaults(struct trend_params *p)
{
	p->capacity = 32;
	p->warmup = 2;
	p->min_samples = 6;
	p->persistence = 3;
	p->min_growth_per_hour = 1024.0 * 1024.0;
	p->min_bytes = 64.0 * 1024.0;
	p->alpha = 0.01;
}

/* ---- small numerics (no libm) ---- */

static double abs_d(double v)
{
	return v < 0 ? -v : v;
}

static double max_d(double a, double b)
{
	return a > b ? a : b;
}

static int sign_d(double v)
{
	return (v > 0) - (v < 0);
}

static double root(double v)
{
	uint64_t bits;
	double r;
	int i;

	if (!(v > 0) || v > 1e300)
		return v > 0 ? v : 0;
	/* halve the exponent for a first guess within 6%, then Newton */
	memcpy(&bits, &v, sizeof(bits));
	bits = (bits + (1023ULL << 52)) >> 1;
	memcpy(&r, &bits, sizeof(r));
	for (i = 0; i < 5; i++)
		r = 0.5 * (r + v / r);
	return r;
}

/* e^a for a <= 0: a = k ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series. */
static double exp_nonpos(double a)
{
	double r, sum = 1, term = 1;
	uint64_t bits;
	double scale;
	int k, i;

	if (a < -708)
		return 0;
	k = (int)(a * 1.4426950408889634 - 0.5);
	r = a - k * 0.6931471805599453;
	for (i = 1; i <= 16; i++) {
		term *= r / i;
		sum += term;
	}
	bits = (uint64_t)(k + 1023) << 52;
	memcpy(&scale, &bits, sizeof(scale));
	return sum * scale;
}

double normal_tail(double z)
{
	double pdf, sum, term, f;
	int k;

	if (z != z)
		return z;
	if (z < 0)
		return 1 - normal_tail(-z);
	if (z > 38)
		return 0;
	pdf = 0.3989422804014327 * exp_nonpos(-0.5 * z * z);
	if (z < 3) {
		/* Phi(z) - 1/2 = pdf * (z + z^3/3 + z^5/(3*5) + ...) */
		sum = term = z;
		for (k = 1; term > 1e-17 * sum; k++) {
			term *= z * z / (2 * k + 1);
			sum += term;
		}
		return 0.5 - pdf * sum;
	}
	/* Q(z) = pdf / (z + 1/(z + 2/(z + 3/(z + ...)))), 40 terms: < 1e-14 for z >= 3 */
	f = 0;
	for (k = 40; k >= 1; k--)
		f = k / (z + f);
	return pdf / (z + f);
}

/* ---- Mann-Kendall ---- */

static int increasing(const double *x, int n)
{
	int i;

	for (i = 1; i < n; i++)
		if (!(x[i] > x[i - 1]))
			return 0;
	return 1;
}

/* S when x increases: only the signs of y matter (the usual case, and the
 * inner loop has no branch). */
static long mk_count_sorted(const double *y, int n, int *yties)
{
	long s = 0;
	int i, j, yt = 0;

	for (i = 0; i < n - 1; i++) {
		double yi = y[i];

		for (j = i + 1; j < n; j++) {
			s += (y[j] > yi) - (y[j] < yi);
			yt += y[j] == yi;
		}
	}
	*yties = yt;
	return s;
}

/* S and the number of pairs tied in x and in y. */
static double mk_count(const double *x, const double *y, int n, int *xties, int *yties)
{
	long s = 0;
	int i, j, xt = 0, yt = 0;

	if (increasing(x, n)) {
		*xties = 0;
		return (double)mk_count_sorted(y, n, yties);
	}
	for (i = 0; i < n - 1; i++) {
		for (j = i + 1; j < n; j++) {
			int sx = sign_d(x[j] - x[i]), sy = sign_d(y[j] - y[i]);

			s += sx * sy;
			xt += !sx;
			yt += !sy;
		}
	}
	*xties = xt;
	*yties = yt;
	return (double)s;
}

/* Over the groups of equal values, with t the group size: a = sum t(t-1)(2t+5),
 * b = sum t(t-1), c = sum t(t-1)(t-2). Only called when there are ties. */
static void tie_sums(const double *v, int n, double *a, double *b, double *c)
{
	int i, j, t;

	*a = *b = *c = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && v[j] != v[i]; j++)
			;
		if (j < i)
			continue; /* not the first of its group */
		for (t = 1, j = i + 1; j < n; j++)
			t += v[j] == v[i];
		*a += (double)t * (t - 1) * (2 * t + 5);
		*b += (double)t * (t - 1);
		*c += (double)t * (t - 1) * (t - 2);
	}
}

/* Variance of S under no trend, corrected for ties in x and in y (Kendall 1970). */
static double mk_variance(const double *x, const double *y, int n, int xties, int yties)
{
	double nn = n, ax = 0, bx = 0, cx = 0, ay = 0, by = 0, cy = 0, var;

	if (n < 2)
		return 0;
	if (xties)
		tie_sums(x, n, &ax, &bx, &cx);
	if (yties)
		tie_sums(y, n, &ay, &by, &cy);
	var = (nn * (nn - 1) * (2 * nn + 5) - ax - ay) / 18;
	var += bx * by / (2 * nn * (nn - 1));
	if (n > 2)
		var += cx * cy / (9 * nn * (nn - 1) * (nn - 2));
	return var > 0 ? var : 0;
}

static double mk_z(double s, double var)
{
	if (var <= 0 || s == 0)
		return 0;
	return (s - sign_d(s)) / root(var);
}

double mann_kendall(const double *x, const double *y, int n, double *z, double *p_increasing)
{
	int xt, yt;
	double s, zz;

	s = mk_count(x, y, n, &xt, &yt);
	zz = mk_z(s, mk_variance(x, y, n, xt, yt));
	if (z)
		*z = zz;
	if (p_increasing)
		*p_increasing = normal_tail(zz);
	return s;
}

/* ---- Theil-Sen ---- */

static double median3(double a, double b, double c)
{
	if (a > b) {
		double t = a;

		a = b;
		b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* Median of 3, or for long ranges the median of three medians of 3 (a better
 * split: a quarter fewer values visited on 435 slopes). */
static double pick_pivot(const double *a, int lo, int hi)
{
	int st = (hi - lo) / 8;

	if (hi - lo <= 64)
		return median3(a[lo], a[lo + (hi - lo) / 2], a[hi]);
	return median3(median3(a[lo], a[lo + st], a[lo + 2 * st]),
	               median3(a[lo + 3 * st], a[lo + 4 * st], a[lo + 5 * st]),
	               median3(a[lo + 6 * st], a[lo + 7 * st], a[hi]));
}

static void insertion_sort(double *a, int lo, int hi)
{
	int i, j;

	for (i = lo + 1; i <= hi; i++) {
		double v = a[i];

		for (j = i; j > lo && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Several order statistics at once: out[j] = the rank[j]-th smallest (0-based) of
 * a[lo..hi], rank[] ascending and within lo..hi. Quickselect, three-way around a
 * pick_pivot() pivot, out of place: the values below the pivot go to the front of
 * buf[lo..hi], those above to its back, and the two parts recurse with a and buf
 * swapped (their ranges do not overlap). Each value is stored at both ends and
 * only the right count advances: no branch on the data, which mispredicts half
 * the time on slopes (it made selection most of the classification's cost). a and
 * buf are both clobbered. */
static void select_ranks(double *a, double *buf, int lo, int hi, const int *rank, double *out,
                         int nr)
{
	int i, below = 0, above = 0, split;
	double pivot;

	if (nr == 0)
		return;
	if (hi - lo < 16) {
		insertion_sort(a, lo, hi);
		for (i = 0; i < nr; i++)
			out[i] = a[rank[i]];
		return;
	}
	pivot = pick_pivot(a, lo, hi);
	for (i = lo; i <= hi; i++) {
		double v = a[i];

		buf[lo + below] = v;
		buf[hi - above] = v;
		below += v < pivot;
		above += v > pivot;
	}
	/* ranks lo .. lo+below-1 are below, hi-above+1 .. hi above, the rest equal */
	for (split = 0; split < nr && rank[split] < lo + below; split++)
		;
	select_ranks(buf, a, lo, lo + below - 1, rank, out, split);
	for (i = split; i < nr && rank[i] <= hi - above; i++)
		out[i] = pivot;
	select_ranks(buf, a, hi - above + 1, hi, rank + i, out + i, nr - i);
}

/* The slopes of all pairs with distinct x; returns how many. */
static int pair_slopes(const double *x, const double *y, int n, double *d)
{
	int i, j, m = 0;

	if (increasing(x, n)) {
		for (i = 0; i < n - 1; i++) {
			for (j = i + 1; j < n; j++)
				d[m + j - i - 1] = (y[j] - y[i]) / (x[j] - x[i]);
			m += n - 1 - i;
		}
		return m;
	}
	for (i = 0; i < n - 1; i++) {
		for (j = i + 1; j < n; j++) {
			double dx = x[j] - x[i];

			if (dx != 0)
				d[m++] = (y[j] - y[i]) / dx;
		}
	}
	return m;
}

static int round_half(double v)
{
	return v < 0 ? -(int)(0.5 - v) : (int)(v + 0.5);
}

static int clamp_i(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Median of the m slopes in d (buf: m more doubles of scratch). With lo and hi,
 * the 95% interval too: the slopes of ranks (m - C)/2 and (m + C)/2 + 1 (1-based)
 * with C = z_0.975 * sqrt(var S) (Sen 1968), rounded to the nearest rank. */
static double slopes_median(double *d, double *buf, int m, double var, double *lo, double *hi)
{
	int rank[4], nr = 0;
	double out[4], c;

	if (m == 0) {
		if (lo)
			*lo = *hi = 0;
		return 0;
	}
	c = lo ? Z_975 * root(var) : 0;
	if (lo)
		rank[nr++] = clamp_i(round_half((m - c) / 2) - 1, 0, m - 1);
	rank[nr++] = (m - 1) / 2;
	rank[nr++] = m / 2;
	if (lo)
		rank[nr++] = clamp_i(round_half((m + c) / 2), 0, m - 1);
	if (lo && rank[0] > rank[1])
		rank[0] = rank[1];
	if (lo && rank[3] < rank[2])
		rank[3] = rank[2];
	select_ranks(d, buf, 0, m - 1, rank, out, nr);
	if (!lo)
		return 0.5 * (out[0] + out[1]);
	*lo = out[0];
	*hi = out[3];
	return 0.5 * (out[1] + out[2]);
}

/* Theil-Sen with a known Mann-Kendall variance (the interval only if lo and hi). */
static double theil_sen_var(const double *x, const double *y, int n, double var, double *lo,
                            double *hi)
{
	double stack[2 * STACK_PAIRS], *d = stack, slope;
	long pairs = (long)n * (n - 1) / 2;

	if (n < 2) {
		if (lo)
			*lo = *hi = 0;
		return 0;
	}
	if (pairs > STACK_PAIRS) {
		d = malloc(2 * pairs * sizeof(*d));
		if (!d) {
			if (lo)
				*lo = *hi = 0;
			return 0;
		}
	}
	slope = slopes_median(d, d + pairs, pair_slopes(x, y, n, d), var, lo, hi);
	if (d != stack)
		free(d);
	return slope;
}

double theil_sen(const double *x, const double *y, int n, double *lo, double *hi)
{
	double var, l, h, slope;
	int xt, yt;

	if (!lo && !hi)
		return theil_sen_var(x, y, n, 0, NULL, NULL);
	mk_count(x, y, n, &xt, &yt);
	var = mk_variance(x, y, n, xt, yt);
	slope = theil_sen_var(x, y, n, var, &l, &h);
	if (lo)
		*lo = l;
	if (hi)
		*hi = h;
	return slope;
}

double r_squared(const double *x, const double *y, int n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
	int i;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (y[i] - my) * (y[i] - my);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (sxx <= 0)
		return 0;
	if (syy <= 0)
		return 1;
	return sxy / sxx * sxy / syy;
}

/* ---- series ---- */

static int capacity_of(const struct trend_params *p)
{
	return clamp_i(p->capacity, MIN_CAPACITY, MAX_CAPACITY);
}

size_t series_size(const struct trend_params *p)
{
	return offsetof(struct series, s) + (capacity_of(p) - 1) * sizeof(struct sample);
}

struct series *series_init(void *mem, const struct trend_params *p)
{
	struct series *s = mem;

	memset(s, 0, series_size(p));
	s->cap = capacity_of(p);
	s->warm_left = clamp_i(p->warmup, 0, s->cap / 2);
	return s;
}

struct series *series_new(const struct trend_params *p)
{
	void *mem = malloc(series_size(p));

	return mem ? series_init(mem, p) : NULL;
}

void series_free(struct series *s)
{
	free(s);
}

int series_len(const struct series *s)
{
	return s->n;
}

int series_sample(const struct series *s, int i, double *t, double *x, double *y)
{
	const struct sample *e;

	if (i < 0 || i >= s->n)
		return 0;
	*t = s->t0;
	*x = s->x0;
	*y = s->y0;
	if (i > 0) {
		e = &s->s[i - 1];
		*t += e->t;
		*x += e->x;
		*y += e->y;
	}
	return 1;
}

/* Keep samples 0, 2, 4, ... and the newest; then one sample per twice as many calls. */
static void halve(struct series *s)
{
	int i, k = 1, nwarm = s->nwarm ? 1 : 0;

	for (i = 2; i < s->n - 1; i += 2, k++) {
		s->s[k - 1] = s->s[i - 1];
		nwarm += i < s->nwarm;
	}
	s->s[k - 1] = s->s[s->n - 2];
	s->n = k + 1;
	s->nwarm = nwarm;
	s->shift++;
}

static void put(struct series *s, int i, double t, double x, double y)
{
	s->s[i - 1].t = (float)(t - s->t0);
	s->s[i - 1].x = (float)(x - s->x0);
	s->s[i - 1].y = (float)(y - s->y0);
}

static void took_sample(struct series *s)
{
	if (s->warm_left) {
		s->warm_left--;
		s->nwarm++;
	}
}

void series_add(struct series *s, double t, double x, double y)
{
	if (s->n == 0) {
		s->t0 = (float)t;
		s->x0 = x;
		s->y0 = y;
		s->n = 1;
		took_sample(s);
		return;
	}
	if (y - s->y0 > s->peak)
		s->peak = (float)(y - s->y0);
	if (y - s->y0 < s->low)
		s->low = (float)(y - s->y0);
	if (s->n > 1 && s->pending < (1U << s->shift)) {
		/* the newest sample is still open: it becomes this call */
		put(s, s->n - 1, t, x, y);
		s->pending++;
		return;
	}
	if (s->n == s->cap)
		halve(s);
	put(s, s->n, t, x, y);
	s->n++;
	s->pending = 1;
	took_sample(s);
}

/* ---- classification ---- */

struct used {
	int m;
	double x[MAX_CAPACITY], y[MAX_CAPACITY];
	double t_first, t_last;
	double var;     /* Mann-Kendall variance */
	double noise;   /* robust standard deviation of y around its trend */
	double floor;   /* smallest change that counts: min_bytes, or more with noise */
	double drift_z; /* growth against how far y wanders between samples */
	int fitted;     /* the Theil-Sen fit is in the result */
};

/* The k-th held sample as offsets from the first one (which is all zeros). */
static struct sample held(const struct series *s, int k)
{
	static const struct sample first;

	return k > 0 ? s->s[k - 1] : first;
}

static void load_used(const struct series *s, struct used *u)
{
	int i;

	u->m = s->n - s->nwarm;
	for (i = 0; i < u->m; i++) {
		struct sample e = held(s, s->nwarm + i);

		u->x[i] = e.x;
		u->y[i] = e.y;
		u->t_last = e.t;
		if (i == 0)
			u->t_first = u->t_last;
	}
}

static void y_range(const struct used *u, double *lo, double *hi)
{
	int i;

	*lo = *hi = u->y[0];
	for (i = 1; i < u->m; i++) {
		if (u->y[i] < *lo)
			*lo = u->y[i];
		if (u->y[i] > *hi)
			*hi = u->y[i];
	}
}

/* The (upper) median of a[0..n-1]; a and buf are clobbered. */
static double median_of(double *a, double *buf, int n)
{
	int rank = n / 2;
	double out;

	select_ranks(a, buf, 0, n - 1, &rank, &out, 1);
	return out;
}

static double increment(const struct used *u, int i, double b)
{
	return u->y[i + 1] - u->y[i] - b * (u->x[i + 1] - u->x[i]);
}

/* The increments between used samples, less the average growth (growth / x_span
 * per x): their median absolute deviation gives the noise of y (as if white), and
 * their spread per unit of x gives how far y could wander in x_span without any
 * trend (as if a random walk). floor = max(min_bytes, NOISE_K x noise) and
 * drift_z = growth / (that spread x sqrt(x_span)). */
static void increments(struct used *u, const struct trend_params *p, double growth, double x_span)
{
	double e[MAX_CAPACITY], buf[MAX_CAPACITY], ss = 0, med, noise;
	double b = x_span > 0 ? growth / x_span : 0;
	int i, k = u->m - 1, kw = 0;

	for (i = 0; i < k; i++) {
		double w = u->x[i + 1] - u->x[i];

		e[i] = increment(u, i, b);
		if (w > 0) {
			ss += e[i] * e[i] / w;
			kw++;
		}
	}
	med = median_of(e, buf, k); /* clobbers e */
	for (i = 0; i < k; i++)
		e[i] = abs_d(increment(u, i, b) - med);
	u->noise = noise = MAD_TO_SD * median_of(e, buf, k) / SQRT2;
	u->floor = max_d(p->min_bytes, NOISE_K * noise);
	if (kw < 2 || ss <= 0)
		u->drift_z = growth > 0 ? 1e300 : 0;
	else
		u->drift_z = growth / root(ss / (kw - 1) * x_span);
}

static int recent_start(const struct used *u)
{
	return u->m - (u->m + 1) / 2;
}

static double recent_slope(const struct used *u)
{
	int k = recent_start(u);

	return theil_sen_var(u->x + k, u->y + k, u->m - k, 0, NULL, NULL);
}

static double recent_span(const struct used *u)
{
	return u->x[u->m - 1] - u->x[recent_start(u)];
}

/* Rule 4: y came back down after rising (rise and peak relative to the baseline). */
static int came_back(double rise, double peak, double floor)
{
	return peak >= floor && rise <= TRANSIENT_LEFT * peak;
}

/* Theil-Sen of all used samples with its interval, and the growth rate per hour. */
static void fit_slope(struct used *u, struct trend_result *r)
{
	double t_span = u->t_last - u->t_first;

	r->slope = theil_sen_var(u->x, u->y, u->m, u->var, &r->slope_lo, &r->slope_hi);
	u->fitted = 1;
	if (t_span > 0)
		r->per_hour = r->slope * r->x_span / t_span * 3600;
}

/* Rule 2 (the Mann-Kendall and R^2 results are in r already). */
static int leak_candidate(struct used *u, const struct trend_params *p, struct trend_result *r)
{
	if (!(r->mk_p < p->alpha) || r->growth < u->floor || r->r2 < LEAK_MIN_R2)
		return 0;
	if (!(normal_tail(u->drift_z) < p->alpha))
		return 0;
	fit_slope(u, r);
	if (!(r->slope_lo > 0) || r->per_hour < p->min_growth_per_hour)
		return 0;
	return recent_slope(u) >= RECENT_RISING * r->slope;
}

/* Rule 3. */
static int flattened(const struct used *u, double rise)
{
	double limit = PLATEAU_SHARE * rise;

	if (rise < u->floor)
		return 0;
	if (limit < u->floor)
		limit = u->floor;
	return abs_d(recent_slope(u) * recent_span(u)) < limit;
}

/* Rule 1's verdict, once the range check passed. */
static enum verdict quiet_verdict(struct series *s, const struct trend_params *p, double rise)
{
	s->streak = 0;
	return came_back(rise, s->peak, p->min_bytes) ? V_TRANSIENT : V_STABLE;
}

/* Rule 1 without loading the samples: every y the series was ever given (the held
 * ones among them) lies within min_bytes, so the range check passes. Most stacks
 * stop here, in O(1). */
static int quiet_ever(const struct series *s, const struct trend_params *p)
{
	double rise = held(s, s->n - 1).y;

	return (double)s->peak - s->low < p->min_bytes && abs_d(rise) < p->min_bytes;
}

static enum verdict classify_used(struct series *s, const struct trend_params *p, struct used *u,
                                  struct trend_result *r)
{
	double lo, hi, s_mk, rise = u->y[u->m - 1];
	int xt, yt;

	/* rule 1: the range check */
	y_range(u, &lo, &hi);
	if (hi - lo < p->min_bytes && abs_d(rise) < p->min_bytes)
		return quiet_verdict(s, p, rise);

	s_mk = mk_count(u->x, u->y, u->m, &xt, &yt);
	u->var = mk_variance(u->x, u->y, u->m, xt, yt);
	r->mk_z = mk_z(s_mk, u->var);
	r->mk_p = normal_tail(r->mk_z);
	r->r2 = r_squared(u->x, u->y, u->m);
	increments(u, p, r->growth, r->x_span);

	/* rule 2 */
	if (leak_candidate(u, p, r)) {
		if (s->streak < 255)
			s->streak++;
		return s->streak >= clamp_i(p->persistence, 1, 255) ? V_LEAK : V_GROWING;
	}
	s->streak = 0;
	if (r->mk_p < GROWING_P && !u->fitted)
		fit_slope(u, r);

	if (flattened(u, rise))
		return V_PLATEAU;
	if (came_back(rise, s->peak, max_d(u->floor, 2 * NOISE_K * u->noise)))
		return V_TRANSIENT;
	if (r->mk_p < GROWING_P && r->slope > 0 && r->growth >= u->floor)
		return V_GROWING;
	return V_STABLE;
}

/* The common part of trend_classify() and trend_fit(): the always-set fields;
 * returns 0 when there are too few samples. */
static int start_result(const struct series *s, const struct trend_params *p,
                        struct trend_result *r)
{
	struct sample first, last;

	memset(r, 0, sizeof(*r));
	r->mk_p = 1;
	r->baseline = s->y0;
	r->peak = s->y0 + s->peak;
	r->n = s->n - s->nwarm;
	if (r->n < p->min_samples || r->n < 3)
		return 0;
	first = held(s, s->nwarm);
	last = held(s, s->n - 1);
	r->growth = (double)last.y - first.y;
	r->x_span = (double)last.x - first.x;
	return 1;
}

void trend_fit(const struct series *s, const struct trend_params *p, struct trend_result *r)
{
	struct used u;
	int xt, yt;
	double s_mk;

	if (!start_result(s, p, r))
		return;
	load_used(s, &u);
	u.fitted = 0;
	s_mk = mk_count(u.x, u.y, u.m, &xt, &yt);
	u.var = mk_variance(u.x, u.y, u.m, xt, yt);
	r->mk_z = mk_z(s_mk, u.var);
	r->mk_p = normal_tail(r->mk_z);
	r->r2 = r_squared(u.x, u.y, u.m);
	fit_slope(&u, r);
}

void trend_classify(struct series *s, const struct trend_params *p, struct trend_result *r)
{
	struct used u;

	if (!start_result(s, p, r)) {
		s->streak = 0;
		r->verdict = V_NONE;
		return;
	}
	if (quiet_ever(s, p)) {
		r->verdict = quiet_verdict(s, p, held(s, s->n - 1).y);
		return;
	}
	load_used(s, &u);
	u.fitted = 0;
	r->verdict = classify_used(s, p, &u, r);
}
