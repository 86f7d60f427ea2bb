// SPDX-License-Identifier: GPL-2.0
/* timers.c - registered timers for the run's loop (see timers.h). */
#include <time.h>
#include "base/timers.h"

double timers_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int timers_add(struct timers *ts, double first, double period, enum timer_rule rule, timer_fn fn,
               void *ctx)
{
	if (ts->n == TIMERS_MAX)
		return -1;
	ts->t[ts->n++] =
	    (struct timer){.next = first, .period = period, .rule = rule, .fn = fn, .ctx = ctx};
	return 0;
}

/* The deadline after a run at now. */
static void timer_advance(struct timer *t, double now)
{
	switch (t->rule) {
	case TIMER_ONCE:
		t->done = true;
		break;
	case TIMER_DELAY:
		t->next = now + t->period;
		break;
	case TIMER_RATE:
		t->next += t->period;
		break;
	case TIMER_SKIP:
		t->next += t->period;
		if (t->next < now)
			t->next = now + t->period;
		break;
	}
}

int timers_run(struct timers *ts, double now)
{
	struct timer *t;
	int i, r;

	for (i = 0; i < ts->n; i++) {
		t = &ts->t[i];
		if (t->done || now < t->next)
			continue;
		timer_advance(t, now);
		r = t->fn(t->ctx, now);
		if (r)
			return r;
	}
	return 0;
}

int timers_wait_ms(const struct timers *ts, double now, int cap)
{
	double ms = cap;
	int i, whole;

	for (i = 0; i < ts->n; i++)
		if (!ts->t[i].done && (ts->t[i].next - now) * 1000 < ms)
			ms = (ts->t[i].next - now) * 1000;
	if (ms <= 0)
		return 0;
	whole = (int)ms;
	return whole < ms ? whole + 1 : whole;
}
