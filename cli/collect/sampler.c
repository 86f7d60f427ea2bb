// SPDX-License-Identifier: GPL-2.0
/* sampler.c - read the kernel's per-stack counters and apply mmap events.
 *
 * The per-stack counters are an array the BPF programs fill slot by slot, in the
 * order stacks first appear; it is mapped here (only as far as slots are in use), so
 * a sample costs O(stacks) memory reads and no system call, never O(live
 * allocations), and gives the stacks in the same order every time. Anonymous
 * mappings arrive as ring buffer events and are kept in regions.c; a sample merges
 * both into one list of rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/regions.h"
#include "collect/sampler.h"
#include "base/hash.h"
#include "base/vec.h"
#include "stack_key.h"

#define MAP_SLACK (64 * 1024) /* map the stats this far past the slots in use */

/* Growth tier: a stack id's canonical id (see canonical_stack). */
struct canon_slot {
	__s32 stackid; /* -1: empty slot */
	__s32 canon;
	unsigned long long tail; /* hash of frames 1.. */
};

struct sampler {
	int stats_fd, stacks_fd, counters_fd, py_stacks_fd, allocs_fd;
	const volatile __u32 *stats_next; /* slots in use */
	__u32 stats_max;
	const struct al_stack_slot *slots; /* the stats map, mapped read-only */
	size_t mapped;                     /* bytes */
	struct ring_buffer *rb;
	struct regions *regions;
	int ncpus;
	__u64 region_errors;
	bool growth;
	struct canon_slot *canon; /* open addressing by stackid */
	size_t canon_cap, canon_used;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	const struct al_event *ev = data;
	int r = 0;

	if (size < sizeof(*ev))
		return 0;
	switch (ev->type) {
	case AL_EV_MMAP:
		r = regions_map(s->regions, ev->addr, ev->len, &ev->stack);
		break;
	case AL_EV_MUNMAP:
		r = regions_unmap(s->regions, ev->tgid, ev->addr, ev->len);
		break;
	case AL_EV_MREMAP:
		r = regions_remap(s->regions, ev->tgid, ev->addr, ev->len, ev->new_addr,
		                  ev->new_len);
		break;
	}
	if (r)
		s->region_errors++;
	return 0;
}

struct sampler *sampler_new(struct attacher *a, char *err, size_t errlen)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->stats_fd = attach_map_fd(a, ATTACH_MAP_STATS);
	s->stats_next = attach_stats_next(a, &s->stats_max);
	s->stacks_fd = attach_map_fd(a, ATTACH_MAP_STACKS);
	s->py_stacks_fd = attach_map_fd(a, ATTACH_MAP_PY_STACKS);
	s->counters_fd = attach_map_fd(a, ATTACH_MAP_COUNTERS);
	s->allocs_fd = attach_map_fd(a, ATTACH_MAP_ALLOCS);
	s->ncpus = libbpf_num_possible_cpus();
	s->growth = attach_growth(a);
	s->regions = regions_new();
	s->rb = ring_buffer__new(attach_map_fd(a, ATTACH_MAP_EVENTS), on_event, s, NULL);
	if (!s->regions || !s->rb || s->ncpus <= 0) {
		snprintf(err, errlen, "cannot set up the event ring buffer: %s", strerror(errno));
		sampler_free(s);
		return NULL;
	}
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	if (s->mapped)
		munmap((void *)s->slots, s->mapped);
	ring_buffer__free(s->rb);
	regions_free(s->regions);
	free(s->canon);
	free(s);
}

int sampler_poll(struct sampler *s, int timeout_ms)
{
	int r = ring_buffer__poll(s->rb, timeout_ms);

	return r == -EINTR ? 0 : r;
}

static int add_row(struct sample *out, const struct al_stack_key *k,
                   const struct al_stack_stats *st)
{
	if (VEC_GROW(out->rows, out->cap, out->n + 1))
		return -ENOMEM;
	out->rows[out->n].key = *k;
	out->rows[out->n].st = *st;
	out->n++;
	return 0;
}

/* Map the stats as far as n slots (and some slack): the kernel maps every page of
 * the range at once, so mapping all --max-stacks slots would cost their memory now. */
static int map_slots(struct sampler *s, __u32 n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t full = ((size_t)s->stats_max * sizeof(*s->slots) + page - 1) / page * page;
	size_t want = ((size_t)n * sizeof(*s->slots) + MAP_SLACK + page - 1) / page * page;
	void *p;

	if (want > full)
		want = full;
	if (want <= s->mapped)
		return 0;
	p = mmap(NULL, want, PROT_READ, MAP_SHARED, s->stats_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (s->mapped)
		munmap((void *)s->slots, s->mapped);
	s->slots = p;
	s->mapped = want;
	return 0;
}

static int read_stats(struct sampler *s, struct sample *out)
{
	__u32 n = *s->stats_next, i;
	int r;

	if (n > s->stats_max)
		n = s->stats_max;
	r = map_slots(s, n);
	if (!r)
		r = VEC_GROW(out->rows, out->cap, (size_t)out->n + n);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		const struct al_stack_slot *slot = &s->slots[i];
		struct sample_row *row = &out->rows[out->n];

		if (!__atomic_load_n(&slot->ready, __ATOMIC_ACQUIRE))
			continue; /* being set up, or lost a race: unused */
		row->key = slot->key;
		row->st = slot->st;
		/* Nothing counted yet, or cleared when a --mode auto window closed. */
		if (!row->st.allocs && !row->st.frees && !row->st.live_bytes &&
		    !row->st.alloc_bytes && !row->st.free_bytes)
			continue;
		out->n++;
	}
	return 0;
}

static int read_counters(struct sampler *s, struct sample *out)
{
	__u64 vals[s->ncpus];
	__u32 i;
	int c;

	for (i = 0; i < AL_C_MAX; i++) {
		if (bpf_map_lookup_elem(s->counters_fd, &i, vals))
			return -errno;
		out->counters[i] = 0;
		for (c = 0; c < s->ncpus; c++)
			out->counters[i] += vals[c];
	}
	return 0;
}

/* Growth tier. The kernel's frame 0 of a fault's stack is the faulting instruction,
 * which the report replaces by the application frame (key.caller); deeper frames come
 * from the frame pointer walk. The same application frame faults from many
 * instructions (malloc's, memset's), each giving its own stack id: map every stack id
 * to the first one seen with the same frames 1.. (-1 when there are none), so that
 * rows that print the same stack are one series. */
static unsigned long long tail_hash(struct sampler *s, __s32 stackid)
{
	__u64 frames[AL_MAX_STACK_DEPTH];
	unsigned long long h = HASH_FNV_INIT;
	int i;

	if (stackid < 0 || bpf_map_lookup_elem(s->stacks_fd, &stackid, frames))
		return 0;
	for (i = 1; i < AL_MAX_STACK_DEPTH && frames[i]; i++)
		h = hash_fnv1a_word(h, frames[i]);
	return i == 1 ? 0 : h;
}

static struct canon_slot *canon_slot(struct canon_slot *t, size_t cap, __s32 stackid)
{
	size_t i = ((unsigned int)stackid * 0x9e3779b1U) & (cap - 1);

	while (t[i].stackid != -1 && t[i].stackid != stackid)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int canon_grow(struct sampler *s)
{
	size_t cap = s->canon_cap ? s->canon_cap * 2 : 1024, i;
	struct canon_slot *t = malloc(cap * sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		t[i].stackid = -1;
	for (i = 0; i < s->canon_cap; i++)
		if (s->canon[i].stackid != -1)
			*canon_slot(t, cap, s->canon[i].stackid) = s->canon[i];
	free(s->canon);
	s->canon = t;
	s->canon_cap = cap;
	return 0;
}

static __s32 canonical_stack(struct sampler *s, __s32 stackid)
{
	struct canon_slot *slot;
	unsigned long long h;
	size_t i;

	if (stackid < 0)
		return -1;
	if ((s->canon_used + 1) * 2 > s->canon_cap && canon_grow(s))
		return stackid;
	slot = canon_slot(s->canon, s->canon_cap, stackid);
	if (slot->stackid == stackid)
		return slot->canon;
	h = tail_hash(s, stackid);
	slot->stackid = stackid;
	slot->tail = h;
	slot->canon = h ? stackid : -1;
	s->canon_used++;
	if (h)
		for (i = 0; i < s->canon_cap; i++)
			if (s->canon[i].stackid != -1 && s->canon[i].tail == h &&
			    s->canon[i].canon == s->canon[i].stackid) {
				slot->canon = s->canon[i].stackid;
				break;
			}
	return slot->canon;
}

static int key_cmp(const void *a, const void *b)
{
	return al_stack_key_cmp(&((const struct sample_row *)a)->key,
	                        &((const struct sample_row *)b)->key);
}

static void merge_faults(struct sampler *s, struct sample *out)
{
	int i, n = 0;

	for (i = 0; i < out->n; i++)
		if (out->rows[i].key.kind == AL_FAULT)
			out->rows[i].key.stackid = canonical_stack(s, out->rows[i].key.stackid);
	qsort(out->rows, out->n, sizeof(*out->rows), key_cmp);
	for (i = 0; i < out->n; i++) {
		struct sample_row *r = &out->rows[i];

		if (n && al_stack_key_equal(&out->rows[n - 1].key, &r->key)) {
			struct al_stack_stats *d = &out->rows[n - 1].st;

			d->live_bytes += r->st.live_bytes;
			d->live_objects += r->st.live_objects;
			d->allocs += r->st.allocs;
			d->alloc_bytes += r->st.alloc_bytes;
			d->frees += r->st.frees;
			d->free_bytes += r->st.free_bytes;
			continue;
		}
		out->rows[n++] = *r;
	}
	out->n = n;
}

int sampler_read(struct sampler *s, struct sample *out)
{
	const struct region_owner *owners;
	int i, n, r;

	out->n = 0;
	sampler_poll(s, 0);
	r = read_stats(s, out);
	if (!r)
		r = read_counters(s, out);
	if (r)
		return r;
	if (s->growth)
		merge_faults(s, out);
	owners = regions_owners(s->regions, &n);
	if (VEC_GROW(out->rows, out->cap, (size_t)out->n + n))
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (add_row(out, &owners[i].key, &owners[i].stats))
			return -ENOMEM;
	return 0;
}

int sampler_stack(struct sampler *s, __s32 stackid, __u64 *ips, int max)
{
	__u64 frames[AL_MAX_STACK_DEPTH];
	int n;

	if (stackid < 0 || bpf_map_lookup_elem(s->stacks_fd, &stackid, frames))
		return 0;
	for (n = 0; n < AL_MAX_STACK_DEPTH && n < max && frames[n]; n++)
		ips[n] = frames[n];
	return n;
}

int sampler_pystack(struct sampler *s, __u64 id, struct al_py_stack *out)
{
	if (!id || bpf_map_lookup_elem(s->py_stacks_fd, &id, out))
		return -ENOENT;
	if (out->nframes > AL_PY_MAX_FRAMES)
		out->nframes = AL_PY_MAX_FRAMES;
	return 0;
}

struct blocks {
	const struct al_stack_key *keys;
	int nkeys, per_key, which;
	int *taken; /* per key */
	struct sample_block *v;
	int n, cap;
};

static int add_block(struct blocks *b, int which, __u64 addr, __u64 len, bool heap)
{
	if (b->taken[which] >= b->per_key)
		return 0;
	if (VEC_GROW(b->v, b->cap, b->n + 1))
		return -ENOMEM;
	b->v[b->n++] =
	    (struct sample_block){.which = which, .addr = addr, .len = len, .heap = heap};
	b->taken[which]++;
	return 0;
}

static int add_range(void *ctx, __u64 start, __u64 end)
{
	struct blocks *b = ctx;

	return add_block(b, b->which, start, end - start, false);
}

/* The blocks of the allocs map: batches of entries, each matched against the keys (a
 * growth page's stack by its canonical id, as the sample rows have it). */
static int map_blocks(struct sampler *s, struct blocks *b)
{
	enum { BATCH = 4096 };
	struct al_alloc_key *keys = malloc(BATCH * sizeof(*keys));
	struct al_alloc_val *vals = malloc(BATCH * sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in = 0, out_batch;
	bool first = true, done = false;
	int r = 0, i, k;

	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	while (!done && !r) {
		__u32 n = BATCH;

		r = bpf_map_lookup_batch(s->allocs_fd, first ? NULL : &in, &out_batch, keys, vals,
		                         &n, &opts);
		if (r < 0 && errno == ENOENT) {
			done = true;
			r = 0;
		} else if (r < 0) {
			r = -errno;
			break;
		}
		first = false;
		in = out_batch;
		for (i = 0; i < (int)n && !r; i++) {
			struct al_stack_key key = vals[i].stack;
			bool page = keys[i].addr & AL_PAGE_KEY_BIT;

			if (page && key.kind == AL_FAULT)
				key.stackid = canonical_stack(s, key.stackid);
			for (k = 0; k < b->nkeys; k++)
				if (al_stack_key_equal(&b->keys[k], &key)) {
					r = add_block(b, k, keys[i].addr & ~AL_PAGE_KEY_BIT,
					              page ? 4096 : vals[i].size, !page);
					break;
				}
		}
	}
out:
	free(keys);
	free(vals);
	return r;
}

int sampler_blocks(struct sampler *s, const struct al_stack_key *keys, int nkeys, int per_key,
                   struct sample_block **out)
{
	struct blocks b = {.keys = keys, .nkeys = nkeys, .per_key = per_key};
	int r = 0, k;

	*out = NULL;
	if (nkeys <= 0)
		return 0;
	b.taken = calloc(nkeys, sizeof(*b.taken));
	if (!b.taken)
		return -ENOMEM;
	sampler_poll(s, 0);
	for (k = 0; k < nkeys && !r; k++)
		if (keys[k].kind == AL_MMAP) {
			b.which = k;
			r = regions_each(s->regions, &keys[k], add_range, &b);
		}
	if (!r)
		r = map_blocks(s, &b);
	free(b.taken);
	if (r) {
		free(b.v);
		return r;
	}
	*out = b.v;
	return b.n;
}

int sampler_drop_mmaps(struct sampler *s)
{
	struct regions *r = regions_new();

	if (!r)
		return -ENOMEM;
	sampler_poll(s, 0);
	regions_free(s->regions);
	s->regions = r;
	return 0;
}

void sampler_forget(struct sampler *s, __u32 tgid)
{
	regions_forget(s->regions, tgid);
}

void sample_release(struct sample *smp)
{
	free(smp->rows);
	memset(smp, 0, sizeof(*smp));
}
