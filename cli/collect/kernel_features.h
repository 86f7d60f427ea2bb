/* SPDX-License-Identifier: GPL-2.0 */
/* kernel_features.h - what this kernel offers agentleak, probed before anything is loaded.
 *
 * Each feature a tier depends on is tried for real (a two-instruction program, a map
 * created and closed), the way libbpf-tools' trace_helpers.c probes kernels, so that
 * a missing one is named at start with the modes it rules out, instead of surfacing
 * as a load error.
 */
#ifndef AL_KERNEL_FEATURES_H
#define AL_KERNEL_FEATURES_H

#include <stdbool.h>
#include <stdio.h>

enum feature {
	FEAT_BTF,           /* /sys/kernel/btf/vmlinux (CO-RE, BTF tracepoints) */
	FEAT_RINGBUF,       /* BPF ring buffer map (mmap events) */
	FEAT_MMAPABLE,      /* mmapable BPF arrays (per-stack counters read without a syscall) */
	FEAT_TP_SYS_EXIT,   /* tp_btf/sys_exit */
	FEAT_UPROBES,       /* the uprobe perf PMU, with return probes */
	FEAT_ATTACH_COOKIE, /* bpf_get_attach_cookie (which allocator function was hit) */
	FEAT_TP_PAGE_FAULT, /* tp_btf/page_fault_user (x86 only) */
	FEAT_LOOP,          /* bpf_loop (the growth tier's stack scan and page walks) */
	FEAT_TASK_BTF,      /* bpf_get_current_task_btf (a probed allocator's caller) */
	FEAT_UPROBE_MULTI,  /* uprobe_multi links (optional: one link per program and process) */
	FEAT_MAX,
};

/* Which tiers need a feature. */
#define TIER_BASE    1 /* every mode */
#define TIER_PRECISE 2
#define TIER_GROWTH  4

struct features {
	bool have[FEAT_MAX];
};

void features_probe(struct features *f);
/* Does the kernel take uprobe_multi links (Linux 6.6)? Probed once. Not with
 * AGENTLEAK_NO_UPROBE_MULTI=1 in the environment (one perf link per probe, as before). */
bool feature_uprobe_multi(void);

#define AL_TRACE_UPROBE_MULTI    48 /* enum bpf_attach_type, Linux 6.6 */
#define AL_F_UPROBE_MULTI_RETURN 1

/* One link attaching prog_fd (loaded with expected attach type AL_TRACE_UPROBE_MULTI) at
 * cnt file offsets of path, with a cookie each (cookies may be NULL), as return probes
 * or entry probes, in process pid only (0: all). The link's fd, or -errno. */
int uprobe_multi_link(int prog_fd, const char *path, const unsigned long *offsets,
                      const unsigned long long *cookies, unsigned int cnt, bool retprobe, int pid);
/* The first feature that tiers (TIER_* bits) need and the kernel lacks, as a sentence
 * naming it and why it is needed; NULL when every one is there. */
const char *features_missing(const struct features *f, unsigned int tiers);
/* One line per feature: name, yes/no, what needs it. */
void features_print(FILE *out, const struct features *f);

#endif
