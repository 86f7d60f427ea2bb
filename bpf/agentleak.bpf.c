// SPDX-License-Identifier: GPL-2.0
/* agentleak.bpf.c - both tiers: allocator uprobes (precise) and page faults (growth).
 *
 * Userspace attaches (per target process, filtered by the kernel's uprobe pid option):
 *   free_enter     uprobe on free, placed on an instruction the kernel emulates;
 *   alloc_return   uretprobe on every allocation function (attached before the entries);
 *   alloc_enter    uprobe at the entry of every allocation function; bpf_cookie = enum al_kind;
 *   sys_exit       raw syscalls:sys_exit (BTF), for mmap/munmap/mremap of the targets,
 *                  brk/madvise in the growth tier, and accept/accept4 when they are the
 *                  request source;
 *   page_fault     exceptions:page_fault_user (BTF), the growth tier only (see below);
 *   request_hit    uprobe on the user's request function (--requests uprobe:...);
 *   request_usdt   the same for a USDT probe (--requests usdt:...).
 * --mode auto loads the growth tier and attaches the allocator probes only for its
 * diagnosis windows (mmap_events follows them).
 *
 * Per-thread call state is kept from entry to return ("inflight"), keyed by thread id;
 * a call made from inside another allocator call (glibc's malloc mmapping a big block,
 * reallocarray tail-calling realloc) only bumps a depth counter, so it is counted once.
 * Live blocks are kept in "allocs" (address -> size and stack); per-stack counters in
 * "stats" are updated in place: "stack_slots" gives each stack its slot in that array,
 * which userspace maps, so reading every stack costs no system call. Every loss is
 * counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "agentleak.h"

#define MAP_ANONYMOUS        0x20
#define PAGE_SIZE            4096ULL
#define NR_MMAP              9
#define NR_MUNMAP            11
#define NR_MREMAP            25
#define NR_BRK               12
#define NR_MADVISE           28
#define MADV_DONTNEED        4
#define X86_PF_WRITE         2 /* page fault error code: a write access */
#define MADV_DONTNEED_LOCKED 24
#define NR_ACCEPT            43
#define NR_ACCEPT4           288
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif

char LICENSE[] SEC("license") = "GPL";

/* Set before load: count accepted connections as requests. */
const volatile bool count_accept = false;
/* Set before load: Poisson sampling, one sample per sample_bytes on average; 0 = off. */
const volatile __u64 sample_bytes = 0;
/* Set before load: the growth tier (page faults instead of allocator uprobes). */
const volatile bool growth = false;
/* Set at run time: follow anonymous mmap/munmap/mremap as blocks (the precise tier;
 * --mode auto turns it on for its diagnosis windows). */
volatile bool mmap_events = false;
/* Set before load: slots in "stats" (--max-stacks). */
const volatile __u32 max_stacks = 16384;

/* Call state of one thread between an allocator's entry and its return. */
struct inflight {
	__u64 sp;   /* stack pointer at entry: deeper calls are nested */
	__u64 size; /* bytes asked for */
	__u64 arg;  /* realloc: old block; posix_memalign: where the result goes */
	struct al_stack_key stack;
	__u64 start_ns;
	__u64 weight; /* x1024: 1024 unsampled; 0 not sampled (skip the block) */
	__u32 depth;  /* nested allocator calls still open */
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20); /* --max-allocs */
	__type(key, struct al_alloc_key);
	__type(value, struct al_alloc_val);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(key, struct al_stack_key);
	__type(value, __u32);
} stack_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(key, __u32);
	__type(value, struct al_stack_slot);
} stats SEC(".maps");

/* Slots of "stats" handed out so far (may pass --max-stacks by a few: those failed). */
__u32 stats_next = 0;

/* Slots given back when a --mode auto window closed (its precise stacks): taken
 * before new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(value, __u32);
} free_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384); /* --max-stacks */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, AL_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Requests handled per target process; userspace creates the entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AL_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

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

/* Growth tier: per target, the executable's text ranges and its program break. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct al_growth_proc);
} growth_procs SEC(".maps");

/* Growth tier: the user stack words scanned at a fault (too big for the BPF stack). */
struct scan_words {
	__u64 w[AL_SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_words);
} scan_buf SEC(".maps");

static __always_inline void count_n(__u32 which, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += n;
}

static __always_inline void count(__u32 which)
{
	count_n(which, 1);
}

/* Take the user stack. A failure leaves stackid negative and is counted. */
static __always_inline __s32 take_stack(void *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	if (id == -EEXIST)
		count(AL_C_STACK_COLLIDED);
	else if (id == -ENOMEM)
		count(AL_C_STACK_MAP_FULL);
	return id < 0 ? -1 : (__s32)id;
}

static __always_inline struct al_stack_stats *stats_find(struct al_stack_key *key)
{
	__u32 *slot = bpf_map_lookup_elem(&stack_slots, key);
	struct al_stack_slot *s;

	if (!slot)
		return NULL;
	s = bpf_map_lookup_elem(&stats, slot);
	return s ? &s->st : NULL;
}

/* A new stack takes the next slot. Two threads racing for the same new stack both
 * take one: the loser's stays not ready (unused) and it uses the winner's. */
static __always_inline struct al_stack_stats *stats_of(struct al_stack_key *key)
{
	struct al_stack_stats *st = stats_find(key);
	struct al_stack_slot *s;
	__u32 i;

	if (st)
		return st;
	s = NULL;
	if (!bpf_map_pop_elem(&free_slots, &i))
		s = bpf_map_lookup_elem(&stats, &i);
	else if (stats_next < max_stacks) {
		i = __sync_fetch_and_add(&stats_next, 1);
		s = bpf_map_lookup_elem(&stats, &i);
	}
	if (!s) {
		count(AL_C_STATS_MAP_FULL);
		return NULL;
	}
	s->key = *key;
	if (bpf_map_update_elem(&stack_slots, key, &i, BPF_NOEXIST)) {
		st = stats_find(key);
		if (!st)
			count(AL_C_STATS_MAP_FULL);
		return st;
	}
	__sync_fetch_and_add(&s->ready, 1);
	return &s->st;
}

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

static __always_inline void unaccount(struct al_alloc_val *v)
{
	struct al_stack_stats *s = stats_find(&v->stack);

	if (!s)
		return;
	__sync_fetch_and_add(&s->live_bytes, -v->size);
	__sync_fetch_and_add(&s->live_objects, -v->objects);
	__sync_fetch_and_add(&s->frees, v->objects);
	__sync_fetch_and_add(&s->free_bytes, v->size);
}

/* A block went away. Only the thread that deletes the record updates counters. */
static __always_inline void forget_block(__u32 tgid, __u64 addr)
{
	struct al_alloc_key k = {.addr = addr, .tgid = tgid};
	struct al_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, &k);
	if (!v) {
		if (!sample_bytes) /* sampled: most blocks were never recorded */
			count(AL_C_UNKNOWN_FREES);
		return;
	}
	copy = *v;
	if (bpf_map_delete_elem(&allocs, &k))
		return;
	unaccount(&copy);
}

static __always_inline void record_block(__u32 tgid, __u64 addr, __u64 size, __u64 weight,
                                         struct al_stack_key *stack)
{
	struct al_alloc_key k = {.addr = addr, .tgid = tgid};
	struct al_alloc_val v = {.stack = *stack};
	struct al_alloc_val *old;
	struct al_stack_stats *s;

	scale(weight, size, &v.size, &v.objects);
	s = stats_of(stack);
	if (!s)
		return;
	__sync_fetch_and_add(&s->allocs, v.objects);
	__sync_fetch_and_add(&s->alloc_bytes, v.size);

	/* The same address live twice means we missed its free: retire it. */
	old = bpf_map_lookup_elem(&allocs, &k);
	if (old) {
		struct al_alloc_val copy = *old;

		if (!bpf_map_delete_elem(&allocs, &k))
			unaccount(&copy);
	}
	if (bpf_map_update_elem(&allocs, &k, &v, BPF_NOEXIST)) {
		count(AL_C_ALLOC_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&s->live_bytes, v.size);
	__sync_fetch_and_add(&s->live_objects, v.objects);
}

#define STALE_NS 1000000000ULL /* no allocator call lasts a second: older state is stale */

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
			forget_block(tgid, st.arg);
		break;
	}
	if (!addr) {
		if (st.size || st.kind == AL_MALLOC)
			count(AL_C_FAILED_ALLOCS);
		return 0;
	}
	if (!st.weight)
		return 0;
	record_block(tgid, addr, st.size, st.weight, &st.stack);
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
	forget_block(pid_tgid >> 32, addr);
	return 0;
}

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

/* ---- Growth tier -------------------------------------------------------------------
 *
 * No allocator probe: every user write fault of a target counts one page (4096 B) to
 * the stack that touched it, as kind AL_FAULT, and the page is kept in
 * "allocs" (key: page address) so that munmap, madvise(MADV_DONTNEED), a brk that
 * shrinks the heap and mremap give it back to that stack. A page faulting again while
 * still recorded (zero page then write, swap-in, a release we missed) replaces its old
 * record, so trimming and re-faulting nets out to zero.
 *
 * Why write faults: a write fault is what makes a new anonymous page (a first touch of
 * anonymous memory, or copy-on-write of a private file page or after fork); a read
 * fault maps the shared zero page or a file page and costs no new memory. Asking the
 * VMA instead (bpf_find_vma) costs ~1.5 us more per fault here: at this tracepoint
 * interrupts are off, so the mmap lock is released through an irq_work. Limit: writes
 * to MAP_SHARED file or shmem pages are counted too.
 *
 * Attribution: the faulting instruction is usually in libc (malloc writing a chunk
 * header into a fresh page, memset), which has no frame pointers. So caller is the
 * faulting address when it lies in the main executable's text, else a word of the user
 * stack (from sp, AL_SCAN_WORDS words) that does: the first of them that returns from a
 * call into a shared library (through the executable's PLT or GOT), which is the frame
 * that entered libc, else the first of them. The first alone is often wrong: malloc's
 * frames leave uninitialized slots holding stale return addresses of earlier calls.
 * Limits: a stale word can still be picked (it may follow a PLT call too); code that
 * lives in shared libraries is not in the executable's text, and then caller stays the
 * faulting address. */

/* A page's key in "allocs": its address with bit 0 set, so it never meets a heap block
 * (malloc's blocks are at least 8-aligned) when both tiers run (--mode auto). */
static __always_inline __u64 page_key(__u64 addr)
{
	return (addr & ~(PAGE_SIZE - 1)) | AL_PAGE_KEY_BIT;
}

static __always_inline bool in_ranges(const __u64 *start, const __u64 *end, int n, __u64 a)
{
	int j;

	for (j = 0; j < n; j++)
		if (a >= start[j] && a < end[j])
			return true;
	return false;
}

static __always_inline bool in_text(const struct al_growth_proc *gp, __u64 a)
{
	return in_ranges(gp->start, gp->end, AL_TEXT_RANGES, a);
}

static __always_inline bool in_plt(const struct al_growth_proc *gp, __u64 a)
{
	return in_ranges(gp->plt_start, gp->plt_end, AL_PLT_RANGES, a);
}

/* Whether ret (in the text) is the return address of a call into a shared library: it
 * follows `call rel32` (E8) to the executable's PLT, or `call *disp32(%rip)` (FF 15)
 * through a GOT slot, as -fno-plt builds call. Calls inside the executable are direct
 * calls elsewhere, so a stale word left by one of them does not pass. */
static __always_inline bool after_lib_call(const struct al_growth_proc *gp, __u64 ret)
{
	__u8 b[8];
	__s32 rel;

	if (bpf_probe_read_user(b, sizeof(b), (void *)(ret - sizeof(b))))
		return false;
	if (b[2] == 0xff && b[3] == 0x15)
		return true;
	if (b[3] != 0xe8)
		return false;
	__builtin_memcpy(&rel, &b[4], sizeof(rel));
	return in_plt(gp, ret + (__s64)rel);
}

/* Inside an allocator call with a return probe on it (--mode auto's diagnosis window),
 * the return address on the stack is the uretprobe trampoline's; the kernel keeps the
 * real one, the allocator's caller, in the thread's latest return instance. */
static __always_inline __u64 probed_caller(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct return_instance *ri;

	if (!bpf_core_field_exists(t->utask) || !t->utask)
		return 0;
	ri = t->utask->return_instances;
	return ri ? ri->orig_ret_vaddr : 0;
}

struct scan_ctx {
	const struct al_growth_proc *gp;
	const struct scan_words *buf;
	__u64 first;    /* the first word in the text */
	__u64 lib_call; /* the first word that returns from a library call */
	__u32 checked;  /* words in the text seen */
};

/* One stack word (a bpf_loop callback: an open-coded loop over the words, with a
 * read in it, is too many states for the verifier). Only the first AL_SCAN_CALLS words
 * in the text are checked for a library call: a read each. */
static long scan_word(__u64 i, void *data)
{
	struct scan_ctx *c = data;
	__u64 w;

	if (i >= AL_SCAN_WORDS)
		return 1;
	w = c->buf->w[i];
	if (!in_text(c->gp, w))
		return 0;
	if (!c->first)
		c->first = w;
	if (after_lib_call(c->gp, w)) {
		c->lib_call = w;
		return 1;
	}
	return ++c->checked >= AL_SCAN_CALLS;
}

static __always_inline __u64 app_frame(const struct al_growth_proc *gp, __u64 ip, __u64 sp)
{
	struct scan_ctx c = {.gp = gp};
	struct scan_words *buf;
	__u32 zero = 0;
	__u64 caller;

	if (in_text(gp, ip))
		return ip;
	caller = probed_caller();
	if (caller && in_text(gp, caller))
		return caller;
	buf = bpf_map_lookup_elem(&scan_buf, &zero);
	if (!buf)
		return ip;
	if (bpf_probe_read_user(buf->w, sizeof(buf->w), (void *)sp)) {
		/* Near the top of the stack: fewer words. */
		__builtin_memset(buf->w, 0, sizeof(buf->w));
		if (bpf_probe_read_user(buf->w, 16 * sizeof(__u64), (void *)sp))
			return ip;
	}
	c.buf = buf;
	bpf_loop(AL_SCAN_WORDS, scan_word, &c, 0);
	if (c.lib_call)
		return c.lib_call;
	return c.first ? c.first : ip;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct al_stack_key key = {};
	struct al_growth_proc *gp;

	gp = bpf_map_lookup_elem(&growth_procs, &tgid);
	if (!gp)
		return 0;
	if (!(error_code & X86_PF_WRITE))
		return 0;
	key.tgid = tgid;
	key.kind = AL_FAULT;
	key.stackid = take_stack(ctx);
	key.caller = app_frame(gp, regs->ip, regs->sp);
	record_block(tgid, page_key(address), PAGE_SIZE, 1024, &key);
	return 0;
}

struct release_ctx {
	__u64 start; /* first page */
	__u64 keep;  /* mremap move: bytes of the range that move (the rest is released) */
	__u64 delta; /* mremap move: new address - old address */
	__u32 tgid;
	bool move;
};

static long release_page(__u64 i, void *data)
{
	struct release_ctx *c = data;
	struct al_alloc_key k = {.addr = page_key(c->start + i * PAGE_SIZE), .tgid = c->tgid};
	struct al_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, &k);
	if (!v)
		return 0;
	copy = *v;
	if (bpf_map_delete_elem(&allocs, &k))
		return 0;
	if (c->move && i * PAGE_SIZE < c->keep) {
		k.addr += c->delta;
		if (!bpf_map_update_elem(&allocs, &k, &copy, BPF_ANY))
			return 0;
		count(AL_C_ALLOC_MAP_FULL);
	}
	unaccount(&copy);
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
	bpf_loop((__u32)n, release_page, &c, 0);
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

/* A syscall of a target returned. Regs are the syscall's user registers (read
 * directly: both callers get a BTF pointer, no probe_read needed). */
static __always_inline int on_syscall(void *ctx, struct pt_regs *regs, long ret, __u64 id)
{
	__u64 pid_tgid;
	__u32 tid, tgid;
	struct al_event ev = {};
	struct inflight *st;
	bool accepted = id == NR_ACCEPT || id == NR_ACCEPT4;

	if (id != NR_MMAP && id != NR_MUNMAP && id != NR_MREMAP && !(accepted && count_accept) &&
	    !(growth && (id == NR_BRK || id == NR_MADVISE)))
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
