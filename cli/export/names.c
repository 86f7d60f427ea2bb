// SPDX-License-Identifier: GPL-2.0
/* names.c - the tables of names.h: what each format calls a kind, a loss, a verdict. */
#include "export/names.h"

const struct loss_name loss_names[] = {
    {AL_C_ALLOC_MAP_FULL, {"alloc-map-full", "alloc_map_full", "alloc_map_full"}},
    {AL_C_STATS_MAP_FULL, {"stats-map-full", "stats_map_full", "stats_map_full"}},
    {AL_C_STACK_MAP_FULL, {"stack-map-full", "stack_map_full", "stack_map_full"}},
    {AL_C_STACK_COLLIDED, {"stack-collisions", "stack_collisions", "stack_collision"}},
    {AL_C_UNKNOWN_FREES, {"unknown-frees", "unknown_frees", "unknown_free"}},
    {AL_C_INFLIGHT_FULL, {"inflight-full", "inflight_full", "inflight_full"}},
    {AL_C_EVENTS_LOST, {"events-lost", "events_lost", "events_lost"}},
};
const int nloss_names = sizeof(loss_names) / sizeof(loss_names[0]);

static const char *const kind_names[AL_KIND_MAX] = {
    [AL_MALLOC] = "malloc",
    [AL_CALLOC] = "calloc",
    [AL_REALLOC] = "realloc",
    [AL_REALLOCARRAY] = "reallocarray",
    [AL_POSIX_MEMALIGN] = "posix_memalign",
    [AL_ALIGNED_ALLOC] = "aligned_alloc",
    [AL_MEMALIGN] = "memalign",
    [AL_VALLOC] = "valloc",
    [AL_PVALLOC] = "pvalloc",
    [AL_FREE] = "free",
    [AL_MMAP] = "mmap",
    [AL_FAULT] = "fault",
    [AL_THREAD] = "thread",
};

const char *kind_name(unsigned int kind)
{
	return kind < AL_KIND_MAX && kind_names[kind] ? kind_names[kind] : "?";
}

/* The verdict words are the analysis's own (verdict_name()); only "no verdict" differs. */
const char *verdict_label(enum verdict v, enum name_format f)
{
	return v == V_NONE && f == NAME_JSON ? "none" : verdict_name(v);
}
