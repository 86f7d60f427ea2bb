/* SPDX-License-Identifier: GPL-2.0 */
/* maps.bpf.h - the maps every BPF object of agentleak shares, and the loss counters.
 *
 * agentleak loads one BPF object per tier, so that a mode verifies only what it runs:
 * agentleak.bpf.c (always: syscalls, request sources), precise.bpf.c (allocator
 * probes) and growth.bpf.c (page faults). Each declares the maps below; userspace
 * creates them once, with agentleak.bpf.c, and hands the same maps to the other
 * objects before they load (bpf_map__reuse_fd, by name), so every tier counts into
 * the same blocks, stacks and counters. A map only one tier uses lives in its file.
 */
#ifndef AL_MAPS_BPF_H
#define AL_MAPS_BPF_H

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

#define STALE_NS 1000000000ULL /* no allocator call lasts a second: older state is stale */

/* The processes traced (host tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* Per thread: the allocator call it is in (precise tier; sys_exit reads it to leave the
 * allocator's own mmaps to that call). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Live blocks (precise) and touched pages (growth, AL_PAGE_KEY_BIT set). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20); /* --max-allocs */
	__type(key, struct al_alloc_key);
	__type(value, struct al_alloc_val);
} allocs SEC(".maps");

/* Each stack's slot in "stats". */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(key, struct al_stack_key);
	__type(value, __u32);
} stack_slots SEC(".maps");

/* Per-stack counters, mapped by userspace (a sample reads them with no system call). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(key, __u32);
	__type(value, struct al_stack_slot);
} stats SEC(".maps");

/* Slots of "stats" handed out so far (may pass --max-stacks by a few: those failed).
 * A one-element mapped array rather than a global variable: globals belong to one
 * object, this counter to all of them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} slots_used SEC(".maps");

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

/* Growth tier, per target: the executable's text and PLT ranges, its program break. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct al_growth_proc);
} growth_procs SEC(".maps");

/* CPython targets: where their stack walk starts (filled by userspace, python.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct al_py_proc);
} py_procs SEC(".maps");

/* Python stacks by the hash of their frames (the key's pystack). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* --max-stacks */
	__type(key, __u64);
	__type(value, struct al_py_stack);
} py_stacks SEC(".maps");

/* Each thread's PyThreadState, found once by a walk of the thread list. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} py_tstates SEC(".maps");

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

#endif /* AL_MAPS_BPF_H */
