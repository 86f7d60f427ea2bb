// SPDX-License-Identifier: GPL-2.0
/* test_timers.c - unit tests of cli/base/timers.c: deadlines, the rules for the next one,
 * the order of runs, a timer ending the run, the wait until the next deadline.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include "base/timers.h"

#include "check.h"

/* Each run appends "name@now " to the log. */
struct probe {
	const char *name;
	int stop; /* returned by the callback */
	int runs;
};

static char log_buf[512];

static int record(void *ctx, double now)
{
	struct probe *p = ctx;
	size_t used = strlen(log_buf);

	p->runs++;
	snprintf(log_buf + used, sizeof(log_buf) - used, "%s@%g ", p->name, now);
	return p->stop;
}

static const char *run_at(struct timers *ts, double now)
{
	log_buf[0] = '\0';
	timers_run(ts, now);
	return log_buf;
}

static void test_rules(void)
{
	struct timers ts = {0};
	struct probe once = {.name = "once"}, delay = {.name = "delay"}, rate = {.name = "rate"},
	             skip = {.name = "skip"};

	timers_add(&ts, 0, 1, TIMER_DELAY, record, &delay);
	timers_add(&ts, 2, 0, TIMER_ONCE, record, &once);
	timers_add(&ts, 0, 1, TIMER_SKIP, record, &skip);
	timers_add(&ts, 1, 1, TIMER_RATE, record, &rate);
	CHECK(!strcmp(run_at(&ts, 0), "delay@0 skip@0 "), "due at start: in the order added (%s)",
	      log_buf);
	CHECK(!strcmp(run_at(&ts, 0.5), ""), "nothing due before a deadline");
	CHECK(!strcmp(run_at(&ts, 1.25), "delay@1.25 skip@1.25 rate@1.25 "),
	      "each runs once when due (%s)", log_buf);
	CHECK(ts.t[0].next == 2.25, "DELAY: a period after the run (%g)", ts.t[0].next);
	CHECK(ts.t[2].next == 2, "SKIP: on the period's grid (%g)", ts.t[2].next);
	CHECK(ts.t[3].next == 2, "RATE: next += period (%g)", ts.t[3].next);
	CHECK(!strcmp(run_at(&ts, 5.5), "delay@5.5 once@5.5 skip@5.5 rate@5.5 "),
	      "late: every due timer runs once (%s)", log_buf);
	CHECK(ts.t[2].next == 6.5, "SKIP: runs missed are dropped (%g)", ts.t[2].next);
	CHECK(ts.t[3].next == 3, "RATE: runs missed are kept (%g)", ts.t[3].next);
	CHECK(!strcmp(run_at(&ts, 5.6), "rate@5.6 "), "RATE catches up one run per call (%s)",
	      log_buf);
	run_at(&ts, 5.7);
	run_at(&ts, 5.8);
	CHECK(rate.runs == 5 && ts.t[3].next == 6, "RATE: caught up (%d runs, next %g)", rate.runs,
	      ts.t[3].next);
	run_at(&ts, 100);
	CHECK(once.runs == 1, "ONCE runs once (%d)", once.runs);
}

static void test_stop(void)
{
	struct timers ts = {0};
	struct probe a = {.name = "a"}, b = {.name = "b", .stop = 7}, c = {.name = "c"};

	timers_add(&ts, 0, 1, TIMER_RATE, record, &a);
	timers_add(&ts, 0, 1, TIMER_RATE, record, &b);
	timers_add(&ts, 0, 1, TIMER_RATE, record, &c);
	log_buf[0] = '\0';
	CHECK(timers_run(&ts, 0) == 7 && !strcmp(log_buf, "a@0 b@0 "),
	      "a callback's nonzero answer ends the run: later timers wait (%s)", log_buf);
	CHECK(ts.t[1].next == 1 && ts.t[2].next == 0, "the deadline moved before the callback ran");
}

static void test_wait(void)
{
	struct timers ts = {0};
	struct probe a = {.name = "a"}, b = {.name = "b"};
	int i;

	CHECK(timers_wait_ms(&ts, 0, 20) == 20, "no timer: the cap");
	timers_add(&ts, 10, 0, TIMER_ONCE, record, &a);
	CHECK(timers_wait_ms(&ts, 0, 20) == 20, "a far deadline: the cap");
	timers_add(&ts, 0.0051, 1, TIMER_RATE, record, &b);
	CHECK(timers_wait_ms(&ts, 0, 20) == 6, "rounded up to whole ms (%d)",
	      timers_wait_ms(&ts, 0, 20));
	CHECK(timers_wait_ms(&ts, 0.004, 20) == 2, "from now (%d)", timers_wait_ms(&ts, 0.004, 20));
	CHECK(timers_wait_ms(&ts, 3, 20) == 0, "one is due: 0");
	timers_run(&ts, 10);
	CHECK(timers_wait_ms(&ts, 10, 20) == 0, "a RATE timer behind: 0");
	for (i = ts.n; i < TIMERS_MAX; i++)
		timers_add(&ts, 0, 1, TIMER_RATE, record, &a);
	CHECK(timers_add(&ts, 0, 1, TIMER_RATE, record, &a) == -1, "at most TIMERS_MAX");
}

static void test_clock(void)
{
	double t0 = timers_now(), t1 = timers_now();

	CHECK(t0 > 0 && t1 >= t0, "the monotonic clock moves forward");
}

int main(void)
{
	test_rules();
	test_stop();
	test_wait();
	test_clock();
	return check_done();
}
