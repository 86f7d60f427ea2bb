/* SPDX-License-Identifier: GPL-2.0 */
/* account.bpf.h - live blocks and per-stack counters, shared by every tier.
 *
 * A block (a heap block, or a growth-tier page) is recorded in "allocs" with what it
 * added to its stack's counters, and taken off them again when it goes away. Each
 * stack gets a slot in the mapped "stats" array the first time it is seen.
 *
 * record_block() and forget_block() are global functions: the verifier checks each
 * once, on its own, instead of once per call site and per path into it. Their
 * arguments are scalars and pointers to plain memory (a global function cannot follow
 * a pointer it reads from memory).
 */
#ifndef AL_ACCOUNT_BPF_H
#define AL_ACCOUNT_BPF_H

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif

#define PAGE_SIZE 4096ULL

/* A page's key in "allocs": its address with bit 0 set, so it never meets a heap block
 * (malloc's blocks are at least 8-aligned) when both tiers run (--mode auto). */
static __always_inline __u64 page_key(__u64 addr)
{
	return (addr & ~(PAGE_SIZE - 1)) | AL_PAGE_KEY_BIT;
}

/* Set before load: slots in "stats" (--max-stacks). */
const volatile __u32 max_stacks = 16384;

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

static __always_inline struct al_stack_stats *stats_find(const struct al_stack_key *key)
{
	__u32 *slot = bpf_map_lookup_elem(&stack_slots, key);
	struct al_stack_slot *s;

	if (!slot)
		return NULL;
	s = bpf_map_lookup_elem(&stats, slot);
	return s ? &s->st : NULL;
}

/* A free slot: one given back by a closed window, else the next unused one. */
static __always_inline struct al_stack_slot *new_slot(__u32 *i)
{
	__u32 zero = 0, *used;

	if (!bpf_map_pop_elem(&free_slots, i))
		return bpf_map_lookup_elem(&stats, i);
	used = bpf_map_lookup_elem(&slots_used, &zero);
	if (!used || *used >= max_stacks)
		return NULL;
	*i = __sync_fetch_and_add(used, 1);
	return bpf_map_lookup_elem(&stats, i);
}

/* A new stack takes a slot. Two threads racing for the same new stack both take one:
 * the loser's stays not ready (unused) and it uses the winner's. */
static __always_inline struct al_stack_stats *stats_of(const struct al_stack_key *key)
{
	struct al_stack_stats *st = stats_find(key);
	struct al_stack_slot *s;
	__u32 i = 0;

	if (st)
		return st;
	s = new_slot(&i);
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

static __always_inline void unaccount(const struct al_alloc_val *v)
{
	struct al_stack_stats *s = stats_find(&v->stack);

	if (!s)
		return;
	__sync_fetch_and_add(&s->live_bytes, -v->size);
	__sync_fetch_and_add(&s->live_objects, -v->objects);
	__sync_fetch_and_add(&s->frees, v->objects);
	__sync_fetch_and_add(&s->free_bytes, v->size);
}

/* Take the block at key out of "allocs" and off its stack. Only the thread that
 * deletes the record updates counters. Returns 0 when it was there. */
static __always_inline int take_block(const struct al_alloc_key *k)
{
	struct al_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, k);
	if (!v)
		return -1;
	copy = *v;
	if (bpf_map_delete_elem(&allocs, k))
		return -1;
	unaccount(&copy);
	return 0;
}

/* A block went away. Returns 0 when it was recorded. */
__noinline int forget_block(__u32 tgid, __u64 addr)
{
	struct al_alloc_key k = {.addr = addr, .tgid = tgid};

	return take_block(&k);
}

/* Record a live block of bytes and objects (its share of the stack's counters) for
 * stack. The same address live twice means its free was missed: the old record is
 * retired first. */
__noinline int record_block(__u32 tgid, __u64 addr, __u64 bytes, __u64 objects,
                            const struct al_stack_key *stack)
{
	struct al_alloc_key k = {.addr = addr, .tgid = tgid};
	struct al_alloc_val v = {.size = bytes, .objects = objects};
	struct al_stack_stats *s;

	if (!stack)
		return -1;
	v.stack = *stack;
	s = stats_of(stack);
	if (!s)
		return -1;
	__sync_fetch_and_add(&s->allocs, objects);
	__sync_fetch_and_add(&s->alloc_bytes, bytes);
	take_block(&k);
	if (bpf_map_update_elem(&allocs, &k, &v, BPF_NOEXIST)) {
		count(AL_C_ALLOC_MAP_FULL);
		__sync_fetch_and_add(&s->untracked, objects);
		return -1;
	}
	__sync_fetch_and_add(&s->live_bytes, bytes);
	__sync_fetch_and_add(&s->live_objects, objects);
	return 0;
}

#endif /* AL_ACCOUNT_BPF_H */
