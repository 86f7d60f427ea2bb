// SPDX-License-Identifier: GPL-2.0
/* test_prom.c - unit tests of cli/export/prom.c: the Prometheus page and the textfile.
 *
 * Snapshots built by hand (frames with quotes, backslashes, newlines, C++
 * templates, invalid UTF-8, odd paths): exact sample lines and escaping, the same
 * HELP/TYPE lines for an empty and a full snapshot, families contiguous, the stack
 * selection (top N then leaks, bounded), time mode, thread stacks in their own families
 * (never in a byte family that means heap), and `promtool check metrics`
 * (Debian's prometheus package) on every page, lint included. The textfile: a
 * forked reader reads it in a tight loop while it is rewritten 2000 times and must
 * only ever see one of the two complete pages; symlinks, directories, FIFOs,
 * missing and unwritable directories are refused with a clear message, and no
 * temporary file is ever left behind (not even when a write fails half way).
 * Unwritable directories, as root: /proc, a directory under a regular file, and
 * a 0555 directory seen by a child that dropped to uid 65534.
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "export/outfile.h"
#include "export/prom.h"

#include "check.h"

#define ERRLEN     512
#define MAX_STACKS 400
#define BIG        150 /* stacks of the big page of the atomicity test (~150 KB) */

static char tmpdir[256];

/* Every family, in the order prom.c writes them. */
static const char *const families[] = {
    "agentleak_stack_live_bytes",
    "agentleak_stack_live_objects",
    "agentleak_stack_allocations_total",
    "agentleak_stack_allocated_bytes_total",
    "agentleak_stack_frees_total",
    "agentleak_stack_live_threads",
    "agentleak_stack_thread_stack_reserved_bytes",
    "agentleak_stack_threads_started_total",
    "agentleak_stack_threads_ended_total",
    "agentleak_stack_slope_bytes_per_request",
    "agentleak_stack_slope_bytes_per_second",
    "agentleak_stack_slope_threads_per_request",
    "agentleak_stack_slope_threads_per_second",
    "agentleak_stack_verdict",
    "agentleak_process_rss_bytes",
    "agentleak_process_anon_bytes",
    "agentleak_process_live_bytes",
    "agentleak_process_requests_total",
    "agentleak_process_oom_eta_seconds",
    "agentleak_process_cgroup_limit_bytes",
    "agentleak_process_heap_retained_bytes",
    "agentleak_process_live_threads",
    "agentleak_events_total",
    "agentleak_lost_total",
    "agentleak_sample_duration_seconds",
    "agentleak_probe_hits_per_second",
    "agentleak_estimated_overhead_cpus",
    "agentleak_leaks",
    "agentleak_thread_leaks",
    "agentleak_precise_tier_active",
    "agentleak_diagnosis_windows_total",
    "agentleak_up",
};
#define NFAMILIES (int)(sizeof(families) / sizeof(families[0]))

/* ---- snapshots by hand ---- */

struct fixture {
	struct snapshot snap;
	struct snap_process procs[2];
	struct snap_stack stacks[MAX_STACKS];
	struct snap_frame frames[MAX_STACKS];
};

static void set_stack(struct fixture *fx, int i, int pid, const char *kind, const char *text,
                      unsigned long long live, enum verdict v, double slope)
{
	struct snap_stack *s = &fx->stacks[i];
	struct snap_frame *fr = &fx->frames[i];

	memset(s, 0, sizeof(*s));
	memset(fr, 0, sizeof(*fr));
	s->key.tgid = pid;
	s->key.stackid = i;
	s->key.caller = 0x401000 + i;
	snprintf(s->id, sizeof(s->id), "%012x", 0xa00000 + i);
	s->kind = kind;
	s->st.live_bytes = live;
	s->st.live_objects = live / 4096;
	s->st.allocs = live / 4096 + 10;
	s->st.alloc_bytes = live + 40960;
	s->st.frees = 10;
	s->st.free_bytes = 40960;
	s->has_verdict = v != V_NONE;
	s->verdict.verdict = v;
	s->verdict.slope = slope;
	s->growth_share = -1;
	snprintf(fr->text, sizeof(fr->text), "%s", text);
	fr->addr = s->key.caller;
	s->nframes = 1;
	s->frames = fr;
}

static void empty_snapshot(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->snap.request_source = "time";
	fx->snap.time_mode = true;
	fx->snap.procs = fx->procs;
	fx->snap.stacks = fx->stacks;
}

/* Two processes (one with a cgroup limit and an OOM ETA), stacks with every kind
 * of awkward frame text, counters 1..N. */
static void full_snapshot(struct fixture *fx, int nstacks)
{
	static const char *const texts[] = {
	    "remember_message+0x14 (demo/leaky_service.c:35)",
	    "say\"hi\"+0x1 (C:\\dir\\x.c:3)",
	    "line\nbreak+0x2 (a\\nb.c:4)",
	    "std::vector<std::pair<int, char const*> >::_M_realloc_insert<std::pair<int, char "
	    "const*> >(__gnu_cxx::__normal_iterator<std::pair<int, char const*>*, "
	    "std::vector<std::pair<int, char const*> > >, std::pair<int, char const*>&&)+0x5e "
	    "(/usr/include/c++/12/bits/vector.tcc:439)",
	    "cache_put+0x9 (/srv/my app/{weird} #1/cache.c:12)",
	    "0x7f00deadbeef (/tmp/\xff\xfe bad utf8 \xc3\x28.so)",
	    "",
	    "caf\xc3\xa9_\xe2\x82\xac+0x3 (/opt/\xf0\x9f\x90\x9b/bug.c:1)",
	};
	static const enum verdict verdicts[] = {V_LEAK,   V_PLATEAU,   V_NONE, V_GROWING,
	                                        V_STABLE, V_TRANSIENT, V_LEAK, V_NONE};
	int nt = sizeof(texts) / sizeof(texts[0]);

	empty_snapshot(fx);
	fx->snap.unix_time = 1700000000.25;
	fx->snap.elapsed = 42.5;
	fx->snap.time_mode = false;
	fx->snap.request_source = "accept";
	fx->snap.nprocs = 2;
	fx->procs[0] = (struct snap_process){
	    .pid = 4242,
	    .comm = "leaky \"svc\"\\",
	    .flavor = "glibc",
	    .live_bytes = 3891200,
	    .live_objects = 950,
	    .requests = 1900,
	    .have_mem = true,
	    .rss = 50331648,
	    .anon = 41943040,
	    .cg_limit = 536870912,
	    .cg_usage = 104857600,
	    .oom_eta = 3600.5,
	    .retained = 1048576,
	};
	fx->procs[1] = (struct snap_process){
	    .pid = 77,
	    .comm = "other\n",
	    .live_bytes = 4096,
	    .have_mem = false,
	    .oom_eta = -1,
	};
	for (int i = 0; i < nstacks; i++)
		set_stack(fx, i, i % 3 == 2 ? 77 : 4242, i % 2 ? "calloc" : "malloc", texts[i % nt],
		          (unsigned long long)(nstacks - i) * 4096,
		          verdicts[i % (int)(sizeof(verdicts) / sizeof(verdicts[0]))],
		          4096.0 / (i + 1));
	fx->snap.nstacks = nstacks;
	for (int c = 0; c < AL_C_MAX; c++)
		fx->snap.counters[c] = 1000 + c;
	fx->snap.sample_seconds = 0.0125;
	fx->snap.nleaks = 2;
	fx->snap.leak_slope = 4096;
}

/* ---- helpers ---- */

static char *render(const struct snapshot *snap, int top)
{
	char *buf;
	size_t len;

	if (prom_render(snap, top, &buf, &len))
		return NULL;
	return buf;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static int count_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	int cnt = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			cnt++;
	return cnt;
}

static bool ends_with(const char *text, const char *tail)
{
	size_t n = strlen(text), m = strlen(tail);

	return n >= m && !strcmp(text + n - m, tail);
}

/* The comment lines (# HELP, # TYPE) of a page, in order. */
static char *comments(const char *text)
{
	char *out = calloc(1, strlen(text) + 1), *o = out;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (*p == '#') {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	return out;
}

/* Each sample line belongs to the family of the last TYPE line, and no family
 * appears twice: families are contiguous. Returns the bad line or NULL. */
static const char *check_contiguous(const char *text, char *bad, size_t badlen)
{
	char cur[128] = "", seen[64][128];
	int nseen = 0;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!strncmp(p, "# TYPE ", 7)) {
			sscanf(p + 7, "%127s", cur);
			for (int i = 0; i < nseen; i++)
				if (!strcmp(seen[i], cur))
					goto bad;
			if (nseen < 64)
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", cur);
		} else if (*p != '#') {
			size_t len = strlen(cur);

			if (!len || strncmp(p, cur, len) || (p[len] != '{' && p[len] != ' '))
				goto bad;
		}
		p += n + (nl ? 1 : 0);
		continue;
	bad:
		snprintf(bad, badlen, "%.*s", (int)n, p);
		return bad;
	}
	return NULL;
}

static int run_cmd(const char *cmd, char *out, size_t outlen)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	int st;

	if (!f) {
		snprintf(out, outlen, "popen failed");
		return -1;
	}
	while (n + 1 < outlen && fgets(out + n, outlen - n, f))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* promtool check metrics, lint included: exit 0 and nothing printed. */
static void check_promtool(const char *text, const char *what)
{
	char path[300], cmd[400], out[4096];
	FILE *f;
	int st;

	if (!have_promtool()) {
		CHECK(0,
		      "promtool check metrics (%s): promtool not installed (apt-get install "
		      "prometheus, or scripts/install-deps.sh)",
		      what);
		return;
	}
	snprintf(path, sizeof(path), "%s/promtool-input.txt", tmpdir);
	f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f)) {
		CHECK(0, "promtool check metrics (%s): cannot write %s", what, path);
		return;
	}
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	st = run_cmd(cmd, out, sizeof(out));
	CHECK(st == 0 && out[0] == '\0', "promtool check metrics (%s): exit %d%s%s", what, st,
	      out[0] ? ", says: " : "", out);
	unlink(path);
}

/* ---- the page ---- */

static void test_empty(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *text, bad[256];
	int i;

	empty_snapshot(fx);
	text = render(&fx->snap, 10);
	CHECK(text != NULL, "empty snapshot renders");
	if (!text)
		goto out;
	for (i = 0; i < NFAMILIES; i++) {
		char help[160], type[160];

		snprintf(help, sizeof(help), "# HELP %s ", families[i]);
		snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
		if (count_prefix(text, help) != 1 || count_prefix(text, type) != 1)
			break;
	}
	CHECK(i == NFAMILIES, "empty snapshot: one HELP and one TYPE line per family (%s)",
	      i < NFAMILIES ? families[i] : "all there");
	CHECK(count_prefix(text, "# HELP ") == NFAMILIES, "empty snapshot: %d families", NFAMILIES);
	CHECK(count_prefix(text, "agentleak_stack_") == 0, "empty snapshot: no stack sample");
	CHECK(count_prefix(text, "agentleak_process_") == 0, "empty snapshot: no process sample");
	CHECK(has_line(text, "agentleak_up 1") && has_line(text, "agentleak_leaks 0") &&
	          has_line(text, "agentleak_events_total{kind=\"alloc\"} 0") &&
	          has_line(text, "agentleak_lost_total{reason=\"events_lost\"} 0") &&
	          has_line(text, "agentleak_sample_duration_seconds 0"),
	      "empty snapshot: the tool's own series are there");
	CHECK(check_contiguous(text, bad, sizeof(bad)) == NULL, "empty snapshot: families "
	                                                        "contiguous");
	check_promtool(text, "empty snapshot");
	free(text);
out:
	free(fx);
}

static void test_full(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx)), *ex = calloc(1, sizeof(*ex));
	char *text, *etext, *c1, *c2, bad[512];

	full_snapshot(fx, 8);
	empty_snapshot(ex);
	text = render(&fx->snap, 10);
	etext = render(&ex->snap, 10);
	CHECK(text && etext, "full snapshot renders");
	if (!text || !etext)
		goto out;
	c1 = comments(text);
	c2 = comments(etext);
	CHECK(!strcmp(c1, c2), "HELP/TYPE lines identical for an empty and a full snapshot");
	free(c1);
	free(c2);
	CHECK(check_contiguous(text, bad, sizeof(bad)) == NULL,
	      "full snapshot: every family's samples follow its TYPE line (%s)",
	      check_contiguous(text, bad, sizeof(bad)) ? bad : "yes");
	CHECK(!strstr(text, "1700000000"), "no timestamps");

	CHECK(has_line(text, "agentleak_stack_live_bytes{pid=\"4242\",stack=\"000000a00000\","
	                     "kind=\"malloc\",top_frame=\"remember_message+0x14 "
	                     "(demo/leaky_service.c:35)\"} 32768"),
	      "stack 0: exact live bytes line");
	CHECK(has_line(text, "agentleak_stack_live_objects{pid=\"4242\",stack=\"000000a00001\","
	                     "kind=\"calloc\",top_frame=\"say\\\"hi\\\"+0x1 "
	                     "(C:\\\\dir\\\\x.c:3)\"} 7"),
	      "quotes and backslashes escaped as \\\" and \\\\");
	CHECK(has_line(text, "agentleak_stack_allocations_total{pid=\"77\",stack=\"000000a00002\","
	                     "kind=\"malloc\",top_frame=\"line\\nbreak+0x2 (a\\\\nb.c:4)\"} 16"),
	      "a newline escaped as \\n, a backslash-n as \\\\n");
	CHECK(has_line(text,
	               "agentleak_stack_allocated_bytes_total{pid=\"4242\",stack=\"000000a00003\","
	               "kind=\"calloc\",top_frame=\"std::vector<std::pair<int, char const*> "
	               ">::_M_realloc_insert<std::pair<int, char const*> "
	               ">(__gnu_cxx::__normal_iterator<std::pair<int, char const*>*, "
	               "std::vector<std::pair<int, char const*> > >, st...\"} 61440"),
	      "a C++ template frame cut to %d bytes, ending in ...", PROM_TOP_FRAME_MAX);
	CHECK(has_line(text, "agentleak_stack_frees_total{pid=\"4242\",stack=\"000000a00004\","
	                     "kind=\"malloc\",top_frame=\"cache_put+0x9 (/srv/my app/{weird} "
	                     "#1/cache.c:12)\"} 10"),
	      "braces, spaces and # in a path kept as they are");
	CHECK(has_line(text, "agentleak_stack_live_bytes{pid=\"77\",stack=\"000000a00005\","
	                     "kind=\"calloc\",top_frame=\"0x7f00deadbeef (/tmp/\xef\xbf\xbd\xef\xbf"
	                     "\xbd bad utf8 \xef\xbf\xbd(.so)\"} 12288"),
	      "invalid UTF-8 bytes become U+FFFD");
	CHECK(has_line(text, "agentleak_stack_live_bytes{pid=\"4242\",stack=\"000000a00006\","
	                     "kind=\"malloc\",top_frame=\"\"} 8192"),
	      "an empty frame text gives top_frame=\"\"");
	CHECK(has_line(text, "agentleak_stack_live_bytes{pid=\"4242\",stack=\"000000a00007\","
	                     "kind=\"calloc\",top_frame=\"caf\xc3\xa9_\xe2\x82\xac+0x3 "
	                     "(/opt/\xf0\x9f\x90\x9b/bug.c:1)\"} 4096"),
	      "valid multi-byte UTF-8 kept");

	CHECK(has_line(text, "agentleak_stack_slope_bytes_per_request{pid=\"4242\",stack="
	                     "\"000000a00000\",kind=\"malloc\",top_frame=\"remember_message+0x14 "
	                     "(demo/leaky_service.c:35)\"} 4096"),
	      "slope per request of a leak");
	CHECK(has_line(text, "agentleak_stack_slope_bytes_per_request{pid=\"4242\",stack="
	                     "\"000000a00003\",kind=\"calloc\",top_frame=\"std::vector<std::pair<"
	                     "int, char const*> >::_M_realloc_insert<std::pair<int, char const*> "
	                     ">(__gnu_cxx::__normal_iterator<std::pair<int, char const*>*, "
	                     "std::vector<std::pair<int, char const*> > >, st...\"} 1024"),
	      "slope of a growing stack");
	CHECK(count_prefix(text, "agentleak_stack_slope_bytes_per_request{") == 6,
	      "a slope for each of the 6 stacks with a verdict (got %d)",
	      count_prefix(text, "agentleak_stack_slope_bytes_per_request{"));
	CHECK(count_prefix(text, "agentleak_stack_slope_bytes_per_second{") == 0,
	      "no slope per second with a request source");
	CHECK(count_prefix(text, "agentleak_stack_verdict{") == 6,
	      "one verdict series per stack with a verdict");
	CHECK(has_line(text, "agentleak_stack_verdict{pid=\"4242\",stack=\"000000a00000\","
	                     "kind=\"malloc\",top_frame=\"remember_message+0x14 "
	                     "(demo/leaky_service.c:35)\",verdict=\"leak\"} 1"),
	      "verdict leak series");
	CHECK(strstr(text, "verdict=\"plateau\"} 1\n") &&
	          strstr(text, "verdict=\"growing\"} 1\n") &&
	          strstr(text, "verdict=\"stable\"} 1\n") &&
	          strstr(text, "verdict=\"transient\"} 1\n"),
	      "plateau, growing, stable and transient series");

	CHECK(has_line(text, "agentleak_process_rss_bytes{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 50331648"),
	      "process rss, comm escaped");
	CHECK(has_line(text, "agentleak_process_live_bytes{pid=\"77\",comm=\"other\\n\"} 4096"),
	      "process live bytes, newline in comm escaped");
	CHECK(count_prefix(text, "agentleak_process_rss_bytes{") == 1 &&
	          count_prefix(text, "agentleak_process_anon_bytes{") == 1 &&
	          count_prefix(text, "agentleak_process_heap_retained_bytes{") == 1,
	      "rss, anon, retained only for the process whose memory was read");
	CHECK(has_line(text, "agentleak_process_anon_bytes{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 41943040") &&
	          has_line(text, "agentleak_process_heap_retained_bytes{pid=\"4242\",comm=\"leaky "
	                         "\\\"svc\\\"\\\\\"} 1048576"),
	      "anon and retained bytes");
	CHECK(has_line(text, "agentleak_process_requests_total{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 1900") &&
	          count_prefix(text, "agentleak_process_requests_total{") == 2,
	      "requests per process with a request source");
	CHECK(has_line(text, "agentleak_process_oom_eta_seconds{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 3600.5") &&
	          count_prefix(text, "agentleak_process_oom_eta_seconds{") == 1,
	      "OOM ETA only when known");
	CHECK(has_line(text, "agentleak_process_cgroup_limit_bytes{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 536870912") &&
	          count_prefix(text, "agentleak_process_cgroup_limit_bytes{") == 1,
	      "cgroup limit only when limited");

	CHECK(has_line(text, "agentleak_events_total{kind=\"alloc\"} 1000") &&
	          has_line(text, "agentleak_events_total{kind=\"free\"} 1001"),
	      "events by kind");
	CHECK(has_line(text, "agentleak_lost_total{reason=\"alloc_map_full\"} 1003") &&
	          has_line(text, "agentleak_lost_total{reason=\"stats_map_full\"} 1004") &&
	          has_line(text, "agentleak_lost_total{reason=\"stack_map_full\"} 1005") &&
	          has_line(text, "agentleak_lost_total{reason=\"stack_collision\"} 1006") &&
	          has_line(text, "agentleak_lost_total{reason=\"unknown_free\"} 1007") &&
	          has_line(text, "agentleak_lost_total{reason=\"inflight_full\"} 1008") &&
	          has_line(text, "agentleak_lost_total{reason=\"events_lost\"} 1009") &&
	          count_prefix(text, "agentleak_lost_total{") == 7,
	      "the 7 loss counters, each from its enum al_counter");
	CHECK(has_line(text, "agentleak_sample_duration_seconds 0.0125") &&
	          has_line(text, "agentleak_leaks 2") && has_line(text, "agentleak_up 1"),
	      "sample duration, leaks, up");
	CHECK(ends_with(text, "\nagentleak_up 1\n"),
	      "the page ends with agentleak_up 1 and a newline");
	check_promtool(text, "full snapshot");
out:
	free(text);
	free(etext);
	free(fx);
	free(ex);
}

static void test_time_mode(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *text;

	full_snapshot(fx, 8);
	fx->snap.time_mode = true;
	fx->snap.request_source = "time";
	text = render(&fx->snap, 10);
	CHECK(text && count_prefix(text, "agentleak_stack_slope_bytes_per_second{") == 6 &&
	          count_prefix(text, "agentleak_stack_slope_bytes_per_request{") == 0,
	      "time mode: slopes per second, none per request");
	CHECK(text && count_prefix(text, "agentleak_process_requests_total{") == 0,
	      "time mode: no requests_total (the x axis is seconds)");
	CHECK(text && strstr(text, "# TYPE agentleak_stack_slope_bytes_per_request gauge\n") &&
	          strstr(text, "# TYPE agentleak_process_requests_total counter\n"),
	      "time mode: HELP/TYPE of the request families still there");
	if (text)
		check_promtool(text, "time mode");
	free(text);
	free(fx);
}

/* The tier gauge follows --mode and an open --mode auto window. */
static void test_tiers(void)
{
	static const struct {
		const char *mode;
		bool growth, open;
		int windows;
		const char *active;
	} cases[] = {
	    {NULL, false, false, 0, "agentleak_precise_tier_active 1"},
	    {"growth", true, false, 0, "agentleak_precise_tier_active 0"},
	    {"auto", true, false, 0, "agentleak_precise_tier_active 0"},
	    {"auto", true, true, 3, "agentleak_precise_tier_active 1"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture *fx = calloc(1, sizeof(*fx));
		char windows[64], *text;

		empty_snapshot(fx);
		fx->snap.mode = cases[i].mode;
		fx->snap.growth = cases[i].growth;
		fx->snap.diagnosis_open = cases[i].open;
		fx->snap.diagnosis = cases[i].windows;
		text = render(&fx->snap, 10);
		snprintf(windows, sizeof(windows), "agentleak_diagnosis_windows_total %d",
		         cases[i].windows);
		CHECK(text && has_line(text, cases[i].active) && has_line(text, windows),
		      "mode %s%s: '%s' and '%s'", cases[i].mode ? cases[i].mode : "(none)",
		      cases[i].open ? " with a window open" : "", cases[i].active, windows);
		free(text);
		free(fx);
	}
}

static int exported(const char *text, const char *id)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "agentleak_stack_live_bytes{pid=\"4242\",stack=\"%s\"",
	         id);
	return count_prefix(text, needle);
}

static void test_selection(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *text;
	int i;

	empty_snapshot(fx);
	fx->snap.time_mode = false;
	for (i = 0; i < 10; i++)
		set_stack(fx, i, 4242, "malloc", "f+0x1 (f.c:1)", (10 - i) * 4096ULL,
		          i >= 5 ? V_LEAK : V_STABLE, 1);
	fx->snap.nstacks = 10;
	text = render(&fx->snap, 2);
	CHECK(text && count_prefix(text, "agentleak_stack_live_bytes{") == 4 &&
	          exported(text, "000000a00000") && exported(text, "000000a00001") &&
	          exported(text, "000000a00005") && exported(text, "000000a00006"),
	      "top 2 by live bytes, then at most 2 leaks outside them");
	free(text);

	text = render(&fx->snap, 0);
	CHECK(text && count_prefix(text, "agentleak_stack_") == 0, "top 0: no stack series");
	free(text);

	text = render(&fx->snap, 1000);
	CHECK(text && count_prefix(text, "agentleak_stack_live_bytes{") == 10,
	      "top above the stack count: every stack once");
	free(text);

	/* A stack id seen twice for one pid would be a duplicate series. */
	snprintf(fx->stacks[1].id, sizeof(fx->stacks[1].id), "%s", fx->stacks[0].id);
	text = render(&fx->snap, 3);
	CHECK(text && count_prefix(text, "agentleak_stack_live_bytes{") == 6 &&
	          exported(text, "000000a00000") == 1 && exported(text, "000000a00003"),
	      "a duplicate (pid, stack id) is exported once, the next stack takes its place");
	if (text)
		check_promtool(text, "selection");
	free(text);

	/* Frames missing, kind missing: still a valid page. */
	fx->stacks[0].nframes = 0;
	fx->stacks[0].frames = NULL;
	fx->stacks[0].kind = NULL;
	text = render(&fx->snap, 1);
	CHECK(text &&
	          has_line(text, "agentleak_stack_live_bytes{pid=\"4242\",stack=\"000000a00000\","
	                         "kind=\"\",top_frame=\"\"} 40960"),
	      "no frames and no kind: empty labels");
	free(text);
	free(fx);
}

static void test_numbers(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const double values[] = {0.1,     -2.5,      1e-300,    123456789012.0,
	                         1.0 / 3, 0.0 / 0.0, 1.0 / 0.0, -1.0 / 0.0};
	const char *const want[] = {"0.1", "-2.5", "1e-300", "123456789012", "0.3333333333333333",
	                            "NaN", "+Inf", "-Inf"};
	char line[512], *text;
	int ok = 0, n = sizeof(values) / sizeof(values[0]);

	empty_snapshot(fx);
	fx->snap.time_mode = false;
	for (int i = 0; i < n; i++)
		set_stack(fx, i, 1, "malloc", "f", 4096ULL * (n - i), V_GROWING, values[i]);
	fx->snap.nstacks = n;
	text = render(&fx->snap, n);
	for (int i = 0; text && i < n; i++) {
		snprintf(line, sizeof(line),
		         "agentleak_stack_slope_bytes_per_request{pid=\"1\",stack=\"%s\","
		         "kind=\"malloc\",top_frame=\"f\"} %s",
		         fx->stacks[i].id, want[i]);
		if (has_line(text, line))
			ok++;
		else
			printf("# missing: %s\n", line);
	}
	/* 1/3 needs 16 digits to read back: the shortest exact form of 15..17 is printed. */
	CHECK(ok == n, "numbers: %d of %d as expected (0.1, -2.5, 1e-300, 1/3, NaN, +Inf, ...)", ok,
	      n);
	fx->snap.counters[AL_C_ALLOC_CALLS] = 18446744073709551615ULL;
	free(text);
	text = render(&fx->snap, n);
	CHECK(text && has_line(text, "agentleak_events_total{kind=\"alloc\"} 18446744073709551615"),
	      "64-bit counters printed exactly");
	if (text)
		check_promtool(text, "odd numbers");
	free(text);
	free(fx);
}

/* The top_frame cut never splits a UTF-8 character; 200 bytes exactly are kept. */
static void test_truncation(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char text[400], want[600], *page;

	empty_snapshot(fx);
	memset(text, 'a', 196);
	snprintf(text + 196, sizeof(text) - 196, "\xe2\x82\xac%s", "bbbbbbbbbb");
	set_stack(fx, 0, 1, "malloc", text, 8192, V_NONE, 0);
	memset(text, 'c', 200);
	text[200] = '\0';
	set_stack(fx, 1, 1, "malloc", text, 4096, V_NONE, 0);
	fx->snap.nstacks = 2;
	page = render(&fx->snap, 2);
	snprintf(want, sizeof(want), "top_frame=\"%.196s...\"} 8192\n", fx->frames[0].text);
	CHECK(page && strstr(page, want), "a cut before a 3-byte character: 196 bytes and ...");
	snprintf(want, sizeof(want), "top_frame=\"%s\"} 4096\n", text);
	CHECK(page && strstr(page, want), "a frame of exactly %d bytes is kept whole",
	      PROM_TOP_FRAME_MAX);
	free(page);
	free(fx);
}

static void test_stream_error(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	FILE *f = fopen("/dev/full", "w");

	full_snapshot(fx, 50);
	CHECK(f && prom_write(f, &fx->snap, 50) == -ENOSPC, "prom_write to /dev/full: -ENOSPC");
	if (f)
		fclose(f);
	free(fx);
}

/* ---- the textfile ---- */

/* Entries of dir other than . and .., names joined by spaces. */
static int list_dir(const char *dir, char *names, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	names[0] = '\0';
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		snprintf(names + strlen(names), len - strlen(names), "%s ", e->d_name);
	}
	closedir(d);
	return n;
}

static char *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

static void make_dir(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", tmpdir, name);
	mkdir(path, 0755);
}

static void test_textfile_basic(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char dir[300], path[400], err[ERRLEN], names[1024], *want, *got;
	struct stat st;
	size_t len;
	mode_t old;
	int r;

	full_snapshot(fx, 8);
	make_dir(dir, sizeof(dir), "basic");
	snprintf(path, sizeof(path), "%s/agentleak.prom", dir);
	CHECK(outfile_check(path, err, sizeof(err)) == 0, "check_path on a fresh path: ok (%s)",
	      err);
	CHECK(list_dir(dir, names, sizeof(names)) == 0, "check_path leaves nothing behind (%s)",
	      names);
	old = umask(077);
	err[0] = '\0';
	r = prom_write_textfile(path, &fx->snap, 10, err, sizeof(err));
	umask(old);
	CHECK(r == 0, "textfile written (%s)", err);
	want = render(&fx->snap, 10);
	got = read_all(path, &len);
	CHECK(want && got && !strcmp(want, got), "textfile holds exactly the page");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	      "textfile mode 0644 even under umask 077 (got %o)", st.st_mode & 07777);
	CHECK(list_dir(dir, names, sizeof(names)) == 1, "only the textfile in its directory (%s)",
	      names);
	free(got);
	fx->snap.nstacks = 2;
	r = prom_write_textfile(path, &fx->snap, 10, err, sizeof(err));
	free(want);
	want = render(&fx->snap, 10);
	got = read_all(path, &len);
	CHECK(r == 0 && want && got && !strcmp(want, got), "textfile replaced by a shorter page");
	free(got);
	free(want);

	/* A bare name: written in the current directory. */
	if (chdir(dir) == 0) {
		r = prom_write_textfile("bare.prom", &fx->snap, 10, err, sizeof(err));
		CHECK(r == 0 && access("bare.prom", F_OK) == 0, "a path without a directory (%s)",
		      r ? err : "ok");
		prom_remove_textfile("bare.prom");
		CHECK(chdir("/") == 0, "chdir back");
	}
	prom_remove_textfile(path);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT, "prom_remove_textfile removes it");
	prom_remove_textfile(path);
	CHECK(1, "prom_remove_textfile on a missing file is harmless");
	rmdir(dir);
	free(fx);
}

/* The reader: reads path in a tight loop for at least 2 s and until the writer says
 * it is done (its end of the pipe closes). Every read must be page a or page b,
 * whole. Exit status 0 if so and both were seen; prints what went wrong. */
static int reader(const char *path, int done_fd, const char *a, const char *b)
{
	struct timespec t0, t;
	long reads = 0, seen_a = 0, seen_b = 0, bad = 0, missing = 0;
	bool writer_done = false;
	double elapsed = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed < 2.0 || !writer_done) {
		struct pollfd pfd = {.fd = done_fd, .events = POLLIN};
		size_t len;
		char *got = read_all(path, &len);

		if (!got) {
			missing++;
		} else if (!strcmp(got, a)) {
			seen_a++;
		} else if (!strcmp(got, b)) {
			seen_b++;
		} else {
			if (bad++ < 3)
				printf(
				    "# reader: partial or foreign page of %zu bytes, ends %.40s\n",
				    len, len > 40 ? got + len - 40 : got);
		}
		free(got);
		reads++;
		if (!writer_done && poll(&pfd, 1, 0) == 1)
			writer_done = true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
		if (elapsed > 60)
			break;
	}
	printf("# reader: %ld reads in %.1f s: %ld page A, %ld page B, %ld bad, %ld missing\n",
	       reads, elapsed, seen_a, seen_b, bad, missing);
	return bad || missing || !seen_a || !seen_b || !writer_done ? 1 : 0;
}

/* Every page a reader can see is complete: it has every HELP line and ends with the
 * last line. */
static bool complete_page(const char *text)
{
	char help[160];

	for (int i = 0; i < NFAMILIES; i++) {
		snprintf(help, sizeof(help), "# HELP %s ", families[i]);
		if (!strstr(text, help))
			return false;
	}
	return ends_with(text, "\nagentleak_up 1\n");
}

static void test_textfile_atomic(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char dir[300], path[400], err[ERRLEN] = "", names[1024];
	char *a, *b;
	int pfd[2], st, writes = 0, errors = 0;
	struct timespec t0, t1;
	pid_t pid;

	make_dir(dir, sizeof(dir), "atomic");
	snprintf(path, sizeof(path), "%s/agentleak.prom", dir);
	full_snapshot(fx, BIG);
	b = render(&fx->snap, BIG);
	full_snapshot(fx, 3);
	a = render(&fx->snap, 3);
	CHECK(a && b && complete_page(a) && complete_page(b) && strlen(b) > 100000,
	      "two complete pages: %zu and %zu bytes", a ? strlen(a) : 0, b ? strlen(b) : 0);
	if (!a || !b || prom_write_textfile(path, &fx->snap, 3, err, sizeof(err)) || pipe(pfd))
		goto out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(reader(path, pfd[0], a, b));
	}
	close(pfd[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (writes = 0; writes < 2000; writes++) {
		bool big = writes % 2;

		full_snapshot(fx, big ? BIG : 3);
		if (prom_write_textfile(path, &fx->snap, big ? BIG : 3, err, sizeof(err)))
			errors++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(pfd[1]);
	waitpid(pid, &st, 0);
	CHECK(errors == 0, "2000 rewrites in %.1f s, no error (%s)",
	      (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, errors ? err : "none");
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the reader only ever saw one of the two whole pages, both of them");
	CHECK(list_dir(dir, names, sizeof(names)) == 1,
	      "no temporary file left after 2000 rewrites (%s)", names);
out:
	unlink(path);
	rmdir(dir);
	free(a);
	free(b);
	free(fx);
}

/* prom_check_path and prom_write_textfile on path both fail with a message holding
 * want; nothing is created next to path. */
static void expect_refused(const char *path, const char *want, const char *what)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err1[ERRLEN] = "", err2[ERRLEN] = "";
	int r1, r2;

	full_snapshot(fx, 2);
	r1 = outfile_check(path, err1, sizeof(err1));
	r2 = prom_write_textfile(path, &fx->snap, 2, err2, sizeof(err2));
	CHECK(r1 < 0 && strstr(err1, want) && !strchr(err1, '\n'), "%s: check_path refuses: %s",
	      what, err1);
	CHECK(r2 == -1 && strstr(err2, want) && !strchr(err2, '\n'),
	      "%s: write_textfile refuses: %s", what, err2);
	free(fx);
}

static void test_textfile_refused(void)
{
	char dir[300], path[600], target[400], names[1024], *got;
	size_t len;
	struct stat st;
	FILE *f;

	make_dir(dir, sizeof(dir), "refused");

	/* A symlink at path: neither followed nor replaced. */
	snprintf(target, sizeof(target), "%s/real.txt", dir);
	f = fopen(target, "w");
	if (f) {
		fputs("precious\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/link.prom", dir);
	CHECK(symlink(target, path) == 0, "made a symlink");
	expect_refused(path, "symbolic link", "symlink");
	got = read_all(target, &len);
	CHECK(got && !strcmp(got, "precious\n") && lstat(path, &st) == 0 && S_ISLNK(st.st_mode),
	      "symlink and its target untouched");
	free(got);
	prom_remove_textfile(path);
	CHECK(lstat(path, &st) == 0, "prom_remove_textfile leaves a symlink alone");
	unlink(path);
	snprintf(path, sizeof(path), "%s/dangling.prom", dir);
	CHECK(symlink("/nonexistent/x", path) == 0, "made a dangling symlink");
	expect_refused(path, "symbolic link", "dangling symlink");
	unlink(path);

	/* A directory at path. */
	snprintf(path, sizeof(path), "%s/adir.prom", dir);
	mkdir(path, 0755);
	expect_refused(path, "is a directory", "directory");
	rmdir(path);
	snprintf(path, sizeof(path), "%s/", dir);
	expect_refused(path, "is a directory", "trailing slash");

	/* A FIFO: a reader of it would block forever. */
	snprintf(path, sizeof(path), "%s/fifo.prom", dir);
	CHECK(mkfifo(path, 0644) == 0, "made a FIFO");
	expect_refused(path, "not a regular file", "FIFO");
	unlink(path);

	/* Missing directory, a regular file as the directory. */
	snprintf(path, sizeof(path), "%s/no/such/dir/agentleak.prom", dir);
	expect_refused(path, "does not exist", "missing directory");
	snprintf(path, sizeof(path), "%s/agentleak.prom", target);
	expect_refused(path, "is not a directory", "directory path through a regular file");
	expect_refused("", "empty path", "empty path");

	/* /proc: the kernel refuses new files there even to root. */
	expect_refused("/proc/agentleak.prom", "cannot create a file in /proc",
	               "read-only location /proc");

	unlink(target);
	CHECK(list_dir(dir, names, sizeof(names)) == 0, "nothing left behind (%s)", names);
	rmdir(dir);
}

/* As root, mode bits do not stop us: a child drops to nobody (uid/gid 65534) and
 * must be refused a root-owned 0555 directory. */
static void test_textfile_unwritable(void)
{
	char dir[300], path[400], err[ERRLEN] = "";
	int pfd[2], st;
	pid_t pid;

	if (geteuid() != 0) {
		make_dir(dir, sizeof(dir), "ro");
		chmod(dir, 0555);
		snprintf(path, sizeof(path), "%s/agentleak.prom", dir);
		expect_refused(path, "Permission denied", "0555 directory (not root)");
		rmdir(dir);
		return;
	}
	make_dir(dir, sizeof(dir), "ro");
	chmod(dir, 0555);
	chmod(tmpdir, 0755);
	snprintf(path, sizeof(path), "%s/agentleak.prom", dir);
	if (pipe(pfd))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct fixture *fx = calloc(1, sizeof(*fx));
		int r1, r2;

		close(pfd[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		full_snapshot(fx, 2);
		r1 = outfile_check(path, err, sizeof(err));
		if (write(pfd[1], err, strlen(err) + 1) < 0)
			_exit(3);
		err[0] = '\0';
		r2 = prom_write_textfile(path, &fx->snap, 2, err, sizeof(err));
		if (write(pfd[1], err, strlen(err) + 1) < 0)
			_exit(3);
		_exit(r1 < 0 && r2 == -1 ? 0 : 1);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0); /* first: the pipe holds its messages */
	memset(err, 0, sizeof(err));
	if (read(pfd[0], err, sizeof(err) - 1) < 0)
		err[0] = '\0';
	close(pfd[0]);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(err, "Permission denied") &&
	          strstr(err, "cannot create a file in"),
	      "0555 directory, as uid 65534: refused (child status %d): %s", st, err);
	CHECK(access(path, F_OK) != 0, "nothing written there");
	chmod(dir, 0755);
	rmdir(dir);
}

/* A write that fails half way (file size limit): the old page stays, the temporary
 * file is removed, the error says why. */
static void test_textfile_write_error(void)
{
	char dir[300], path[400], names[1024], err[ERRLEN] = "";
	int pfd[2], st;
	pid_t pid;

	make_dir(dir, sizeof(dir), "efbig");
	snprintf(path, sizeof(path), "%s/agentleak.prom", dir);
	if (pipe(pfd))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct fixture *fx = calloc(1, sizeof(*fx));
		struct rlimit rl = {.rlim_cur = 65536, .rlim_max = RLIM_INFINITY};
		size_t len;
		char *before, *after;
		int r;

		close(pfd[0]);
		full_snapshot(fx, 2);
		if (prom_write_textfile(path, &fx->snap, 2, err, sizeof(err)))
			_exit(2);
		before = read_all(path, &len);
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		full_snapshot(fx, MAX_STACKS);
		r = prom_write_textfile(path, &fx->snap, MAX_STACKS, err, sizeof(err));
		after = read_all(path, &len);
		if (write(pfd[1], err, strlen(err) + 1) < 0)
			_exit(3);
		_exit(r == -1 && before && after && !strcmp(before, after) ? 0 : 1);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0); /* first: the pipe holds its messages */
	memset(err, 0, sizeof(err));
	if (read(pfd[0], err, sizeof(err) - 1) < 0)
		err[0] = '\0';
	close(pfd[0]);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(err, "File too large"),
	      "a write failing half way: refused, old page kept: %s", err);
	CHECK(list_dir(dir, names, sizeof(names)) == 1, "its temporary file removed (%s)", names);
	unlink(path);
	rmdir(dir);
}

/* A thread stack: its own families in threads, none of the heap's byte families. */
static void test_threads(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct snap_stack *t;
	char *text;

	full_snapshot(fx, 3);
	t = &fx->stacks[3];
	set_stack(fx, 3, 4242, "thread", "start (threading.py:957)", 335544320, V_LEAK, 1.0);
	t->key.kind = AL_THREAD;
	t->st.live_objects = 40;
	t->st.allocs = 41;
	t->st.frees = 1;
	fx->snap.nstacks = 4;
	fx->procs[0].live_threads = 40;
	fx->procs[0].thread_stacks = 1;
	fx->procs[0].threads_started = 41;
	fx->snap.nthread_leaks = 1;
	fx->snap.thread_slope = 1.0;
	text = render(&fx->snap, 10);
	if (!text) {
		CHECK(0, "threads: page renders");
		free(fx);
		return;
	}
	CHECK(has_line(text, "agentleak_stack_live_threads{pid=\"4242\",stack=\"000000a00003\","
	                     "kind=\"thread\",top_frame=\"start (threading.py:957)\"} 40") &&
	          has_line(text, "agentleak_stack_thread_stack_reserved_bytes{pid=\"4242\",stack="
	                         "\"000000a00003\",kind=\"thread\",top_frame=\"start "
	                         "(threading.py:957)\"} 335544320") &&
	          has_line(text, "agentleak_stack_threads_started_total{pid=\"4242\",stack="
	                         "\"000000a00003\",kind=\"thread\",top_frame=\"start "
	                         "(threading.py:957)\"} 41") &&
	          has_line(text, "agentleak_stack_threads_ended_total{pid=\"4242\",stack="
	                         "\"000000a00003\",kind=\"thread\",top_frame=\"start "
	                         "(threading.py:957)\"} 1"),
	      "threads: live, reserved, started and ended threads of the thread stack");
	CHECK(has_line(text, "agentleak_stack_slope_threads_per_request{pid=\"4242\",stack="
	                     "\"000000a00003\",kind=\"thread\",top_frame=\"start "
	                     "(threading.py:957)\"} 1") &&
	          count_prefix(text, "agentleak_stack_slope_threads_per_request{") == 1 &&
	          has_line(text, "agentleak_stack_verdict{pid=\"4242\",stack=\"000000a00003\","
	                         "kind=\"thread\",top_frame=\"start (threading.py:957)\","
	                         "verdict=\"leak\"} 1"),
	      "threads: its slope in threads per request, its verdict with the heap's");
	CHECK(count_prefix(text, "agentleak_stack_live_bytes{") == 3 &&
	          count_prefix(text, "agentleak_stack_live_objects{") == 3 &&
	          count_prefix(text, "agentleak_stack_allocated_bytes_total{") == 3 &&
	          count_prefix(text, "agentleak_stack_slope_bytes_per_request{") == 2 &&
	          !strstr(text, "agentleak_stack_live_bytes{pid=\"4242\",stack=\"000000a00003\""),
	      "threads: no heap family has the thread stack");
	CHECK(count_prefix(text, "agentleak_stack_live_threads{") == 1 &&
	          count_prefix(text, "agentleak_stack_thread_stack_reserved_bytes{") == 1,
	      "threads: no thread family has a heap stack");
	CHECK(has_line(text, "agentleak_process_live_threads{pid=\"4242\",comm=\"leaky "
	                     "\\\"svc\\\"\\\\\"} 40") &&
	          count_prefix(text, "agentleak_process_live_threads{") == 1 &&
	          has_line(text, "agentleak_process_live_bytes{pid=\"4242\",comm=\"leaky "
	                         "\\\"svc\\\"\\\\\"} 3891200"),
	      "threads: the process's live threads apart from its live bytes");
	CHECK(has_line(text, "agentleak_leaks 2") && has_line(text, "agentleak_thread_leaks 1"),
	      "threads: thread leaks counted apart");
	check_promtool(text, "thread stack");
	free(text);
	free(fx);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_prom.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_empty();
	test_full();
	test_time_mode();
	test_threads();
	test_tiers();
	test_selection();
	test_numbers();
	test_truncation();
	test_stream_error();
	test_textfile_basic();
	test_textfile_atomic();
	test_textfile_refused();
	test_textfile_unwritable();
	test_textfile_write_error();
	rmdir(tmpdir);
	return check_done();
}
