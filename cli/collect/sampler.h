/* SPDX-License-Identifier: GPL-2.0 */
/* sampler.h - read what the kernel counted: per-stack counters, losses, mmap events. */
#ifndef AL_SAMPLER_H
#define AL_SAMPLER_H

#include <stdbool.h>
#include <linux/types.h>
#include "agentleak.h"
#include "collect/attach.h"

struct sample_row {
	struct al_stack_key key;
	struct al_stack_stats st;
};

struct sample {
	struct sample_row *rows;
	int n, cap;
	__u64 counters[AL_C_MAX];
};

struct sampler;

struct sampler *sampler_new(struct attacher *a, char *err, size_t errlen);
void sampler_free(struct sampler *s);
/* Wait up to timeout_ms for mmap events and apply them. Returns events handled or -errno. */
int sampler_poll(struct sampler *s, int timeout_ms);
/* Snapshot every stack's counters (kernel batch read + mmap regions) and the loss
 * counters into out (reused between calls). Returns 0 or -errno. */
int sampler_read(struct sampler *s, struct sample *out);
/* The frames of a stack id, frame 0 first. Returns how many (0 if unknown). */
int sampler_stack(struct sampler *s, __s32 stackid, __u64 *ips, int max);
/* The Python stack a key's pystack names: 0, or -ENOENT (none, or the map was full). */
int sampler_pystack(struct sampler *s, __u64 id, struct al_py_stack *out);
/* A live block of a stack: a heap block (one allocation), a touched page (growth tier)
 * or an anonymous mapping. */
struct sample_block {
	int which; /* index of its stack in the keys asked for */
	__u64 addr, len;
	bool heap; /* a heap block: one allocation */
};

/* Up to per_key live blocks of each of keys (in the map's order, which has nothing to
 * do with age): their number, with *out malloc'ed (the caller frees it), or -errno. */
int sampler_blocks(struct sampler *s, const struct al_stack_key *keys, int nkeys, int per_key,
                   struct sample_block **out);
/* Forget every mmap range and its owners (a --mode auto diagnosis window closed). */
int sampler_drop_mmaps(struct sampler *s);
/* A process exited: drop its address ranges (its totals stay). */
void sampler_forget(struct sampler *s, __u32 tgid);
void sample_release(struct sample *smp);

#endif
