// SPDX-License-Identifier: GPL-2.0
/* kernel_features.c - probe the kernel for what each tier needs (see kernel_features.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/kernel_features.h"

#define UPROBE_PMU "/sys/bus/event_source/devices/uprobe"

static const struct {
	const char *name;
	unsigned int tiers;
	const char *why;
} table[FEAT_MAX] = {
    [FEAT_BTF] = {"kernel BTF", TIER_BASE | TIER_PRECISE | TIER_GROWTH,
                  "/sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF) for CO-RE and tracepoints"},
    [FEAT_RINGBUF] = {"ring buffer", TIER_BASE, "BPF ring buffer maps (Linux 5.8)"},
    [FEAT_MMAPABLE] = {"mmapable arrays", TIER_BASE, "BPF_F_MMAPABLE arrays (Linux 5.5)"},
    [FEAT_TP_SYS_EXIT] = {"tp_btf/sys_exit", TIER_BASE,
                          "BTF-typed raw tracepoint programs on sys_exit (Linux 5.5)"},
    [FEAT_UPROBES] = {"uprobes", TIER_PRECISE,
                      "uprobes and uretprobes through the perf PMU (" UPROBE_PMU ")"},
    [FEAT_ATTACH_COOKIE] = {"bpf_get_attach_cookie", TIER_PRECISE,
                            "the bpf_get_attach_cookie helper (Linux 5.15)"},
    [FEAT_TP_PAGE_FAULT] = {"tp_btf/page_fault_user", TIER_GROWTH,
                            "the exceptions:page_fault_user tracepoint (x86-64)"},
    [FEAT_LOOP] = {"bpf_loop", TIER_GROWTH, "the bpf_loop helper (Linux 5.17)"},
    [FEAT_TASK_BTF] = {"bpf_get_current_task_btf", TIER_GROWTH,
                       "the bpf_get_current_task_btf helper (Linux 5.11)"},
    [FEAT_UPROBE_MULTI] = {"uprobe_multi links", 0,
                           "uprobe_multi links (Linux 6.6): a process's allocator probes are "
                           "detached in one wait instead of one per probe"},
};

#define INSN(c, d, i)                                                                              \
	{                                                                                          \
		.code = (c), .dst_reg = (d), .imm = (i)                                            \
	}

/* Load a tracing program on the BTF tracepoint tp that calls helper (0: none). */
static bool tracing_loads(const char *tp, int helper)
{
	struct bpf_insn prog[] = {
	    INSN(BPF_JMP | BPF_CALL, 0, helper),
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0),
	    INSN(BPF_JMP | BPF_EXIT, 0, 0),
	};
	int id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP), fd;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
	            .attach_btf_id = id);

	if (id < 0)
		return false;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", helper ? prog : prog + 1,
	                   helper ? 3 : 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool mmapable_array(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Load a uprobe_multi program and link it to "/": a kernel that has such links says the
 * path is no regular file (EBADF); one without refuses the attach type (EINVAL). */
static bool probe_uprobe_multi(void)
{
	struct bpf_insn prog[] = {
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0),
	    INSN(BPF_JMP | BPF_EXIT, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = AL_TRACE_UPROBE_MULTI);
	unsigned long off = 0;
	int fd, link;

	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", prog, 2, &opts);
	if (fd < 0)
		return false;
	link = uprobe_multi_link(fd, "/", &off, NULL, 1, false, 0);
	close(fd);
	if (link >= 0) {
		close(link);
		return false; /* not what a kernel with these links does */
	}
	return link == -EBADF;
}

bool feature_uprobe_multi(void)
{
	static int have = -1;

	if (have < 0) {
		const char *no = getenv("AGENTLEAK_NO_UPROBE_MULTI");

		have = (no && *no && strcmp(no, "0")) ? 0 : probe_uprobe_multi();
	}
	return have;
}

int uprobe_multi_link(int prog_fd, const char *path, const unsigned long *offsets,
                      const unsigned long long *cookies, unsigned int cnt, bool retprobe, int pid)
{
	/* union bpf_attr's link_create for uprobe_multi, which this system's headers may
	 * predate; the rest of the union must be zero. */
	union {
		struct {
			__u32 prog_fd, target_fd, attach_type, flags;
			__u64 path, offsets, ref_ctr_offsets, cookies;
			__u32 cnt, flags2, pid;
		} l;
		char size[128];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.l.prog_fd = prog_fd;
	attr.l.attach_type = AL_TRACE_UPROBE_MULTI;
	attr.l.path = (__u64)(uintptr_t)path;
	attr.l.offsets = (__u64)(uintptr_t)offsets;
	attr.l.cookies = (__u64)(uintptr_t)cookies;
	attr.l.cnt = cnt;
	attr.l.flags2 = retprobe ? AL_F_UPROBE_MULTI_RETURN : 0;
	attr.l.pid = pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

void features_probe(struct features *f)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);

	memset(f, 0, sizeof(*f));
	f->have[FEAT_BTF] = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	f->have[FEAT_RINGBUF] = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->have[FEAT_MMAPABLE] = mmapable_array();
	f->have[FEAT_UPROBES] = access(UPROBE_PMU "/type", R_OK) == 0 &&
	                        access(UPROBE_PMU "/format/retprobe", R_OK) == 0;
	f->have[FEAT_ATTACH_COOKIE] =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_attach_cookie, NULL) == 1;
	f->have[FEAT_LOOP] =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL) == 1;
	if (f->have[FEAT_BTF]) {
		f->have[FEAT_TP_SYS_EXIT] = tracing_loads("sys_exit", 0);
		f->have[FEAT_TP_PAGE_FAULT] = tracing_loads("page_fault_user", 0);
		f->have[FEAT_TASK_BTF] = tracing_loads("sys_exit", BPF_FUNC_get_current_task_btf);
	}
	f->have[FEAT_UPROBE_MULTI] = feature_uprobe_multi();
	libbpf_set_print(old);
}

const char *features_missing(const struct features *f, unsigned int tiers)
{
	static char buf[256];
	int i;

	for (i = 0; i < FEAT_MAX; i++) {
		if (f->have[i] || !(table[i].tiers & tiers))
			continue;
		snprintf(buf, sizeof(buf), "this kernel lacks %s", table[i].why);
		return buf;
	}
	return NULL;
}

void features_print(FILE *out, const struct features *f)
{
	int i;

	for (i = 0; i < FEAT_MAX; i++) {
		unsigned int t = table[i].tiers;

		if (!t) {
			fprintf(out, "  %-26s %-4s optional: %s\n", table[i].name,
			        f->have[i] ? "yes" : "no", table[i].why);
			continue;
		}
		fprintf(out, "  %-26s %-4s needed by %s\n", table[i].name,
		        f->have[i] ? "yes" : "NO",
		        t & TIER_BASE      ? "every mode"
		        : t & TIER_PRECISE ? "the precise tier (--mode precise, auto)"
		                           : "the growth tier (--mode growth, auto)");
	}
}
