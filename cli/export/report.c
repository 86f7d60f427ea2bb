// SPDX-License-Identifier: GPL-2.0
/* report.c - the terminal report.
 *
 * Interval reports and the final report share one layout (docs/cli-contract.md):
 * a line per process with its memory, the loss counters, then the top stacks by live
 * bytes, each with its verdict and frames. Frame #0 is the allocator's caller
 * (exact); deeper frames come from the kernel's frame pointer walk. Thread stacks are
 * told in threads: their own header and verdict units, a threads line per process and
 * their own leaks line; their reserved bytes are never added to the heap's.
 */
#include <string.h>
#include <time.h>
#include "export/exporter.h"
#include "export/names.h"
#include "export/report.h"

static void print_memory(FILE *out, const struct snapshot *snap, const struct snap_process *p)
{
	if (!p->have_mem)
		return;
	fprintf(out, "    memory: rss %llu B, anon %llu B, tracked live %llu B; ", p->rss, p->anon,
	        p->live_bytes);
	if (snap->time_mode)
		fprintf(out, "%.1f s observed\n", p->requests);
	else
		fprintf(out, "%.0f requests\n", p->requests);
	if (p->cg_limit) {
		fprintf(out, "    cgroup: limit %llu B, usage %llu B, ", p->cg_limit, p->cg_usage);
		if (p->oom_eta >= 0)
			fprintf(out, "OOM in %.0f s at the current rate\n", p->oom_eta);
		else
			fprintf(out, "no growth\n");
	}
	if (p->rss_note)
		fprintf(
		    out,
		    "    note: RSS high, live heap flat: anon memory grew by %llu B since attach "
		    "but only %llu B of it is live in tracked allocations; the allocator keeps "
		    "freed memory (high-water mark or fragmentation), not a leak\n",
		    p->retained + p->live_bytes, p->live_bytes);
}

static void print_process(FILE *out, const struct snapshot *snap, const struct snap_process *p)
{
	fprintf(out,
	        "pid %d (%s) %s %s: %llu B live in %llu objects at %d stacks; %llu allocs, "
	        "%llu frees%s\n",
	        p->pid, p->comm, p->flavor, p->allocator, p->live_bytes, p->live_objects,
	        p->nstacks, p->allocs, p->frees, p->exited ? " (exited)" : "");
	print_memory(out, snap, p);
	if (p->thread_stacks || p->threads_started)
		fprintf(out,
		        "    threads: %llu live at %d stacks (%llu B of stack reserved); %llu "
		        "started, %llu ended since attach\n",
		        p->live_threads, p->thread_stacks, p->thread_reserved, p->threads_started,
		        p->threads_ended);
	if (p->pymalloc)
		fprintf(
		    out,
		    "    note: CPython %s with pymalloc: objects of 512 B or less come from its "
		    "arenas, seen as mmaps (precise) or touched pages (growth) at the Python line "
		    "that made each; PYTHONMALLOC=malloc at its next start makes every object "
		    "exact\n",
		    p->python);
}

static void print_losses(FILE *out, const struct snapshot *snap)
{
	int i;

	fputs("losses:", out);
	for (i = 0; i < nloss_names; i++)
		fprintf(out, "%s %s %llu", i ? "," : "", loss_names[i].name[NAME_TEXT],
		        (unsigned long long)snap->counters[loss_names[i].counter]);
	fputc('\n', out);
}

static void print_verdict(FILE *out, const struct snapshot *snap, const struct snap_stack *s)
{
	const struct trend_result *t = &s->verdict;
	const char *unit = snap->time_mode ? "s" : "request";

	if (!s->has_verdict)
		return;
	if (snap_is_thread(s))
		fprintf(
		    out,
		    "    verdict: %s, %+.2f threads/%s (95%% CI %.2f..%.2f), %+.0f threads/hour, ",
		    verdict_label(t->verdict, NAME_TEXT), t->slope, unit, t->slope_lo, t->slope_hi,
		    t->per_hour);
	else
		fprintf(out, "    verdict: %s, %+.1f B/%s (95%% CI %.1f..%.1f), %+.0f B/hour, ",
		        verdict_label(t->verdict, NAME_TEXT), t->slope, unit, t->slope_lo,
		        t->slope_hi, t->per_hour);
	if (snap->time_mode)
		fprintf(out, "%.1f s", t->x_span);
	else
		fprintf(out, "%.0f requests", t->x_span);
	fprintf(out, ", R2 %.3f, ", t->r2);
	if (s->growth_share < 0)
		fprintf(out, "n/a\n");
	else
		fprintf(out, "%.0f%% of %s\n", 100 * s->growth_share,
		        snap_is_thread(s) ? "threads" : "growth");
}

/* A stack that lost blocks: its numbers undercount and its verdict is frozen. */
static void print_untracked(FILE *out, const struct snap_stack *s)
{
	if (s->st.untracked)
		fprintf(
		    out,
		    "    unreliable: %llu allocations not tracked (alloc map full, see "
		    "--max-allocs): live bytes undercount; the verdict is the one from before\n",
		    (unsigned long long)s->st.untracked);
}

/* --python-objects: "python objects in 256 blocks read: 250 Conversation (14000 B), ..." */
static void print_objects(FILE *out, const struct snap_objects *o)
{
	int i;

	if (!o)
		return;
	fprintf(out, "    python objects in %llu %s read", o->read, o->unit);
	if (o->unread)
		fprintf(out, " (%llu unreadable)", o->unread);
	if (!o->ntypes) {
		fputs(": none recognized (no object header: arrays and buffers that objects own)\n",
		      out);
		return;
	}
	for (i = 0; i < o->ntypes; i++)
		fprintf(out, "%s %llu %s (%llu B)", i ? "," : ":", o->types[i].objects,
		        o->types[i].name, o->types[i].bytes);
	if (o->other_objects)
		fprintf(out, ", %llu of other types (%llu B)", o->other_objects, o->other_bytes);
	fputc('\n', out);
}

static void print_stack(FILE *out, const struct snapshot *snap, int rank,
                        const struct snap_stack *s, int max_depth)
{
	int i;

	if (snap_is_thread(s))
		fprintf(
		    out,
		    "[%d] pid %u %s: %llu threads live (%llu B of stack reserved); %llu started, "
		    "%llu ended since attach\n",
		    rank, s->key.tgid, s->kind, (unsigned long long)s->st.live_objects,
		    (unsigned long long)s->st.live_bytes, (unsigned long long)s->st.allocs,
		    (unsigned long long)s->st.frees);
	else
		fprintf(out,
		        "[%d] pid %u %s: %llu B live in %llu objects; %llu allocs (%llu B), %llu "
		        "frees since attach\n",
		        rank, s->key.tgid, s->kind, (unsigned long long)s->st.live_bytes,
		        (unsigned long long)s->st.live_objects, (unsigned long long)s->st.allocs,
		        (unsigned long long)s->st.alloc_bytes, (unsigned long long)s->st.frees);
	print_verdict(out, snap, s);
	print_untracked(out, s);
	print_objects(out, s->objects);
	for (i = 0; i < s->nframes && i < max_depth; i++)
		fprintf(out, "    #%d %s\n", i, s->frames[i].text);
}

/* Which tier produced the stacks below, and for --mode auto where its window stands. */
static void print_mode(FILE *out, const struct snapshot *snap)
{
	const char *mode = snapshot_mode(snap);

	if (!strcmp(mode, "auto")) {
		if (snap->diagnosis_result)
			fprintf(out,
			        "mode: auto, result of diagnosis window %d: precise stacks "
			        "(malloc...) from the window, fault stacks from the growth tier\n",
			        snap->diagnosis);
		else if (snap->diagnosis_open)
			fprintf(
			    out,
			    "mode: auto, diagnosis window %d open: precise tier on, %.0f s left\n",
			    snap->diagnosis, snap->diagnosis_left);
		else
			fprintf(out,
			        "mode: auto, growth tier watching (%d diagnosis windows so far; "
			        "one opens when a process grows)\n",
			        snap->diagnosis);
	}
	if (snap->growth)
		fprintf(out,
		        "%s (page faults attributed to stacks; live bytes = touched anonymous "
		        "pages; %llu pages not walked at release)\n",
		        strcmp(mode, "auto") ? "mode: growth" : "growth tier",
		        (unsigned long long)snap->counters[AL_C_RELEASE_CUT]);
}

void report_print(FILE *out, const struct snapshot *snap, int top, int max_depth)
{
	time_t now = (time_t)snap->unix_time;
	char when[32];
	int i, rank = 0;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (snap->final)
		fprintf(out, "=== agentleak final report ===\n");
	fprintf(out, "%s  %.1f s since attach\n", when, snap->elapsed);
	for (i = 0; i < snap->nprocs; i++)
		print_process(out, snap, &snap->procs[i]);
	print_losses(out, snap);
	if (snap->probe_hits_per_s > 0)
		fprintf(out,
		        "overhead: %.0f probe hits/s, estimated %.1f%% of a CPU in the targets "
		        "(2.5 us per allocation, 0.8 us per free)\n",
		        snap->probe_hits_per_s, 100 * snap->overhead_cpu);
	if (snap->sample_bytes)
		fprintf(out,
		        "sampling: one allocation per %llu B on average; bytes and objects are "
		        "scaled estimates\n",
		        snap->sample_bytes);
	print_mode(out, snap);
	for (i = 0; i < snap->nstacks && rank < top; i++) {
		if ((long long)snap->stacks[i].st.live_bytes <= 0)
			break;
		print_stack(out, snap, ++rank, &snap->stacks[i], max_depth);
	}
	if (!rank)
		fprintf(out, "no live allocations\n");
	if (snap->nleaks)
		fprintf(out, "leaks: %d stacks, %+.1f B/%s together\n", snap->nleaks,
		        snap->leak_slope, snap->time_mode ? "s" : "request");
	if (snap->nthread_leaks)
		fprintf(out, "thread leaks: %d stacks, %+.2f threads/%s together\n",
		        snap->nthread_leaks, snap->thread_slope, snap->time_mode ? "s" : "request");
	fprintf(out, "\n");
	fflush(out);
}

static int export_text(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen)
{
	report_print(stdout, snap, x->top, x->stack_depth);
	return 0;
}

/* The default: on unless another exporter writes to standard output (--json). */
const struct exporter text_exporter = {
    .when = EXPORT_INTERVAL | EXPORT_FINAL,
    .to_stdout = true,
    .write = export_text,
};
