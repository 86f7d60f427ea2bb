// SPDX-License-Identifier: GPL-2.0
/* test_report.c - unit tests of cli/export/report.c: the terminal report.
 *
 * report_print() of hand-made snapshots into a memory FILE (open_memstream), TZ=UTC so that
 * the time line is fixed. The snapshot of the first test has the numbers of the examples in
 * docs/cli-contract.md, and the process, memory, cgroup, losses, stack header, verdict,
 * frame and leaks lines must be those examples word for word (copied here from the
 * document, not from a run); the whole report is compared too. Then: time mode against
 * request mode wording, the "unreliable: N allocations not tracked" line (after the verdict
 * line, before the frames), the RSS note, the cgroup line without growth, an exited process,
 * a process without a memory reading, the loss counters each in its own column, the
 * overhead, sampling and mode lines (growth, the three auto states), --top and the frame
 * depth, stacks without live bytes, the share of growth (n/a, 0%), a thread stack told in
 * threads (its header, its verdict per request and per second, the process's threads line,
 * the thread leaks line, heap numbers left alone), and kind_name() for every kind and
 * out-of-range ones.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/names.h"
#include "export/report.h"

#include "check.h"

/* 2023-11-14 22:13:20 UTC */
#define UNIX_TIME 1700000000.75

static struct snap_process procs[3];
static struct snap_stack stacks[4];
static struct snap_frame thread_frames[2];
static struct snap_frame frames[4][3];
static struct snapshot snap;

static char *render(int top, int max_depth)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		perror("open_memstream");
		exit(2);
	}
	report_print(f, &snap, top, max_depth);
	fclose(f);
	return buf;
}

/* Where line (a whole line) starts in out, or NULL. */
static const char *find_line(const char *out, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = out; (p = strstr(p, line)); p++)
		if ((p == out || p[-1] == '\n') && p[n] == '\n')
			return p;
	return NULL;
}

static int has_line(const char *out, const char *line)
{
	return find_line(out, line) != NULL;
}

static int has_prefix_line(const char *out, const char *prefix)
{
	const char *p;

	for (p = out; (p = strstr(p, prefix)); p++)
		if (p == out || p[-1] == '\n')
			return 1;
	return 0;
}

/* line b comes right after line a */
static int next_line(const char *out, const char *a, const char *b)
{
	const char *p = find_line(out, a);

	return p && !strncmp(p + strlen(a) + 1, b, strlen(b)) &&
	       p[strlen(a) + 1 + strlen(b)] == '\n';
}

static void set_frame(struct snap_frame *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->text, sizeof(f->text), "%s", text);
}

/* The examples of docs/cli-contract.md. */
static void doc_snapshot(void)
{
	struct snap_process *p = &procs[0];
	struct snap_stack *s = &stacks[0];

	memset(&snap, 0, sizeof(snap));
	memset(procs, 0, sizeof(procs));
	memset(stacks, 0, sizeof(stacks));
	p->pid = 1234;
	snprintf(p->comm, sizeof(p->comm), "comm");
	snprintf(p->flavor, sizeof(p->flavor), "glibc");
	snprintf(p->allocator, sizeof(p->allocator), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	p->live_bytes = 163840;
	p->live_objects = 40;
	p->nstacks = 12;
	p->allocs = 1234;
	p->frees = 1194;
	p->requests = 5000;
	p->have_mem = true;
	p->rss = 12345678;
	p->anon = 2345678;
	p->cg_limit = 268435456;
	p->cg_usage = 123456789;
	p->oom_eta = 3600;

	s->key.tgid = 1234;
	s->kind = "malloc";
	s->st.live_bytes = 40960;
	s->st.live_objects = 10;
	s->st.allocs = 10;
	s->st.alloc_bytes = 40960;
	s->has_verdict = true;
	s->verdict.verdict = V_LEAK;
	s->verdict.slope = 4096;
	s->verdict.slope_lo = 4001.2;
	s->verdict.slope_hi = 4190.7;
	s->verdict.per_hour = 14745600;
	s->verdict.x_span = 2345;
	s->verdict.r2 = 0.998;
	s->growth_share = 0.97;
	set_frame(&frames[0][0], "leak_malloc+0x1a (alloc_funcs.c:23)");
	set_frame(&frames[0][1], "main+0x55 (alloc_funcs.c:80)");
	s->frames = frames[0];
	s->nframes = 2;

	snap.unix_time = UNIX_TIME;
	snap.elapsed = 20.5;
	snap.request_source = "accept";
	snap.nprocs = 1;
	snap.procs = procs;
	snap.nstacks = 1;
	snap.stacks = stacks;
	snap.counters[AL_C_UNKNOWN_FREES] = 3;
	snap.counters[AL_C_ALLOC_CALLS] = 1234;
	snap.counters[AL_C_FREE_CALLS] = 1194;
	snap.nleaks = 2;
	snap.leak_slope = 8192;
}

static void test_doc_layout(void)
{
	static const char *const doc[] = {
	    "pid 1234 (comm) glibc /usr/lib/x86_64-linux-gnu/libc.so.6: 163840 B live in 40 "
	    "objects at 12 stacks; 1234 allocs, 1194 frees",
	    "    memory: rss 12345678 B, anon 2345678 B, tracked live 163840 B; 5000 requests",
	    "    cgroup: limit 268435456 B, usage 123456789 B, OOM in 3600 s at the current rate",
	    "losses: alloc-map-full 0, stats-map-full 0, stack-map-full 0, stack-collisions 0, "
	    "unknown-frees 3, inflight-full 0, events-lost 0",
	    "[1] pid 1234 malloc: 40960 B live in 10 objects; 10 allocs (40960 B), 0 frees since "
	    "attach",
	    "    verdict: leak, +4096.0 B/request (95% CI 4001.2..4190.7), +14745600 B/hour, 2345 "
	    "requests, R2 0.998, 97% of growth",
	    "    #0 leak_malloc+0x1a (alloc_funcs.c:23)",
	    "    #1 main+0x55 (alloc_funcs.c:80)",
	    "leaks: 2 stacks, +8192.0 B/request together",
	};
	static const char whole[] =
	    "22:13:20  20.5 s since attach\n"
	    "pid 1234 (comm) glibc /usr/lib/x86_64-linux-gnu/libc.so.6: 163840 B live in 40 "
	    "objects at 12 stacks; 1234 allocs, 1194 frees\n"
	    "    memory: rss 12345678 B, anon 2345678 B, tracked live 163840 B; 5000 requests\n"
	    "    cgroup: limit 268435456 B, usage 123456789 B, OOM in 3600 s at the current rate\n"
	    "losses: alloc-map-full 0, stats-map-full 0, stack-map-full 0, stack-collisions 0, "
	    "unknown-frees 3, inflight-full 0, events-lost 0\n"
	    "[1] pid 1234 malloc: 40960 B live in 10 objects; 10 allocs (40960 B), 0 frees since "
	    "attach\n"
	    "    verdict: leak, +4096.0 B/request (95% CI 4001.2..4190.7), +14745600 B/hour, 2345 "
	    "requests, R2 0.998, 97% of growth\n"
	    "    #0 leak_malloc+0x1a (alloc_funcs.c:23)\n"
	    "    #1 main+0x55 (alloc_funcs.c:80)\n"
	    "leaks: 2 stacks, +8192.0 B/request together\n"
	    "\n";
	static const char banner[] =
	    "=== agentleak final report ===\n22:13:20  20.5 s since attach\n";
	char *out;
	size_t i;

	doc_snapshot();
	out = render(10, 10);
	for (i = 0; i < sizeof(doc) / sizeof(doc[0]); i++)
		CHECK(has_line(out, doc[i]), "docs/cli-contract.md line: %s", doc[i]);
	CHECK(!strcmp(out, whole), "the whole interval report, in order, blank line last");
	if (strcmp(out, whole))
		printf("# got:\n%s# want:\n%s", out, whole);
	free(out);

	snap.final = true;
	out = render(10, 10);
	CHECK(!strncmp(out, banner, strlen(banner)),
	      "the final report starts with its banner, then the time line");
	free(out);
}

static void test_time_mode(void)
{
	char *out;

	doc_snapshot();
	snap.time_mode = true;
	snap.request_source = "time";
	procs[0].requests = 120;
	stacks[0].verdict.slope = 1234.5;
	stacks[0].verdict.slope_lo = 1200;
	stacks[0].verdict.slope_hi = 1260.2;
	stacks[0].verdict.per_hour = 4444200;
	stacks[0].verdict.x_span = 120;
	stacks[0].verdict.r2 = 0.99;
	snap.leak_slope = 2469;
	out = render(10, 10);
	CHECK(has_line(out, "    verdict: leak, +1234.5 B/s (95% CI 1200.0..1260.2), +4444200 "
	                    "B/hour, 120.0 s, R2 0.990, 97% of growth"),
	      "time mode: the verdict line of docs/cli-contract.md, per second");
	CHECK(has_line(out, "    memory: rss 12345678 B, anon 2345678 B, tracked live 163840 B; "
	                    "120.0 s observed"),
	      "time mode: the memory line counts seconds observed");
	CHECK(has_line(out, "leaks: 2 stacks, +2469.0 B/s together"), "time mode: leaks in B/s");
	CHECK(!strstr(out, "request"), "time mode: the word 'request' appears nowhere");
	free(out);
}

static void test_untracked(void)
{
	char *out;

	doc_snapshot();
	stacks[0].st.untracked = 17;
	out = render(10, 10);
	CHECK(
	    next_line(out,
	              "    verdict: leak, +4096.0 B/request (95% CI 4001.2..4190.7), +14745600 "
	              "B/hour, 2345 requests, R2 0.998, 97% of growth",
	              "    unreliable: 17 allocations not tracked (alloc map full, see "
	              "--max-allocs): live bytes undercount; the verdict is the one from before") &&
	        next_line(out,
	                  "    unreliable: 17 allocations not tracked (alloc map full, see "
	                  "--max-allocs): live bytes undercount; the verdict is the one from "
	                  "before",
	                  "    #0 leak_malloc+0x1a (alloc_funcs.c:23)"),
	    "untracked 17: the unreliable line, after the verdict line, before the frames");
	free(out);
	stacks[0].has_verdict = false;
	out = render(10, 10);
	CHECK(
	    next_line(out,
	              "[1] pid 1234 malloc: 40960 B live in 10 objects; 10 allocs (40960 B), 0 "
	              "frees since attach",
	              "    unreliable: 17 allocations not tracked (alloc map full, see "
	              "--max-allocs): live bytes undercount; the verdict is the one from before") &&
	        !strstr(out, "verdict:"),
	    "untracked without a verdict: no verdict line, the unreliable line under the header");
	free(out);
	stacks[0].st.untracked = 0;
	out = render(10, 10);
	CHECK(!strstr(out, "unreliable"), "untracked 0: no unreliable line");
	free(out);
}

static void test_memory_lines(void)
{
	char *out;

	doc_snapshot();
	procs[0].rss_note = true;
	procs[0].retained = 41943040; /* 40 MiB */
	procs[0].oom_eta = -1;
	out = render(10, 10);
	CHECK(has_line(out, "    cgroup: limit 268435456 B, usage 123456789 B, no growth"),
	      "cgroup usage not growing: 'no growth'");
	CHECK(next_line(out, "    cgroup: limit 268435456 B, usage 123456789 B, no growth",
	                "    note: RSS high, live heap flat: anon memory grew by 42106880 B since "
	                "attach but only 163840 B of it is live in tracked allocations; the "
	                "allocator keeps freed memory (high-water mark or fragmentation), not a "
	                "leak"),
	      "the RSS note: grown = retained + live (40 MiB + 163840 B), after the cgroup line");
	free(out);

	procs[0].cg_limit = 0;
	procs[0].rss_note = false;
	out = render(10, 10);
	CHECK(!strstr(out, "cgroup:") && !strstr(out, "note:") &&
	          has_line(out, "    memory: rss 12345678 B, anon 2345678 B, tracked live 163840 "
	                        "B; 5000 requests"),
	      "no cgroup limit, no note: the memory line alone");
	free(out);

	procs[0].have_mem = false;
	procs[0].exited = true;
	out = render(10, 10);
	CHECK(has_line(out, "pid 1234 (comm) glibc /usr/lib/x86_64-linux-gnu/libc.so.6: 163840 B "
	                    "live in 40 objects at 12 stacks; 1234 allocs, 1194 frees (exited)") &&
	          !strstr(out, "memory:"),
	      "an exited process without a memory reading: ' (exited)', no memory line");
	free(out);
}

/* Two processes, loss counters 1..7 in their columns, the overhead, sampling and mode
 * lines, in the order the contract gives. */
static void test_header_lines(void)
{
	static const char losses[] =
	    "losses: alloc-map-full 1, stats-map-full 2, stack-map-full 3, "
	    "stack-collisions 4, unknown-frees 5, inflight-full 6, "
	    "events-lost 7";
	static const char overhead[] =
	    "overhead: 12346 probe hits/s, estimated 1.2% of a CPU in the "
	    "targets (2.5 us per allocation, 0.8 us per free)";
	static const char sampling[] =
	    "sampling: one allocation per 524288 B on average; bytes and "
	    "objects are scaled estimates";
	static const char growth[] = "(page faults attributed to stacks; live bytes = touched "
	                             "anonymous pages; 9 pages not walked at release)";
	char line[512], *out;

	doc_snapshot();
	snap.nprocs = 2;
	procs[1].pid = 77;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "worker");
	snprintf(procs[1].flavor, sizeof(procs[1].flavor), "jemalloc");
	snprintf(procs[1].allocator, sizeof(procs[1].allocator), "/opt/lib/libjemalloc.so.2");
	procs[1].exited = true;
	snap.counters[AL_C_ALLOC_MAP_FULL] = 1;
	snap.counters[AL_C_STATS_MAP_FULL] = 2;
	snap.counters[AL_C_STACK_MAP_FULL] = 3;
	snap.counters[AL_C_STACK_COLLIDED] = 4;
	snap.counters[AL_C_UNKNOWN_FREES] = 5;
	snap.counters[AL_C_INFLIGHT_FULL] = 6;
	snap.counters[AL_C_EVENTS_LOST] = 7;
	snap.counters[AL_C_NESTED] = 8;
	snap.counters[AL_C_RELEASE_CUT] = 9;
	snap.counters[AL_C_FAILED_ALLOCS] = 10;
	snap.probe_hits_per_s = 12345.6;
	snap.overhead_cpu = 0.0123;
	snap.sample_bytes = 524288;
	out = render(10, 10);
	CHECK(next_line(
	          out,
	          "    cgroup: limit 268435456 B, usage 123456789 B, OOM in 3600 s at the "
	          "current rate",
	          "pid 77 (worker) jemalloc /opt/lib/libjemalloc.so.2: 0 B live in 0 objects at "
	          "0 stacks; 0 allocs, 0 frees (exited)") &&
	          next_line(out,
	                    "pid 77 (worker) jemalloc /opt/lib/libjemalloc.so.2: 0 B live in 0 "
	                    "objects at 0 stacks; 0 allocs, 0 frees (exited)",
	                    losses),
	      "each process line with its memory lines, then one losses line for all");
	CHECK(next_line(out, losses, overhead) && next_line(out, overhead, sampling) &&
	          next_line(out, sampling,
	                    "[1] pid 1234 malloc: 40960 B live in 10 objects; 10 allocs (40960 B), "
	                    "0 frees since attach"),
	      "losses (each counter in its column), overhead, sampling, then the stacks");
	CHECK(!has_prefix_line(out, "mode:"), "precise tier: no mode line");
	free(out);

	snap.probe_hits_per_s = 0;
	snap.sample_bytes = 0;
	snap.growth = true;
	out = render(10, 10);
	snprintf(line, sizeof(line), "mode: growth %s", growth);
	CHECK(next_line(out, losses, line) && !strstr(out, "overhead:") &&
	          !strstr(out, "sampling:"),
	      "growth tier: '%s' after the losses (no overhead or sampling line)", line);
	free(out);

	snap.mode = "auto";
	snap.diagnosis = 2;
	out = render(10, 10);
	snprintf(line, sizeof(line), "growth tier %s", growth);
	CHECK(
	    next_line(out, losses,
	              "mode: auto, growth tier watching (2 diagnosis windows so far; one opens "
	              "when a process grows)") &&
	        next_line(out,
	                  "mode: auto, growth tier watching (2 diagnosis windows so far; one opens "
	                  "when a process grows)",
	                  line),
	    "auto, watching: its line, then '%s'", line);
	free(out);

	snap.diagnosis = 3;
	snap.diagnosis_open = true;
	snap.diagnosis_left = 41.6;
	out = render(10, 10);
	CHECK(next_line(out, losses,
	                "mode: auto, diagnosis window 3 open: precise tier on, 42 s left") &&
	          next_line(out, "mode: auto, diagnosis window 3 open: precise tier on, 42 s left",
	                    line),
	      "auto, window open: 'diagnosis window 3 open: precise tier on, 42 s left'");
	free(out);

	snap.diagnosis_result = true;
	out = render(10, 10);
	CHECK(next_line(out, losses,
	                "mode: auto, result of diagnosis window 3: precise stacks (malloc...) from "
	                "the window, fault stacks from the growth tier"),
	      "auto, the result of a window: its line (the result wins over 'open')");
	free(out);
}

static void test_stack_selection(void)
{
	char *out;
	int i;

	doc_snapshot();
	snap.nstacks = 4;
	for (i = 1; i < 4; i++) {
		struct snap_stack *s = &stacks[i];

		s->key.tgid = 1234;
		s->kind = kind_name(AL_CALLOC + i - 1);
		s->st.live_bytes = 4096 * (4 - i); /* 12288, 8192, 4096 */
		s->st.live_objects = 4 - i;
		s->st.allocs = 10 * i;
		s->st.alloc_bytes = 100 * i;
		s->st.frees = i;
		s->growth_share = i == 1 ? -1 : 0;
		s->has_verdict = i < 3;
		s->verdict.verdict = i == 1 ? V_PLATEAU : V_STABLE;
		s->verdict.slope = -0.04;
		s->verdict.per_hour = -0.4;
		set_frame(&frames[i][0], "[libfoo.so+0x10]");
		set_frame(&frames[i][1], "[unknown]");
		s->frames = frames[i];
		s->nframes = 2;
	}
	stacks[3].st.live_bytes = 0;
	out = render(10, 1);
	CHECK(has_line(out, "[2] pid 1234 calloc: 12288 B live in 3 objects; 10 allocs (100 B), 1 "
	                    "frees since attach") &&
	          has_line(out,
	                   "[3] pid 1234 realloc: 8192 B live in 2 objects; 20 allocs (200 B), "
	                   "2 frees since attach") &&
	          !strstr(out, "[4]") && !strstr(out, "reallocarray"),
	      "stacks ranked [1] [2] [3]; the one with 0 live bytes is not listed");
	CHECK(has_line(out, "    verdict: plateau, -0.0 B/request (95% CI 0.0..0.0), -0 B/hour, 0 "
	                    "requests, R2 0.000, n/a"),
	      "a share of growth below 0 reads n/a; signs kept on -0.04 and -0.4");
	CHECK(has_line(out, "    verdict: stable, -0.0 B/request (95% CI 0.0..0.0), -0 B/hour, 0 "
	                    "requests, R2 0.000, 0% of growth"),
	      "a share of 0 reads 0%%");
	CHECK(has_line(out, "    #0 leak_malloc+0x1a (alloc_funcs.c:23)") && !strstr(out, "#1 "),
	      "max_depth 1: only frame #0 of each stack");
	free(out);

	out = render(2, 0);
	CHECK(strstr(out, "[2] pid") && !strstr(out, "[3] pid") && !strstr(out, "    #"),
	      "--top 2: two stacks; depth 0: no frames");
	free(out);

	stacks[0].st.live_bytes = (unsigned long long)-4096LL;
	out = render(10, 10);
	CHECK(has_line(out, "no live allocations") && !strstr(out, "[1]"),
	      "the first stack's live bytes below zero (u64 -4096): 'no live allocations'");
	free(out);

	snap.nstacks = 0;
	snap.nleaks = 0;
	out = render(10, 10);
	CHECK(has_line(out, "no live allocations") && !strstr(out, "leaks:") &&
	          !strcmp(out + strlen(out) - 21, "no live allocations\n\n"),
	      "no stacks: 'no live allocations', no leaks line, blank line last");
	free(out);
}

static void test_kind_names(void)
{
	static const char *const names[AL_KIND_MAX] = {
	    NULL,           "malloc",         "calloc",        "realloc",
	    "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
	    "valloc",       "pvalloc",        "free",          "mmap",
	    "fault",        "thread",
	};
	char got[512] = "";
	int k, ok = 1;

	for (k = AL_MALLOC; k < AL_KIND_MAX; k++) {
		ok &= !strcmp(kind_name(k), names[k]);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s ", kind_name(k));
	}
	CHECK(ok && AL_KIND_MAX == 14, "kind_name of kinds 1..13: %s", got);
	CHECK(!strcmp(kind_name(0), "?") && !strcmp(kind_name(AL_KIND_MAX), "?") &&
	          !strcmp(kind_name(1000), "?") && !strcmp(kind_name(UINT_MAX), "?"),
	      "kind_name of 0, AL_KIND_MAX, 1000 and UINT_MAX: '?'");
}

/* The thread examples of docs/cli-contract.md: the doc snapshot and a thread stack of 40
 * idle threads, one per request. */
static void thread_snapshot(void)
{
	struct snap_process *p = &procs[0];
	struct snap_stack *s = &stacks[1];

	doc_snapshot();
	p->live_threads = 40;
	p->thread_stacks = 1;
	p->thread_reserved = 335544320;
	p->threads_started = 40;
	s->key.tgid = 1234;
	s->key.kind = AL_THREAD;
	s->kind = "thread";
	s->st.live_bytes = 335544320;
	s->st.live_objects = 40;
	s->st.allocs = 40;
	s->st.alloc_bytes = 335544320;
	s->has_verdict = true;
	s->verdict.verdict = V_LEAK;
	s->verdict.slope = 1;
	s->verdict.slope_lo = 0.98;
	s->verdict.slope_hi = 1.02;
	s->verdict.per_hour = 360000;
	s->verdict.x_span = 300;
	s->verdict.r2 = 0.999;
	s->growth_share = 1;
	set_frame(&thread_frames[0], "start (threading.py:957)");
	set_frame(&thread_frames[1], "threads (fastapi_app.py:88)");
	s->frames = thread_frames;
	s->nframes = 2;
	snap.nstacks = 2;
	snap.nthread_leaks = 1;
	snap.thread_slope = 1;
}

static void test_threads(void)
{
	static const char *const doc[] = {
	    "    threads: 40 live at 1 stacks (335544320 B of stack reserved); 40 started, 0 "
	    "ended since attach",
	    "[2] pid 1234 thread: 40 threads live (335544320 B of stack reserved); 40 started, 0 "
	    "ended since attach",
	    "    verdict: leak, +1.00 threads/request (95% CI 0.98..1.02), +360000 threads/hour, "
	    "300 requests, R2 0.999, 100% of threads",
	    "leaks: 2 stacks, +8192.0 B/request together",
	    "thread leaks: 1 stacks, +1.00 threads/request together",
	};
	char *out;
	size_t i;

	thread_snapshot();
	out = render(10, 10);
	for (i = 0; i < sizeof(doc) / sizeof(doc[0]); i++)
		CHECK(has_line(out, doc[i]), "threads: docs/cli-contract.md line: %s", doc[i]);
	CHECK(next_line(out,
	                "    cgroup: limit 268435456 B, usage 123456789 B, OOM in 3600 s at the "
	                "current rate",
	                doc[0]),
	      "threads: the process's threads line after its memory lines");
	CHECK(has_line(out, "pid 1234 (comm) glibc /usr/lib/x86_64-linux-gnu/libc.so.6: 163840 B "
	                    "live in 40 objects at 12 stacks; 1234 allocs, 1194 frees") &&
	          has_line(out, "    memory: rss 12345678 B, anon 2345678 B, tracked live 163840 "
	                        "B; 5000 requests"),
	      "threads: the process and memory lines are the heap's alone");
	CHECK(next_line(out, doc[1], doc[2]) &&
	          next_line(out, doc[2], "    #0 start (threading.py:957)") &&
	          next_line(out, "    #0 start (threading.py:957)",
	                    "    #1 threads (fastapi_app.py:88)"),
	      "threads: header, verdict, then the frames");
	CHECK(next_line(out, doc[3], doc[4]),
	      "threads: the thread leaks line after the leaks line");
	free(out);

	snap.time_mode = true;
	stacks[1].verdict.slope = 0.5;
	stacks[1].verdict.slope_lo = 0.25;
	stacks[1].verdict.slope_hi = 0.75;
	stacks[1].verdict.per_hour = 1800;
	stacks[1].verdict.x_span = 80;
	snap.thread_slope = 0.5;
	out = render(10, 10);
	CHECK(has_line(out, "    verdict: leak, +0.50 threads/s (95% CI 0.25..0.75), +1800 "
	                    "threads/hour, 80.0 s, R2 0.999, 100% of threads") &&
	          has_line(out, "thread leaks: 1 stacks, +0.50 threads/s together"),
	      "threads, time mode: threads per second");
	free(out);

	thread_snapshot();
	snap.nleaks = 0;
	stacks[0].has_verdict = false;
	stacks[1].growth_share = -1;
	procs[0].live_threads = 0;
	procs[0].thread_stacks = 0;
	procs[0].thread_reserved = 0;
	procs[0].threads_ended = 40;
	out = render(10, 10);
	CHECK(!strstr(out, "\nleaks:") &&
	          has_line(out, "thread leaks: 1 stacks, +1.00 threads/request together") &&
	          has_line(out, "    threads: 0 live at 0 stacks (0 B of stack reserved); 40 "
	                        "started, 40 ended since attach") &&
	          strstr(out, "R2 0.999, n/a\n"),
	      "threads alone: no heap leaks line; threads that all ended still have their line");
	free(out);

	doc_snapshot();
	out = render(10, 10);
	CHECK(!strstr(out, "threads"), "no thread ever seen: no threads line");
	free(out);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_doc_layout();
	test_time_mode();
	test_untracked();
	test_memory_lines();
	test_header_lines();
	test_stack_selection();
	test_threads();
	test_kind_names();
	return check_done();
}
