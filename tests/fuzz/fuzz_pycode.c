// SPDX-License-Identifier: GPL-2.0
/* fuzz_pycode.c - fuzz what agentleak decodes of a Python process's memory
 * (cli/symbols/pycode.c, pyobjects.c, cli/target/python.c): a code object's line table
 * in both formats, a str object's characters, _Py_DebugOffsets, and live memory scanned
 * for objects (--python-objects). The target writes all of them: a fake _PyRuntime, a
 * corrupted or still-changing table, memory full of fake object headers.
 *
 * Input: byte 0 picks the decoder and its parameters, the rest is its data (exactly as
 * long as the input, so a read past it is caught).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/pycode.h"
#include "symbols/pyobjects.h"
#include "target/python.h"
#include "must.h"

#define BASE 0x10000ULL

struct fake_mem {
	const unsigned char *buf;
	size_t len;
	struct pyobj_type type;
};

/* A type is any address of the input with a type object's bytes and a name after them. */
static int lookup(void *ctx, uint64_t addr, const struct pyobj_type **out)
{
	struct fake_mem *m = ctx;
	size_t off = addr - BASE;

	if (addr < BASE || off > m->len || m->len - off < PYOBJ_TYPE_READ ||
	    pyobj_type_parse(m->buf + off, (const char *)m->buf + off + PYOBJ_TYPE_READ,
	                     m->len - off - PYOBJ_TYPE_READ, &m->type))
		return -1;
	m->type.addr = addr;
	*out = &m->type;
	return 0;
}

/* Scan the input as a block or a range of process memory; the objects found are tallied
 * once each, no more than one per 16 bytes. */
static void scan(const unsigned char *buf, size_t len, unsigned int how)
{
	struct fake_mem m = {buf, len};
	struct pyobj_tally t = {0};
	uint64_t total;
	int n, i;

	n = pyobj_scan(buf, len, BASE, how & 4, 10 + ((how >> 4) & 3), lookup, &m, &t);
	total = t.other_objects;
	for (i = 0; i < t.ntypes; i++)
		total += t.types[i].objects;
	MUST(n >= 0 && (uint64_t)n == total && (size_t)n <= len / 16 + 1 && (!(how & 4) || n <= 1),
	     "%d objects found in %zu bytes, %llu tallied", n, len, (unsigned long long)total);
	MUST(t.ntypes <= PYOBJ_TYPES_MAX, "%d types", t.ntypes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct al_py_layout l;
	unsigned char *buf;
	char out[64];
	uint32_t state;
	int line, n;
	long a;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	switch (data[0] & 3) {
	case 0: /* a line table: every offset up to twice its length, 3.10 or 3.11+ */
		for (a = -2; a < (long)(2 * size); a += 2) {
			line = pycode_line(data[0] & 4 ? 10 : 11, buf, size - 1, 100, a);
			MUST(line >= -1, "line %d at offset %ld", line, a);
		}
		break;
	case 1: /* a str: 4 bytes of state, then the characters */
		if (size < 5)
			break;
		memcpy(&state, buf, 4);
		n = pycode_utf8(state, buf + 4, (size - 5) / 4, out, sizeof(out));
		MUST(n < (int)sizeof(out) && (n < 0 || strlen(out) == (size_t)n),
		     "%d bytes written, string of %zu", n, strlen(out));
		break;
	case 3: /* memory scanned for objects: a heap block (bit 2) or a range, 3.10-3.13 */
		scan(buf, size - 1, data[0]);
		break;
	default: /* _Py_DebugOffsets */
		if (!python_debug_offsets(buf, size - 1, &l))
			MUST(l.version == 0x030d && l.interp_head != AL_PY_NONE,
			     "a layout read with version %#x", l.version);
		break;
	}
	free(buf);
	return 0;
}
