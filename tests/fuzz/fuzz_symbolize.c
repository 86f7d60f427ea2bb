// SPDX-License-Identifier: GPL-2.0
/* fuzz_symbolize.c - fuzz the symbolizer (cli/symbols/symbolize.c): ELF and DWARF of a file that
 * a traced process maps, read through libdwfl (program headers, symbol tables, line
 * tables, debuglink and build-id lookups).
 *
 * The input is mapped executable by a live process (holder.h); each run opens a fresh
 * symbolizer on it with sym_add_process(), resolves addresses (as calls and as return
 * addresses) spread over the mapping, at the ELF entry point and in the middle of the
 * first symbols the input's own symbol tables give, and formats them with sym_format().
 * The symbolizer keeps modules by inode, so it is freed each run.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/symbolize.h"
#include "holder.h"
#include "must.h"

#define SPREAD  8  /* addresses spread over the file */
#define SYMBOLS 16 /* symbols of the input looked up */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	holder_start("symbolize");
	return 0;
}

/* Middles of the first symbols (values + size / 2) of an ELF64 input's symbol tables,
 * at most max: where the symbolizer has functions and lines to find. */
static int symbol_addrs(const uint8_t *d, size_t n, unsigned long long *out, int max)
{
	unsigned long long shoff, off, size, entsize, value, symsize, j;
	unsigned int shentsize, shnum, i, type;
	int k = 0;

	if (n < 64 || memcmp(d, "\177ELF\2", 5))
		return 0;
	memcpy(&shoff, d + 0x28, 8);
	shentsize = d[0x3a] | d[0x3b] << 8;
	shnum = d[0x3c] | d[0x3d] << 8;
	if (shentsize < 64 || shoff >= n || shnum > (n - shoff) / shentsize)
		return 0;
	for (i = 0; i < shnum && k < max; i++) {
		const uint8_t *sh = d + shoff + (unsigned long long)i * shentsize;

		memcpy(&type, sh + 4, 4);
		memcpy(&off, sh + 0x18, 8);
		memcpy(&size, sh + 0x20, 8);
		memcpy(&entsize, sh + 0x38, 8);
		if ((type != 2 && type != 11) || entsize != 24 || off >= n || size > n - off)
			continue; /* SHT_SYMTAB, SHT_DYNSYM */
		for (j = 1; j < size / 24 && k < max; j++) {
			memcpy(&value, d + off + j * 24 + 8, 8);
			memcpy(&symsize, d + off + j * 24 + 16, 8);
			if (value && value < HOLDER_MAP_LEN && symsize < HOLDER_MAP_LEN)
				out[k++] = value + symsize / 2;
		}
	}
	return k;
}

static void resolve(struct symbolizer *s, unsigned long long addr, int is_ret)
{
	struct sym_frame f;
	char buf[1024];
	int n;

	memset(&f, 0xa5, sizeof(f));
	sym_resolve(s, holder.pid, addr, is_ret, &f);
	MUST(memchr(f.func, 0, sizeof(f.func)) && memchr(f.file, 0, sizeof(f.file)) &&
	         memchr(f.module, 0, sizeof(f.module)),
	     "frame of %#llx: a string not terminated", addr);
	n = sym_format(&f, buf, sizeof(buf));
	MUST(n >= 0 && strlen(buf) == ((size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1),
	     "sym_format returned %d for %zu bytes", n, strlen(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long entry = 0, off, syms[SYMBOLS];
	struct symbolizer *s;
	int i, n;

	if (size > HOLDER_MAP_LEN)
		return -1;
	holder_load(data, size);
	s = sym_new();
	MUST(s, "sym_new failed");
	sym_add_process(s, holder.pid);
	if (size >= 32)
		memcpy(&entry, data + 24, sizeof(entry)); /* e_entry of an ELF64 header */
	for (i = 0; i < SPREAD; i++) {
		off = size * i / SPREAD;
		resolve(s, holder.start + off, i & 1);
	}
	if (entry < HOLDER_MAP_LEN) {
		resolve(s, holder.start + entry, 0);
		resolve(s, holder.start + entry + 1, 1);
	}
	n = symbol_addrs(data, size, syms, SYMBOLS);
	for (i = 0; i < n; i++)
		resolve(s, holder.start + syms[i], i & 1);
	sym_free(s);
	return 0;
}
