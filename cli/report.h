/* report.h - the terminal report: per-process summary and top stacks by live bytes. */
#ifndef AL_REPORT_H
#define AL_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "allocator.h"
#include "analyse.h"
#include "sampler.h"
#include "symbolize.h"
#include "target.h"

struct report_target {
	const struct target *t;
	const struct al_allocator *al;
};

struct report_ctx {
	FILE *out;
	const struct report_target *targets;
	int ntargets;
	struct symbolizer *sym;
	struct sampler *sampler;
	int top;       /* stacks shown */
	int max_depth; /* frames shown per stack */
	struct analyser *an;
};

const char *al_kind_name(unsigned int kind);
/* Print one report. final: the closing report (different heading). elapsed in seconds. */
void report_print(const struct report_ctx *ctx, struct sample *smp, bool final, double elapsed);

#endif
