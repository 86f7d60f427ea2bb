// SPDX-License-Identifier: GPL-2.0
/* pycode.c - Python code objects read from outside the process, and their line tables
 * (see pycode.h; the formats are CPython's Objects/lnotab_notes.txt for 3.10 and
 * Objects/locations.md for 3.11+). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "base/hash.h"
#include "base/text.h"
#include "base/vmread.h"
#include "symbols/pycode.h"

/* 3.10: (bytes, line delta) pairs; a delta of -128 means "no line" for the range. */
/* A line out of int's range comes from a table that is not CPython's. */
static int line_of(long long cur)
{
	return cur < 0 || cur > INT_MAX ? -1 : (int)cur;
}

static int line_310(const unsigned char *t, size_t len, long long line, long addrq)
{
	long start, end = 0;
	long long cur;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		start = end;
		end = start + t[i];
		if ((signed char)t[i + 1] == -128) {
			cur = -1;
		} else {
			line += (signed char)t[i + 1];
			cur = line;
		}
		if (addrq >= start && addrq < end)
			return line_of(cur);
	}
	return -1;
}

struct reader {
	const unsigned char *t;
	size_t len, p;
	bool bad;
};

/* 6 bits a byte, least significant first, bit 6 says more follow. */
static unsigned int varint(struct reader *r)
{
	unsigned int v = 0, shift = 0, b;

	do {
		if (r->p >= r->len || shift > 30) {
			r->bad = true;
			return 0;
		}
		b = r->t[r->p++];
		v |= (b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

static int svarint(struct reader *r)
{
	unsigned int v = varint(r);

	return v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
}

/* 3.11+: entries of a first byte with bit 7 set (code in bits 3-6, length - 1 in code
 * units in bits 0-2) and the code's operands. "No location" leaves the running line
 * as it is: a later delta applies to the last real line. */
static int line_311(const unsigned char *t, size_t len, long long line, long addrq)
{
	struct reader r = {t, len, 0, false};
	long long cur;
	long addr = 0;

	while (r.p < len) {
		unsigned int b = t[r.p++], code = (b >> 3) & 15;
		long n = ((b & 7) + 1) * 2;

		if (!(b & 128))
			return -1;
		if (code == 15) {
			cur = -1;
		} else if (code == 14) {
			line += svarint(&r);
			cur = line;
			varint(&r);
			varint(&r);
			varint(&r);
		} else if (code == 13) {
			line += svarint(&r);
			cur = line;
		} else if (code >= 10) {
			line += code - 10;
			cur = line;
			r.p += 2;
		} else {
			cur = line;
			r.p += 1;
		}
		if (r.bad || r.p > len)
			return -1;
		if (addrq >= addr && addrq < addr + n)
			return line_of(cur);
		addr += n;
	}
	return -1;
}

int pycode_line(unsigned int minor, const unsigned char *table, size_t len, int firstlineno,
                long addrq)
{
	if (addrq < 0)
		return firstlineno;
	return minor == 10 ? line_310(table, len, firstlineno, addrq)
	                   : line_311(table, len, firstlineno, addrq);
}

/* One code point as UTF-8; U+FFFD for what UTF-8 cannot hold (lone surrogates) and for
 * U+0000, which would end the name early. */
static size_t put_utf8(uint32_t c, char *o)
{
	if (!c || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 63));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 63));
		o[2] = (char)(0x80 | (c & 63));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 63));
	o[2] = (char)(0x80 | ((c >> 6) & 63));
	o[3] = (char)(0x80 | (c & 63));
	return 4;
}

int pycode_utf8(uint32_t state, const unsigned char *data, size_t nchars, char *out, size_t len)
{
	unsigned int kind = (state >> 2) & 7;
	size_t i, o = 0;
	char u[4];

	if (!len)
		return -1;
	out[0] = '\0';
	if (!((state >> 5) & 1) || (kind != 1 && kind != 2 && kind != 4))
		return -1;
	for (i = 0; i < nchars; i++) {
		uint32_t c;
		size_t n;

		if (kind == 1) {
			c = data[i];
		} else if (kind == 2) {
			uint16_t h;

			memcpy(&h, data + 2 * i, 2);
			c = h;
		} else {
			memcpy(&c, data + 4 * i, 4);
		}
		n = put_utf8(c, u);
		if (o + n >= len)
			break;
		memcpy(out + o, u, n);
		o += n;
	}
	out[o] = '\0';
	return (int)o;
}

/* A str object of the target as printable UTF-8 (text.h) into out. */
static int read_str(int pid, const struct py_interp *py, uint64_t addr, char *out, size_t len)
{
	unsigned char head[40], *data;
	uint32_t state;
	int64_t nchars;
	unsigned int kind;
	uint64_t at;
	int r;

	out[0] = '\0';
	r = vm_read(pid, addr, head, sizeof(head));
	if (r)
		return r;
	memcpy(&nchars, head + 16, sizeof(nchars));
	memcpy(&state, head + 32, sizeof(state));
	kind = (state >> 2) & 7;
	if (nchars < 0 || !((state >> 5) & 1) || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;
	if (nchars > PYCODE_STR_MAXLEN)
		nchars = PYCODE_STR_MAXLEN;
	at = addr + ((state >> 6) & 1 ? py->layout.str_ascii_data : py->layout.str_compact_data);
	data = malloc(nchars * kind + 1);
	if (!data)
		return -ENOMEM;
	r = vm_read(pid, at, data, nchars * kind);
	if (!r && pycode_utf8(state, data, nchars, out, len) < 0)
		r = -EINVAL;
	free(data);
	if (!r)
		text_sanitize(out, len);
	return r;
}

static int read_u64(int pid, uint64_t addr, uint64_t *v)
{
	return vm_read(pid, addr, v, sizeof(*v));
}

/* What identifies a code object at addr: its type, the objects its name, file and line
 * table are, its first line and (3.11+) its size in code units; 0 or -errno. */
static int read_identity(int pid, const struct py_interp *py, uint64_t addr,
                         struct pycode_identity *id)
{
	const struct al_py_layout *l = &py->layout;
	uint64_t type;
	int32_t first;
	int r;

	memset(id, 0, sizeof(*id));
	r = read_u64(pid, addr + 8, &type);
	if (r)
		return r;
	if (type != py->code_type)
		return -EINVAL;
	r = read_u64(pid, addr + (l->code_qualname != AL_PY_NONE ? l->code_qualname : l->code_name),
	             &id->name);
	if (!r)
		r = read_u64(pid, addr + l->code_filename, &id->file);
	if (!r)
		r = vm_read(pid, addr + l->code_firstlineno, &first, sizeof(first));
	if (!r)
		r = read_u64(pid, addr + l->code_linetable, &id->table);
	if (!r && l->code_adaptive != AL_PY_NONE) /* PyVarObject: ob_size, code units */
		r = read_u64(pid, addr + 16, &id->units);
	id->first = first;
	return r;
}

int pycode_read(int pid, const struct py_interp *py, uint64_t addr, struct pycode *code)
{
	uint64_t name, file, table;
	int64_t size;
	int32_t first;
	int r;

	memset(code, 0, sizeof(*code));
	r = read_identity(pid, py, addr, &code->id);
	if (r)
		return r;
	name = code->id.name;
	file = code->id.file;
	table = code->id.table;
	first = code->id.first;
	r = read_str(pid, py, name, code->name, sizeof(code->name));
	if (!r)
		r = read_str(pid, py, file, code->file, sizeof(code->file));
	if (!r)
		r = vm_read(pid, table + 16, &size, sizeof(size));
	if (r)
		return r;
	code->firstlineno = first;
	if (size < 0)
		return -EINVAL;
	code->table_len = size > PYCODE_TABLE_MAX ? PYCODE_TABLE_MAX : (size_t)size;
	code->table = malloc(code->table_len + 1);
	if (!code->table)
		return -ENOMEM;
	r = vm_read(pid, table + 32, code->table, code->table_len);
	if (r)
		pycode_release(code);
	return r;
}

void pycode_release(struct pycode *code)
{
	free(code->table);
	code->table = NULL;
	code->table_len = 0;
}

long pycode_addrq(const struct py_interp *py, uint64_t code_addr, uint64_t instr)
{
	if (py->layout.code_adaptive == AL_PY_NONE)
		return (long)(int32_t)instr * 2;
	return (long)(instr - (code_addr + py->layout.code_adaptive));
}

/* ---- the cache ---- */

#define PYSYMS_MAX 8192 /* code objects kept; all are dropped when it is full */

struct pyentry {
	int pid; /* 0: empty */
	uint64_t addr;
	struct pycode code;
	int err;                  /* what reading it gave */
	unsigned long generation; /* of pysyms when its identity was last checked */
};

struct pysyms {
	struct pyentry *slots; /* open addressing, PYSYMS_MAX * 2 of them */
	size_t n;
	unsigned long generation; /* pysyms_recheck() calls */
	struct pysyms_stats stats;
};

void pysyms_recheck(struct pysyms *ps)
{
	ps->generation++;
}

const struct pysyms_stats *pysyms_stats(const struct pysyms *ps)
{
	return &ps->stats;
}

/* Is the instruction one of the code object's (3.11+: from one before the first, a
 * frame not started, to the last)? A frame recorded before its code object was freed
 * and the address reused by another code object usually is not. */
static bool instr_fits(const struct py_interp *py, const struct pycode *code, uint64_t addr,
                       uint64_t instr)
{
	long q;

	if (py->layout.code_adaptive == AL_PY_NONE)
		return true;
	q = pycode_addrq(py, addr, instr);
	return q >= -2 && (uint64_t)q < 2 * code->id.units;
}

struct pysyms *pysyms_new(void)
{
	struct pysyms *ps = calloc(1, sizeof(*ps));

	if (ps && !(ps->slots = calloc(2 * PYSYMS_MAX, sizeof(*ps->slots)))) {
		free(ps);
		ps = NULL;
	}
	return ps;
}

static void drop_all(struct pysyms *ps, int pid)
{
	size_t i;

	for (i = 0; i < 2 * PYSYMS_MAX; i++)
		if (ps->slots[i].pid && (!pid || ps->slots[i].pid == pid)) {
			pycode_release(&ps->slots[i].code);
			ps->slots[i].pid = 0;
		}
	if (!pid) {
		ps->n = 0;
		return;
	}
	/* Open addressing cannot leave holes: put the others back. */
	ps->n = 0;
	for (i = 0; i < 2 * PYSYMS_MAX; i++) {
		struct pyentry e = ps->slots[i];
		size_t j;

		if (!e.pid)
			continue;
		ps->slots[i].pid = 0;
		j = hash_fnv1a(hash_fnv1a_word(HASH_FNV_INIT, e.addr), &e.pid, sizeof(e.pid)) &
		    (2 * PYSYMS_MAX - 1);
		while (ps->slots[j].pid)
			j = (j + 1) & (2 * PYSYMS_MAX - 1);
		ps->slots[j] = e;
		ps->n++;
	}
}

void pysyms_forget(struct pysyms *ps, int pid)
{
	if (ps)
		drop_all(ps, pid);
}

void pysyms_free(struct pysyms *ps)
{
	if (!ps)
		return;
	drop_all(ps, 0);
	free(ps->slots);
	free(ps);
}

int pysyms_frame(struct pysyms *ps, int pid, const struct py_interp *py, uint64_t code,
                 uint64_t instr, const struct pycode **out, int *line)
{
	size_t j = hash_fnv1a(hash_fnv1a_word(HASH_FNV_INIT, code), &pid, sizeof(pid)) &
	           (2 * PYSYMS_MAX - 1);
	struct pyentry *e;

	while (ps->slots[j].pid && !(ps->slots[j].pid == pid && ps->slots[j].addr == code))
		j = (j + 1) & (2 * PYSYMS_MAX - 1);
	e = &ps->slots[j];
	if (!e->pid) {
		if (ps->n >= PYSYMS_MAX) {
			drop_all(ps, 0);
			return pysyms_frame(ps, pid, py, code, instr, out, line);
		}
		e->pid = pid;
		e->addr = code;
		e->err = pycode_read(pid, py, code, &e->code);
		e->generation = ps->generation;
		ps->n++;
	} else if (e->generation != ps->generation) {
		/* Once per report: is it still the code object read? Else read it again. */
		struct pycode_identity now;
		int r = read_identity(pid, py, code, &now);

		e->generation = ps->generation;
		if (r != e->err || (!r && memcmp(&now, &e->code.id, sizeof(now)))) {
			pycode_release(&e->code);
			e->err = pycode_read(pid, py, code, &e->code);
			ps->stats.reread++;
		}
	}
	*out = &e->code;
	*line = -1;
	if (e->err) {
		ps->stats.unreadable++;
		return e->err;
	}
	if (!instr_fits(py, &e->code, code, instr)) {
		ps->stats.stale++;
		return -ESTALE;
	}
	*line = pycode_line((py->version >> 16) & 0xff, e->code.table, e->code.table_len,
	                    e->code.firstlineno, pycode_addrq(py, code, instr));
	return 0;
}