/* SPDX-License-Identifier: GPL-2.0 */
/* plt.h - where a process's executable has its PLT sections at run time.
 *
 * The growth tier uses them to tell the return address of a call into a shared library
 * (a call through the PLT) from other text addresses on the stack.
 */
#ifndef AL_PLT_H
#define AL_PLT_H

#include <linux/types.h>

/* One executable mapping of the file: [start, end) maps file offsets from off. */
struct plt_map {
	__u64 start, end, off;
};

/* The runtime ranges of the .plt, .plt.sec and .plt.got sections of the ELF file fd,
 * through the mappings maps[0..nmaps) of that file (PIE or not). Fills start[i], end[i]
 * for up to max ranges; returns how many, 0 when the file has none or is not ELF. */
int plt_ranges(int fd, const struct plt_map *maps, int nmaps, __u64 *start, __u64 *end, int max);

#endif /* AL_PLT_H */
