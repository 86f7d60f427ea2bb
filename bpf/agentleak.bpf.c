// SPDX-License-Identifier: GPL-2.0
/* agentleak.bpf.c - what every tier needs: the shared maps, the syscalls, requests.
 *
 * Loaded first in every mode; it creates the maps of maps.bpf.h, which the tier
 * objects (precise.bpf.c, growth.bpf.c) then share. Userspace attaches:
 *   sys_exit       raw syscalls:sys_exit (BTF): anonymous mmap/munmap/mremap of the
 *                  targets as events (precise tier), the pages that munmap, madvise,
 *                  brk and mremap give back (growth tier), accept/accept4 when they
 *                  are the request source;
 *   request_hit    uprobe on the user's request function (--requests uprobe:...);
 *   request_usdt   the same for a USDT probe (--requests usdt:...).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include <bpf/bpf_core_read.h>
#include "agentleak.h"
#include "maps.bpf.h"
#include "account.bpf.h"
#include "python.bpf.h"

#define MAP_ANONYMOUS        0x20
#define NR_MMAP              9
#define NR_MUNMAP            11
#define NR_MREMAP            25
#define NR_BRK               12
#define NR_MADVISE           28
#define MADV_DONTNEED        4
#define MADV_DONTNEED_LOCKED 24
#define NR_ACCEPT            43
#define NR_ACCEPT4           288
#define NR_EXECVE            59
#define NR_EXECVEAT          322

char LICENSE[] SEC("license") = "GPL";

/* Set before load: count accepted connections as requests. */
const volatile bool count_accept = false;
/* Set before load: the growth tier runs (give back the pages syscalls release). */
const volatile bool growth = false;
/* Set at run time: follow anonymous mmap/munmap/mremap as blocks (the precise tier;
 * --mode auto turns it on for its diagnosis windows). */
volatile bool mmap_events = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Programs executed per target process (execve returned 0): its old program's
 * memory is gone, userspace forgets it. Userspace creates the entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} execs SEC(".maps");

static __always_inline void send_event(struct al_event *ev)
{
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		count(AL_C_EVENTS_LOST);
}

static __always_inline void count_request(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&requests, &tgid);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("uprobe")
int BPF_KPROBE(request_hit)
{
	count_request(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("usdt")
int request_usdt(struct pt_regs *ctx)
{
	count_request(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/* ---- Growth tier: pages given back ------------------------------------------------ */

struct release_ctx {
	__u64 start; /* first page */
	__u64 keep;  /* mremap move: bytes of the range that move (the rest is released) */
	__u64 delta; /* mremap move: new address - old address */
	__u32 tgid;
	bool move;
};

/* Page i of the range: a global function, so the verifier checks it once. Returns
 * whether a recorded page was there. */
__noinline int release_page(__u32 tgid, __u64 addr, __u64 new_addr, bool move)
{
	struct al_alloc_key k = {.addr = page_key(addr), .tgid = tgid};
	struct al_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, &k);
	if (!v)
		return 0;
	copy = *v;
	if (bpf_map_delete_elem(&allocs, &k))
		return 0;
	if (move) {
		k.addr = page_key(new_addr);
		if (!bpf_map_update_elem(&allocs, &k, &copy, BPF_ANY))
			return 1;
		count(AL_C_ALLOC_MAP_FULL);
	}
	unaccount(&copy);
	return 1;
}

/* The bpf_loop callback reads its context and never writes it: its verification
 * converges at once. */
static long release_next(__u64 i, void *data)
{
	struct release_ctx *c = data;
	__u64 addr = c->start + i * PAGE_SIZE;

	release_page(c->tgid, addr, addr + c->delta, c->move && i * PAGE_SIZE < c->keep);
	return 0;
}

/* Give back (or, for a moving mremap, move) the recorded pages of [start, end). */
static __always_inline void release_range(__u32 tgid, __u64 start, __u64 end, __u64 keep,
                                          __u64 delta, bool move)
{
	struct release_ctx c = {.tgid = tgid, .keep = keep, .delta = delta, .move = move};
	__u64 n;

	start &= ~(PAGE_SIZE - 1);
	end = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (end <= start)
		return;
	c.start = start;
	n = (end - start) / PAGE_SIZE;
	if (n > AL_RELEASE_MAX) {
		count_n(AL_C_RELEASE_CUT, n - AL_RELEASE_MAX);
		n = AL_RELEASE_MAX;
	}
	bpf_loop((__u32)n, release_next, &c, 0);
}

static __always_inline void growth_syscall(struct pt_regs *regs, long ret, __u64 id, __u32 tgid)
{
	__u64 addr = regs->di, len = regs->si;
	struct al_growth_proc *gp;

	switch (id) {
	case NR_MUNMAP:
		release_range(tgid, addr, addr + len, 0, 0, false);
		break;
	case NR_MADVISE: {
		__u64 advice = regs->dx;

		/* MADV_FREE is left alone: a page the kernel reclaims faults again and its
		 * new record replaces the old one. */
		if (advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED)
			release_range(tgid, addr, addr + len, 0, 0, false);
		break;
	}
	case NR_MREMAP: {
		__u64 new_len = regs->dx, new_addr = (__u64)ret;

		if (new_addr == addr) {
			if (new_len < len)
				release_range(tgid, addr + new_len, addr + len, 0, 0, false);
		} else {
			release_range(tgid, addr, addr + len, new_len, new_addr - addr, true);
		}
		break;
	}
	case NR_BRK:
		gp = bpf_map_lookup_elem(&growth_procs, &tgid);
		if (!gp)
			break;
		if ((__u64)ret < gp->brk)
			release_range(tgid, (__u64)ret, gp->brk, 0, 0, false);
		gp->brk = (__u64)ret;
		break;
	}
}

/* ---- Syscalls ---------------------------------------------------------------------- */

/* A syscall of a target returned. Regs are the syscall's user registers (read
 * directly: the tracepoint gives a BTF pointer, no probe_read needed). */
static __always_inline int on_syscall(void *ctx, struct pt_regs *regs, long ret, __u64 id)
{
	__u64 pid_tgid;
	__u32 tid, tgid;
	struct al_event ev = {};
	struct inflight *st;
	bool accepted = id == NR_ACCEPT || id == NR_ACCEPT4;
	bool executed = id == NR_EXECVE || id == NR_EXECVEAT;
	__u64 *n;

	if (id != NR_MMAP && id != NR_MUNMAP && id != NR_MREMAP && !(accepted && count_accept) &&
	    !(growth && (id == NR_BRK || id == NR_MADVISE)) && !executed)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	tid = (__u32)pid_tgid;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	if (ret < 0 && ret > -4096)
		return 0;
	if (accepted) {
		count_request(tgid);
		return 0;
	}
	if (executed) {
		n = bpf_map_lookup_elem(&execs, &tgid);
		if (n && ret == 0)
			__sync_fetch_and_add(n, 1);
		return 0;
	}
	/* Growth tier: page faults account the memory; syscalls give pages back. */
	if (growth && id != NR_MMAP)
		growth_syscall(regs, ret, id, tgid);
	if (!mmap_events)
		return 0;
	/* The allocator's own mmaps belong to the call that made them. */
	st = bpf_map_lookup_elem(&inflight, &tid);
	if (st && bpf_ktime_get_ns() - st->start_ns < STALE_NS)
		return 0;

	ev.tgid = tgid;
	ev.addr = regs->di;
	ev.len = regs->si;
	if (id == NR_MMAP) {
		if (!(regs->r10 & MAP_ANONYMOUS))
			return 0;
		ev.type = AL_EV_MMAP;
		ev.addr = ret;
		ev.len = (ev.len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		ev.stack.tgid = tgid;
		ev.stack.kind = AL_MMAP;
		ev.stack.stackid = take_stack(ctx);
		ev.stack.pystack = py_stack_of(tgid);
		/* glibc's mmap() is a leaf wrapper: [sp] returns into its caller. */
		bpf_probe_read_user(&ev.stack.caller, sizeof(ev.stack.caller), (void *)regs->sp);
	} else if (id == NR_MUNMAP) {
		ev.type = AL_EV_MUNMAP;
	} else if (id == NR_MREMAP) {
		ev.type = AL_EV_MREMAP;
		ev.new_len = regs->dx;
		ev.new_addr = ret;
	} else {
		return 0;
	}
	send_event(&ev);
	return 0;
}

/* Every syscall of the machine passes here, so the filter comes first and costs a
 * compare or two. (fexit on each syscall would be cheaper still, but this kernel
 * refuses fexit programs with EPERM, like kprobes: tracepoints are what we have.) */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return on_syscall(ctx, regs, ret, regs->orig_ax);
}
