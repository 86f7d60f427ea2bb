/* SPDX-License-Identifier: GPL-2.0 */
/* prom.h - the Prometheus text exposition of a snapshot (scrape page and textfile).
 *
 * Every metric is prefixed agentleak_, in base units (bytes, seconds), counters end
 * in _total, and every family's HELP and TYPE lines are written every time, even
 * without samples, so that scrapes of an idle and a busy agentleak look alike.
 * No timestamps. Label values are UTF-8 (invalid bytes become U+FFFD) and escaped
 * as the format wants (\\, \", \n).
 *
 * Per stack (labels pid, stack, kind, top_frame), for at most `top` stacks by live
 * bytes plus at most `top` more that have the verdict leak:
 *   agentleak_stack_live_bytes, agentleak_stack_live_objects        gauges
 *   agentleak_stack_allocations_total, ..._allocated_bytes_total,
 *   agentleak_stack_frees_total                                     counters
 *   agentleak_stack_slope_bytes_per_request   with a request source (--requests)
 *   agentleak_stack_slope_bytes_per_second    without one (time mode)
 *   agentleak_stack_verdict{verdict="leak|growing|plateau|transient|stable"} 1
 * The slopes and the verdict are only there once the stack has a verdict.
 * Per process (labels pid, comm):
 *   agentleak_process_rss_bytes, _anon_bytes, _heap_retained_bytes  when /proc was read
 *   agentleak_process_live_bytes
 *   agentleak_process_requests_total          with a request source only
 *   agentleak_process_oom_eta_seconds         when the cgroup limit will be reached
 *   agentleak_process_cgroup_limit_bytes      when the cgroup has a limit
 * The tool itself: agentleak_events_total{kind}, agentleak_lost_total{reason},
 * agentleak_sample_duration_seconds, agentleak_leaks, agentleak_up.
 */
#ifndef AL_PROM_H
#define AL_PROM_H

#include <stddef.h>
#include <stdio.h>
#include "export/snapshot.h"

#define PROM_TOP_FRAME_MAX 200 /* bytes of a top_frame label value, "..." included */

/* Write the exposition of snap to f: the first `top` stacks of snap->stacks (which
 * come largest live bytes first), then up to `top` more stacks with the verdict leak.
 * Flushes f. Returns 0 or -errno (-EIO when the stream failed without errno). */
int prom_write(FILE *f, const struct snapshot *snap, int top);

/* The same into a malloc'ed buffer (NUL-terminated; free it) for httpd_set_body(). */
int prom_render(const struct snapshot *snap, int top, char **buf, size_t *len);

/* node_exporter textfile collector: write a temporary file next to path (O_EXCL, mode
 * 0644, a name starting with '.' and not ending in .prom), fsync it, rename it over
 * path and fsync the directory, so a reader sees the old file or the new one, never
 * a part. Refuses a path that is a symlink, a directory or not a regular file.
 * Returns 0, or -1 with a one-line message in err; the temporary file is removed
 * on every error and path is left as it was. */
int prom_write_textfile(const char *path, const struct snapshot *snap, int top, char *err,
                        size_t errlen);

/* On a clean exit (unless --keep): remove path if it is a regular file. */
void prom_remove_textfile(const char *path);

#endif
