// SPDX-License-Identifier: GPL-2.0
/* tier.c - --mode precise, growth and auto: what each target gets, the diagnosis windows
 * of auto, and the cost of the probes (see tier.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "agentleak.h"
#include "base/die.h"
#include "base/text.h"
#include "collect/kernel_features.h"
#include "tier.h"

/* What a traced call costs the target, measured by bench/run.sh on this machine kind:
 * an allocation (entry and return probes sharing one emulated breakpoint, plus the BPF
 * work) ~2.5 us, a free on an emulated instruction ~0.8 us. */
#define COST_ALLOC_NS 2500.0
#define COST_FREE_NS  800.0

const char *const tier_modes[] = {"precise", "growth", "auto", NULL};

const char *tier_mode_name(enum tier_mode mode)
{
	return tier_modes[mode];
}

bool tier_growth(enum tier_mode mode)
{
	return mode != TIER_MODE_PRECISE;
}

int tier_check_kernel(enum tier_mode mode, bool verbose, char *err, size_t errlen)
{
	unsigned int precise = TIER_BASE | TIER_PRECISE, growth = TIER_BASE | TIER_GROWTH;
	unsigned int need = mode == TIER_MODE_AUTO     ? precise | growth
	                    : mode == TIER_MODE_GROWTH ? growth
	                                               : precise;
	bool precise_ok, growth_ok;
	struct features f;
	const char *why;
	char msg[256];

	features_probe(&f);
	if (verbose) {
		fprintf(stderr, "agentleak: kernel features:\n");
		features_print(stderr, &f);
	}
	why = features_missing(&f, need);
	if (!why)
		return 0;
	snprintf(msg, sizeof(msg), "%s", why);
	precise_ok = !features_missing(&f, precise);
	growth_ok = !features_missing(&f, growth);
	snprintf(err, errlen,
	         "--mode %s cannot run on this kernel: %s; %s (agentleak --check tells more)",
	         tier_mode_name(mode), msg,
	         precise_ok  ? "--mode precise can"
	         : growth_ok ? "--mode growth can"
	                     : "no mode can");
	return -1;
}

/* The growth tier probes no allocator: the process line names the tier and the
 * executable whose text the faults are attributed to. */
static void growth_target(int pid, struct al_allocator *al)
{
	char path[64];
	ssize_t n;

	memset(al, 0, sizeof(*al));
	snprintf(al->flavor, sizeof(al->flavor), "growth");
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, al->target_path, sizeof(al->target_path) - 1);
	if (n <= 0)
		snprintf(al->target_path, sizeof(al->target_path), "?");
	else
		al->target_path[n] = '\0';
	text_sanitize(al->target_path, sizeof(al->target_path));
}

int tier_find(enum tier_mode mode, int pid, struct al_allocator *al, char *err, size_t errlen)
{
	if (mode != TIER_MODE_GROWTH)
		return allocator_find(pid, al, err, errlen);
	growth_target(pid, al);
	return 0;
}

int tier_attach(struct tier *t, int i, char *err, size_t errlen)
{
	const struct target *tg = &t->targets[i];
	const struct al_allocator *al = &t->allocators[i];
	int n;

	if (attach_process(t->att, tg->pid, al, &n, err, errlen))
		return -1;
	if (t->mode == TIER_MODE_AUTO)
		fprintf(stderr,
		        "agentleak: attached to pid %d (%s): growth tier (page faults); "
		        "%s %s probed in diagnosis windows of %.0f s\n",
		        tg->pid, tg->comm, al->flavor, al->target_path, t->diag.length);
	else if (t->mode == TIER_MODE_GROWTH)
		fprintf(stderr,
		        "agentleak: attached to pid %d (%s): growth tier (page faults), "
		        "%s\n",
		        tg->pid, tg->comm, al->target_path);
	else
		fprintf(stderr, "agentleak: attached to pid %d (%s): %s %s, %d probes\n", tg->pid,
		        tg->comm, al->flavor, al->target_path, n);
	return 0;
}

/* Loaded at the first window: a precise tier that cannot load leaves the growth tier
 * running. */
static void window_open(struct tier *t)
{
	char err[512];
	int i, n;

	if (attach_load_precise(t->att, err, sizeof(err))) {
		diag_stop(&t->diag);
		fprintf(stderr, "agentleak: warning: %s; no diagnosis windows from now on\n", err);
		return;
	}
	for (i = 0; i < t->ntargets; i++) {
		if (t->targets[i].exited)
			continue;
		if (attach_allocator(t->att, t->targets[i].pid, &t->allocators[i], &n, err,
		                     sizeof(err)))
			fprintf(stderr, "agentleak: warning: diagnosis window: %s\n", err);
	}
	attach_set_mmap_events(t->att, true);
	fprintf(stderr, "agentleak: growth seen: diagnosis window %d, precise tier on for %.0f s\n",
	        t->diag.number, t->diag.length);
}

/* Report the window (--html and --pprof too: its stacks are gone after this), then take
 * the precise tier's probes and state away. */
static void window_close(struct tier *t, double now)
{
	char err[512];

	t->window_closed(t->ctx, now);
	if (attach_allocator_off(t->att, err, sizeof(err)))
		fprintf(stderr, "agentleak: warning: %s\n", err);
	if (sampler_drop_mmaps(t->smpl))
		die("out of memory");
	analyser_forget_precise(t->an);
	fprintf(stderr,
	        "agentleak: diagnosis window %d closed: precise tier off; the next one "
	        "opens no sooner than %.0f s from now\n",
	        t->diag.number, t->diag.next_allowed - now);
}

void tier_step(struct tier *t, double now)
{
	bool growing = false;
	int i;

	if (t->mode != TIER_MODE_AUTO)
		return;
	/* The scan of every stack only when a window could open now. */
	for (i = 0; !t->diag.open && now >= t->diag.next_allowed && i < t->ntargets; i++)
		if (!t->targets[i].exited && analyser_growing(t->an, t->targets[i].pid))
			growing = true;
	switch (diag_step(&t->diag, now, growing)) {
	case DIAG_OPEN:
		window_open(t);
		break;
	case DIAG_CLOSE:
		window_close(t, now);
		break;
	case DIAG_NONE:
		break;
	}
}

void tier_overhead(struct tier *t, const struct sample *smp, double elapsed, double *hits,
                   double *cpus)
{
	double allocs = smp->counters[AL_C_ALLOC_CALLS], frees = smp->counters[AL_C_FREE_CALLS];
	double dt = elapsed - t->cost_t;

	if (dt <= 0) {
		*hits = *cpus = 0;
		return;
	}
	*hits = (allocs - t->cost_allocs + frees - t->cost_frees) / dt;
	*cpus =
	    ((allocs - t->cost_allocs) * COST_ALLOC_NS + (frees - t->cost_frees) * COST_FREE_NS) /
	    1e9 / dt;
	t->cost_t = elapsed;
	t->cost_allocs = allocs;
	t->cost_frees = frees;
}
