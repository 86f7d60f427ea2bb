/* SPDX-License-Identifier: GPL-2.0 */
/* session.h - one tracing run: its targets, the BPF side (tier.c, attach.c, sampler.c),
 * the analysis, the symbols and the outputs, and the work the run's timers do with them
 * (check the targets, sample, report). main.c drives it.
 *
 * Errors while opening or running end the program with one line on stderr (die.h), as
 * the checks of the command line do.
 */
#ifndef AL_SESSION_H
#define AL_SESSION_H

#include <stdbool.h>
#include "args.h"

struct session;

/* Check every target and find what to probe in it, open the outputs, load the BPF
 * programs and attach them; the request source first, so that a bad one fails before
 * any allocator probe. c must outlive the session. */
struct session *session_open(const struct config *c);
/* The run's clock starts: returns now (timers_now()). */
double session_start(struct session *s);
/* Wait up to ms milliseconds for mmap events and apply them. */
void session_poll(struct session *s, int ms);

/* The run's timers (timers.h; ctx is the session). Each returns nonzero to end it. */
/* Every target still there? An exec forgets the old program, an exit the process; all
 * gone ends the run. */
int session_check(void *ctx, double now);
/* Read every counter and feed the trend; then --mode auto's windows. The first sample
 * writes the metrics outputs. */
int session_sample(void *ctx, double now);
/* An interval report; the COUNT-th ends the run. */
int session_report(void *ctx, double now);

/* Serve the metrics listener without blocking: every turn of the loop. */
void session_service(struct session *s);
/* SIGUSR1: write the pprof and HTML files now. */
void session_dump(struct session *s, double now);
/* The reader of stdout went away: the run should end. */
bool session_stdout_gone(const struct session *s);
/* A last sample and the final report, then close everything. Returns the exit status:
 * 1 when an output failed during the run, else 0. */
int session_close(struct session *s);

#endif
