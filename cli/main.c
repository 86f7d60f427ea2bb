// SPDX-License-Identifier: GPL-2.0
/* main.c - agentleak: find the allocation sites of a running process that keep growing.
 *
 * The command line (args.c), the privilege check, then a session (session.c): check
 * each target (target.c), find the object that really provides its malloc
 * (allocator.c) or, in the growth tier, its executable (tier.c), attach the BPF
 * programs (attach.c), and run the timers (timers.c): every 0.2 s check the targets,
 * every --sample-period read the kernel's counters (sampler.c) and every INTERVAL
 * report the top stacks by live bytes (report.c and the other outputs), symbolized
 * (symbolize.c). Ctrl-C, SIGTERM, SIGHUP, --duration, COUNT reports, or every target
 * exiting end the run with a final report; SIGUSR1 writes the pprof and HTML files.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "args.h"
#include "base/die.h"
#include "base/options.h"
#include "base/timers.h"
#include "collect/preflight.h"
#include "tier.h"
#include "session.h"

#define CHECK_PERIOD 0.2 /* seconds between two looks at the targets */
#define POLL_MS_MAX  20  /* the metrics listener is served at least this often */
/* Room for a message that quotes a whole argument (the kernel passes up to 128 KiB each). */
#define ERR_MAX (128 * 1024 + 512)

static volatile sig_atomic_t stop_signal, dump_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void on_dump(int sig)
{
	dump_signal = sig;
}

static int end_run(void *ctx, double now)
{
	return 1;
}

/* Wait for events until the next timer is due and run the due ones, until a timer, a
 * signal or the reader of stdout going away ends the run. */
static void run(struct session *s, const struct config *c)
{
	struct timers tm = {0};
	double start = session_start(s), now;
	/* The first wait is a whole one, though the first check and sample are due: the
	 * events since attach are applied and the blocks allocated in the moments after it
	 * are in the first sample (taken at once, a churning target reads as a plateau). */
	int wait_ms = POLL_MS_MAX;

	timers_add(&tm, start, CHECK_PERIOD, TIMER_DELAY, session_check, s);
	if (c->duration)
		timers_add(&tm, start + c->duration, 0, TIMER_ONCE, end_run, NULL);
	timers_add(&tm, start, c->sample_period, TIMER_SKIP, session_sample, s);
	timers_add(&tm, start + c->interval, c->interval, TIMER_RATE, session_report, s);
	while (!stop_signal && !session_stdout_gone(s)) {
		session_poll(s, wait_ms);
		now = timers_now();
		if (timers_run(&tm, now))
			break;
		session_service(s);
		if (dump_signal) {
			dump_signal = 0;
			session_dump(s, now);
		}
		wait_ms = timers_wait_ms(&tm, timers_now(), POLL_MS_MAX);
	}
}

int main(int argc, char **argv)
{
	static char err[ERR_MAX];
	struct session *s;
	struct config cfg;
	int r;

	/* One write per line: readers of our stderr never see half a line. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	r = args_parse(&cfg, argc, argv, err, sizeof(err));
	if (r == OPT_STOP)
		return 0;
	if (r || preflight_privileges(err, sizeof(err)))
		die("%s", err);
	if (cfg.check)
		return preflight_run(cfg.verbose);
	if (tier_check_kernel(cfg.mode, cfg.verbose, err, sizeof(err)))
		die("%s", err);
	/* libdw would fetch missing debug files over the network and block the report. */
	unsetenv("DEBUGINFOD_URLS");
	s = session_open(&cfg);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_dump);
	fprintf(stderr, "agentleak: tracing %d process(es); Ctrl-C to stop\n", cfg.npids);
	run(s, &cfg);
	return session_close(s);
}
