/* SPDX-License-Identifier: GPL-2.0 */
/* regions.h - anonymous mappings made directly by the targets, per owning stack.
 *
 * The BPF side reports successful mmap/munmap/mremap calls as events; this module
 * keeps the live address ranges (a partial munmap splits a range, mremap moves or
 * resizes one and keeps its owner) and sums them per stack. Pure code: unit tested.
 */
#ifndef AL_REGIONS_H
#define AL_REGIONS_H

#include <linux/types.h>
#include "agentleak.h"

struct regions;

struct region_owner {
	struct al_stack_key key;
	struct al_stack_stats stats; /* live_* from the ranges; allocs/frees counted */
};

struct regions *regions_new(void);
void regions_free(struct regions *r);
/* Return -ENOMEM when out of memory, else 0. */
int regions_map(struct regions *r, __u64 addr, __u64 len, const struct al_stack_key *key);
int regions_unmap(struct regions *r, __u32 tgid, __u64 addr, __u64 len);
int regions_remap(struct regions *r, __u32 tgid, __u64 old, __u64 oldlen, __u64 new_addr,
                  __u64 newlen);
/* Drop every range of a process (it exited) but keep its owners' totals. */
void regions_forget(struct regions *r, __u32 tgid);
/* Call fn for each live range [start, end) of the owner key, until fn returns non-zero
 * (which is returned); 0 after the last. */
int regions_each(const struct regions *r, const struct al_stack_key *key,
                 int (*fn)(void *ctx, __u64 start, __u64 end), void *ctx);
/* Owners with their current totals; valid until the next call that changes r. */
const struct region_owner *regions_owners(struct regions *r, int *n);

#endif
