// SPDX-License-Identifier: GPL-2.0
/* test_analyse.c - unit tests of cli/analyse/analyse.c: the analyser that turns samples into
 * per-stack verdicts.
 *
 * Samples are built by hand (struct sample rows, no BPF): sample k (1, 2, ...) is taken at
 * t = 0.25 k s after 200 k requests, so every t, x and y below is exact in the series' float
 * offsets and the expected slopes are exact. Patterns: a linear leak of 4096 B/request (its
 * slope, interval and bytes/hour must come out exactly), a cache that fills in 4 samples
 * then stays (plateau), a 2 MiB bump that goes away (transient), a constant stack (stable),
 * a negative live count (read as 0), a stack first seen late (its zero point), idle samples
 * (no point), time mode, two processes and forgetting one (with enough stacks to fill more
 * than one block of the store), untracked allocations freezing a verdict, the growth tier
 * (analyser_growing, analyser_forget_precise, the anonymous-memory confirmation), thread
 * stacks (their series is live threads, judged by thresholds in threads: --min-growth /
 * THREAD_WEIGHT; their reserved bytes are not the process's live bytes) and the process
 * limit.
 * With the defaults (warmup 2, min_samples 6, persistence 3) a clean leak has no verdict for
 * 7 samples, reads growing at samples 8 and 9 and leak from sample 10 on.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analyse/analyse.h"

#include "check.h"

#define KIB 1024ULL
#define MIB (1024ULL * 1024)

/* Above PID_MAX_LIMIT (4194304 on 64-bit): no such process, so no memory reading. */
#define PID_A 5000001
#define PID_B 5000002

#define MAX_ROWS 2400
#define NFILL    1100 /* filler stacks per process: 2200 stacks, three blocks of 1024 */

static struct sample_row rows[MAX_ROWS];
static struct sample smp = {.rows = rows, .cap = MAX_ROWS};

static struct al_stack_key key(int pid, int stackid, enum al_kind kind)
{
	struct al_stack_key k = {
	    .tgid = pid, .stackid = stackid, .caller = 0x401000 + 16 * stackid, .kind = kind};

	return k;
}

static struct sample_row *add_row(struct al_stack_key k, unsigned long long live)
{
	struct sample_row *r = &rows[smp.n++];

	memset(r, 0, sizeof(*r));
	r->key = k;
	r->st.live_bytes = live;
	r->st.live_objects = live / 64;
	r->st.allocs = live / 64 + 1;
	r->st.alloc_bytes = live;
	return r;
}

static double t_of(int k)
{
	return 0.25 * k;
}

static double x_of(int k)
{
	return 200.0 * k;
}

/* The leak: 4096 B per request handled. */
static unsigned long long leak_y(int k)
{
	return 4096ULL * 200 * k;
}

static enum verdict brief(struct analyser *an, struct al_stack_key k)
{
	const struct trend_result *r = analyser_verdict_brief(an, &k);

	return r ? r->verdict : V_NONE;
}

static int same_key(const struct al_stack_key *a, const struct al_stack_key *b)
{
	return a->tgid == b->tgid && a->stackid == b->stackid && a->caller == b->caller &&
	       a->kind == b->kind;
}

static int near(double got, double want, double rel)
{
	double d = got - want;

	return (d < 0 ? -d : d) <= rel * (want < 0 ? -want : want);
}

/* One process, five patterns side by side, 40 samples. */
static void test_patterns(void)
{
	struct al_stack_key leak = key(PID_A, 1, AL_MALLOC), cache = key(PID_A, 2, AL_CALLOC),
	                    bump = key(PID_A, 3, AL_REALLOC), flat = key(PID_A, 4, AL_MALLOC),
	                    neg = key(PID_A, 5, AL_MMAP), late = key(PID_A, 6, AL_MALLOC),
	                    nokey = key(PID_A, 99, AL_MALLOC);
	enum verdict v[41];
	const struct al_stack_key *lk;
	const struct trend_result *r;
	const struct proc_view *pv;
	struct trend_point pts[64];
	struct trend_params p;
	struct analyser *an;
	int pid = PID_A, k, n, ok, cache_leak = 0, bump_leak = 0;
	double x;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	CHECK(an && analyser_add_process(an, PID_A) == 0, "analyser_new, analyser_add_process");
	pv = analyser_process(an, PID_A);
	CHECK(pv && pv->pid == PID_A && pv->requests == 0 && !pv->have_mem && pv->oom_eta == -1 &&
	          pv->live == 0,
	      "a new process view: pid, 0 requests, no memory reading, no OOM ETA");
	CHECK(!analyser_process(an, PID_B), "no view of a process never added");
	CHECK(!analyser_time_mode(an), "request mode");

	for (k = 1; k <= 40; k++) {
		smp.n = 0;
		add_row(leak, leak_y(k));
		add_row(cache, (k < 4 ? k : 4) * MIB);
		add_row(bump, k >= 4 && k <= 9 ? 3 * MIB : 1 * MIB);
		add_row(flat, 512 * KIB);
		add_row(neg, (unsigned long long)-8192LL);
		if (k >= 5)
			add_row(late, 8192);
		x = x_of(k);
		analyser_sample(an, &smp, t_of(k), &pid, &x, 1);
		v[k] = brief(an, leak);
		cache_leak |= brief(an, cache) == V_LEAK;
		bump_leak |= brief(an, bump) == V_LEAK;
		if (k == 6) {
			/* first seen at k = 5: a zero at the previous x, then its bytes */
			n = analyser_points(an, &late, pts, 64);
			CHECK(n == 3 && pts[0].t == 1.25 && pts[0].x == 800 && pts[0].y == 0 &&
			          pts[1].t == 1.25 && pts[1].x == 1000 && pts[1].y == 8192 &&
			          pts[2].t == 1.5 && pts[2].x == 1200 && pts[2].y == 8192,
			      "a stack first seen at sample 5 starts with 0 B at sample 4's x: "
			      "%d points (%g,%g,%g) (%g,%g,%g)",
			      n, pts[0].t, pts[0].x, pts[0].y, pts[1].t, pts[1].x, pts[1].y);
			n = analyser_points(an, &leak, pts, 64);
			CHECK(n == 6 && pts[0].x == 200 && pts[0].y == leak_y(1) &&
			          pts[5].t == 1.5 && pts[5].x == 1200 && pts[5].y == leak_y(6),
			      "the leak's 6 points are (t, requests, live bytes) as fed (%d)", n);
			CHECK(analyser_points(an, &leak, NULL, 0) == 6 &&
			          analyser_points(an, &leak, pts, 2) == 6,
			      "analyser_points counts without filling, or beyond max");
		}
	}
	for (k = 1, ok = 1; k <= 7; k++)
		ok &= v[k] == V_NONE;
	CHECK(ok, "leak: no verdict for the first 7 samples (warmup 2 + min_samples 6)");
	CHECK(v[8] == V_GROWING && v[9] == V_GROWING, "leak: growing at samples 8 and 9 (%s, %s)",
	      verdict_name(v[8]), verdict_name(v[9]));
	for (k = 10, ok = 1; k <= 40; k++)
		ok &= v[k] == V_LEAK;
	CHECK(ok, "leak: leak from sample 10 (persistence 3) to 40");

	r = analyser_verdict(an, &leak);
	CHECK(r && r->verdict == V_LEAK && r->slope == 4096 && r->slope_lo == 4096 &&
	          r->slope_hi == 4096,
	      "leak: exactly 4096 B/request, interval 4096..4096 (%.6f [%.6f, %.6f])",
	      r ? r->slope : 0, r ? r->slope_lo : 0, r ? r->slope_hi : 0);
	/* 800 requests/s: 4096 * 800 * 3600 B/hour */
	CHECK(r && near(r->per_hour, 4096.0 * 800 * 3600, 1e-9) && near(r->r2, 1, 1e-12),
	      "leak: %.0f B/hour (11796480000), R2 %.6f (1)", r ? r->per_hour : 0, r ? r->r2 : 0);
	CHECK(r && r->baseline == leak_y(1) && r->peak == leak_y(40),
	      "leak: baseline = first sample, peak = last (%.0f, %.0f)", r ? r->baseline : 0,
	      r ? r->peak : 0);

	CHECK(!cache_leak && brief(an, cache) == V_PLATEAU,
	      "cache filled in 4 samples then flat: plateau, never leak (%s)",
	      verdict_name(brief(an, cache)));
	r = analyser_verdict(an, &bump);
	CHECK(!bump_leak && r && r->verdict == V_TRANSIENT && r->baseline == 1 * MIB &&
	          r->peak == 3 * MIB,
	      "1 MiB, 3 MiB for samples 4..9, 1 MiB again: transient, baseline 1 MiB, peak 3 MiB "
	      "(%s)",
	      r ? verdict_name(r->verdict) : "none");
	CHECK(brief(an, flat) == V_STABLE, "constant 512 KiB: stable");
	r = analyser_verdict(an, &flat);
	CHECK(r && r->verdict == V_STABLE && r->slope == 0 && r->slope_lo == 0 &&
	          r->slope_hi == 0 && r->mk_p == 0.5 && r->per_hour == 0,
	      "constant: the full verdict is still stable, slope 0 [0, 0], Mann-Kendall p 0.5");
	n = analyser_points(an, &neg, pts, 64);
	for (k = 0, ok = n > 0; k < n && k < 64; k++)
		ok &= pts[k].y == 0;
	CHECK(ok && brief(an, neg) == V_STABLE,
	      "live bytes below zero (u64 -8192) count as 0: %d points at 0, stable", n);

	n = analyser_leaks(an, &lk);
	CHECK(n == 1 && same_key(&lk[0], &leak), "analyser_leaks: the one leak (%d)", n);
	CHECK(!analyser_verdict(an, &nokey) && !analyser_verdict_brief(an, &nokey) &&
	          analyser_points(an, &nokey, pts, 64) == 0,
	      "an unknown stack: no verdict, no points");
	pv = analyser_process(an, PID_A);
	CHECK(pv->requests == 8000 && pv->live == leak_y(40) + 4 * MIB + 1 * MIB + 512 * KIB + 8192,
	      "process view: 8000 requests, live = the positive rows summed (%llu)", pv->live);

	/* Idle: the request count did not move. No point, the verdict stays. */
	n = analyser_points(an, &leak, NULL, 0);
	smp.n = 0;
	add_row(leak, leak_y(50));
	x = 8000;
	analyser_sample(an, &smp, t_of(41), &pid, &x, 1);
	r = analyser_verdict_brief(an, &leak);
	CHECK(analyser_points(an, &leak, pts, 64) == n && r && r->verdict == V_LEAK &&
	          r->slope == 4096,
	      "idle sample (requests still 8000): no new point, still leak at 4096 B/request");
	x = 8200;
	analyser_sample(an, &smp, t_of(42), &pid, &x, 1);
	n = analyser_points(an, &leak, pts, 64);
	CHECK(n > 0 && pts[n - 1].x == 8200 && pts[n - 1].y == leak_y(50) &&
	          pts[n - 1].t == t_of(42),
	      "the next request moves the x axis: a point at 8200 (%g)", n > 0 ? pts[n - 1].x : 0);
	analyser_free(an);
}

/* Time mode: the x axis is t; a leak of 16 MiB/s. */
static void test_time_mode(void)
{
	struct al_stack_key leak = key(PID_A, 1, AL_MALLOC);
	const struct trend_result *r;
	struct trend_params p;
	struct analyser *an;
	int pid = PID_A, k, first = 0;
	double zero = 0;

	trend_defaults(&p);
	an = analyser_new(&p, true);
	analyser_add_process(an, PID_A);
	CHECK(analyser_time_mode(an), "time mode");
	for (k = 1; k <= 12; k++) {
		smp.n = 0;
		add_row(leak, 4 * MIB * k);
		analyser_sample(an, &smp, t_of(k), &pid, &zero, 1); /* requests ignored */
		if (!first && brief(an, leak) == V_LEAK)
			first = k;
	}
	r = analyser_verdict(an, &leak);
	CHECK(first == 10, "time mode: leak at sample 10 though no request was counted (%d)",
	      first);
	CHECK(r && r->slope == 16.0 * MIB && near(r->per_hour, 16.0 * MIB * 3600, 1e-9),
	      "time mode: exactly 16 MiB/s (%.0f), %.0f B/hour (60397977600)", r ? r->slope : 0,
	      r ? r->per_hour : 0);
	CHECK(analyser_process(an, PID_A)->requests == 3,
	      "time mode: the view's requests are the seconds (%g)",
	      analyser_process(an, PID_A)->requests);
	analyser_free(an);
}

/* Two processes, one forgotten (it executed another program). */
static void feed_two(struct analyser *an, int k)
{
	int pids[2] = {PID_A, PID_B}, i;
	double x[2] = {x_of(k), 300.0 * k};

	smp.n = 0;
	add_row(key(PID_A, 1, AL_MALLOC), leak_y(k));
	add_row(key(PID_B, 1, AL_MALLOC), 1000ULL * 300 * k); /* 1000 B/request */
	for (i = 0; i < NFILL; i++) {
		add_row(key(PID_A, 100 + i, AL_MALLOC), 64ULL * (i + 1));
		add_row(key(PID_B, 100 + i, AL_CALLOC), 128ULL * (i + 1));
	}
	analyser_sample(an, &smp, t_of(k), pids, x, 2);
}

static void test_forget_process(void)
{
	struct al_stack_key la = key(PID_A, 1, AL_MALLOC), lb = key(PID_B, 1, AL_MALLOC),
	                    fa = key(PID_A, 100 + 777, AL_MALLOC),
	                    fb = key(PID_B, 100 + 777, AL_CALLOC),
	                    fb_last = key(PID_B, 100 + NFILL - 1, AL_CALLOC);
	const struct al_stack_key *lk;
	const struct trend_result *r;
	struct trend_point pts[64];
	struct trend_params p;
	struct analyser *an;
	int k, n, nb, i, ok, a19 = -1;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	analyser_add_process(an, PID_B);
	for (k = 1; k <= 12; k++)
		feed_two(an, k);
	n = analyser_leaks(an, &lk);
	CHECK(n == 2 && ((same_key(&lk[0], &la) && same_key(&lk[1], &lb)) ||
	                 (same_key(&lk[0], &lb) && same_key(&lk[1], &la))),
	      "two processes, same stack id and caller: two leaks (%d)", n);
	r = analyser_verdict_brief(an, &lb);
	CHECK(r && r->slope == 1000, "process B's leak: 1000 B/request against its own requests");
	nb = analyser_points(an, &lb, NULL, 0);

	CHECK(analyser_forget_process(an, PID_A) == 0, "analyser_forget_process");
	n = analyser_leaks(an, &lk);
	CHECK(n == 1 && same_key(&lk[0], &lb), "after forgetting A: B's leak only (%d)", n);
	CHECK(!analyser_verdict_brief(an, &la) && !analyser_verdict_brief(an, &fa) &&
	          analyser_points(an, &la, NULL, 0) == 0 && analyser_points(an, &fa, NULL, 0) == 0,
	      "A's stacks are gone: no verdict, no points");
	r = analyser_verdict_brief(an, &lb);
	CHECK(r && r->verdict == V_LEAK && r->slope == 1000 &&
	          analyser_points(an, &lb, NULL, 0) == nb,
	      "B's leak kept: leak, 1000 B/request, its %d points", nb);
	n = analyser_points(an, &fb, pts, 64);
	for (i = 0, ok = n == 12; i < n && i < 64; i++)
		ok &= pts[i].y == 128 * 778 && pts[i].x == 300.0 * (i + 1);
	CHECK(ok && brief(an, fb) == V_STABLE && brief(an, fb_last) == V_STABLE,
	      "B's stacks moved in the store keep their series (%d points of 99584 B)", n);
	CHECK(analyser_process(an, PID_A) && analyser_process(an, PID_A)->requests == 0 &&
	          analyser_process(an, PID_B)->requests == 3600,
	      "A's view starts anew (0 requests), B's is kept (3600)");

	/* A's stacks start over: no zero point (first sample of the process), no verdict
	 * before 8 samples. */
	for (k = 13; k <= 20; k++) {
		feed_two(an, k);
		if (k == 19)
			a19 = brief(an, la);
	}
	n = analyser_points(an, &la, pts, 64);
	CHECK(n == 8 && pts[0].x == x_of(13) && pts[0].y == leak_y(13),
	      "A's leak restarts at its next sample: %d points from x=%g", n, pts[0].x);
	CHECK(a19 == V_NONE && brief(an, la) == V_GROWING,
	      "A's leak: no verdict after 7 samples, growing after 8 (%s)",
	      verdict_name(brief(an, la)));
	CHECK(brief(an, lb) == V_LEAK, "B's leak still leak");
	analyser_free(an);
}

/* Untracked allocations: the verdict from before stays, a new one never comes. */
static void test_untracked(void)
{
	struct al_stack_key l1 = key(PID_A, 1, AL_MALLOC), l2 = key(PID_A, 2, AL_MALLOC),
	                    l3 = key(PID_A, 3, AL_MALLOC);
	const struct al_stack_key *lk;
	const struct trend_result *r;
	struct trend_params p;
	struct analyser *an;
	int pid = PID_A, k, n;
	double x;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	for (k = 1; k <= 40; k++) {
		unsigned long long y = leak_y(k < 12 ? k : 12); /* flat from sample 12 */

		smp.n = 0;
		add_row(l1, y)->st.untracked = k > 12 ? 7 : 0;
		add_row(l2, y);
		add_row(l3, leak_y(k))->st.untracked = 1;
		x = x_of(k);
		analyser_sample(an, &smp, t_of(k), &pid, &x, 1);
		if (k == 12)
			CHECK(brief(an, l1) == V_LEAK && brief(an, l2) == V_LEAK,
			      "two identical leaks at sample 12");
	}
	r = analyser_verdict_brief(an, &l1);
	CHECK(r && r->verdict == V_LEAK && r->slope == 4096,
	      "untracked from sample 13, flat since: still leak at 4096 B/request (%s)",
	      r ? verdict_name(r->verdict) : "none");
	CHECK(brief(an, l2) == V_PLATEAU, "the same without untracked: plateau (%s)",
	      verdict_name(brief(an, l2)));
	CHECK(analyser_points(an, &l1, NULL, 0) == analyser_points(an, &l2, NULL, 0),
	      "the frozen stack's series still gets its points");
	CHECK(!analyser_verdict_brief(an, &l3) && !analyser_verdict(an, &l3),
	      "untracked from its first sample: never a verdict, though it leaks");
	n = analyser_leaks(an, &lk);
	CHECK(n == 1 && same_key(&lk[0], &l1), "analyser_leaks: the frozen leak only (%d)", n);
	analyser_free(an);
}

/* Growth tier: page-fault stacks. */
static void test_growth(void)
{
	struct al_stack_key fc = key(PID_A, 1, AL_FAULT), mc = key(PID_A, 2, AL_MALLOC),
	                    md = key(PID_B, 1, AL_MALLOC), mm = key(PID_B, 2, AL_MMAP);
	const struct al_stack_key *lk;
	struct trend_params p;
	struct analyser *an;
	int pids[2] = {PID_A, PID_B}, k, n, g7 = -1, g8 = -1, gd = 0, np;
	double x[2];

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	analyser_add_process(an, PID_B);
	for (k = 1; k <= 12; k++) {
		smp.n = 0;
		add_row(fc, leak_y(k));
		add_row(mc, leak_y(k));
		add_row(md, leak_y(k));
		add_row(mm, 256 * KIB);
		x[0] = x[1] = x_of(k);
		analyser_sample(an, &smp, t_of(k), pids, x, 2);
		if (k == 7)
			g7 = analyser_growing(an, PID_A);
		if (k == 8)
			g8 = analyser_growing(an, PID_A);
		gd |= analyser_growing(an, PID_B);
	}
	CHECK(g7 == 0 && g8 == 1, "analyser_growing: false before the fault stack's verdict, "
	                          "true once it reads growing (sample 8)");
	CHECK(!gd && brief(an, md) == V_LEAK,
	      "analyser_growing: a malloc leak alone is not growth (fault stacks only)");
	CHECK(analyser_process(an, PID_A)->live == 2 * leak_y(12),
	      "precise tier: the view's live bytes count every kind");
	np = analyser_points(an, &fc, NULL, 0);
	analyser_forget_precise(an);
	n = analyser_leaks(an, &lk);
	CHECK(n == 1 && same_key(&lk[0], &fc), "analyser_forget_precise: the fault leak left (%d)",
	      n);
	CHECK(!analyser_verdict_brief(an, &mc) && !analyser_verdict_brief(an, &md) &&
	          !analyser_verdict_brief(an, &mm) && analyser_points(an, &md, NULL, 0) == 0 &&
	          analyser_points(an, &mm, NULL, 0) == 0,
	      "analyser_forget_precise: malloc and mmap stacks of both processes dropped");
	CHECK(brief(an, fc) == V_LEAK && analyser_points(an, &fc, NULL, 0) == np &&
	          analyser_growing(an, PID_A),
	      "analyser_forget_precise: the fault stack keeps its verdict and %d points", np);

	/* The growth tier counts only fault rows as the process's live bytes. */
	analyser_set_growth(an, true);
	smp.n = 0;
	add_row(fc, leak_y(13));
	add_row(mc, 12345);
	x[0] = x[1] = x_of(13);
	analyser_sample(an, &smp, t_of(13), pids, x, 2);
	CHECK(analyser_process(an, PID_A)->live == leak_y(13),
	      "growth tier: the view's live bytes are the fault rows' (%llu)",
	      analyser_process(an, PID_A)->live);
	analyser_free(an);
}

/* Growth tier on this very process: a fault stack growing by 200 MiB a sample while our
 * anonymous memory does not is growing, not leak; the precise tier would call it a leak. */
static void run_self(bool growth, enum verdict *v, bool *growing, int *nleaks)
{
	struct al_stack_key f = key(getpid(), 1, AL_FAULT);
	const struct al_stack_key *lk;
	struct trend_params p;
	struct analyser *an;
	int pid = getpid(), k;
	double x;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, pid);
	analyser_set_growth(an, growth);
	for (k = 1; k <= 12; k++) {
		smp.n = 0;
		add_row(f, MIB * 200 * k); /* 1 MiB per request */
		x = x_of(k);
		analyser_sample(an, &smp, t_of(k), &pid, &x, 1);
	}
	*v = brief(an, f);
	*growing = analyser_growing(an, pid);
	*nleaks = analyser_leaks(an, &lk);
	CHECK(analyser_process(an, pid)->have_mem, "our own process has a memory reading");
	analyser_free(an);
}

static void test_growth_confirm(void)
{
	enum verdict v;
	bool growing;
	int n;

	run_self(false, &v, &growing, &n);
	CHECK(v == V_LEAK && growing && n == 1,
	      "precise tier: a fault stack's 1 MiB/request is "
	      "leak (%s)",
	      verdict_name(v));
	run_self(true, &v, &growing, &n);
	CHECK(v == V_GROWING && growing && n == 0,
	      "growth tier: the same without anonymous growth is growing, no leak listed (%s, %d)",
	      verdict_name(v), n);
}

/* A thread stack of one 8 MiB (+ guard page) stack per thread. */
#define THREAD_STACK 8392704ULL

static struct sample_row *add_threads(struct al_stack_key k, unsigned long long threads)
{
	struct sample_row *r = add_row(k, threads * THREAD_STACK);

	r->st.live_objects = threads;
	r->st.allocs = threads;
	return r;
}

/* One idle thread left per request, a pool of 4 workers, a single helper thread, next to
 * a flat heap stack; min_growth is --min-growth in B/hour. */
static void run_threads(double min_growth, enum verdict v[4], const struct trend_result **leak,
                        struct analyser **out)
{
	struct al_stack_key th = key(PID_A, 1, AL_THREAD), pool = key(PID_A, 2, AL_THREAD),
	                    one = key(PID_A, 3, AL_THREAD), heap = key(PID_A, 4, AL_MALLOC);
	struct trend_params p;
	struct analyser *an;
	int pid = PID_A, k;
	double x;

	trend_defaults(&p);
	p.min_growth_per_hour = min_growth;
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	for (k = 1; k <= 24; k++) {
		smp.n = 0;
		add_threads(th, 200ULL * k); /* 200 requests a sample */
		add_threads(pool, k < 4 ? k : 4);
		add_threads(one, k >= 6);
		add_row(heap, 512 * KIB);
		x = x_of(k);
		analyser_sample(an, &smp, t_of(k), &pid, &x, 1);
	}
	v[0] = brief(an, th);
	v[1] = brief(an, pool);
	v[2] = brief(an, one);
	v[3] = brief(an, heap);
	*leak = analyser_verdict(an, &th);
	*out = an;
}

static void test_threads(void)
{
	struct al_stack_key th = key(PID_A, 1, AL_THREAD);
	const struct trend_result *r;
	struct trend_point pts[64];
	struct analyser *an;
	enum verdict v[4];
	int n;

	run_threads(1024.0 * 1024.0, v, &r, &an);
	CHECK(v[0] == V_LEAK && r && r->slope == 1 && r->slope_lo == 1 && r->slope_hi == 1,
	      "one thread left per request: leak, exactly 1 thread/request (%s, %.6f [%.6f, %.6f])",
	      verdict_name(v[0]), r ? r->slope : 0, r ? r->slope_lo : 0, r ? r->slope_hi : 0);
	/* 800 requests/s */
	CHECK(r && near(r->per_hour, 800.0 * 3600, 1e-9) && r->peak == 200 * 24,
	      "its per-hour rate and peak are in threads (%.0f per hour, peak %.0f)",
	      r ? r->per_hour : 0, r ? r->peak : 0);
	n = analyser_points(an, &th, pts, 64);
	CHECK(n > 0 && pts[n - 1].y == 200 * 24, "its points are live threads (%g)",
	      n > 0 ? pts[n - 1].y : 0);
	CHECK(v[1] == V_PLATEAU, "a pool that grew to 4 threads, then flat: plateau (%s)",
	      verdict_name(v[1]));
	CHECK(v[2] == V_STABLE, "a single helper thread: stable (%s)", verdict_name(v[2]));
	CHECK(v[3] == V_STABLE, "the flat heap stack next to them: stable (%s)",
	      verdict_name(v[3]));
	CHECK(analyser_process(an, PID_A)->live == 512 * KIB,
	      "the process's live bytes are the heap's: no reserved thread stack in them (%llu)",
	      analyser_process(an, PID_A)->live);
	analyser_forget_precise(an);
	CHECK(!analyser_verdict_brief(an, &th), "analyser_forget_precise drops thread stacks");
	analyser_free(an);

	/* --min-growth in B/hour counts THREAD_WEIGHT per thread: 2.88 million threads an
	 * hour is above 1e9 B/hour (30518 threads), below 1e12 (30.5 million). */
	run_threads(1e9, v, &r, &an);
	CHECK(v[0] == V_LEAK, "--min-growth 1e9: still a leak (%s)", verdict_name(v[0]));
	analyser_free(an);
	run_threads(1e12, v, &r, &an);
	CHECK(v[0] != V_LEAK && v[0] != V_NONE, "--min-growth 1e12: not a leak (%s)",
	      verdict_name(v[0]));
	analyser_free(an);
}

static void test_limits(void)
{
	struct trend_params p;
	struct analyser *an;
	int i, ok = 1;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	for (i = 0; i < 64; i++)
		ok &= analyser_add_process(an, PID_A + i) == 0;
	CHECK(ok && analyser_add_process(an, PID_A + 64) == -1 &&
	          !analyser_process(an, PID_A + 64) && analyser_process(an, PID_A + 63),
	      "64 processes, the 65th refused");
	/* forgetting one of them re-adds it in its place at the end */
	CHECK(analyser_forget_process(an, PID_A + 10) == 0 && analyser_process(an, PID_A + 10),
	      "forgetting a process when all 64 are taken adds it again");
	analyser_free(an);
	analyser_free(NULL);
}

/* A fault stack that grows too little to matter reads stable; the report shows it
 * rising (its slope's interval is above zero), but that must not become the verdict
 * --mode auto opens windows on, nor the brief one. */
static void test_shown_not_stored(void)
{
	struct al_stack_key fc = key(PID_A, 7, AL_FAULT);
	const struct trend_result *shown;
	struct trend_params p;
	struct analyser *an;
	int pids[1] = {PID_A}, k;
	double x[1];
	bool before, after;

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	for (k = 1; k <= 30; k++) {
		smp.n = 0;
		add_row(fc, 1000ULL * k);
		x[0] = x_of(k);
		analyser_sample(an, &smp, t_of(k), pids, x, 1);
	}
	before = analyser_growing(an, PID_A);
	CHECK(brief(an, fc) == V_STABLE && !before, "a slow fault stack: stable, not growing");
	shown = analyser_verdict(an, &fc);
	CHECK(shown && shown->verdict == V_GROWING && shown->slope_lo > 0,
	      "shown as growing (slope interval above zero)");
	after = analyser_growing(an, PID_A);
	smp.n = 0;
	add_row(fc, 30000);
	x[0] = x_of(30);
	analyser_sample(an, &smp, t_of(31), pids, x, 1);
	CHECK(brief(an, fc) == V_STABLE && !after && !analyser_growing(an, PID_A),
	      "showing it changed neither the brief verdict nor analyser_growing");
	analyser_free(an);
}

int main(void)
{
	test_patterns();
	test_time_mode();
	test_forget_process();
	test_untracked();
	test_growth();
	test_shown_not_stored();
	test_growth_confirm();
	test_threads();
	test_limits();
	return check_done();
}
