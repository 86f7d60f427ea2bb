/* SPDX-License-Identifier: GPL-2.0 */
/* json.h - JSON Lines export of a snapshot (schema: docs/json-schema.json, docs/json.md).
 *
 * One object per report, on one line. Strings are always valid UTF-8 JSON (invalid
 * bytes become U+FFFD), integers are exact, non-finite doubles are null.
 */
#ifndef AL_JSON_H
#define AL_JSON_H

#include <stddef.h>
#include <stdio.h>
#include "export/snapshot.h"

#define JSON_SCHEMA_VERSION 1

/* Write one line describing snap: schema version, time, elapsed, final, request_source,
 * time_mode, processes, the first top stacks (all when top <= 0) with their verdicts and
 * frames, losses, events, leaks. Flushes f. Returns 0, or -errno when f reports an error. */
int json_write(FILE *f, const struct snapshot *snap, int top);

#endif
