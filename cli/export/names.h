/* SPDX-License-Identifier: GPL-2.0 */
/* names.h - the names every output format shares: stack kinds, loss counters, verdicts.
 *
 * One table each, with one column per format where a published name differs (the JSON
 * schema and the Prometheus label values are published; renaming one breaks users'
 * queries, so each column is changed only on purpose).
 */
#ifndef AL_NAMES_H
#define AL_NAMES_H

#include <linux/types.h>
#include "agentleak.h"
#include "analyse/trend.h"

enum name_format {
	NAME_TEXT, /* the terminal report and the HTML page: "unknown-frees" */
	NAME_JSON, /* JSON keys: "unknown_frees" */
	NAME_PROM, /* the reason label of agentleak_lost_total: "unknown_free" */
	NAME_FORMATS,
};

/* A counter of what could not be tracked (the report's "losses"). */
struct loss_name {
	enum al_counter counter;
	const char *name[NAME_FORMATS];
};

/* Every loss counter, in the order every format lists them. */
extern const struct loss_name loss_names[];
extern const int nloss_names;

/* "malloc", "calloc", ..., "mmap", "fault", "thread"; "?" for a kind out of range. */
const char *kind_name(unsigned int kind);
/* A verdict as format f spells it: "leak", ...; no verdict is "-" in text, "none" in JSON. */
const char *verdict_label(enum verdict v, enum name_format f);

#endif
