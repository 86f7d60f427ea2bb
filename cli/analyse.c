/* analyse.c - turn samples into verdicts: one trend series per stack, plus the facts
 * about each process's memory that a verdict alone cannot give.
 *
 * Each sample period the stacks' live bytes are added to their series against the
 * requests their process has handled (or against time); trend.c classifies them.
 * Per process we follow RSS and anonymous memory (procmem.c), the cgroup's limit and
 * how fast usage approaches it, and whether anonymous memory grew far beyond the live
 * heap we track (the allocator keeping freed memory: not a leak).
 */
#include <stdlib.h>
#include <string.h>
#include "analyse.h"

#define MAX_PROCS    64
#define USAGE_RING   32  /* cgroup/anon usage readings kept for the rate */
#define USAGE_EVERY  1.0 /* seconds between kept readings */
#define RETAINED_MIN (32ULL << 20)

struct stack_state {
	struct al_stack_key key;
	bool used;
	bool has_result;
	bool started;
	bool fitted; /* result has every statistic, not only the verdict's */
	struct series *series;
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
	bool time_mode;
	bool growth; /* growth tier: confirm leaks by the process's anonymous growth */
	struct stack_state *table;
	size_t cap, used;
	struct proc_state procs[MAX_PROCS];
	int nprocs;
};

static size_t key_hash(const struct al_stack_key *k)
{
	unsigned long long h = k->caller * 0x9e3779b97f4a7c15ULL;

	h ^= ((unsigned long long)k->tgid << 32 | (unsigned int)k->stackid) * 0xff51afd7ed558ccdULL;
	h ^= k->kind;
	return (size_t)(h ^ (h >> 29));
}

static bool key_equal(const struct al_stack_key *a, const struct al_stack_key *b)
{
	return a->tgid == b->tgid && a->stackid == b->stackid && a->caller == b->caller &&
	       a->kind == b->kind;
}

static struct stack_state *find_slot(struct stack_state *t, size_t cap,
                                     const struct al_stack_key *k)
{
	size_t i = key_hash(k) & (cap - 1);

	while (t[i].used && !key_equal(&t[i].key, k))
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int grow_table(struct analyser *an)
{
	size_t cap = an->cap ? an->cap * 2 : 1024, i;
	struct stack_state *t = calloc(cap, sizeof(*t));

	if (!t)
		return -1;
	for (i = 0; i < an->cap; i++)
		if (an->table[i].used)
			*find_slot(t, cap, &an->table[i].key) = an->table[i];
	free(an->table);
	an->table = t;
	an->cap = cap;
	return 0;
}

static struct stack_state *lookup(struct analyser *an, const struct al_stack_key *k, bool create)
{
	struct stack_state *s;

	if (!an->cap || (create && (an->used + 1) * 10 > an->cap * 7)) {
		if (!create || grow_table(an))
			return NULL;
	}
	s = find_slot(an->table, an->cap, k);
	if (s->used || !create)
		return s->used ? s : NULL;
	s->series = series_new(&an->params);
	if (!s->series)
		return NULL;
	s->used = true;
	s->key = *k;
	an->used++;
	return s;
}

struct analyser *analyser_new(const struct trend_params *p, bool time_mode)
{
	struct analyser *an = calloc(1, sizeof(*an));

	if (!an)
		return NULL;
	an->params = *p;
	an->time_mode = time_mode;
	return an;
}

void analyser_free(struct analyser *an)
{
	size_t i;

	if (!an)
		return;
	for (i = 0; i < an->cap; i++)
		if (an->table[i].used)
			series_free(an->table[i].series);
	free(an->table);
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

static void sample_process(struct proc_state *ps, const struct sample *smp, double t)
{
	unsigned long long live = 0;
	int i;

	for (i = 0; i < smp->n; i++)
		if ((int)smp->rows[i].key.tgid == ps->view.pid &&
		    (long long)smp->rows[i].st.live_bytes > 0)
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

static void sample_stack(struct analyser *an, const struct sample_row *row, double t, double x,
                         double prev_x, const struct proc_state *ps)
{
	struct stack_state *s = lookup(an, &row->key, true);
	long long live = (long long)row->st.live_bytes;

	if (!s)
		return;
	/* A stack first seen now held nothing at the previous sample. */
	if (!s->started && prev_x < x)
		series_add(s->series, t, prev_x, 0);
	s->started = true;
	series_add(s->series, t, x, live > 0 ? (double)live : 0);
	trend_classify(s->series, &an->params, &s->result);
	if (an->growth && s->key.kind == AL_FAULT)
		confirm_growth(ps, &s->result);
	s->has_result = true;
	s->fitted = false;
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
		sample_process(ps, smp, t);
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
		trend_fit(s->series, &an->params, &s->result);
		s->result.verdict = v;
		s->fitted = true;
	}
	return &s->result;
}

int analyser_points(struct analyser *an, const struct al_stack_key *key, struct snap_point *out,
                    int max)
{
	struct stack_state *s = lookup(an, key, false);
	int i, n;

	if (!s)
		return 0;
	n = series_len(s->series);
	for (i = 0; out && i < n && i < max; i++)
		series_sample(s->series, i, &out[i].t, &out[i].x, &out[i].y);
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

	for (i = 0; i < an->cap; i++) {
		const struct stack_state *s = &an->table[i];

		if (s->used && s->has_result && s->key.kind == AL_FAULT &&
		    (int)s->key.tgid == pid &&
		    (s->result.verdict == V_LEAK || s->result.verdict == V_GROWING))
			return true;
	}
	return false;
}

void analyser_forget_precise(struct analyser *an)
{
	struct stack_state *old = an->table;
	size_t cap = an->cap, i;

	an->table = cap ? calloc(cap, sizeof(*an->table)) : NULL;
	if (cap && !an->table) { /* keep the old table: stale stacks beat a crash */
		an->table = old;
		return;
	}
	an->used = 0;
	for (i = 0; i < cap; i++) {
		if (!old[i].used)
			continue;
		if (old[i].key.kind == AL_FAULT) {
			*find_slot(an->table, cap, &old[i].key) = old[i];
			an->used++;
		} else {
			series_free(old[i].series);
		}
	}
	free(old);
}

void analyser_set_growth(struct analyser *an, bool growth)
{
	an->growth = growth;
}

bool analyser_time_mode(const struct analyser *an)
{
	return an->time_mode;
}
