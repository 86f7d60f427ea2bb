/* SPDX-License-Identifier: GPL-2.0 */
/* tier.h - which BPF tier traces the targets, and when: --mode precise, growth or auto.
 *
 * precise: the allocator's uprobes on every target from the start. growth: user page
 * faults only; a target's allocator record then names the executable the faults are
 * attributed to. auto: the growth tier, and the precise tier in diagnosis windows
 * (diagnose.c says when): a window opens when the growth tier sees a process grow and,
 * when it closes, is reported before its probes come off and its stacks are forgotten.
 * Also what the probes cost the target: the overhead line of each report.
 */
#ifndef AL_TIER_H
#define AL_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include "analyse/analyse.h"
#include "analyse/diagnose.h"
#include "collect/attach.h"
#include "collect/sampler.h"
#include "target/allocator.h"
#include "target/target.h"

enum tier_mode {
	TIER_MODE_PRECISE,
	TIER_MODE_GROWTH,
	TIER_MODE_AUTO,
};

/* The --mode names, by enum tier_mode; NULL last. */
extern const char *const tier_modes[];

/* A diagnosis window closed at now: report it, its stacks go next. */
typedef void (*tier_window_fn)(void *ctx, double now);

struct tier {
	enum tier_mode mode;
	struct diagnosis diag; /* auto: the windows */
	struct attacher *att;
	struct sampler *smpl;
	struct analyser *an;
	const struct target *targets; /* ntargets of them, with their allocators */
	const struct al_allocator *allocators;
	int ntargets;
	tier_window_fn window_closed;
	void *ctx;
	double cost_t, cost_allocs, cost_frees; /* the counters at the previous report */
};

const char *tier_mode_name(enum tier_mode mode);
/* Loads the growth tier (growth and auto). */
bool tier_growth(enum tier_mode mode);
/* Can this kernel run mode? Returns 0, or -1 with what is missing and which mode can
 * run in err. verbose prints the kernel's features on stderr. */
int tier_check_kernel(enum tier_mode mode, bool verbose, char *err, size_t errlen);
/* What the mode probes in process pid: its allocator (allocator_find()), or for the
 * growth tier its executable. Returns 0, or nonzero with a reason in err. */
int tier_find(enum tier_mode mode, int pid, struct al_allocator *al, char *err, size_t errlen);
/* Attach the mode's probes to target i (t->att, t->targets set) and say so on stderr. */
int tier_attach(struct tier *t, int i, char *err, size_t errlen);
/* After each sample (auto): open a window when a process grows, close the one that is
 * over. */
void tier_step(struct tier *t, double now);
/* Probe hits per second since the previous call (one per report), and the CPU share
 * they are estimated to cost the targets. */
void tier_overhead(struct tier *t, const struct sample *smp, double elapsed, double *hits,
                   double *cpus);

#endif
