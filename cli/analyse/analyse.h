/* SPDX-License-Identifier: GPL-2.0 */
/* analyse.h - per-stack trends and verdicts, per-process memory facts. */
#ifndef AL_ANALYSE_H
#define AL_ANALYSE_H

#include <stdbool.h>
#include "analyse/procmem.h"
#include "collect/sampler.h"
#include "analyse/trend.h"

/* A thread stack (kind AL_THREAD: glibc maps each new thread's stack with MAP_STACK)
 * reserves megabytes of address space of which a thread touches a few pages: its
 * reserved bytes are not live heap. What trends is how many are live (its live
 * objects), and where threads are set against heap bytes each weighs THREAD_WEIGHT:
 * the thresholds of its trend (--min-growth, the smallest change that counts) are the
 * heap's divided by it, and reports rank a thread stack as that many bytes per live
 * thread. 32 KiB is about what an idle thread costs (its kernel stack and the first
 * pages of its own), until resident bytes are measured. */
#define THREAD_WEIGHT 32768.0

static inline bool kind_is_thread(__u32 kind)
{
	return kind == AL_THREAD;
}

/* What a stack weighs when stacks are ranked: its live bytes (negative when it freed
 * blocks from before attach), or THREAD_WEIGHT per live thread. */
static inline long long stack_weight(const struct al_stack_key *k, const struct al_stack_stats *st)
{
	if (kind_is_thread(k->kind))
		return (long long)st->live_objects * (long long)THREAD_WEIGHT;
	return (long long)st->live_bytes;
}

struct proc_view {
	int pid;
	double requests;         /* requests handled since attach (seconds in time mode) */
	bool have_mem;           /* mem below was read */
	struct procmem mem;      /* latest reading */
	double oom_eta;          /* seconds until the cgroup limit at the current rate; -1: none */
	double usage_rate;       /* cgroup (or anon) bytes per second over the last minute */
	unsigned long long live; /* tracked live bytes now (thread stacks not counted) */
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
