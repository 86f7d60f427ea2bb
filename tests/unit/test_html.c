// SPDX-License-Identifier: GPL-2.0
/* test_html.c - unit tests of cli/export/html.c, the self-contained HTML report.
 *
 * Hand-built snapshots (a leak with 30 samples, a plateau, a transient, hostile
 * names, an empty snapshot, odd numbers, thousands of stacks) are written with
 * html_write() and the page is checked: tags nest, every string is escaped,
 * nothing is fetched from the network, the plot's Theil-Sen line goes through the
 * samples, the flame graph merges frames; a thread stack is told in threads (its slope,
 * plot, live count, its own banner, outside the flame graph and the process's live heap);
 * the file is replaced atomically and bad paths fail with a message.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -g -O2 -Wall -Iinclude -Icli -o build/test_html \
 *       tests/unit/test_html.c cli/export/html.c cli/analyse/trend.c
 *   build/test_html               run the checks
 *   build/test_html --page FILE   only write the sample page (for tests/integration/test_html.py)
 * Output: one "ok - ..." or "not ok - ..." line per check, then "N passed, N failed";
 * exit status 0 only if every check passed.
 */
#define _GNU_SOURCE /* strcasestr */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export/outfile.h"
#include "export/html.h"

#include "check.h"

#define MIB     (1024.0 * 1024.0)
#define NSTACKS 8
#define NFRAMES 8
#define NPOINTS 64
#define HOSTILE "<script>alert(\"x\")</script>"
#define TEMPLATE                                                                                   \
	"std::vector<std::pair<int, std::string> >::push_back(std::pair<int, std::string>&&)"
#define AMPERSAND "O'Brien & \"Sons\""

static char dir[] = "/tmp/test_html.XXXXXX";

/* ---- building snapshots ---- */

struct fake {
	struct snapshot snap;
	struct snap_process procs[2];
	struct snap_stack stacks[NSTACKS];
	struct snap_frame frames[NSTACKS][NFRAMES];
	struct trend_point points[NSTACKS][NPOINTS];
};

static struct fake fk;

static void set_frame(struct snap_frame *fr, const char *func, const char *file, int line)
{
	memset(fr, 0, sizeof(*fr));
	fr->addr = 0x401000 + line;
	fr->off = 0x1a;
	snprintf(fr->func, sizeof(fr->func), "%s", func);
	snprintf(fr->file, sizeof(fr->file), "%s", file);
	fr->line = line;
	snprintf(fr->module, sizeof(fr->module), "/work/build/tests/server");
	snprintf(fr->text, sizeof(fr->text), "%s+0x1a (%s:%d)", func, file, line);
}

/* A stack of the fake snapshot: frames from #0 (NULL-terminated), live bytes. */
static struct snap_stack *add_stack(struct fake *k, int pid, const char *kind, enum verdict v,
                                    unsigned long long live, const char *const *funcs)
{
	int i = k->snap.nstacks++;
	struct snap_stack *s = &k->stacks[i];

	memset(s, 0, sizeof(*s));
	s->key.tgid = pid;
	s->key.kind = 1;
	snprintf(s->id, sizeof(s->id), "%012x", 0xabc000 + i);
	s->kind = kind;
	s->st.live_bytes = live;
	s->st.live_objects = live / 4096;
	s->st.allocs = live / 4096 + 10;
	s->st.alloc_bytes = live + 40960;
	s->st.frees = 10;
	s->st.free_bytes = 40960;
	s->has_verdict = v != V_NONE;
	s->verdict.verdict = v;
	s->growth_share = 0.5;
	s->frames = k->frames[i];
	for (s->nframes = 0; funcs[s->nframes] && s->nframes < NFRAMES; s->nframes++)
		set_frame(&s->frames[s->nframes], funcs[s->nframes], "server.c", 30 + s->nframes);
	s->points = k->points[i];
	return s;
}

/* y(x) sampled at x = 0, 100, ... (n samples, the first warmup ones not used). */
static void set_points(struct snap_stack *s, int n, int warmup, double (*y)(double))
{
	struct trend_result *t = &s->verdict;
	int i;

	s->npoints = n;
	for (i = 0; i < n; i++) {
		s->points[i].t = i * 0.2;
		s->points[i].x = i * 100.0;
		s->points[i].y = y(i * 100.0);
	}
	t->n = n - warmup;
	t->x_span = (n - 1 - warmup) * 100.0;
	t->growth = s->points[n - 1].y - s->points[warmup].y;
	t->baseline = s->points[0].y;
	t->peak = s->points[n - 1].y;
	for (i = 0; i < n; i++)
		if (s->points[i].y > t->peak)
			t->peak = s->points[i].y;
}

static double leak_y(double x)
{
	return 4096 * x;
}

static double plateau_y(double x)
{
	return (x < 1200 ? x : 1200) * 10240;
}

static double transient_y(double x)
{
	return 1048576 + (x < 1500 ? x : 3000 - x) * 600;
}

static double flat_y(double x)
{
	return 1568768 + (x > 1000) * 4096;
}

static void build_sample(struct fake *k)
{
	static const char *const leak[] = {"leak_fixed", "handle_request", "serve", "main", NULL};
	static const char *const cache[] = {"cache_put", "handle_request", "serve", "main", NULL};
	static const char *const burst[] = {"burst_alloc", "handle_request", "serve", "main", NULL};
	static const char *const hostile[] = {HOSTILE, TEMPLATE, AMPERSAND, "main", NULL};
	struct snapshot *snap = &k->snap;
	struct snap_process *p = &k->procs[0];
	struct snap_stack *s;

	memset(k, 0, sizeof(*k));
	snap->unix_time = 1735689600;
	snap->elapsed = 21.4;
	snap->final = true;
	snap->request_source = "uprobe:/work/build/tests/server:handle_request";
	snap->procs = k->procs;
	snap->nprocs = 1;
	snap->stacks = k->stacks;
	snap->sample_seconds = 0.0021;
	snap->counters[AL_C_ALLOC_CALLS] = 123456;
	snap->counters[AL_C_FREE_CALLS] = 120000;
	snap->counters[AL_C_UNKNOWN_FREES] = 3;

	p->pid = 4242;
	snprintf(p->comm, sizeof(p->comm), "server");
	snprintf(p->flavor, sizeof(p->flavor), "glibc");
	snprintf(p->allocator, sizeof(p->allocator), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	p->live_bytes = 13000000;
	p->live_objects = 3200;
	p->allocs = 123456;
	p->frees = 120000;
	p->nstacks = 4;
	p->requests = 2900;
	p->have_mem = true;
	p->rss = 220 * 1048576ULL;
	p->anon = 200 * 1048576ULL;
	p->cg_limit = 512 * 1048576ULL;
	p->cg_usage = 230 * 1048576ULL;
	p->oom_eta = 1234;
	p->rss_note = true;
	p->retained = 180 * 1048576ULL;

	/* the plateau holds more than the leak: the leak must still come first */
	s = add_stack(k, 4242, "malloc", V_PLATEAU, 1200 * 10240, cache);
	set_points(s, 30, 2, plateau_y);
	s->verdict.slope = 3.2;
	s->verdict.slope_lo = 0;
	s->verdict.slope_hi = 40;
	s->verdict.r2 = 0.41;
	s->verdict.mk_p = 0.03;
	s->growth_share = 0.52;

	s = add_stack(k, 4242, "malloc", V_LEAK, 4096 * 2900, leak);
	set_points(s, 30, 2, leak_y);
	s->verdict.slope = 4096;
	s->verdict.slope_lo = 4094.1;
	s->verdict.slope_hi = 4097.9;
	s->verdict.per_hour = 14745600;
	s->verdict.r2 = 0.9998;
	s->verdict.mk_p = 1e-12;
	s->growth_share = 0.83;

	s = add_stack(k, 4242, "calloc", V_TRANSIENT, 1048576, burst);
	set_points(s, 30, 2, transient_y);
	s->verdict.r2 = 0.02;
	s->verdict.mk_p = 0.6;
	s->growth_share = 0.01;

	s = add_stack(k, 4242, "realloc", V_STABLE, 1572864, hostile);
	set_points(s, 12, 2, flat_y);
	s->verdict.mk_p = 0.2;
	s->growth_share = -1;

	snap->nleaks = 1;
	snap->leak_slope = 4096;
}

/* ---- reading the page back ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static int has(const char *s, const char *what)
{
	return strstr(s, what) != NULL;
}

static int has_nocase(const char *s, const char *what)
{
	return strcasestr(s, what) != NULL;
}

static const char *const void_tags[] = {"meta", "br", "hr", "img", "input", "link", "wbr"};

static int is_void(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(void_tags) / sizeof(void_tags[0]); i++)
		if (!strcmp(name, void_tags[i]))
			return 1;
	return 0;
}

/* Do the tags nest? Every '<' in the page must start a tag (data is escaped), every
 * element but the void ones must be closed by the matching end tag. why gets the
 * first problem. */
static int tags_nest(const char *page, char *why, size_t len)
{
	char stack[256][16];
	int depth = 0;
	const char *p = page;

	while ((p = strchr(p, '<'))) {
		char name[16];
		const char *end;
		int close = p[1] == '/', i = 0;

		if (!strncmp(p, "<!DOCTYPE", 9)) {
			p += 9;
			continue;
		}
		end = strchr(p, '>');
		if (!end) {
			snprintf(why, len, "unterminated tag at offset %ld", (long)(p - page));
			return 0;
		}
		for (p += 1 + close; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		                     (*p >= '0' && *p <= '9');
		     p++)
			if (i < 15)
				name[i++] = *p;
		name[i] = 0;
		if (!i || (*p != ' ' && *p != '>' && *p != '/' && *p != '\n')) {
			snprintf(why, len, "not a tag: '%.30s'", p - i - 1 - close);
			return 0;
		}
		if (close) {
			if (!depth || strcmp(stack[depth - 1], name)) {
				snprintf(why, len, "</%s> closes <%s>", name,
				         depth ? stack[depth - 1] : "");
				return 0;
			}
			depth--;
		} else if (end[-1] != '/' && !is_void(name)) {
			if (depth == 256) {
				snprintf(why, len, "nesting deeper than 256");
				return 0;
			}
			snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		}
		p = end + 1;
		if (!close && !strcmp(name, "style")) { /* CSS is raw text */
			p = strstr(p, "</style>");
			if (!p) {
				snprintf(why, len, "<style> not closed");
				return 0;
			}
		}
	}
	if (depth) {
		snprintf(why, len, "<%s> not closed", stack[depth - 1]);
		return 0;
	}
	return 1;
}

/* Anything a browser would fetch: only in-page references ("#...") are allowed. */
static int fetches(const char *page, char *why, size_t len)
{
	static const char *const attrs[] = {"src=",    "href=",   "url(",
	                                    "action=", "srcset=", "poster="};
	static const char *const tags[] = {"<script", "<link", "<img",   "<iframe", "<object",
	                                   "<embed",  "<base", "<audio", "<video",  "@import"};
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (has_nocase(page, tags[i])) {
			snprintf(why, len, "%s", tags[i]);
			return 1;
		}
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		const char *p = page;

		while ((p = strcasestr(p, attrs[i]))) {
			p += strlen(attrs[i]);
			if (*p == '"' || *p == '\'')
				p++;
			if (*p != '#') {
				snprintf(why, len, "%s%.40s", attrs[i], p);
				return 1;
			}
		}
	}
	return 0;
}

/* nan or inf printed as a number */
static int bad_numbers(const char *page)
{
	const char *p;

	if (has(page, "nan"))
		return 1;
	for (p = page; (p = strstr(p, "inf")); p += 3)
		if (p[3] != 'l' && p[3] != 'o') /* inflight-full, information */
			return 1;
	return 0;
}

static char *page_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* Files in the test directory whose name starts with a dot: temp files left behind. */
static int temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Write snap to dir/name and read it back (NULL on failure). */
static char *render(const char *name, const struct snapshot *snap, int top)
{
	char err[256] = "";
	int ret = html_write(page_path(name), snap, top, err, sizeof(err));

	if (ret) {
		printf("# html_write %s: %d %s\n", name, ret, err);
		return NULL;
	}
	return slurp(page_path(name));
}

static void check_common(const char *what, const char *page)
{
	char why[128] = "";

	CHECK(page != NULL, "%s: written", what);
	if (!page)
		return;
	CHECK(!strncmp(page, "<!DOCTYPE html>", 15), "%s: starts with the doctype", what);
	CHECK(strlen(page) > 15 && !strcmp(page + strlen(page) - 8, "</html>\n"),
	      "%s: ends with </html>", what);
	CHECK(count(page, "<svg") == count(page, "</svg>"), "%s: every <svg> closed (%d, %d)", what,
	      count(page, "<svg"), count(page, "</svg>"));
	CHECK(tags_nest(page, why, sizeof(why)), "%s: tags nest (%s)", what, why);
	why[0] = 0;
	CHECK(!fetches(page, why, sizeof(why)), "%s: fetches nothing (%s)", what, why);
	CHECK(!has_nocase(page, "<script"), "%s: no <script> at all", what);
	CHECK(!bad_numbers(page), "%s: no nan or inf", what);
	CHECK(has(page, "<meta charset=\"utf-8\">"), "%s: declares UTF-8", what);
}

/* The first value of attr after from, or -1e300. */
static double attr_after(const char *from, const char *attr)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=\"", attr);
	p = from ? strstr(from, key) : NULL;
	return p ? strtod(p + strlen(key), NULL) : -1e300;
}

static double abs_d(double v)
{
	return v < 0 ? -v : v;
}

/* ---- the tests ---- */

static void test_sample_page(void)
{
	char *page = render("sample.html", &fk.snap, 10);
	const char *leak_card, *plateau_card, *fit, *pt, *flame;
	double fx1, fy1, fx2, fy2, cx, cy;

	check_common("sample page", page);
	if (!page)
		return;
	CHECK(has(page, ">leak</span>"), "sample: leak badge");
	CHECK(has(page, "+4096.0 B/request"), "sample: bytes/request");
	CHECK(has(page, "+4094.1 B/request .. +4097.9 B/request"), "sample: its interval");
	CHECK(has(page, "+14.1 MiB/hour"), "sample: bytes/hour");
	CHECK(has(page, "<td>1.000</td>"), "sample: R2");
	CHECK(has(page, "83% of the process"), "sample: share of growth");
	CHECK(has(page, "leak_fixed+0x1a (server.c:30)"), "sample: symbolized frame");
	CHECK(has(page, ">plateau</span>") && has(page, ">transient</span>") &&
	          has(page, ">stable</span>"),
	      "sample: every verdict badge");
	CHECK(has(page, "1 stack leaks: +4096.0 B/request, +14.1 MiB/hour"), "sample: leak banner");
	CHECK(has(page, "OOM in 20m 34s"), "sample: OOM ETA");
	CHECK(has(page, "RSS high, live heap flat"), "sample: RSS note");
	CHECK(has(page, "tracked live heap 12.4 MiB"), "sample: live heap next to RSS");
	CHECK(has(page, "uprobe:/work/build/tests/server:handle_request"),
	      "sample: request source");
	CHECK(has(page, "unknown-frees <span class=\"warn\">3</span>"), "sample: losses flagged");

	/* leaks first although the plateau holds more */
	leak_card = strstr(page, "id=\"s1\"");
	plateau_card = strstr(page, "id=\"s2\"");
	CHECK(leak_card && plateau_card && strstr(leak_card, "leak_fixed") &&
	          strstr(leak_card, "leak_fixed") < plateau_card &&
	          strstr(plateau_card, "cache_put"),
	      "sample: the leak is suspect [1], the bigger plateau [2]");

	/* the leak's plot: 30 samples (2 of warm-up), the fitted line through them */
	fit = strstr(page, "class=\"fit\"");
	CHECK(fit && fit > leak_card && fit < plateau_card, "sample: the leak's plot has the line");
	CHECK(count(page, "<circle") == 30 + 30 + 30 + 12, "sample: a circle per sample (%d)",
	      count(page, "<circle"));
	pt = leak_card ? strstr(leak_card, "<circle class=\"pt\"") : NULL;
	CHECK(leak_card && count(leak_card, "<circle class=\"warm\"") >= 2 && pt &&
	          strstr(leak_card, "<circle class=\"warm\"") < pt,
	      "sample: warm-up samples drawn apart");
	fx1 = attr_after(fit, "x1");
	fy1 = attr_after(fit, "y1");
	fx2 = attr_after(fit, "x2");
	fy2 = attr_after(fit, "y2");
	cx = attr_after(pt, "cx");
	cy = attr_after(pt, "cy");
	CHECK(abs_d(fx1 - cx) < 0.2 && abs_d(fy1 - cy) < 0.2,
	      "sample: the line starts on the first fitted sample (%.1f,%.1f vs %.1f,%.1f)", fx1,
	      fy1, cx, cy);
	CHECK(fx2 > fx1 + 300 && fy2 < fy1 - 100, "sample: the line rises to the right");
	CHECK(has(page, ">3000</text>") && has(page, ">10 MiB</text>"),
	      "sample: tick labels (requests, MiB)");

	/* the flame graph merges "main" (4 stacks) into one rectangle */
	flame = strstr(page, "class=\"flame\"");
	CHECK(flame != NULL, "sample: flame graph");
	CHECK(flame && count(flame, "<g><title>main+0x1a") == 1 &&
	          count(flame, "<g><title>handle_request+0x1a") == 1,
	      "sample: frames merged across stacks");
	CHECK(flame && count(flame, "<rect") == 1 + 1 + 2 + 2 + 4,
	      "sample: one rectangle per merged frame (%d)", flame ? count(flame, "<rect") : -1);
	CHECK(flame && has(flame, "\xe2\x80\xa6</text>"), "sample: long names cut to fit");
	free(page);
}

static void test_escaping(void)
{
	char *page = render("escape.html", &fk.snap, 0);

	if (!page) {
		CHECK(0, "escape page written");
		return;
	}
	CHECK(!has(page, HOSTILE) && !has_nocase(page, "<script"), "escape: no raw <script>");
	CHECK(has(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
	      "escape: <script> shown as text");
	CHECK(has(page, "std::vector&lt;std::pair&lt;int, std::string&gt; &gt;::push_back"),
	      "escape: C++ templates");
	CHECK(has(page, "O&#39;Brien &amp; &quot;Sons&quot;"), "escape: quotes and ampersands");
	CHECK(!has(page, TEMPLATE) && !has(page, AMPERSAND), "escape: no raw name left");
	CHECK(has(page, "srv&quot;&amp;&#39;&lt;b&gt;"), "escape: process name");
	CHECK(has(page, "/opt/a&amp;b/lib&lt;x&gt;.so"), "escape: allocator path");
	check_common("escape page", page);
	free(page);
}

static void test_top(void)
{
	char *page = render("top.html", &fk.snap, 2);

	check_common("top 2", page);
	if (!page)
		return;
	CHECK(has(page, "id=\"s2\"") && !has(page, "id=\"s3\""), "top 2: two stacks shown");
	CHECK(has(page, "2 of 4 stacks"), "top 2: says what is left out");
	CHECK(has(page, "class=\"flame\"") && has(page, "burst_alloc"),
	      "top 2: the flame graph still has every stack");
	free(page);
}

static void test_empty(void)
{
	struct snapshot snap;
	char *page;

	memset(&snap, 0, sizeof(snap));
	page = render("empty.html", &snap, 10);
	check_common("empty snapshot", page);
	if (!page)
		return;
	CHECK(has(page, "No allocation stack seen yet"), "empty: says so");
	CHECK(has(page, "No verdict yet") && !has(page, "banner bad"), "empty: no verdict yet");
	CHECK(has(page, "no request source"), "empty: no request source");
	CHECK(!has(page, "class=\"flame\""), "empty: no flame graph");
	free(page);
}

/* Without a leak: the bigger plateau comes first, the banner says no leak. */
static void test_no_leak(void)
{
	struct snap_stack st[NSTACKS];
	struct snapshot snap = fk.snap;
	const char *s1, *s2;
	char *page;

	memcpy(st, fk.stacks, sizeof(st));
	st[1].verdict.verdict = V_GROWING;
	snap.stacks = st;
	snap.nleaks = 0;
	snap.leak_slope = 0;
	page = render("noleak.html", &snap, 10);
	check_common("no leak", page);
	if (!page)
		return;
	CHECK(has(page, "No leak found") && !has(page, "banner bad"), "no leak: says so");
	s1 = strstr(page, "id=\"s1\"");
	s2 = strstr(page, "id=\"s2\"");
	CHECK(s1 && s2 && strstr(s1, "cache_put") < s2 && strstr(s2, ">growing</span>"),
	      "no leak: by live bytes, the growing stack second");
	free(page);
}

/* Two processes: a card each, and a flame graph level per process. */
static void test_two_processes(void)
{
	struct snap_process procs[2];
	struct snap_stack st[NSTACKS];
	struct snapshot snap = fk.snap;
	const char *flame;
	char *page;

	memcpy(st, fk.stacks, sizeof(st));
	memcpy(procs, fk.procs, sizeof(procs));
	procs[1] = procs[0];
	procs[1].pid = 4343;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "worker");
	procs[1].have_mem = false;
	procs[1].exited = true;
	st[2].key.tgid = 4343;
	snap.procs = procs;
	snap.nprocs = 2;
	snap.stacks = st;
	page = render("two.html", &snap, 10);
	check_common("two processes", page);
	if (!page)
		return;
	CHECK(has(page, "pid 4242 <code>server</code>") &&
	          has(page, "pid 4343 <code>worker</code>"),
	      "two processes: a card each");
	CHECK(has(page, ">exited</span>"), "two processes: the exited one is marked");
	flame = strstr(page, "class=\"flame\"");
	CHECK(flame && has(flame, "<title>pid 4242 server\n") &&
	          has(flame, "<title>pid 4343 worker\n"),
	      "two processes: a flame graph node per process");
	CHECK(flame && count(flame, "<g><title>main+0x1a") == 2,
	      "two processes: frames merged within a process only");
	free(page);
}

static double threads_y(double x)
{
	return x; /* one thread left per request */
}

/* The sample plus a thread stack leaking one thread per request. */
static void test_threads(void)
{
	static const char *const starter[] = {"start_worker", "handle_request", "main", NULL};
	static struct fake t;
	struct snap_stack *s;
	const char *flame, *card;
	char *page;

	t = fk;
	t.snap.procs = t.procs;
	t.snap.stacks = t.stacks;
	for (int i = 0; i < t.snap.nstacks; i++) {
		t.stacks[i].frames = t.frames[i];
		t.stacks[i].points = t.points[i];
	}
	s = add_stack(&t, 4242, "thread", V_LEAK, 2900 * 8392704ULL, starter);
	s->key.kind = AL_THREAD;
	s->st.live_objects = 2900;
	s->st.allocs = 2900;
	s->st.frees = 0;
	set_points(s, 30, 2, threads_y);
	s->verdict.slope = 1;
	s->verdict.slope_lo = 0.98;
	s->verdict.slope_hi = 1.02;
	s->verdict.per_hour = 3600;
	s->verdict.r2 = 0.999;
	s->growth_share = 1;
	t.procs[0].live_threads = 2900;
	t.procs[0].thread_stacks = 1;
	t.procs[0].thread_reserved = 2900 * 8392704ULL;
	t.procs[0].threads_started = 2900;
	t.snap.nthread_leaks = 1;
	t.snap.thread_slope = 1;
	page = render("threads.html", &t.snap, 10);
	check_common("threads", page);
	if (!page)
		return;
	CHECK(has(page, "1 thread stack leaks: +1.00 threads/request, +3600 threads/hour") &&
	          has(page, "1 stack leaks: +4096.0 B/request"),
	      "threads: a banner of its own, next to the heap's");
	CHECK(has(page, "\xe2\x80\x94 2 leaks</title>"), "threads: the title counts both leaks");
	card = strstr(page,
	              "<code>start_worker</code> <span class=\"muted\">pid 4242 \xc2\xb7 thread");
	CHECK(card && has(card, "threads/request</th>") && has(card, "+0.98 threads/request") &&
	          has(card, "2,900 threads") && has(card, "of stack reserved, not heap") &&
	          has(card, "live threads</text>") && has(card, "2,900 threads live</title>"),
	      "threads: its card in threads (slope, interval, live, plot)");
	CHECK(has(page, "<tr><th>threads</th><td>2,900 live at 1 stack"),
	      "threads: the process card's threads row");
	flame = strstr(page, "class=\"flame\"");
	CHECK(flame && !has(flame, "start_worker"),
	      "threads: not in the flame graph of live bytes");
	free(page);
}

static void test_time_mode(void)
{
	struct snapshot snap = fk.snap;
	char *page;

	snap.time_mode = true;
	snap.request_source = "time";
	page = render("time.html", &snap, 10);
	check_common("time mode", page);
	if (!page)
		return;
	CHECK(has(page, "+4096.0 B/s") && !has(page, "B/request"), "time mode: slopes per second");
	CHECK(has(page, "seconds since attach"), "time mode: x axis in seconds");
	free(page);
}

/* A metric request source holds a URL: shown as text, never linked or fetched. */
static void test_metric_source(void)
{
	struct snapshot snap = fk.snap;
	char *page, why[128] = "";

	snap.request_source = "metric:http://127.0.0.1:8000/metrics:app_requests_total";
	page = render("metric.html", &snap, 10);
	if (!page) {
		CHECK(0, "metric source page written");
		return;
	}
	CHECK(count(page, "http://") == 1 && !fetches(page, why, sizeof(why)),
	      "metric source: the URL is text only (%s)", why);
	free(page);
}

static void test_no_network_words(void)
{
	char *page = slurp(page_path("sample.html"));

	CHECK(page && !has(page, "http://") && !has(page, "https://"),
	      "sample: no http:// or https:// anywhere");
	free(page);
}

/* Odd numbers: no samples, one sample, equal x, NaN and huge values. */
static void test_odd_numbers(void)
{
	static const char *const f1[] = {"odd", NULL};
	struct fake *k = malloc(sizeof(*k));
	struct snap_stack *s;
	char *page;

	if (!k)
		return;
	memset(k, 0, sizeof(*k));
	k->snap.stacks = k->stacks;
	k->snap.leak_slope = 0.0 / 0.0;
	k->snap.nleaks = 1;
	k->snap.elapsed = -1;
	k->snap.procs = k->procs;
	k->snap.nprocs = 2;
	k->procs[0].pid = 1;
	k->procs[0].requests = 1e25;
	k->procs[0].have_mem = true;
	k->procs[0].cg_limit = 1;
	k->procs[0].cg_usage = ~0ULL;
	k->procs[0].oom_eta = 1e300;
	k->procs[1].pid = 2;
	k->procs[1].requests = 0.0 / 0.0;
	k->procs[1].have_mem = true;
	k->procs[1].oom_eta = 0.0 / 0.0;
	s = add_stack(k, 1, NULL, V_LEAK, 5, f1);
	s->verdict.slope = 0.0 / 0.0;
	s->verdict.per_hour = 1.0 / 0.0;
	s->verdict.r2 = -1.0 / 0.0;
	s->verdict.n = 99; /* more than the points */
	s = add_stack(k, 1, "malloc", V_GROWING, 1, f1);
	s->npoints = 1;
	s->points[0].x = 5;
	s->points[0].y = 7;
	s->verdict.n = 1;
	s = add_stack(k, 1, "malloc", V_STABLE, 1ULL << 62, f1);
	s->npoints = 3;
	s->points[0].x = s->points[1].x = s->points[2].x = 10;
	s->points[0].y = 1e18;
	s->points[1].y = 0.0 / 0.0;
	s->points[2].y = 2e18;
	s->points[2].x = 1e300;
	s->verdict.n = 3;
	s->verdict.slope = 1e300;
	s = add_stack(k, 1, "mmap", V_NONE, 0, f1);
	s->nframes = 0;
	s->npoints = 4;
	s->verdict.n = 2;
	page = render("odd.html", &k->snap, 10);
	check_common("odd numbers", page);
	if (page) {
		CHECK(has(page, "no samples yet"), "odd: an empty plot says so");
		CHECK(has(page, "no frames"), "odd: a stack without frames says so");
		CHECK(has(page, "n/a"), "odd: NaN shown as n/a");
	}
	free(page);
	free(k);
}

/* Thousands of deep stacks: the flame graph merges them and stays small. */
static void test_many_stacks(void)
{
	static const char *const names[] = {"main",      "serve",    "dispatch",
	                                    "parse",     "render",   "json_encode",
	                                    "cache_get", "db_query", "log_line"};
	enum { N = 4000, D = 12 };
	struct snapshot snap;
	struct snap_stack *st = calloc(N, sizeof(*st));
	struct snap_frame *fr = calloc((size_t)N * D, sizeof(*fr));
	unsigned x = 12345;
	char *page;
	int i, j;

	if (!st || !fr) {
		free(st);
		free(fr);
		return;
	}
	memset(&snap, 0, sizeof(snap));
	snap.stacks = st;
	snap.nstacks = N;
	for (i = 0; i < N; i++) {
		st[i].kind = "malloc";
		st[i].frames = fr + (size_t)i * D;
		st[i].nframes = D;
		st[i].st.live_bytes = 1000 + i;
		for (j = 0; j < D; j++) {
			x = x * 1103515245 + 12345;
			snprintf(st[i].frames[j].text, sizeof(st[i].frames[j].text), "%s_%u",
			         names[(x >> 16) % 9], j == D - 1 ? 0 : (x >> 20) % 3);
		}
	}
	page = render("many.html", &snap, 20);
	check_common("4000 stacks", page);
	if (page) {
		CHECK(count(page, "class=\"card stack") == 20, "4000 stacks: top 20 shown");
		CHECK(strlen(page) < 8 * 1024 * 1024, "4000 stacks: page under 8 MiB (%zu)",
		      strlen(page));
	}
	free(page);
	free(st);
	free(fr);
}

static void test_atomic(void)
{
	char err[256] = "", *page;
	struct stat st;
	mode_t um = umask(022);
	FILE *f;
	int ret;

	f = fopen(page_path("old.html"), "w");
	if (f) {
		fputs("old contents\n", f);
		fclose(f);
	}
	ret = html_write(page_path("old.html"), &fk.snap, 10, err, sizeof(err));
	page = slurp(page_path("old.html"));
	CHECK(ret == 0 && page && !has(page, "old contents") && has(page, "</html>"),
	      "atomic: an old file is replaced (%s)", err);
	CHECK(!stat(page_path("old.html"), &st) && (st.st_mode & 0777) == 0644,
	      "atomic: mode 0644 under umask 022 (%o)", st.st_mode & 0777);
	CHECK(temp_files() == 0, "atomic: no temp file left");
	free(page);

	/* rename fails (the name is a directory): the temp file goes */
	mkdir(page_path("adir"), 0755);
	err[0] = 0;
	ret = html_write(page_path("adir"), &fk.snap, 10, err, sizeof(err));
	CHECK(ret < 0 && has(err, "adir"), "atomic: writing over a directory fails: %d %s", ret,
	      err);
	CHECK(temp_files() == 0, "atomic: no temp file left after a failure");
	rmdir(page_path("adir"));
	umask(um);
}

static void test_bad_paths(void)
{
	char err[256] = "";
	int ret;

	ret = html_write("/nonexistent-dir-agentleak/report.html", &fk.snap, 10, err, sizeof(err));
	CHECK(ret == -ENOENT && has(err, "/nonexistent-dir-agentleak/report.html") &&
	          !strchr(err, '\n'),
	      "bad path: missing directory: %d %s", ret, err);
	err[0] = 0;
	ret = html_write("", &fk.snap, 10, err, sizeof(err));
	CHECK(ret < 0 && err[0], "bad path: empty name: %d %s", ret, err);
	err[0] = 0;
	ret = html_write(NULL, &fk.snap, 10, err, sizeof(err));
	CHECK(ret < 0 && err[0], "bad path: NULL: %d %s", ret, err);
	err[0] = 0;
	ret = html_write(page_path("x.html"), NULL, 10, err, sizeof(err));
	CHECK(ret == -EINVAL && err[0], "bad input: no snapshot: %s", err);
	ret = html_write("/nonexistent-dir-agentleak/r.html", &fk.snap, 10, NULL, 0);
	CHECK(ret < 0, "bad path: no error buffer, no crash");

	err[0] = 0;
	ret = outfile_check(page_path("check.html"), err, sizeof(err));
	CHECK(ret == 0 && access(page_path("check.html"), F_OK) && temp_files() == 0,
	      "check path: a writable path passes and leaves nothing (%s)", err);
	ret = outfile_check(page_path("sample.html"), err, sizeof(err));
	CHECK(ret == 0 && !access(page_path("sample.html"), F_OK),
	      "check path: an existing file passes and stays (%s)", err);
	ret = outfile_check("/nonexistent-dir-agentleak/r.html", err, sizeof(err));
	CHECK(ret == -ENOENT && has(err, "/nonexistent-dir-agentleak/r.html"),
	      "check path: missing directory: %s", err);
	ret = outfile_check(dir, err, sizeof(err));
	CHECK(ret == -EISDIR && has(err, "directory"), "check path: a directory: %s", err);
	ret = outfile_check("/tmp/", err, sizeof(err));
	CHECK(ret < 0, "check path: a trailing slash: %s", err);
	ret = outfile_check("", err, sizeof(err));
	CHECK(ret == -EINVAL && err[0], "check path: empty: %s", err);
	ret = outfile_check("/proc/self/no/such.html", err, sizeof(err));
	CHECK(ret < 0, "check path: unwritable: %s", err);
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(page_path(e->d_name));
	closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	build_sample(&fk);
	if (argc == 3 && !strcmp(argv[1], "--page")) {
		char err[256];

		if (html_write(argv[2], &fk.snap, 10, err, sizeof(err))) {
			fprintf(stderr, "test_html: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	test_sample_page();
	test_no_network_words();
	test_top();
	test_empty();
	test_no_leak();
	test_two_processes();
	test_threads();
	test_time_mode();
	test_metric_source();
	test_odd_numbers();
	test_many_stacks();
	test_atomic();
	test_bad_paths();

	/* hostile names last: they change the sample */
	snprintf(fk.procs[0].comm, sizeof(fk.procs[0].comm), "srv\"&'<b>");
	snprintf(fk.procs[0].allocator, sizeof(fk.procs[0].allocator), "/opt/a&b/lib<x>.so");
	test_escaping();
	cleanup();
	return check_done();
}
