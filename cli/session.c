// SPDX-License-Identifier: GPL-2.0
/* session.c - one tracing run: targets, BPF, analysis, symbols, outputs (see session.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "agentleak.h"
#include "analyse/analyse.h"
#include "analyse/requests.h"
#include "base/die.h"
#include "base/errbuf.h"
#include "base/timers.h"
#include "collect/attach.h"
#include "collect/sampler.h"
#include "tier.h"
#include "export/output.h"
#include "export/snapbuild.h"
#include "session.h"
#include "symbols/symbolize.h"
#include "target/python.h"
#include "target/target.h"

struct session {
	const struct config *cfg;
	int pids[AL_MAX_TARGETS]; /* the processes traced: a thread given is its process */
	int ntargets;
	struct target targets[AL_MAX_TARGETS];
	struct al_allocator allocators[AL_MAX_TARGETS];
	struct py_interp py[AL_MAX_TARGETS];        /* a CPython target's interpreter */
	struct snap_target starget[AL_MAX_TARGETS]; /* all three, for the snapshots */
	struct outputs *out;
	struct symbolizer *sym;
	struct pysyms *pysyms;
	struct pyobjects *pyobjects; /* --python-objects, else NULL */
	struct req_source *req;
	struct analyser *an;
	struct attacher *att;
	struct sampler *smpl;
	struct tier tier;
	struct sample smp; /* the latest */
	double start;
	double sample_seconds; /* what the latest sampler_read() took */
	bool sampled;          /* the first sample is taken */
	long reports;
	bool stdout_gone;
};

enum emit { EMIT_REPORT, EMIT_FINAL, EMIT_DUMP, EMIT_METRICS };

/* A CPython target: its stacks get their Python frames from now on. A Python version
 * without a layout is said, and its stacks stay native. */
static void find_python(struct session *s, int i)
{
	struct al_py_proc proc;
	char err[512], v[32];
	int pid = s->pids[i], r;

	s->starget[i].py = NULL;
	if (s->cfg->no_python)
		return;
	r = python_find(pid, &s->py[i], err, sizeof(err));
	if (r == -ENOENT)
		return;
	if (!r && python_check(pid, &s->py[i]) == -EINVAL)
		r = err_set(err, sizeof(err),
		            "%s: its interpreter is not where CPython %s keeps it", s->py[i].path,
		            python_version_str(s->py[i].version, v, sizeof(v)));
	if (!r) {
		proc = (struct al_py_proc){
		    .layout = s->py[i].layout, .runtime = s->py[i].runtime, .none = s->py[i].none};
		r = attach_python(s->att, pid, &proc, err, sizeof(err));
	}
	if (r) {
		fprintf(stderr, "agentleak: warning: pid %d: %s; its stacks stay native\n", pid,
		        err);
		return;
	}
	s->starget[i].py = &s->py[i];
	s->starget[i].pymalloc = python_pymalloc(pid);
	fprintf(stderr, "agentleak: pid %d runs CPython %s (%s): Python frames on\n", pid,
	        python_version_str(s->py[i].version, v, sizeof(v)), s->py[i].path);
	if (s->starget[i].pymalloc && s->cfg->mode != TIER_MODE_GROWTH)
		fprintf(stderr,
		        "agentleak: pid %d: objects of 512 B or less come from pymalloc's arenas, "
		        "seen as the arenas' mmaps at the Python line that made each; "
		        "PYTHONMALLOC=malloc at its next start makes every object exact\n",
		        pid);
}

/* Check each target, take a thread for its process, find what the mode probes in it. */
static void open_targets(struct session *s)
{
	struct target *t;
	char err[512];
	int i, j;

	for (i = 0; i < s->ntargets; i++) {
		t = &s->targets[i];
		for (j = 0; j < i; j++)
			if (s->pids[j] == s->pids[i])
				die("PID %d given twice", s->pids[i]);
		if (target_open(t, s->pids[i], err, sizeof(err)))
			die("%s", err);
		if (t->thread) {
			fprintf(stderr,
			        "agentleak: %d is a thread of process %d (%s): taking the whole "
			        "process\n",
			        t->thread, t->pid, t->comm);
			s->pids[i] = t->pid;
			for (j = 0; j < i; j++)
				if (s->pids[j] == s->pids[i])
					die("PID %d given twice (%d is one of its threads)",
					    s->pids[i], t->thread);
		}
		if (tier_find(s->cfg->mode, s->pids[i], &s->allocators[i], err, sizeof(err)))
			die("PID %d (%s): %s", s->pids[i], t->comm, err);
		s->starget[i] = (struct snap_target){.t = t, .al = &s->allocators[i]};
	}
}

static void refresh_symbols(struct session *s)
{
	int i;

	for (i = 0; i < s->ntargets; i++)
		if (!s->targets[i].exited)
			sym_add_process(s->sym, s->pids[i]);
}

/* Build the snapshot of this moment and hand it to every output. */
static void emit(struct session *s, enum emit what, double elapsed, bool diagnosis_result)
{
	const struct config *c = s->cfg;
	bool all = (what == EMIT_FINAL || what == EMIT_DUMP) && outputs_want_all_stacks(s->out);
	struct snap_input in = {
	    .smp = &s->smp,
	    .an = s->an,
	    .sym = s->sym,
	    .pysyms = s->pysyms,
	    .pyobjects = s->pyobjects,
	    .sampler = s->smpl,
	    .targets = s->starget,
	    .ntargets = s->ntargets,
	    .request_source = requests_describe(s->req),
	    .elapsed = elapsed,
	    .sample_seconds = s->sample_seconds,
	    .sample_bytes = c->sample_bytes,
	    .growth = tier_growth(c->mode),
	    .mode = tier_mode_name(c->mode),
	    .diagnosis = s->tier.diag.number,
	    .diagnosis_open = s->tier.diag.open,
	    .diagnosis_left = diag_left(&s->tier.diag, s->start + elapsed),
	    .diagnosis_result = diagnosis_result,
	    .final = what == EMIT_FINAL,
	    .symbolize_top = all ? -1 : c->top,
	    .list_all = what == EMIT_FINAL || what == EMIT_DUMP,
	    .max_depth = c->stack_depth,
	};
	struct snapshot snap;

	if (what == EMIT_REPORT || what == EMIT_FINAL)
		tier_overhead(&s->tier, &s->smp, elapsed, &in.probe_hits_per_s, &in.overhead_cpu);
	if (snapshot_build(&snap, &in))
		die("out of memory");
	if (what == EMIT_DUMP)
		outputs_dump(s->out, &snap);
	else if (what == EMIT_METRICS)
		outputs_metrics(s->out, &snap);
	else if (outputs_report(s->out, &snap) == -EPIPE)
		s->stdout_gone = true;
	snapshot_free(&snap);
}

/* --mode auto: a diagnosis window closed; report it before its stacks go. */
static void window_closed(void *ctx, double now)
{
	struct session *s = ctx;

	refresh_symbols(s);
	emit(s, EMIT_REPORT, now - s->start, true);
	/* --html and --pprof too: the window's stacks are gone after this. */
	emit(s, EMIT_DUMP, now - s->start, true);
}

/* The trend engine, one series per stack of every target; each target's memory now,
 * once attached, is its memory at attach. */
static void open_analyser(struct session *s)
{
	bool time_mode = requests_kind(s->req) == REQ_TIME;
	int i;

	s->an = analyser_new(&s->cfg->trend, time_mode);
	if (!s->an)
		die("out of memory");
	analyser_set_growth(s->an, tier_growth(s->cfg->mode));
	for (i = 0; i < s->ntargets; i++)
		analyser_add_process(s->an, s->pids[i]);
	s->tier.an = s->an;
}

/* Load the BPF programs of the mode and the request source, attach them. */
static void open_bpf(struct session *s)
{
	const struct config *c = s->cfg;
	enum req_kind kind = requests_kind(s->req);
	struct attach_opts o = {
	    .max_allocs = c->max_allocs,
	    .max_stacks = c->max_stacks,
	    .verbose = c->verbose,
	    .count_accept = kind == REQ_ACCEPT,
	    .count_http = kind == REQ_HTTP,
	    .request_uprobe = kind == REQ_UPROBE,
	    .request_usdt = kind == REQ_USDT,
	    .sample_bytes = c->sample_bytes,
	    .growth = tier_growth(c->mode),
	};
	char err[512];
	int i;

	s->att = attach_open(&o, err, sizeof(err));
	if (!s->att)
		die("%s", err);
	s->smpl = sampler_new(s->att, err, sizeof(err));
	if (!s->smpl)
		die("%s", err);
	s->tier = (struct tier){.mode = c->mode,
	                        .att = s->att,
	                        .smpl = s->smpl,
	                        .targets = s->targets,
	                        .allocators = s->allocators,
	                        .ntargets = s->ntargets,
	                        .window_closed = window_closed,
	                        .ctx = s};
	diag_init(&s->tier.diag, c->diagnose_for, c->diagnose_gap);
	for (i = 0; i < s->ntargets; i++)
		if (requests_attach(s->req, s->att, s->pids[i], err, sizeof(err)))
			die("%s", err);
	for (i = 0; i < s->ntargets; i++) {
		sym_add_process(s->sym, s->pids[i]);
		if (tier_attach(&s->tier, i, err, sizeof(err)))
			die("%s", err);
		find_python(s, i);
	}
}

struct session *session_open(const struct config *c)
{
	struct session *s = calloc(1, sizeof(*s));
	char err[512];

	if (!s)
		die("out of memory");
	s->cfg = c;
	s->ntargets = c->npids;
	memcpy(s->pids, c->pids, sizeof(s->pids));
	open_targets(s);
	s->out = outputs_open(&c->out, err, sizeof(err));
	if (!s->out)
		die("%s", err);
	s->sym = sym_new();
	s->pysyms = pysyms_new();
	s->pyobjects = c->python_objects ? pyobjects_new() : NULL;
	if (!s->sym || !s->pysyms || (c->python_objects && !s->pyobjects))
		die("out of memory");
	s->req = requests_parse(c->requests, err, sizeof(err));
	if (!s->req)
		die("%s", err);
	open_bpf(s);
	open_analyser(s);
	if (requests_kind(s->req) == REQ_TIME)
		fprintf(stderr, "agentleak: no request source: verdicts per hour of time\n");
	else
		fprintf(stderr, "agentleak: requests from %s\n", requests_describe(s->req));
	if (attach_syscalls(s->att, err, sizeof(err)))
		die("%s", err);
	return s;
}

double session_start(struct session *s)
{
	s->start = timers_now();
	return s->start;
}

void session_poll(struct session *s, int ms)
{
	int r = sampler_poll(s->smpl, ms);

	if (r < 0)
		die("reading events: %s", strerror(-r));
}

/* A target that execs another program: its old program's memory is gone, so are its
 * blocks, stacks and series; tracing goes on. */
static void forget_program(struct session *s, const struct target *t)
{
	char err[512];

	fprintf(stderr,
	        "agentleak: pid %d (%s) executed a new program (%s): what it allocated before "
	        "is forgotten\n",
	        t->pid, t->old_comm, t->comm);
	if (attach_forget_process(s->att, t->pid, err, sizeof(err)))
		fprintf(stderr, "agentleak: warning: %s\n", err);
	sampler_forget(s->smpl, t->pid);
	if (analyser_forget_process(s->an, t->pid))
		die("out of memory");
	sym_forget_process(s->sym, t->pid);
	sym_add_process(s->sym, t->pid);
	pysyms_forget(s->pysyms, t->pid);
	pyobjects_forget(s->pyobjects, t->pid);
	attach_python(s->att, t->pid, NULL, err, sizeof(err));
	find_python(s, (int)(t - s->targets));
}

int session_check(void *ctx, double now)
{
	struct session *s = ctx;
	struct target *t;
	int i, alive = 0;

	for (i = 0; i < s->ntargets; i++) {
		t = &s->targets[i];
		if (t->exited)
			continue;
		switch (target_check(t, attach_execs(s->att, t->pid))) {
		case TARGET_EXECED:
			forget_program(s, t);
			/* fall through */
		case TARGET_ALIVE:
			alive++;
			continue;
		case TARGET_EXITED:
			break;
		}
		t->exited = true;
		sampler_forget(s->smpl, t->pid);
		fprintf(stderr, "agentleak: pid %d (%s) exited\n", t->pid, t->comm);
	}
	if (alive)
		return 0;
	fprintf(stderr, "agentleak: all targets exited\n");
	return 1;
}

/* Read every counter and feed the trend engine. */
static void take_sample(struct session *s, double elapsed)
{
	double requests[AL_MAX_TARGETS], t0;
	char warn[512];
	int i, r;

	t0 = timers_now();
	r = sampler_read(s->smpl, &s->smp);
	if (r)
		die("reading BPF maps: %s", strerror(-r));
	s->sample_seconds = timers_now() - t0;
	for (i = 0; i < s->ntargets; i++) {
		requests[i] = requests_read(s->req, s->att, s->pids[i], warn, sizeof(warn));
		if (warn[0])
			fprintf(stderr, "agentleak: warning: %s\n", warn);
	}
	analyser_sample(s->an, &s->smp, elapsed, s->pids, requests, s->ntargets);
}

int session_sample(void *ctx, double now)
{
	struct session *s = ctx;

	take_sample(s, now - s->start);
	tier_step(&s->tier, now);
	if (!s->sampled)
		emit(s, EMIT_METRICS, now - s->start, false);
	s->sampled = true;
	return 0;
}

int session_report(void *ctx, double now)
{
	struct session *s = ctx;

	refresh_symbols(s);
	emit(s, EMIT_REPORT, now - s->start, false);
	return s->cfg->count && ++s->reports >= s->cfg->count;
}

void session_service(struct session *s)
{
	outputs_service(s->out);
}

void session_dump(struct session *s, double now)
{
	emit(s, EMIT_DUMP, now - s->start, false);
}

bool session_stdout_gone(const struct session *s)
{
	return s->stdout_gone;
}

/* Python frames shown as [python code 0x...]: said once, at the end, with why. */
static void python_losses(const struct session *s)
{
	const struct pysyms_stats *st = pysyms_stats(s->pysyms);

	if (st->unreadable || st->stale)
		fprintf(
		    stderr,
		    "agentleak: %llu Python frames could not be named: %llu code objects "
		    "unreadable (freed, or the process gone), %llu whose address now holds "
		    "another code object (freed and reused); they show as [python code 0x...]\n",
		    st->unreadable + st->stale, st->unreadable, st->stale);
}

int session_close(struct session *s)
{
	int status;

	take_sample(s, timers_now() - s->start);
	emit(s, EMIT_FINAL, timers_now() - s->start, false);
	python_losses(s);
	status = outputs_close(s->out) ? 1 : 0;
	sample_release(&s->smp);
	analyser_free(s->an);
	requests_free(s->req);
	sampler_free(s->smpl);
	attach_close(s->att);
	sym_free(s->sym);
	pysyms_free(s->pysyms);
	pyobjects_free(s->pyobjects);
	free(s);
	return status;
}
