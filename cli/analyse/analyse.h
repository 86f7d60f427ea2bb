/* SPDX-License-Identifier: GPL-2.0 */
/* analyse.h - per-stack trends and verdicts, per-process memory facts. */
#ifndef AL_ANALYSE_H
#define AL_ANALYSE_H

#include <stdbool.h>
#include "analyse/procmem.h"
#include "collect/sampler.h"
#include "analyse/trend.h"

struct proc_view {
	int pid;
	double requests;         /* requests handled since attach (seconds in time mode) */
	bool have_mem;           /* mem below was read */
	struct procmem mem;      /* latest reading */
	double oom_eta;          /* seconds until the cgroup limit at the current rate; -1: none */
	double usage_rate;       /* cgroup (or anon) bytes per second over the last minute */
	unsigned long long live; /* tracked live bytes now */
	unsigned long long anon_at_attach; /* RssAnon when agentleak attached */
	unsigned long long retained;       /* anon growth since attach not live in tracked blocks */
	bool rss_note;                     /* RSS high, live heap flat */
};

struct analyser;

struct analyser *analyser_new(const struct trend_params *p, bool time_mode);
void analyser_free(struct analyser *an);
int analyser_add_process(struct analyser *an, int pid);
/* Feed one sample: every stack's counters, t seconds since attach, and requests[i]
 * handled so far by pids[i]. */
void analyser_sample(struct analyser *an, const struct sample *smp, double t, const int *pids,
                     const double *requests, int npids);
/* The stacks whose verdict is leak now, in no order: their number (-1 when out of
 * memory, or when some could not be listed), *keys valid until the next call. */
int analyser_leaks(struct analyser *an, const struct al_stack_key **keys);
/* The latest classification of a stack as trend_classify left it: only what its verdict
 * needed is computed (cheap; NULL before it has one). */
const struct trend_result *analyser_verdict_brief(struct analyser *an,
                                                  const struct al_stack_key *key);
/* The same with every statistic filled in, for display (NULL before it has one): valid
 * until the next call. */
const struct trend_result *analyser_verdict(struct analyser *an, const struct al_stack_key *key);
/* The trend samples of a stack, oldest first: fills up to max points (out may be NULL)
 * and returns how many there are. */
int analyser_points(struct analyser *an, const struct al_stack_key *key, struct trend_point *out,
                    int max);
const struct proc_view *analyser_process(struct analyser *an, int pid);
bool analyser_time_mode(const struct analyser *an);
/* Growth tier: does a page-fault stack of pid read leak or growing? (--mode auto opens a
 * diagnosis window on it.) */
bool analyser_growing(const struct analyser *an, int pid);
/* Drop every stack but the growth tier's (page faults): a diagnosis window closed. */
void analyser_forget_precise(struct analyser *an);
/* pid execs another program: forget its stacks and start its memory view anew. */
int analyser_forget_process(struct analyser *an, int pid);
/* Growth tier: a page-fault stack's leak verdict also needs the process's anonymous
 * memory to have grown since attach by at least half of what the stack grew (else it
 * reads growing). */
void analyser_set_growth(struct analyser *an, bool growth);

#endif
