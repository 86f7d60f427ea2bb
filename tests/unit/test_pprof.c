// SPDX-License-Identifier: GPL-2.0
/* test_pprof.c - unit tests of cli/export/pprof.c: the profile.proto heap profile.
 *
 * Hand-made snapshots (nasty names: quotes, backslashes, newlines, semicolons, bytes
 * that are not UTF-8, C++ templates; unknown functions and modules; shared frames
 * across stacks and processes) are written, gunzipped and decoded back with a minimal
 * protobuf reader written here, then read by `go tool pprof` (Debian's golang-go)
 * when it is installed (a SKIP line otherwise, never counted as a pass). A thread
 * stack counts threads in the _objects types and 0 bytes in the _space types. Also: path
 * checks and atomic replacement.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -g -Wall -Iinclude -Icli -o build/test_pprof \
 *       tests/unit/test_pprof.c cli/export/pprof.c cli/export/json.c cli/analyse/trend.c -lz
 *   build/test_pprof
 * Output: "ok - ..." / "not ok - ..." per check, "N passed, N failed" last; exit
 * status 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "base/text.h"
#include "export/outfile.h"
#include "export/json.h"
#include "export/pprof.h"

#include "check.h"

#define ERRLEN 512

/* ---- a hand-made snapshot ---- */

#define SERVER "/opt/app/server"
#define LIBC   "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define TEMPLATE                                                                                   \
	"std::vector<std::pair<int, char const*>, std::allocator<std::pair<int, char const*> > "   \
	">::_M_realloc_insert<int&, char const*&>"
#define NASTY_FUNC "we\"ird\\name;with\nnewline\t\x01"
#define NASTY_FILE "dir with space/f\xff\xfe.c"
#define NASTY_MOD  "/tmp/mod\xc3(.so"

static struct snap_frame frame(unsigned long long addr, const char *func, const char *file,
                               int line, const char *module, unsigned long long module_off)
{
	struct snap_frame f;

	memset(&f, 0, sizeof(f));
	f.addr = addr;
	snprintf(f.func, sizeof(f.func), "%s", func);
	f.off = func[0] ? 0x14 : 0;
	snprintf(f.file, sizeof(f.file), "%s", file);
	f.line = line;
	snprintf(f.module, sizeof(f.module), "%s", module);
	f.module_off = module_off;
	snprintf(f.text, sizeof(f.text), "%s", func);
	return f;
}

static struct snap_frame s0_frames[6], s1_frames[2], s2_frames[1], s3_frames[1];
static struct snap_stack stacks[4];
static struct snap_process procs[2];
static struct snapshot snap;

static void stack(struct snap_stack *s, int pid, const char *id, const char *kind,
                  unsigned long long live, unsigned long long live_objs, unsigned long long allocs,
                  unsigned long long alloc_bytes, struct snap_frame *frames, int nframes)
{
	memset(s, 0, sizeof(*s));
	s->key.tgid = pid;
	s->key.kind = 1;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->kind = kind;
	s->st.live_bytes = live;
	s->st.live_objects = live_objs;
	s->st.allocs = allocs;
	s->st.alloc_bytes = alloc_bytes;
	s->st.frees = allocs - live_objs;
	s->st.free_bytes = alloc_bytes - live;
	s->growth_share = -1;
	s->frames = frames;
	s->nframes = nframes;
}

static void build_snapshot(void)
{
	s0_frames[0] =
	    frame(0x555555555234, "leak_fixed", "tests/workloads/server.c", 73, SERVER, 0x1234);
	s0_frames[1] = frame(0x555555556100, "handle_request", "tests/workloads/server.c", 150,
	                     SERVER, 0x2100);
	s0_frames[2] =
	    frame(0x555555556200, "main", "tests/workloads/server.c", 220, SERVER, 0x2200);
	s0_frames[3] = frame(0x7ffff7c29d90, "__libc_start_call_main", "", 0, LIBC, 0x29d90);
	s0_frames[4] = frame(0x7ffff7c29e40, "", "", 0, LIBC, 0x29e40);
	s0_frames[5] = frame(0x1000, "", "", 0, "", 0);
	stack(&stacks[0], 1234, "0123456789ab", "malloc", 12288000, 3000, 3000, 12288000, s0_frames,
	      6);
	stacks[0].has_verdict = true;
	stacks[0].verdict.verdict = V_LEAK;
	stacks[0].verdict.slope = 4096;

	s1_frames[0] = frame(0x555555557000, TEMPLATE, "/usr/include/c++/12/bits/vector.tcc", 512,
	                     SERVER, 0x3000);
	s1_frames[1] = s0_frames[1]; /* the same location as stack 0's */
	stack(&stacks[1], 1234, "bbbbbbbbbbbb", "calloc", 4096, 1, 10, 40960, s1_frames, 2);

	s2_frames[0] = frame(0x7f0000001000, NASTY_FUNC, NASTY_FILE, 7, NASTY_MOD, 0x1000);
	stack(&stacks[2], 99, "cccccccccccc", "realloc", 0, 0, 5, 500, s2_frames, 1);
	stacks[2].has_verdict = true;
	stacks[2].verdict.verdict = V_TRANSIENT;

	/* Same function (name and file) in another process: a new location and mapping. */
	s3_frames[0] =
	    frame(0x400100, "handle_request", "tests/workloads/server.c", 150, SERVER, 0x100);
	stack(&stacks[3], 99, "dddddddddddd", "malloc", 100, 2, 2, 100, s3_frames, 1);
	stacks[3].has_verdict = true;
	stacks[3].verdict.verdict = V_NONE; /* no label */

	memset(procs, 0, sizeof(procs));
	procs[0].pid = 1234;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "srv \"q\"");
	snprintf(procs[0].flavor, sizeof(procs[0].flavor), "glibc");
	snprintf(procs[0].allocator, sizeof(procs[0].allocator), LIBC);
	procs[1].pid = 99;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "two;x\n");

	memset(&snap, 0, sizeof(snap));
	snap.unix_time = 1700000000.5;
	snap.elapsed = 12.25;
	snap.final = true;
	snap.request_source = "uprobe:/opt/app/server:handle_request";
	snap.nprocs = 2;
	snap.procs = procs;
	snap.nstacks = 4;
	snap.stacks = stacks;
}

/* ---- gunzip and a minimal protobuf reader ---- */

static unsigned char *read_gunzip(const char *path, size_t *len)
{
	unsigned char in[16384], *out = NULL;
	size_t cap = 0, n = 0;
	z_stream zs;
	FILE *f = fopen(path, "rb");
	int ret = Z_OK;

	if (!f)
		return NULL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		fclose(f);
		return NULL;
	}
	while (ret != Z_STREAM_END) {
		zs.avail_in = fread(in, 1, sizeof(in), f);
		zs.next_in = in;
		if (!zs.avail_in)
			break;
		while (zs.avail_in && ret != Z_STREAM_END) {
			if (n + 65536 > cap) {
				cap = cap ? cap * 2 : 1 << 20;
				out = realloc(out, cap);
			}
			zs.next_out = out + n;
			zs.avail_out = cap - n;
			ret = inflate(&zs, Z_NO_FLUSH);
			if (ret != Z_OK && ret != Z_STREAM_END) {
				inflateEnd(&zs);
				fclose(f);
				free(out);
				return NULL;
			}
			n = cap - zs.avail_out;
		}
	}
	inflateEnd(&zs);
	fclose(f);
	if (ret != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	*len = n;
	return out;
}

struct rd {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	int shift = 0;

	while (r->p < r->end && shift < 64) {
		unsigned char c = *r->p++;

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
	r->bad = 1;
	return 0;
}

/* Next field of r: 0 at the end (or on a decoding error, r->bad set). */
static int rd_field(struct rd *r, int *wire)
{
	uint64_t tag;

	if (r->bad || r->p >= r->end)
		return 0;
	tag = rd_varint(r);
	*wire = tag & 7;
	return r->bad ? 0 : (int)(tag >> 3);
}

static struct rd rd_sub(struct rd *r)
{
	struct rd s = {r->p, r->p, 0};
	uint64_t n = rd_varint(r);

	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		s.bad = 1;
		return s;
	}
	s.p = r->p;
	s.end = r->p + n;
	r->p += n;
	return s;
}

static void rd_skip(struct rd *r, int wire)
{
	if (wire == 0)
		rd_varint(r);
	else if (wire == 2)
		rd_sub(r);
	else if (wire == 1 && r->end - r->p >= 8)
		r->p += 8;
	else if (wire == 5 && r->end - r->p >= 4)
		r->p += 4;
	else
		r->bad = 1;
}

/* A repeated varint field, packed or not, appended to v (at most max). */
static void rd_repeated(struct rd *r, int wire, uint64_t *v, int *n, int max)
{
	if (wire == 0) {
		uint64_t x = rd_varint(r);

		if (*n < max)
			v[(*n)++] = x;
		return;
	}
	if (wire == 2) {
		struct rd s = rd_sub(r);

		while (!s.bad && s.p < s.end) {
			uint64_t x = rd_varint(&s);

			if (*n < max)
				v[(*n)++] = x;
		}
		r->bad |= s.bad;
		return;
	}
	r->bad = 1;
}

#define MAXV 256

struct dsample {
	uint64_t locs[MAXV];
	int nlocs;
	uint64_t v[8];
	int nv;
	uint64_t lkey[8], lstr[8], lnum[8];
	int nlabels;
};

struct dmapping {
	uint64_t id, start, limit, offset, file, has_functions, has_filenames, has_lines;
};

struct dlocation {
	uint64_t id, mapping, address, func, line;
	int nlines;
};

struct dfunction {
	uint64_t id, name, system_name, file;
};

struct dprofile {
	char **strs;
	int nstrs;
	uint64_t st_type[8], st_unit[8];
	int nst;
	struct dsample *samples;
	int nsamples;
	struct dmapping *maps;
	int nmaps;
	struct dlocation *locs;
	int nlocs;
	struct dfunction *funcs;
	int nfuncs;
	uint64_t time_nanos, duration_nanos, period, pt_type, pt_unit, default_type;
	uint64_t comments[MAXV];
	int ncomments;
	int bad;
};

#define PUSH(arr, n) ((arr) = realloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

static void value_type(struct rd r, uint64_t *type, uint64_t *unit)
{
	int field, wire;

	while ((field = rd_field(&r, &wire))) {
		if (field == 1 && wire == 0)
			*type = rd_varint(&r);
		else if (field == 2 && wire == 0)
			*unit = rd_varint(&r);
		else
			rd_skip(&r, wire);
	}
}

static void decode_label(struct rd r, struct dsample *s)
{
	int field, wire, i = s->nlabels;

	if (i >= 8)
		return;
	s->lkey[i] = s->lstr[i] = s->lnum[i] = 0;
	while ((field = rd_field(&r, &wire))) {
		if (field == 1 && wire == 0)
			s->lkey[i] = rd_varint(&r);
		else if (field == 2 && wire == 0)
			s->lstr[i] = rd_varint(&r);
		else if (field == 3 && wire == 0)
			s->lnum[i] = rd_varint(&r);
		else
			rd_skip(&r, wire);
	}
	s->nlabels++;
}

static void decode_sample(struct rd r, struct dsample *s)
{
	int field, wire;

	memset(s, 0, sizeof(*s));
	while ((field = rd_field(&r, &wire))) {
		if (field == 1)
			rd_repeated(&r, wire, s->locs, &s->nlocs, MAXV);
		else if (field == 2)
			rd_repeated(&r, wire, s->v, &s->nv, 8);
		else if (field == 3 && wire == 2)
			decode_label(rd_sub(&r), s);
		else
			rd_skip(&r, wire);
	}
}

static void decode_mapping(struct rd r, struct dmapping *m)
{
	uint64_t *fields[] = {
	    NULL,     &m->id, &m->start,         &m->limit,         &m->offset,
	    &m->file, NULL,   &m->has_functions, &m->has_filenames, &m->has_lines};
	int field, wire;

	memset(m, 0, sizeof(*m));
	while ((field = rd_field(&r, &wire))) {
		if (field < 10 && fields[field] && wire == 0)
			*fields[field] = rd_varint(&r);
		else
			rd_skip(&r, wire);
	}
}

static void decode_location(struct rd r, struct dlocation *l)
{
	int field, wire;

	memset(l, 0, sizeof(*l));
	while ((field = rd_field(&r, &wire))) {
		if (field == 1 && wire == 0) {
			l->id = rd_varint(&r);
		} else if (field == 2 && wire == 0) {
			l->mapping = rd_varint(&r);
		} else if (field == 3 && wire == 0) {
			l->address = rd_varint(&r);
		} else if (field == 4 && wire == 2) {
			struct rd s = rd_sub(&r);
			int f2, w2;

			l->nlines++;
			while ((f2 = rd_field(&s, &w2))) {
				if (f2 == 1 && w2 == 0)
					l->func = rd_varint(&s);
				else if (f2 == 2 && w2 == 0)
					l->line = rd_varint(&s);
				else
					rd_skip(&s, w2);
			}
		} else {
			rd_skip(&r, wire);
		}
	}
}

static void decode_function(struct rd r, struct dfunction *fn)
{
	int field, wire;

	memset(fn, 0, sizeof(*fn));
	while ((field = rd_field(&r, &wire))) {
		if (field == 1 && wire == 0)
			fn->id = rd_varint(&r);
		else if (field == 2 && wire == 0)
			fn->name = rd_varint(&r);
		else if (field == 3 && wire == 0)
			fn->system_name = rd_varint(&r);
		else if (field == 4 && wire == 0)
			fn->file = rd_varint(&r);
		else
			rd_skip(&r, wire);
	}
}

static void decode_profile(const unsigned char *p, size_t n, struct dprofile *d)
{
	struct rd r = {p, p + n, 0};
	int field, wire;

	memset(d, 0, sizeof(*d));
	while ((field = rd_field(&r, &wire))) {
		if (field == 1 && wire == 2 && d->nst < 8) {
			value_type(rd_sub(&r), &d->st_type[d->nst], &d->st_unit[d->nst]);
			d->nst++;
		} else if (field == 2 && wire == 2) {
			decode_sample(rd_sub(&r), PUSH(d->samples, d->nsamples));
		} else if (field == 3 && wire == 2) {
			decode_mapping(rd_sub(&r), PUSH(d->maps, d->nmaps));
		} else if (field == 4 && wire == 2) {
			decode_location(rd_sub(&r), PUSH(d->locs, d->nlocs));
		} else if (field == 5 && wire == 2) {
			decode_function(rd_sub(&r), PUSH(d->funcs, d->nfuncs));
		} else if (field == 6 && wire == 2) {
			struct rd s = rd_sub(&r);

			*PUSH(d->strs, d->nstrs) = strndup((const char *)s.p, s.end - s.p);
		} else if (field == 9 && wire == 0) {
			d->time_nanos = rd_varint(&r);
		} else if (field == 10 && wire == 0) {
			d->duration_nanos = rd_varint(&r);
		} else if (field == 11 && wire == 2) {
			value_type(rd_sub(&r), &d->pt_type, &d->pt_unit);
		} else if (field == 12 && wire == 0) {
			d->period = rd_varint(&r);
		} else if (field == 13) {
			rd_repeated(&r, wire, d->comments, &d->ncomments, MAXV);
		} else if (field == 14 && wire == 0) {
			d->default_type = rd_varint(&r);
		} else {
			rd_skip(&r, wire);
		}
	}
	d->bad = r.bad;
}

static void free_profile(struct dprofile *d)
{
	int i;

	for (i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->samples);
	free(d->maps);
	free(d->locs);
	free(d->funcs);
}

static const char *str(const struct dprofile *d, uint64_t i)
{
	return i < (uint64_t)d->nstrs ? d->strs[i] : "<bad string index>";
}

static const struct dlocation *find_location(const struct dprofile *d, uint64_t id)
{
	int i;

	for (i = 0; i < d->nlocs; i++)
		if (d->locs[i].id == id)
			return &d->locs[i];
	return NULL;
}

static const struct dfunction *find_function(const struct dprofile *d, uint64_t id)
{
	int i;

	for (i = 0; i < d->nfuncs; i++)
		if (d->funcs[i].id == id)
			return &d->funcs[i];
	return NULL;
}

static const struct dmapping *find_mapping(const struct dprofile *d, uint64_t id)
{
	int i;

	for (i = 0; i < d->nmaps; i++)
		if (d->maps[i].id == id)
			return &d->maps[i];
	return NULL;
}

/* Name of the function of location id, "" when it has none. */
static const char *loc_func(const struct dprofile *d, uint64_t id)
{
	const struct dlocation *l = find_location(d, id);
	const struct dfunction *f = l && l->func ? find_function(d, l->func) : NULL;

	return f ? str(d, f->name) : "";
}

/* The label key of sample s: its string (str) or number (num); 0 when absent. */
static int label(const struct dprofile *d, const struct dsample *s, const char *key,
                 const char **sval, uint64_t *num)
{
	int i;

	for (i = 0; i < s->nlabels; i++) {
		if (strcmp(str(d, s->lkey[i]), key))
			continue;
		if (sval)
			*sval = s->lstr[i] ? str(d, s->lstr[i]) : NULL;
		if (num)
			*num = s->lnum[i];
		return 1;
	}
	return 0;
}

static int valid_utf8(const char *s)
{
	size_t n = strlen(s), i = 0, k;

	while (i < n && (k = text_utf8_len(s + i, n - i)))
		i += k;
	return i == n;
}

/* ---- helpers ---- */

static char tmpdir[] = "/tmp/test_pprof.XXXXXX";

static int exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* Entries in dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int write_and_decode(const struct snapshot *s, const char *path, struct dprofile *d)
{
	char err[ERRLEN] = "";
	unsigned char *raw;
	size_t len;
	int ret = pprof_write(path, s, err, sizeof(err));

	CHECK(ret == 0, "pprof_write %s returns 0 (%s)", path, err);
	raw = ret ? NULL : read_gunzip(path, &len);
	CHECK(raw != NULL, "the file is gzip");
	if (!raw) {
		memset(d, 0, sizeof(*d));
		return -1;
	}
	decode_profile(raw, len, d);
	free(raw);
	CHECK(!d->bad, "the profile decodes as protobuf");
	return d->bad ? -1 : 0;
}

/* ---- the tests ---- */

static void test_structure(const char *path)
{
	static const char *const types[] = {"alloc_objects", "alloc_space", "inuse_objects",
	                                    "inuse_space"};
	static const char *const units[] = {"count", "bytes", "count", "bytes"};
	unsigned long long want[4] = {0}, got[4] = {0};
	struct dprofile d;
	int i, j, ok, dup = 0, bad_utf8 = 0;

	if (write_and_decode(&snap, path, &d))
		return;
	CHECK(d.nstrs > 0 && !strcmp(d.strs[0], ""), "string_table[0] is \"\"");
	for (i = 0; i < d.nstrs; i++)
		for (j = i + 1; j < d.nstrs; j++)
			dup += !strcmp(d.strs[i], d.strs[j]);
	CHECK(!dup, "no string twice in the string table (%d duplicates)", dup);
	for (i = 0; i < d.nstrs; i++)
		bad_utf8 += !valid_utf8(d.strs[i]);
	CHECK(!bad_utf8, "every string is valid UTF-8 (%d are not)", bad_utf8);
	ok = d.nst == 4;
	for (i = 0; ok && i < 4; i++)
		ok = !strcmp(str(&d, d.st_type[i]), types[i]) &&
		     !strcmp(str(&d, d.st_unit[i]), units[i]);
	CHECK(ok, "sample types alloc_objects/count alloc_space/bytes inuse_objects/count "
	          "inuse_space/bytes");
	CHECK(!strcmp(str(&d, d.default_type), "inuse_space"), "default sample type inuse_space");
	CHECK(!strcmp(str(&d, d.pt_type), "space") && !strcmp(str(&d, d.pt_unit), "bytes") &&
	          d.period == 1,
	      "period type space/bytes, period 1");
	CHECK(d.time_nanos == 1700000000500000000ULL, "time_nanos %llu",
	      (unsigned long long)d.time_nanos);
	CHECK(d.duration_nanos == 12250000000ULL, "duration_nanos %llu",
	      (unsigned long long)d.duration_nanos);
	ok = 0;
	for (i = 0; i < d.ncomments; i++)
		ok |=
		    strstr(str(&d, d.comments[i]), "uprobe:/opt/app/server:handle_request") != NULL;
	CHECK(ok, "a comment names the request source");

	CHECK(d.nsamples == 4, "one sample per stack (%d)", d.nsamples);
	for (i = 0; i < snap.nstacks; i++) {
		want[0] += stacks[i].st.allocs;
		want[1] += stacks[i].st.alloc_bytes;
		want[2] += stacks[i].st.live_objects;
		want[3] += stacks[i].st.live_bytes;
	}
	ok = 1;
	for (i = 0; i < d.nsamples; i++) {
		ok &= d.samples[i].nv == 4;
		for (j = 0; j < 4 && j < d.samples[i].nv; j++)
			got[j] += d.samples[i].v[j];
	}
	CHECK(ok, "every sample has 4 values");
	for (j = 0; j < 4; j++)
		CHECK(got[j] == want[j], "total %s %llu, expected %llu", types[j], got[j], want[j]);

	if (d.nsamples == 4) {
		const struct dsample *s0 = &d.samples[0], *s2 = &d.samples[2];
		const char *v = NULL, *kind = NULL;
		uint64_t pid = 0;

		CHECK(s0->nlocs == 6, "sample 0 has its 6 locations");
		CHECK(!strcmp(loc_func(&d, s0->locs[0]), "leak_fixed") &&
		          !strcmp(loc_func(&d, s0->locs[1]), "handle_request") &&
		          !strcmp(loc_func(&d, s0->locs[2]), "main"),
		      "leaf first: leak_fixed, handle_request, main");
		CHECK(!strcmp(loc_func(&d, s0->locs[4]), "") &&
		          !strcmp(loc_func(&d, s0->locs[5]), ""),
		      "frames without a function have locations without lines");
		CHECK(label(&d, s0, "pid", NULL, &pid) && pid == 1234,
		      "sample 0: num label pid 1234");
		CHECK(label(&d, s0, "kind", &kind, NULL) && kind && !strcmp(kind, "malloc"),
		      "sample 0: str label kind malloc");
		CHECK(label(&d, s0, "verdict", &v, NULL) && v && !strcmp(v, "leak"),
		      "sample 0: str label verdict leak");
		CHECK(label(&d, s0, "stack", &v, NULL) && v && !strcmp(v, "0123456789ab"),
		      "sample 0: str label stack (the stack id)");
		CHECK(!label(&d, &d.samples[1], "verdict", NULL, NULL),
		      "no verdict label without a verdict");
		CHECK(!label(&d, &d.samples[3], "verdict", NULL, NULL),
		      "no verdict label for V_NONE");
		CHECK(label(&d, s2, "verdict", &v, NULL) && v && !strcmp(v, "transient"),
		      "sample 2: verdict transient");
		CHECK(d.samples[1].nlocs == 2 && d.samples[1].locs[1] == s0->locs[1],
		      "a frame shared by two stacks of a process is one location");
		CHECK(!strcmp(loc_func(&d, d.samples[1].locs[0]), TEMPLATE),
		      "C++ template name intact");
		CHECK(!strcmp(loc_func(&d, s2->locs[0]), "we\"ird\\name;with\nnewline\t\x01"),
		      "quotes, backslashes, newlines and control characters kept in names");
		CHECK(d.samples[3].locs[0] != s0->locs[1] &&
		          find_location(&d, d.samples[3].locs[0]) &&
		          find_location(&d, d.samples[3].locs[0])->func ==
		              find_location(&d, s0->locs[1])->func,
		      "same function in two processes: two locations, one function");
	}

	/* Functions, locations and mappings. */
	ok = 1;
	for (i = 0; i < d.nfuncs; i++)
		for (j = i + 1; j < d.nfuncs; j++)
			ok &= !(d.funcs[i].name == d.funcs[j].name &&
			        d.funcs[i].file == d.funcs[j].file);
	CHECK(ok && d.nfuncs == 6, "functions deduplicated by name and file (%d, expected 6)",
	      d.nfuncs);
	CHECK(d.nlocs == 9, "locations deduplicated by pid and address (%d, expected 9)", d.nlocs);
	CHECK(d.nmaps == 4, "mappings deduplicated by pid and module (%d, expected 4)", d.nmaps);
	ok = 1;
	for (i = 0; i < d.nfuncs; i++)
		ok &= d.funcs[i].id == (uint64_t)i + 1 && d.funcs[i].system_name == d.funcs[i].name;
	for (i = 0; i < d.nlocs; i++)
		ok &= d.locs[i].id == (uint64_t)i + 1 &&
		      (!d.locs[i].mapping || find_mapping(&d, d.locs[i].mapping));
	for (i = 0; i < d.nmaps; i++)
		ok &= d.maps[i].id == (uint64_t)i + 1;
	CHECK(ok, "ids are 1..N and every mapping id used exists");
	if (d.nsamples == 4) {
		const struct dlocation *leak = find_location(&d, d.samples[0].locs[0]);
		const struct dlocation *libc = find_location(&d, d.samples[0].locs[4]);
		const struct dlocation *none = find_location(&d, d.samples[0].locs[5]);
		const struct dmapping *srv = leak ? find_mapping(&d, leak->mapping) : NULL;
		const struct dmapping *lc = libc ? find_mapping(&d, libc->mapping) : NULL;
		const struct dfunction *fn = leak ? find_function(&d, leak->func) : NULL;

		CHECK(leak && leak->address == 0x1234 && leak->line == 73 && leak->nlines == 1,
		      "leak_fixed: address is the file offset, line 73");
		CHECK(fn && !strcmp(str(&d, fn->file), "tests/workloads/server.c"),
		      "leak_fixed: function file name");
		CHECK(srv && !strcmp(str(&d, srv->file), SERVER) && srv->start == 0 &&
		          srv->offset == 0 && srv->limit > 0x2200,
		      "server mapping: file name, start 0, offset 0, limit above its addresses");
		CHECK(srv && srv->has_functions && srv->has_filenames && srv->has_lines,
		      "server mapping: has functions, file names and lines");
		CHECK(lc && !strcmp(str(&d, lc->file), LIBC) && !lc->has_functions &&
		          !lc->has_filenames && !lc->has_lines,
		      "libc mapping: a location without function, so has_functions false");
		CHECK(libc && libc->address == 0x29e40 && libc->nlines == 0,
		      "libc frame without symbol: file offset, no line");
		CHECK(none && none->mapping == 0 && none->address == 0x1000 && none->nlines == 0,
		      "frame without module: no mapping, the process address");
	}
	free_profile(&d);
}

/* Many stacks sharing frames: the hash tables grow and still deduplicate. */
static void test_many(const char *path)
{
	enum { NSTACKS = 3000, DEPTH = 30, NADDR = 700, NFUNC = 250 };
	static struct snap_frame pool[2][NADDR];
	static const char *const files[] = {"a.c", "b.c", "dir/c.c"};
	static char used[2][NADDR], pairs[NFUNC][3];
	int nused = 0, npairs = 0;
	struct snap_stack *many = calloc(NSTACKS, sizeof(*many));
	struct snap_frame *frames = calloc((size_t)NSTACKS * DEPTH, sizeof(*frames));
	struct snapshot s = snap;
	unsigned long long live = 0;
	uint64_t got = 0;
	unsigned int x = 12345;
	struct dprofile d;
	int i, j, k, p;

	for (p = 0; p < 2; p++)
		for (i = 0; i < NADDR; i++) {
			char name[64];

			snprintf(name, sizeof(name), "func_%d", i % NFUNC);
			pool[p][i] = frame(0x400000 + i * 16, name, files[i % 3], i,
			                   p ? "/bin/p1" : "/bin/p0", 0x1000 + i * 16);
		}
	for (i = 0; i < NSTACKS; i++) {
		p = i % 2;
		for (j = 0; j < DEPTH; j++) {
			x = x * 1103515245 + 12345;
			frames[i * DEPTH + j] = pool[p][(x >> 8) % NADDR];
			k = (x >> 8) % NADDR;
			nused += !used[p][k];
			used[p][k] = 1;
			npairs += !pairs[k % NFUNC][k % 3];
			pairs[k % NFUNC][k % 3] = 1;
		}
		stack(&many[i], 100 + p, "eeeeeeeeeeee", "malloc", 4096 * (i + 1), i + 1, i + 1,
		      4096 * (i + 1), &frames[i * DEPTH], DEPTH);
		live += 4096ULL * (i + 1);
	}
	s.stacks = many;
	s.nstacks = NSTACKS;
	if (!write_and_decode(&s, path, &d)) {
		for (i = 0; i < d.nsamples; i++)
			got += d.samples[i].v[3];
		CHECK(d.nsamples == NSTACKS, "%d samples", d.nsamples);
		CHECK(got == live, "3000 stacks: inuse_space total %llu, expected %llu",
		      (unsigned long long)got, live);
		CHECK(d.nlocs == nused, "3000 stacks: %d locations, expected %d", d.nlocs, nused);
		CHECK(d.nfuncs == npairs, "3000 stacks: %d functions, expected %d (name x file)",
		      d.nfuncs, npairs);
		CHECK(d.nmaps == 2, "3000 stacks: 2 mappings (%d)", d.nmaps);
		free_profile(&d);
	}
	free(many);
	free(frames);
}

static void test_empty(const char *path)
{
	struct snapshot s;
	struct dprofile d;

	memset(&s, 0, sizeof(s));
	if (write_and_decode(&s, path, &d))
		return;
	CHECK(d.nsamples == 0 && d.nst == 4 && d.nstrs > 0 && !strcmp(d.strs[0], ""),
	      "empty snapshot: a valid profile without samples");
	free_profile(&d);
}

/* A thread stack: its threads in alloc_objects and inuse_objects, no bytes in use. */
static void test_threads(const char *path)
{
	struct snap_stack st[5];
	struct snap_frame fr = frame(0x7f0000002000, "start", "threading.py", 957, "", 0);
	struct snapshot s = snap;
	struct dprofile d;
	const char *kind = NULL;
	int i, found = 0;

	memcpy(st, stacks, sizeof(stacks));
	stack(&st[4], 1234, "eeeeeeeeeeee", "thread", 335544320, 40, 41, 41 * 8392704ULL, &fr, 1);
	st[4].key.kind = AL_THREAD;
	s.stacks = st;
	s.nstacks = 5;
	if (write_and_decode(&s, path, &d))
		return;
	CHECK(d.nsamples == 5 && d.samples[4].nv == 4 && d.samples[4].v[0] == 41 &&
	          d.samples[4].v[1] == 0 && d.samples[4].v[2] == 40 && d.samples[4].v[3] == 0,
	      "thread stack: 41 threads started, 40 live, 0 bytes allocated or in use");
	CHECK(d.nsamples == 5 && label(&d, &d.samples[4], "kind", &kind, NULL) && kind &&
	          !strcmp(kind, "thread"),
	      "thread stack: str label kind thread");
	for (i = 0; i < d.ncomments; i++)
		found |= strstr(str(&d, d.comments[i]), "kind=thread") != NULL;
	CHECK(found, "a comment says what a thread stack's values are");
	free_profile(&d);
	if (write_and_decode(&snap, path, &d))
		return;
	for (i = 0, found = 0; i < d.ncomments; i++)
		found |= strstr(str(&d, d.comments[i]), "kind=thread") != NULL;
	CHECK(!found, "no thread stack: no such comment");
	free_profile(&d);
}

/* --sample-bytes: the period is the sampling gap, a comment says so. */
static void test_sampled(const char *path)
{
	struct snapshot s = snap;
	struct dprofile d;
	int i, found = 0;

	s.sample_bytes = 524288;
	if (write_and_decode(&s, path, &d))
		return;
	for (i = 0; i < d.ncomments; i++)
		found |= strstr(str(&d, d.comments[i]), "estimates") != NULL;
	CHECK(d.period == 524288 && found, "sampled: period 524288 and a comment on estimates");
	free_profile(&d);
}

static void test_paths(void)
{
	char path[512], dir[512], link[512], target[512], err[ERRLEN], sub[300];
	struct stat st;
	int ret;

	snprintf(sub, sizeof(sub), "%s/paths", tmpdir);
	mkdir(sub, 0755);
	snprintf(path, sizeof(path), "%s/missing/p.pb.gz", sub);
	err[0] = '\0';
	ret = pprof_write(path, &snap, err, sizeof(err));
	CHECK(ret < 0 && !exists(path), "missing directory: error, no file (%d: %s)", ret, err);
	CHECK(err[0] && !strchr(err, '\n') && strstr(err, path),
	      "the message is one line naming the path");
	CHECK(outfile_check(path, err, sizeof(err)) < 0, "pprof_check_path: missing directory");

	snprintf(dir, sizeof(dir), "%s/adir", sub);
	mkdir(dir, 0755);
	ret = pprof_write(dir, &snap, err, sizeof(err));
	CHECK(ret < 0 && !stat(dir, &st) && S_ISDIR(st.st_mode) && count_entries(dir) == 0,
	      "a directory: error, untouched (%s)", err);
	CHECK(outfile_check(dir, err, sizeof(err)) == -EISDIR, "pprof_check_path: directory");

	snprintf(target, sizeof(target), "%s/target", sub);
	snprintf(link, sizeof(link), "%s/link", sub);
	fclose(fopen(target, "w"));
	ret = symlink(target, link);
	ret = pprof_write(link, &snap, err, sizeof(err));
	CHECK(ret < 0 && !lstat(link, &st) && S_ISLNK(st.st_mode) && !stat(target, &st) &&
	          st.st_size == 0,
	      "a symbolic link: error, link and target untouched (%s)", err);
	CHECK(outfile_check(link, err, sizeof(err)) == -ELOOP, "pprof_check_path: symlink");

	CHECK(outfile_check("/dev/null", err, sizeof(err)) < 0,
	      "pprof_check_path: a device is refused (%s)", err);
	CHECK(outfile_check("", err, sizeof(err)) < 0, "pprof_check_path: empty name");
	CHECK(outfile_check("/proc/self/nonexistent", err, sizeof(err)) < 0,
	      "pprof_check_path: unwritable directory (%s)", err);
	snprintf(path, sizeof(path), "%s/target/x", sub);
	CHECK(outfile_check(path, err, sizeof(err)) < 0, "pprof_check_path: parent is a file (%s)",
	      err);
	snprintf(path, sizeof(path), "%s/new.pb.gz", sub);
	CHECK(outfile_check(path, err, sizeof(err)) == 0, "pprof_check_path: new file is fine");
	CHECK(outfile_check(target, err, sizeof(err)) == 0,
	      "pprof_check_path: existing regular file is fine");

	/* Replace an existing file; no temporary file left behind. */
	ret = pprof_write(target, &snap, err, sizeof(err));
	CHECK(ret == 0 && !stat(target, &st) && st.st_size > 100 && count_entries(sub) == 3,
	      "an existing file is replaced, nothing else left in the directory (%d entries)",
	      count_entries(sub));
	CHECK(!stat(target, &st) && (st.st_mode & 0777) == (0666 & ~022),
	      "mode 0666 minus umask (%o)", st.st_mode & 0777);
	ret = chdir(sub);
	err[0] = '\0';
	ret = pprof_write("rel.pb.gz", &snap, err, sizeof(err));
	CHECK(ret == 0 && exists("rel.pb.gz"), "a relative path works (%s)", err);
	ret = chdir("/");
}

/* ---- go tool pprof ---- */

static int have_go(void)
{
	return system("command -v go >/dev/null 2>&1") == 0;
}

/* Run go tool pprof ARGS on path; its output (stdout and stderr) in a malloc'ed string. */
static char *go_pprof(const char *args, const char *path)
{
	char cmd[2048], *out = NULL;
	size_t len = 0;
	FILE *p, *m;
	int c;

	snprintf(cmd, sizeof(cmd),
	         "cd %s && env HOME=%s GOCACHE=%s/gocache GOPATH=%s/gopath GOFLAGS=-mod=mod "
	         "GOTOOLCHAIN=local GOPROXY=off go tool pprof %s %s 2>&1",
	         tmpdir, tmpdir, tmpdir, tmpdir, args, path);
	p = popen(cmd, "r");
	m = open_memstream(&out, &len);
	if (!p || !m) {
		if (p)
			pclose(p);
		if (m)
			fclose(m);
		free(out);
		return NULL;
	}
	while ((c = getc(p)) != EOF)
		putc(c, m);
	pclose(p);
	fclose(m);
	return out;
}

/* The total that -top prints: "... of N<unit> total". */
static long long top_total(const char *out)
{
	const char *p = strstr(out, " total");
	const char *q = p;

	if (!p)
		return -1;
	while (q > out && q[-1] != ' ')
		q--;
	return strtoll(q, NULL, 10);
}

/* Sum of the column col of the sample lines of -raw ("  v0 v1 v2 v3: loc ids"). */
static long long raw_sum(const char *out, int col)
{
	const char *p = strstr(out, "Samples:");
	long long sum = 0;

	if (!p)
		return -1;
	for (p = strchr(p, '\n'); p && *p; p = strchr(p + 1, '\n')) {
		const char *line = p + 1, *colon = strchr(line, ':'), *nl = strchr(line, '\n');
		long long v[4];
		char *end;
		int i;

		if (!strncmp(line, "Locations", 9))
			break;
		if (!colon || (nl && colon > nl))
			continue;
		end = (char *)line;
		for (i = 0; i < 4; i++) {
			v[i] = strtoll(end, &end, 10);
			if (end == line)
				break;
		}
		if (i == 4 && *end == ':')
			sum += v[col];
	}
	return sum;
}

static void test_go_pprof(const char *path)
{
	unsigned long long live = 0, objs = 0, allocs = 0;
	struct dprofile d;
	char *out;
	int i;

	if (!have_go()) {
		printf(
		    "SKIP - go not installed (apt-get install golang-go): go tool pprof checks\n");
		return;
	}
	for (i = 0; i < snap.nstacks; i++) {
		live += stacks[i].st.live_bytes;
		objs += stacks[i].st.live_objects;
		allocs += stacks[i].st.allocs;
	}
	if (write_and_decode(&snap, path, &d))
		return;
	free_profile(&d);

	out = go_pprof("-raw", path);
	CHECK(out && strstr(out, "inuse_space/bytes[dflt]"),
	      "go tool pprof -raw: inuse_space is the default sample type");
	CHECK(out && raw_sum(out, 3) == (long long)live, "go tool pprof -raw: inuse_space sum %lld",
	      out ? raw_sum(out, 3) : -1);
	CHECK(out && raw_sum(out, 0) == (long long)allocs,
	      "go tool pprof -raw: alloc_objects sum %lld", out ? raw_sum(out, 0) : -1);
	CHECK(out && strstr(out, "pid:[1234]") && strstr(out, "kind:[malloc]") &&
	          strstr(out, "verdict:[leak]"),
	      "go tool pprof -raw: labels pid, kind, verdict");
	if (out && (raw_sum(out, 3) != (long long)live || !strstr(out, "verdict:[leak]")))
		printf("--- go tool pprof -raw ---\n%s\n", out);
	free(out);

	out = go_pprof("-top -nodefraction=0 -sample_index=inuse_space -unit=B", path);
	CHECK(out && top_total(out) == (long long)live,
	      "go tool pprof -top: inuse_space %lld B "
	      "total, expected %llu",
	      out ? top_total(out) : -1, live);
	CHECK(out && strstr(out, "leak_fixed") && strstr(out, "_M_realloc_insert"),
	      "go tool pprof -top: function names appear");
	if (out && (top_total(out) != (long long)live || !strstr(out, "leak_fixed") ||
	            !strstr(out, "_M_realloc_insert")))
		printf("--- go tool pprof -top ---\n%s\n", out);
	free(out);

	out = go_pprof("-top -sample_index=alloc_objects", path);
	CHECK(out && top_total(out) == (long long)allocs,
	      "go tool pprof -top: alloc_objects %lld "
	      "total, expected %llu",
	      out ? top_total(out) : -1, allocs);
	free(out);
	out = go_pprof("-top -sample_index=inuse_objects", path);
	CHECK(out && top_total(out) == (long long)objs,
	      "go tool pprof -top: inuse_objects %lld total, expected %llu",
	      out ? top_total(out) : -1, objs);
	free(out);

	out = go_pprof("-traces", path);
	CHECK(out && strstr(out, "handle_request") && strstr(out, "main"),
	      "go tool pprof -traces: callers present");
	free(out);
}

int main(void)
{
	char path[512], cmd[600];

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	build_snapshot();
	snprintf(path, sizeof(path), "%s/heap.pb.gz", tmpdir);
	test_structure(path);
	snprintf(path, sizeof(path), "%s/many.pb.gz", tmpdir);
	test_many(path);
	snprintf(path, sizeof(path), "%s/empty.pb.gz", tmpdir);
	test_empty(path);
	snprintf(path, sizeof(path), "%s/sampled.pb.gz", tmpdir);
	test_sampled(path);
	snprintf(path, sizeof(path), "%s/threads.pb.gz", tmpdir);
	test_threads(path);
	test_paths();
	snprintf(path, sizeof(path), "%s/go.pb.gz", tmpdir);
	test_go_pprof(path);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		printf("warning: could not remove %s\n", tmpdir);
	return check_done();
}
