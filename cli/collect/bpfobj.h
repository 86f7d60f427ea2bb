/* SPDX-License-Identifier: GPL-2.0 */
/* bpfobj.h - load one of agentleak's BPF objects and say what the verifier thought.
 *
 * agentleak loads one BPF object per tier (agentleak.bpf.c, precise.bpf.c,
 * growth.bpf.c; see bpf/maps.bpf.h). bpfobj_load() loads one after the maps it shares
 * with the first are handed over, and keeps, per program, how many instructions the
 * verifier processed (bpf_prog_info.verified_insns) and how long it took (from the
 * verifier's statistics log). A program that is refused is named, with the verifier's
 * reason in words and what to do instead of a bare errno.
 */
#ifndef AL_BPFOBJ_H
#define AL_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_object_skeleton;

/* The kernel verifier's limit on processed instructions per program, and agentleak's
 * own budget: a tenth of it, so that another kernel's verifier has room to differ. */
#define BPF_VERIFIER_LIMIT 1000000
#define BPF_INSN_BUDGET    (BPF_VERIFIER_LIMIT / 10)

struct prog_stat {
	char object[16];    /* "agentleak", "precise", "growth" */
	char name[32];      /* the program */
	unsigned int insns; /* instructions the verifier processed */
	unsigned int usec;  /* verification time */
};

struct prog_stats {
	struct prog_stat *v;
	int n, cap;
};

/* Load the skeleton's object (opened and configured; loading it through the skeleton
 * maps its global variables): name is its short name in the statistics, what
 * its description in messages ("the growth tier"). Its maps named like a map of
 * shared (when not NULL) are shared instead of created. Appends each loaded program's
 * statistics to stats. alternative says what still works when this object cannot load
 * (for the error message). Returns 0, or -1 with err set. */
int bpfobj_load(struct bpf_object_skeleton *skel, const char *name, const char *what,
                struct bpf_object *shared, struct prog_stats *stats, const char *alternative,
                char *err, size_t errlen);
void prog_stats_free(struct prog_stats *stats);

/* Pure helpers (unit tested). */
/* "verification time N usec" and "processed N insns" of a statistics log; 0 when a
 * number is missing. */
void bpfobj_parse_stats(const char *log, unsigned int *usec, unsigned int *insns);
/* Why the verifier refused a program, in words, from its log and the load's errno. */
void bpfobj_explain(const char *log, int error, char *out, size_t len);

#endif
