/* report.c - the terminal report.
 *
 * Interval reports and the final report share one layout (docs/cli-contract.md):
 * a line per process, the loss counters, then the top stacks by live bytes, each
 * with its frames. Frame #0 is the allocator's caller (exact); deeper frames come
 * from the kernel's frame pointer walk.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"

static const char *const kind_names[AL_KIND_MAX] = {
    [AL_MALLOC] = "malloc",
    [AL_CALLOC] = "calloc",
    [AL_REALLOC] = "realloc",
    [AL_REALLOCARRAY] = "reallocarray",
    [AL_POSIX_MEMALIGN] = "posix_memalign",
    [AL_ALIGNED_ALLOC] = "aligned_alloc",
    [AL_MEMALIGN] = "memalign",
    [AL_VALLOC] = "valloc",
    [AL_PVALLOC] = "pvalloc",
    [AL_FREE] = "free",
    [AL_MMAP] = "mmap",
};

const char *al_kind_name(unsigned int kind)
{
	return kind < AL_KIND_MAX && kind_names[kind] ? kind_names[kind] : "?";
}

static long long live_bytes(const struct sample_row *r)
{
	return (long long)r->st.live_bytes;
}

static int by_live_bytes(const void *a, const void *b)
{
	long long x = live_bytes(a), y = live_bytes(b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static void print_process(const struct report_ctx *ctx, const struct report_target *rt,
                          const struct sample *smp)
{
	unsigned long long bytes = 0, objs = 0, allocs = 0, frees = 0;
	int i, nstacks = 0;

	for (i = 0; i < smp->n; i++) {
		const struct sample_row *r = &smp->rows[i];

		if ((int)r->key.tgid != rt->t->pid)
			continue;
		allocs += r->st.allocs;
		frees += r->st.frees;
		if (live_bytes(r) <= 0)
			continue;
		bytes += r->st.live_bytes;
		objs += r->st.live_objects;
		nstacks++;
	}
	fprintf(ctx->out,
	        "pid %d (%s) %s %s: %llu B live in %llu objects at %d stacks; %llu allocs, "
	        "%llu frees%s\n",
	        rt->t->pid, rt->t->comm, rt->al->flavor, rt->al->target_path, bytes, objs, nstacks,
	        allocs, frees, rt->t->exited ? " (exited)" : "");
}

static void print_memory(const struct report_ctx *ctx, const struct proc_view *v)
{
	const struct procmem *m = &v->mem;

	if (!v->have_mem)
		return;
	fprintf(ctx->out, "    memory: rss %llu B, anon %llu B, tracked live %llu B; ", m->rss,
	        m->anon, v->live);
	if (analyser_time_mode(ctx->an))
		fprintf(ctx->out, "%.1f s observed\n", v->requests);
	else
		fprintf(ctx->out, "%.0f requests\n", v->requests);
	if (m->cg_limit) {
		fprintf(ctx->out, "    cgroup: limit %llu B, usage %llu B, ", m->cg_limit,
		        m->cg_usage);
		if (v->oom_eta >= 0)
			fprintf(ctx->out, "OOM in %.0f s at the current rate\n", v->oom_eta);
		else
			fprintf(ctx->out, "no growth\n");
	}
	if (v->rss_note)
		fprintf(
		    ctx->out,
		    "    note: RSS high, live heap flat: anon memory grew by %llu B since attach "
		    "but only %llu B of it is live in tracked allocations; the allocator keeps "
		    "freed memory (high-water mark or fragmentation), not a leak\n",
		    v->retained + v->live, v->live);
}

static void print_losses(const struct report_ctx *ctx, const struct sample *smp)
{
	const __u64 *c = smp->counters;

	fprintf(
	    ctx->out,
	    "losses: alloc-map-full %llu, stats-map-full %llu, stack-map-full %llu, "
	    "stack-collisions %llu, unknown-frees %llu, inflight-full %llu, events-lost %llu\n",
	    (unsigned long long)c[AL_C_ALLOC_MAP_FULL], (unsigned long long)c[AL_C_STATS_MAP_FULL],
	    (unsigned long long)c[AL_C_STACK_MAP_FULL], (unsigned long long)c[AL_C_STACK_COLLIDED],
	    (unsigned long long)c[AL_C_UNKNOWN_FREES], (unsigned long long)c[AL_C_INFLIGHT_FULL],
	    (unsigned long long)c[AL_C_EVENTS_LOST]);
}

static void print_frame(const struct report_ctx *ctx, int pid, int i, unsigned long long ip)
{
	struct sym_frame f;
	char buf[1024];

	sym_resolve(ctx->sym, pid, ip, 1, &f);
	sym_format(&f, buf, sizeof(buf));
	fprintf(ctx->out, "    #%d %s\n", i, buf);
}

/* Share of the process's tracked live bytes held by this stack. */
static void print_share(const struct report_ctx *ctx, const struct sample_row *r)
{
	const struct proc_view *v = analyser_process(ctx->an, r->key.tgid);

	if (!v || !v->live)
		fprintf(ctx->out, "n/a");
	else
		fprintf(ctx->out, "%.0f%% of growth", 100.0 * (double)r->st.live_bytes / v->live);
}

static void print_verdict(const struct report_ctx *ctx, const struct sample_row *r)
{
	const struct trend_result *t = ctx->an ? analyser_verdict(ctx->an, &r->key) : NULL;
	bool per_s = ctx->an && analyser_time_mode(ctx->an);

	if (!t)
		return;
	fprintf(ctx->out, "    verdict: %s, %+.1f B/%s (95%% CI %.1f..%.1f), %+.0f B/hour, ",
	        verdict_name(t->verdict), t->slope, per_s ? "s" : "request", t->slope_lo,
	        t->slope_hi, t->per_hour);
	if (per_s)
		fprintf(ctx->out, "%.1f s", t->x_span);
	else
		fprintf(ctx->out, "%.0f requests", t->x_span);
	fprintf(ctx->out, ", R2 %.3f, ", t->r2);
	print_share(ctx, r);
	fputc('\n', ctx->out);
}

/* One line for all the stacks that leak, shown or not. */
static void print_leaks(const struct report_ctx *ctx, const struct sample *smp)
{
	double total = 0;
	int i, n = 0;

	if (!ctx->an)
		return;
	for (i = 0; i < smp->n; i++) {
		const struct trend_result *t = analyser_verdict(ctx->an, &smp->rows[i].key);

		if (t && t->verdict == V_LEAK) {
			n++;
			total += t->slope;
		}
	}
	if (n)
		fprintf(ctx->out, "leaks: %d stacks, %+.1f B/%s together\n", n, total,
		        analyser_time_mode(ctx->an) ? "s" : "request");
}

static void print_stack(const struct report_ctx *ctx, int rank, const struct sample_row *r)
{
	__u64 ips[AL_MAX_STACK_DEPTH];
	int i, n, shown = 0;

	fprintf(ctx->out,
	        "[%d] pid %u %s: %llu B live in %llu objects; %llu allocs (%llu B), %llu frees "
	        "since attach\n",
	        rank, r->key.tgid, al_kind_name(r->key.kind), (unsigned long long)r->st.live_bytes,
	        (unsigned long long)r->st.live_objects, (unsigned long long)r->st.allocs,
	        (unsigned long long)r->st.alloc_bytes, (unsigned long long)r->st.frees);
	print_verdict(ctx, r);
	print_frame(ctx, r->key.tgid, shown++, r->key.caller);
	/* Frame 0 of the kernel's stack is the allocator (or mmap wrapper) itself. */
	n = sampler_stack(ctx->sampler, r->key.stackid, ips, AL_MAX_STACK_DEPTH);
	for (i = 1; i < n && shown < ctx->max_depth; i++)
		print_frame(ctx, r->key.tgid, shown++, ips[i]);
}

void report_print(const struct report_ctx *ctx, struct sample *smp, bool final, double elapsed)
{
	char when[32];
	time_t now = time(NULL);
	int i, rank = 0;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (final)
		fprintf(ctx->out, "=== agentleak final report ===\n");
	fprintf(ctx->out, "%s  %.1f s since attach\n", when, elapsed);
	for (i = 0; i < ctx->ntargets; i++) {
		print_process(ctx, &ctx->targets[i], smp);
		if (ctx->an && analyser_process(ctx->an, ctx->targets[i].t->pid))
			print_memory(ctx, analyser_process(ctx->an, ctx->targets[i].t->pid));
	}
	print_losses(ctx, smp);
	qsort(smp->rows, smp->n, sizeof(*smp->rows), by_live_bytes);
	for (i = 0; i < smp->n && rank < ctx->top; i++) {
		if (live_bytes(&smp->rows[i]) <= 0)
			break;
		print_stack(ctx, ++rank, &smp->rows[i]);
	}
	if (!rank)
		fprintf(ctx->out, "no live allocations\n");
	print_leaks(ctx, smp);
	fprintf(ctx->out, "\n");
	fflush(ctx->out);
}
