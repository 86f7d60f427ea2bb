/* SPDX-License-Identifier: GPL-2.0 */
/* allocator.h - find the object that really provides malloc in a process,
 * and where to put the uprobes on it.
 *
 * allocator_find() reads /proc/PID/maps, walks the mapped objects in the
 * order the dynamic linker searches them for a symbol (executable, preloads,
 * DT_NEEDED breadth first, the rest, libc last) and returns the first one that
 * defines both malloc and free, with every allocator entry point it defines.
 * The attach code turns each site into one uprobe whose bpf_cookie is the
 * site's kind; it dedups sites sharing a file offset (memalign and
 * aligned_alloc are one function in glibc and tcmalloc).
 *
 * allocator_place_probe() picks, for entry-only probes, an offset at the head
 * of a function where the x86 kernel emulates the instruction instead of
 * single-stepping it (a trap of ~5 us instead of ~18 us). Use probe_off only
 * for a function that has no return probe (free): a uretprobe must sit at
 * file_off, where the return address is at rsp, and an entry probe at the
 * same place shares its trap. probe_off != file_off implies that the
 * instruction at file_off is single-stepped.
 */
#ifndef AL_ALLOCATOR_H
#define AL_ALLOCATOR_H

#include <stddef.h>
#include <linux/types.h>
#include "agentleak.h"

#define AL_MAX_SITES 16

struct al_site {
	enum al_kind kind;
	const char *name;             /* "malloc", "free", ... (static string) */
	unsigned long long vaddr;     /* symbol value (st_value) in the object */
	unsigned long long size;      /* symbol size (st_size), 0 if unknown */
	unsigned long long file_off;  /* file offset of the function start */
	unsigned long long probe_off; /* file offset for an entry-only probe */
	int sp_adjust;                /* bytes pushed between file_off and probe_off:
	                               * the return address is at rsp + sp_adjust */
	int emulated;                 /* the insn at probe_off is emulated by the kernel */
	int ifunc;                    /* STT_GNU_IFUNC: vaddr is the resolver, not the code */
	char insn[64];                /* mnemonic + operands at probe_off, for -v */
};

struct al_allocator {
	char path[4096];        /* usable from our mount namespace: /proc/PID/root/<target_path>,
	                         * or /proc/PID/map_files/<range> for a deleted file */
	char target_path[4096]; /* as the target sees it */
	char flavor[32];        /* glibc, jemalloc, tcmalloc, musl, static, other */
	int nsites;
	struct al_site sites[AL_MAX_SITES];
};

/* Find the allocator of process pid. Returns 0, or -ESRCH (no such process),
 * -EPERM, -ENOEXEC (no object in the process defines malloc and free: a static
 * binary without libc, a Go binary, a stripped static binary), or another
 * -errno. errbuf (may be NULL) gets a one-line human reason on failure. */
int allocator_find(int pid, struct al_allocator *out, char *errbuf, size_t errlen);

/* Disassemble code (the function's bytes, starting at file offset func_off;
 * len is the symbol size) and fill site->file_off, probe_off, sp_adjust,
 * emulated and insn. Pure: needs no process and no file. Returns 0, or
 * -EINVAL if the first instruction cannot be decoded (the site is then set
 * to probe func_off, not emulated). */
int allocator_place_probe(const unsigned char *code, size_t len, unsigned long long func_off,
                          struct al_site *site);

/* The value of LD_PRELOAD in an environment block (/proc/PID/environ: len bytes of
 * NUL-separated VAR=value strings, with a NUL after them), or NULL. Pure. */
char *allocator_env_preload(char *env, size_t len);

/* fn(entry, arg) for each entry of a preload list (LD_PRELOAD, /etc/ld.so.preload; the
 * target's text, NUL-terminated, cut in place): separated by spaces, tabs, newlines or
 * colons, up to an entry that starts with '#'. Pure. */
void allocator_preload_list(char *list, void (*fn)(const char *entry, void *arg), void *arg);

/* Name of an allocator entry point ("malloc"), or NULL. */
const char *allocator_kind_name(enum al_kind kind);

#endif /* AL_ALLOCATOR_H */
