// SPDX-License-Identifier: GPL-2.0
/* precise.bpf.c - the precise tier: uprobes on the allocator of each target.
 *
 * Userspace attaches (per target process, filtered by the kernel's uprobe pid option):
 *   free_enter     uprobe on free, placed on an instruction the kernel emulates;
 *   alloc_return   uretprobe on every allocation function (attached before the entries);
 *   alloc_enter    uprobe at the entry of every allocation function; bpf_cookie = enum al_kind.
 * Loaded at start by --mode precise, and by --mode auto when its first diagnosis window
 * opens; the maps are agentleak.bpf.c's (see maps.bpf.h).
 *
 * Per-thread call state is kept from entry to return ("inflight"), keyed by thread id;
 * a call made from inside another allocator call (glibc's malloc mmapping a big block,
 * reallocarray tail-calling realloc) only bumps a depth counter, so it is counted once.
 * Live blocks are kept in "allocs" (address -> size and stack), their stacks' counters
 * in "stats" (account.bpf.h). Every loss is counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "agentleak.h"
#include "maps.bpf.h"
#include "account.bpf.h"
#include "python.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load: Poisson sampling, one sample per sample_bytes on average; 0 = off. */
const volatile __u64 sample_bytes = 0;

/* Sampling: exponential gaps between samples (bytes), and inverse inclusion
 * probabilities 1/(1-exp(-size/R)), both filled by userspace before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AL_SAMPLE_GAPS);
	__type(key, __u32);
	__type(value, __u64);
} sample_gaps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AL_SAMPLE_WEIGHTS);
	__type(key, __u32);
	__type(value, __u64);
} sample_weights SEC(".maps");

/* Bytes each thread may still allocate before its next sample. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __s64);
} sample_budget SEC(".maps");

static __always_inline __s64 next_gap(void)
{
	__u32 i = bpf_get_prandom_u32() % AL_SAMPLE_GAPS;
	__u64 *g = bpf_map_lookup_elem(&sample_gaps, &i);

	return g ? (__s64)*g : (__s64)sample_bytes;
}

/* Byte-based Poisson sampling (as tcmalloc, jemalloc and Go do): a sample point falls
 * every sample_bytes on average; an allocation is sampled when one falls inside it,
 * with probability 1 - exp(-size/R), and then stands for 1/that of itself. Returns
 * that weight x1024, or 0 when the allocation is not sampled. */
static __always_inline __u64 sample_weight(__u32 tid, __u64 size)
{
	__u64 r = sample_bytes, *w;
	__s64 *budget, fresh;
	__u32 i;

	if (!r)
		return 1024;
	budget = bpf_map_lookup_elem(&sample_budget, &tid);
	if (!budget) {
		fresh = next_gap();
		bpf_map_update_elem(&sample_budget, &tid, &fresh, BPF_ANY);
		budget = bpf_map_lookup_elem(&sample_budget, &tid);
		if (!budget)
			return 0;
	}
	*budget -= size;
	if (*budget > 0)
		return 0;
	for (i = 0; i < 16 && *budget <= 0; i++)
		*budget += next_gap();
	if (size * 32 < r) /* 1/(1-exp(-x)) = 1/x + 1/2 + O(x) */
		return (r << 10) / (size ? size : 1) + 512;
	if (size >= 8 * r)
		return 1024;
	i = (__u32)(size * 32 / r);
	w = bpf_map_lookup_elem(&sample_weights, &i);
	return w ? *w : 1024;
}

/* Scale by weight (x1024); objects are rounded at random, so they stay unbiased. */
static __always_inline void scale(__u64 weight, __u64 size, __u64 *bytes, __u64 *objects)
{
	*bytes = size * weight >> 10;
	*objects = weight >> 10;
	if ((bpf_get_prandom_u32() & 1023) < (weight & 1023))
		*objects += 1;
}

/* A block freed (or given back by realloc): a block never seen allocated is counted
 * unless sampling, where most blocks were never recorded. */
static __always_inline void block_freed(__u32 tgid, __u64 addr)
{
	if (forget_block(tgid, addr) && !sample_bytes)
		count(AL_C_UNKNOWN_FREES);
}

/* The allocator call already open on this thread, if the current probe hit is inside
 * it: deeper in the stack, or at the same depth when the open call tail-jumped into
 * another allocator function (glibc's realloc(NULL, n) jumps to malloc; reallocarray
 * to realloc) - then the return address at sp is no longer the one seen at entry. */
static __always_inline struct inflight *open_call(__u32 tid, __u64 sp, __u64 ret_addr)
{
	struct inflight *st = bpf_map_lookup_elem(&inflight, &tid);

	if (!st || bpf_ktime_get_ns() - st->start_ns > STALE_NS)
		return NULL;
	if (st->sp > sp || (st->sp == sp && ret_addr != st->stack.caller))
		return st;
	return NULL;
}

SEC("uprobe")
int BPF_KPROBE(alloc_enter)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, kind = (__u32)bpf_get_attach_cookie(ctx);
	__u64 sp = PT_REGS_SP(ctx), a = PT_REGS_PARM1(ctx), b = PT_REGS_PARM2(ctx);
	struct inflight st = {}, *open;
	__u64 ret_addr = 0;

	count(AL_C_ALLOC_CALLS);
	bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)sp);
	open = open_call(tid, sp, ret_addr);
	if (open) {
		open->depth++;
		count(AL_C_NESTED);
		return 0;
	}
	st.sp = sp;
	st.kind = kind;
	switch (kind) {
	case AL_CALLOC:
		st.size = a * b;
		break;
	case AL_REALLOC:
		st.arg = a;
		st.size = b;
		break;
	case AL_REALLOCARRAY:
		st.arg = a;
		st.size = b * PT_REGS_PARM3(ctx);
		break;
	case AL_POSIX_MEMALIGN:
		st.arg = a;
		st.size = PT_REGS_PARM3(ctx);
		break;
	case AL_ALIGNED_ALLOC:
	case AL_MEMALIGN:
		st.size = b;
		break;
	case AL_PVALLOC:
		st.size = (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		break;
	default: /* malloc, valloc */
		st.size = a;
	}
	st.stack.tgid = pid_tgid >> 32;
	st.stack.kind = kind;
	st.weight = sample_weight(tid, st.size);
	/* Not sampled: no stack to take, but the call must still be followed (nesting,
	 * realloc's old block). */
	st.stack.stackid = st.weight ? take_stack(ctx) : -1;
	st.stack.pystack = st.weight ? py_stack_of(st.stack.tgid) : 0;
	st.stack.caller = ret_addr;
	st.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &tid, &st, BPF_ANY))
		count(AL_C_INFLIGHT_FULL);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), ret = PT_REGS_RC(ctx), addr = ret;
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct inflight *open, st;
	__u64 bytes, objects;

	open = bpf_map_lookup_elem(&inflight, &tid);
	if (!open)
		return 0;
	if (open->depth) {
		open->depth--;
		return 0;
	}
	st = *open;
	bpf_map_delete_elem(&inflight, &tid);

	switch (st.kind) {
	case AL_POSIX_MEMALIGN:
		addr = 0;
		if ((int)ret == 0)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)st.arg);
		break;
	case AL_REALLOC:
	case AL_REALLOCARRAY:
		/* Failed realloc keeps the old block; realloc(p, 0) frees it. */
		if (st.arg && (ret || st.size == 0))
			block_freed(tgid, st.arg);
		break;
	}
	if (!addr) {
		if (st.size || st.kind == AL_MALLOC)
			count(AL_C_FAILED_ALLOCS);
		return 0;
	}
	if (!st.weight)
		return 0;
	scale(st.weight, st.size, &bytes, &objects);
	record_block(tgid, addr, bytes, objects, &st.stack);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_enter)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), addr = PT_REGS_PARM1(ctx);

	if (!addr)
		return 0;
	count(AL_C_FREE_CALLS);
	/* A free called from inside realloc & co is accounted by that call's return. */
	if (open_call((__u32)pid_tgid, PT_REGS_SP(ctx), 0)) {
		count(AL_C_NESTED);
		return 0;
	}
	block_freed(pid_tgid >> 32, addr);
	return 0;
}
