// SPDX-License-Identifier: GPL-2.0
/* fuzz_allocator_find.c - fuzz the allocator discovery of cli/target/allocator.c,
 * allocator_find(): the ELF of a library a traced process maps (dynamic section,
 * DT_NEEDED and DT_SONAME, .dynsym/.symtab with symbol versions, program headers,
 * the segment holding malloc & co.), then the probe placement on its code.
 *
 * The input is mapped executable by a live process (holder.h) whose static, stripped
 * executable defines nothing and whose LD_PRELOAD names the input, so the search
 * reaches it first. When it wins, the sites must be well formed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target/allocator.h"
#include "holder.h"
#include "must.h"

static struct al_allocator al;

/* load_segment() reads at most what the file holds and 1 GiB (corpus: huge-segment once
 * made it allocate the p_filesz the file claimed); allocations above 1 GiB fail here
 * rather than end the run, should another path try one. */
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	holder_start("allocator_find");
	return 0;
}

static void check_site(const struct al_site *s)
{
	unsigned long long moved = s->probe_off - s->file_off;

	MUST(s->name && allocator_kind_name(s->kind) &&
	         !strcmp(s->name, allocator_kind_name(s->kind)),
	     "site kind %d named %s", s->kind, s->name ? s->name : "(null)");
	MUST(memchr(s->insn, 0, sizeof(s->insn)), "%s: insn not terminated", s->name);
	/* an entry probe only ever moves forward, within the function, past pushes */
	MUST(s->sp_adjust >= 0 && s->sp_adjust % 8 == 0 && (moved || !s->sp_adjust),
	     "%s: sp_adjust %d, probe moved by %llu", s->name, s->sp_adjust, moved);
	MUST(!moved || (s->emulated && (!s->size || moved < s->size)),
	     "%s: probe moved by %llu in a function of %llu bytes, emulated %d", s->name, moved,
	     s->size, s->emulated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int i, ret;

	if (size > HOLDER_MAP_LEN)
		return 0;
	holder_load(data, size);
	memset(err, 0xa5, sizeof(err));
	ret = allocator_find(holder.pid, &al, err, sizeof(err));
	MUST(memchr(err, 0, sizeof(err)), "error message not terminated");
	/* the holder is alive: no input may make it look gone */
	MUST(ret != -ESRCH, "allocator_find: %s", err);
	if (ret)
		return 0;
	MUST(!strcmp(al.target_path, holder.path), "the allocator is %s, not the input",
	     al.target_path);
	/* The winner has malloc and free probed (corpus: malloc-outside-load once won with
	 * no site at all). */
	MUST(al.nsites >= 2 && al.nsites <= AL_MAX_SITES, "%d sites", al.nsites);
	MUST(memchr(al.flavor, 0, sizeof(al.flavor)), "flavor not terminated");
	for (i = 0; i < al.nsites; i++)
		check_site(&al.sites[i]);
	return 0;
}
