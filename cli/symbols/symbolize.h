/* SPDX-License-Identifier: GPL-2.0 */
/* symbolize.h - turn code addresses of a traced process into function, source line and module.
 *
 * The CLI gets raw user-space stack addresses from the BPF side (pid + addresses) and
 * prints them with these functions. A symbolizer keeps a snapshot of each process's
 * executable mappings and one open ELF object (plus its debug info) per distinct file,
 * so stacks of a process can still be printed after it exited. Not thread-safe.
 */
#ifndef AGENTLEAK_SYMBOLIZE_H
#define AGENTLEAK_SYMBOLIZE_H

#include <stddef.h>

struct sym_frame {
	char func[256];                /* demangling not done; "" if unknown */
	unsigned long long off;        /* addr - function start */
	char file[256];                /* source file as DWARF gives it, "" if unknown */
	int line;                      /* 0 if unknown */
	char module[512];              /* ELF path as the target sees it, "" if in no mapping */
	unsigned long long module_off; /* file offset of addr inside module */
};

struct symbolizer;

struct symbolizer *sym_new(void);
void sym_free(struct symbolizer *s);

/* Snapshot /proc/PID/maps and open every file-backed executable mapping through
 * /proc/PID/root/<path> (falling back to /proc/PID/map_files/<start>-<end>).
 * Calling it again refreshes the snapshot; files already opened stay open.
 * Returns 0 or -errno. */
int sym_add_process(struct symbolizer *s, int pid);

/* Forget the snapshot of pid and its cached results (opened files are kept for
 * other processes). Use it when a process is no longer of interest. */
void sym_forget_process(struct symbolizer *s, int pid);

/* Resolve addr in process pid. With is_return_addr, function and line are looked up
 * at addr - 1 (off stays addr - function start). Refreshes the maps (at most every
 * 100 ms per pid) when addr is in no known mapping and the process is alive.
 * Returns 0 when at least the module is known, -ENOENT otherwise; out is always
 * filled with what is known. */
int sym_resolve(struct symbolizer *s, int pid, unsigned long long addr, int is_return_addr,
                struct sym_frame *out);

/* Format one frame: "func+0x1a (file.c:23)", "func+0x1a (libc.so.6)" without line
 * info, "[libc.so.6+0x1234]" without symbol, "[unknown]" without module.
 * Returns the length of the full string, like snprintf. */
int sym_format(const struct sym_frame *f, char *buf, size_t len);

/* Number of distinct ELF objects opened so far (for statistics and tests). */
unsigned int sym_nr_modules(const struct symbolizer *s);

#endif /* AGENTLEAK_SYMBOLIZE_H */
