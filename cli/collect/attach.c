// SPDX-License-Identifier: GPL-2.0
/* attach.c - load the BPF objects a mode needs and attach them to target processes.
 *
 * agentleak.bpf.c (the shared maps, syscalls, request sources) is loaded in every mode;
 * precise.bpf.c (allocator probes) at start in the precise tier, and by --mode auto
 * when its first window opens; growth.bpf.c (page faults) in the growth tier. So a
 * mode verifies only what it runs, and a tier that cannot load leaves the other one
 * working (bpfobj.c loads each and explains a refusal).
 *
 * Each probe is attached with the target's PID, so the kernel only plants the
 * breakpoint in that process (no trap in anyone else). Functions that share an
 * address (glibc's aligned_alloc and memalign) get one probe. The entry probe of an
 * allocation function sits at +0, on the same breakpoint as its return probe; the
 * free probe sits where allocator.c found an instruction the kernel emulates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "agentleak.h"
#include "agentleak.skel.h"
#include "growth.skel.h"
#include "precise.skel.h"
#include "collect/attach.h"
#include "collect/bpfobj.h"
#include "collect/kernel_features.h"
#include "target/plt.h"
#include "base/errbuf.h"
#include "base/procmaps.h"
#include "base/safeio.h"
#include "base/vec.h"

struct link_list {
	struct bpf_link **v;
	int n, cap;
};

struct attacher {
	struct agentleak_bpf *base;  /* every mode: the shared maps, syscalls, requests */
	struct precise_bpf *precise; /* allocator probes: at start, or at auto's first window */
	struct growth_bpf *growth;   /* page faults: --mode growth and auto */
	const volatile __u32 *slots_used; /* the slots_used map, mapped */
	struct link_list links;           /* syscalls, page faults, request sources */
	struct link_list probes;          /* allocator probes: detached again by --mode auto */
	int *multi;                       /* the same as uprobe_multi link fds */
	int nmulti, multi_cap;
	bool use_multi;          /* the precise tier is loaded for uprobe_multi links */
	struct prog_stats stats; /* the verifier's cost of every program loaded */
	struct attach_opts opts;
	char precise_err[512]; /* the precise tier failed to load: why (not tried again) */
	bool syscalls;         /* attach_syscalls done */
};

static int keep(struct link_list *ll, struct bpf_link *l)
{
	if (VEC_GROW(ll->v, ll->cap, ll->n + 1))
		return -ENOMEM;
	ll->v[ll->n++] = l;
	return 0;
}

static int keep_link(struct attacher *a, struct bpf_link *l)
{
	return keep(&a->links, l);
}

/* Last attached first. */
static void destroy_links(struct link_list *ll)
{
	int i;

	for (i = ll->n - 1; i >= 0; i--)
		bpf_link__destroy(ll->v[i]);
	free(ll->v);
	memset(ll, 0, sizeof(*ll));
}

/* The allocator probes, last attached first: entries, return probes, free. */
static void destroy_probes(struct attacher *a)
{
	int i;

	for (i = a->nmulti - 1; i >= 0; i--)
		close(a->multi[i]);
	a->nmulti = 0;
	destroy_links(&a->probes);
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("AGENTLEAK_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int verbose_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The exponential gaps between sample points (its quantiles, picked at random by the
 * BPF side) and the weights 1/(1-exp(-size/R)) for size/R in [i/32, (i+1)/32). */
static int fill_sampling(struct attacher *a, unsigned long long r)
{
	int gaps = bpf_map__fd(a->precise->maps.sample_gaps);
	int weights = bpf_map__fd(a->precise->maps.sample_weights);
	__u32 i;

	for (i = 0; i < AL_SAMPLE_GAPS; i++) {
		__u64 g = (__u64)(-(double)r * log((i + 0.5) / AL_SAMPLE_GAPS)) + 1;

		if (bpf_map_update_elem(gaps, &i, &g, BPF_ANY))
			return -1;
	}
	for (i = 0; i < AL_SAMPLE_WEIGHTS; i++) {
		__u64 w = (__u64)(1024.0 / (1.0 - exp(-(i + 0.5) / 32.0)));

		if (bpf_map_update_elem(weights, &i, &w, BPF_ANY))
			return -1;
	}
	return 0;
}

/* -v: what the verifier made of the programs loaded since stats entry from. */
static void print_stats(const struct attacher *a, int from)
{
	int i;

	if (!a->opts.verbose)
		return;
	for (i = from; i < a->stats.n; i++) {
		const struct prog_stat *s = &a->stats.v[i];

		fprintf(stderr,
		        "agentleak: BPF %s/%s: %u instructions verified (%.2f%% of the verifier's "
		        "limit of %d), in %.1f ms\n",
		        s->object, s->name, s->insns, 100.0 * s->insns / BPF_VERIFIER_LIMIT,
		        BPF_VERIFIER_LIMIT, s->usec / 1000.0);
	}
}

/* The programs every mode needs, and the maps all tiers share. */
static int load_base(struct attacher *a, char *err, size_t errlen)
{
	const struct attach_opts *o = &a->opts;
	struct agentleak_bpf *s;
	int from = a->stats.n;
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	s = a->base = agentleak_bpf__open();
	if (!s)
		return err_set(err, errlen, "cannot open the BPF programs: %s", strerror(errno));
	bpf_map__set_max_entries(s->maps.allocs, o->max_allocs);
	bpf_map__set_max_entries(s->maps.stats, o->max_stacks);
	bpf_map__set_max_entries(s->maps.stack_slots, o->max_stacks);
	bpf_map__set_max_entries(s->maps.free_slots, o->max_stacks);
	bpf_map__set_max_entries(s->maps.stacks, o->max_stacks);
	bpf_map__set_max_entries(s->maps.py_stacks, o->max_stacks);
	s->rodata->max_stacks = o->max_stacks;
	s->rodata->count_accept = o->count_accept;
	s->rodata->count_http = o->count_http;
	s->rodata->growth = o->growth;
	bpf_program__set_autoload(s->progs.request_hit, o->request_uprobe);
	bpf_program__set_autoload(s->progs.request_usdt, o->request_usdt);
	if (bpfobj_load(s->skeleton, "agentleak", "the programs every mode needs", NULL, &a->stats,
	                "No mode can run without them; please report this with the output of "
	                "'agentleak --check'",
	                err, errlen))
		return -1;
	print_stats(a, from);
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, bpf_map__fd(s->maps.slots_used), 0);
	if (m == MAP_FAILED)
		return err_set(err, errlen, "cannot map the BPF slot counter: %s", strerror(errno));
	a->slots_used = m;
	return 0;
}

int attach_load_precise(struct attacher *a, char *err, size_t errlen)
{
	struct precise_bpf *s;
	int from = a->stats.n;

	if (a->precise)
		return 0;
	if (a->precise_err[0])
		return err_set(err, errlen, "%s", a->precise_err);
	s = a->precise = precise_bpf__open();
	if (!s) {
		snprintf(a->precise_err, sizeof(a->precise_err),
		         "cannot open the precise tier's BPF programs: %s", strerror(errno));
		goto fail;
	}
	s->rodata->max_stacks = a->opts.max_stacks;
	s->rodata->sample_bytes = a->opts.sample_bytes;
	/* One link per program and process where the kernel can: detaching 17 probes one
	 * by one waits for an RCU grace period each (~0.1 s), a multi link once. */
	a->use_multi = feature_uprobe_multi();
	if (a->use_multi) {
		bpf_program__set_expected_attach_type(s->progs.free_enter, AL_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(s->progs.alloc_return, AL_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(s->progs.alloc_enter, AL_TRACE_UPROBE_MULTI);
	}
	if (bpfobj_load(s->skeleton, "precise", "the precise tier", a->base->obj, &a->stats,
	                a->opts.growth ? "The growth tier goes on without it; please report this "
	                                 "with the output of 'agentleak --check'"
	                               : "--mode growth does not need it; please report this "
	                                 "with the output of 'agentleak --check'",
	                a->precise_err, sizeof(a->precise_err)))
		goto fail;
	print_stats(a, from);
	if (a->opts.sample_bytes && fill_sampling(a, a->opts.sample_bytes)) {
		snprintf(a->precise_err, sizeof(a->precise_err), "cannot set up sampling: %s",
		         strerror(errno));
		goto fail;
	}
	return 0;
fail:
	precise_bpf__destroy(a->precise);
	a->precise = NULL;
	return err_set(err, errlen, "%s", a->precise_err);
}

static int load_growth(struct attacher *a, char *err, size_t errlen)
{
	struct growth_bpf *s;
	int from = a->stats.n;

	s = a->growth = growth_bpf__open();
	if (!s)
		return err_set(err, errlen, "cannot open the growth tier's BPF programs: %s",
		               strerror(errno));
	s->rodata->max_stacks = a->opts.max_stacks;
	if (bpfobj_load(s->skeleton, "growth", "the growth tier", a->base->obj, &a->stats,
	                "--mode precise does not need it; please report this with the output "
	                "of 'agentleak --check'",
	                err, errlen))
		return -1;
	print_stats(a, from);
	return 0;
}

struct attacher *attach_open(const struct attach_opts *opts, char *err, size_t errlen)
{
	struct attacher *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->opts = *opts;
	libbpf_set_print(opts->verbose ? verbose_print : silent_print);
	/* Each mode loads what it runs: --mode auto loads the precise tier when its first
	 * window opens. */
	if (load_base(a, err, errlen) ||
	    (opts->growth ? load_growth(a, err, errlen) : attach_load_precise(a, err, errlen)))
		goto fail;
	attach_set_mmap_events(a, !opts->growth);
	return a;
fail:
	attach_close(a);
	return NULL;
}

const struct prog_stats *attach_prog_stats(const struct attacher *a)
{
	return &a->stats;
}

void attach_set_mmap_events(struct attacher *a, bool on)
{
	a->base->bss->mmap_events = on;
}

static int probe(struct attacher *a, struct bpf_program *prog, int pid, const char *path,
                 unsigned long long off, bool retprobe, unsigned long long cookie, char *err,
                 size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = retprobe, .bpf_cookie = cookie);
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo);
	if (!l)
		return err_set(err, errlen, "cannot attach %s to %s+0x%llx in PID %d: %s",
		               retprobe ? "uretprobe" : "uprobe", path, off, pid, strerror(errno));
	return keep(&a->probes, l);
}

/* Sites already probed at the same address are skipped. */
static bool seen_before(const struct al_allocator *al, int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (al->sites[j].kind != AL_FREE && al->sites[j].file_off == al->sites[i].file_off)
			return true;
	return false;
}

/* The executable's PLT sections, placed through its text mappings: a return address
 * right after a call to one of them is the frame that entered a shared library. */
static void read_growth_plt(int pid, const struct plt_map *maps, int nmaps,
                            struct al_growth_proc *gp)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no PLT ranges: the scan takes the first text word, as before */
	plt_ranges(fd, maps, nmaps, gp->plt_start, gp->plt_end, AL_PLT_RANGES);
	close(fd);
}

/* What read_growth_proc() gathers from the maps. */
struct growth_maps {
	const char *exe;
	struct al_growth_proc *gp;
	struct plt_map maps[AL_TEXT_RANGES];
	int nr;
};

static int growth_mapping(struct procmaps_entry *e, void *arg)
{
	struct growth_maps *g = arg;

	if (!strcmp(e->path, "[heap]")) {
		g->gp->brk = e->end;
	} else if (procmaps_exec(e) && g->nr < AL_TEXT_RANGES && !strcmp(e->path, g->exe)) {
		g->gp->start[g->nr] = e->start;
		g->gp->end[g->nr] = e->end;
		g->maps[g->nr++] =
		    (struct plt_map){.start = e->start, .end = e->end, .off = e->offset};
	}
	return 0;
}

/* The growth tier's view of a process: its executable's r-xp mappings (the text that
 * page faults are attributed to) and PLT sections, and the end of [heap] (the program
 * break). */
static int read_growth_proc(int pid, struct al_growth_proc *gp, char *err, size_t errlen)
{
	char path[64], exe[PATH_MAX];
	struct growth_maps g = {.exe = exe, .gp = gp};
	ssize_t n;
	int r;

	memset(gp, 0, sizeof(*gp));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return err_set(err, errlen, "PID %d: cannot read %s: %s", pid, path,
		               strerror(errno));
	exe[n] = '\0';
	r = procmaps_read(pid, growth_mapping, &g);
	if (r)
		return err_set(err, errlen, "PID %d: cannot read /proc/%d/maps: %s", pid, pid,
		               strerror(-r));
	read_growth_plt(pid, g.maps, g.nr, gp);
	return 0;
}

int attach_process(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                   char *err, size_t errlen)
{
	struct agentleak_bpf *s = a->base;
	struct al_growth_proc gp;
	__u32 key = pid;
	__u64 zero = 0;
	__u8 one = 1;

	*nprobes = 0;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.targets), &key, &one, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.requests), &key, &zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.execs), &key, &zero, BPF_ANY))
		return err_set(err, errlen, "too many targets");
	if (!a->opts.growth)
		return attach_allocator(a, pid, al, nprobes, err, errlen);
	if (read_growth_proc(pid, &gp, err, errlen))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.growth_procs), &key, &gp, BPF_ANY))
		return err_set(err, errlen, "too many targets");
	if (a->opts.verbose)
		fprintf(stderr,
		        "agentleak: pid %d: growth tier, executable text %llx-%llx, plt %llx-%llx, "
		        "brk %llx\n",
		        pid, (unsigned long long)gp.start[0], (unsigned long long)gp.end[0],
		        (unsigned long long)gp.plt_start[0], (unsigned long long)gp.plt_end[0],
		        (unsigned long long)gp.brk);
	return 0;
}

/* One uprobe_multi link: a pass of attach_allocator at the n offsets collected. */
static int probe_multi(struct attacher *a, struct bpf_program *prog, int pid, const char *path,
                       const unsigned long *offs, const unsigned long long *cookies, int n,
                       bool retprobe, char *err, size_t errlen)
{
	int fd;

	if (!n)
		return 0;
	if (VEC_GROW(a->multi, a->multi_cap, a->nmulti + 1))
		return err_set(err, errlen, "out of memory");
	fd = uprobe_multi_link(bpf_program__fd(prog), path, offs, cookies, n, retprobe, pid);
	if (fd < 0)
		return err_set(err, errlen, "cannot attach %d %s to %s in PID %d: %s", n,
		               retprobe ? "uretprobes" : "uprobes", path, pid, strerror(-fd));
	a->multi[a->nmulti++] = fd;
	return 0;
}

int attach_allocator(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                     char *err, size_t errlen)
{
	struct precise_bpf *s;
	int i, n = 0, pass;

	if (attach_load_precise(a, err, errlen))
		return -1;
	s = a->precise;

	/* pass 0: free; 1: return probes; 2: entries */
	for (pass = 0; pass < 3; pass++) {
		unsigned long offs[AL_MAX_SITES];
		unsigned long long cookies[AL_MAX_SITES];
		struct bpf_program *progs[3] = {s->progs.free_enter, s->progs.alloc_return,
		                                s->progs.alloc_enter};
		int m = 0;

		for (i = 0; i < al->nsites; i++) {
			const struct al_site *site = &al->sites[i];
			bool is_free = site->kind == AL_FREE;
			int r = 0;

			if (is_free != (pass == 0) || (!is_free && seen_before(al, i)))
				continue;
			if (a->use_multi) { /* collected: one link per pass, below */
				offs[m] = pass == 0 ? site->probe_off : site->file_off;
				cookies[m++] = pass == 2 ? site->kind : 0;
			} else if (pass == 0)
				r = probe(a, s->progs.free_enter, pid, al->path, site->probe_off,
				          false, 0, err, errlen);
			else if (pass == 1)
				r = probe(a, s->progs.alloc_return, pid, al->path, site->file_off,
				          true, 0, err, errlen);
			else
				r = probe(a, s->progs.alloc_enter, pid, al->path, site->file_off,
				          false, site->kind, err, errlen);
			if (r)
				return -1;
			n++;
			if (a->opts.verbose)
				fprintf(stderr, "agentleak: pid %d: %s %s at +0x%llx (%s, %s)\n",
				        pid, pass == 1 ? "uretprobe" : "uprobe", site->name,
				        (pass == 0 ? site->probe_off : site->file_off) -
				            site->file_off,
				        pass == 0 ? site->insn : "entry",
				        pass == 0 ? (site->emulated ? "emulated" : "single-stepped")
				                  : "shared with return probe");
		}
		if (a->use_multi &&
		    probe_multi(a, progs[pass], pid, al->path, offs, pass == 2 ? cookies : NULL, m,
		                pass == 1, err, errlen))
			return -1;
	}
	*nprobes = n;
	return 0;
}

/* What maps_file() looks for. */
struct mapped_file {
	const char *path;
	unsigned long long ino;
};

static int is_mapped_file(struct procmaps_entry *e, void *arg)
{
	const struct mapped_file *m = arg;
	size_t plen = strlen(m->path);
	const char *tail;

	if (e->inode && e->inode == m->ino)
		return 1;
	if (e->pathlen < plen)
		return 0;
	/* By name: the path, at the end of the line after a space. */
	tail = e->path + e->pathlen - plen;
	return !strcmp(tail, m->path) && (tail == e->path || tail[-1] == ' ');
}

/* Does pid map the file at path (as it sees it; out: the same file through its root)?
 * Compared by inode, as a path may be a link (/usr/bin/python3), else by name. */
static bool maps_file(int pid, const char *path, const char *out)
{
	struct mapped_file m = {.path = path};
	struct stat st;

	if (stat(out, &st))
		return false;
	m.ino = st.st_ino;
	return procmaps_read(pid, is_mapped_file, &m) == 1;
}

/* The object as the process sees it, reached through its root (containers): a regular
 * ELF file that the process maps. */
static int target_file(int pid, const char *path, char *out, size_t len, char *err, size_t errlen)
{
	unsigned char magic[4];
	ssize_t n;
	int fd;

	if (path[0] != '/')
		return err_set(err, errlen, "request source path '%s' must be absolute", path);
	snprintf(out, len, "/proc/%d/root%s", pid, path);
	fd = safeio_open(out);
	if (fd < 0)
		return err_set(err, errlen, "request source: cannot read %s in PID %d: %s", path,
		               pid, errno == EINVAL ? "not a regular file" : strerror(errno));
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != sizeof(magic) || memcmp(magic, "\177ELF", 4))
		return err_set(err, errlen, "request source: %s is not an ELF file", path);
	if (!maps_file(pid, path, out))
		return err_set(err, errlen,
		               "request source: PID %d does not map %s, so no request would ever "
		               "be counted (its files are in /proc/%d/maps)",
		               pid, path, pid);
	return 0;
}

int attach_request_uprobe(struct attacher *a, int pid, const char *path, const char *symbol,
                          char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = symbol);
	char file[PATH_MAX];
	struct bpf_link *l;

	if (target_file(pid, path, file, sizeof(file), err, errlen))
		return -1;
	l = bpf_program__attach_uprobe_opts(a->base->progs.request_hit, pid, file, 0, &uo);
	if (!l) {
		snprintf(err, errlen, "request source: cannot attach to %s in %s (PID %d): %s",
		         symbol, path, pid,
		         errno == ENOENT ? "no such function symbol" : strerror(errno));
		return -1;
	}
	return keep_link(a, l);
}

int attach_request_usdt(struct attacher *a, int pid, const char *path, const char *provider,
                        const char *name, char *err, size_t errlen)
{
	char file[PATH_MAX];
	struct bpf_link *l;

	if (target_file(pid, path, file, sizeof(file), err, errlen))
		return -1;
	l = bpf_program__attach_usdt(a->base->progs.request_usdt, pid, file, provider, name, NULL);
	if (!l)
		return err_set(err, errlen,
		               "request source: no USDT probe %s:%s in %s (PID %d): %s", provider,
		               name, path, pid, strerror(errno));
	return keep_link(a, l);
}

static int attach_tracepoint(struct attacher *a, struct bpf_program *p, char *err, size_t errlen)
{
	struct bpf_link *l = bpf_program__attach(p);

	if (!l || keep_link(a, l)) {
		snprintf(err, errlen, "cannot attach to the %s tracepoint: %s",
		         bpf_program__section_name(p) + strlen("tp_btf/"), strerror(errno));
		bpf_link__destroy(l);
		return -1;
	}
	return 0;
}

int attach_syscalls(struct attacher *a, char *err, size_t errlen)
{
	if (a->syscalls)
		return 0;
	if (attach_tracepoint(a, a->base->progs.sys_exit, err, errlen) ||
	    (a->growth && attach_tracepoint(a, a->growth->progs.page_fault, err, errlen)))
		return -1;
	a->syscalls = true;
	return 0;
}

#define PURGE_BATCH 4096

/* Delete every entry of a hash map that keep() refuses; vsize is the value size. Keys
 * are read in batches (the kernel's own iteration), then deleted in batches. */
static int purge_map(int fd, size_t ksize, size_t vsize, bool (*keep)(const void *k, int arg),
                     int arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char *keys = malloc(PURGE_BATCH * ksize), *vals = malloc(PURGE_BATCH * vsize);
	char *drop = malloc(PURGE_BATCH * ksize), next[64];
	void *in = NULL;
	int r = 0, last = 0;

	if (!keys || !vals || !drop || ksize > sizeof(next)) {
		r = -ENOMEM;
		goto out;
	}
	while (!last) {
		__u32 i, count = PURGE_BATCH, ndrop = 0;

		last = bpf_map_lookup_batch(fd, in, next, keys, vals, &count, &opts);
		if (last && errno != ENOENT) {
			r = -errno;
			break;
		}
		for (i = 0; i < count; i++)
			if (!keep(keys + i * ksize, arg))
				memcpy(drop + ndrop++ * ksize, keys + i * ksize, ksize);
		/* A batch stops at a key already gone: then one by one. */
		if (ndrop && bpf_map_delete_batch(fd, drop, &ndrop, &opts))
			for (i = 0; i < count; i++)
				if (!keep(keys + i * ksize, arg))
					bpf_map_delete_elem(fd, keys + i * ksize);
		in = next;
	}
out:
	free(keys);
	free(vals);
	free(drop);
	return r;
}

static bool is_page(const void *k, int unused)
{
	(void)unused;
	return ((const struct al_alloc_key *)k)->addr & AL_PAGE_KEY_BIT;
}

static bool keep_none(const void *k, int unused)
{
	(void)k;
	(void)unused;
	return false;
}

/* Give back the slots of the stacks drop() says: no BPF program writes them any more
 * (their probes are off, or their process is gone). Each is unlisted from stack_slots,
 * zeroed and marked not ready (the sampler skips it), then queued in free_slots, where
 * the next new stack takes it. */
static int clear_slots(struct attacher *a, bool (*drop)(const struct al_stack_key *k, int arg),
                       int arg)
{
	int fd = bpf_map__fd(a->base->maps.stats);
	int keys = bpf_map__fd(a->base->maps.stack_slots);
	int queue = bpf_map__fd(a->base->maps.free_slots);
	__u32 i, n = *a->slots_used;
	struct al_stack_slot slot;

	if (n > bpf_map__max_entries(a->base->maps.stats))
		n = bpf_map__max_entries(a->base->maps.stats);
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, &slot))
			return -errno;
		if (!slot.ready || !drop(&slot.key, arg))
			continue;
		bpf_map_delete_elem(keys, &slot.key);
		memset(&slot, 0, sizeof(slot));
		if (bpf_map_update_elem(fd, &i, &slot, BPF_ANY) ||
		    bpf_map_update_elem(queue, NULL, &i, BPF_ANY))
			return -errno;
	}
	return 0;
}

static bool precise_stack(const struct al_stack_key *k, int unused)
{
	(void)unused;
	return k->kind != AL_FAULT;
}

static bool stack_of(const struct al_stack_key *k, int tgid)
{
	return (int)k->tgid == tgid;
}

static bool block_not_of(const void *k, int tgid)
{
	return (int)((const struct al_alloc_key *)k)->tgid != tgid;
}

int attach_forget_process(struct attacher *a, int pid, char *err, size_t errlen)
{
	struct al_growth_proc gp;
	__u32 key = pid;
	int r;

	r = purge_map(bpf_map__fd(a->base->maps.allocs), sizeof(struct al_alloc_key),
	              sizeof(struct al_alloc_val), block_not_of, pid);
	if (!r)
		r = clear_slots(a, stack_of, pid);
	if (r)
		return err_set(err, errlen, "PID %d: forgetting its blocks: %s", pid, strerror(-r));
	/* The growth tier attributes faults to the new executable's text. */
	if (a->growth &&
	    (read_growth_proc(pid, &gp, err, errlen) ||
	     bpf_map_update_elem(bpf_map__fd(a->base->maps.growth_procs), &key, &gp, BPF_ANY)))
		return -1;
	return 0;
}

int attach_allocator_off(struct attacher *a, char *err, size_t errlen)
{
	struct agentleak_bpf *s = a->base;
	int r;

	destroy_probes(a);
	attach_set_mmap_events(a, false);
	r = purge_map(bpf_map__fd(s->maps.allocs), sizeof(struct al_alloc_key),
	              sizeof(struct al_alloc_val), is_page, 0);
	/* A thread inside an allocator call at detach never reaches its return probe:
	 * its state would make the next window's calls look nested in it. */
	if (!r)
		r = purge_map(bpf_map__fd(s->maps.inflight), sizeof(__u32),
		              bpf_map__value_size(s->maps.inflight), keep_none, 0);
	if (!r)
		r = clear_slots(a, precise_stack, 0);
	if (r)
		snprintf(err, errlen, "clearing the precise tier's maps: %s", strerror(-r));
	return r;
}

unsigned long long attach_execs(struct attacher *a, int pid)
{
	__u32 key = pid;
	__u64 n = 0;

	bpf_map_lookup_elem(bpf_map__fd(a->base->maps.execs), &key, &n);
	return n;
}

bool attach_growth(const struct attacher *a)
{
	return a->opts.growth;
}

const volatile __u32 *attach_stats_next(struct attacher *a, __u32 *max)
{
	*max = bpf_map__max_entries(a->base->maps.stats);
	return a->slots_used;
}

int attach_python(struct attacher *a, int pid, const struct al_py_proc *proc, char *err,
                  size_t errlen)
{
	int fd = bpf_map__fd(a->base->maps.py_procs);
	__u32 key = pid;

	if (!proc) {
		bpf_map_delete_elem(fd, &key);
		return 0;
	}
	if (bpf_map_update_elem(fd, &key, proc, BPF_ANY))
		return err_set(err, errlen, "pid %d: cannot walk its Python stacks: %s", pid,
		               strerror(errno));
	return 0;
}

int attach_map_fd(struct attacher *a, enum attach_map which)
{
	switch (which) {
	case ATTACH_MAP_STATS:
		return bpf_map__fd(a->base->maps.stats);
	case ATTACH_MAP_STACKS:
		return bpf_map__fd(a->base->maps.stacks);
	case ATTACH_MAP_COUNTERS:
		return bpf_map__fd(a->base->maps.counters);
	case ATTACH_MAP_EVENTS:
		return bpf_map__fd(a->base->maps.events);
	case ATTACH_MAP_REQUESTS:
		return bpf_map__fd(a->base->maps.requests);
	case ATTACH_MAP_PY_STACKS:
		return bpf_map__fd(a->base->maps.py_stacks);
	case ATTACH_MAP_ALLOCS:
		return bpf_map__fd(a->base->maps.allocs);
	}
	return -1;
}

void attach_close(struct attacher *a)
{
	if (!a)
		return;
	/* Entries first, free last: the reverse of attach order. */
	destroy_probes(a);
	free(a->multi);
	destroy_links(&a->links);
	if (a->slots_used)
		munmap((void *)a->slots_used, sysconf(_SC_PAGESIZE));
	precise_bpf__destroy(a->precise);
	growth_bpf__destroy(a->growth);
	agentleak_bpf__destroy(a->base);
	prog_stats_free(&a->stats);
	free(a);
}
