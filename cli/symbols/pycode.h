/* SPDX-License-Identifier: GPL-2.0 */
/* pycode.h - a Python frame to "qualname (file.py:line)": code objects read from
 * outside the process.
 *
 * The BPF walk records, per frame, the address of its code object and where in its
 * instructions the frame is (3.10: f_lasti in code units; 3.11+: the instruction
 * pointer). Userspace reads the code object with process_vm_readv, its name, file name
 * and line table, and turns the instruction into a line the way CPython's
 * PyCode_Addr2Line does. Everything read comes from the target: every length is
 * bounded and every decoder pure, so tests/fuzz/fuzz_pycode.c can feed it anything.
 */
#ifndef AL_PYCODE_H
#define AL_PYCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/python.h"

#define PYCODE_NAME_MAX   256   /* bytes of a name kept (UTF-8) */
#define PYCODE_FILE_MAX   1024  /* bytes of a file name kept */
#define PYCODE_TABLE_MAX  65536 /* bytes of a line table read */
#define PYCODE_STR_MAXLEN 4096  /* code points of a str object read */

/* What a code object's address must still hold for a cached read of it to stand. */
struct pycode_identity {
	uint64_t name, file, table; /* the str and bytes objects it points to */
	uint64_t units;             /* 3.11+: its size in code units; 0 in 3.10 */
	int64_t first;              /* co_firstlineno */
};

struct pycode {
	struct pycode_identity id;
	char name[PYCODE_NAME_MAX]; /* co_qualname (3.11+) or co_name */
	char file[PYCODE_FILE_MAX]; /* co_filename */
	int firstlineno;
	unsigned char *table; /* co_linetable, malloc'ed */
	size_t table_len;
};

/* The line of the instruction at byte offset addrq in a code object (addrq < 0: the
 * frame has not started, co_firstlineno), from its line table: the 3.10 format when
 * minor is 10, the 3.11+ location table otherwise. -1 when the table has no line for it.
 * Pure. */
int pycode_line(unsigned int minor, const unsigned char *table, size_t len, int firstlineno,
                long addrq);

/* A str object's characters as UTF-8 into out (len bytes, NUL-terminated, cut at a whole
 * character): state is its 32-bit state word, data its characters (nchars of them, 1, 2
 * or 4 bytes each as kind says). Returns the bytes written, or -1 for a state that is
 * no compact str. Pure. */
int pycode_utf8(uint32_t state, const unsigned char *data, size_t nchars, char *out, size_t len);

/* Read the code object at addr in process pid: name, file, first line and line table
 * (code->table to be freed by pycode_release). 0, or -errno (-EINVAL: not a code
 * object). */
int pycode_read(int pid, const struct py_interp *py, uint64_t addr, struct pycode *code);
void pycode_release(struct pycode *code);

/* Code objects already read, per process: a frame's name, file and line cost one
 * lookup after the first time. */
struct pysyms;

struct pysyms *pysyms_new(void);
void pysyms_free(struct pysyms *ps);
/* Forget what was read of process pid (it exited or executed another program). */
void pysyms_forget(struct pysyms *ps, int pid);
/* The frame (code object code, instruction instr) of Python process pid: its name,
 * file and line (-1: none). 0, or -errno when the code object cannot be read, -ESTALE
 * when the instruction is not one of the code object now at that address (it was freed
 * and the address reused after the frame was recorded). A code object read before is
 * checked once per pysyms_recheck() (its name, file, table pointers and size) and read
 * again when it changed. */
int pysyms_frame(struct pysyms *ps, int pid, const struct py_interp *py, uint64_t code,
                 uint64_t instr, const struct pycode **out, int *line);

/* A new report: check each cached code object again at its next use. */
void pysyms_recheck(struct pysyms *ps);

/* Frames that could not be named since pysyms_new. */
struct pysyms_stats {
	unsigned long long unreadable; /* code object unreadable (freed, process gone) */
	unsigned long long stale;      /* instruction outside the code object now there */
	unsigned long long reread;     /* cached code objects found changed and read again */
};
const struct pysyms_stats *pysyms_stats(const struct pysyms *ps);

/* The byte offset pycode_line() wants, from what the walk recorded for a frame: 3.10's
 * f_lasti (code units), or 3.11+'s instruction pointer. */
long pycode_addrq(const struct py_interp *py, uint64_t code_addr, uint64_t instr);

#endif
