// SPDX-License-Identifier: GPL-2.0
/* html.c - the self-contained HTML report.
 *
 * One page drawn from a snapshot (snapshot.h) and nothing else: the processes, the
 * top suspect stacks, each with a plot of its live bytes against requests and the
 * fitted Theil-Sen line, and a flame graph of live bytes. Inline CSS and SVG only:
 * no script, no font, nothing fetched, so the file can be mailed or attached to a
 * ticket. Every string from the target (names, paths, the request source) is
 * escaped. No libm: the scaling arithmetic is done here. Written to a temp file in
 * the same directory and renamed (outfile.c), so a reader never sees half a page.
 * Thread stacks are told in threads (their plot, slope and live count), apart from
 * the heap: not in a process's live heap, the heap leaks' banner or the flame graph.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/hash.h"
#include "base/vec.h"
#include "export/exporter.h"
#include "export/html.h"
#include "export/names.h"
#include "export/outfile.h"

/* The scatter plot of one stack: size and margins, in SVG units (pixels). */
#define PLOT_W 540
#define PLOT_H 260
#define PLOT_L 70
#define PLOT_R 20
#define PLOT_T 14
#define PLOT_B 42

/* The flame graph: width, row height, width of one 11px monospace character. */
#define FLAME_W     1160
#define FLAME_ROW   18
#define FLAME_CHAR  6.8
#define FLAME_MIN_W 0.3

/* The memory bars of a process. */
#define BAR_W 560
#define BAR_H 16

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f3f5f7;color:#1f2933;"
    "font:14px/1.5 'DejaVu Sans','Liberation Sans',system-ui,sans-serif}"
    "main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}"
    "h1{font-size:24px;margin:0}"
    "h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #dde2e7}"
    "h3{font-size:15px;margin:0 0 8px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}"
    "code{font-family:'DejaVu Sans Mono','Liberation Mono',monospace;font-size:12.5px;"
    "overflow-wrap:anywhere}"
    "a{color:#1d5fb4;text-decoration:none}a:hover{text-decoration:underline}"
    ".meta{color:#52606d;margin:4px 0 0}"
    ".muted{color:#7b8794;font-weight:400}"
    ".card{background:#fff;border:1px solid #dde2e7;border-radius:8px;padding:14px 18px;"
    "margin:12px 0;box-shadow:0 1px 2px rgba(0,0,0,.05)}"
    ".banner{border-radius:8px;padding:12px 18px;margin:18px 0 0;font-size:16px;font-weight:600}"
    ".bad{background:#fdecea;color:#8a1c13;border:1px solid #f4c1bb}"
    ".good{background:#e9f5ea;color:#1b5e20;border:1px solid #c6e3c8}"
    ".wait{background:#eef1f4;color:#3e4c59;border:1px solid #d5dbe1}"
    "table{border-collapse:collapse}"
    ".kv th{text-align:left;font-weight:600;color:#52606d;padding:3px 18px 3px 0;"
    "vertical-align:top;white-space:nowrap}"
    ".kv td{padding:3px 0;vertical-align:top}"
    ".list{width:100%}"
    ".list th,.list td{padding:6px 10px;border-bottom:1px solid #eceff2;text-align:left;"
    "vertical-align:middle}"
    ".list th{color:#52606d;font-size:12px;font-weight:600;text-transform:uppercase}"
    ".num{text-align:right!important;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".badge{display:inline-block;min-width:84px;text-align:center;padding:1px 9px;"
    "border-radius:11px;font-size:12px;font-weight:700;color:#fff;text-transform:uppercase}"
    ".v-leak{background:#c62828}.v-growing{background:#e65100}.v-plateau{background:#1565c0}"
    ".v-transient{background:#6a1b9a}.v-stable{background:#2e7d32}.v-none{background:#8796a5}"
    ".stack{border-left:5px solid #8796a5}.stack.s-leak{border-left-color:#c62828}"
    ".stack.s-growing{border-left-color:#e65100}.stack.s-plateau{border-left-color:#1565c0}"
    ".stack.s-transient{border-left-color:#6a1b9a}.stack.s-stable{border-left-color:#2e7d32}"
    ".row{display:flex;flex-wrap:wrap;gap:14px 30px;align-items:flex-start}"
    ".big{font-size:19px;font-weight:700}"
    ".cap{color:#52606d;font-size:12px;margin:2px 0 0}"
    ".frames{list-style:none;margin:12px 0 0;padding:8px 12px;background:#f7f8fa;"
    "border-radius:6px}"
    ".frames li{padding:1px 0}.frames .n{color:#7b8794;display:inline-block;width:34px}"
    ".note{background:#fff8e1;border:1px solid #f3d77a;border-radius:6px;padding:8px 12px;"
    "margin:10px 0 0}"
    ".warn{color:#b71c1c;font-weight:700}"
    ".key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px}"
    ".key:first-child{margin-left:0}"
    "svg text{font:11px 'DejaVu Sans',sans-serif;fill:#52606d}"
    ".grid{stroke:#e8ebee}.axis{stroke:#9aa5b1}.fit{stroke:#d32f2f;stroke-width:2}"
    ".pt{fill:#1d5fb4}.warm{fill:#fff;stroke:#1d5fb4}"
    ".flame text{font:11px 'DejaVu Sans Mono',monospace;fill:#1f2933;pointer-events:none}"
    ".flame g:hover rect{stroke:#1f2933;stroke-width:1}"
    "footer{color:#7b8794;font-size:12px;margin-top:30px}";

/* ---- numbers (no libm) ---- */

static int is_num(double v)
{
	return v == v && v - v == 0;
}

static double floor_d(double v)
{
	long long i;

	if (!is_num(v) || v > 9e15 || v < -9e15)
		return v;
	i = (long long)v;
	return (double)i > v ? (double)(i - 1) : (double)i;
}

static double ceil_d(double v)
{
	return -floor_d(-v);
}

/* 1, 2 or 5 times a power of ten, at least range / nticks. */
static double nice_step(double range, int nticks)
{
	double raw = range / nticks, p = 1;

	if (!is_num(raw) || raw <= 0)
		return 1;
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* "512 B", "3.71 MiB"; sign adds a '+' to positive values. */
static char *fmt_bytes(char *buf, size_t len, double v, int sign)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double a = v < 0 ? -v : v;
	const char *plus = sign && v > 0 ? "+" : "";
	int u = 0;

	if (!is_num(v)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	while (a >= 1024 && u < 5) {
		a /= 1024;
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%.0f B", plus, v);
	else
		snprintf(buf, len,
		         a < 10    ? "%s%.2f %s"
		         : a < 100 ? "%s%.1f %s"
		                   : "%s%.0f %s",
		         plus, v, units[u]);
	return buf;
}

/* 1234567 -> "1,234,567" */
static char *fmt_count(char *buf, size_t len, unsigned long long v)
{
	char digits[32];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu", v);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = 0;
	return buf;
}

static char *fmt_countd(char *buf, size_t len, double v)
{
	if (!is_num(v) || v < 0 || v >= 1e19) {
		if (is_num(v) && v > 0)
			snprintf(buf, len, "%.3g", v);
		else
			snprintf(buf, len, "%s", is_num(v) ? "0" : "n/a");
		return buf;
	}
	return fmt_count(buf, len, (unsigned long long)(v + 0.5));
}

/* 45.2 s, 3m 05s, 2h 10m, 3.5 days */
static char *fmt_duration(char *buf, size_t len, double s)
{
	long long t;

	if (!is_num(s) || s < 0)
		snprintf(buf, len, "n/a");
	else if (s < 60)
		snprintf(buf, len, "%.1f s", s);
	else if (s >= 2 * 86400)
		snprintf(buf, len, "%.1f days", s / 86400);
	else if ((t = (long long)(s + 0.5)) < 3600)
		snprintf(buf, len, "%lldm %02llds", t / 60, t % 60);
	else
		snprintf(buf, len, "%lldh %02lldm", t / 3600, t / 60 % 60);
	return buf;
}

/* Axis labels: 1500 -> "1.5k" */
static char *fmt_short(char *buf, size_t len, double v)
{
	double a = v < 0 ? -v : v;

	if (a >= 1e9)
		snprintf(buf, len, "%gG", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, len, "%gM", v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, len, "%gk", v / 1e3);
	else
		snprintf(buf, len, "%g", a < 1e-9 ? 0.0 : v);
	return buf;
}

/* ---- escaping ---- */

static void esc_char(FILE *f, unsigned char c)
{
	switch (c) {
	case '&':
		fputs("&amp;", f);
		break;
	case '<':
		fputs("&lt;", f);
		break;
	case '>':
		fputs("&gt;", f);
		break;
	case '"':
		fputs("&quot;", f);
		break;
	case '\'':
		fputs("&#39;", f);
		break;
	default:
		/* control characters have no business in names: make them visible */
		fputc((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?' : c, f);
	}
}

static void esc(FILE *f, const char *s)
{
	if (!s)
		return;
	while (*s)
		esc_char(f, (unsigned char)*s++);
}

static void escf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void escf(FILE *f, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc(f, buf);
}

/* Characters (UTF-8 sequences) in s. */
static int text_len(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* s escaped, cut to max characters (an ellipsis marks the cut). */
static void esc_cut(FILE *f, const char *s, int max)
{
	int n = 0;

	if (text_len(s) <= max) {
		esc(f, s);
		return;
	}
	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && ++n > max - 1)
			break;
		esc_char(f, (unsigned char)*s);
	}
	fputs("\xe2\x80\xa6", f);
}

/* ---- what the snapshot says ---- */

static const char *verdict_of(const struct snap_stack *s)
{
	if (!s->has_verdict || s->verdict.verdict == V_NONE)
		return "none";
	return verdict_label(s->verdict.verdict, NAME_TEXT);
}

static int is_leak(const struct snap_stack *s)
{
	return s->has_verdict && s->verdict.verdict == V_LEAK;
}

static const char *frame_text(const struct snap_frame *fr)
{
	if (fr->text[0])
		return fr->text;
	if (fr->func[0])
		return fr->func;
	return "[unknown]";
}

/* The function the stack is named after: frame #0, the allocator's caller. */
static const char *stack_name(const struct snap_stack *s)
{
	if (s->nframes < 1 || !s->frames)
		return "[no frames]";
	return s->frames[0].func[0] ? s->frames[0].func : frame_text(&s->frames[0]);
}

static const char *per_unit(const struct snapshot *snap)
{
	return snap->time_mode ? "s" : "request";
}

/* "+4096.0 B/request", or a thread stack's "+1.00 threads/request" */
static void put_slope(FILE *f, const struct snapshot *snap, bool thread, double v)
{
	if (!is_num(v))
		fputs("n/a", f);
	else if (thread)
		fprintf(f, "%+.2f threads/%s", v, per_unit(snap));
	else
		fprintf(f, "%+.1f B/%s", v, per_unit(snap));
}

/* A thread stack's live threads, "40 threads"; a heap stack's live bytes. */
static char *fmt_live(char *buf, size_t len, const struct snap_stack *s)
{
	char n[32];

	if (!snap_is_thread(s))
		return fmt_bytes(buf, len, (double)s->st.live_bytes, 0);
	snprintf(buf, len, "%s thread%s", fmt_count(n, sizeof(n), s->st.live_objects),
	         s->st.live_objects == 1 ? "" : "s");
	return buf;
}

/* ---- page head and processes ---- */

static void put_head(FILE *f, const struct snapshot *snap)
{
	const struct snap_process *p = snap->nprocs > 0 ? &snap->procs[0] : NULL;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>",
	      f);
	fputs("agentleak", f);
	if (p)
		escf(f, ": %s (pid %d)%s", p->comm, p->pid, snap->nprocs > 1 ? " and others" : "");
	if (snap->nleaks + snap->nthread_leaks > 0)
		fprintf(f, " \xe2\x80\x94 %d leak%s", snap->nleaks + snap->nthread_leaks,
		        snap->nleaks + snap->nthread_leaks > 1 ? "s" : "");
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", css);
}

/* The tier the stacks come from (and --mode auto's window). */
static void put_mode(FILE *f, const struct snapshot *snap)
{
	const char *mode = snapshot_mode(snap);

	if (!strcmp(mode, "growth"))
		fputs(" \xc2\xb7 growth tier: live bytes are touched anonymous pages", f);
	else if (!strcmp(mode, "auto") && snap->diagnosis_result)
		fprintf(f, " \xc2\xb7 auto mode: result of diagnosis window %d", snap->diagnosis);
	else if (!strcmp(mode, "auto") && snap->diagnosis_open)
		fprintf(f, " \xc2\xb7 auto mode: diagnosis window %d open (precise tier on)",
		        snap->diagnosis);
	else if (!strcmp(mode, "auto"))
		fprintf(f, " \xc2\xb7 auto mode: growth tier (%d diagnosis windows so far)",
		        snap->diagnosis);
}

static void put_title(FILE *f, const struct snapshot *snap)
{
	char when[64] = "", dur[32];
	time_t t = (time_t)snap->unix_time;
	struct tm tm;

	if (snap->unix_time > 0 && localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
	fputs("<header>\n<h1>agentleak report</h1>\n<p class=\"meta\">", f);
	fputs(snap->final ? "final report" : "interval report", f);
	if (when[0])
		escf(f, " \xc2\xb7 %s", when);
	fprintf(f, " \xc2\xb7 %s observed", fmt_duration(dur, sizeof(dur), snap->elapsed));
	if (snap->time_mode || !snap->request_source)
		fputs(" \xc2\xb7 no request source: slopes per second of time", f);
	else
		escf(f, " \xc2\xb7 requests from %s", snap->request_source);
	put_mode(f, snap);
	fputs("</p>\n</header>\n", f);
}

/* The thread stacks that leak, in threads. */
static void put_thread_banner(FILE *f, const struct snapshot *snap)
{
	double per_hour = 0;
	int i;

	for (i = 0; i < snap->nstacks; i++)
		if (snap_is_thread(&snap->stacks[i]) && is_leak(&snap->stacks[i]) &&
		    is_num(snap->stacks[i].verdict.per_hour))
			per_hour += snap->stacks[i].verdict.per_hour;
	fprintf(f, "<div class=\"banner bad\">%d thread stack%s leak%s: ", snap->nthread_leaks,
	        snap->nthread_leaks > 1 ? "s" : "", snap->nthread_leaks > 1 ? "" : "s");
	put_slope(f, snap, true, snap->thread_slope);
	fprintf(f, "%s, %+.0f threads/hour at the observed rate</div>\n",
	        snap->nthread_leaks > 1 ? " together" : "", per_hour);
}

static void put_banner(FILE *f, const struct snapshot *snap)
{
	double per_hour = 0;
	char b[32];
	int i;

	if (snap->nthread_leaks > 0)
		put_thread_banner(f, snap);
	if (snap->nleaks <= 0 && snap->nthread_leaks > 0)
		return;
	if (snap->nleaks <= 0) {
		for (i = 0; i < snap->nstacks && !strcmp(verdict_of(&snap->stacks[i]), "none"); i++)
			;
		if (i == snap->nstacks)
			fputs(
			    "<div class=\"banner wait\">No verdict yet: too few samples to tell a "
			    "leak from a cache.</div>\n",
			    f);
		else
			fprintf(
			    f,
			    "<div class=\"banner good\">No leak found: no stack's live bytes grow "
			    "steadily with %s.</div>\n",
			    snap->time_mode ? "time" : "requests");
		return;
	}
	for (i = 0; i < snap->nstacks; i++)
		if (!snap_is_thread(&snap->stacks[i]) && is_leak(&snap->stacks[i]) &&
		    is_num(snap->stacks[i].verdict.per_hour))
			per_hour += snap->stacks[i].verdict.per_hour;
	fprintf(f, "<div class=\"banner bad\">%d stack%s leak%s: ", snap->nleaks,
	        snap->nleaks > 1 ? "s" : "", snap->nleaks > 1 ? "" : "s");
	put_slope(f, snap, false, snap->leak_slope);
	fprintf(f, "%s, %s/hour at the observed rate</div>\n", snap->nleaks > 1 ? " together" : "",
	        fmt_bytes(b, sizeof(b), per_hour, 1));
}

/* One horizontal bar: the parts (values, colours) drawn over each other, longest first. */
static void put_bar(FILE *f, const double *v, const char *const *color, int n, double max)
{
	int i;

	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">", BAR_W, BAR_H, BAR_W,
	        BAR_H);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" rx=\"3\" fill=\"#eef1f4\"/>", BAR_W, BAR_H);
	for (i = 0; i < n; i++) {
		double w = max > 0 && is_num(v[i]) ? v[i] / max * BAR_W : 0;

		if (w > BAR_W)
			w = BAR_W;
		if (w > 0 && w < 1.5)
			w = 1.5; /* a sliver stays visible */
		if (w > 0)
			fprintf(f, "<rect width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"/>", w,
			        BAR_H, color[i]);
	}
	fputs("</svg>", f);
}

static void put_key(FILE *f, const char *color)
{
	fprintf(f, "<span class=\"key\" style=\"background:%s\"></span>", color);
}

static void put_memory(FILE *f, const struct snap_process *p)
{
	static const char *const colors[] = {"#c5ced6", "#8fa3b5", "#1d5fb4"};
	double v[3] = {(double)p->rss, (double)p->anon, (double)p->live_bytes}, max = 0;
	char a[32], b[32], c[32];
	int i;

	for (i = 0; i < 3; i++)
		if (v[i] > max)
			max = v[i];
	fputs("<tr><th>memory</th><td>", f);
	put_bar(f, v, colors, 3, max);
	fputs("<div class=\"cap\">", f);
	put_key(f, colors[0]);
	fprintf(f, "RSS %s", fmt_bytes(a, sizeof(a), (double)p->rss, 0));
	put_key(f, colors[1]);
	fprintf(f, "anonymous %s", fmt_bytes(b, sizeof(b), (double)p->anon, 0));
	put_key(f, colors[2]);
	fprintf(f, "tracked live heap %s", fmt_bytes(c, sizeof(c), (double)p->live_bytes, 0));
	if (p->rss)
		fprintf(f, " (%.1f%% of RSS)", 100.0 * (double)p->live_bytes / (double)p->rss);
	fputs("</div></td></tr>\n", f);
}

static void put_cgroup(FILE *f, const struct snap_process *p)
{
	static const char *const colors[] = {"#e0a030"};
	double v = (double)p->cg_usage;
	char a[32], b[32], d[32];

	fputs("<tr><th>cgroup</th><td>", f);
	if (!p->cg_limit) {
		fputs("no memory limit</td></tr>\n", f);
		return;
	}
	put_bar(f, &v, colors, 1, (double)p->cg_limit);
	fputs("<div class=\"cap\">", f);
	put_key(f, colors[0]);
	fprintf(f, "usage %s of the %s limit (%.0f%%)", fmt_bytes(a, sizeof(a), v, 0),
	        fmt_bytes(b, sizeof(b), (double)p->cg_limit, 0), 100.0 * v / (double)p->cg_limit);
	if (is_num(p->oom_eta) && p->oom_eta >= 0)
		fprintf(f,
		        " \xe2\x80\x94 <span class=\"warn\">OOM in %s</span> at the current rate",
		        fmt_duration(d, sizeof(d), p->oom_eta));
	else
		fputs(" \xe2\x80\x94 not growing toward the limit", f);
	fputs("</div></td></tr>\n", f);
}

static void put_process(FILE *f, const struct snapshot *snap, const struct snap_process *p)
{
	char a[32], b[32], c[32];

	fputs("<section class=\"card\">\n<h3>", f);
	escf(f, "pid %d", p->pid);
	fputs(" <code>", f);
	esc(f, p->comm);
	fputs("</code>", f);
	if (p->exited)
		fputs(" <span class=\"badge v-none\">exited</span>", f);
	fputs("</h3>\n<table class=\"kv\">\n<tr><th>allocator</th><td>", f);
	esc(f, p->flavor[0] ? p->flavor : "?");
	if (p->allocator[0]) {
		fputs(" <code>", f);
		esc(f, p->allocator);
		fputs("</code>", f);
	}
	fprintf(f, "</td></tr>\n<tr><th>tracked live heap</th><td>%s in %s objects at %d stack%s",
	        fmt_bytes(a, sizeof(a), (double)p->live_bytes, 0),
	        fmt_count(b, sizeof(b), p->live_objects), p->nstacks, p->nstacks == 1 ? "" : "s");
	fprintf(f, "</td></tr>\n<tr><th>since attach</th><td>%s allocs, ",
	        fmt_count(a, sizeof(a), p->allocs));
	fprintf(f, "%s frees", fmt_count(b, sizeof(b), p->frees));
	if (snap->time_mode)
		fprintf(f, ", %s observed", fmt_duration(c, sizeof(c), p->requests));
	else
		fprintf(f, ", %s requests", fmt_countd(c, sizeof(c), p->requests));
	fputs("</td></tr>\n", f);
	if (p->thread_stacks || p->threads_started) {
		fprintf(f, "<tr><th>threads</th><td>%s live at %d stack%s",
		        fmt_count(a, sizeof(a), p->live_threads), p->thread_stacks,
		        p->thread_stacks == 1 ? "" : "s");
		fprintf(f, " <span class=\"muted\">(%s of stack reserved, not heap)</span>; ",
		        fmt_bytes(b, sizeof(b), (double)p->thread_reserved, 0));
		fprintf(f, "%s started, ", fmt_count(a, sizeof(a), p->threads_started));
		fprintf(f, "%s ended</td></tr>\n", fmt_count(b, sizeof(b), p->threads_ended));
	}
	if (p->have_mem) {
		put_memory(f, p);
		put_cgroup(f, p);
	}
	fputs("</table>\n", f);
	if (p->have_mem && p->rss_note) {
		fprintf(
		    f,
		    "<div class=\"note\"><b>RSS high, live heap flat:</b> %s of anonymous memory "
		    "is not live in tracked blocks (%s live). The allocator keeps freed memory "
		    "(a high-water mark or fragmentation), not a leak.</div>\n",
		    fmt_bytes(a, sizeof(a), (double)p->retained, 0),
		    fmt_bytes(b, sizeof(b), (double)p->live_bytes, 0));
	}
	fputs("</section>\n", f);
}

static void put_counters(FILE *f, const struct snapshot *snap)
{
	const __u64 *c = snap->counters;
	char a[32], b[32];
	int i;

	fprintf(f,
	        "<section class=\"card\">\n<table class=\"kv\">\n<tr><th>events</th><td>%s "
	        "allocation calls, %s free calls, ",
	        fmt_count(a, sizeof(a), c[AL_C_ALLOC_CALLS]),
	        fmt_count(b, sizeof(b), c[AL_C_FREE_CALLS]));
	fprintf(f, "%s nested, ", fmt_count(a, sizeof(a), c[AL_C_NESTED]));
	fprintf(f, "%s failed allocations</td></tr>\n<tr><th>losses</th><td>",
	        fmt_count(b, sizeof(b), c[AL_C_FAILED_ALLOCS]));
	for (i = 0; i < nloss_names; i++)
		fprintf(f, "%s%s <span%s>%s</span>", i ? ", " : "", loss_names[i].name[NAME_TEXT],
		        c[loss_names[i].counter] ? " class=\"warn\"" : "",
		        fmt_count(a, sizeof(a), c[loss_names[i].counter]));
	fprintf(f,
	        "</td></tr>\n<tr><th>last sample</th><td>%.1f ms</td></tr>\n</table>\n</section>\n",
	        is_num(snap->sample_seconds) ? snap->sample_seconds * 1e3 : 0.0);
}

/* ---- the scatter plot of one stack ---- */

struct axis {
	double lo, hi, step;
	double unit;       /* labels are value / unit */
	const char *uname; /* after the number, or NULL */
};

static void bytes_axis(struct axis *a, double max)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	if (!is_num(max) || max <= 0)
		max = 1;
	a->unit = 1;
	while (u < 4 && max >= a->unit * 1024) {
		a->unit *= 1024;
		u++;
	}
	a->uname = units[u];
	a->step = nice_step(max / a->unit, 4) * a->unit;
	a->lo = 0;
	a->hi = ceil_d(max * 1.04 / a->step) * a->step; /* room above the top sample */
	if (a->hi <= 0)
		a->hi = a->step;
}

static void count_axis(struct axis *a, double lo, double hi)
{
	if (!(hi > lo)) {
		double d = lo > 10 ? lo / 10 : 1;

		lo -= d;
		hi += d;
	}
	a->unit = 1;
	a->uname = NULL;
	a->step = nice_step(hi - lo, 5);
	a->lo = floor_d(lo / a->step) * a->step;
	a->hi = ceil_d(hi / a->step) * a->step;
	if (!(a->hi > a->lo))
		a->hi = a->lo + a->step;
}

static double px(const struct axis *a, double x)
{
	return PLOT_L + (x - a->lo) / (a->hi - a->lo) * (PLOT_W - PLOT_L - PLOT_R);
}

static double py(const struct axis *a, double y)
{
	return PLOT_H - PLOT_B - (y - a->lo) / (a->hi - a->lo) * (PLOT_H - PLOT_T - PLOT_B);
}

static void tick_label(char *buf, size_t len, const struct axis *a, double v)
{
	char n[32];

	fmt_short(n, sizeof(n), v / a->unit);
	if (a->uname && strcmp(n, "0"))
		snprintf(buf, len, "%s %s", n, a->uname);
	else
		snprintf(buf, len, "%s", n);
}

static void put_grid(FILE *f, const struct axis *xa, const struct axis *ya)
{
	char label[48];
	double v;
	int k;

	for (k = 0; k <= 40 && (v = ya->lo + k * ya->step) <= ya->hi + ya->step * 1e-6; k++) {
		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>",
		        PLOT_L, PLOT_W - PLOT_R, py(ya, v), py(ya, v));
		tick_label(label, sizeof(label), ya, v);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", PLOT_L - 6,
		        py(ya, v) + 4, label);
	}
	for (k = 0; k <= 40 && (v = xa->lo + k * xa->step) <= xa->hi + xa->step * 1e-6; k++) {
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>",
		        px(xa, v), px(xa, v), PLOT_T, PLOT_H - PLOT_B);
		tick_label(label, sizeof(label), xa, v);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        px(xa, v), PLOT_H - PLOT_B + 15, label);
	}
	fprintf(f, "<path class=\"axis\" fill=\"none\" d=\"M%d %dV%dH%d\"/>\n", PLOT_L, PLOT_T,
	        PLOT_H - PLOT_B, PLOT_W - PLOT_R);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Where the Theil-Sen line crosses x = 0: the median of y - slope * x over the
 * samples the fit used (through the middle sample when out of memory). */
static double fit_intercept(const struct trend_point *p, int n, double slope)
{
	double *r = malloc(n * sizeof(*r)), b;
	int i, m = 0;

	if (!r)
		return p[n / 2].y - slope * p[n / 2].x;
	for (i = 0; i < n; i++)
		if (is_num(p[i].x) && is_num(p[i].y))
			r[m++] = p[i].y - slope * p[i].x;
	if (!m) {
		free(r);
		return 0;
	}
	qsort(r, m, sizeof(*r), cmp_double);
	b = m % 2 ? r[m / 2] : (r[m / 2 - 1] + r[m / 2]) / 2;
	free(r);
	return b;
}

/* Narrow [x0, x1] to where b + slope * x is on the y axis; 0 when nothing is left. */
static int clip_line(double *x0, double *x1, double b, double slope, const struct axis *ya)
{
	double lo, hi, t;

	if (!is_num(b))
		return 0;
	if (slope == 0)
		return b >= ya->lo && b <= ya->hi;
	lo = (ya->lo - b) / slope;
	hi = (ya->hi - b) / slope;
	if (lo > hi) {
		t = lo;
		lo = hi;
		hi = t;
	}
	if (lo > *x0)
		*x0 = lo;
	if (hi < *x1)
		*x1 = hi;
	return is_num(*x0) && is_num(*x1) && *x1 > *x0;
}

static void put_fit(FILE *f, const struct snapshot *snap, const struct snap_stack *s, int first,
                    const struct axis *xa, const struct axis *ya)
{
	const struct trend_point *p = s->points + first;
	int i, n = s->npoints - first;
	double slope = s->verdict.slope, b, x0 = 0, x1 = 0, y0, y1;
	int seen = 0;

	if (!s->has_verdict || s->verdict.verdict == V_NONE || n < 2 || !is_num(slope))
		return;
	for (i = 0; i < n; i++) {
		if (!is_num(p[i].x) || !is_num(p[i].y))
			continue;
		if (!seen++ || p[i].x < x0)
			x0 = p[i].x;
		if (seen == 1 || p[i].x > x1)
			x1 = p[i].x;
	}
	if (seen < 2 || !(x1 > x0))
		return;
	b = fit_intercept(p, n, slope);
	if (!clip_line(&x0, &x1, b, slope, ya))
		return;
	y0 = py(ya, b + slope * x0);
	y1 = py(ya, b + slope * x1);
	if (!is_num(y0) || !is_num(y1))
		return;
	fprintf(f,
	        "<line class=\"fit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"><title>"
	        "Theil-Sen fit: ",
	        px(xa, x0), y0, px(xa, x1), y1);
	put_slope(f, snap, snap_is_thread(s), slope);
	fputs("</title></line>\n", f);
}

static void put_points(FILE *f, const struct snapshot *snap, const struct snap_stack *s, int first,
                       const struct axis *xa, const struct axis *ya)
{
	char a[32], b[32];
	int i;

	for (i = 0; i < s->npoints; i++) {
		const struct trend_point *p = &s->points[i];

		if (!is_num(p->x) || !is_num(p->y))
			continue;
		fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\"><title>",
		        i < first ? "warm" : "pt", px(xa, p->x), py(ya, p->y));
		if (snap->time_mode)
			fprintf(f, "%.1f s", p->x);
		else
			fprintf(f, "%s requests", fmt_countd(a, sizeof(a), p->x));
		if (snap_is_thread(s))
			fprintf(f, ": %s threads live</title></circle>\n",
			        fmt_countd(b, sizeof(b), p->y));
		else
			fprintf(f, ": %s live</title></circle>\n",
			        fmt_bytes(b, sizeof(b), p->y, 0));
	}
}

static void put_plot(FILE *f, const struct snapshot *snap, const struct snap_stack *s)
{
	double xmin = 0, xmax = 0, ymax = 0;
	struct axis xa, ya;
	int i, n = 0, first = 0;

	if (s->has_verdict && s->verdict.n > 0 && s->verdict.n <= s->npoints)
		first = s->npoints - s->verdict.n;
	for (i = 0; i < s->npoints && s->points; i++) {
		const struct trend_point *p = &s->points[i];

		if (!is_num(p->x) || !is_num(p->y))
			continue;
		if (!n++ || p->x < xmin)
			xmin = p->x;
		if (n == 1 || p->x > xmax)
			xmax = p->x;
		if (p->y > ymax)
			ymax = p->y;
	}
	fprintf(f,
	        "<svg class=\"plot\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "role=\"img\" aria-label=\"live %s against %s\">\n",
	        PLOT_W, PLOT_H, PLOT_W, PLOT_H, snap_is_thread(s) ? "threads" : "bytes",
	        snap->time_mode ? "time" : "requests");
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", PLOT_W,
	        PLOT_H);
	count_axis(&xa, xmin, xmax);
	if (snap_is_thread(s))
		count_axis(&ya, 0, ymax > 0 ? ymax * 1.04 : 1);
	else
		bytes_axis(&ya, ymax);
	put_grid(f, &xa, &ya);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
	        (PLOT_L + PLOT_W - PLOT_R) / 2, PLOT_H - 6,
	        snap->time_mode ? "seconds since attach" : "requests handled");
	fprintf(f,
	        "<text transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">live "
	        "%s</text>\n",
	        (PLOT_T + PLOT_H - PLOT_B) / 2, snap_is_thread(s) ? "threads" : "bytes");
	if (!n) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no samples yet</text>\n",
		        (PLOT_L + PLOT_W - PLOT_R) / 2, (PLOT_T + PLOT_H - PLOT_B) / 2);
		fputs("</svg>\n", f);
		return;
	}
	put_fit(f, snap, s, first, &xa, &ya);
	put_points(f, snap, s, first, &xa, &ya);
	fputs("</svg>\n", f);
}

/* ---- suspects ---- */

struct rank {
	const struct snap_stack *s;
	int i;
};

/* Leaks first, then in snapshot order: by live bytes (a thread stack by its weight). */
static int by_suspicion(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	int lx = is_leak(x->s), ly = is_leak(y->s);

	if (lx != ly)
		return ly - lx;
	return x->i - y->i;
}

static void put_badge(FILE *f, const struct snap_stack *s)
{
	const char *v = verdict_of(s);

	fprintf(f, "<span class=\"badge v-%s\">%s</span>", v,
	        strcmp(v, "none") ? v
	        : s->has_verdict  ? "too early"
	                          : "no verdict");
}

/* A thread stack's numbers: threads live and started, its stacks reserved. */
static void put_thread_facts(FILE *f, const struct snap_stack *s)
{
	char a[32], b[32];

	fputs("<tr><th>share of threads</th><td>", f);
	if (is_num(s->growth_share) && s->growth_share >= 0)
		fprintf(f, "%.0f%% of the process's live threads", 100.0 * s->growth_share);
	else
		fputs("n/a", f);
	fprintf(f, "</td></tr>\n<tr><th>live</th><td>%s ", fmt_live(a, sizeof(a), s));
	fprintf(f, "<span class=\"muted\">(%s of stack reserved, not heap)</span></td></tr>\n",
	        fmt_bytes(b, sizeof(b), (double)s->st.live_bytes, 0));
	fprintf(f, "<tr><th>started / ended</th><td>%s started, ",
	        fmt_count(a, sizeof(a), s->st.allocs));
	fprintf(f, "%s ended</td></tr>\n</table>\n", fmt_count(b, sizeof(b), s->st.frees));
}

static void put_facts(FILE *f, const struct snapshot *snap, const struct snap_stack *s)
{
	const struct trend_result *t = &s->verdict;
	const char *what = snap_is_thread(s) ? "threads" : "bytes";
	char a[32], b[32], c[32];

	fputs("<table class=\"kv facts\">\n", f);
	if (s->has_verdict && t->verdict != V_NONE) {
		fprintf(f, "<tr><th>%s/%s</th><td><span class=\"big\">", what, per_unit(snap));
		put_slope(f, snap, snap_is_thread(s), t->slope);
		fputs("</span><br><span class=\"muted\">95% CI ", f);
		put_slope(f, snap, snap_is_thread(s), t->slope_lo);
		fputs(" .. ", f);
		put_slope(f, snap, snap_is_thread(s), t->slope_hi);
		if (snap_is_thread(s))
			fprintf(
			    f, "</span></td></tr>\n<tr><th>threads/hour</th><td>%+.0f threads/hour",
			    is_num(t->per_hour) ? t->per_hour : 0.0);
		else
			fprintf(f, "</span></td></tr>\n<tr><th>bytes/hour</th><td>%s/hour",
			        fmt_bytes(a, sizeof(a), t->per_hour, 1));
		if (is_num(t->per_hour) && !snap_is_thread(s))
			fprintf(f, " <span class=\"muted\">(%+.0f B)</span>", t->per_hour);
		fprintf(f, "</td></tr>\n<tr><th>R\xc2\xb2</th><td>%.3f</td></tr>\n",
		        is_num(t->r2) ? t->r2 : 0.0);
		fprintf(f, "<tr><th>trend</th><td>Mann-Kendall p %.2g, %d samples over ",
		        is_num(t->mk_p) ? t->mk_p : 1.0, t->n);
		if (snap->time_mode)
			fprintf(f, "%s", fmt_duration(b, sizeof(b), t->x_span));
		else
			fprintf(f, "%s requests", fmt_countd(b, sizeof(b), t->x_span));
		if (snap_is_thread(s))
			fprintf(f,
			        "</td></tr>\n<tr><th>growth</th><td>%+.0f threads over the samples "
			        "<span class=\"muted\">(peak %.0f)</span></td></tr>\n",
			        is_num(t->growth) ? t->growth : 0.0,
			        is_num(t->peak) ? t->peak : 0.0);
		else
			fprintf(f,
			        "</td></tr>\n<tr><th>growth</th><td>%s over the samples <span "
			        "class=\"muted\">(peak %s)</span></td></tr>\n",
			        fmt_bytes(c, sizeof(c), t->growth, 1),
			        fmt_bytes(a, sizeof(a), t->peak, 0));
	} else {
		fprintf(f, "<tr><th>%s/%s</th><td>%s</td></tr>\n", what, per_unit(snap),
		        s->has_verdict ? "not enough samples yet" : "no trend for this stack");
	}
	if (snap_is_thread(s)) {
		put_thread_facts(f, s);
		return;
	}
	fputs("<tr><th>share of growth</th><td>", f);
	if (is_num(s->growth_share) && s->growth_share >= 0)
		fprintf(f, "%.0f%% of the process's live bytes", 100.0 * s->growth_share);
	else
		fputs("n/a", f);
	fprintf(f, "</td></tr>\n<tr><th>live</th><td>%s in %s objects</td></tr>\n",
	        fmt_bytes(a, sizeof(a), (double)s->st.live_bytes, 0),
	        fmt_count(b, sizeof(b), s->st.live_objects));
	fprintf(f, "<tr><th>allocs / frees</th><td>%s allocs ",
	        fmt_count(a, sizeof(a), s->st.allocs));
	fprintf(f, "(%s), ", fmt_bytes(b, sizeof(b), (double)s->st.alloc_bytes, 0));
	fprintf(f, "%s frees ", fmt_count(a, sizeof(a), s->st.frees));
	fprintf(f, "(%s)</td></tr>\n</table>\n",
	        fmt_bytes(b, sizeof(b), (double)s->st.free_bytes, 0));
}

static void put_frames(FILE *f, const struct snap_stack *s)
{
	int i;

	fputs("<ol class=\"frames\">\n", f);
	if (s->nframes < 1 || !s->frames)
		fputs("<li class=\"muted\">no frames (the stack could not be read)</li>\n", f);
	for (i = 0; i < s->nframes && s->frames; i++) {
		const struct snap_frame *fr = &s->frames[i];

		fprintf(f, "<li><span class=\"n\">#%d</span><code>", i);
		if (fr->text[0] || fr->func[0])
			esc(f, frame_text(fr));
		else
			fprintf(f, "0x%llx", fr->addr);
		fputs("</code>", f);
		if (!fr->text[0] && fr->module[0]) {
			fputs(" <span class=\"muted\">", f);
			esc(f, fr->module);
			fputs("</span>", f);
		}
		fputs("</li>\n", f);
	}
	fputs("</ol>\n", f);
}

static void put_stack(FILE *f, const struct snapshot *snap, const struct snap_stack *s, int rank)
{
	fprintf(f, "<section class=\"card stack s-%s\" id=\"s%d\">\n<h3>", verdict_of(s), rank);
	put_badge(f, s);
	fprintf(f, " <span>[%d]</span> <code>", rank);
	esc(f, stack_name(s));
	fputs("</code> <span class=\"muted\">", f);
	escf(f, "pid %u \xc2\xb7 %s \xc2\xb7 stack %s", s->key.tgid, s->kind ? s->kind : "?",
	     s->id);
	fputs("</span></h3>\n<div class=\"row\">\n<div>\n", f);
	put_plot(f, snap, s);
	fputs("<div class=\"cap\"><span class=\"key\" style=\"background:#1d5fb4\"></span>samples "
	      "of the fit<span class=\"key\" style=\"border:1px solid #1d5fb4\"></span>warm-up"
	      "<span class=\"key\" style=\"background:#d32f2f;height:3px\"></span>Theil-Sen "
	      "line</div>\n</div>\n<div>\n",
	      f);
	put_facts(f, snap, s);
	fputs("</div>\n</div>\n", f);
	put_frames(f, s);
	fputs("</section>\n", f);
}

static void put_overview(FILE *f, const struct snapshot *snap, const struct rank *r, int n)
{
	char a[32];
	int i;

	fprintf(f,
	        "<section class=\"card\">\n<table class=\"list\">\n<tr><th>#</th><th>verdict"
	        "</th><th class=\"num\">per %s</th><th class=\"num\">per hour</th>"
	        "<th class=\"num\">live</th><th class=\"num\">R\xc2\xb2</th><th>allocated in"
	        "</th></tr>\n",
	        per_unit(snap));
	for (i = 0; i < n; i++) {
		const struct snap_stack *s = r[i].s;
		int fit = s->has_verdict && s->verdict.verdict != V_NONE;

		fprintf(f, "<tr><td><a href=\"#s%d\">[%d]</a></td><td>", i + 1, i + 1);
		put_badge(f, s);
		fputs("</td><td class=\"num\">", f);
		if (fit)
			put_slope(f, snap, snap_is_thread(s), s->verdict.slope);
		fputs("</td><td class=\"num\">", f);
		if (fit && snap_is_thread(s))
			fprintf(f, "%+.0f threads", s->verdict.per_hour);
		else if (fit)
			fprintf(f, "%s", fmt_bytes(a, sizeof(a), s->verdict.per_hour, 1));
		fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">",
		        fmt_live(a, sizeof(a), s));
		if (fit && is_num(s->verdict.r2))
			fprintf(f, "%.3f", s->verdict.r2);
		fputs("</td><td><code>", f);
		esc(f, stack_name(s));
		fputs("</code> <span class=\"muted\">", f);
		escf(f, "pid %u %s", s->key.tgid, s->kind ? s->kind : "?");
		fputs("</span></td></tr>\n", f);
	}
	fputs("</table>\n</section>\n", f);
}

static void put_suspects(FILE *f, const struct snapshot *snap, int top)
{
	struct rank *r;
	int i, n = snap->nstacks;

	fputs("<h2>Suspects</h2>\n", f);
	if (n <= 0 || !snap->stacks) {
		fputs("<p class=\"muted\">No allocation stack seen yet.</p>\n", f);
		return;
	}
	r = malloc(n * sizeof(*r));
	if (!r) {
		fputs("<p class=\"warn\">Out of memory: the stacks are left out.</p>\n", f);
		return;
	}
	for (i = 0; i < n; i++) {
		r[i].s = &snap->stacks[i];
		r[i].i = i;
	}
	qsort(r, n, sizeof(*r), by_suspicion);
	if (top > 0 && top < n)
		n = top;
	fprintf(f, "<p class=\"muted\">Leaks first, then by live bytes: %d of %d stacks.</p>\n", n,
	        snap->nstacks);
	put_overview(f, snap, r, n);
	for (i = 0; i < n; i++)
		put_stack(f, snap, r[i].s, i + 1);
	free(r);
}

/* ---- flame graph of live bytes ---- */

struct fnode {
	const char *name; /* NULL: the process node of pid */
	int pid;
	int parent, child, next; /* first child, next sibling; -1: none */
	int depth;
	double bytes, leak_bytes;
};

struct flame {
	struct fnode *v;
	int n, cap;
	int *slot; /* hash of (parent, name): node index, -1 when free */
	size_t nslot;
	int depth;
	double total;
};

static size_t node_hash(int parent, const char *name, int pid)
{
	size_t h = HASH_FNV_INIT ^ (size_t)(parent + 1) * 0x9E3779B97F4A7C15ULL;

	if (!name)
		return h ^ (size_t)(unsigned)pid * HASH_FNV_PRIME;
	return hash_fnv1a(h, name, strlen(name));
}

static int same_node(const struct fnode *a, int parent, const char *name, int pid)
{
	if (a->parent != parent)
		return 0;
	if (!a->name || !name)
		return !a->name && !name && a->pid == pid;
	return !strcmp(a->name, name);
}

static int flame_rehash(struct flame *fl, size_t nslot)
{
	int *slot = malloc(nslot * sizeof(*slot));
	int i;

	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, nslot * sizeof(*slot));
	for (i = 0; i < fl->n; i++) {
		const struct fnode *a = &fl->v[i];
		size_t h = node_hash(a->parent, a->name, a->pid) & (nslot - 1);

		while (slot[h] >= 0)
			h = (h + 1) & (nslot - 1);
		slot[h] = i;
	}
	free(fl->slot);
	fl->slot = slot;
	fl->nslot = nslot;
	return 0;
}

/* The child of parent called name (or pid's process node), made when new; -1: no memory. */
static int flame_child(struct flame *fl, int parent, const char *name, int pid)
{
	struct fnode *a;
	size_t h;

	if ((size_t)(fl->n + 1) * 2 > fl->nslot &&
	    flame_rehash(fl, fl->nslot ? fl->nslot * 2 : 1024))
		return -1;
	h = node_hash(parent, name, pid) & (fl->nslot - 1);
	for (; fl->slot[h] >= 0; h = (h + 1) & (fl->nslot - 1))
		if (same_node(&fl->v[fl->slot[h]], parent, name, pid))
			return fl->slot[h];
	if (VEC_GROW(fl->v, fl->cap, fl->n + 1))
		return -1;
	a = &fl->v[fl->n];
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->pid = pid;
	a->parent = parent;
	a->child = -1;
	a->next = -1;
	a->depth = parent >= 0 ? fl->v[parent].depth + 1 : 0;
	if (parent >= 0) {
		a->next = fl->v[parent].child;
		fl->v[parent].child = fl->n;
	}
	if (a->depth > fl->depth)
		fl->depth = a->depth;
	fl->slot[h] = fl->n;
	return fl->n++;
}

/* Root "all", a node per process when there are several, then the frames from the
 * outermost (main) to frame #0, the allocator's caller. */
static int flame_build(struct flame *fl, const struct snapshot *snap)
{
	int i, j, at;

	if (flame_child(fl, -1, "all", 0) < 0)
		return -ENOMEM;
	for (i = 0; i < snap->nstacks; i++) {
		const struct snap_stack *s = &snap->stacks[i];
		double live = (double)s->st.live_bytes, leak = is_leak(s) ? live : 0;

		if (!s->st.live_bytes || snap_is_thread(s))
			continue;
		at = 0;
		fl->v[0].bytes += live;
		fl->v[0].leak_bytes += leak;
		if (snap->nprocs > 1) {
			at = flame_child(fl, at, NULL, (int)s->key.tgid);
			if (at < 0)
				return -ENOMEM;
			fl->v[at].bytes += live;
			fl->v[at].leak_bytes += leak;
		}
		for (j = (s->frames ? s->nframes : 0) - 1; j >= 0; j--) {
			at = flame_child(fl, at, frame_text(&s->frames[j]), 0);
			if (at < 0)
				return -ENOMEM;
			fl->v[at].bytes += live;
			fl->v[at].leak_bytes += leak;
		}
	}
	fl->total = fl->v[0].bytes;
	return 0;
}

static void flame_free(struct flame *fl)
{
	free(fl->v);
	free(fl->slot);
}

struct kid {
	int i;
	double bytes;
};

static int by_bytes(const void *a, const void *b)
{
	const struct kid *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->i - y->i;
}

static unsigned name_hash(const char *s)
{
	return hash_fnv1a32(HASH_FNV32_INIT, s, s ? strlen(s) : 0);
}

/* Warm colours; stacks with a leak verdict hold the red ones. */
static void node_color(char *buf, size_t len, const struct fnode *a, int root)
{
	unsigned h = name_hash(a->name);

	if (root)
		snprintf(buf, len, "#c5ced6");
	else if (!a->name)
		snprintf(buf, len, "#a9c8ec");
	else if (a->leak_bytes * 2 >= a->bytes && a->leak_bytes > 0)
		snprintf(buf, len, "hsl(%u,76%%,%u%%)", h % 14, 56 + (h >> 8) % 10);
	else
		snprintf(buf, len, "hsl(%u,82%%,%u%%)", 28 + h % 26, 60 + (h >> 8) % 10);
}

/* One rectangle with its tooltip and, when it fits, its name. */
static void flame_rect(FILE *f, const struct snapshot *snap, const struct flame *fl, int i,
                       double x, double w)
{
	const struct fnode *a = &fl->v[i];
	const struct snap_process *p;
	double y = (fl->depth - a->depth) * FLAME_ROW;
	char color[40], b[32], name[96];
	const char *label = a->name;
	int fit;

	if (!label) {
		p = snapshot_process(snap, a->pid);
		snprintf(name, sizeof(name), "pid %d%s%s", a->pid, p ? " " : "", p ? p->comm : "");
		label = name;
	}
	node_color(color, sizeof(color), a, i == 0);
	fputs("<g><title>", f);
	esc(f, label);
	fprintf(f, "\n%s live (%.1f%%)", fmt_bytes(b, sizeof(b), a->bytes, 0),
	        100.0 * a->bytes / fl->total);
	if (a->leak_bytes > 0)
		fprintf(f, ", %s in leaking stacks", fmt_bytes(b, sizeof(b), a->leak_bytes, 0));
	fprintf(f,
	        "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
	        "rx=\"2\"/>",
	        x, y, w > 1 ? w - 0.5 : w, FLAME_ROW - 1, color);
	fit = (int)((w - 6) / FLAME_CHAR);
	if (fit >= 3) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + FLAME_ROW - 5.5);
		esc_cut(f, label, fit);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
}

/* Node i at x, then its children left to right, largest first. */
static void flame_node(FILE *f, const struct snapshot *snap, const struct flame *fl, int i,
                       double x)
{
	double w = fl->v[i].bytes / fl->total * FLAME_W;
	struct kid *kids;
	int nk = 0, k, c;

	if (w < FLAME_MIN_W)
		return;
	flame_rect(f, snap, fl, i, x, w);
	for (c = fl->v[i].child; c >= 0; c = fl->v[c].next)
		nk++;
	kids = nk ? malloc(nk * sizeof(*kids)) : NULL;
	if (!kids) { /* no children, or out of memory: in list order */
		for (c = fl->v[i].child; c >= 0; c = fl->v[c].next) {
			flame_node(f, snap, fl, c, x);
			x += fl->v[c].bytes / fl->total * FLAME_W;
		}
		return;
	}
	for (k = 0, c = fl->v[i].child; c >= 0; c = fl->v[c].next, k++) {
		kids[k].i = c;
		kids[k].bytes = fl->v[c].bytes;
	}
	qsort(kids, nk, sizeof(*kids), by_bytes);
	for (k = 0; k < nk; k++) {
		flame_node(f, snap, fl, kids[k].i, x);
		x += kids[k].bytes / fl->total * FLAME_W;
	}
	free(kids);
}

static void put_flame(FILE *f, const struct snapshot *snap)
{
	struct flame fl = {0};
	int h;

	fputs("<h2>Flame graph of live bytes</h2>\n<section class=\"card\">\n", f);
	if (flame_build(&fl, snap)) {
		fputs("<p class=\"warn\">Out of memory: no flame graph.</p>\n</section>\n", f);
		flame_free(&fl);
		return;
	}
	if (!(fl.total > 0)) {
		fputs("<p class=\"muted\">No live bytes to draw.</p>\n</section>\n", f);
		flame_free(&fl);
		return;
	}
	h = (fl.depth + 1) * FLAME_ROW;
	fprintf(f,
	        "<p class=\"cap\">Every stack holding live bytes, merged by frame, the "
	        "outermost at the bottom; widths are live bytes. Red: held by stacks with a leak "
	        "verdict. Hover for the numbers.</p>\n");
	fprintf(f,
	        "<svg class=\"flame\" width=\"100%%\" viewBox=\"0 0 %d %d\" role=\"img\" "
	        "aria-label=\"flame graph of live bytes\">\n",
	        FLAME_W, h);
	flame_node(f, snap, &fl, 0, 0);
	fputs("</svg>\n</section>\n", f);
	flame_free(&fl);
}

/* ---- the page and the file ---- */

static void put_page(FILE *f, const struct snapshot *snap, int top)
{
	int i;

	put_head(f, snap);
	put_title(f, snap);
	put_banner(f, snap);
	fputs("<h2>Processes</h2>\n", f);
	if (snap->nprocs <= 0 || !snap->procs)
		fputs("<p class=\"muted\">No process.</p>\n", f);
	for (i = 0; i < snap->nprocs && snap->procs; i++)
		put_process(f, snap, &snap->procs[i]);
	put_counters(f, snap);
	put_suspects(f, snap, top);
	put_flame(f, snap);
	fputs("<footer>Made by agentleak. Bytes per request are Theil-Sen slopes of live bytes "
	      "against requests handled, with their 95% interval; R\xc2\xb2 is that of the "
	      "least-squares line.</footer>\n</main>\n</body>\n</html>\n",
	      f);
}

struct page {
	const struct snapshot *snap;
	int top;
};

static int write_page(FILE *f, const void *arg)
{
	const struct page *p = arg;

	put_page(f, p->snap, p->top);
	return 0;
}

int html_write(const char *path, const struct snapshot *snap, int top, char *err, size_t errlen)
{
	if (!snap) {
		if (err && errlen)
			snprintf(err, errlen, "html: no snapshot");
		return -EINVAL;
	}
	return outfile_write(path, 0, write_page, &(struct page){snap, top}, err, errlen);
}

static int export_html(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen)
{
	return html_write(x->arg, snap, x->top, err, errlen) ? -1 : 0;
}

const struct exporter html_exporter = {
    .option = "html",
    .arg = "FILE",
    .help = "a self-contained HTML report, at exit and on SIGUSR1",
    .when = EXPORT_FINAL | EXPORT_SIGNAL,
    .file = true,
    .check = outfile_check,
    .write = export_html,
};
