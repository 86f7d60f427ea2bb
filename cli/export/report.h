/* SPDX-License-Identifier: GPL-2.0 */
/* report.h - the terminal report, printed from a snapshot. */
#ifndef AL_REPORT_H
#define AL_REPORT_H

#include <stdio.h>
#include "export/snapshot.h"

/* Print one report (docs/cli-contract.md): top stacks, each with up to max_depth frames. */
void report_print(FILE *out, const struct snapshot *snap, int top, int max_depth);

#endif
