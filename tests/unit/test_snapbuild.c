// SPDX-License-Identifier: GPL-2.0
/* test_snapbuild.c - unit tests of cli/export/snapbuild.c: building the snapshot every
 * exporter reads.
 *
 * Inputs by hand: sample rows (no BPF), a real analyser fed ten samples so that some stacks
 * are leaks (sample k at t = 0.25 k s after 200 k requests, 300 k for the second process),
 * targets with made-up pids (no such process: no memory reading) and no symbolizer (frames
 * are "[unknown]" and the stack id hashes addresses). Checked: the order by live bytes
 * (ties in row order, live bytes below zero last), which rows are listed (every one that
 * allocated; or, on the interval path, the first symbolize_top, every leak and each
 * process's next stacks, compared with a brute-force selection), which get full verdicts,
 * frames and trend points, the per-process sums, the counters and the other fields copied,
 * nleaks and leak_slope, the share of growth, and the stable stack id: 12 hex digits, the
 * exact FNV-1a values (computed apart, in Python), the same for the same frames in another
 * process, different for another kind. Thread stacks: ranked by THREAD_WEIGHT per live
 * thread (not by the stacks they reserve), summed apart from the process's live heap, their
 * share of its live threads, their leaks apart from the heap's.
 * Frames beyond #0 need the sampler's stack map: sampler_stack() reads nothing of its
 * sampler but that map's fd, so a BPF hash map made here stands in for it (root; a SKIP
 * line otherwise), to check that a static binary's duplicate frame #1 is dropped, the depth
 * limit, and ids over several frames. Last, with a real symbolizer on this process, the id
 * hashes the module's name and file offset, not the address.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "export/snapbuild.h"

#include "check.h"

/* Above PID_MAX_LIMIT (4194304 on 64-bit): no such process. */
#define PID_A 5000001
#define PID_B 5000002
#define PID_C 5000003 /* not a target */

#define NO_STACK -14 /* bpf_get_stackid's -EFAULT: no frames beyond the caller */
#define MAX_ROWS 128

static struct sample_row rows[MAX_ROWS];
static struct sample smp = {.rows = rows, .cap = MAX_ROWS};
static struct target tgs[2];
static struct al_allocator als[2];
static struct snap_target targets[2];

static struct al_stack_key key(int pid, int n, enum al_kind kind)
{
	struct al_stack_key k = {
	    .tgid = pid, .stackid = NO_STACK, .caller = 0x401000 + 0x10 * n, .kind = kind};

	return k;
}

static struct sample_row *add_row(struct al_stack_key k, long long live, unsigned long long allocs,
                                  unsigned long long frees)
{
	struct sample_row *r = &rows[smp.n++];

	memset(r, 0, sizeof(*r));
	r->key = k;
	r->st.live_bytes = (unsigned long long)live;
	r->st.live_objects = live > 0 ? (unsigned long long)live / 100 : 0;
	r->st.allocs = allocs;
	r->st.alloc_bytes = 100 * allocs;
	r->st.frees = frees;
	r->st.free_bytes = 100 * frees;
	return r;
}

static int same_key(const struct al_stack_key *a, const struct al_stack_key *b)
{
	return a->tgid == b->tgid && a->stackid == b->stackid && a->caller == b->caller &&
	       a->kind == b->kind;
}

static void set_targets(void)
{
	int i;

	memset(tgs, 0, sizeof(tgs));
	memset(als, 0, sizeof(als));
	for (i = 0; i < 2; i++) {
		tgs[i].pid = i ? PID_B : PID_A;
		snprintf(tgs[i].comm, sizeof(tgs[i].comm), i ? "worker" : "server");
		snprintf(als[i].flavor, sizeof(als[i].flavor), i ? "jemalloc" : "glibc");
		snprintf(als[i].target_path, sizeof(als[i].target_path),
		         i ? "/opt/lib/libjemalloc.so.2" : "/usr/lib/x86_64-linux-gnu/libc.so.6");
		targets[i].t = &tgs[i];
		targets[i].al = &als[i];
	}
	tgs[1].exited = true;
}

static int is_id(const char *id)
{
	int i;

	for (i = 0; i < 12; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[12] == '\0';
}

static struct snap_input base_input(struct analyser *an)
{
	struct snap_input in = {
	    .smp = &smp,
	    .an = an,
	    .targets = targets,
	    .ntargets = 2,
	    .request_source = "uprobe:/srv/app:handle",
	    .elapsed = 2.5,
	    .sample_seconds = 0.004,
	    .sample_bytes = 0,
	    .mode = "precise",
	    .probe_hits_per_s = 1500,
	    .overhead_cpu = 0.003,
	    .symbolize_top = 3,
	    .list_all = true,
	    .max_depth = 16,
	};

	return in;
}

/* ---- every stack listed ---- */

/* The rows of sample k; the leaks: A's r1 4096 B/request, B's r7 1024 B/request. */
static void rows_b(int k)
{
	smp.n = 0;
	add_row(key(PID_A, 1, AL_MALLOC), 3000, 30, 27);                  /* r0 */
	add_row(key(PID_A, 2, AL_MALLOC), 4096LL * 200 * k, 2000 * k, 0); /* r1 leak */
	add_row(key(PID_B, 1, AL_CALLOC), 5000, 50, 0);                   /* r2 */
	add_row(key(PID_A, 3, AL_MALLOC), 0, 5, 5);                       /* r3 all freed */
	add_row(key(PID_A, 4, AL_MALLOC), 0, 0, 3);                       /* r4 frees only */
	add_row(key(PID_B, 2, AL_CALLOC), 3000, 3, 0);                    /* r5 ties r0 */
	add_row(key(PID_C, 1, AL_MALLOC), 100, 1, 0);                     /* r6 not a target */
	add_row(key(PID_B, 3, AL_REALLOC), 1024LL * 300 * k, 300 * k, 0); /* r7 leak */
	add_row(key(PID_A, 5, AL_MALLOC), -4096, 1, 2);                   /* r8 below zero */
	add_row(key(PID_B, 2, AL_MALLOC), 2000, 2, 0);                    /* r9 r1's caller */
	smp.counters[AL_C_ALLOC_CALLS] = 111;
	smp.counters[AL_C_UNKNOWN_FREES] = 7;
	smp.counters[AL_C_EVENTS_LOST] = 0xffffffffffffffffULL;
}

static struct analyser *feed_b(void)
{
	struct trend_params p;
	struct analyser *an;
	int pids[2] = {PID_A, PID_B}, k;
	double x[2];

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	analyser_add_process(an, PID_B);
	for (k = 1; k <= 10; k++) {
		rows_b(k);
		x[0] = 200.0 * k;
		x[1] = 300.0 * k;
		analyser_sample(an, &smp, 0.25 * k, pids, x, 2);
	}
	return an;
}

static void test_list_all(void)
{
	/* rows in the expected order: live bytes, largest first; r0 and r5 tie (row order);
	 * r3 has none but allocated; r8 is below zero; r4 never allocated */
	static const int order[] = {1, 7, 2, 0, 5, 9, 6, 3, 8};
	struct analyser *an = feed_b();
	struct snap_input in = base_input(an);
	const struct snap_process *pa, *pb;
	struct snapshot snap;
	int i, ok, r;

	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 9 && snap.nstacks_all == 9 && snapshot_nstacks(&snap) == 9,
	      "list_all: the 9 rows that allocated, of 10 (%d, %d)", snap.nstacks,
	      snap.nstacks_all);
	for (i = 0, ok = 1; i < 9 && i < snap.nstacks; i++)
		ok &= same_key(&snap.stacks[i].key, &rows[order[i]].key) &&
		      snap.stacks[i].st.live_bytes == rows[order[i]].st.live_bytes &&
		      !memcmp(&snap.stacks[i].st, &rows[order[i]].st, sizeof(rows[0].st));
	CHECK(ok, "by live bytes: r1 r7 r2 r0 r5 r9 r6 r3 r8 (ties in row order, below zero last), "
	          "counters copied");
	CHECK(!strcmp(snap.stacks[0].kind, "malloc") && !strcmp(snap.stacks[1].kind, "realloc") &&
	          !strcmp(snap.stacks[2].kind, "calloc"),
	      "kind names: malloc, realloc, calloc");

	/* the processes */
	CHECK(snap.nprocs == 2, "two processes");
	pa = snapshot_process(&snap, PID_A);
	pb = snapshot_process(&snap, PID_B);
	CHECK(pa && pa->live_bytes == 3000 + 8192000 && pa->live_objects == 30 + 81920 &&
	          pa->nstacks == 2 && pa->allocs == 30 + 20000 + 5 + 0 + 1 &&
	          pa->frees == 27 + 0 + 5 + 3 + 2,
	      "server: live and objects of its rows above zero, allocs and frees of all its rows");
	CHECK(pa && !strcmp(pa->comm, "server") && !strcmp(pa->flavor, "glibc") &&
	          !strcmp(pa->allocator, "/usr/lib/x86_64-linux-gnu/libc.so.6") && !pa->exited &&
	          pa->requests == 2000 && !pa->have_mem && pa->oom_eta == -1,
	      "server: comm, flavor, allocator, 2000 requests from the analyser, no memory");
	CHECK(pb && pb->live_bytes == 5000 + 3000 + 3072000 + 2000 && pb->nstacks == 4 &&
	          pb->exited && pb->requests == 3000 && !strcmp(pb->flavor, "jemalloc"),
	      "worker: its own sums, exited, 3000 requests");
	CHECK(!snapshot_process(&snap, PID_C), "a pid that is not a target has no process");

	/* the verdicts */
	CHECK(snap.nleaks == 2 && snap.leak_slope == 4096 + 1024,
	      "nleaks 2, leak_slope 5120 (4096 + 1024) (%d, %g)", snap.nleaks, snap.leak_slope);
	CHECK(snap.stacks[0].has_verdict && snap.stacks[0].verdict.verdict == V_LEAK &&
	          snap.stacks[0].verdict.slope == 4096 && snap.stacks[1].has_verdict &&
	          snap.stacks[1].verdict.verdict == V_LEAK && snap.stacks[1].verdict.slope == 1024,
	      "the two leaks with their slopes");
	CHECK(snap.stacks[2].has_verdict && snap.stacks[2].verdict.verdict == V_STABLE &&
	          snap.stacks[2].verdict.mk_p == 0.5 && snap.stacks[3].has_verdict &&
	          snap.stacks[3].verdict.verdict == V_STABLE && snap.stacks[3].verdict.mk_p == 1,
	      "symbolize_top 3: the third stack's verdict is fitted (p 0.5), the fourth's brief "
	      "(p 1)");
	CHECK(snap.stacks[0].growth_share == 8192000.0 / 8195000 &&
	          snap.stacks[1].growth_share == 3072000.0 / 3082000 &&
	          snap.stacks[6].growth_share == -1 && snap.stacks[7].growth_share == 0,
	      "share of growth: of the process's live bytes; -1 for a pid not traced; 0 for none");

	/* frames and points: the first 3 and the leaks */
	for (i = 0, ok = 1; i < snap.nstacks; i++) {
		const struct snap_stack *s = &snap.stacks[i];

		if (i < 3)
			ok &= s->nframes == 1 && s->frames && s->frames[0].addr == s->key.caller &&
			      !strcmp(s->frames[0].text, "[unknown]") && !s->frames[0].module[0] &&
			      is_id(s->id) && s->npoints == 10;
		else
			ok &= s->nframes == 0 && !s->frames && !s->id[0] && s->npoints == 0 &&
			      !s->points;
	}
	CHECK(ok, "the first 3: frame #0 = the caller, '[unknown]' without a symbolizer, an id "
	          "and 10 points; the others none of these");
	for (i = 0, ok = 1; i < 10 && snap.stacks[0].npoints == 10; i++)
		ok &= snap.stacks[0].points[i].t == 0.25 * (i + 1) &&
		      snap.stacks[0].points[i].x == 200.0 * (i + 1) &&
		      snap.stacks[0].points[i].y == 4096.0 * 200 * (i + 1);
	CHECK(ok, "the leak's points are its series (t, requests, live bytes)");

	/* the rest copied */
	CHECK(!memcmp(snap.counters, smp.counters, sizeof(snap.counters)) &&
	          snap.counters[AL_C_EVENTS_LOST] == 0xffffffffffffffffULL,
	      "the loss counters copied");
	CHECK(snap.elapsed == 2.5 && !snap.final && !snap.time_mode &&
	          !strcmp(snap.request_source, "uprobe:/srv/app:handle") &&
	          snap.sample_seconds == 0.004 && snap.probe_hits_per_s == 1500 &&
	          snap.overhead_cpu == 0.003 && !strcmp(snapshot_mode(&snap), "precise") &&
	          snap.unix_time > 1.6e9,
	      "elapsed, request source, timings, mode copied; unix_time is now");
	snapshot_free(&snap);
	CHECK(!snap.stacks && !snap.procs && snap.nstacks == 0, "snapshot_free clears it");

	/* symbolize_top -1: every stack gets its frames and a fitted verdict */
	in.symbolize_top = -1;
	in.final = true;
	r = snapshot_build(&snap, &in);
	for (i = 0, ok = r == 0 && snap.nstacks == 9; i < snap.nstacks; i++)
		ok &= snap.stacks[i].nframes == 1 && is_id(snap.stacks[i].id);
	CHECK(ok && snap.final && snap.stacks[3].verdict.mk_p == 0.5,
	      "symbolize_top -1: all 9 with frames and ids, verdicts fitted; final copied");

	/* the stack id: FNV-1a of the kind, then per frame module basename and address */
	CHECK(!strcmp(snap.stacks[0].id, "50ccdf94133d"),
	      "id of malloc at 0x401020, no module: 50ccdf94133d (%s)", snap.stacks[0].id);
	CHECK(!strcmp(snap.stacks[5].id, snap.stacks[0].id),
	      "the same caller and kind in another process: the same id (%s)", snap.stacks[5].id);
	CHECK(!strcmp(snap.stacks[4].id, "d8f0a75827b3"),
	      "calloc at the same address: another id, d8f0a75827b3 (%s)", snap.stacks[4].id);
	snapshot_free(&snap);

	/* no analyser, nothing symbolized: processes and stacks still listed */
	in.an = NULL;
	in.symbolize_top = 0;
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 9 && snap.nleaks == 0 && !snap.stacks[0].has_verdict &&
	          snap.procs[0].requests == 0 && snap.procs[0].oom_eta == -1 && !snap.time_mode,
	      "no analyser, symbolize_top 0: stacks listed without verdicts");
	snapshot_free(&snap);
	analyser_free(an);
}

/* ---- the interval path: only what the outputs read ---- */

#define TOP 2

struct cand {
	int row;
	long long live;
	int group; /* 0: server, 1: worker, 2: any other pid */
	bool leak;
};

static int cand_before(const struct cand *a, const struct cand *b)
{
	return a->live != b->live ? a->live > b->live : a->row < b->row;
}

/* 26 server rows, 26 worker rows, 10 of a pid not traced and 2 that never allocated; the
 * leaks are small: A's la (8 B/request) and B's lb (4 B/request). */
static void rows_c(int k)
{
	int i;

	smp.n = 0;
	for (i = 0; i < 25; i++) {
		/* ties at the top: 50000 at i = 3, 9, 15, 21 */
		long long la = i % 6 == 3 ? 50000 : 20000 + 977LL * ((i * 7) % 25);

		add_row(key(PID_A, 100 + i, AL_MALLOC), la, 1, 0);
		add_row(key(PID_B, 100 + i, AL_CALLOC), 21000 + 1013LL * ((i * 11) % 25), 1, 0);
		if (i == 12)
			add_row(key(PID_A, 1, AL_MALLOC), 8LL * 200 * k, k, 0); /* la */
		if (i == 20)
			add_row(key(PID_B, 1, AL_MALLOC), 4LL * 300 * k, k, 0); /* lb */
	}
	for (i = 0; i < 10; i++)
		add_row(key(PID_C, 100 + i, AL_MALLOC), 25000 + 3000LL * i, 1, 0);
	add_row(key(PID_A, 99, AL_MALLOC), 0, 0, 1);
	add_row(key(PID_B, 99, AL_MALLOC), 0, 0, 0);
}

static void test_list_shown(void)
{
	struct cand c[MAX_ROWS], want[MAX_ROWS], t;
	struct trend_params p;
	struct analyser *an;
	struct snap_input in;
	struct snapshot snap;
	int pids[2] = {PID_A, PID_B}, k, i, j, g, n = 0, nw = 0, ok, r, nleak = 0;
	int taken[3] = {0, 0, 0};
	double x[2];

	trend_defaults(&p);
	p.min_bytes = 1024; /* small leaks: 8 B/request is 11200 B over the used samples */
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	analyser_add_process(an, PID_B);
	for (k = 1; k <= 10; k++) {
		rows_c(k);
		x[0] = 200.0 * k;
		x[1] = 300.0 * k;
		analyser_sample(an, &smp, 0.25 * k, pids, x, 2);
	}

	/* the expected selection, by brute force */
	for (i = 0; i < smp.n; i++) {
		const struct trend_result *v = analyser_verdict_brief(an, &rows[i].key);

		if (!rows[i].st.allocs && (long long)rows[i].st.live_bytes <= 0)
			continue;
		c[n].row = i;
		c[n].live = (long long)rows[i].st.live_bytes;
		c[n].group = rows[i].key.tgid == PID_A ? 0 : rows[i].key.tgid == PID_B ? 1 : 2;
		c[n].leak = v && v->verdict == V_LEAK;
		nleak += c[n].leak;
		n++;
	}
	for (i = 0; i < n; i++) /* sort: selection sort, plain and separate from the code's */
		for (j = i + 1; j < n; j++)
			if (cand_before(&c[j], &c[i])) {
				t = c[i];
				c[i] = c[j];
				c[j] = t;
			}
	for (i = 0; i < n; i++) {
		g = c[i].group;
		if (c[i].leak || taken[g] < TOP + 1) {
			want[nw++] = c[i];
			taken[g] += !c[i].leak;
		}
	}
	CHECK(smp.n == 64 && n == 62 && nleak == 2 && nw == 2 + 3 * (TOP + 1),
	      "64 rows, 62 allocated, 2 leaks: expect 11 listed (%d, %d, %d, %d)", smp.n, n, nleak,
	      nw);

	in = base_input(an);
	in.list_all = false;
	in.symbolize_top = TOP;
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == nw && snap.nstacks_all == 62 &&
	          snapshot_nstacks(&snap) == 62,
	      "interval path: %d stacks listed, 62 counted (%d, %d)", nw, snap.nstacks,
	      snap.nstacks_all);
	for (i = 0, ok = snap.nstacks == nw; ok && i < nw; i++)
		ok &= same_key(&snap.stacks[i].key, &rows[want[i].row].key);
	CHECK(ok,
	      "listed: the top %d, every leak, each process's next ones, by live bytes then row",
	      TOP);
	for (i = 0, ok = snap.nstacks == nw; ok && i < nw; i++) {
		const struct snap_stack *s = &snap.stacks[i];
		bool framed = i < TOP || want[i].leak;

		/* the analyser follows the two targets only */
		ok &= s->has_verdict == (s->key.tgid != PID_C) &&
		      (framed ? s->nframes == 1 && is_id(s->id) &&
		                    (s->npoints == 10) == (s->key.tgid != PID_C)
		              : s->nframes == 0 && !s->id[0] && !s->npoints);
	}
	CHECK(ok,
	      "frames and ids for the top %d and the leaks only; verdicts and 10 points for "
	      "those of the targets",
	      TOP);
	CHECK(snap.nleaks == 2 && snap.leak_slope == 8 + 4,
	      "the two small leaks, listed though far below the top: slopes 8 + 4 (%d, %g)",
	      snap.nleaks, snap.leak_slope);
	CHECK(snap.stacks[nw - 2].st.live_bytes == 16000 &&
	          snap.stacks[nw - 1].st.live_bytes == 12000,
	      "the leaks (16000 and 12000 B at sample 10) come last");
	CHECK(snap.stacks[0].key.tgid == PID_C && snap.stacks[0].st.live_bytes == 52000,
	      "the largest stack overall first, whichever process (%u, %llu)",
	      snap.stacks[0].key.tgid, (unsigned long long)snap.stacks[0].st.live_bytes);
	snapshot_free(&snap);

	/* few rows for the heaps: listing every stack is as cheap */
	in.symbolize_top = 5; /* 6 x 3 x 4 = 72 >= 64 */
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 62, "symbolize_top 5 with 64 rows: every stack listed (%d)",
	      snap.nstacks);
	snapshot_free(&snap);
	analyser_free(an);
}

/* ---- frames from the stack map ---- */

/* Stands in for struct sampler (private to sampler.c), of which sampler_stack() reads only
 * the stack map's fd: every int of the block is that fd, wherever the field sits. */
static int fake_sampler[1024];

static int put_stack(int fd, __u32 id, const __u64 *ips, int n)
{
	__u64 frames[AL_MAX_STACK_DEPTH] = {0};

	memcpy(frames, ips, n * sizeof(*ips));
	return bpf_map_update_elem(fd, &id, frames, BPF_ANY);
}

static void test_frames(void)
{
	/* frame 0 of the kernel's walk is the allocator itself (replaced by the caller) */
	static const __u64 s7[] = {0xa110c, 0x401234, 0x402000, 0x403000}; /* static: dup */
	static const __u64 s8[] = {0xa110c, 0x401111, 0x402000};
	static const __u64 s9[] = {0xa110c, 0x402000, 0x403000};
	struct trend_params p;
	struct analyser *an;
	struct snap_input in;
	struct snapshot snap;
	struct sample_row *r7, *r8, *r9, *r10;
	int fd, i, r;

	trend_defaults(&p);
	an = analyser_new(&p, false); /* empty: no verdicts, no points */
	in = base_input(an);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "test_stacks", sizeof(__u32),
	                    AL_MAX_STACK_DEPTH * sizeof(__u64), 16, NULL);
	if (fd < 0) {
		SKIP("cannot create a BPF map (%s): stack map frames", strerror(errno));
		analyser_free(an);
		return;
	}
	for (i = 0; i < 1024; i++)
		fake_sampler[i] = fd;
	CHECK(!put_stack(fd, 7, s7, 4) && !put_stack(fd, 8, s8, 3) && !put_stack(fd, 9, s9, 3),
	      "stacks 7, 8, 9 in a BPF hash map");
	smp.n = 0;
	r7 = add_row(key(PID_A, 0, AL_MALLOC), 4000, 4, 0);
	r8 = add_row(key(PID_A, 0, AL_MALLOC), 3000, 3, 0);
	r9 = add_row(key(PID_B, 0, AL_MALLOC), 2000, 2, 0);
	r10 = add_row(key(PID_B, 0, AL_MALLOC), 1000, 1, 0);
	r7->key.caller = r8->key.caller = r9->key.caller = r10->key.caller = 0x401234;
	r7->key.stackid = 7;
	r8->key.stackid = 8;
	r9->key.stackid = 9;
	r10->key.stackid = 7;
	in.sampler = (struct sampler *)fake_sampler;
	in.symbolize_top = -1;
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 4, "4 stacks");
	if (r || snap.nstacks != 4)
		goto out;
	CHECK(snap.stacks[0].nframes == 3 && snap.stacks[0].frames[0].addr == 0x401234 &&
	          snap.stacks[0].frames[1].addr == 0x402000 &&
	          snap.stacks[0].frames[2].addr == 0x403000,
	      "static binary: frame #1 equal to the caller dropped: 0x401234 0x402000 0x403000 "
	      "(%d frames)",
	      snap.stacks[0].nframes);
	CHECK(snap.stacks[1].nframes == 3 && snap.stacks[1].frames[0].addr == 0x401234 &&
	          snap.stacks[1].frames[1].addr == 0x401111 &&
	          snap.stacks[1].frames[2].addr == 0x402000,
	      "no duplicate: frame #0 the caller, then the walk from #1 (%d frames)",
	      snap.stacks[1].nframes);
	CHECK(!strcmp(snap.stacks[0].id, "5f8ae2cd3c43") &&
	          !strcmp(snap.stacks[1].id, "1a6c1398bacd"),
	      "ids over three frames: 5f8ae2cd3c43, 1a6c1398bacd (%s, %s)", snap.stacks[0].id,
	      snap.stacks[1].id);
	CHECK(!strcmp(snap.stacks[2].id, snap.stacks[0].id) &&
	          !strcmp(snap.stacks[3].id, snap.stacks[0].id),
	      "the same frames with the duplicate or without it, in either process: the same id");
	snapshot_free(&snap);

	in.max_depth = 2;
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 4 && snap.stacks[0].nframes == 2 &&
	          snap.stacks[1].nframes == 2 && !strcmp(snap.stacks[0].id, "34c23b321493"),
	      "max_depth 2: two frames kept, the id over those two (34c23b321493: %s)",
	      snap.nstacks ? snap.stacks[0].id : "");
	snapshot_free(&snap);
out:
	close(fd);
	analyser_free(an);
}

/* ---- a real symbolizer: the id hashes module and file offset ---- */

__attribute__((noinline)) int marker_function(int v)
{
	return v * 3 + 1;
}

static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static void test_symbolized(void)
{
	struct symbolizer *sym = sym_new();
	struct trend_params p;
	struct analyser *an;
	struct snap_input in;
	const struct snap_frame *f;
	struct snapshot snap;
	char want[16], exe[4096], *base;
	unsigned long long h;
	ssize_t len;
	int r;

	/* the module is this program, whatever its name */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	trend_defaults(&p);
	an = analyser_new(&p, false);
	in = base_input(an);
	CHECK(sym && sym_add_process(sym, getpid()) == 0, "a symbolizer on this process");
	smp.n = 0;
	/* a return address inside marker_function */
	add_row(key(getpid(), 0, AL_MALLOC), 4096, 1, 0)->key.caller =
	    (uintptr_t)marker_function + 5;
	in.sym = sym;
	in.ntargets = 0;
	in.symbolize_top = -1;
	r = snapshot_build(&snap, &in);
	f = r == 0 && snap.nstacks == 1 && snap.stacks[0].nframes == 1 ? &snap.stacks[0].frames[0]
	                                                               : NULL;
	CHECK(f && !strcmp(f->func, "marker_function") && f->off == 5 &&
	          !strncmp(f->text, "marker_function+0x5 (", 21) &&
	          !strcmp(strrchr(f->module, '/') ? strrchr(f->module, '/') + 1 : f->module, base),
	      "frame #0 resolved: %s in %s", f ? f->text : "-", f ? f->module : "-");
	if (f) {
		h = fnv(0xcbf29ce484222325ULL, "malloc", 6);
		h = fnv(h, base, strlen(base));
		h = fnv(h, &f->module_off, 8);
		snprintf(want, sizeof(want), "%012llx", h & 0xffffffffffffULL);
		CHECK(!strcmp(snap.stacks[0].id, want) && f->module_off != f->addr,
		      "the id hashes the module's basename and the file offset 0x%llx, not the "
		      "address 0x%llx: %s (%s)",
		      f->module_off, f->addr, want, snap.stacks[0].id);
	}
	snapshot_free(&snap);
	sym_free(sym);
	analyser_free(an);
}

/* ---- thread stacks ---- */

#define THREAD_STACK 8392704ULL /* 8 MiB and a guard page */

/* Sample k: A's heap leak (4096 B/request), a flat 2 MiB, one thread left per 100 requests
 * (2 a sample) and a pool of 3 threads, one of which ended. */
static void rows_t(int k)
{
	struct sample_row *r;

	smp.n = 0;
	add_row(key(PID_A, 1, AL_MALLOC), 4096LL * 200 * k, 200 * k, 0);       /* r0 heap leak */
	add_row(key(PID_A, 2, AL_MALLOC), 2 << 20, 10, 0);                     /* r1 flat */
	r = add_row(key(PID_A, 3, AL_THREAD), 2 * k * THREAD_STACK, 2 * k, 0); /* r2 */
	r->st.live_objects = 2 * k;
	r = add_row(key(PID_A, 4, AL_THREAD), 3 * THREAD_STACK, 4, 1); /* r3 pool */
	r->st.live_objects = 3;
}

static void test_threads(void)
{
	struct trend_params p;
	struct analyser *an;
	struct snap_input in;
	struct snapshot snap;
	const struct snap_process *pa;
	int pids[2] = {PID_A, PID_B}, k, r;
	double x[2];

	trend_defaults(&p);
	an = analyser_new(&p, false);
	analyser_add_process(an, PID_A);
	analyser_add_process(an, PID_B);
	for (k = 1; k <= 10; k++) {
		rows_t(k);
		x[0] = 200.0 * k;
		x[1] = 0;
		analyser_sample(an, &smp, 0.25 * k, pids, x, 2);
	}
	in = base_input(an);
	r = snapshot_build(&snap, &in);
	CHECK(r == 0 && snap.nstacks == 4 && same_key(&snap.stacks[0].key, &rows[0].key) &&
	          same_key(&snap.stacks[1].key, &rows[1].key) &&
	          same_key(&snap.stacks[2].key, &rows[2].key) &&
	          same_key(&snap.stacks[3].key, &rows[3].key),
	      "threads: 20 threads (160 MiB reserved) weigh 640 KiB, below the flat 2 MiB; 3 "
	      "threads last");
	CHECK(!strcmp(snap.stacks[2].kind, "thread") && snap_is_thread(&snap.stacks[2]) &&
	          !snap_is_thread(&snap.stacks[1]),
	      "threads: kind \"thread\"");
	pa = snapshot_process(&snap, PID_A);
	CHECK(pa && pa->live_bytes == 8192000 + (2 << 20) && pa->nstacks == 2 &&
	          pa->allocs == 2000 + 10 && pa->frees == 0 &&
	          pa->live_objects == 81920 + (2 << 20) / 100,
	      "threads: the process's live heap, stacks, allocs and frees without thread stacks");
	CHECK(pa && pa->live_threads == 23 && pa->thread_stacks == 2 &&
	          pa->thread_reserved == 23 * THREAD_STACK && pa->threads_started == 24 &&
	          pa->threads_ended == 1,
	      "threads: the process's threads apart (23 live at 2 stacks, 24 started, 1 ended)");
	CHECK(snap.stacks[0].growth_share == 8192000.0 / (8192000 + (2 << 20)) &&
	          snap.stacks[2].growth_share == 20.0 / 23 &&
	          snap.stacks[3].growth_share == 3.0 / 23,
	      "threads: a heap stack's share of the heap, a thread stack's of the threads");
	CHECK(snap.nleaks == 1 && snap.leak_slope == 4096 && snap.nthread_leaks == 1 &&
	          snap.thread_slope == 0.01 && snap.stacks[2].verdict.verdict == V_LEAK,
	      "threads: heap leaks (1, 4096 B/request) and thread leaks (1, 0.01 threads/request) "
	      "apart (%d %g, %d %g)",
	      snap.nleaks, snap.leak_slope, snap.nthread_leaks, snap.thread_slope);
	CHECK(snap.stacks[2].npoints == 10 && snap.stacks[2].points[9].y == 20,
	      "threads: the thread stack's points are live threads");
	snapshot_free(&snap);
	analyser_free(an);
}

int main(void)
{
	set_targets();
	test_list_all();
	test_list_shown();
	test_frames();
	test_symbolized();
	test_threads();
	return check_done();
}
