// SPDX-License-Identifier: GPL-2.0
/* regions.c - live anonymous mappings per owning stack (see regions.h).
 *
 * Ranges live in one array sorted by (tgid, start); they never overlap within a
 * process. Mappings are few next to malloc blocks, so linear updates are fine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collect/regions.h"
#include "base/vec.h"
#include "stack_key.h"

struct range {
	__u32 tgid;
	__u64 start, end;
	int owner; /* index into owners */
};

struct regions {
	struct range *ranges;
	int nranges, cap;
	struct region_owner *owners;
	int nowners, owners_cap;
};

struct regions *regions_new(void)
{
	return calloc(1, sizeof(struct regions));
}

void regions_free(struct regions *r)
{
	if (!r)
		return;
	free(r->ranges);
	free(r->owners);
	free(r);
}

static int owner_index(struct regions *r, const struct al_stack_key *key)
{
	struct region_owner *o;
	int i;

	for (i = 0; i < r->nowners; i++)
		if (al_stack_key_equal(&r->owners[i].key, key))
			return i;
	if (VEC_GROW(r->owners, r->owners_cap, r->nowners + 1))
		return -1;
	o = &r->owners[r->nowners];
	memset(o, 0, sizeof(*o));
	o->key = *key;
	return r->nowners++;
}

static int before(const struct range *a, __u32 tgid, __u64 start)
{
	return a->tgid < tgid || (a->tgid == tgid && a->start < start);
}

static int insert_range(struct regions *r, __u32 tgid, __u64 start, __u64 end, int owner)
{
	int i = 0;

	if (VEC_GROW(r->ranges, r->cap, r->nranges + 1))
		return -ENOMEM;
	while (i < r->nranges && before(&r->ranges[i], tgid, start))
		i++;
	memmove(&r->ranges[i + 1], &r->ranges[i], (r->nranges - i) * sizeof(*r->ranges));
	r->ranges[i] = (struct range){.tgid = tgid, .start = start, .end = end, .owner = owner};
	r->nranges++;
	r->owners[owner].stats.live_bytes += end - start;
	r->owners[owner].stats.live_objects++;
	return 0;
}

static void remove_at(struct regions *r, int i)
{
	memmove(&r->ranges[i], &r->ranges[i + 1], (r->nranges - i - 1) * sizeof(*r->ranges));
	r->nranges--;
}

/* Cut [start, end) out of tgid's ranges. The owner of the range holding start is
 * returned through first_owner (-1 if none). */
static int cut(struct regions *r, __u32 tgid, __u64 start, __u64 end, int *first_owner)
{
	int i;

	if (first_owner)
		*first_owner = -1;
	for (i = 0; i < r->nranges; i++) {
		struct range *g = &r->ranges[i];
		struct al_stack_stats *s;
		__u64 lo, hi;

		if (g->tgid != tgid || g->end <= start || g->start >= end)
			continue;
		lo = g->start > start ? g->start : start;
		hi = g->end < end ? g->end : end;
		s = &r->owners[g->owner].stats;
		if (first_owner && g->start <= start && start < g->end)
			*first_owner = g->owner;
		s->live_bytes -= hi - lo;
		s->free_bytes += hi - lo;
		if (g->start < lo && g->end > hi) { /* split in two */
			__u64 tail_end = g->end;
			int owner = g->owner;

			g->end = lo;
			s->live_bytes -= tail_end - hi; /* insert_range adds it back */
			if (insert_range(r, tgid, hi, tail_end, owner))
				return -ENOMEM;
			continue;
		}
		if (g->start < lo) {
			g->end = lo;
		} else if (g->end > hi) {
			g->start = hi;
		} else {
			s->live_objects--;
			s->frees++;
			remove_at(r, i);
			i--;
		}
	}
	return 0;
}

int regions_map(struct regions *r, __u64 addr, __u64 len, const struct al_stack_key *key)
{
	int owner;

	if (!len)
		return 0;
	/* MAP_FIXED may replace older mappings. */
	if (cut(r, key->tgid, addr, addr + len, NULL))
		return -ENOMEM;
	owner = owner_index(r, key);
	if (owner < 0)
		return -ENOMEM;
	r->owners[owner].stats.allocs++;
	r->owners[owner].stats.alloc_bytes += len;
	return insert_range(r, key->tgid, addr, addr + len, owner);
}

int regions_unmap(struct regions *r, __u32 tgid, __u64 addr, __u64 len)
{
	len = (len + 4095) & ~4095ULL;
	return cut(r, tgid, addr, addr + len, NULL);
}

int regions_remap(struct regions *r, __u32 tgid, __u64 old, __u64 oldlen, __u64 new_addr,
                  __u64 newlen)
{
	int owner;

	oldlen = (oldlen + 4095) & ~4095ULL;
	newlen = (newlen + 4095) & ~4095ULL;
	if (cut(r, tgid, old, old + oldlen, &owner))
		return -ENOMEM;
	if (owner < 0 || !newlen)
		return 0;
	if (cut(r, tgid, new_addr, new_addr + newlen, NULL))
		return -ENOMEM;
	return insert_range(r, tgid, new_addr, new_addr + newlen, owner);
}

void regions_forget(struct regions *r, __u32 tgid)
{
	int i;

	for (i = 0; i < r->nranges; i++) {
		if (r->ranges[i].tgid != tgid)
			continue;
		remove_at(r, i);
		i--;
	}
}

int regions_each(const struct regions *r, const struct al_stack_key *key,
                 int (*fn)(void *ctx, __u64 start, __u64 end), void *ctx)
{
	int i, ret;

	for (i = 0; i < r->nranges; i++)
		if (al_stack_key_equal(&r->owners[r->ranges[i].owner].key, key) &&
		    (ret = fn(ctx, r->ranges[i].start, r->ranges[i].end)))
			return ret;
	return 0;
}

const struct region_owner *regions_owners(struct regions *r, int *n)
{
	*n = r->nowners;
	return r->owners;
}
