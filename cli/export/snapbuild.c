// SPDX-License-Identifier: GPL-2.0
/* snapbuild.c - gather one report's results into a snapshot for the exporters.
 *
 * Stacks that allocated are listed largest live bytes first (ties in the sampler's
 * order; a thread stack weighs THREAD_WEIGHT per live thread, not its reserved bytes,
 * which count neither in its process's live heap nor in the leaks' sum); the first
 * symbolize_top and every leak get their frames resolved (the
 * symbolizer caches, so this is cheap after the first report) and a short id that
 * stays the same across runs of the same binaries: a hash of the kind and of each
 * frame's module and file offset. With list_all every such stack is listed (pprof,
 * folded and HTML show them all); else only those the interval outputs can read:
 * the first symbolize_top, every leak, and each process's first non-leak after the
 * first symbolize_top (the Prometheus export may reach for it), picked in one pass
 * without sorting tens of thousands of stacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/names.h"
#include "export/snapbuild.h"
#include "base/hash.h"
#include "stack_key.h"

/* Where the row goes in the report order: its live bytes, or a thread stack's weight. */
static long long weight_of(const struct sample_row *r)
{
	return stack_weight(&r->key, &r->st);
}

static bool allocated(const struct sample_row *r)
{
	return r->st.allocs || weight_of(r) > 0;
}

/* A row and its place in the report order. */
struct pick {
	long long weight;
	int row;
};

/* Heavier first, ties in row order (as the stable sort of a full list). */
static bool before(const struct pick *a, const struct pick *b)
{
	return a->weight != b->weight ? a->weight > b->weight : a->row < b->row;
}

static int pick_order(const void *a, const void *b)
{
	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* The first k picks offered, as a heap with the one that comes last on top. */
struct heap {
	struct pick *p;
	int n, k;
};

static void swap_picks(struct pick *a, struct pick *b)
{
	struct pick t = *a;

	*a = *b;
	*b = t;
}

static void sift_down(struct heap *h, int i)
{
	for (;;) {
		int c = 2 * i + 1, m = i;

		if (c < h->n && before(&h->p[m], &h->p[c]))
			m = c;
		if (c + 1 < h->n && before(&h->p[m], &h->p[c + 1]))
			m = c + 1;
		if (m == i)
			return;
		swap_picks(&h->p[i], &h->p[m]);
		i = m;
	}
}

static void heap_offer(struct heap *h, struct pick p)
{
	int i;

	if (h->n == h->k) {
		if (!h->k || !before(&p, &h->p[0]))
			return;
		h->p[0] = p;
		sift_down(h, 0);
		return;
	}
	i = h->n++;
	h->p[i] = p;
	for (; i && before(&h->p[(i - 1) / 2], &h->p[i]); i = (i - 1) / 2)
		swap_picks(&h->p[(i - 1) / 2], &h->p[i]);
}

static int key_order(const void *a, const void *b)
{
	return al_stack_key_cmp(a, b);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void stack_id(struct snap_stack *s)
{
	unsigned long long h = hash_fnv1a(HASH_FNV_INIT, s->kind, strlen(s->kind));
	int i;

	for (i = 0; i < s->nframes; i++) {
		const struct snap_frame *f = &s->frames[i];
		const char *m = base_name(f->module);

		if (f->python) { /* where the code object is changes from run to run */
			h = hash_fnv1a(h, f->func, strlen(f->func));
			h = hash_fnv1a(h, f->file, strlen(f->file));
			h = hash_fnv1a(h, &f->line, sizeof(f->line));
			continue;
		}
		h = hash_fnv1a(h, m, strlen(m));
		h = hash_fnv1a(h, f->module[0] ? &f->module_off : &f->addr, sizeof(f->addr));
	}
	snprintf(s->id, sizeof(s->id), "%012llx", h & 0xffffffffffffULL);
}

static void fill_frame(const struct snap_input *in, int pid, unsigned long long addr,
                       struct snap_frame *f)
{
	struct sym_frame sf;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	sym_resolve(in->sym, pid, addr, 1, &sf);
	sym_format(&sf, f->text, sizeof(f->text));
	snprintf(f->func, sizeof(f->func), "%s", sf.func);
	snprintf(f->file, sizeof(f->file), "%s", sf.file);
	snprintf(f->module, sizeof(f->module), "%s", sf.module);
	f->off = sf.off;
	f->line = sf.line;
	f->module_off = sf.module_off;
}

static const struct py_interp *python_of(const struct snap_input *in, int pid)
{
	int i;

	for (i = 0; i < in->ntargets; i++)
		if (in->targets[i].t->pid == pid)
			return in->targets[i].py;
	return NULL;
}

/* A Python frame: "qualname (file.py:line)"; the code object's address when it cannot
 * be read (it was freed, or the process is gone). */
static void fill_pyframe(const struct snap_input *in, const struct py_interp *py, int pid,
                         const struct al_py_frame *pf, struct snap_frame *f)
{
	const struct pycode *code;
	int line;

	memset(f, 0, sizeof(*f));
	f->python = true;
	f->addr = pf->code;
	if (pysyms_frame(in->pysyms, pid, py, pf->code, pf->instr, &code, &line)) {
		snprintf(f->func, sizeof(f->func), "<code 0x%llx>", (unsigned long long)pf->code);
		snprintf(f->text, sizeof(f->text), "[python code 0x%llx]",
		         (unsigned long long)pf->code);
		return;
	}
	snprintf(f->func, sizeof(f->func), "%.255s", code->name);
	snprintf(f->file, sizeof(f->file), "%.255s", code->file);
	f->line = line > 0 ? line : 0;
	if (line > 0)
		snprintf(f->text, sizeof(f->text), "%.255s (%.255s:%d)", code->name,
		         base_name(code->file), line);
	else
		snprintf(f->text, sizeof(f->text), "%.255s (%.255s)", code->name,
		         base_name(code->file));
}

/* Python frames stand where the interpreter runs them: the native frames up to the
 * first one in the interpreter's object (a C extension's, libc's), then the Python
 * stack, innermost first; the interpreter's own native frames are left out (and never
 * symbolized: with pyenv's DWARF that is most of a report's time). Returns the frames
 * made, 0 when the stack has no Python frames to show. */
static int python_frames(const struct snap_input *in, struct snap_stack *s, const __u64 *ips,
                         int nips)
{
	const struct py_interp *py = python_of(in, s->key.tgid);
	struct al_py_stack ps;
	int keep, i, n;

	if (!s->key.pystack || !py || !in->pysyms ||
	    sampler_pystack(in->sampler, s->key.pystack, &ps) || !ps.nframes)
		return 0;
	for (keep = 0; keep < nips && (ips[keep] < py->lo || ips[keep] >= py->hi); keep++)
		;
	n = keep + (int)ps.nframes + (ps.truncated ? 1 : 0);
	if (n > in->max_depth)
		n = in->max_depth > keep ? in->max_depth : keep;
	s->frames = calloc(n, sizeof(*s->frames));
	if (!s->frames)
		return -ENOMEM;
	for (i = 0; i < keep; i++)
		fill_frame(in, s->key.tgid, ips[i], &s->frames[i]);
	for (; i < n && i - keep < (int)ps.nframes; i++)
		fill_pyframe(in, py, s->key.tgid, &ps.frames[i - keep], &s->frames[i]);
	if (i < n) { /* the walk stopped early: more than it keeps, or a broken chain */
		s->frames[i].python = true;
		snprintf(s->frames[i].func, sizeof(s->frames[i].func), "[python: not walked]");
		snprintf(s->frames[i].text, sizeof(s->frames[i].text),
		         "[python: deeper frames not walked]");
	}
	s->nframes = n;
	return n;
}

/* Frame 0 is the caller read at entry; the kernel's frame 0 is the allocator itself. */
static int fill_frames(const struct snap_input *in, struct snap_stack *s)
{
	__u64 ips[AL_MAX_STACK_DEPTH];
	int n, i;

	n = sampler_stack(in->sampler, s->key.stackid, ips, AL_MAX_STACK_DEPTH);
	ips[0] = s->key.caller;
	/* An allocator with a frame pointer (linked into a static binary) leaves its own
	 * return address as the walk's frame 1: the caller again. */
	if (n > 1 && ips[1] == ips[0]) {
		memmove(ips + 1, ips + 2, (n - 2) * sizeof(ips[0]));
		n--;
	}
	if (n < 1)
		n = 1;
	i = python_frames(in, s, ips, n);
	if (i < 0)
		return -ENOMEM;
	if (i > 0) {
		stack_id(s);
		return 0;
	}
	if (n > in->max_depth)
		n = in->max_depth;
	s->frames = calloc(n, sizeof(*s->frames));
	if (!s->frames)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		fill_frame(in, s->key.tgid, ips[i], &s->frames[i]);
	s->nframes = n;
	stack_id(s);
	return 0;
}

static int fill_points(const struct snap_input *in, struct snap_stack *s)
{
	int n = in->an ? analyser_points(in->an, &s->key, NULL, 0) : 0;

	if (n <= 0)
		return 0;
	s->points = calloc(n, sizeof(*s->points));
	if (!s->points)
		return -ENOMEM;
	s->npoints = analyser_points(in->an, &s->key, s->points, n);
	return 0;
}

static void fill_process(const struct snap_input *in, const struct snap_target *st,
                         struct snap_process *p)
{
	const struct proc_view *v = in->an ? analyser_process(in->an, st->t->pid) : NULL;
	int i;

	p->pid = st->t->pid;
	snprintf(p->comm, sizeof(p->comm), "%s", st->t->comm);
	snprintf(p->flavor, sizeof(p->flavor), "%s", st->al->flavor);
	snprintf(p->allocator, sizeof(p->allocator), "%s", st->al->target_path);
	p->exited = st->t->exited;
	p->oom_eta = -1;
	if (st->py) {
		python_version_str(st->py->version, p->python, sizeof(p->python));
		p->pymalloc = st->pymalloc;
	}
	for (i = 0; i < in->smp->n; i++) {
		const struct sample_row *r = &in->smp->rows[i];

		if ((int)r->key.tgid != p->pid)
			continue;
		if (kind_is_thread(r->key.kind)) {
			p->threads_started += r->st.allocs;
			p->threads_ended += r->st.frees;
			if ((long long)r->st.live_objects <= 0)
				continue;
			p->live_threads += r->st.live_objects;
			p->thread_reserved += r->st.live_bytes;
			p->thread_stacks++;
			continue;
		}
		p->allocs += r->st.allocs;
		p->frees += r->st.frees;
		if ((long long)r->st.live_bytes <= 0)
			continue;
		p->live_bytes += r->st.live_bytes;
		p->live_objects += r->st.live_objects;
		p->nstacks++;
	}
	if (!v)
		return;
	p->requests = v->requests;
	p->have_mem = v->have_mem;
	p->rss = v->mem.rss;
	p->anon = v->mem.anon;
	p->cg_limit = v->mem.cg_limit;
	p->cg_usage = v->mem.cg_usage;
	p->oom_eta = v->oom_eta;
	p->rss_note = v->rss_note;
	p->retained = v->retained;
}

/* full: every statistic of the verdict (costs a fit for non-leaks: only for stacks shown). */
static void fill_verdict(const struct snap_input *in, struct snapshot *snap, struct snap_stack *s,
                         bool full)
{
	const struct trend_result *t = NULL;
	const struct snap_process *p = snapshot_process(snap, s->key.tgid);

	if (in->an)
		t = full ? analyser_verdict(in->an, &s->key)
		         : analyser_verdict_brief(in->an, &s->key);

	/* A stack below zero (frees of blocks from before attach) has no share. A thread
	 * stack's share is of the process's live threads. */
	if (snap_is_thread(s))
		s->growth_share =
		    p && p->live_threads ? (double)s->st.live_objects / p->live_threads : -1;
	else
		s->growth_share = p && p->live_bytes && (long long)s->st.live_bytes >= 0
		                      ? (double)s->st.live_bytes / p->live_bytes
		                      : -1;
	if (!t)
		return;
	s->has_verdict = true;
	s->verdict = *t;
	if (t->verdict != V_LEAK)
		return;
	if (snap_is_thread(s)) {
		snap->nthread_leaks++;
		snap->thread_slope += t->slope;
	} else {
		snap->nleaks++;
		snap->leak_slope += t->slope;
	}
}

static void list_row(struct snapshot *snap, const struct sample_row *r)
{
	struct snap_stack *s = &snap->stacks[snap->nstacks++];

	s->key = r->key;
	s->st = r->st;
	s->kind = kind_name(r->key.kind);
}

/* Every stack that allocated. */
static int list_all(struct snapshot *snap, const struct snap_input *in)
{
	struct pick *order = calloc(in->smp->n ? in->smp->n : 1, sizeof(*order));
	int i, n = 0;

	snap->stacks = calloc(in->smp->n ? in->smp->n : 1, sizeof(*snap->stacks));
	if (!snap->stacks || !order) {
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < in->smp->n; i++)
		if (allocated(&in->smp->rows[i]))
			order[n++] = (struct pick){weight_of(&in->smp->rows[i]), i};
	qsort(order, n, sizeof(*order), pick_order);
	for (i = 0; i < n; i++)
		list_row(snap, &in->smp->rows[order[i].row]);
	snap->nstacks_all = snap->nstacks;
	free(order);
	return 0;
}

/* Which target's heap a row goes to (the last one: none of them). */
static int target_of(const struct snap_input *in, int pid)
{
	int i;

	for (i = 0; i < in->ntargets && in->targets[i].t->pid != pid; i++)
		;
	return i;
}

/* Offer every row that allocated: leaks to picks[], the others to their process's
 * heap. Returns how many allocated. */
static int offer_rows(const struct snap_input *in, const struct al_stack_key *leaks, int nleaks,
                      struct heap *heaps, struct pick *picks, int *npicks)
{
	int i, t = 0, total = 0;

	for (i = 0; i < in->smp->n; i++) {
		const struct sample_row *r = &in->smp->rows[i];
		struct pick p = {weight_of(r), i};

		if (!allocated(r))
			continue;
		total++;
		if (nleaks && bsearch(&r->key, leaks, nleaks, sizeof(*leaks), key_order)) {
			picks[(*npicks)++] = p;
			continue;
		}
		if (t >= in->ntargets || in->targets[t].t->pid != (int)r->key.tgid)
			t = target_of(in, r->key.tgid);
		heap_offer(&heaps[t], p);
	}
	return total;
}

/* Only what the interval outputs read (see the top of the file). Returns 1 when
 * listing every stack is as cheap, or needed. */
static int list_shown(struct snapshot *snap, const struct snap_input *in)
{
	const struct al_stack_key *lk = NULL;
	int k = in->symbolize_top + 1, nh = in->ntargets + 1, nleaks = 0, npicks = 0, i, j;
	struct heap *heaps;
	struct al_stack_key *leaks = NULL;
	struct pick *picks;

	if (in->list_all || in->symbolize_top < 0 || (long long)k * nh * 4 >= in->smp->n)
		return 1;
	if (in->an && (nleaks = analyser_leaks(in->an, &lk)) < 0)
		return 1;
	heaps = calloc(nh, sizeof(*heaps));
	picks = calloc((size_t)nleaks + (size_t)k * nh, sizeof(*picks));
	leaks = nleaks ? malloc(nleaks * sizeof(*leaks)) : NULL;
	if (!heaps || !picks || (nleaks && !leaks))
		goto fail;
	if (nleaks) {
		memcpy(leaks, lk, nleaks * sizeof(*leaks));
		qsort(leaks, nleaks, sizeof(*leaks), key_order);
	}
	for (i = 0; i < nh; i++)
		heaps[i] = (struct heap){.p = picks + nleaks + (size_t)i * k, .k = k};
	snap->nstacks_all = offer_rows(in, leaks, nleaks, heaps, picks, &npicks);
	for (i = 0; i < nh; i++)
		for (j = 0; j < heaps[i].n; j++)
			picks[npicks++] = heaps[i].p[j];
	qsort(picks, npicks, sizeof(*picks), pick_order);
	snap->stacks = calloc(npicks ? npicks : 1, sizeof(*snap->stacks));
	if (!snap->stacks)
		goto fail;
	for (i = 0; i < npicks; i++)
		list_row(snap, &in->smp->rows[picks[i].row]);
	free(heaps);
	free(picks);
	free(leaks);
	return 0;
fail:
	free(heaps);
	free(picks);
	free(leaks);
	return -ENOMEM;
}

/* --python-objects: how much of a leaking stack is read. Heap blocks cost 64 B each;
 * pages and mappings (pymalloc's arenas) up to 1 MiB each. */
#define OBJ_STACKS   8 /* per process, the biggest leaks first */
#define OBJ_BLOCKS   256
#define OBJ_RANGE_MB 8

static void copy_tally(struct snap_objects *o, struct pyobj_tally *t, const char *unit)
{
	int i;

	pyobj_tally_sort(t);
	for (i = 0; i < t->ntypes && i < SNAP_OBJTYPES; i++) {
		snprintf(o->types[i].name, sizeof(o->types[i].name), "%s", t->types[i].name);
		o->types[i].objects = t->types[i].objects;
		o->types[i].bytes = t->types[i].bytes;
	}
	o->ntypes = i;
	o->other_objects = t->other_objects;
	o->other_bytes = t->other_bytes;
	for (; i < t->ntypes; i++) {
		o->other_objects += t->types[i].objects;
		o->other_bytes += t->types[i].bytes;
	}
	o->read = t->ranges_read;
	o->unread = t->ranges_unread;
	o->unit = unit;
}

/* The Python types in a sample of the live blocks of the leaks (and growing stacks) of
 * CPython targets. */
static int fill_objects(struct snapshot *snap, const struct snap_input *in)
{
	struct al_stack_key *keys = calloc(OBJ_STACKS * in->ntargets, sizeof(*keys));
	struct snap_stack **pick = calloc(OBJ_STACKS * in->ntargets, sizeof(*pick));
	unsigned long long *range_bytes = calloc(OBJ_STACKS * in->ntargets, sizeof(*range_bytes));
	struct pyobj_tally *tally = NULL;
	struct sample_block *b = NULL;
	int n = 0, nb, i, j, mine, r = -ENOMEM;

	if (!in->ntargets)
		r = 0;
	if (!keys || !pick || !range_bytes)
		goto out;
	for (i = 0; i < snap->nstacks && n < OBJ_STACKS * in->ntargets; i++) {
		struct snap_stack *s = &snap->stacks[i];

		/* Leaks, and what is rising but not (yet) one: pymalloc's arenas grow in 1 MiB
		 * steps, which can read growing for a while. Thread stacks hold no objects. */
		if (!s->has_verdict ||
		    (s->verdict.verdict != V_LEAK && s->verdict.verdict != V_GROWING) ||
		    !python_of(in, s->key.tgid) || s->key.kind == AL_THREAD)
			continue;
		for (j = mine = 0; j < n; j++)
			mine += keys[j].tgid == s->key.tgid;
		if (mine < OBJ_STACKS) {
			keys[n] = s->key;
			pick[n++] = s;
		}
	}
	r = 0;
	if (!n)
		goto out;
	nb = sampler_blocks(in->sampler, keys, n, OBJ_BLOCKS, &b);
	if (nb < 0) {
		r = nb == -ENOMEM ? -ENOMEM : 0;
		goto out;
	}
	tally = calloc(n, sizeof(*tally));
	r = -ENOMEM;
	if (!tally)
		goto out;
	for (i = 0; i < nb; i++) {
		const struct sample_block *k = &b[i];
		int pid = keys[k->which].tgid;

		if (!k->heap) {
			if (range_bytes[k->which] >= OBJ_RANGE_MB << 20)
				continue;
			range_bytes[k->which] += k->len;
		}
		pyobjects_read(in->pyobjects, pid, python_of(in, pid), k->addr, k->len, k->heap,
		               &tally[k->which]);
	}
	for (i = 0; i < n; i++) {
		pick[i]->objects = calloc(1, sizeof(*pick[i]->objects));
		if (!pick[i]->objects)
			break;
		copy_tally(pick[i]->objects, &tally[i],
		           keys[i].kind == AL_FAULT  ? "pages"
		           : keys[i].kind == AL_MMAP ? "mappings"
		                                     : "blocks");
	}
	r = i < n ? -ENOMEM : 0;
out:
	free(tally);
	free(b);
	free(keys);
	free(pick);
	free(range_bytes);
	return r;
}

int snapshot_build(struct snapshot *snap, const struct snap_input *in)
{
	struct timespec now;
	int i, n, r;

	memset(snap, 0, sizeof(*snap));
	if (in->pysyms)
		pysyms_recheck(in->pysyms);
	clock_gettime(CLOCK_REALTIME, &now);
	snap->unix_time = now.tv_sec + now.tv_nsec / 1e9;
	snap->elapsed = in->elapsed;
	snap->final = in->final;
	snap->time_mode = in->an && analyser_time_mode(in->an);
	snap->request_source = in->request_source;
	snap->sample_seconds = in->sample_seconds;
	snap->sample_bytes = in->sample_bytes;
	snap->growth = in->growth;
	snap->mode = in->mode;
	snap->diagnosis = in->diagnosis;
	snap->diagnosis_open = in->diagnosis_open;
	snap->diagnosis_left = in->diagnosis_left;
	snap->diagnosis_result = in->diagnosis_result;
	snap->probe_hits_per_s = in->probe_hits_per_s;
	snap->overhead_cpu = in->overhead_cpu;
	memcpy(snap->counters, in->smp->counters, sizeof(snap->counters));
	snap->procs = calloc(in->ntargets ? in->ntargets : 1, sizeof(*snap->procs));
	if (!snap->procs)
		return -ENOMEM;
	for (i = 0; i < in->ntargets; i++)
		fill_process(in, &in->targets[i], &snap->procs[snap->nprocs++]);
	r = list_shown(snap, in);
	if (r > 0)
		r = list_all(snap, in);
	if (r)
		return r;
	n = snap->nstacks;
	for (i = 0; i < n; i++) {
		struct snap_stack *s = &snap->stacks[i];

		bool shown = in->symbolize_top < 0 || i < in->symbolize_top;

		fill_verdict(in, snap, s, shown);
		if (!shown && !(s->has_verdict && s->verdict.verdict == V_LEAK))
			continue;
		if (fill_frames(in, s) || fill_points(in, s))
			return -ENOMEM;
	}
	return in->pyobjects ? fill_objects(snap, in) : 0;
}

void snapshot_free(struct snapshot *snap)
{
	int i;

	for (i = 0; i < snap->nstacks; i++) {
		free(snap->stacks[i].frames);
		free(snap->stacks[i].points);
		free(snap->stacks[i].objects);
	}
	free(snap->stacks);
	free(snap->procs);
	memset(snap, 0, sizeof(*snap));
}
