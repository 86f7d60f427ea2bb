/* SPDX-License-Identifier: GPL-2.0 */
/* attach.h - load the BPF programs and attach them to target processes. */
#ifndef AL_ATTACH_H
#define AL_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include "target/allocator.h"
#include "collect/bpfobj.h"

struct attacher;

struct attach_opts {
	unsigned int max_allocs; /* live blocks tracked, all targets together */
	unsigned int max_stacks; /* distinct stacks */
	bool verbose;
	bool count_accept;               /* accepted connections are the request count */
	bool count_http;                 /* HTTP/1.x requests read from sockets are */
	bool request_uprobe;             /* load the uprobe request counter */
	bool request_usdt;               /* load the USDT request counter */
	unsigned long long sample_bytes; /* Poisson sampling: mean bytes between samples; 0 off */
	bool growth;                     /* growth tier: page faults, no allocator probes */
};

enum attach_map {
	ATTACH_MAP_STATS, /* array of struct al_stack_slot, mmappable */
	ATTACH_MAP_STACKS,
	ATTACH_MAP_COUNTERS,
	ATTACH_MAP_EVENTS,
	ATTACH_MAP_REQUESTS,
	ATTACH_MAP_PY_STACKS, /* struct al_py_stack by the hash in a key's pystack */
	ATTACH_MAP_ALLOCS,    /* live blocks and touched pages by address */
};

/* Walk the Python stacks of process pid with this layout from now on (proc NULL: stop,
 * as after an exec). */
int attach_python(struct attacher *a, int pid, const struct al_py_proc *proc, char *err,
                  size_t errlen);

/* Load what the mode needs: the common programs and maps, then the precise tier or
 * (opts->growth) the growth tier. -v prints each program's verifier cost. */
struct attacher *attach_open(const struct attach_opts *opts, char *err, size_t errlen);
/* Load the precise tier if it is not loaded yet (--mode auto: at its first window;
 * attach_allocator does it too). A failure is remembered and not tried again. */
int attach_load_precise(struct attacher *a, char *err, size_t errlen);
/* What the verifier made of every program loaded so far. */
const struct prog_stats *attach_prog_stats(const struct attacher *a);
/* Attach the allocator probes for one process: free first, then the return probes, then
 * the entries, so no block is seen allocated whose free could be missed. */
int attach_process(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                   char *err, size_t errlen);
/* The allocator probes alone (attach_process does this outside the growth tier);
 * --mode auto calls it to open a diagnosis window. */
int attach_allocator(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                     char *err, size_t errlen);
/* Close the window: detach every allocator probe, stop following mmaps as blocks, and
 * delete the precise tier's blocks and stack counters from the maps (growth pages and
 * their stacks stay). */
int attach_allocator_off(struct attacher *a, char *err, size_t errlen);
/* Programs pid has executed since attach_process (execve/execveat that returned 0). */
unsigned long long attach_execs(struct attacher *a, int pid);
/* pid execs another program: delete its blocks and stacks from the maps (its old
 * program's memory is gone) and, in the growth tier, read its new executable's text. */
int attach_forget_process(struct attacher *a, int pid, char *err, size_t errlen);
/* Count a request at every call of symbol (in the object at path, as the process sees
 * it), or at every hit of the USDT probe provider:name in that object. */
int attach_request_uprobe(struct attacher *a, int pid, const char *path, const char *symbol,
                          char *err, size_t errlen);
int attach_request_usdt(struct attacher *a, int pid, const char *path, const char *provider,
                        const char *name, char *err, size_t errlen);
/* Follow mmap/munmap/mremap of the targets (growth tier: also brk and madvise, and the
 * page faults); call after every attach_process. In the growth tier attach_process
 * places no probe: it records the process's executable text and program break. */
int attach_syscalls(struct attacher *a, char *err, size_t errlen);
/* Follow anonymous mmap/munmap/mremap as blocks (on in the precise tier; --mode auto
 * turns it on for its diagnosis windows). */
void attach_set_mmap_events(struct attacher *a, bool on);
int attach_map_fd(struct attacher *a, enum attach_map which);
/* Slots of the stats map handed out so far (the BPF programs bump it), and in *max
 * how many there are. */
const volatile __u32 *attach_stats_next(struct attacher *a, __u32 *max);
/* Loaded for the growth tier (attach_opts.growth). */
bool attach_growth(const struct attacher *a);
void attach_close(struct attacher *a);

#endif
