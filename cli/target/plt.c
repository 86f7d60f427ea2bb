// SPDX-License-Identifier: GPL-2.0
/* plt.c - where a process's executable has its PLT sections at run time.
 *
 * Sections are found by name in the file's section headers (kept by strip) and placed
 * through the mapping that maps their file offset, which works the same for PIE and
 * non-PIE executables.
 */
#include <stdbool.h>
#include <string.h>
#include <gelf.h>
#include <libelf.h>
#include "target/plt.h"

/* Linkers emit .plt (lazy stubs), .plt.sec (the IBT stubs, -z ibtplt/CET builds) and
 * .plt.got (stubs for functions whose address is also taken). */
static bool is_plt(const char *name)
{
	return !strcmp(name, ".plt") || !strcmp(name, ".plt.sec") || !strcmp(name, ".plt.got");
}

/* The runtime address of file offset [off, off + size) if one mapping holds it all.
 * Both come from the file: off + size may wrap, so the room left is compared instead. */
static __u64 runtime_addr(const struct plt_map *maps, int nmaps, __u64 off, __u64 size)
{
	__u64 len;
	int i;

	for (i = 0; i < nmaps; i++) {
		len = maps[i].end - maps[i].start;
		if (off >= maps[i].off && size <= len && off - maps[i].off <= len - size)
			return maps[i].start + (off - maps[i].off);
	}
	return 0;
}

int plt_ranges(int fd, const struct plt_map *maps, int nmaps, __u64 *start, __u64 *end, int max)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int n = 0;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	while (n < max && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;
		__u64 addr;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || !is_plt(name))
			continue;
		addr = runtime_addr(maps, nmaps, sh.sh_offset, sh.sh_size);
		if (!addr)
			continue;
		start[n] = addr;
		end[n] = addr + sh.sh_size;
		n++;
	}
out:
	elf_end(elf);
	return n;
}
