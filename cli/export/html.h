/* SPDX-License-Identifier: GPL-2.0 */
/* html.h - the self-contained HTML report (--html FILE), drawn from a snapshot. */
#ifndef AL_HTML_H
#define AL_HTML_H

#include <stddef.h>
#include "export/snapshot.h"

/* Write one self-contained page (inline CSS and SVG, no script, nothing fetched from
 * the network) for snap to path: the processes (memory, cgroup, OOM ETA, losses),
 * the top suspect stacks (leaks first, then by live bytes; top < 1: every stack),
 * each with its verdict, numbers, a plot of live bytes against requests with the
 * fitted Theil-Sen line and its frames, then a flame graph of live bytes. Written
 * to a temp file in the same directory and renamed over path. Returns 0, or a
 * negative errno with a one-line message in err. */
int html_write(const char *path, const struct snapshot *snap, int top, char *err, size_t errlen);

#endif
