/* SPDX-License-Identifier: GPL-2.0 */
/* output.h - every place a report goes: terminal, JSON, Prometheus, pprof, folded, HTML. */
#ifndef AL_OUTPUT_H
#define AL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "export/snapshot.h"

struct output_opts {
	int top, stack_depth;
	bool json;                         /* JSON lines on stdout instead of the text report */
	const char *json_file;             /* append JSON lines */
	const char *prom_file;             /* textfile, rewritten each report */
	bool keep;                         /* keep prom_file at exit */
	const char *listen;                /* [ADDR:]PORT for GET /metrics */
	const char *pprof, *folded, *html; /* written at exit (pprof and html also on SIGUSR1) */
};

struct outputs;

/* One command-line option of the exporters, for the option table of main.c: --NAME ARG.
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

/* Check every path and open the listener before tracing starts: errors are one line. */
struct outputs *outputs_open(const struct output_opts *o, char *err, size_t errlen);
/* Do the file outputs need every stack symbolized (pprof, folded)? */
bool outputs_want_all_stacks(const struct outputs *out);
/* An interval report (final=false) or the closing one. A failed write is a warning on
 * stderr (and makes outputs_close() fail). Returns -EPIPE once stdout's reader has gone
 * away (the run should end), else 0. */
int outputs_report(struct outputs *out, const struct snapshot *snap);
/* Only the Prometheus outputs (the first sample, before the first report). */
void outputs_metrics(struct outputs *out, const struct snapshot *snap);
/* SIGUSR1: write the pprof and HTML files now. */
void outputs_dump(struct outputs *out, const struct snapshot *snap);
/* Serve the metrics listener without blocking; call every loop turn. */
void outputs_service(struct outputs *out);
/* Clean exit: remove the textfile unless --keep, close everything. Returns -1 (and
 * says so on stderr) when any write failed during the run or stdout was closed. */
int outputs_close(struct outputs *out);

#endif
