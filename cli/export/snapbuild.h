/* SPDX-License-Identifier: GPL-2.0 */
/* snapbuild.h - build a snapshot (snapshot.h) from a sample, the verdicts and symbols. */
#ifndef AL_SNAPBUILD_H
#define AL_SNAPBUILD_H

#include "target/allocator.h"
#include "analyse/analyse.h"
#include "collect/sampler.h"
#include "export/snapshot.h"
#include "symbols/pycode.h"
#include "symbols/pyobjects.h"
#include "symbols/symbolize.h"
#include "target/target.h"

struct snap_target {
	const struct target *t;
	const struct al_allocator *al;
	const struct py_interp *py; /* CPython's layout when the target runs it, else NULL */
	bool pymalloc;              /* py: small objects come from pymalloc's arenas */
};

struct snap_input {
	const struct sample *smp;
	struct analyser *an;
	struct symbolizer *sym;
	struct pysyms *pysyms;       /* Python frames (NULL: native frames only) */
	struct pyobjects *pyobjects; /* --python-objects (NULL: off) */
	struct sampler *sampler;
	const struct snap_target *targets;
	int ntargets;
	const char *request_source;
	double elapsed;
	double sample_seconds;
	unsigned long long sample_bytes;
	bool growth;           /* growth tier: rows are page faults */
	const char *mode;      /* "precise", "growth" or "auto" */
	int diagnosis;         /* auto: diagnosis windows opened so far */
	bool diagnosis_open;   /* auto: the precise tier is on */
	double diagnosis_left; /* auto, open: seconds until it closes */
	bool diagnosis_result; /* auto: the report of the window that just closed */
	double probe_hits_per_s;
	double overhead_cpu;
	bool final;
	int symbolize_top; /* symbolize the first N stacks; -1: all */
	bool list_all;     /* list every stack (pprof, folded, HTML); else what the first
	                    * symbolize_top and the leaks need (text, JSON, Prometheus) */
	int max_depth;     /* frames kept per stack */
};

int snapshot_build(struct snapshot *snap, const struct snap_input *in);
void snapshot_free(struct snapshot *snap);

#endif
