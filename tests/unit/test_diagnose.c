// SPDX-License-Identifier: GPL-2.0
/* test_diagnose.c - unit tests of cli/analyse/diagnose.c: when --mode auto opens and closes its
 * precise-tier windows.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include "analyse/diagnose.h"

#include "check.h"

int main(void)
{
	struct diagnosis d;

	diag_init(&d, 60, -1);
	CHECK(diag_step(&d, 0, false) == DIAG_NONE, "no growth: no window");
	CHECK(diag_step(&d, 10, true) == DIAG_OPEN, "growth opens window 1");
	CHECK(d.number == 1 && d.open, "window 1 is open");
	CHECK(diag_left(&d, 25) == 45, "45 s left at t=25 (got %g)", diag_left(&d, 25));
	CHECK(diag_step(&d, 30, true) == DIAG_NONE, "an open window is not reopened");
	CHECK(diag_step(&d, 69.9, false) == DIAG_NONE, "open until its length has passed");
	CHECK(diag_step(&d, 70, false) == DIAG_CLOSE, "closes after 60 s, growth or not");
	CHECK(!d.open && diag_left(&d, 70) == 0, "closed: nothing left");
	CHECK(diag_step(&d, 71, true) == DIAG_NONE, "quiet right after a window");
	CHECK(diag_step(&d, 70 + 9 * 60 - 0.1, true) == DIAG_NONE, "quiet for %d window lengths",
	      DIAG_QUIET_FACTOR);
	CHECK(diag_step(&d, 70 + 9 * 60, false) == DIAG_NONE, "no growth after the quiet time");
	CHECK(diag_step(&d, 70 + 9 * 60 + 1, true) == DIAG_OPEN, "growth again: window 2");
	CHECK(d.number == 2, "two windows counted (got %d)", d.number);

	diag_init(&d, 10, 5);
	CHECK(diag_step(&d, 0, true) == DIAG_OPEN && diag_step(&d, 10, true) == DIAG_CLOSE,
	      "--diagnose-gap 5: window 1 open 10 s");
	CHECK(diag_step(&d, 14.9, true) == DIAG_NONE, "quiet for the 5 s gap");
	CHECK(diag_step(&d, 15, true) == DIAG_OPEN, "window 2 right after the gap");

	/* The precise tier cannot load: the window just opened never counted. */
	diag_init(&d, 10, 5);
	CHECK(diag_step(&d, 0, true) == DIAG_OPEN, "growth opens window 1");
	diag_stop(&d);
	CHECK(!d.open && d.number == 0 && diag_left(&d, 1) == 0,
	      "diag_stop: window 1 closed and not counted (number %d)", d.number);
	CHECK(diag_step(&d, 1000, true) == DIAG_NONE, "diag_stop: no window ever again");
	return check_done();
}
