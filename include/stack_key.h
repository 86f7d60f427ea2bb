/* SPDX-License-Identifier: GPL-2.0 */
/* stack_key.h - struct al_stack_key (agentleak.h) in userspace: equality, a hash, an order.
 *
 * For the CLI only: the BPF side never compares keys itself (its maps do, as bytes).
 */
#ifndef AL_STACK_KEY_H
#define AL_STACK_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "agentleak.h"

/* The same stack: process, stack id, caller, allocator function and Python stack (not
 * the padding). */
static inline bool al_stack_key_equal(const struct al_stack_key *a, const struct al_stack_key *b)
{
	return a->tgid == b->tgid && a->stackid == b->stackid && a->caller == b->caller &&
	       a->kind == b->kind && a->pystack == b->pystack;
}

/* For hash tables indexed by its low bits: every field mixed in. */
static inline size_t al_stack_key_hash(const struct al_stack_key *k)
{
	unsigned long long h = k->caller * 0x9e3779b97f4a7c15ULL;

	h ^= ((unsigned long long)k->tgid << 32 | (unsigned int)k->stackid) * 0xff51afd7ed558ccdULL;
	h ^= k->kind ^ k->pystack * 0xc4ceb9fe1a85ec53ULL;
	return (size_t)(h ^ (h >> 29));
}

/* A total order for qsort() and bsearch(): by process, allocator function, caller, stack
 * id, then Python stack (the order of the sampler's rows, which reports keep among ties). */
static inline int al_stack_key_cmp(const struct al_stack_key *a, const struct al_stack_key *b)
{
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->caller != b->caller)
		return a->caller < b->caller ? -1 : 1;
	if (a->stackid != b->stackid)
		return a->stackid < b->stackid ? -1 : 1;
	if (a->pystack != b->pystack)
		return a->pystack < b->pystack ? -1 : 1;
	return 0;
}

#endif
