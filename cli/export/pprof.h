/* SPDX-License-Identifier: GPL-2.0 */
/* pprof.h - heap profile of a snapshot in pprof's profile.proto format (gzip).
 *
 * Readable by `go tool pprof`, pprof (github.com/google/pprof), Pyroscope, Grafana,
 * speedscope. One sample per stack of the snapshot with four values: alloc_objects,
 * alloc_space, inuse_objects, inuse_space (the default). Locations are addressed by
 * file offset inside their module (mapping memory_start 0, file_offset 0), so pprof
 * can symbolize missing functions from the module file itself.
 */
#ifndef AL_PPROF_H
#define AL_PPROF_H

#include <stddef.h>
#include "export/snapshot.h"

/* Write a gzip-compressed profile.proto heap profile of every stack in snap: sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes
 * (default_sample_type inuse_space), one sample per stack, its location ids leaf first
 * (frames[0], the allocator's caller), value = [allocs, alloc_bytes, live_objects,
 * live_bytes], labels pid (num), kind, stack (the stack id) and verdict (when known);
 * period 1, or the mean sampling gap with --sample-bytes (values are then estimates).
 * Written to a temporary file in the same directory, then renamed over path: path is
 * either the complete old file or the complete new one. Returns 0, or -errno with a
 * one-line message in err. */
int pprof_write(const char *path, const struct snapshot *snap, char *err, size_t errlen);

#endif
