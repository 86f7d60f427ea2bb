// SPDX-License-Identifier: GPL-2.0
/* prom.c - the Prometheus text exposition of a snapshot, and the textfile.
 *
 * Families are written in a fixed order, each as HELP, TYPE, then all its samples,
 * so the page is valid for Prometheus and lint-clean for promtool whatever the
 * snapshot holds. The stacks exported are chosen once (top N by live bytes, then the
 * leaks outside them, duplicates of a pid and stack id skipped) and each family
 * walks that list. Thread stacks (kind "thread") have families of their own, in
 * threads, so that no byte family that means heap adds up their reserved stacks;
 * agentleak_stack_verdict has both, told apart by the kind label. The textfile is
 * replaced by rename(2): readers (node_exporter's textfile collector) see the old page
 * or the new one.
 */
#include <errno.h>
#include <float.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/text.h"
#include "export/exporter.h"
#include "export/httpd.h"
#include "export/names.h"
#include "export/outfile.h"
#include "export/prom.h"

struct family {
	const char *name;
	const char *type;
	const char *help;
};

/* Counters of a stack, read from struct al_stack_stats: heap stacks' families, then
 * thread stacks' (thread). */
static const struct stack_family {
	struct family fam;
	size_t off;
	bool thread;
} stack_families[] = {
    {{"agentleak_stack_live_bytes", "gauge",
      "Bytes allocated by the stack since attach and not freed yet."},
     offsetof(struct al_stack_stats, live_bytes),
     false},
    {{"agentleak_stack_live_objects", "gauge",
      "Blocks allocated by the stack since attach and not freed yet."},
     offsetof(struct al_stack_stats, live_objects),
     false},
    {{"agentleak_stack_allocations_total", "counter",
      "Allocation calls of the stack since attach."},
     offsetof(struct al_stack_stats, allocs),
     false},
    {{"agentleak_stack_allocated_bytes_total", "counter",
      "Bytes allocated by the stack since attach."},
     offsetof(struct al_stack_stats, alloc_bytes),
     false},
    {{"agentleak_stack_frees_total", "counter",
      "Frees of blocks the stack allocated since attach."},
     offsetof(struct al_stack_stats, frees),
     false},
    {{"agentleak_stack_live_threads", "gauge",
      "Threads the stack started since attach whose stacks are still mapped (kind thread)."},
     offsetof(struct al_stack_stats, live_objects),
     true},
    {{"agentleak_stack_thread_stack_reserved_bytes", "gauge",
      "Address space those thread stacks reserve: virtual, not resident (kind thread)."},
     offsetof(struct al_stack_stats, live_bytes),
     true},
    {{"agentleak_stack_threads_started_total", "counter",
      "Threads the stack started since attach (kind thread)."},
     offsetof(struct al_stack_stats, allocs),
     true},
    {{"agentleak_stack_threads_ended_total", "counter",
      "Of those, threads whose stacks were unmapped (kind thread)."},
     offsetof(struct al_stack_stats, frees),
     true},
};

static const struct family slope_request_family = {
    "agentleak_stack_slope_bytes_per_request", "gauge",
    "Theil-Sen slope of the stack's live bytes against requests (with --requests)."};
static const struct family slope_second_family = {
    "agentleak_stack_slope_bytes_per_second", "gauge",
    "Theil-Sen slope of the stack's live bytes against time (without --requests)."};
static const struct family thread_slope_request_family = {
    "agentleak_stack_slope_threads_per_request", "gauge",
    "Theil-Sen slope of a thread stack's live threads against requests (with --requests)."};
static const struct family thread_slope_second_family = {
    "agentleak_stack_slope_threads_per_second", "gauge",
    "Theil-Sen slope of a thread stack's live threads against time (without --requests)."};
static const struct family verdict_family = {
    "agentleak_stack_verdict", "gauge",
    "Verdict of the stack's live bytes trend (kind thread: live threads): 1 for the current "
    "verdict."};

enum proc_metric {
	PM_RSS,
	PM_ANON,
	PM_LIVE,
	PM_REQUESTS,
	PM_OOM_ETA,
	PM_CG_LIMIT,
	PM_RETAINED,
	PM_THREADS,
	PM_MAX,
};

static const struct family proc_families[PM_MAX] = {
    [PM_RSS] = {"agentleak_process_rss_bytes", "gauge", "Resident set size of the process."},
    [PM_ANON] = {"agentleak_process_anon_bytes", "gauge",
                 "Anonymous memory of the process (RssAnon)."},
    [PM_LIVE] = {"agentleak_process_live_bytes", "gauge",
                 "Bytes the process allocated since attach and has not freed yet (thread "
                 "stacks not counted)."},
    [PM_REQUESTS] = {"agentleak_process_requests_total", "counter",
                     "Requests counted since attach by the --requests source."},
    [PM_OOM_ETA] = {"agentleak_process_oom_eta_seconds", "gauge",
                    "Seconds until the cgroup memory limit is reached at the current rate."},
    [PM_CG_LIMIT] = {"agentleak_process_cgroup_limit_bytes", "gauge",
                     "Memory limit of the process's cgroup."},
    [PM_RETAINED] = {"agentleak_process_heap_retained_bytes", "gauge",
                     "Anonymous memory growth not live in tracked blocks (kept by the allocator)."},
    [PM_THREADS] = {"agentleak_process_live_threads", "gauge",
                    "Threads the process started since attach whose stacks are still mapped."},
};

static const struct family events_family = {"agentleak_events_total", "counter",
                                            "Allocator calls seen, by kind."};
static const struct family lost_family = {
    "agentleak_lost_total", "counter",
    "Events agentleak could not track, by reason (see the losses line of the report)."};
static const struct family sample_family = {"agentleak_sample_duration_seconds", "gauge",
                                            "Wall time the last sample of the BPF maps took."};
static const struct family hits_family = {
    "agentleak_probe_hits_per_second", "gauge",
    "Allocator probe hits per second in the targets over the last interval."};
static const struct family overhead_family = {
    "agentleak_estimated_overhead_cpus", "gauge",
    "Estimated CPU cost of the probes in the targets (hits x measured trap cost), in CPUs."};
static const struct family leaks_family = {
    "agentleak_leaks", "gauge", "Stacks whose verdict is leak (thread stacks not counted)."};
static const struct family thread_leaks_family = {"agentleak_thread_leaks", "gauge",
                                                  "Thread stacks whose verdict is leak."};
static const struct family precise_family = {
    "agentleak_precise_tier_active", "gauge",
    "1 while the allocator probes are on: --mode precise, or an open --mode auto window."};
static const struct family windows_family = {"agentleak_diagnosis_windows_total", "counter",
                                             "Diagnosis windows --mode auto has opened."};
static const struct family up_family = {"agentleak_up", "gauge", "1 while agentleak is tracing."};

/* ---- numbers and label values ---- */

static void put_head(FILE *f, const struct family *fam)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
}

/* The shortest of %.15g..%.17g that reads back as v; NaN and infinities as Go writes. */
static void put_double(FILE *f, double v)
{
	char buf[40];
	int prec;

	if (v != v) {
		fputs("NaN", f);
		return;
	}
	if (v > DBL_MAX || v < -DBL_MAX) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, f);
}

/* One character of a label value: in is its raw length (1 for an invalid byte),
 * the return value the bytes it takes in the value (U+FFFD for an invalid byte). */
static size_t next_char(const unsigned char *s, size_t n, size_t *in)
{
	size_t len = text_utf8_len((const char *)s, n);

	*in = len ? len : 1;
	return len ? len : 3;
}

static void put_char(FILE *f, const unsigned char *s, size_t len, bool valid)
{
	if (!valid)
		fputs("\xef\xbf\xbd", f);
	else if (*s == '\\')
		fputs("\\\\", f);
	else if (*s == '"')
		fputs("\\\"", f);
	else if (*s == '\n')
		fputs("\\n", f);
	else
		fwrite(s, 1, len, f);
}

/* Label value from the first n bytes of s (up to a NUL), valid UTF-8, escaped, at most
 * max bytes before escaping: a longer one is cut at a character and ends in "...". */
static void put_label_value(FILE *f, const char *str, size_t n, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t total = 0, out = 0, i, in;

	n = strnlen(str, n);
	for (i = 0; i < n; i += in)
		total += next_char(s + i, n - i, &in);
	if (total > max && max >= 3)
		max -= 3;
	for (i = 0; i < n; i += in) {
		size_t w = next_char(s + i, n - i, &in);

		if (out + w > max)
			break;
		put_char(f, s + i, in, w == in);
		out += w;
	}
	if (i < n)
		fputs("...", f);
}

/* ,name="value" */
static void put_label(FILE *f, const char *name, const char *value, size_t n, size_t max)
{
	fprintf(f, ",%s=\"", name);
	put_label_value(f, value ? value : "", value ? n : 0, max);
	fputc('"', f);
}

/* ---- stacks ---- */

static const char *top_frame(const struct snap_stack *s)
{
	return s->nframes > 0 && s->frames ? s->frames[0].text : "";
}

static void put_stack_labels(FILE *f, const struct snap_stack *s)
{
	fprintf(f, "pid=\"%u\"", (unsigned int)s->key.tgid);
	put_label(f, "stack", s->id, sizeof(s->id), SIZE_MAX);
	put_label(f, "kind", s->kind, SIZE_MAX, SIZE_MAX);
	put_label(f, "top_frame", top_frame(s), sizeof(s->frames[0].text), PROM_TOP_FRAME_MAX);
}

static bool same_stack(const struct snap_stack *a, const struct snap_stack *b)
{
	return a->key.tgid == b->key.tgid && !strncmp(a->id, b->id, sizeof(a->id));
}

static bool chosen(const struct snapshot *snap, const int *idx, int n, int i)
{
	for (int k = 0; k < n; k++)
		if (same_stack(&snap->stacks[idx[k]], &snap->stacks[i]))
			return true;
	return false;
}

static bool is_leak(const struct snap_stack *s)
{
	return s->has_verdict && s->verdict.verdict == V_LEAK;
}

/* Indices of the stacks to export: the first `top` (largest live bytes), then up to
 * `top` leaks among the others. Returns how many, or -ENOMEM. */
static int select_stacks(const struct snapshot *snap, int top, int **out)
{
	int n = snap->stacks ? snap->nstacks : 0, cnt = 0, leaks = 0, i;
	int *idx;

	*out = NULL;
	if (n <= 0 || top <= 0)
		return 0;
	idx = malloc(sizeof(*idx) * (size_t)(n < top ? n : top) * 2);
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < n && cnt < top; i++)
		if (!chosen(snap, idx, cnt, i))
			idx[cnt++] = i;
	for (; i < n && leaks < top; i++) {
		if (is_leak(&snap->stacks[i]) && !chosen(snap, idx, cnt, i)) {
			idx[cnt++] = i;
			leaks++;
		}
	}
	*out = idx;
	return cnt;
}

static void put_stack_family(FILE *f, const struct snapshot *snap, const int *idx, int n,
                             const struct stack_family *sf)
{
	put_head(f, &sf->fam);
	for (int k = 0; k < n; k++) {
		const struct snap_stack *s = &snap->stacks[idx[k]];
		const __u64 *v = (const __u64 *)((const char *)&s->st + sf->off);

		if (snap_is_thread(s) != sf->thread)
			continue;
		fprintf(f, "%s{", sf->fam.name);
		put_stack_labels(f, s);
		fprintf(f, "} %llu\n", (unsigned long long)*v);
	}
}

static bool has_verdict(const struct snap_stack *s)
{
	return s->has_verdict && s->verdict.verdict != V_NONE;
}

/* The slopes of the heap stacks (or of the thread stacks) in one unit. */
static void put_slopes(FILE *f, const struct snapshot *snap, const int *idx, int n,
                       const struct family *fam, bool want_time, bool thread)
{
	put_head(f, fam);
	if (snap->time_mode != want_time)
		return;
	for (int k = 0; k < n; k++) {
		const struct snap_stack *s = &snap->stacks[idx[k]];

		if (!has_verdict(s) || snap_is_thread(s) != thread)
			continue;
		fprintf(f, "%s{", fam->name);
		put_stack_labels(f, s);
		fputs("} ", f);
		put_double(f, s->verdict.slope);
		fputc('\n', f);
	}
}

static void put_verdicts(FILE *f, const struct snapshot *snap, const int *idx, int n)
{
	put_head(f, &verdict_family);
	for (int k = 0; k < n; k++) {
		const struct snap_stack *s = &snap->stacks[idx[k]];

		if (!has_verdict(s))
			continue;
		fprintf(f, "%s{", verdict_family.name);
		put_stack_labels(f, s);
		fprintf(f, ",verdict=\"%s\"} 1\n", verdict_label(s->verdict.verdict, NAME_TEXT));
	}
}

static void put_stacks(FILE *f, const struct snapshot *snap, const int *idx, int n)
{
	for (size_t i = 0; i < sizeof(stack_families) / sizeof(stack_families[0]); i++)
		put_stack_family(f, snap, idx, n, &stack_families[i]);
	put_slopes(f, snap, idx, n, &slope_request_family, false, false);
	put_slopes(f, snap, idx, n, &slope_second_family, true, false);
	put_slopes(f, snap, idx, n, &thread_slope_request_family, false, true);
	put_slopes(f, snap, idx, n, &thread_slope_second_family, true, true);
	put_verdicts(f, snap, idx, n);
}

/* ---- processes ---- */

struct num {
	bool is_double;
	unsigned long long u;
	double d;
};

static bool set_u(struct num *v, unsigned long long u)
{
	v->is_double = false;
	v->u = u;
	return true;
}

static bool set_d(struct num *v, double d)
{
	v->is_double = true;
	v->d = d;
	return true;
}

/* The value of metric m for p, false when it has none. */
static bool proc_value(const struct snapshot *snap, const struct snap_process *p, int m,
                       struct num *v)
{
	switch (m) {
	case PM_RSS:
		return p->have_mem && set_u(v, p->rss);
	case PM_ANON:
		return p->have_mem && set_u(v, p->anon);
	case PM_LIVE:
		return set_u(v, p->live_bytes);
	case PM_REQUESTS:
		return !snap->time_mode && set_d(v, p->requests);
	case PM_OOM_ETA:
		return p->have_mem && p->oom_eta >= 0 && p->oom_eta <= DBL_MAX &&
		       set_d(v, p->oom_eta);
	case PM_CG_LIMIT:
		return p->have_mem && p->cg_limit > 0 && set_u(v, p->cg_limit);
	case PM_RETAINED:
		return p->have_mem && set_u(v, p->retained);
	case PM_THREADS: /* once the process started a thread traced */
		return (p->thread_stacks || p->threads_started) && set_u(v, p->live_threads);
	}
	return false;
}

static void put_processes(FILE *f, const struct snapshot *snap)
{
	int n = snap->procs ? snap->nprocs : 0;
	struct num v;

	for (int m = 0; m < PM_MAX; m++) {
		put_head(f, &proc_families[m]);
		for (int i = 0; i < n; i++) {
			const struct snap_process *p = &snap->procs[i];

			if (!proc_value(snap, p, m, &v))
				continue;
			fprintf(f, "%s{pid=\"%d\"", proc_families[m].name, p->pid);
			put_label(f, "comm", p->comm, sizeof(p->comm), SIZE_MAX);
			fputs("} ", f);
			if (v.is_double)
				put_double(f, v.d);
			else
				fprintf(f, "%llu", v.u);
			fputc('\n', f);
		}
	}
}

/* ---- the tool ---- */

static void put_tool(FILE *f, const struct snapshot *snap)
{
	put_head(f, &events_family);
	fprintf(f, "%s{kind=\"alloc\"} %llu\n", events_family.name,
	        (unsigned long long)snap->counters[AL_C_ALLOC_CALLS]);
	fprintf(f, "%s{kind=\"free\"} %llu\n", events_family.name,
	        (unsigned long long)snap->counters[AL_C_FREE_CALLS]);
	put_head(f, &lost_family);
	for (int i = 0; i < nloss_names; i++)
		fprintf(f, "%s{reason=\"%s\"} %llu\n", lost_family.name,
		        loss_names[i].name[NAME_PROM],
		        (unsigned long long)snap->counters[loss_names[i].counter]);
	put_head(f, &sample_family);
	fprintf(f, "%s ", sample_family.name);
	put_double(f, snap->sample_seconds);
	fputc('\n', f);
	put_head(f, &hits_family);
	fprintf(f, "%s ", hits_family.name);
	put_double(f, snap->probe_hits_per_s);
	fputc('\n', f);
	put_head(f, &overhead_family);
	fprintf(f, "%s ", overhead_family.name);
	put_double(f, snap->overhead_cpu);
	fputc('\n', f);
	put_head(f, &leaks_family);
	fprintf(f, "%s %d\n", leaks_family.name, snap->nleaks);
	put_head(f, &thread_leaks_family);
	fprintf(f, "%s %d\n", thread_leaks_family.name, snap->nthread_leaks);
	put_head(f, &precise_family);
	fprintf(f, "%s %d\n", precise_family.name,
	        !strcmp(snapshot_mode(snap), "precise") || snap->diagnosis_open);
	put_head(f, &windows_family);
	fprintf(f, "%s %d\n", windows_family.name, snap->diagnosis);
	put_head(f, &up_family);
	fprintf(f, "%s 1\n", up_family.name);
}

int prom_write(FILE *f, const struct snapshot *snap, int top)
{
	int *idx, n;

	n = select_stacks(snap, top, &idx);
	if (n < 0)
		return n;
	errno = 0;
	put_stacks(f, snap, idx, n);
	put_processes(f, snap);
	put_tool(f, snap);
	free(idx);
	if (fflush(f) == EOF || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

int prom_render(const struct snapshot *snap, int top, char **buf, size_t *len)
{
	FILE *f;
	int r;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	r = prom_write(f, snap, top);
	if (fclose(f) && !r)
		r = errno ? -errno : -EIO;
	if (r) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return r;
}

/* ---- the textfile ---- */

struct page {
	const struct snapshot *snap;
	int top;
};

static int write_page(FILE *f, const void *arg)
{
	const struct page *p = arg;

	return prom_write(f, p->snap, p->top);
}

int prom_write_textfile(const char *path, const struct snapshot *snap, int top, char *err,
                        size_t errlen)
{
	struct page p = {snap, top};

	/* 0644 whatever the umask: the collector may run as another user. */
	return outfile_write(path, 0644, write_page, &p, err, errlen) ? -1 : 0;
}

void prom_remove_textfile(const char *path)
{
	if (path && *path)
		outfile_remove(path);
}

/* ---- the exporters: --prom-file and --listen ---- */

static int prom_file_write(struct export_ctx *x, const struct snapshot *snap, char *err,
                           size_t errlen)
{
	return prom_write_textfile(x->arg, snap, x->top, err, errlen) ? -1 : 0;
}

/* The textfile goes at exit unless --keep: node_exporter would serve it as current. */
static int prom_file_close(struct export_ctx *x, char *err, size_t errlen)
{
	if (!x->flag)
		prom_remove_textfile(x->arg);
	return 0;
}

const struct exporter prom_file_exporter = {
    .option = "prom-file",
    .arg = "PATH",
    .help = "Prometheus textfile (node_exporter textfile collector),\n"
            "rewritten atomically every INTERVAL; removed at exit",
    .flag = "keep",
    .flag_help = "keep the --prom-file at exit",
    .flag_alone = "--keep keeps the --prom-file at exit: add --prom-file PATH",
    .when = EXPORT_FIRST | EXPORT_INTERVAL | EXPORT_FINAL,
    .file = true,
    .check = outfile_check,
    .write = prom_file_write,
    .close = prom_file_close,
};

/* Where the metrics are served; a warning when every interface can reach them. */
static void say_listening(const char *addr, int port)
{
	const char *colon = strrchr(addr, ':');
	int hostlen = colon ? (int)(colon - addr) : 0;

	fprintf(stderr, "agentleak: metrics at http://%.*s:%d/metrics\n", hostlen, addr, port);
	if ((hostlen == 7 && !strncmp(addr, "0.0.0.0", 7)) ||
	    (hostlen == 4 && !strncmp(addr, "[::]", 4)) || hostlen == 0)
		fprintf(stderr,
		        "agentleak: warning: --listen %s: every network interface can reach the "
		        "metrics (process names, stacks); bind 127.0.0.1 or a private address\n",
		        addr);
}

static int listen_open(struct export_ctx *x, char *err, size_t errlen)
{
	char addr[256];

	/* "9464" means 127.0.0.1:9464: never listen on every interface by surprise. */
	if (strspn(x->arg, "0123456789") == strlen(x->arg))
		snprintf(addr, sizeof(addr), "127.0.0.1:%s", x->arg);
	else
		snprintf(addr, sizeof(addr), "%s", x->arg);
	x->state = httpd_open(addr, err, errlen);
	if (!x->state)
		return -1;
	say_listening(addr, httpd_port(x->state));
	return 0;
}

static int listen_write(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen)
{
	size_t len;
	char *body;

	if (prom_render(snap, x->top, &body, &len)) {
		snprintf(err, errlen, "cannot render the metrics");
		return -1;
	}
	httpd_set_body(x->state, body, len);
	free(body);
	return 0;
}

static void listen_service(struct export_ctx *x)
{
	httpd_service(x->state);
}

static int listen_close(struct export_ctx *x, char *err, size_t errlen)
{
	httpd_close(x->state);
	return 0;
}

const struct exporter listen_exporter = {
    .option = "listen",
    .arg = "[ADDR:]PORT",
    .help = "serve the same metrics at http://ADDR:PORT/metrics\n(ADDR defaults to 127.0.0.1)",
    .when = EXPORT_FIRST | EXPORT_INTERVAL | EXPORT_FINAL,
    .open = listen_open,
    .write = listen_write,
    .service = listen_service,
    .close = listen_close,
};
