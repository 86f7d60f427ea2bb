/* sampler.c - read the kernel's per-stack counters and apply mmap events.
 *
 * Counters are read with batched map lookups, so a sample costs O(stacks) and a few
 * system calls, never O(live allocations). Anonymous mappings arrive as ring buffer
 * events and are kept in regions.c; a sample merges both into one list of rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "regions.h"
#include "sampler.h"

#define BATCH 1024

struct sampler {
	int stats_fd, stacks_fd, counters_fd;
	struct ring_buffer *rb;
	struct regions *regions;
	int ncpus;
	__u64 region_errors;
	struct al_stack_key keys[BATCH];
	struct al_stack_stats vals[BATCH];
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
	s->stacks_fd = attach_map_fd(a, ATTACH_MAP_STACKS);
	s->counters_fd = attach_map_fd(a, ATTACH_MAP_COUNTERS);
	s->ncpus = libbpf_num_possible_cpus();
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
	ring_buffer__free(s->rb);
	regions_free(s->regions);
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
	if (out->n == out->cap) {
		int cap = out->cap ? out->cap * 2 : 256;
		struct sample_row *n = realloc(out->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		out->rows = n;
		out->cap = cap;
	}
	out->rows[out->n].key = *k;
	out->rows[out->n].st = *st;
	out->n++;
	return 0;
}

static int read_stats(struct sampler *s, struct sample *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct al_stack_key next;
	void *in = NULL;
	int r;

	for (;;) {
		__u32 i, count = BATCH;

		r = bpf_map_lookup_batch(s->stats_fd, in, &next, s->keys, s->vals, &count, &opts);
		if (r && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++)
			if (add_row(out, &s->keys[i], &s->vals[i]))
				return -ENOMEM;
		if (r) /* ENOENT: that was the last batch */
			return 0;
		in = &next;
	}
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
	owners = regions_owners(s->regions, &n);
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

void sampler_forget(struct sampler *s, __u32 tgid)
{
	regions_forget(s->regions, tgid);
}

void sample_release(struct sample *smp)
{
	free(smp->rows);
	memset(smp, 0, sizeof(*smp));
}
