// SPDX-License-Identifier: GPL-2.0
/* test_pyobjects.c - unit tests of the pure parts of cli/symbols/pyobjects.c: the header
 * in front of an object per version (as measured on each CPython: the object's distance
 * from its malloc block), a type object's parse, the scanner of a heap block and of a
 * range (fake memory with fake types), and the tally. The reading of a live process is
 * tested by tests/integration/test_python_objects.py.
 */
#include <stdint.h>
#include <string.h>
#include "symbols/pyobjects.h"

#include "check.h"

#define BASE 0x10000ULL /* where the fake memory below "is" in the target */

static unsigned char mem[8192];

static void put(size_t off, uint64_t v)
{
	memcpy(mem + off, &v, 8);
}

/* A type object at off, its name right after what is read of it. */
static void fake_type(size_t off, const char *name, uint64_t basic, uint64_t item, uint64_t flags)
{
	memset(mem + off, 0, PYOBJ_TYPE_READ + 32);
	put(off + PYOBJ_TP_BASIC, basic);
	put(off + PYOBJ_TP_ITEM, item);
	put(off + PYOBJ_TP_FLAGS, flags);
	strcpy((char *)mem + off + PYOBJ_TYPE_READ, name);
}

/* Types are the fake memory's offsets 4096 (a GC class with a managed dict), 4608
 * (bytes-like: variable size, no GC) and 5120 (not ready). */
#define T_CLASS 4096
#define T_BYTES 4608
#define T_BAD   5120

static struct pyobj_type parsed[3];

static int lookup(void *ctx, uint64_t addr, const struct pyobj_type **out)
{
	static const size_t offs[3] = {T_CLASS, T_BYTES, T_BAD};
	int i;

	(void)ctx;
	for (i = 0; i < 3; i++)
		if (addr == BASE + offs[i]) {
			if (pyobj_type_parse(mem + offs[i], (char *)mem + offs[i] + PYOBJ_TYPE_READ,
			                     32, &parsed[i]))
				return -1;
			parsed[i].addr = addr;
			*out = &parsed[i];
			return 0;
		}
	return -1;
}

static void object(size_t off, uint64_t refcnt, size_t type, uint64_t size)
{
	put(off, refcnt);
	put(off + 8, BASE + type);
	put(off + 16, size);
}

static void test_preheader(void)
{
	/* Measured: a class instance sits 16 B (3.10), 32 B (3.11-3.13) into its block; a
	 * dict 16 B, a bytearray 0 B (tp_flags as each version has them). */
	CHECK(pyobj_preheader(10, 0x85600) == 16, "3.10 class: GC header");
	CHECK(pyobj_preheader(11, 0x85610) == 32, "3.11 class: GC header and managed dict");
	CHECK(pyobj_preheader(12, 0x85618) == 32, "3.12 class: GC, managed dict and weakref");
	CHECK(pyobj_preheader(13, 0x561c) == 32, "3.13 class: GC, managed dict and weakref");
	CHECK(pyobj_preheader(11, 0x20485540) == 16, "3.11 dict: GC header");
	CHECK(pyobj_preheader(12, 0x481502) == 0, "3.12 bytearray: nothing");
	CHECK(pyobj_preheader(10, 0x10) == 0, "3.10 has no managed dict");
	CHECK(pyobj_preheader(11, 0x8) == 0, "3.11 has no managed weakref");
	CHECK(pyobj_preheader(12, 0x8) == 16, "3.12's managed weakref alone has a preheader");
}

static void test_type_parse(void)
{
	struct pyobj_type t;
	char name[8] = "abc";

	fake_type(T_CLASS, "Conversation", 24, 0, PYOBJ_F_READY | PYOBJ_F_GC | PYOBJ_F_DICT);
	CHECK(!pyobj_type_parse(mem + T_CLASS, (char *)mem + T_CLASS + PYOBJ_TYPE_READ, 32, &t) &&
	          !strcmp(t.name, "Conversation") && t.basicsize == 24,
	      "a ready type is parsed: %s, %llu B", t.name, (unsigned long long)t.basicsize);
	fake_type(T_BAD, "x", 24, 0, PYOBJ_F_GC);
	CHECK(pyobj_type_parse(mem + T_BAD, name, sizeof(name), &t), "not ready: refused");
	fake_type(T_BAD, "x", 8, 0, PYOBJ_F_READY);
	CHECK(pyobj_type_parse(mem + T_BAD, name, sizeof(name), &t), "basicsize 8: refused");
	fake_type(T_BAD, "x", 24, 4096, PYOBJ_F_READY);
	CHECK(pyobj_type_parse(mem + T_BAD, name, sizeof(name), &t), "itemsize 4096: refused");
	fake_type(T_BAD, "x", 24, 0, PYOBJ_F_READY);
	CHECK(pyobj_type_parse(mem + T_BAD, "abcd", 4, &t), "a name without its end: refused");
	CHECK(pyobj_type_parse(mem + T_BAD, "", 4, &t), "an empty name: refused");
	CHECK(pyobj_type_parse(mem + T_BAD, "a\nb", 4, &t), "a control character: refused");
	CHECK(!pyobj_type_parse(mem + T_BAD, "caf\xc3\xa9", 6, &t) &&
	          !strcmp(t.name, "caf\xc3\xa9"),
	      "a UTF-8 name is kept");
	fake_type(T_BAD, "x", 24, 0, PYOBJ_F_GC); /* back to not ready for the scans */
}

static void test_block(void)
{
	struct pyobj_tally t = {0};

	memset(mem, 0, 4096);
	/* 3.11 class: [dict ptrs 16][GC head 16][object]: object at 32. */
	put(0, BASE + 3000);
	put(16, BASE + 3100); /* gc_next: a pointer, no refcount */
	object(32, 1, T_CLASS, 0);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 1 && t.ntypes == 1 &&
	          !strcmp(t.types[0].name, "Conversation") && t.types[0].bytes == 56,
	      "3.11: the class found 32 B into its block, 56 B with its header (%llu)",
	      (unsigned long long)t.types[0].bytes);
	memset(&t, 0, sizeof(t));
	CHECK(pyobj_scan(mem, 64, BASE, true, 10, lookup, NULL, &t) == 0,
	      "3.10: the same block is not the class (its header would be 16 B)");
	memset(mem, 0, 64);
	object(16, 1, T_CLASS, 0);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 0,
	      "3.11: a class 16 B into its block is refused (its flags say 32)");
	memset(mem, 0, 64);
	object(0, 0, T_BYTES, 10);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 0,
	      "reference count 0 (a freed object): refused");
	object(0, 1ULL << 40, T_BYTES, 10);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 0,
	      "a pointer where the count is: refused");
	object(0, 3, T_BAD, 10);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 0,
	      "a type that is not ready: refused");
	object(0, 3, T_BYTES, 4096);
	CHECK(pyobj_scan(mem, 64, BASE, true, 11, lookup, NULL, &t) == 1 &&
	          t.types[0].bytes == 33 + 4096,
	      "a bytes object: 33 B + one byte per item (%llu)",
	      (unsigned long long)t.types[0].bytes);
	CHECK(pyobj_scan(mem, 15, BASE, true, 11, lookup, NULL, &t) == 0,
	      "a block shorter than a header: nothing");
}

static void test_range(void)
{
	struct pyobj_tally t = {0};
	int n;

	memset(mem, 0, 4096);
	/* A pool: a bytes of 100 B (its payload holds a fake header that must be skipped),
	 * then three classes (GC + dict in front), then a freed block. */
	object(0, 1, T_BYTES, 100);
	object(48, 1, T_BYTES, 5); /* inside the first bytes' payload */
	object(144 + 32, 2, T_CLASS, 0);
	object(208 + 32, 2, T_CLASS, 0);
	object(272 + 32, 2, T_CLASS, 0);
	put(336, 0x7f0000001000ULL); /* a free block of an arena: its next-free pointer */
	put(344, BASE + T_CLASS);
	n = pyobj_scan(mem, 4096, BASE, false, 12, lookup, NULL, &t);
	pyobj_tally_sort(&t);
	CHECK(n == 4 && t.ntypes == 2 && !strcmp(t.types[0].name, "Conversation") &&
	          t.types[0].objects == 3 && !strcmp(t.types[1].name, "bytes") &&
	          t.types[1].objects == 1,
	      "a range: 3 Conversation and 1 bytes, the header in the payload skipped (%d found)",
	      n);
	memset(&t, 0, sizeof(t));
	object(4080, 1, T_BYTES, 1000000);
	n = pyobj_scan(mem, 4096, BASE, false, 12, lookup, NULL, &t);
	CHECK(n == 5, "an object running past the end is counted and ends the scan (%d)", n);
	object(0, 1, T_BYTES, 1ULL << 40);
	memset(&t, 0, sizeof(t));
	n = pyobj_scan(mem, 4096, BASE, false, 12, lookup, NULL, &t);
	CHECK(n == 5 && t.types[0].objects + (t.ntypes > 1 ? t.types[1].objects : 0) == 5,
	      "an absurd size is not an object: the scan goes on (%d)", n);
}

static void test_tally(void)
{
	struct pyobj_tally t = {0};
	struct pyobj_type ty = {0};
	int i;

	for (i = 0; i < PYOBJ_TYPES_MAX + 3; i++) {
		ty.addr = 100 + i;
		snprintf(ty.name, sizeof(ty.name), "T%d", i);
		pyobj_tally_add(&t, &ty, i + 1, 10 * (i + 1));
	}
	pyobj_tally_sort(&t);
	CHECK(t.ntypes == PYOBJ_TYPES_MAX && !strcmp(t.types[0].name, "T7") &&
	          t.types[0].objects == 8,
	      "the first %d types kept, most objects first (%s)", PYOBJ_TYPES_MAX, t.types[0].name);
	CHECK(t.other_objects == 9 + 10 + 11 && t.other_bytes == 300,
	      "the rest counted as other: %llu objects, %llu B",
	      (unsigned long long)t.other_objects, (unsigned long long)t.other_bytes);
}

int main(void)
{
	fake_type(T_CLASS, "Conversation", 24, 0, PYOBJ_F_READY | PYOBJ_F_GC | PYOBJ_F_DICT);
	fake_type(T_BYTES, "bytes", 33, 1, PYOBJ_F_READY);
	fake_type(T_BAD, "x", 24, 0, PYOBJ_F_GC);
	test_preheader();
	test_type_parse();
	test_block();
	test_range();
	test_tally();
	return check_done();
}
