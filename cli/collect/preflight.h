/* SPDX-License-Identifier: GPL-2.0 */
/* preflight.h - agentleak --check: can each mode run on this kernel, and what does each
 * BPF program cost the verifier? And before any run: may this process load them?
 *
 * Probes the kernel's features (kernel_features.c), then loads the BPF objects of every
 * mode, attaching nothing, and prints per program the instructions the verifier
 * processed, against its limit and agentleak's budget (a tenth of it), and the
 * verification time. The tests read it to keep every program within the budget.
 */
#ifndef AL_PREFLIGHT_H
#define AL_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

/* CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, in the effective set? Returns 0 (also when
 * the capabilities cannot be read: the BPF load will tell), or -1 with what to do in err. */
int preflight_privileges(char *err, size_t errlen);

/* Prints the report on stdout; returns the exit status: 0 when every mode can run and
 * every program is within the budget, 1 otherwise. */
int preflight_run(bool verbose);

#endif
