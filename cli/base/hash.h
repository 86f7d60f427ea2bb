/* SPDX-License-Identifier: GPL-2.0 */
/* hash.h - FNV-1a, agentleak's one hash of bytes: for ids that must not change across runs
 * and versions (the stack id of every output, the HTML flame graph's colours) and for the
 * keys of its private hash tables.
 *
 * Changing a constant or the order in which bytes are fed changes ids that users and
 * their dashboards keep: tests/unit/test_base.c pins known values.
 */
#ifndef AL_HASH_H
#define AL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_INIT    0xcbf29ce484222325ULL /* 64-bit offset basis */
#define HASH_FNV_PRIME   0x100000001b3ULL
#define HASH_FNV32_INIT  2166136261U
#define HASH_FNV32_PRIME 16777619U

/* h (HASH_FNV_INIT to start) with len bytes of data hashed in. */
static inline uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *c = data;

	while (len--)
		h = (h ^ *c++) * HASH_FNV_PRIME;
	return h;
}

/* h with a 64-bit word hashed in as one unit (one step, not its eight bytes). */
static inline uint64_t hash_fnv1a_word(uint64_t h, uint64_t word)
{
	return (h ^ word) * HASH_FNV_PRIME;
}

/* The 32-bit FNV-1a: h (HASH_FNV32_INIT to start) with len bytes of data hashed in. */
static inline uint32_t hash_fnv1a32(uint32_t h, const void *data, size_t len)
{
	const unsigned char *c = data;

	while (len--)
		h = (h ^ *c++) * HASH_FNV32_PRIME;
	return h;
}

#endif
