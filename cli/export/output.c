// SPDX-License-Identifier: GPL-2.0
/* output.c - send each report where the user asked: the table of exporters.
 *
 * One row per output format (export/exporter.h): the text report or JSON lines on
 * stdout every interval, --json-file appended, --prom-file rewritten atomically and
 * --listen serving the same page, --pprof, --folded and --html at exit (pprof and HTML
 * also on SIGUSR1). Every path is checked before tracing starts, so a typo fails in a
 * second with one line instead of after an hour of tracing; two outputs on one file
 * are refused. A write that fails is a warning, and the exit status says output was
 * lost; stdout's reader going away ends the run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/errbuf.h"
#include "export/exporter.h"
#include "export/outfile.h"
#include "export/output.h"

/* Every exporter, in the order --help lists their options. A new format: one file in
 * export/ and one row here. */
static const struct exporter *const exporters[] = {
    &text_exporter, &prom_file_exporter, &listen_exporter, &pprof_exporter,
    &json_exporter, &json_file_exporter, &folded_exporter, &html_exporter,
};
#define NEXPORTERS ((int)(sizeof(exporters) / sizeof(exporters[0])))
_Static_assert(sizeof(exporters) / sizeof(exporters[0]) <= OUTPUT_MAX, "raise OUTPUT_MAX");

struct outputs {
	int n;
	const struct exporter *ex[OUTPUT_MAX]; /* the enabled ones */
	struct export_ctx ctx[OUTPUT_MAX];
	int failed; /* writes that failed */
	char first_failure[600];
	bool stdout_closed; /* EPIPE: the reader of stdout went away */
};

const struct output_option *outputs_options(void)
{
	static struct output_option opts[2 * OUTPUT_MAX + 1];
	int i, n = 0;

	if (opts[0].name)
		return opts;
	for (i = 0; i < NEXPORTERS; i++) {
		const struct exporter *e = exporters[i];

		if (e->option)
			opts[n++] = (struct output_option){e->option, e->arg, e->help};
		if (e->flag)
			opts[n++] = (struct output_option){e->flag, NULL, e->flag_help};
	}
	return opts;
}

int outputs_set(struct output_opts *o, const char *name, const char *arg, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < NEXPORTERS; i++) {
		if (exporters[i]->option && !strcmp(name, exporters[i]->option)) {
			o->on[i] = true;
			o->arg[i] = arg;
			return 0;
		}
		if (exporters[i]->flag && !strcmp(name, exporters[i]->flag)) {
			o->flag[i] = true;
			return 0;
		}
	}
	snprintf(err, errlen, "--%s is no output's option", name);
	return -1;
}

bool outputs_given(const struct output_opts *o, const char *name, const char **arg)
{
	int i;

	for (i = 0; i < NEXPORTERS; i++) {
		const struct exporter *e = exporters[i];
		bool opt = e->option && !strcmp(name, e->option);

		if (!opt && !(e->flag && !strcmp(name, e->flag)))
			continue;
		if (arg)
			*arg = opt ? o->arg[i] : NULL;
		return opt ? o->on[i] : o->flag[i];
	}
	return false;
}

/* How a message names an output: its option, or standard output. */
static const char *label(const struct exporter *e, char *buf, size_t len)
{
	if (!e->option || e->to_stdout)
		return "standard output";
	snprintf(buf, len, "--%s", e->option);
	return buf;
}

/* A failed write: a warning now, and an error exit at the end (outputs_close). */
static void failed(struct outputs *out, const char *what, const char *msg)
{
	fprintf(stderr, "agentleak: warning: %s: %s\n", what, msg);
	if (!out->failed++)
		snprintf(out->first_failure, sizeof(out->first_failure), "%s: %s", what, msg);
}

/* stdout after a report: a closed pipe ends the run; other errors are failures. */
static void check_stdout(struct outputs *out)
{
	if (fflush(stdout) != EOF && !ferror(stdout))
		return;
	if (errno == EPIPE) {
		out->stdout_closed = true;
		return;
	}
	failed(out, "standard output", strerror(errno ? errno : EIO));
	clearerr(stdout);
}

/* Prefix a message with the option it came from, unless it already names it. */
static void prefixed(const char *opt, char *err, size_t errlen)
{
	if (strncmp(err, opt, strlen(opt)))
		err_prefix(err, errlen, "%s", opt);
}

/* Two outputs on one file would destroy each other: refused. */
static int check_distinct(const struct output_opts *o, char *err, size_t errlen)
{
	int i, j;

	for (i = 0; i < NEXPORTERS; i++)
		for (j = i + 1; o->on[i] && exporters[i]->file && j < NEXPORTERS; j++)
			if (o->on[j] && exporters[j]->file && outfile_same(o->arg[i], o->arg[j])) {
				snprintf(err, errlen,
				         "--%s %s and --%s %s are the same file: give each output "
				         "its own",
				         exporters[i]->option, o->arg[i], exporters[j]->option,
				         o->arg[j]);
				return -1;
			}
	return 0;
}

/* The enabled rows: those given, and the default stdout one unless another took
 * stdout. */
static void enable(struct outputs *out, const struct output_opts *o)
{
	bool stdout_taken = false;
	int i;

	for (i = 0; i < NEXPORTERS; i++)
		stdout_taken |= o->on[i] && exporters[i]->to_stdout;
	for (i = 0; i < NEXPORTERS; i++) {
		const struct exporter *e = exporters[i];

		if (e->option ? !o->on[i] : e->to_stdout && stdout_taken)
			continue;
		out->ex[out->n] = e;
		out->ctx[out->n] = (struct export_ctx){.arg = o->arg[i],
		                                       .flag = o->flag[i],
		                                       .top = o->top,
		                                       .stack_depth = o->stack_depth};
		out->n++;
	}
}

static int check_all(const struct output_opts *o, char *err, size_t errlen)
{
	char opt[64];
	int i;

	if (check_distinct(o, err, errlen))
		return -1;
	for (i = 0; i < NEXPORTERS; i++) {
		const struct exporter *e = exporters[i];

		if (o->flag[i] && !o->on[i]) {
			snprintf(err, errlen, "%s", e->flag_alone);
			return -1;
		}
		if (o->on[i] && e->check && e->check(o->arg[i], err, errlen)) {
			prefixed(label(e, opt, sizeof(opt)), err, errlen);
			return -1;
		}
	}
	return 0;
}

struct outputs *outputs_open(const struct output_opts *o, char *err, size_t errlen)
{
	struct outputs *out = calloc(1, sizeof(*out));
	char opt[64];
	int i;

	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (check_all(o, err, errlen)) {
		free(out);
		return NULL;
	}
	enable(out, o);
	for (i = 0; i < out->n; i++) {
		if (out->ex[i]->open && out->ex[i]->open(&out->ctx[i], err, errlen)) {
			prefixed(label(out->ex[i], opt, sizeof(opt)), err, errlen);
			/* Undo only what open made: no output was written yet. */
			while (i--)
				if (out->ex[i]->open && out->ex[i]->close)
					out->ex[i]->close(&out->ctx[i], opt, sizeof(opt));
			outfile_release_all();
			free(out);
			return NULL;
		}
	}
	return out;
}

bool outputs_want_all_stacks(const struct outputs *out)
{
	int i;

	for (i = 0; i < out->n; i++)
		if (out->ex[i]->all_stacks)
			return true;
	return false;
}

/* Hand snap to every output that writes at this moment. */
static void write_all(struct outputs *out, const struct snapshot *snap, unsigned int when)
{
	char err[512], opt[64];
	int i;

	for (i = 0; i < out->n; i++) {
		const struct exporter *e = out->ex[i];

		if (!(e->when & when) || (e->to_stdout && out->stdout_closed))
			continue;
		err[0] = '\0';
		if (e->write(&out->ctx[i], snap, err, sizeof(err)))
			failed(out, label(e, opt, sizeof(opt)), err);
		if (e->to_stdout)
			check_stdout(out);
	}
}

int outputs_report(struct outputs *out, const struct snapshot *snap)
{
	write_all(out, snap, snap->final ? EXPORT_FINAL : EXPORT_INTERVAL);
	return out->stdout_closed ? -EPIPE : 0;
}

void outputs_metrics(struct outputs *out, const struct snapshot *snap)
{
	write_all(out, snap, EXPORT_FIRST);
}

void outputs_dump(struct outputs *out, const struct snapshot *snap)
{
	write_all(out, snap, EXPORT_SIGNAL);
}

void outputs_service(struct outputs *out)
{
	int i;

	for (i = 0; i < out->n; i++)
		if (out->ex[i]->service)
			out->ex[i]->service(&out->ctx[i]);
}

int outputs_close(struct outputs *out)
{
	char err[512], opt[64];
	int i, r = 0;

	if (!out)
		return 0;
	for (i = 0; i < out->n; i++) {
		if (!out->ex[i]->close)
			continue;
		err[0] = '\0';
		if (out->ex[i]->close(&out->ctx[i], err, sizeof(err)))
			failed(out, label(out->ex[i], opt, sizeof(opt)), err);
	}
	if (out->stdout_closed) {
		fprintf(stderr, "agentleak: standard output was closed (broken pipe): stopped; the "
		                "final report was not printed\n");
		r = -1;
	} else if (out->failed) {
		fprintf(stderr, "agentleak: %d write(s) failed, output was lost (first: %s)\n",
		        out->failed, out->first_failure);
		r = -1;
	}
	outfile_release_all();
	free(out);
	return r;
}
