// SPDX-License-Identifier: GPL-2.0
/* test_regions.c - unit tests of cli/collect/regions.c: anonymous mappings per owning stack.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include "collect/regions.h"

#include "check.h"

#define PG 4096ULL

static struct al_stack_key key(__u32 tgid, __u64 caller)
{
	struct al_stack_key k;

	memset(&k, 0, sizeof(k));
	k.tgid = tgid;
	k.caller = caller;
	k.kind = AL_MMAP;
	k.stackid = -1;
	return k;
}

static const struct al_stack_stats *owner(struct regions *r, __u32 tgid, __u64 caller)
{
	const struct region_owner *o;
	int i, n;

	o = regions_owners(r, &n);
	for (i = 0; i < n; i++)
		if (o[i].key.tgid == tgid && o[i].key.caller == caller)
			return &o[i].stats;
	return NULL;
}

static __u64 live(struct regions *r, __u32 tgid, __u64 caller)
{
	const struct al_stack_stats *s = owner(r, tgid, caller);

	return s ? s->live_bytes : ~0ULL;
}

int main(void)
{
	struct regions *r = regions_new();
	struct al_stack_key a = key(1, 0xa), b = key(1, 0xb), c = key(2, 0xa);

	regions_map(r, 0x10000, 10 * PG, &a);
	CHECK(live(r, 1, 0xa) == 10 * PG, "map 10 pages");
	regions_unmap(r, 1, 0x10000 + 4 * PG, 4 * PG);
	CHECK(live(r, 1, 0xa) == 6 * PG, "unmap the middle: 6 pages left");
	CHECK(owner(r, 1, 0xa)->live_objects == 2, "the middle unmap splits in two ranges");
	regions_unmap(r, 1, 0x10000, 2 * PG);
	CHECK(live(r, 1, 0xa) == 4 * PG, "unmap the head");
	regions_unmap(r, 1, 0x10000, 100 * PG);
	CHECK(live(r, 1, 0xa) == 0, "unmap everything, and more");
	CHECK(owner(r, 1, 0xa)->live_objects == 0, "no ranges left");
	CHECK(owner(r, 1, 0xa)->allocs == 1 && owner(r, 1, 0xa)->frees == 2,
	      "one mmap, two ranges gone");

	regions_map(r, 0x100000, 8 * PG, &b);
	regions_remap(r, 1, 0x100000, 8 * PG, 0x900000, 20 * PG);
	CHECK(live(r, 1, 0xb) == 20 * PG, "mremap grows and moves, same owner");
	regions_remap(r, 1, 0x900000, 20 * PG, 0x900000, 3 * PG);
	CHECK(live(r, 1, 0xb) == 3 * PG, "mremap shrinks in place");
	regions_remap(r, 1, 0x5000000, PG, 0x6000000, 2 * PG);
	CHECK(live(r, 1, 0xb) == 3 * PG, "mremap of an unknown range changes nothing");

	regions_map(r, 0x10000, 5 * PG, &c);
	CHECK(live(r, 2, 0xa) == 5 * PG && live(r, 1, 0xa) == 0, "processes are apart");
	regions_unmap(r, 1, 0x10000, 5 * PG);
	CHECK(live(r, 2, 0xa) == 5 * PG, "munmap in another process does not touch it");
	regions_map(r, 0x10000 + PG, PG, &a);
	CHECK(live(r, 2, 0xa) == 5 * PG && live(r, 1, 0xa) == PG, "same address, other pid");
	regions_map(r, 0x10000, 3 * PG, &c);
	CHECK(live(r, 2, 0xa) == 5 * PG, "MAP_FIXED over a range replaces it");
	regions_unmap(r, 1, 0x10000 + PG, 1);
	CHECK(live(r, 1, 0xa) == 0, "a munmap length rounds up to the page");

	regions_free(r);
	return check_done();
}
