// SPDX-License-Identifier: GPL-2.0
/* json.c - one JSON object per report (JSON Lines), schema in docs/json-schema.json.
 *
 * Written straight to a FILE: strings escaped per RFC 8259 with invalid UTF-8 bytes
 * replaced by U+FFFD, integers printed exactly, doubles with the fewest digits that
 * read back to the same value (at most 17), NaN and infinities as null. A thread stack
 * (kind "thread") keeps the stack fields (live_objects are its live threads) and says
 * its verdict's unit (threads/request); its process's threads are apart from the heap.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "base/text.h"
#include "export/exporter.h"
#include "export/json.h"
#include "export/outfile.h"
#include "export/names.h"

/* A JSON string of s (at most max bytes). */
static void put_str(FILE *f, const char *s, size_t max)
{
	size_t i = 0, k, n = strnlen(s, max);

	putc('"', f);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			i++;
		} else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((k = text_utf8_len(s + i, n - i))) {
			fwrite(s + i, 1, k, f);
			i += k;
		} else {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
		}
	}
	putc('"', f);
}

/* The string, or null when it is NULL or empty. */
static void put_str_or_null(FILE *f, const char *s, size_t max)
{
	if (s && *s)
		put_str(f, s, max);
	else
		fputs("null", f);
}

static void put_num(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, f);
}

/* ,"key": */
static void key(FILE *f, const char *k)
{
	fprintf(f, ",\"%s\":", k);
}

static void u64_field(FILE *f, const char *k, unsigned long long v)
{
	key(f, k);
	fprintf(f, "%llu", v);
}

static void num_field(FILE *f, const char *k, double v)
{
	key(f, k);
	put_num(f, v);
}

static void bool_field(FILE *f, const char *k, bool v)
{
	key(f, k);
	fputs(v ? "true" : "false", f);
}

static void put_process(FILE *f, const struct snap_process *p)
{
	fprintf(f, "{\"pid\":%d", p->pid);
	key(f, "comm");
	put_str(f, p->comm, sizeof(p->comm));
	key(f, "flavor");
	put_str(f, p->flavor, sizeof(p->flavor));
	key(f, "allocator");
	put_str(f, p->allocator, sizeof(p->allocator));
	bool_field(f, "exited", p->exited);
	u64_field(f, "live_bytes", p->live_bytes);
	u64_field(f, "live_objects", p->live_objects);
	u64_field(f, "allocs", p->allocs);
	u64_field(f, "frees", p->frees);
	key(f, "nstacks");
	fprintf(f, "%d", p->nstacks);
	key(f, "threads");
	fprintf(f, "{\"live\":%llu", p->live_threads);
	key(f, "stacks");
	fprintf(f, "%d", p->thread_stacks);
	u64_field(f, "reserved_bytes", p->thread_reserved);
	u64_field(f, "started", p->threads_started);
	u64_field(f, "ended", p->threads_ended);
	putc('}', f);
	num_field(f, "requests", p->requests);
	key(f, "python");
	if (p->python[0]) {
		fputs("{\"version\":", f);
		put_str(f, p->python, sizeof(p->python));
		bool_field(f, "pymalloc", p->pymalloc);
		putc('}', f);
	} else {
		fputs("null", f);
	}
	key(f, "memory");
	if (p->have_mem) {
		fprintf(f, "{\"rss\":%llu", p->rss);
		u64_field(f, "anon", p->anon);
		u64_field(f, "cg_limit", p->cg_limit);
		u64_field(f, "cg_usage", p->cg_usage);
		num_field(f, "oom_eta", p->oom_eta >= 0 ? p->oom_eta : NAN);
		bool_field(f, "rss_note", p->rss_note);
		u64_field(f, "retained", p->retained);
		putc('}', f);
	} else {
		fputs("null", f);
	}
	putc('}', f);
}

static void put_verdict(FILE *f, const struct snapshot *snap, const struct snap_stack *s)
{
	const struct trend_result *t = &s->verdict;

	if (!s->has_verdict) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"name\":\"%s\"", verdict_label(t->verdict, NAME_JSON));
	key(f, "unit");
	fprintf(f, "\"%s/%s\"", snap_is_thread(s) ? "threads" : "B",
	        snap->time_mode ? "s" : "request");
	num_field(f, "slope", t->slope);
	num_field(f, "slope_lo", t->slope_lo);
	num_field(f, "slope_hi", t->slope_hi);
	num_field(f, "per_hour", t->per_hour);
	num_field(f, "r2", t->r2);
	num_field(f, "mk_z", t->mk_z);
	num_field(f, "mk_p", t->mk_p);
	num_field(f, "requests", t->x_span);
	num_field(f, "growth_share", s->growth_share >= 0 ? s->growth_share : NAN);
	key(f, "samples");
	fprintf(f, "%d", t->n);
	num_field(f, "growth", t->growth);
	num_field(f, "baseline", t->baseline);
	num_field(f, "peak", t->peak);
	putc('}', f);
}

static void put_frame(FILE *f, const struct snap_frame *fr)
{
	bool has_func = fr->func[0], has_module = fr->module[0];

	fprintf(f, "{\"addr\":\"0x%llx\"", fr->addr);
	key(f, "func");
	put_str_or_null(f, fr->func, sizeof(fr->func));
	key(f, "off");
	if (has_func)
		fprintf(f, "%llu", fr->off);
	else
		fputs("null", f);
	key(f, "file");
	put_str_or_null(f, fr->file, sizeof(fr->file));
	key(f, "line");
	if (fr->line > 0)
		fprintf(f, "%d", fr->line);
	else
		fputs("null", f);
	key(f, "module");
	put_str_or_null(f, fr->module, sizeof(fr->module));
	key(f, "module_off");
	if (has_module)
		fprintf(f, "%llu", fr->module_off);
	else
		fputs("null", f);
	putc('}', f);
}

/* --python-objects: null, or the types found in a sample of the stack's blocks. */
static void put_objects(FILE *f, const struct snap_objects *o)
{
	int i;

	if (!o) {
		fputs("null", f);
		return;
	}
	fputs("{\"unit\":", f);
	put_str(f, o->unit, 32);
	u64_field(f, "read", o->read);
	u64_field(f, "unread", o->unread);
	key(f, "types");
	putc('[', f);
	for (i = 0; i < o->ntypes; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", f);
		put_str(f, o->types[i].name, sizeof(o->types[i].name));
		u64_field(f, "objects", o->types[i].objects);
		u64_field(f, "bytes", o->types[i].bytes);
		putc('}', f);
	}
	putc(']', f);
	u64_field(f, "other_objects", o->other_objects);
	u64_field(f, "other_bytes", o->other_bytes);
	putc('}', f);
}

static void put_stack(FILE *f, const struct snapshot *snap, const struct snap_stack *s)
{
	const struct al_stack_stats *st = &s->st;
	int i;

	fputs("{\"id\":", f);
	put_str(f, s->id, sizeof(s->id));
	key(f, "pid");
	fprintf(f, "%u", s->key.tgid);
	key(f, "kind");
	put_str(f, s->kind ? s->kind : "?", 64);
	u64_field(f, "live_bytes", st->live_bytes);
	u64_field(f, "live_objects", st->live_objects);
	u64_field(f, "untracked", st->untracked);
	u64_field(f, "allocs", st->allocs);
	u64_field(f, "alloc_bytes", st->alloc_bytes);
	u64_field(f, "frees", st->frees);
	u64_field(f, "free_bytes", st->free_bytes);
	key(f, "verdict");
	put_verdict(f, snap, s);
	key(f, "python_objects");
	put_objects(f, s->objects);
	key(f, "frames");
	putc('[', f);
	for (i = 0; s->frames && i < s->nframes; i++) {
		if (i)
			putc(',', f);
		put_frame(f, &s->frames[i]);
	}
	fputs("]}", f);
}

static void put_losses(FILE *f, const __u64 *c)
{
	int i;

	for (i = 0; i < nloss_names; i++)
		fprintf(f, "%c\"%s\":%llu", i ? ',' : '{', loss_names[i].name[NAME_JSON],
		        (unsigned long long)c[loss_names[i].counter]);
	putc('}', f);
}

static void put_events(FILE *f, const __u64 *c)
{
	fprintf(f, "{\"alloc_calls\":%llu", (unsigned long long)c[AL_C_ALLOC_CALLS]);
	u64_field(f, "free_calls", c[AL_C_FREE_CALLS]);
	u64_field(f, "nested", c[AL_C_NESTED]);
	u64_field(f, "failed_allocs", c[AL_C_FAILED_ALLOCS]);
	putc('}', f);
}

int json_write(FILE *f, const struct snapshot *snap, int top)
{
	int i, n;

	if (!f || !snap)
		return -EINVAL;
	errno = 0;
	n = snap->stacks ? snap->nstacks : 0;
	if (top > 0 && top < n)
		n = top;
	fprintf(f, "{\"schema\":%d", JSON_SCHEMA_VERSION);
	num_field(f, "time", snap->unix_time);
	num_field(f, "elapsed", snap->elapsed);
	bool_field(f, "final", snap->final);
	key(f, "request_source");
	put_str(f, snap->request_source ? snap->request_source : "time", 4096);
	bool_field(f, "time_mode", snap->time_mode);
	num_field(f, "sample_seconds", snap->sample_seconds);
	u64_field(f, "sample_bytes", snap->sample_bytes);
	num_field(f, "probe_hits_per_s", snap->probe_hits_per_s);
	num_field(f, "overhead_cpus", snap->overhead_cpu);
	key(f, "mode");
	put_str(f, snapshot_mode(snap), 16);
	key(f, "diagnosis");
	fprintf(f, "{\"windows\":%d", snap->diagnosis);
	bool_field(f, "open", snap->diagnosis_open);
	num_field(f, "seconds_left", snap->diagnosis_open ? snap->diagnosis_left : 0);
	bool_field(f, "result", snap->diagnosis_result);
	putc('}', f);
	key(f, "processes");
	putc('[', f);
	for (i = 0; snap->procs && i < snap->nprocs; i++) {
		if (i)
			putc(',', f);
		put_process(f, &snap->procs[i]);
	}
	putc(']', f);
	key(f, "nstacks");
	fprintf(f, "%d", snap->stacks && snap->nstacks > 0 ? snapshot_nstacks(snap) : 0);
	key(f, "stacks");
	putc('[', f);
	for (i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		put_stack(f, snap, &snap->stacks[i]);
	}
	putc(']', f);
	key(f, "losses");
	put_losses(f, snap->counters);
	key(f, "events");
	put_events(f, snap->counters);
	key(f, "leaks");
	fprintf(f, "{\"count\":%d", snap->nleaks);
	num_field(f, "slope", snap->leak_slope);
	key(f, "thread_count");
	fprintf(f, "%d", snap->nthread_leaks);
	num_field(f, "thread_slope", snap->thread_slope);
	fputs("}}\n", f);
	if (fflush(f) || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

static int export_json(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen)
{
	json_write(stdout, snap, x->top);
	return 0;
}

const struct exporter json_exporter = {
    .option = "json",
    .help = "one JSON object per report on stdout instead of text",
    .when = EXPORT_INTERVAL | EXPORT_FINAL,
    .to_stdout = true,
    .write = export_json,
};

static int json_file_open(struct export_ctx *x, char *err, size_t errlen)
{
	x->state = outfile_append(x->arg, err, errlen);
	return x->state ? 0 : -1;
}

static int json_file_write(struct export_ctx *x, const struct snapshot *snap, char *err,
                           size_t errlen)
{
	int r = json_write(x->state, snap, x->top);

	if (!r)
		return 0;
	snprintf(err, errlen, "%s", strerror(-r));
	clearerr(x->state);
	return -1;
}

static int json_file_close(struct export_ctx *x, char *err, size_t errlen)
{
	if (!fclose(x->state))
		return 0;
	snprintf(err, errlen, "%s", strerror(errno));
	return -1;
}

const struct exporter json_file_exporter = {
    .option = "json-file",
    .arg = "FILE",
    .help = "append one JSON object per report to FILE",
    .when = EXPORT_INTERVAL | EXPORT_FINAL,
    .file = true,
    .check = outfile_check,
    .open = json_file_open,
    .write = json_file_write,
    .close = json_file_close,
};
