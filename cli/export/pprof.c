// SPDX-License-Identifier: GPL-2.0
/* pprof.c - gzip-compressed profile.proto heap profiles, encoded by hand.
 *
 * The protobuf wire format needs only varints and length-delimited fields: each
 * message is built in a growing buffer and appended to its parent with its length.
 * Strings, functions (name + file), locations (pid + address) and mappings (pid +
 * module) are deduplicated with small open-addressing hash tables. Field numbers are
 * those of github.com/google/pprof/proto/profile.proto.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "base/hash.h"
#include "base/text.h"
#include "base/vec.h"
#include "export/exporter.h"
#include "export/outfile.h"
#include "export/names.h"
#include "export/pprof.h"

/* Wire types. */
#define WIRE_VARINT 0
#define WIRE_LEN    2

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};

enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3 };

enum {
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
};

enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4 };

struct buf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

/* Hash table slot: key (a, b), id 0 when free. */
struct slot {
	uint64_t a, b;
	uint64_t id;
};

struct hmap {
	struct slot *slots;
	size_t cap, n; /* cap is a power of two */
};

struct mapping {
	uint64_t file;  /* string index of the module path */
	uint64_t limit; /* highest address + 1 */
	bool has_functions, has_filenames, has_lines;
};

struct location {
	uint64_t mapping; /* 0: no module */
	uint64_t address; /* module_off, or the process address without a module */
	uint64_t function;
	int64_t line;
};

struct function {
	uint64_t name, file;
};

struct pprof {
	struct buf out;      /* the Profile message */
	struct buf msg, sub; /* scratch: one sample or entry, one label or line */
	char **strs;         /* the string table; strs[0] is "" */
	size_t nstrs, capstrs;
	struct mapping *maps;
	size_t nmaps, capmaps;
	struct location *locs;
	size_t nlocs, caplocs;
	struct function *funcs;
	size_t nfuncs, capfuncs;
	uint64_t *ids; /* location ids of the sample being built */
	size_t capids;
	struct hmap strmap, mapmap, locmap, funcmap;
	bool oom;
};

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	if (b->oom || VEC_GROW(b->p, b->cap, b->len + n)) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	put_bytes(b, tmp, n);
}

static void put_tag(struct buf *b, int field, int wire)
{
	put_varint(b, (uint64_t)field << 3 | wire);
}

/* A varint field; zero is the default and is left out. */
static void put_uint(struct buf *b, int field, uint64_t v)
{
	if (!v)
		return;
	put_tag(b, field, WIRE_VARINT);
	put_varint(b, v);
}

static void put_len(struct buf *b, int field, const void *p, size_t n)
{
	put_tag(b, field, WIRE_LEN);
	put_varint(b, n);
	put_bytes(b, p, n);
}

static void put_msg(struct buf *b, int field, const struct buf *m)
{
	if (m->oom)
		b->oom = true;
	put_len(b, field, m->p, m->len);
}

/* A packed repeated varint field (int64 values are their two's complement). */
static void put_packed(struct buf *b, int field, const uint64_t *v, size_t n)
{
	size_t i, len = 0;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		len += varint_size(v[i]);
	put_tag(b, field, WIRE_LEN);
	put_varint(b, len);
	for (i = 0; i < n; i++)
		put_varint(b, v[i]);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Keep the table at most half full. */
static bool hmap_reserve(struct hmap *m)
{
	struct slot *old = m->slots;
	size_t i, oldcap = m->cap, cap = oldcap ? oldcap * 2 : 64;

	if ((m->n + 1) * 2 <= m->cap)
		return true;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return false;
	}
	m->cap = cap;
	for (i = 0; i < oldcap; i++) {
		size_t j = mix(old[i].a, old[i].b) & (cap - 1);

		if (!old[i].id)
			continue;
		while (m->slots[j].id)
			j = (j + 1) & (cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
	return true;
}

/* The slot holding (a, b) - and, for the string table, the string s of n bytes -
 * or the free slot where it goes; NULL when out of memory. */
static struct slot *lookup(struct pprof *pp, struct hmap *m, uint64_t a, uint64_t b, const char *s,
                           size_t n)
{
	size_t i;

	if (!hmap_reserve(m)) {
		pp->oom = true;
		return NULL;
	}
	for (i = mix(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct slot *sl = &m->slots[i];

		if (!sl->id)
			return sl;
		if (sl->a != a || sl->b != b)
			continue;
		if (!s || (strlen(pp->strs[sl->id]) == n && !memcmp(pp->strs[sl->id], s, n)))
			return sl;
	}
}

static void fill(struct hmap *m, struct slot *sl, uint64_t a, uint64_t b, uint64_t id)
{
	sl->a = a;
	sl->b = b;
	sl->id = id;
	m->n++;
}

/* s with every invalid UTF-8 byte replaced by U+FFFD (malloc'ed), NULL if s is valid
 * (or when out of memory, with pp->oom set). */
static char *fix_utf8(struct pprof *pp, const char *s, size_t *n)
{
	size_t i = 0, k, len = 0;
	char *out;

	while (i < *n && (k = text_utf8_len(s + i, *n - i)))
		i += k;
	if (i == *n)
		return NULL;
	out = malloc(*n * 3 + 1);
	if (!out) {
		pp->oom = true;
		return NULL;
	}
	for (i = 0; i < *n; i += k ? k : 1) {
		k = text_utf8_len(s + i, *n - i);
		if (k) {
			memcpy(out + len, s + i, k);
			len += k;
		} else {
			memcpy(out + len, "\xef\xbf\xbd", 3);
			len += 3;
		}
	}
	out[len] = '\0';
	*n = len;
	return out;
}

/* Index of s (at most max bytes) in the string table, added if new; 0 for "". */
static uint64_t str_idn(struct pprof *pp, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;
	char *fixed, *copy = NULL;
	struct slot *sl;
	uint64_t h;

	if (!n)
		return 0;
	fixed = fix_utf8(pp, s, &n);
	if (pp->oom)
		return 0;
	if (fixed)
		s = fixed;
	h = hash_fnv1a(HASH_FNV_INIT, s, n);
	sl = lookup(pp, &pp->strmap, h, n, s, n);
	if (sl && !sl->id) {
		copy = strndup(s, n);
		if (copy && !VEC_GROW(pp->strs, pp->capstrs, pp->nstrs + 1)) {
			pp->strs[pp->nstrs] = copy;
			fill(&pp->strmap, sl, h, n, pp->nstrs++);
		} else {
			free(copy);
			pp->oom = true;
			sl = NULL;
		}
	}
	free(fixed);
	return sl ? sl->id : 0;
}

static uint64_t str_id(struct pprof *pp, const char *s)
{
	return str_idn(pp, s, s ? strlen(s) : 0);
}

/* Id of the frame's function (by name and file), 0 when its name is unknown. */
static uint64_t function_id(struct pprof *pp, const struct snap_frame *f)
{
	uint64_t name = str_idn(pp, f->func, sizeof(f->func));
	uint64_t file = str_idn(pp, f->file, sizeof(f->file));
	struct slot *sl;

	if (!name)
		return 0;
	sl = lookup(pp, &pp->funcmap, name, file, NULL, 0);
	if (!sl)
		return 0;
	if (sl->id)
		return sl->id;
	if (VEC_GROW(pp->funcs, pp->capfuncs, pp->nfuncs + 1)) {
		pp->oom = true;
		return 0;
	}
	pp->funcs[pp->nfuncs] = (struct function){.name = name, .file = file};
	fill(&pp->funcmap, sl, name, file, ++pp->nfuncs);
	return sl->id;
}

/* Id of the mapping of the frame's module in pid, 0 when the module is unknown. */
static uint64_t mapping_id(struct pprof *pp, int pid, const struct snap_frame *f)
{
	uint64_t file = str_idn(pp, f->module, sizeof(f->module));
	struct slot *sl;

	if (!file)
		return 0;
	sl = lookup(pp, &pp->mapmap, (uint32_t)pid, file, NULL, 0);
	if (!sl)
		return 0;
	if (sl->id)
		return sl->id;
	if (VEC_GROW(pp->maps, pp->capmaps, pp->nmaps + 1)) {
		pp->oom = true;
		return 0;
	}
	pp->maps[pp->nmaps] = (struct mapping){
	    .file = file, .has_functions = true, .has_filenames = true, .has_lines = true};
	fill(&pp->mapmap, sl, (uint32_t)pid, file, ++pp->nmaps);
	return sl->id;
}

/* Id of the location of frame f of pid (by pid and address; a Python frame's address
 * is its code object's, so its line is part of the key: one location per line). Within
 * a module the address is the file offset: the mapping starts at 0 with file offset 0. */
static uint64_t location_id(struct pprof *pp, int pid, const struct snap_frame *f)
{
	uint64_t key = (uint32_t)pid | (f->python ? (uint64_t)(uint32_t)f->line << 32 : 0);
	struct location *l;
	struct mapping *m;
	struct slot *sl;

	sl = lookup(pp, &pp->locmap, key, f->addr, NULL, 0);
	if (!sl)
		return 0;
	if (sl->id)
		return sl->id;
	if (VEC_GROW(pp->locs, pp->caplocs, pp->nlocs + 1)) {
		pp->oom = true;
		return 0;
	}
	l = &pp->locs[pp->nlocs];
	l->mapping = mapping_id(pp, pid, f);
	l->address = l->mapping ? f->module_off : f->addr;
	l->function = function_id(pp, f);
	l->line = l->function && f->line > 0 ? f->line : 0;
	if (l->mapping) {
		m = &pp->maps[l->mapping - 1];
		if (l->address >= m->limit)
			m->limit = l->address + 1;
		m->has_functions &= l->function != 0;
		m->has_filenames &= l->function && pp->funcs[l->function - 1].file;
		m->has_lines &= l->line > 0;
	}
	if (pp->oom)
		return 0;
	fill(&pp->locmap, sl, key, f->addr, ++pp->nlocs);
	return sl->id;
}

static void put_value_type(struct pprof *pp, int field, const char *type, const char *unit)
{
	struct buf *m = &pp->sub;

	m->len = 0;
	put_uint(m, VALUE_TYPE_TYPE, str_id(pp, type));
	put_uint(m, VALUE_TYPE_UNIT, str_id(pp, unit));
	put_msg(&pp->out, field, m);
}

static void put_label(struct pprof *pp, const char *key, const char *str, int64_t num)
{
	struct buf *m = &pp->sub;

	m->len = 0;
	put_uint(m, LABEL_KEY, str_id(pp, key));
	if (str)
		put_uint(m, LABEL_STR, str_id(pp, str));
	else
		put_uint(m, LABEL_NUM, (uint64_t)num);
	put_msg(&pp->msg, SAMPLE_LABEL, m);
}

/* A thread stack counts its threads (started, live) in the _objects types and nothing in
 * the _space types: the stacks it reserved are not heap in use. */
static void put_sample(struct pprof *pp, const struct snap_stack *s)
{
	const struct al_stack_stats *st = &s->st;
	bool thread = snap_is_thread(s);
	uint64_t v[4] = {st->allocs, thread ? 0 : st->alloc_bytes, st->live_objects,
	                 thread ? 0 : st->live_bytes};
	int pid = (int)s->key.tgid;
	size_t i, n = s->nframes > 0 && s->frames ? (size_t)s->nframes : 0;

	if (VEC_GROW(pp->ids, pp->capids, n)) {
		pp->oom = true;
		return;
	}
	for (i = 0; i < n; i++)
		pp->ids[i] = location_id(pp, pid, &s->frames[i]);
	pp->msg.len = 0;
	put_packed(&pp->msg, SAMPLE_LOCATION_ID, pp->ids, n);
	put_packed(&pp->msg, SAMPLE_VALUE, v, 4);
	put_label(pp, "pid", NULL, pid);
	put_label(pp, "kind", s->kind && *s->kind ? s->kind : "?", 0);
	if (s->id[0])
		put_label(pp, "stack", s->id, 0);
	if (s->has_verdict && s->verdict.verdict != V_NONE)
		put_label(pp, "verdict", verdict_label(s->verdict.verdict, NAME_TEXT), 0);
	put_msg(&pp->out, PROFILE_SAMPLE, &pp->msg);
}

static void put_mappings(struct pprof *pp)
{
	struct buf *m = &pp->msg;
	size_t i;

	for (i = 0; i < pp->nmaps; i++) {
		const struct mapping *mp = &pp->maps[i];

		m->len = 0;
		put_uint(m, MAPPING_ID, i + 1);
		put_uint(m, MAPPING_MEMORY_START, 0);
		put_uint(m, MAPPING_MEMORY_LIMIT, mp->limit);
		put_uint(m, MAPPING_FILE_OFFSET, 0);
		put_uint(m, MAPPING_FILENAME, mp->file);
		put_uint(m, MAPPING_HAS_FUNCTIONS, mp->has_functions);
		put_uint(m, MAPPING_HAS_FILENAMES, mp->has_filenames);
		put_uint(m, MAPPING_HAS_LINE_NUMBERS, mp->has_lines);
		put_msg(&pp->out, PROFILE_MAPPING, m);
	}
}

static void put_locations(struct pprof *pp)
{
	struct buf *m = &pp->msg, *line = &pp->sub;
	size_t i;

	for (i = 0; i < pp->nlocs; i++) {
		const struct location *l = &pp->locs[i];

		m->len = 0;
		put_uint(m, LOCATION_ID, i + 1);
		put_uint(m, LOCATION_MAPPING_ID, l->mapping);
		put_uint(m, LOCATION_ADDRESS, l->address);
		if (l->function) {
			line->len = 0;
			put_uint(line, LINE_FUNCTION_ID, l->function);
			put_uint(line, LINE_LINE, (uint64_t)l->line);
			put_msg(m, LOCATION_LINE, line);
		}
		put_msg(&pp->out, PROFILE_LOCATION, m);
	}
}

static void put_functions(struct pprof *pp)
{
	struct buf *m = &pp->msg;
	size_t i;

	for (i = 0; i < pp->nfuncs; i++) {
		const struct function *f = &pp->funcs[i];

		m->len = 0;
		put_uint(m, FUNCTION_ID, i + 1);
		put_uint(m, FUNCTION_NAME, f->name);
		put_uint(m, FUNCTION_SYSTEM_NAME, f->name);
		put_uint(m, FUNCTION_FILENAME, f->file);
		put_msg(&pp->out, PROFILE_FUNCTION, m);
	}
}

/* A comment is one line: control characters become '?'. */
static void put_comment(struct pprof *pp, char *text)
{
	char *c;

	for (c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	put_uint(&pp->out, PROFILE_COMMENT, str_id(pp, text));
}

static void put_comments(struct pprof *pp, const struct snapshot *snap)
{
	char line[1200];
	int i;

	snprintf(line, sizeof(line), "agentleak heap profile: allocations since attach, live now");
	put_comment(pp, line);
	snprintf(line, sizeof(line), "requests: %s%s",
	         snap->request_source ? snap->request_source : "time",
	         snap->time_mode ? " (no request source: per second)" : "");
	put_comment(pp, line);
	if (snap->sample_bytes) {
		snprintf(
		    line, sizeof(line),
		    "sampled: one block per %llu bytes on average, values are scaled estimates",
		    snap->sample_bytes);
		put_comment(pp, line);
	}
	for (i = 0; i < snap->nprocs && snap->procs; i++) {
		const struct snap_process *p = &snap->procs[i];

		snprintf(line, sizeof(line), "pid %d (%.32s) %.32s %.512s%s", p->pid, p->comm,
		         p->flavor, p->allocator, p->exited ? " (exited)" : "");
		put_comment(pp, line);
	}
	for (i = 0; i < snap->nstacks && snap->stacks && !snap_is_thread(&snap->stacks[i]); i++)
		;
	if (snap->stacks && i < snap->nstacks) {
		snprintf(
		    line, sizeof(line),
		    "kind=thread: thread stacks, threads started and live in alloc_objects and "
		    "inuse_objects, 0 in alloc_space and inuse_space (a stack reserved is not "
		    "heap)");
		put_comment(pp, line);
	}
}

static uint64_t nanos(double seconds)
{
	if (!isfinite(seconds) || seconds <= 0 || seconds > 9e9)
		return 0;
	return (uint64_t)(seconds * 1e9);
}

static void put_strings(struct pprof *pp)
{
	size_t i;

	for (i = 0; i < pp->nstrs; i++)
		put_len(&pp->out, PROFILE_STRING_TABLE, pp->strs[i], strlen(pp->strs[i]));
}

static void encode(struct pprof *pp, const struct snapshot *snap)
{
	int i;

	put_value_type(pp, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	put_value_type(pp, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	put_value_type(pp, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	put_value_type(pp, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	for (i = 0; i < snap->nstacks && snap->stacks && !pp->oom; i++)
		put_sample(pp, &snap->stacks[i]);
	put_mappings(pp);
	put_locations(pp);
	put_functions(pp);
	put_uint(&pp->out, PROFILE_TIME_NANOS, nanos(snap->unix_time));
	put_uint(&pp->out, PROFILE_DURATION_NANOS, nanos(snap->elapsed));
	put_value_type(pp, PROFILE_PERIOD_TYPE, "space", "bytes");
	put_uint(&pp->out, PROFILE_PERIOD, snap->sample_bytes ? snap->sample_bytes : 1);
	put_comments(pp, snap);
	put_uint(&pp->out, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(pp, "inuse_space"));
	put_strings(pp); /* last: every string is known now */
	if (pp->out.oom || pp->msg.oom || pp->sub.oom)
		pp->oom = true;
}

static void pprof_free(struct pprof *pp)
{
	size_t i;

	for (i = 0; i < pp->nstrs; i++)
		free(pp->strs[i]);
	free(pp->strs);
	free(pp->maps);
	free(pp->locs);
	free(pp->funcs);
	free(pp->ids);
	free(pp->strmap.slots);
	free(pp->mapmap.slots);
	free(pp->locmap.slots);
	free(pp->funcmap.slots);
	free(pp->out.p);
	free(pp->msg.p);
	free(pp->sub.p);
}

static int pprof_init(struct pprof *pp)
{
	memset(pp, 0, sizeof(*pp));
	if (VEC_GROW(pp->strs, pp->capstrs, 1))
		return -ENOMEM;
	pp->strs[0] = strdup("");
	if (!pp->strs[0])
		return -ENOMEM;
	pp->nstrs = 1;
	return 0;
}

static int gzip_to(FILE *f, const unsigned char *p, size_t n)
{
	unsigned char out[65536];
	z_stream zs;
	int ret = 0, flush;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	do {
		size_t chunk = n > (1u << 30) ? 1u << 30 : n;

		zs.next_in = (Bytef *)p;
		zs.avail_in = (uInt)chunk;
		p += chunk;
		n -= chunk;
		flush = n ? Z_NO_FLUSH : Z_FINISH;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			if (deflate(&zs, flush) == Z_STREAM_ERROR) {
				ret = -EIO;
				goto out;
			}
			if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) !=
			    sizeof(out) - zs.avail_out) {
				ret = errno ? -errno : -EIO;
				goto out;
			}
		} while (zs.avail_out == 0);
	} while (flush != Z_FINISH);
out:
	deflateEnd(&zs);
	return ret;
}

/* The profile of snap, encoded then gzipped to f. */
static int write_profile(FILE *f, const void *snap)
{
	struct pprof pp;
	int ret;

	ret = pprof_init(&pp);
	if (!ret) {
		encode(&pp, snap);
		ret = pp.oom ? -ENOMEM : 0;
	}
	if (!ret)
		ret = gzip_to(f, pp.out.p, pp.out.len);
	pprof_free(&pp);
	return ret;
}

int pprof_write(const char *path, const struct snapshot *snap, char *err, size_t errlen)
{
	if (!snap) {
		snprintf(err, errlen, "pprof: no snapshot");
		return -EINVAL;
	}
	return outfile_write(path, 0, write_profile, snap, err, errlen);
}

static int export_pprof(struct export_ctx *x, const struct snapshot *snap, char *err, size_t errlen)
{
	return pprof_write(x->arg, snap, err, errlen) ? -1 : 0;
}

const struct exporter pprof_exporter = {
    .option = "pprof",
    .arg = "FILE",
    .help = "gzip profile.proto heap profile, at exit and on SIGUSR1\n"
            "(go tool pprof -top FILE; inuse_space by default)",
    .when = EXPORT_FINAL | EXPORT_SIGNAL,
    .file = true,
    .all_stacks = true,
    .check = outfile_check,
    .write = export_pprof,
};
