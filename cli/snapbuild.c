/* snapbuild.c - gather one report's results into a snapshot for the exporters.
 *
 * Every stack that allocated is listed, largest live bytes first; the first
 * symbolize_top get their frames resolved (the symbolizer caches, so this is cheap
 * after the first report) and a short id that stays the same across runs of the same
 * binaries: a hash of the kind and of each frame's module and file offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"
#include "snapbuild.h"

static long long live_of(const struct sample_row *r)
{
	return (long long)r->st.live_bytes;
}

static int by_live(const void *a, const void *b)
{
	const struct snap_stack *x = a, *y = b;
	long long p = (long long)x->st.live_bytes, q = (long long)y->st.live_bytes;

	return p < q ? 1 : p > q ? -1 : 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static void stack_id(struct snap_stack *s)
{
	unsigned long long h = fnv(0xcbf29ce484222325ULL, s->kind, strlen(s->kind));
	int i;

	for (i = 0; i < s->nframes; i++) {
		const struct snap_frame *f = &s->frames[i];
		const char *m = base_name(f->module);

		h = fnv(h, m, strlen(m));
		h = fnv(h, f->module[0] ? &f->module_off : &f->addr, sizeof(f->addr));
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

/* Frame 0 is the caller read at entry; the kernel's frame 0 is the allocator itself. */
static int fill_frames(const struct snap_input *in, struct snap_stack *s)
{
	__u64 ips[AL_MAX_STACK_DEPTH];
	int n, i;

	n = sampler_stack(in->sampler, s->key.stackid, ips, AL_MAX_STACK_DEPTH);
	ips[0] = s->key.caller;
	if (n < 1)
		n = 1;
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
	int n = analyser_points(in->an, &s->key, NULL, 0);

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
	for (i = 0; i < in->smp->n; i++) {
		const struct sample_row *r = &in->smp->rows[i];

		if ((int)r->key.tgid != p->pid)
			continue;
		p->allocs += r->st.allocs;
		p->frees += r->st.frees;
		if (live_of(r) <= 0)
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

	s->growth_share = p && p->live_bytes ? (double)s->st.live_bytes / p->live_bytes : -1;
	if (!t)
		return;
	s->has_verdict = true;
	s->verdict = *t;
	if (t->verdict == V_LEAK) {
		snap->nleaks++;
		snap->leak_slope += t->slope;
	}
}

int snapshot_build(struct snapshot *snap, const struct snap_input *in)
{
	struct timespec now;
	int i, n = 0;

	memset(snap, 0, sizeof(*snap));
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
	snap->stacks = calloc(in->smp->n ? in->smp->n : 1, sizeof(*snap->stacks));
	if (!snap->procs || !snap->stacks)
		return -ENOMEM;
	for (i = 0; i < in->ntargets; i++)
		fill_process(in, &in->targets[i], &snap->procs[snap->nprocs++]);
	for (i = 0; i < in->smp->n; i++) {
		const struct sample_row *r = &in->smp->rows[i];
		struct snap_stack *s;

		if (!r->st.allocs && live_of(r) <= 0)
			continue;
		s = &snap->stacks[n++];
		s->key = r->key;
		s->st = r->st;
		s->kind = al_kind_name(r->key.kind);
	}
	snap->nstacks = n;
	qsort(snap->stacks, n, sizeof(*snap->stacks), by_live);
	for (i = 0; i < n; i++) {
		struct snap_stack *s = &snap->stacks[i];

		bool shown = in->symbolize_top < 0 || i < in->symbolize_top;

		fill_verdict(in, snap, s, shown);
		if (!shown && !(s->has_verdict && s->verdict.verdict == V_LEAK))
			continue;
		if (fill_frames(in, s) || fill_points(in, s))
			return -ENOMEM;
	}
	return 0;
}

void snapshot_free(struct snapshot *snap)
{
	int i;

	for (i = 0; i < snap->nstacks; i++) {
		free(snap->stacks[i].frames);
		free(snap->stacks[i].points);
	}
	free(snap->stacks);
	free(snap->procs);
	memset(snap, 0, sizeof(*snap));
}
