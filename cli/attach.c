/* attach.c - load agentleak.bpf.c (skeleton) and attach it to target processes.
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
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "agentleak.h"
#include "agentleak.skel.h"
#include "attach.h"
#include "plt.h"

struct link_list {
	struct bpf_link **v;
	int n, cap;
};

struct attacher {
	struct agentleak_bpf *skel;
	struct link_list links;  /* syscalls, page faults, request sources */
	struct link_list probes; /* allocator probes: detached again by --mode auto */
	bool verbose;
	bool growth;
	bool syscalls; /* attach_syscalls done */
};

static int keep(struct link_list *ll, struct bpf_link *l)
{
	if (ll->n == ll->cap) {
		int cap = ll->cap ? ll->cap * 2 : 32;
		struct bpf_link **n = realloc(ll->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ll->v = n;
		ll->cap = cap;
	}
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
	int gaps = bpf_map__fd(a->skel->maps.sample_gaps);
	int weights = bpf_map__fd(a->skel->maps.sample_weights);
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

/* Open and load the skeleton. */
static int load(struct attacher *a, const struct attach_opts *opts)
{
	a->skel = agentleak_bpf__open();
	if (!a->skel)
		return -errno;
	bpf_map__set_max_entries(a->skel->maps.allocs, opts->max_allocs);
	bpf_map__set_max_entries(a->skel->maps.stats, opts->max_stacks);
	bpf_map__set_max_entries(a->skel->maps.stack_slots, opts->max_stacks);
	bpf_map__set_max_entries(a->skel->maps.free_slots, opts->max_stacks);
	a->skel->rodata->max_stacks = opts->max_stacks;
	bpf_map__set_max_entries(a->skel->maps.stacks, opts->max_stacks);
	a->skel->rodata->count_accept = opts->count_accept;
	a->skel->rodata->sample_bytes = opts->sample_bytes;
	a->skel->rodata->growth = opts->growth;
	/* The page fault program is only needed (and only loaded) in the growth tier. */
	bpf_program__set_autoload(a->skel->progs.page_fault, opts->growth);
	return agentleak_bpf__load(a->skel);
}

struct attacher *attach_open(const struct attach_opts *opts, char *err, size_t errlen)
{
	struct attacher *a = calloc(1, sizeof(*a));
	int e;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->verbose = opts->verbose;
	a->growth = opts->growth;
	libbpf_set_print(opts->verbose ? verbose_print : silent_print);
	e = load(a, opts);
	if (e) {
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-e),
		         e == -EPERM ? " (need root or CAP_BPF+CAP_PERFMON)" : "");
		goto fail;
	}
	attach_set_mmap_events(a, !opts->growth);
	if (opts->sample_bytes && fill_sampling(a, opts->sample_bytes)) {
		snprintf(err, errlen, "cannot set up sampling: %s", strerror(errno));
		goto fail;
	}
	return a;
fail:
	attach_close(a);
	return NULL;
}

void attach_set_mmap_events(struct attacher *a, bool on)
{
	a->skel->bss->mmap_events = on;
}

static int probe(struct attacher *a, struct bpf_program *prog, int pid, const char *path,
                 unsigned long long off, bool retprobe, unsigned long long cookie, char *err,
                 size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = retprobe, .bpf_cookie = cookie);
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo);
	if (!l) {
		snprintf(err, errlen, "cannot attach %s to %s+0x%llx in PID %d: %s",
		         retprobe ? "uretprobe" : "uprobe", path, off, pid, strerror(errno));
		return -1;
	}
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

/* The growth tier's view of a process: its executable's r-xp mappings (the text that
 * page faults are attributed to) and PLT sections, and the end of [heap] (the program
 * break). */
static int read_growth_proc(int pid, struct al_growth_proc *gp, char *err, size_t errlen)
{
	char path[64], exe[PATH_MAX], line[PATH_MAX + 256];
	struct plt_map maps[AL_TEXT_RANGES];
	ssize_t n;
	FILE *f;
	int nr = 0;

	memset(gp, 0, sizeof(*gp));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(err, errlen, "PID %d: cannot read %s: %s", pid, path, strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "PID %d: cannot read %s: %s", pid, path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8];
		int name = 0;
		size_t len;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off,
		           &name) < 4 ||
		    !name)
			continue;
		len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!strcmp(line + name, "[heap]")) {
			gp->brk = end;
			continue;
		}
		if (perms[2] == 'x' && nr < AL_TEXT_RANGES && !strcmp(line + name, exe)) {
			gp->start[nr] = start;
			gp->end[nr] = end;
			maps[nr] = (struct plt_map){.start = start, .end = end, .off = off};
			nr++;
		}
	}
	fclose(f);
	read_growth_plt(pid, maps, nr, gp);
	return 0;
}

int attach_process(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                   char *err, size_t errlen)
{
	struct agentleak_bpf *s = a->skel;
	struct al_growth_proc gp;
	__u32 key = pid;
	__u64 zero = 0;
	__u8 one = 1;

	*nprobes = 0;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.targets), &key, &one, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.requests), &key, &zero, BPF_ANY)) {
		snprintf(err, errlen, "too many targets");
		return -1;
	}
	if (!a->growth)
		return attach_allocator(a, pid, al, nprobes, err, errlen);
	if (read_growth_proc(pid, &gp, err, errlen))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.growth_procs), &key, &gp, BPF_ANY)) {
		snprintf(err, errlen, "too many targets");
		return -1;
	}
	if (a->verbose)
		fprintf(stderr,
		        "agentleak: pid %d: growth tier, executable text %llx-%llx, plt %llx-%llx, "
		        "brk %llx\n",
		        pid, (unsigned long long)gp.start[0], (unsigned long long)gp.end[0],
		        (unsigned long long)gp.plt_start[0], (unsigned long long)gp.plt_end[0],
		        (unsigned long long)gp.brk);
	return 0;
}

int attach_allocator(struct attacher *a, int pid, const struct al_allocator *al, int *nprobes,
                     char *err, size_t errlen)
{
	struct agentleak_bpf *s = a->skel;
	int i, n = 0, pass;

	/* pass 0: free; 1: return probes; 2: entries */
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < al->nsites; i++) {
			const struct al_site *site = &al->sites[i];
			bool is_free = site->kind == AL_FREE;
			int r;

			if (is_free != (pass == 0) || (!is_free && seen_before(al, i)))
				continue;
			if (pass == 0)
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
			if (a->verbose)
				fprintf(stderr, "agentleak: pid %d: %s %s at +0x%llx (%s, %s)\n",
				        pid, pass == 1 ? "uretprobe" : "uprobe", site->name,
				        (pass == 0 ? site->probe_off : site->file_off) -
				            site->file_off,
				        pass == 0 ? site->insn : "entry",
				        pass == 0 ? (site->emulated ? "emulated" : "single-stepped")
				                  : "shared with return probe");
		}
	}
	*nprobes = n;
	return 0;
}

/* The object as the process sees it, reached through its root (containers). */
static int target_file(int pid, const char *path, char *out, size_t len, char *err, size_t errlen)
{
	if (path[0] != '/') {
		snprintf(err, errlen, "request source path '%s' must be absolute", path);
		return -1;
	}
	snprintf(out, len, "/proc/%d/root%s", pid, path);
	if (access(out, R_OK)) {
		snprintf(err, errlen, "request source: cannot read %s in PID %d: %s", path, pid,
		         strerror(errno));
		return -1;
	}
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
	l = bpf_program__attach_uprobe_opts(a->skel->progs.request_hit, pid, file, 0, &uo);
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
	l = bpf_program__attach_usdt(a->skel->progs.request_usdt, pid, file, provider, name, NULL);
	if (!l) {
		snprintf(err, errlen, "request source: no USDT probe %s:%s in %s (PID %d): %s",
		         provider, name, path, pid, strerror(errno));
		return -1;
	}
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
	if (attach_tracepoint(a, a->skel->progs.sys_exit, err, errlen) ||
	    (a->growth && attach_tracepoint(a, a->skel->progs.page_fault, err, errlen)))
		return -1;
	a->syscalls = true;
	return 0;
}

#define PURGE_BATCH 4096

/* Delete every entry of a hash map that keep() refuses; vsize is the value size. Keys
 * are read in batches (the kernel's own iteration), then deleted in batches. */
static int purge_map(int fd, size_t ksize, size_t vsize, bool (*keep)(const void *k))
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
			if (!keep(keys + i * ksize))
				memcpy(drop + ndrop++ * ksize, keys + i * ksize, ksize);
		/* A batch stops at a key already gone: then one by one. */
		if (ndrop && bpf_map_delete_batch(fd, drop, &ndrop, &opts))
			for (i = 0; i < count; i++)
				if (!keep(keys + i * ksize))
					bpf_map_delete_elem(fd, keys + i * ksize);
		in = next;
	}
out:
	free(keys);
	free(vals);
	free(drop);
	return r;
}

static bool is_page(const void *k)
{
	return ((const struct al_alloc_key *)k)->addr & AL_PAGE_KEY_BIT;
}

static bool keep_none(const void *k)
{
	(void)k;
	return false;
}

/* Give the precise stacks' slots back: no BPF program writes them once the probes
 * are off. Each is unlisted from stack_slots, zeroed and marked not ready (the sampler
 * skips it), then queued in free_slots, where the next new stack takes it. */
static int clear_precise_slots(struct attacher *a)
{
	int fd = bpf_map__fd(a->skel->maps.stats);
	int keys = bpf_map__fd(a->skel->maps.stack_slots);
	int queue = bpf_map__fd(a->skel->maps.free_slots);
	__u32 i, n = a->skel->bss->stats_next;
	struct al_stack_slot slot;

	if (n > bpf_map__max_entries(a->skel->maps.stats))
		n = bpf_map__max_entries(a->skel->maps.stats);
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, &slot))
			return -errno;
		if (!slot.ready || slot.key.kind == AL_FAULT)
			continue;
		bpf_map_delete_elem(keys, &slot.key);
		memset(&slot, 0, sizeof(slot));
		if (bpf_map_update_elem(fd, &i, &slot, BPF_ANY) ||
		    bpf_map_update_elem(queue, NULL, &i, BPF_ANY))
			return -errno;
	}
	return 0;
}

int attach_allocator_off(struct attacher *a, char *err, size_t errlen)
{
	struct agentleak_bpf *s = a->skel;
	int r;

	destroy_links(&a->probes);
	attach_set_mmap_events(a, false);
	r = purge_map(bpf_map__fd(s->maps.allocs), sizeof(struct al_alloc_key),
	              sizeof(struct al_alloc_val), is_page);
	/* A thread inside an allocator call at detach never reaches its return probe:
	 * its state would make the next window's calls look nested in it. */
	if (!r)
		r = purge_map(bpf_map__fd(s->maps.inflight), sizeof(__u32),
		              bpf_map__value_size(s->maps.inflight), keep_none);
	if (!r)
		r = clear_precise_slots(a);
	if (r)
		snprintf(err, errlen, "clearing the precise tier's maps: %s", strerror(-r));
	return r;
}

bool attach_growth(const struct attacher *a)
{
	return a->growth;
}

const volatile __u32 *attach_stats_next(struct attacher *a, __u32 *max)
{
	*max = bpf_map__max_entries(a->skel->maps.stats);
	return &a->skel->bss->stats_next;
}

int attach_map_fd(struct attacher *a, enum attach_map which)
{
	switch (which) {
	case ATTACH_MAP_STATS:
		return bpf_map__fd(a->skel->maps.stats);
	case ATTACH_MAP_STACKS:
		return bpf_map__fd(a->skel->maps.stacks);
	case ATTACH_MAP_COUNTERS:
		return bpf_map__fd(a->skel->maps.counters);
	case ATTACH_MAP_EVENTS:
		return bpf_map__fd(a->skel->maps.events);
	case ATTACH_MAP_REQUESTS:
		return bpf_map__fd(a->skel->maps.requests);
	}
	return -1;
}

void attach_close(struct attacher *a)
{
	if (!a)
		return;
	/* Entries first, free last: the reverse of attach order. */
	destroy_links(&a->probes);
	destroy_links(&a->links);
	agentleak_bpf__destroy(a->skel);
	free(a);
}
