/* SPDX-License-Identifier: GPL-2.0 */
/* python.h - the CPython interpreter in a process: where it is, which version, and the
 * layout of what a Python stack walk reads.
 *
 * The interpreter is in the executable (Debian's python3.11: static, non-PIE, stripped)
 * or in a mapped libpython3.X.so (pyenv, --enable-shared). Either way it exports
 * _PyRuntime in .dynsym, so no debug symbols are needed. The version comes from the
 * exported Py_Version (3.11+) or the object's name (3.10); the offsets from a table per
 * major.minor (3.10-3.12), and for 3.13 from _Py_DebugOffsets, which CPython puts at
 * the start of _PyRuntime for out-of-process tools (checked against the table).
 * Offsets were read from the DWARF of pyenv's builds and checked on live processes,
 * Debian's 3.11.2 included (docs/design.md, Python).
 */
#ifndef AL_PYTHON_H
#define AL_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "agentleak.h"

#define PY_DEBUG_OFFSETS_LEN 584 /* _Py_DebugOffsets of 3.13 */

struct py_interp {
	unsigned int version;       /* PY_VERSION_HEX (0x030b02f0), or major/minor only (3.10) */
	char path[4096];            /* the object holding the interpreter, as the target sees it */
	unsigned long long base;    /* load bias: address = base + ELF virtual address */
	unsigned long long lo, hi;  /* where the object is mapped: [lo, hi) */
	unsigned long long runtime; /* &_PyRuntime in the process */
	unsigned long long code_type; /* &PyCode_Type */
	unsigned long long none;      /* &_Py_NoneStruct */
	unsigned long long type_type; /* &PyType_Type (0: not exported) */
	bool from_debug_offsets;      /* layout read from _Py_DebugOffsets */
	struct al_py_layout layout;
};

/* Find CPython in process pid. Returns 0; -ENOENT when pid runs no CPython; -ENOTSUP for
 * a version agentleak has no layout for (err says which); another -errno. err gets a
 * one-line reason on failure. */
int python_find(int pid, struct py_interp *py, char *err, size_t errlen);

/* The layout of CPython major.minor from the table, or NULL. Pure. */
const struct al_py_layout *python_layout(unsigned int major, unsigned int minor);

/* The layout from the bytes of _Py_DebugOffsets (the start of _PyRuntime, len bytes):
 * 0, or -1 when they are not 3.13's (cookie, version, free-threaded build). Pure: the
 * bytes are the target's. */
int python_debug_offsets(const unsigned char *buf, size_t len, struct al_py_layout *out);

/* Is the interpreter there in memory: _PyRuntime's first interpreter points back to
 * it? 0, -EAGAIN while it has no interpreter yet, -EINVAL when the layout is wrong,
 * -errno when the memory cannot be read. */
int python_check(int pid, const struct py_interp *py);

/* How the process's small objects are allocated: false when PYTHONMALLOC (in its
 * environment) sends every object to malloc ("malloc", "malloc_debug"), true for
 * pymalloc's arenas, whose objects the precise tier sees only as arena mmaps. */
bool python_pymalloc(int pid);

/* "3.11.2" (or "3.10" when only major.minor are known) into buf. */
const char *python_version_str(unsigned int version, char *buf, size_t len);

#endif
