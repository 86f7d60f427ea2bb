// SPDX-License-Identifier: GPL-2.0
/* fuzz_place_probe.c - fuzz the probe placement of cli/target/allocator.c,
 * allocator_place_probe(): capstone decodes the head of an allocator entry point,
 * bytes of a file the traced process maps, and the probe may move past harmless
 * instructions to one the kernel emulates.
 *
 * Input: one byte for the entry point's kind (malloc ... free), eight for its file
 * offset (little endian), then its code; the code's length is the symbol size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target/allocator.h"
#include "must.h"

#define HEAD 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long func_off, moved;
	struct al_site site;
	unsigned char *code;
	size_t len;
	int ret;

	if (size < HEAD)
		return 0;
	memset(&site, 0, sizeof(site));
	site.kind = AL_MALLOC + data[0] % (AL_FREE - AL_MALLOC + 1);
	memcpy(&func_off, data + 1, sizeof(func_off));
	len = size - HEAD;
	code = malloc(len ? len : 1); /* exactly the code: reading past it is caught */
	if (!code)
		return 0;
	memcpy(code, data + HEAD, len);
	memset(site.insn, 0xa5, sizeof(site.insn));
	ret = allocator_place_probe(code, len, func_off, &site);
	free(code);
	moved = site.probe_off - site.file_off;
	MUST(ret == 0 || ret == -EINVAL, "returned %d", ret);
	MUST(site.file_off == func_off, "file_off %llx for %llx", site.file_off, func_off);
	MUST(memchr(site.insn, 0, sizeof(site.insn)), "insn not terminated");
	/* undecodable: probe +0, single-stepped */
	MUST(!ret || (!moved && !site.emulated), "undecodable, yet moved by %llu, emulated %d",
	     moved, site.emulated);
	/* a moved probe lands on an emulated instruction inside the code, past pushes */
	MUST(!moved || (moved < len && site.emulated), "moved by %llu in %zu bytes, emulated %d",
	     moved, len, site.emulated);
	MUST(site.sp_adjust >= 0 && site.sp_adjust % 8 == 0 && (moved || !site.sp_adjust),
	     "sp_adjust %d, moved by %llu", site.sp_adjust, moved);
	return 0;
}
