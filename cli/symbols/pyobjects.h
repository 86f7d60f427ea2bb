/* SPDX-License-Identifier: GPL-2.0 */
/* pyobjects.h - what leaked, not only where: the Python types of live memory, read from
 * outside the process (--python-objects).
 *
 * Every Python object starts with a reference count and a pointer to its type; the type
 * object holds its name (tp_name), sizes and flags, and is itself an object whose type
 * is PyType_Type (or a metaclass of it). So a block of live memory can be named by
 * reading it: a malloc'ed block holds one object at its start, or 16 B further on for a
 * garbage-collected type (PyGC_Head), 32 B for a type with a managed dict (3.11+), as
 * the type's flags say; a page or a pymalloc arena holds many, found by scanning every
 * 16-byte boundary. A candidate counts only when its type checks out (type of type is
 * PyType_Type, ready, a printable name, sane sizes) and, for a block, when its header
 * size is the one its type's flags give. Everything is read with process_vm_readv
 * while the target runs: all of it is bounded, and the scanner is pure (fuzzed).
 */
#ifndef AL_PYOBJECTS_H
#define AL_PYOBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/python.h"

#define PYOBJ_NAME_MAX  96  /* bytes of a type's name kept */
#define PYOBJ_TYPE_READ 176 /* bytes of a type object read: up to tp_flags */
#define PYOBJ_TYPES_MAX 8   /* types kept per tally, by count; the rest is "other" */

/* PyTypeObject (64-bit, every version 3.10-3.13). */
#define PYOBJ_TP_TYPE   8
#define PYOBJ_TP_NAME   24
#define PYOBJ_TP_BASIC  32
#define PYOBJ_TP_ITEM   40
#define PYOBJ_TP_FLAGS  168
#define PYOBJ_F_WEAKREF (1UL << 3) /* Py_TPFLAGS_MANAGED_WEAKREF (3.12+) */
#define PYOBJ_F_DICT    (1UL << 4) /* Py_TPFLAGS_MANAGED_DICT (3.11+) */
#define PYOBJ_F_READY   (1UL << 12)
#define PYOBJ_F_GC      (1UL << 14)

struct pyobj_type {
	uint64_t addr; /* the type object */
	char name[PYOBJ_NAME_MAX];
	uint64_t basicsize, itemsize, flags;
};

/* Objects found, by type. */
struct pyobj_tally {
	struct {
		uint64_t type;
		char name[PYOBJ_NAME_MAX];
		uint64_t objects, bytes;
	} types[PYOBJ_TYPES_MAX];
	int ntypes;
	uint64_t other_objects, other_bytes; /* of types past the first PYOBJ_TYPES_MAX */
	uint64_t ranges_read;                /* blocks, pages or arenas read */
	uint64_t ranges_unread;              /* gone or unreadable */
};

/* Bytes in front of an object of a type with these flags in CPython 3.minor: its GC
 * header and managed dict/weakref pointers. Pure. */
unsigned int pyobj_preheader(unsigned int minor, uint64_t flags);

/* A type object's fields from its first PYOBJ_TYPE_READ bytes (t) and the name read from
 * where its tp_name points (name, len bytes, need not be terminated): 0, or -1 when they
 * are not a ready type's. The metatype is the caller's to check. Pure. */
int pyobj_type_parse(const unsigned char *t, const char *name, size_t len, struct pyobj_type *out);

/* Look up the type at address type: 0 with *out, or -1 when it is no type. */
typedef int (*pyobj_type_fn)(void *ctx, uint64_t type, const struct pyobj_type **out);

/* Find the objects in buf, len bytes of the target read from address base (16-aligned),
 * and add them to t. block: buf is the start of one heap block (one object, at its
 * preheader's distance from the start); else every 16-byte boundary may start an object
 * (a page, a pymalloc arena), skipping what a found object covers. Returns the objects
 * found. Pure but for lookup. */
int pyobj_scan(const unsigned char *buf, size_t len, uint64_t base, bool block, unsigned int minor,
               pyobj_type_fn lookup, void *ctx, struct pyobj_tally *t);

/* Add objects of a type to a tally: the first PYOBJ_TYPES_MAX types by first sight keep
 * their names, the others go to other_*. Pure. */
void pyobj_tally_add(struct pyobj_tally *t, const struct pyobj_type *type, uint64_t objects,
                     uint64_t bytes);
/* Types by objects, most first. */
void pyobj_tally_sort(struct pyobj_tally *t);

/* Types already read, per process. */
struct pyobjects;

struct pyobjects *pyobjects_new(void);
void pyobjects_free(struct pyobjects *po);
/* Forget what was read of process pid (it exited or executed another program). */
void pyobjects_forget(struct pyobjects *po, int pid);
/* Read [addr, addr + len) of process pid (at most a bounded amount) and tally its
 * objects: one block (block), or a range of pages or an arena. 0, or -errno when it
 * could not be read (counted in t->ranges_unread). */
int pyobjects_read(struct pyobjects *po, int pid, const struct py_interp *py, uint64_t addr,
                   uint64_t len, bool block, struct pyobj_tally *t);

#endif
