// SPDX-License-Identifier: GPL-2.0
/* test_kernel_features.c - unit tests of cli/collect/kernel_features.c: which modes a set of
 * kernel features rules out, and why (the probes themselves run on this kernel).
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "collect/kernel_features.h"

#include "check.h"

#define PRECISE (TIER_BASE | TIER_PRECISE)
#define GROWTH  (TIER_BASE | TIER_GROWTH)

int main(void)
{
	struct features f;
	const char *why;
	int i;

	for (i = 0; i < FEAT_MAX; i++)
		f.have[i] = true;
	CHECK(!features_missing(&f, PRECISE | GROWTH), "everything there: every mode can run");

	f.have[FEAT_LOOP] = false;
	why = features_missing(&f, GROWTH);
	CHECK(why && strstr(why, "bpf_loop"), "no bpf_loop: the growth tier cannot run (%s)",
	      why ? why : "NULL");
	CHECK(!features_missing(&f, PRECISE), "no bpf_loop: the precise tier can");

	f.have[FEAT_LOOP] = true;
	f.have[FEAT_UPROBES] = false;
	why = features_missing(&f, PRECISE);
	CHECK(why && strstr(why, "uprobe"), "no uprobe PMU: the precise tier cannot run (%s)",
	      why ? why : "NULL");
	CHECK(!features_missing(&f, GROWTH), "no uprobe PMU: the growth tier can");
	CHECK(features_missing(&f, PRECISE | GROWTH) != NULL, "no uprobe PMU: auto cannot");

	f.have[FEAT_UPROBES] = true;
	f.have[FEAT_RINGBUF] = false;
	CHECK(features_missing(&f, PRECISE) && features_missing(&f, GROWTH),
	      "no ring buffer: no mode can run");

	/* This kernel (the tests' machine) has what every mode needs: the probes load BPF
	 * programs, which needs root. */
	if (geteuid() != 0) {
		printf("# SKIP probing this kernel: needs root\n");
		return check_done();
	}
	features_probe(&f);
	why = features_missing(&f, PRECISE | GROWTH);
	CHECK(!why, "this kernel runs every mode (%s)", why ? why : "all there");
	return check_done();
}
