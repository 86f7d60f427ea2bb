/* SPDX-License-Identifier: GPL-2.0 */
/* output.h - the fan-out of each report to every output the user asked for.
 *
 * The outputs are the exporters of the table in output.c (export/exporter.h): main
 * takes their options from outputs_options(), records them with outputs_set(), opens
 * them all before tracing starts and hands each snapshot to outputs_report(),
 * outputs_metrics() or outputs_dump(); each exporter writes at the moments it asked for.
 */
#ifndef AL_OUTPUT_H
#define AL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "export/snapshot.h"

#define OUTPUT_MAX 16 /* exporters in the table */

/* What the command line asked for: the options of the exporters, and the report's size. */
struct output_opts {
	int top, stack_depth;
	bool on[OUTPUT_MAX]; /* --OPTION given, by row of the table */
	const char *arg[OUTPUT_MAX];
	bool flag[OUTPUT_MAX]; /* the row's flag option given (--keep) */
};

struct outputs;

/* One command-line option of the exporters, for the option table of args.c: --NAME ARG.
 * help is the text of its --help entry, one string per line ("\n" between lines). */
struct output_option {
	const char *name; /* without the dashes: "pprof" */
	const char *arg;  /* "FILE", or NULL for a flag */
	const char *help;
};

/* The exporters' options, in the order --help lists them; the last has name NULL. */
const struct output_option *outputs_options(void);
/* Record --NAME ARG (ARG is NULL for a flag) in o for outputs_open(). Returns -1 with a
 * message for a name that is no exporter's option. */
int outputs_set(struct output_opts *o, const char *name, const char *arg, char *err, size_t errlen);

/* Was --NAME given? *arg (when arg is not NULL) gets its value, NULL for a flag. */
bool outputs_given(const struct output_opts *o, const char *name, const char **arg);

/* Check every path and open every output before tracing starts: errors are one line. */
struct outputs *outputs_open(const struct output_opts *o, char *err, size_t errlen);
/* Do the outputs need every stack symbolized (pprof, folded)? */
bool outputs_want_all_stacks(const struct outputs *out);
/* An interval report (snap->final false) or the closing one. A failed write is a warning
 * on stderr (and makes outputs_close() fail). Returns -EPIPE once stdout's reader has
 * gone away (the run should end), else 0. */
int outputs_report(struct outputs *out, const struct snapshot *snap);
/* The first sample, before the first report: the metrics outputs only. */
void outputs_metrics(struct outputs *out, const struct snapshot *snap);
/* SIGUSR1 or the end of a diagnosis window: the files that are written then. */
void outputs_dump(struct outputs *out, const struct snapshot *snap);
/* Serve what must be served without blocking (the metrics listener); every loop turn. */
void outputs_service(struct outputs *out);
/* Clean exit: each output closes (the textfile goes unless --keep). Returns -1 (and
 * says so on stderr) when any write failed during the run or stdout was closed. */
int outputs_close(struct outputs *out);

#endif
