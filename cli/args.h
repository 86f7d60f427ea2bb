/* SPDX-License-Identifier: GPL-2.0 */
/* args.h - agentleak's command line: the settings of a run, read from argv by the option
 * table of args.c (base/options.c parses it and writes --help from it; the exporters'
 * options come from export/output.h).
 */
#ifndef AL_ARGS_H
#define AL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include "analyse/trend.h"
#include "tier.h"
#include "export/output.h"

#define AL_MAX_TARGETS 64

struct config {
	int pids[AL_MAX_TARGETS]; /* -p, in the order given */
	int npids;
	double interval; /* INTERVAL: seconds between reports */
	long count;      /* COUNT: reports, then the end; 0: no limit */
	double duration; /* -d: seconds, then the end; 0: no limit */
	int top;
	int stack_depth;
	unsigned int max_allocs;
	unsigned int max_stacks;
	bool verbose;
	const char *requests; /* --requests SOURCE, NULL: time */
	double sample_period;
	unsigned long long sample_bytes;
	enum tier_mode mode;
	double diagnose_for; /* --mode auto: window length (60) */
	double diagnose_gap; /* < 0: DIAG_QUIET_FACTOR x diagnose_for */
	bool check;          /* --check: probe the kernel and the BPF programs, then exit */
	bool no_python;      /* --no-python: no Python frames */
	bool python_objects; /* --python-objects: type names of leaked blocks */
	struct trend_params trend;
	struct output_opts out; /* the exporters' options, top and stack_depth */
};

/* Fill c from argv: defaults, options, INTERVAL and COUNT, the checks across options.
 * Returns 0, OPT_STOP (options.h) when --help or --version was printed (exit 0), or -1
 * with a one-line reason in err. */
int args_parse(struct config *c, int argc, char **argv, char *err, size_t errlen);

#endif
