/* SPDX-License-Identifier: GPL-2.0 */
/* timers.h - the things a run does on a clock, as registered timers (after Redis's time
 * events): each has a callback, a deadline and a rule for the next one.
 *
 * The caller's loop waits for its events until timers_wait_ms() says the next deadline
 * is near, then calls timers_run(), which runs every timer that is due, in the order
 * they were added, each at most once per call. Times are seconds (timers_now()).
 */
#ifndef AL_TIMERS_H
#define AL_TIMERS_H

#include <stdbool.h>

#define TIMERS_MAX 8

enum timer_rule {
	TIMER_ONCE,  /* runs once, at its first deadline */
	TIMER_DELAY, /* again period seconds after it ran (next = now + period) */
	TIMER_RATE,  /* once per period (next += period): runs missed are made up, one per call */
	TIMER_SKIP,  /* once per period, runs missed are dropped (next += period, and when that
	              * has passed already, now + period) */
};

/* A timer's work at time now. Returns 0, or nonzero to end the run: timers_run() runs no
 * further timer and returns it. */
typedef int (*timer_fn)(void *ctx, double now);

struct timer {
	double next; /* deadline */
	double period;
	enum timer_rule rule;
	bool done; /* TIMER_ONCE, ran */
	timer_fn fn;
	void *ctx;
};

struct timers {
	struct timer t[TIMERS_MAX];
	int n;
};

/* The monotonic clock, in seconds. */
double timers_now(void);
/* Add a timer whose first deadline is first. Returns 0, or -1 when TIMERS_MAX are there. */
int timers_add(struct timers *ts, double first, double period, enum timer_rule rule, timer_fn fn,
               void *ctx);
/* Run every timer due at now (next <= now), moving its deadline first. Returns 0, or the
 * nonzero answer of the callback that ended the run. */
int timers_run(struct timers *ts, double now);
/* Milliseconds from now to the next deadline, rounded up, from 0 (one is due) to cap
 * (cap also when no timer is left). */
int timers_wait_ms(const struct timers *ts, double now, int cap);

#endif
