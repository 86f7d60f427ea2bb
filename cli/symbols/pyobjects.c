// SPDX-License-Identifier: GPL-2.0
/* pyobjects.c - the Python types of live memory, read from outside (see pyobjects.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "base/hash.h"
#include "base/vmread.h"
#include "symbols/pyobjects.h"

#define PYOBJ_F_TYPE_SUB (1UL << 31)   /* Py_TPFLAGS_TYPE_SUBCLASS: a metaclass */
#define REFCNT_MAX       0xffffffffULL /* 3.12+'s immortal objects stay below */
#define USER_TOP         (1ULL << 47)
#define OBJECT_MAX       (1ULL << 30) /* a bigger object is taken for garbage */
#define BLOCK_READ       64           /* bytes of a heap block read: header, GC, dict */
#define RANGE_READ       (1 << 20)    /* bytes of a page range or arena read at most */
#define TYPES_CACHED     4096

static uint64_t word(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

unsigned int pyobj_preheader(unsigned int minor, uint64_t flags)
{
	unsigned int n = flags & PYOBJ_F_GC ? 16 : 0;

	if (minor == 11 && flags & PYOBJ_F_DICT)
		n += 16;
	else if (minor >= 12 && flags & (PYOBJ_F_DICT | PYOBJ_F_WEAKREF))
		n += 16;
	return n;
}

int pyobj_type_parse(const unsigned char *t, const char *name, size_t len, struct pyobj_type *out)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	out->flags = word(t + PYOBJ_TP_FLAGS);
	out->basicsize = word(t + PYOBJ_TP_BASIC);
	out->itemsize = word(t + PYOBJ_TP_ITEM);
	if (!(out->flags & PYOBJ_F_READY) || out->basicsize < 16 || out->basicsize > 1 << 20 ||
	    out->itemsize > 256)
		return -1;
	for (n = 0; n < len && name[n]; n++)
		if ((unsigned char)name[n] < 0x20 || name[n] == 0x7f)
			return -1;
	if (!n || n == len || n >= sizeof(out->name))
		return -1;
	memcpy(out->name, name, n);
	out->name[n] = 0;
	return 0;
}

void pyobj_tally_add(struct pyobj_tally *t, const struct pyobj_type *type, uint64_t objects,
                     uint64_t bytes)
{
	int i;

	for (i = 0; i < t->ntypes; i++)
		if (t->types[i].type == type->addr && !strcmp(t->types[i].name, type->name))
			break;
	if (i == t->ntypes) {
		if (t->ntypes == PYOBJ_TYPES_MAX) {
			t->other_objects += objects;
			t->other_bytes += bytes;
			return;
		}
		t->types[i].type = type->addr;
		memcpy(t->types[i].name, type->name, sizeof(t->types[i].name));
		t->types[i].objects = t->types[i].bytes = 0;
		t->ntypes++;
	}
	t->types[i].objects += objects;
	t->types[i].bytes += bytes;
}

static int by_objects(const void *a, const void *b)
{
	const __typeof__(((struct pyobj_tally *)0)->types[0]) *x = a, *y = b;

	if (x->objects != y->objects)
		return x->objects < y->objects ? 1 : -1;
	return strcmp(x->name, y->name);
}

void pyobj_tally_sort(struct pyobj_tally *t)
{
	qsort(t->types, t->ntypes, sizeof(t->types[0]), by_objects);
}

/* Is there an object at p (offset in buf)? Its type and size (with its preheader). */
static bool object_at(const unsigned char *buf, size_t len, size_t p, unsigned int minor,
                      pyobj_type_fn lookup, void *ctx, const struct pyobj_type **type,
                      uint64_t *size)
{
	uint64_t refcnt, tp, n;

	if (p + 16 > len)
		return false;
	refcnt = word(buf + p);
	tp = word(buf + p + 8);
	if (!refcnt || refcnt > REFCNT_MAX || !tp || tp & 7 || tp >= USER_TOP ||
	    lookup(ctx, tp, type))
		return false;
	*size = (*type)->basicsize;
	if ((*type)->itemsize && p + 24 <= len) {
		n = word(buf + p + 16);
		if ((int64_t)n < 0)
			n = -n;
		if (n > OBJECT_MAX / (*type)->itemsize)
			return false;
		*size += n * (*type)->itemsize;
	}
	if (*size > OBJECT_MAX)
		return false;
	*size += pyobj_preheader(minor, (*type)->flags);
	return true;
}

int pyobj_scan(const unsigned char *buf, size_t len, uint64_t base, bool block, unsigned int minor,
               pyobj_type_fn lookup, void *ctx, struct pyobj_tally *t)
{
	const struct pyobj_type *type;
	uint64_t size;
	size_t p = 0;
	int found = 0;

	if (block) {
		for (p = 0; p <= 32; p += 16)
			if (object_at(buf, len, p, minor, lookup, ctx, &type, &size) &&
			    pyobj_preheader(minor, type->flags) == p) {
				pyobj_tally_add(t, type, 1, size);
				return 1;
			}
		return 0;
	}
	(void)base;
	while (p + 16 <= len) {
		if (!object_at(buf, len, p, minor, lookup, ctx, &type, &size)) {
			p += 16;
			continue;
		}
		pyobj_tally_add(t, type, 1, size);
		found++;
		/* Past the object; its preheader was before p. */
		size -= pyobj_preheader(minor, type->flags);
		size = (size + 15) & ~15ULL;
		if (size >= len - p)
			break;
		p += size ? size : 16;
	}
	return found;
}

/* ---- Reading a process ---------------------------------------------------------------- */

struct type_entry {
	int pid; /* 0: free */
	bool valid;
	struct pyobj_type type;
};

struct pyobjects {
	struct type_entry *slots; /* open addressing, 2 * TYPES_CACHED */
	int n;
	unsigned char *buf; /* RANGE_READ bytes */
};

struct pyobjects *pyobjects_new(void)
{
	struct pyobjects *po = calloc(1, sizeof(*po));

	if (!po)
		return NULL;
	po->slots = calloc(2 * TYPES_CACHED, sizeof(*po->slots));
	po->buf = malloc(RANGE_READ);
	if (!po->slots || !po->buf) {
		pyobjects_free(po);
		return NULL;
	}
	return po;
}

void pyobjects_free(struct pyobjects *po)
{
	if (!po)
		return;
	free(po->slots);
	free(po->buf);
	free(po);
}

/* Drop the entries of pid (0: all), keeping the table's probe chains whole. */
static void drop(struct pyobjects *po, int pid)
{
	struct type_entry *old = po->slots;
	int i;

	po->slots = calloc(2 * TYPES_CACHED, sizeof(*po->slots));
	if (!po->slots) { /* keep the old table, emptied */
		po->slots = old;
		memset(old, 0, 2 * TYPES_CACHED * sizeof(*old));
		po->n = 0;
		return;
	}
	po->n = 0;
	for (i = 0; i < 2 * TYPES_CACHED; i++) {
		size_t j;

		if (!old[i].pid || !pid || old[i].pid == pid)
			continue;
		j = hash_fnv1a(hash_fnv1a_word(HASH_FNV_INIT, old[i].type.addr), &old[i].pid,
		               sizeof(old[i].pid)) &
		    (2 * TYPES_CACHED - 1);
		while (po->slots[j].pid)
			j = (j + 1) & (2 * TYPES_CACHED - 1);
		po->slots[j] = old[i];
		po->n++;
	}
	free(old);
}

void pyobjects_forget(struct pyobjects *po, int pid)
{
	if (po)
		drop(po, pid);
}

/* Read the type object at addr and check that it is one: its type is PyType_Type or a
 * metaclass (a subclass of type whose own type is PyType_Type). */
static int read_type(int pid, const struct py_interp *py, uint64_t addr, struct pyobj_type *out)
{
	unsigned char t[PYOBJ_TYPE_READ], meta[PYOBJ_TYPE_READ];
	char name[PYOBJ_NAME_MAX];
	uint64_t mt, nameptr;
	struct iovec local = {name, sizeof(name)}, remote;
	ssize_t n;

	if (vm_read(pid, addr, t, sizeof(t)))
		return -1;
	mt = word(t + PYOBJ_TP_TYPE);
	if (mt != py->type_type &&
	    (mt & 7 || mt >= USER_TOP || vm_read(pid, mt, meta, sizeof(meta)) ||
	     word(meta + PYOBJ_TP_TYPE) != py->type_type ||
	     !(word(meta + PYOBJ_TP_FLAGS) & PYOBJ_F_TYPE_SUB)))
		return -1;
	nameptr = word(t + PYOBJ_TP_NAME);
	if (!nameptr || nameptr >= USER_TOP)
		return -1;
	/* The name may end near the end of a mapping: take what can be read. */
	remote = (struct iovec){(void *)(uintptr_t)nameptr, sizeof(name)};
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0) {
		remote.iov_len = local.iov_len = 4096 - (nameptr & 4095);
		if (remote.iov_len > sizeof(name))
			return -1;
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return -1;
	}
	if (pyobj_type_parse(t, name, (size_t)n, out))
		return -1;
	out->addr = addr;
	return 0;
}

struct lookup_ctx {
	struct pyobjects *po;
	int pid;
	const struct py_interp *py;
};

static int lookup(void *arg, uint64_t addr, const struct pyobj_type **out)
{
	struct lookup_ctx *c = arg;
	struct pyobjects *po = c->po;
	size_t j = hash_fnv1a(hash_fnv1a_word(HASH_FNV_INIT, addr), &c->pid, sizeof(c->pid)) &
	           (2 * TYPES_CACHED - 1);
	struct type_entry *e;

	while (po->slots[j].pid && !(po->slots[j].pid == c->pid && po->slots[j].type.addr == addr))
		j = (j + 1) & (2 * TYPES_CACHED - 1);
	e = &po->slots[j];
	if (!e->pid) {
		if (po->n >= TYPES_CACHED) {
			drop(po, 0);
			return lookup(arg, addr, out);
		}
		e->pid = c->pid;
		e->valid = !read_type(c->pid, c->py, addr, &e->type);
		e->type.addr = addr;
		po->n++;
	}
	*out = &e->type;
	return e->valid ? 0 : -1;
}

int pyobjects_read(struct pyobjects *po, int pid, const struct py_interp *py, uint64_t addr,
                   uint64_t len, bool block, struct pyobj_tally *t)
{
	struct lookup_ctx c = {po, pid, py};
	struct iovec local, remote;
	ssize_t n;

	if (!py->type_type || addr & 15) {
		t->ranges_unread++;
		return -EINVAL;
	}
	if (len > (block ? BLOCK_READ : RANGE_READ))
		len = block ? BLOCK_READ : RANGE_READ;
	local = (struct iovec){po->buf, len};
	remote = (struct iovec){(void *)(uintptr_t)addr, len};
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 16) {
		t->ranges_unread++;
		return n < 0 ? -errno : -EFAULT;
	}
	t->ranges_read++;
	pyobj_scan(po->buf, (size_t)n, addr, block, (py->version >> 16) & 0xff, lookup, &c, t);
	return 0;
}
