/* SPDX-License-Identifier: GPL-2.0 */
/* exporter.h - the interface every output format implements.
 *
 * An exporter is one file in export/ with one `const struct exporter` and one row in
 * the table of output.c: its option (which --help lists and main parses from that
 * table), how its argument is checked before tracing starts, what it writes and when.
 * output.c does the rest for all of them: refusing two outputs on one file, the
 * warnings and the exit status of failed writes, the end of the run when stdout's
 * reader goes away.
 */
#ifndef AL_EXPORTER_H
#define AL_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include "export/snapshot.h"

/* When an exporter writes (a mask). */
enum export_when {
	EXPORT_INTERVAL = 1 << 0, /* every INTERVAL report */
	EXPORT_FINAL = 1 << 1,    /* the closing report */
	EXPORT_SIGNAL = 1 << 2,   /* SIGUSR1, and the end of a --mode auto diagnosis window */
	EXPORT_FIRST = 1 << 3,    /* the first sample, before the first report (metrics) */
};

/* One enabled exporter: its arguments and whatever its open() made. */
struct export_ctx {
	const char *arg; /* the option's value (NULL for a flag or no option) */
	bool flag;       /* its flag option was given (--keep) */
	int top;         /* stacks listed per report (--top) */
	int stack_depth; /* frames printed per stack (--stack-depth) */
	void *state;
};

struct exporter {
	const char *option; /* --OPTION turns it on; NULL: on unless another stdout one is */
	const char *arg;    /* the option's argument in --help ("FILE"), NULL: a flag */
	const char *help;   /* its --help text, lines separated by "\n" */
	const char *flag;   /* an optional second option of this exporter (no argument) */
	const char *flag_help;
	const char *flag_alone; /* the error when the flag comes without the option */
	unsigned int when;      /* enum export_when */
	bool file;              /* arg is a file it writes: no other output may share it */
	bool to_stdout;         /* writes the report on standard output */
	bool all_stacks;        /* wants every stack symbolized, not only the top ones */
	/* Before tracing: is arg usable? -1 with a message. NULL: nothing to check. */
	int (*check)(const char *arg, char *err, size_t errlen);
	/* Make x->state (open a file, a socket). -1 with a message. NULL: no state. */
	int (*open)(struct export_ctx *x, char *err, size_t errlen);
	/* Write snap. 0, or -1 with a message (the run goes on with a warning). */
	int (*write)(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen);
	/* Every turn of the main loop (a listener serving its clients). NULL: nothing. */
	void (*service)(struct export_ctx *x);
	/* At exit: release the state. -1 with a message when that loses output. */
	int (*close)(struct export_ctx *x, char *err, size_t errlen);
};

/* The formats (one file each). */
extern const struct exporter text_exporter, json_exporter, json_file_exporter, prom_file_exporter,
    listen_exporter, pprof_exporter, folded_exporter, html_exporter;

#endif
