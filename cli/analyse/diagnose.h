/* SPDX-License-Identifier: GPL-2.0 */
/* diagnose.h - when --mode auto opens and closes its precise-tier windows.
 *
 * The growth tier runs all the time. When it sees a process grow (a page-fault stack
 * reads leak or growing), the precise tier (allocator probes) is switched on for one
 * diagnosis window of --diagnose-for seconds, the window's result is reported, and the
 * probes come off again. The next window may open no sooner than --diagnose-gap seconds
 * later (default DIAG_QUIET_FACTOR window lengths, so the precise tier runs at most
 * 1/(1+factor) of the time).
 * Pure logic (collect/tier.c does the switching): unit tested.
 */
#ifndef AL_DIAGNOSE_H
#define AL_DIAGNOSE_H

#include <stdbool.h>

#define DIAG_QUIET_FACTOR 9

struct diagnosis {
	double length;       /* seconds a window stays open */
	double gap;          /* seconds closed before the next one may open */
	int number;          /* windows opened so far */
	bool open;           /* the precise tier is on */
	double until;        /* open: when the window closes */
	double next_allowed; /* closed: no window before this time */
	bool stopped;        /* diag_stop(): no window ever again */
};

enum diag_action {
	DIAG_NONE,
	DIAG_OPEN,  /* switch the precise tier on */
	DIAG_CLOSE, /* report the window, switch the precise tier off */
};

/* gap < 0: DIAG_QUIET_FACTOR x length. */
void diag_init(struct diagnosis *d, double length, double gap);
/* What to do at time now (seconds), given whether the growth tier sees growth. The
 * caller acts on the answer; the state has already moved. */
enum diag_action diag_step(struct diagnosis *d, double now, bool growing);
/* The precise tier cannot run: close the window just opened (it never counted) and
 * open none again. */
void diag_stop(struct diagnosis *d);
/* Seconds left in the open window (0 when closed). */
double diag_left(const struct diagnosis *d, double now);

#endif
