// SPDX-License-Identifier: GPL-2.0
/* analyse.c - turn samples into verdicts: one trend series per stack, plus the facts
 * about each process's memory that a verdict alone cannot give.
 *
 * Each sample period the stacks' live bytes are added to their series against the
 * requests their process has handled (or against time); trend.c classifies them. A
 * thread stack's series follows its live threads instead, judged by thresholds in
 * threads (series_y() and params_of(): the one place a kind chooses; analyse.h).
 * Stacks are stored in the order they were first seen, each state followed by its
 * series, in blocks that never move; a table of their numbers finds one by key. The
 * sampler gives rows in the same order every time, so a sample walks the store front
 * to back instead of jumping around tens of megabytes.
 * Per process we follow RSS and anonymous memory (procmem.c), the cgroup's limit and
 * how fast usage approaches it, and whether anonymous memory grew far beyond the live
 * heap we track (the allocator keeping freed memory: not a leak).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "analyse/analyse.h"
#include "base/vec.h"
#include "stack_key.h"

#define MAX_PROCS    64
#define USAGE_RING   32  /* cgroup/anon usage readings kept for the rate */
#define USAGE_EVERY  1.0 /* seconds between kept readings */
#define RETAINED_MIN (32ULL << 20)
#define BLOCK_SHIFT  10 /* stacks per block of the store: 1024 */

/* In the store, each one is followed by its series (series_size() bytes). */
struct stack_state {
	struct al_stack_key key;
	bool has_result;
	bool started;
	bool fitted;   /* result has every statistic, not only the verdict's */
	bool in_leaks; /* listed in the analyser's leaks */
	struct trend_result result;
};

struct proc_state {
	struct proc_view view;
	double last_x;
	bool have_x;
	double ut[USAGE_RING], uv[USAGE_RING];
	int un, uhead;
	unsigned long long peak_live;
};

struct analyser {
	struct trend_params params;
	struct trend_params thread_params; /* params in threads: thresholds / THREAD_WEIGHT */
	struct trend_result shown;         /* analyser_verdict()'s answer */
	bool time_mode;
	bool growth;     /* growth tier: confirm leaks by the process's anonymous growth */
	char **blocks;   /* the store: stacks 0 .. n-1, 1 << BLOCK_SHIFT per block */
	size_t bcap;     /* room in blocks */
	size_t stride;   /* bytes per stack: its state and its series */
	size_t n;        /* stacks stored */
	uint32_t *index; /* open addressing by key: stack number + 1, 0 when empty */
	size_t cap;      /* slots in index */
	size_t next;     /* the stack after the last one a sample row found */
	uint32_t *leaks; /* numbers of the stacks whose verdict is leak */
	size_t nleaks, leaks_cap, keys_cap;
	bool leaks_lost;                /* out of memory once: the list is incomplete */
	struct al_stack_key *leak_keys; /* their keys, for analyser_leaks() */
	struct proc_state procs[MAX_PROCS];
	int nprocs;
};

static struct stack_state *state_at(const struct analyser *an, size_t i)
{
	return (struct stack_state *)(an->blocks[i >> BLOCK_SHIFT] +
	                              (i & ((1U << BLOCK_SHIFT) - 1)) * an->stride);
}

static struct series *series_of(struct stack_state *s)
{
	return (struct series *)(s + 1);
}

/* The index slot of k: its stack's, or the empty one where it would go. */
static uint32_t *find_slot(const struct analyser *an, const struct al_stack_key *k)
{
	size_t i = al_stack_key_hash(k) & (an->cap - 1);

	while (an->index[i] && !al_stack_key_equal(&state_at(an, an->index[i] - 1)->key, k))
		i = (i + 1) & (an->cap - 1);
	return &an->index[i];
}

static int grow_index(struct analyser *an)
{
	size_t cap = an->cap ? an->cap * 2 : 1024, i;
	uint32_t *old = an->index;

	an->index = calloc(cap, sizeof(*an->index));
	if (!an->index) {
		an->index = old;
		return -1;
	}
	free(old);
	an->cap = cap;
	for (i = 0; i < an->n; i++)
		*find_slot(an, &state_at(an, i)->key) = i + 1;
	return 0;
}

/* A new stack at the end of the store (NULL when out of memory). */
static struct stack_state *append_state(struct analyser *an, const struct al_stack_key *k)
{
	size_t b = an->n >> BLOCK_SHIFT;
	struct stack_state *s;

	if (!(an->n & ((1U << BLOCK_SHIFT) - 1))) {
		if (VEC_GROW(an->blocks, an->bcap, b + 1))
			return NULL;
		an->blocks[b] = malloc(an->stride << BLOCK_SHIFT);
		if (!an->blocks[b])
			return NULL;
	}
	s = state_at(an, an->n);
	memset(s, 0, sizeof(*s));
	s->key = *k;
	series_init(series_of(s), &an->params);
	an->n++;
	return s;
}

/* The stack of k (a new one if create), and its number in *num. */
static struct stack_state *lookup_num(struct analyser *an, const struct al_stack_key *k,
                                      bool create, size_t *num)
{
	uint32_t *slot;
	struct stack_state *s;

	if (!an->cap || (create && (an->n + 1) * 10 > an->cap * 7)) {
		if (!create || grow_index(an))
			return NULL;
	}
	slot = find_slot(an, k);
	if (*slot || !create) {
		*num = *slot - 1;
		return *slot ? state_at(an, *slot - 1) : NULL;
	}
	s = append_state(an, k);
	if (s)
		*slot = an->n;
	*num = an->n - 1;
	return s;
}

static struct stack_state *lookup(struct analyser *an, const struct al_stack_key *k, bool create)
{
	size_t num;

	return lookup_num(an, k, create, &num);
}

/* The stack of a sample row, new if need be. Rows come in the order the stacks were
 * stored, so the one after the previous row's is tried first: no index to look at. */
static struct stack_state *row_stack(struct analyser *an, const struct al_stack_key *k)
{
	struct stack_state *s = an->next < an->n ? state_at(an, an->next) : NULL;
	size_t num = an->next;

	if (!s || !al_stack_key_equal(&s->key, k))
		s = lookup_num(an, k, true, &num);
	if (s)
		an->next = num + 1;
	return s;
}

struct analyser *analyser_new(const struct trend_params *p, bool time_mode)
{
	struct analyser *an = calloc(1, sizeof(*an));

	if (!an)
		return NULL;
	an->params = *p;
	an->thread_params = *p;
	an->thread_params.min_bytes /= THREAD_WEIGHT;
	an->thread_params.min_growth_per_hour /= THREAD_WEIGHT;
	an->time_mode = time_mode;
	/* keep every series aligned for its doubles */
	an->stride = (sizeof(struct stack_state) + series_size(p) + 7) & ~(size_t)7;
	return an;
}

void analyser_free(struct analyser *an)
{
	size_t i;

	if (!an)
		return;
	for (i = 0; an->n && i <= (an->n - 1) >> BLOCK_SHIFT; i++)
		free(an->blocks[i]);
	free(an->blocks);
	free(an->index);
	free(an->leaks);
	free(an->leak_keys);
	free(an);
}

static struct proc_state *proc_of(struct analyser *an, int pid)
{
	int i;

	for (i = 0; i < an->nprocs; i++)
		if (an->procs[i].view.pid == pid)
			return &an->procs[i];
	return NULL;
}

int analyser_add_process(struct analyser *an, int pid)
{
	struct proc_state *ps;

	if (an->nprocs == MAX_PROCS)
		return -1;
	ps = &an->procs[an->nprocs++];
	memset(ps, 0, sizeof(*ps));
	ps->view.pid = pid;
	ps->view.oom_eta = -1;
	if (!procmem_read(pid, &ps->view.mem)) {
		ps->view.have_mem = true;
		ps->view.anon_at_attach = ps->view.mem.anon;
	}
	return 0;
}

/* Cgroup usage when there is a limit, else anonymous memory: its rate over the ring. */
static void update_usage(struct proc_state *ps, double t)
{
	struct proc_view *v = &ps->view;
	double value = v->mem.cg_limit ? (double)v->mem.cg_usage : (double)v->mem.anon;
	int last = (ps->uhead + USAGE_RING - 1) % USAGE_RING, first;

	if (ps->un && t - ps->ut[last] < USAGE_EVERY)
		return;
	ps->ut[ps->uhead] = t;
	ps->uv[ps->uhead] = value;
	ps->uhead = (ps->uhead + 1) % USAGE_RING;
	if (ps->un < USAGE_RING)
		ps->un++;
	last = (ps->uhead + USAGE_RING - 1) % USAGE_RING;
	first = (ps->uhead + USAGE_RING - ps->un) % USAGE_RING;
	v->usage_rate = ps->un > 1 && ps->ut[last] > ps->ut[first]
	                    ? (ps->uv[last] - ps->uv[first]) / (ps->ut[last] - ps->ut[first])
	                    : 0;
	v->oom_eta = procmem_oom_eta(v->mem.cg_limit, v->mem.cg_usage, v->usage_rate);
}

/* Anonymous memory grew far more than the live heap we track: freed memory kept by the
 * allocator (high-water mark, fragmentation), not a leak. */
static void update_rss_note(struct proc_state *ps)
{
	struct proc_view *v = &ps->view;
	unsigned long long grown;

	if (v->live > ps->peak_live)
		ps->peak_live = v->live;
	grown = v->mem.anon > v->anon_at_attach ? v->mem.anon - v->anon_at_attach : 0;
	v->retained = grown > v->live ? grown - v->live : 0;
	v->rss_note =
	    v->retained >= RETAINED_MIN && v->retained * 2 >= grown && v->live <= ps->peak_live;
}

/* Per kind, the one place it is chosen: what a stack's series follows (live bytes, a
 * thread stack's live threads) and the thresholds it is judged by. */
static double series_y(const struct sample_row *row)
{
	long long v = kind_is_thread(row->key.kind) ? (long long)row->st.live_objects
	                                            : (long long)row->st.live_bytes;

	return v > 0 ? (double)v : 0;
}

static const struct trend_params *params_of(const struct analyser *an, const struct al_stack_key *k)
{
	return kind_is_thread(k->kind) ? &an->thread_params : &an->params;
}

/* In the growth tier the pages are the process's memory: a --mode auto window's heap
 * blocks live in those same pages and are not added again. Thread stacks are address
 * space reserved, not live memory. */
static void sample_process(struct proc_state *ps, const struct sample *smp, double t, bool growth)
{
	unsigned long long live = 0;
	int i;

	for (i = 0; i < smp->n; i++)
		if ((int)smp->rows[i].key.tgid == ps->view.pid &&
		    (long long)smp->rows[i].st.live_bytes > 0 &&
		    (!growth || smp->rows[i].key.kind == AL_FAULT) &&
		    !kind_is_thread(smp->rows[i].key.kind))
			live += smp->rows[i].st.live_bytes;
	ps->view.live = live;
	if (procmem_read(ps->view.pid, &ps->view.mem))
		return; /* gone: keep the last reading */
	ps->view.have_mem = true;
	update_usage(ps, t);
	update_rss_note(ps);
}

/* Growth tier: a stack's pages can look like they keep growing when the releases that
 * balance them are missed (a range we could not walk, memory given back in a way we do
 * not follow). A leak must also show in the process: its anonymous memory must have
 * grown since attach by at least half what the stack grew over its window. */
static void confirm_growth(const struct proc_state *ps, struct trend_result *r)
{
	const struct proc_view *v = &ps->view;
	double grown;

	if (r->verdict != V_LEAK || !v->have_mem)
		return;
	grown = (double)v->mem.anon - (double)v->anon_at_attach;
	if (grown < 0.5 * r->growth)
		r->verdict = V_GROWING;
}

/* Keep the list of leaking stacks in step with stack num's verdict. */
static void track_leak(struct analyser *an, struct stack_state *s, size_t num)
{
	bool leak = s->result.verdict == V_LEAK;
	size_t i;

	if (leak == s->in_leaks)
		return;
	if (!leak) {
		for (i = 0; an->leaks[i] != num; i++)
			;
		an->leaks[i] = an->leaks[--an->nleaks];
		s->in_leaks = false;
		return;
	}
	if (VEC_GROW(an->leaks, an->leaks_cap, an->nleaks + 1)) {
		an->leaks_lost = true;
		return;
	}
	an->leaks[an->nleaks++] = num;
	s->in_leaks = true;
}

static void sample_stack(struct analyser *an, const struct sample_row *row, double t, double x,
                         double prev_x, const struct proc_state *ps)
{
	struct stack_state *s = row_stack(an, &row->key);

	if (!s)
		return;
	/* A stack first seen now held nothing at the previous sample. */
	if (!s->started && prev_x < x)
		series_add(series_of(s), t, prev_x, 0);
	s->started = true;
	series_add(series_of(s), t, x, series_y(row));
	/* Some of its blocks went untracked (alloc map full): its live bytes undercount
	 * from then on, and a fit would read a leak as a plateau. The verdict it had
	 * stays (reported as unreliable), never a new one. */
	if (row->st.untracked && s->has_result)
		return;
	trend_classify(series_of(s), params_of(an, &s->key), &s->result);
	if (an->growth && s->key.kind == AL_FAULT)
		confirm_growth(ps, &s->result);
	s->has_result = true;
	s->fitted = false;
	track_leak(an, s, an->next - 1);
}

void analyser_sample(struct analyser *an, const struct sample *smp, double t, const int *pids,
                     const double *requests, int npids)
{
	int i, j;

	for (i = 0; i < npids; i++) {
		struct proc_state *ps = proc_of(an, pids[i]);
		double x = an->time_mode ? t : requests[i], prev;

		if (!ps)
			continue;
		sample_process(ps, smp, t, an->growth);
		ps->view.requests = x;
		/* A point only when the x axis moved: idle time says nothing per request. */
		if (ps->have_x && x <= ps->last_x)
			continue;
		prev = ps->have_x ? ps->last_x : x;
		for (j = 0; j < smp->n; j++)
			if ((int)smp->rows[j].key.tgid == pids[i])
				sample_stack(an, &smp->rows[j], t, x, prev, ps);
		ps->last_x = x;
		ps->have_x = true;
	}
}

int analyser_leaks(struct analyser *an, const struct al_stack_key **keys)
{
	struct al_stack_key *k;
	size_t i;

	*keys = NULL;
	if (an->leaks_lost)
		return -1;
	if (!an->nleaks)
		return 0;
	if (VEC_GROW(an->leak_keys, an->keys_cap, an->nleaks))
		return -1;
	k = an->leak_keys;
	for (i = 0; i < an->nleaks; i++)
		k[i] = state_at(an, an->leaks[i])->key;
	*keys = k;
	return (int)an->nleaks;
}

const struct trend_result *analyser_verdict_brief(struct analyser *an,
                                                  const struct al_stack_key *key)
{
	struct stack_state *s = lookup(an, key, false);

	return s && s->has_result && s->result.verdict != V_NONE ? &s->result : NULL;
}

const struct trend_result *analyser_verdict(struct analyser *an, const struct al_stack_key *key)
{
	struct stack_state *s = lookup(an, key, false);
	enum verdict v;

	if (!s || !s->has_result || s->result.verdict == V_NONE)
		return NULL;
	/* trend_classify computes only what its verdict needs: fill in the rest to show. */
	v = s->result.verdict;
	if (v != V_LEAK && v != V_GROWING && !s->fitted) {
		trend_fit(series_of(s), params_of(an, &s->key), &s->result);
		s->result.verdict = v;
		s->fitted = true;
	}
	/* "stable" is what a change below the minimum effect reads (rule 1); when the slope
	 * shown is significantly above zero that would contradict its own 95% interval: it
	 * is shown rising, not (yet) a leak. Only shown: the classifier's verdict, which
	 * analyser_growing() and the brief verdict read, stays as it is. */
	an->shown = s->result;
	if (v == V_STABLE && an->shown.slope_lo > 0)
		an->shown.verdict = V_GROWING;
	return &an->shown;
}

int analyser_points(struct analyser *an, const struct al_stack_key *key, struct trend_point *out,
                    int max)
{
	struct stack_state *s = lookup(an, key, false);
	int i, n;

	if (!s)
		return 0;
	n = series_len(series_of(s));
	for (i = 0; out && i < n && i < max; i++)
		series_sample(series_of(s), i, &out[i].t, &out[i].x, &out[i].y);
	return n;
}

const struct proc_view *analyser_process(struct analyser *an, int pid)
{
	struct proc_state *ps = proc_of(an, pid);

	return ps ? &ps->view : NULL;
}

bool analyser_growing(const struct analyser *an, int pid)
{
	size_t i;

	for (i = 0; i < an->n; i++) {
		const struct stack_state *s = state_at(an, i);

		if (s->has_result && s->key.kind == AL_FAULT && (int)s->key.tgid == pid &&
		    (s->result.verdict == V_LEAK || s->result.verdict == V_GROWING))
			return true;
	}
	return false;
}

/* Index and leak list from the store, after it was compacted. */
static void reindex(struct analyser *an)
{
	size_t i;

	memset(an->index, 0, an->cap * sizeof(*an->index));
	an->nleaks = 0;
	an->next = 0;
	for (i = 0; i < an->n; i++) {
		struct stack_state *s = state_at(an, i);

		*find_slot(an, &s->key) = i + 1;
		s->in_leaks = false;
		track_leak(an, s, i);
	}
}

/* Drop the stacks drop() says, keeping the others in their order at the front. */
static void forget_stacks(struct analyser *an, bool (*drop)(const struct al_stack_key *, int),
                          int arg)
{
	size_t r, w = 0, blocks = an->n ? ((an->n - 1) >> BLOCK_SHIFT) + 1 : 0;

	for (r = 0; r < an->n; r++) {
		struct stack_state *s = state_at(an, r);

		if (drop(&s->key, arg))
			continue;
		if (w != r)
			memcpy(state_at(an, w), s, an->stride);
		w++;
	}
	an->n = w;
	for (r = an->n ? ((an->n - 1) >> BLOCK_SHIFT) + 1 : 0; r < blocks; r++) {
		free(an->blocks[r]);
		an->blocks[r] = NULL;
	}
	if (an->cap)
		reindex(an);
}

static bool is_precise(const struct al_stack_key *k, int unused)
{
	(void)unused;
	return k->kind != AL_FAULT;
}

static bool of_process(const struct al_stack_key *k, int pid)
{
	return (int)k->tgid == pid;
}

void analyser_forget_precise(struct analyser *an)
{
	forget_stacks(an, is_precise, 0);
}

int analyser_forget_process(struct analyser *an, int pid)
{
	int i;

	forget_stacks(an, of_process, pid);
	for (i = 0; i < an->nprocs; i++)
		if (an->procs[i].view.pid == pid) {
			memmove(&an->procs[i], &an->procs[i + 1],
			        (an->nprocs - i - 1) * sizeof(an->procs[0]));
			an->nprocs--;
			break;
		}
	return analyser_add_process(an, pid);
}

void analyser_set_growth(struct analyser *an, bool growth)
{
	an->growth = growth;
}

bool analyser_time_mode(const struct analyser *an)
{
	return an->time_mode;
}
