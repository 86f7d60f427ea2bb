// SPDX-License-Identifier: GPL-2.0
/* symbolize.c - resolve code addresses of traced processes to function, line and module.
 *
 * Used by the CLI to print the user stacks that the BPF side collected. Three tables:
 *  - modules: one per distinct ELF object, keyed by the device and inode that
 *    /proc/PID/maps shows, so a libc mapped by many processes is opened once. Each has
 *    its own Dwfl holding the file open, with the object placed at its link-time
 *    addresses; a process's load bias is applied before asking it.
 *  - procs: per pid, a sorted snapshot of the executable mappings, each pointing at its
 *    module with the load bias of that mapping. It outlives the process.
 *  - cache: (process incarnation, address, is_return) -> result, open addressing,
 *    flushed when full. Names point into ELF/DWARF data owned by the modules, which
 *    are only closed by sym_free(), so the pointers stay valid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <zlib.h>

#include "symbols/symbolize.h"
#include "base/procmaps.h"
#include "base/safeio.h"
#include "base/text.h"
#include "base/vec.h"
#include "target/target.h"

#define MOD_BUCKETS     256
#define PROC_BUCKETS    256
#define CACHE_MIN_SLOTS 1024U
#define CACHE_MAX_SLOTS (1U << 17)    /* 64 bytes each: 8 MiB, half of them used at most */
#define MAX_MAPS        16384         /* per process, old mappings kept included */
#define REFRESH_NS      100000000ULL  /* at most one automatic maps refresh per 100 ms */
#define REOPEN_NS       1000000000ULL /* retry a file that could not be opened after 1 s */
#define VDSO_MAX        (1U << 20)
#define DEBUGINFO_PATH  ":.debug:/usr/lib/debug"

/* A PT_LOAD program header, to turn a mapping's file offset into a load bias. */
struct segment {
	unsigned long long offset;
	unsigned long long vaddr;
	unsigned long long filesz;
	bool exec;
};

/* A function symbol; aliases at one address are merged into the best named one. */
struct symbol {
	unsigned long long addr; /* Dwfl address */
	unsigned long long size;
	unsigned long long limit; /* sizeless: end of its section, where it stops counting */
	const char *name;         /* in the ELF string table, lives as long as the Dwfl */
	int rank;
	int cover; /* sized symbol among [0..this] reaching furthest, -1 if none */
};

struct module {
	struct module *next;
	unsigned long long dev; /* makedev() of the maps' major:minor; 0 for [vdso] etc. */
	unsigned long long ino; /* inode; for [vdso]: size << 32 | crc32 of the image */
	char *path;             /* as the target sees it, or "[vdso]", "[vsyscall]"... */
	char *root;             /* "/proc/PID/root" when the process has its own root */
	char *debuginfo_path;
	Dwfl_Callbacks cb;
	Dwfl *dwfl; /* NULL when no ELF could be opened */
	Dwfl_Module *dmod;
	unsigned long long dwfl_bias; /* Dwfl address - ELF vaddr, normally 0 */
	bool not_relocated;           /* ET_EXEC */
	struct segment *segs;
	int nr_segs;
	struct symbol *syms; /* function symbols sorted by address, built on first use */
	int nr_syms;
	bool syms_loaded;
	unsigned long long last_try_ns;
};

struct mapping {
	unsigned long long start;
	unsigned long long end;
	unsigned long long pgoff;
	unsigned long long bias; /* runtime address - ELF vaddr */
	struct module *mod;      /* NULL for anonymous executable memory */
};

struct proc {
	struct proc *next;
	int pid;
	unsigned int gen; /* unique per snapshot incarnation; keys the cache */
	unsigned long long starttime;
	unsigned long long last_refresh_ns;
	struct mapping *maps;
	int nr_maps;
};

struct cache_ent {
	unsigned long long addr;
	unsigned int gen; /* 0: free slot */
	int is_ret;
	const struct module *mod;
	const char *func;
	const char *file;
	unsigned long long off;
	unsigned long long module_off;
	int line;
};

struct symbolizer {
	struct module *mods[MOD_BUCKETS];
	struct proc *procs[PROC_BUCKETS];
	unsigned int nr_opened;
	unsigned int last_gen;
	struct cache_ent *cache;
	unsigned int cache_slots;
	unsigned int cache_used;
	unsigned long long page_mask;
};

/* Growable array of mappings used while reading /proc/PID/maps. */
struct map_vec {
	struct mapping *v;
	int nr;
	int cap;
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return;
	}
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static bool proc_alive(int pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* ---- modules ---- */

static unsigned int mod_bucket(unsigned long long dev, unsigned long long ino)
{
	return mix64(dev * 31 + ino) % MOD_BUCKETS;
}

/* Files match on device and inode; pseudo objects ("[vdso]") on name too. */
static struct module *mod_find(struct symbolizer *s, unsigned long long dev, unsigned long long ino,
                               const char *pseudo_name)
{
	struct module *m;

	for (m = s->mods[mod_bucket(dev, ino)]; m; m = m->next) {
		if (m->dev != dev || m->ino != ino)
			continue;
		if (pseudo_name && strcmp(m->path, pseudo_name))
			continue;
		return m;
	}
	return NULL;
}

static struct module *mod_new(struct symbolizer *s, unsigned long long dev, unsigned long long ino,
                              const char *path)
{
	unsigned int b = mod_bucket(dev, ino);
	struct module *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->path = strdup(path);
	if (!m->path) {
		free(m);
		return NULL;
	}
	m->dev = dev;
	m->ino = ino;
	m->next = s->mods[b];
	s->mods[b] = m;
	return m;
}

static void mod_detach(struct module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->dmod = NULL;
	free(m->syms);
	m->syms = NULL;
	m->nr_syms = 0;
	m->syms_loaded = false;
	free(m->segs);
	m->segs = NULL;
	m->nr_segs = 0;
}

static void mod_free(struct module *m)
{
	mod_detach(m);
	free(m->debuginfo_path);
	free(m->root);
	free(m->path);
	free(m);
}

/* Standard lookup (build-id, then .gnu_debuglink next to the file and under the
 * debuginfo path), retried with the file as seen through the process's root. */
/* Is a debug link candidate of file (its directory, its .debug/) a special file? */
static bool debuglink_special(const char *file, const char *link)
{
	char path[PATH_MAX];
	const char *slash;
	int dir;

	if (!file || !link || !*link || strchr(link, '/'))
		return link && strchr(link, '/'); /* a link with a '/' is not a name */
	slash = strrchr(file, '/');
	dir = slash ? (int)(slash - file) : 0;
	snprintf(path, sizeof(path), "%.*s/%s", dir, file, link);
	if (safeio_special(path))
		return true;
	snprintf(path, sizeof(path), "%.*s/.debug/%s", dir, file, link);
	return safeio_special(path);
}

static int find_debuginfo(Dwfl_Module *dmod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct module *m = *userdata;
	char path[PATH_MAX];
	int fd;

	/* libdw opens the debug link's candidates itself, with a blocking open(): one
	 * the target made a FIFO would hang us. */
	if (debuglink_special(file_name, debuglink_file) ||
	    (m && m->root &&
	     snprintf(path, sizeof(path), "%s%s", m->root, m->path) < (int)sizeof(path) &&
	     debuglink_special(path, debuglink_file)))
		return -1;
	if (!m || m->path[0] != '/')
		return dwfl_build_id_find_debuginfo(dmod, userdata, modname, base, file_name,
		                                    debuglink_file, debuglink_crc,
		                                    debuginfo_file_name);
	fd = dwfl_standard_find_debuginfo(dmod, userdata, modname, base, file_name, debuglink_file,
	                                  debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !m->root)
		return fd;
	if (snprintf(path, sizeof(path), "%s%s", m->root, m->path) >= (int)sizeof(path))
		return fd;
	return dwfl_standard_find_debuginfo(dmod, userdata, modname, base, path, debuglink_file,
	                                    debuglink_crc, debuginfo_file_name);
}

/* Remember whether pid has a root of its own (a container), for debug file lookups. */
static void mod_set_root(struct module *m, int pid)
{
	char root[64], *dpath;
	struct stat st_root, st_host;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	if (stat(root, &st_root) || stat("/", &st_host))
		return;
	if (st_root.st_dev == st_host.st_dev && st_root.st_ino == st_host.st_ino)
		return;
	if (asprintf(&dpath, "%s:%s/usr/lib/debug", DEBUGINFO_PATH, root) < 0)
		return;
	free(m->root);
	m->root = strdup(root);
	if (!m->root) {
		free(dpath);
		return;
	}
	free(m->debuginfo_path);
	m->debuginfo_path = dpath;
}

static int mod_load_segments(struct module *m)
{
	GElf_Addr bias;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	size_t i, n;
	Elf *elf;

	elf = dwfl_module_getelf(m->dmod, &bias);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	m->dwfl_bias = bias;
	m->not_relocated = eh.e_type == ET_EXEC;
	m->segs = calloc(n ? n : 1, sizeof(*m->segs));
	if (!m->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		m->segs[m->nr_segs].offset = ph.p_offset;
		m->segs[m->nr_segs].vaddr = ph.p_vaddr;
		m->segs[m->nr_segs].filesz = ph.p_filesz;
		m->segs[m->nr_segs].exec = ph.p_flags & PF_X;
		m->nr_segs++;
	}
	return 0;
}

/* Hand the open ELF file fd over to a new Dwfl for m. fd is consumed. */
static int mod_attach_fd(struct symbolizer *s, struct module *m, int fd)
{
	void **userdata;
	int err;

	if (!m->debuginfo_path) {
		m->debuginfo_path = strdup(DEBUGINFO_PATH);
		if (!m->debuginfo_path) {
			close(fd);
			return -ENOMEM;
		}
	}
	m->cb.find_elf = dwfl_build_id_find_elf;
	m->cb.find_debuginfo = find_debuginfo;
	m->cb.section_address = dwfl_offline_section_address;
	m->cb.debuginfo_path = &m->debuginfo_path;

	m->dwfl = dwfl_begin(&m->cb);
	if (!m->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	/* ET_DYN at base 0 + p_vaddr: Dwfl addresses are the ELF's own vaddrs. */
	m->dmod = dwfl_report_elf(m->dwfl, base_name(m->path), m->path, fd, 0, true);
	if (!m->dmod) {
		close(fd);
		mod_detach(m);
		return -ENOEXEC;
	}
	dwfl_report_end(m->dwfl, NULL, NULL);
	dwfl_module_info(m->dmod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = m;
	err = mod_load_segments(m);
	if (err) {
		mod_detach(m);
		return err;
	}
	s->nr_opened++;
	return 0;
}

/* Open path if it is the regular file with inode ino; -1 otherwise. */
static int open_same_inode(const char *path, unsigned long long ino)
{
	struct stat st;
	int fd;

	fd = safeio_open(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_ino != ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open the mapped file: through the process's root (a file deleted or replaced since
 * has another inode there), else through map_files (needs CAP_SYS_ADMIN), else by
 * its path as we see it (a plain chroot shows host paths in maps). */
static int mod_open_file(struct symbolizer *s, struct module *m, int pid, const struct mapping *mp)
{
	char path[PATH_MAX + 32];
	int fd = -1;

	m->last_try_ns = now_ns();
	if (snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path) < (int)sizeof(path))
		fd = open_same_inode(path, m->ino);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid, mp->start,
		         mp->end);
		fd = safeio_open(path);
	}
	if (fd < 0)
		fd = open_same_inode(m->path, m->ino);
	if (fd < 0)
		return -ENOENT;
	mod_set_root(m, pid);
	return mod_attach_fd(s, m, fd);
}

static int read_vdso(int pid, const struct mapping *mp, unsigned char **image, size_t *size)
{
	unsigned long long len = mp->end - mp->start;
	char path[64];
	ssize_t n;
	int fd;

	if (!len || len > VDSO_MAX || mp->start > (unsigned long long)LLONG_MAX)
		return -EINVAL;
	*image = malloc(len);
	if (!*image)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	n = pread(fd, *image, len, (off_t)mp->start);
	close(fd);
	if (n != (ssize_t)len)
		goto fail;
	*size = len;
	return 0;
fail:
	free(*image);
	*image = NULL;
	return -EIO;
}

/* Give the in-memory image to Dwfl through a memfd, as it wants a file. */
static int mod_attach_image(struct symbolizer *s, struct module *m, const unsigned char *image,
                            size_t size)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	fd = memfd_create("agentleak-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < size) {
		n = write(fd, image + done, size - done);
		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		done += n;
	}
	return mod_attach_fd(s, m, fd);
}

/* The vDSO has no file; key it by its contents (32- and 64-bit ones differ). */
static struct module *vdso_module(struct symbolizer *s, int pid, const struct mapping *mp)
{
	unsigned char *image;
	unsigned long long key;
	struct module *m;
	size_t size;

	if (read_vdso(pid, mp, &image, &size)) {
		m = mod_find(s, 0, 0, "[vdso]");
		return m ? m : mod_new(s, 0, 0, "[vdso]");
	}
	key = (unsigned long long)size << 32 | crc32(0L, image, size);
	m = mod_find(s, 0, key, "[vdso]");
	if (!m) {
		m = mod_new(s, 0, key, "[vdso]");
		if (m)
			mod_attach_image(s, m, image, size);
	}
	free(image);
	return m;
}

static struct module *file_module(struct symbolizer *s, int pid, const struct mapping *mp,
                                  unsigned long long dev, unsigned long long ino, const char *path)
{
	struct module *m;

	m = mod_find(s, dev, ino, NULL);
	if (!m) {
		m = mod_new(s, dev, ino, path);
		if (m)
			mod_open_file(s, m, pid, mp);
	} else if (!m->dwfl && now_ns() - m->last_try_ns >= REOPEN_NS) {
		mod_open_file(s, m, pid, mp);
	}
	return m;
}

static struct module *pseudo_module(struct symbolizer *s, const char *name)
{
	struct module *m = mod_find(s, 0, 0, name);

	return m ? m : mod_new(s, 0, 0, name);
}

/* ---- mappings ---- */

/* Load bias of a mapping: the PT_LOAD holding its file offset places file offset
 * p_offset at vaddr p_vaddr; the mapping places file offset pgoff at start. */
static unsigned long long map_bias(const struct symbolizer *s, const struct module *m,
                                   unsigned long long start, unsigned long long pgoff)
{
	const struct segment *best = NULL, *seg;
	int i;

	if (m->not_relocated)
		return 0;
	for (i = 0; i < m->nr_segs; i++) {
		seg = &m->segs[i];
		if (pgoff < (seg->offset & ~s->page_mask) || pgoff >= seg->offset + seg->filesz)
			continue;
		if (!best || (seg->exec && !best->exec))
			best = seg;
	}
	if (!best)
		return start - pgoff; /* assume vaddr == file offset */
	return start - pgoff + best->offset - best->vaddr;
}

/* Index of the mapping containing addr (or of the first one after it). */
static int map_search(const struct mapping *v, int nr, unsigned long long addr)
{
	int lo = 0, hi = nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct mapping *map_find(const struct proc *p, unsigned long long addr)
{
	int i = map_search(p->maps, p->nr_maps, addr);

	if (i < p->nr_maps && p->maps[i].start <= addr)
		return &p->maps[i];
	return NULL;
}

static int map_push(struct map_vec *vec, const struct mapping *mp)
{
	if (VEC_GROW(vec->v, vec->cap, vec->nr + 1))
		return -ENOMEM;
	vec->v[vec->nr++] = *mp;
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static bool same_object(const struct module *m, unsigned long long dev, unsigned long long ino,
                        const char *path)
{
	if (!m)
		return !*path;
	if (path[0] == '/')
		return m->dev == dev && m->ino == ino;
	return !strcmp(m->path, path);
}

/* Fill mp for one executable line of /proc/PID/maps, reusing what the previous
 * snapshot knew about the same mapping. */
static void map_init(struct symbolizer *s, const struct proc *p, struct mapping *mp,
                     unsigned long long dev, unsigned long long ino, const char *path)
{
	const struct mapping *old = map_find(p, mp->start);

	if (old && old->start == mp->start && old->end == mp->end && old->pgoff == mp->pgoff &&
	    same_object(old->mod, dev, ino, path)) {
		mp->mod = old->mod;
		mp->bias = old->bias;
		if (!mp->mod || mp->mod->dwfl || path[0] != '/' ||
		    now_ns() - mp->mod->last_try_ns < REOPEN_NS)
			return;
	}
	if (!*path)
		mp->mod = NULL;
	else if (path[0] == '/')
		mp->mod = file_module(s, p->pid, mp, dev, ino, path);
	else if (!strcmp(path, "[vdso]"))
		mp->mod = vdso_module(s, p->pid, mp);
	else
		mp->mod = pseudo_module(s, path);
	mp->bias = mp->mod ? map_bias(s, mp->mod, mp->start, mp->pgoff) : 0;
}

/* What read_maps() fills. */
struct maps_ctx {
	struct symbolizer *s;
	const struct proc *p;
	struct map_vec *vec;
};

/* An executable mapping of /proc/PID/maps (procmaps_fn), into the new snapshot. */
static int map_add(struct procmaps_entry *e, void *arg)
{
	struct maps_ctx *c = arg;
	struct mapping mp = {.start = e->start, .end = e->end, .pgoff = e->offset};
	char *path = e->path;
	size_t len = e->pathlen;

	if (!procmaps_exec(e) || mp.end <= mp.start)
		return 0;
	while (len && path[len - 1] == ' ')
		path[--len] = '\0';
	if (path[0] == '/')
		procmaps_strip_deleted(path);
	map_init(c->s, c->p, &mp, makedev(e->major, e->minor), e->inode, path);
	return map_push(c->vec, &mp);
}

static int read_maps(struct symbolizer *s, const struct proc *p, struct map_vec *vec)
{
	struct maps_ctx c = {.s = s, .p = p, .vec = vec};

	return procmaps_read(p->pid, map_add, &c);
}

/* Keep old mappings that nothing new overlaps (a library dlclose'd since, or a
 * process that exited: zombies show no maps), so older stacks still resolve.
 * Returns true when an old mapping was replaced by a different one. */
static bool merge_old_maps(const struct proc *p, struct map_vec *vec)
{
	int fresh = vec->nr, i, j;
	bool changed = false;

	for (i = 0; i < p->nr_maps; i++) {
		const struct mapping *o = &p->maps[i];

		j = map_search(vec->v, fresh, o->start);
		if (j < fresh && vec->v[j].start < o->end) {
			const struct mapping *n = &vec->v[j];

			if (n->start != o->start || n->end != o->end || n->pgoff != o->pgoff ||
			    n->mod != o->mod || n->bias != o->bias)
				changed = true;
			continue;
		}
		if (vec->nr >= MAX_MAPS || map_push(vec, o)) {
			changed = true;
			break;
		}
	}
	if (vec->nr > fresh)
		qsort(vec->v, vec->nr, sizeof(*vec->v), map_cmp);
	return changed;
}

/* ---- processes ---- */

static int read_starttime(int pid, unsigned long long *starttime)
{
	struct target_stat st;
	char path[64], buf[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = safeio_read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return -ESRCH; /* gone */
	if (target_parse_stat(buf, (size_t)n, &st))
		return -EINVAL;
	*starttime = st.start_time;
	return 0;
}

static unsigned int proc_bucket(int pid)
{
	return (unsigned int)pid % PROC_BUCKETS;
}

static struct proc *proc_find(struct symbolizer *s, int pid)
{
	struct proc *p;

	for (p = s->procs[proc_bucket(pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static unsigned int new_gen(struct symbolizer *s)
{
	if (++s->last_gen == 0)
		++s->last_gen;
	return s->last_gen;
}

static struct proc *proc_new(struct symbolizer *s, int pid)
{
	unsigned int b = proc_bucket(pid);
	struct proc *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->gen = new_gen(s);
	p->next = s->procs[b];
	s->procs[b] = p;
	return p;
}

static void proc_remove(struct symbolizer *s, struct proc *p)
{
	struct proc **pp;

	for (pp = &s->procs[proc_bucket(p->pid)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p->maps);
	free(p);
}

static int proc_refresh(struct symbolizer *s, struct proc *p)
{
	struct map_vec vec = {0};
	unsigned long long starttime;
	int err;

	p->last_refresh_ns = now_ns();
	err = read_starttime(p->pid, &starttime);
	if (err)
		return err;
	if (p->starttime && p->starttime != starttime) {
		/* pid reused by another process: the old snapshot is worthless */
		free(p->maps);
		p->maps = NULL;
		p->nr_maps = 0;
		p->gen = new_gen(s);
	}
	p->starttime = starttime;
	err = read_maps(s, p, &vec);
	if (err) {
		free(vec.v);
		return err;
	}
	if (merge_old_maps(p, &vec))
		p->gen = new_gen(s);
	free(p->maps);
	p->maps = vec.v;
	p->nr_maps = vec.nr;
	return 0;
}

/* ---- result cache ---- */

static unsigned int cache_slot(const struct symbolizer *s, unsigned int gen,
                               unsigned long long addr, int is_ret)
{
	return mix64(addr ^ mix64((uint64_t)gen << 1 | (is_ret ? 1 : 0))) & (s->cache_slots - 1);
}

static const struct cache_ent *cache_lookup(const struct symbolizer *s, unsigned int gen,
                                            unsigned long long addr, int is_ret)
{
	unsigned int i;

	if (!s->cache)
		return NULL;
	for (i = cache_slot(s, gen, addr, is_ret); s->cache[i].gen;
	     i = (i + 1) & (s->cache_slots - 1)) {
		const struct cache_ent *e = &s->cache[i];

		if (e->gen == gen && e->addr == addr && e->is_ret == is_ret)
			return e;
	}
	return NULL;
}

static void cache_put(struct symbolizer *s, const struct cache_ent *e)
{
	unsigned int i = cache_slot(s, e->gen, e->addr, e->is_ret);

	while (s->cache[i].gen)
		i = (i + 1) & (s->cache_slots - 1);
	s->cache[i] = *e;
	s->cache_used++;
}

/* Double the table, or empty it once it reached CACHE_MAX_SLOTS. */
static void cache_make_room(struct symbolizer *s)
{
	struct cache_ent *old = s->cache, *tab;
	unsigned int old_slots = s->cache_slots, slots, i;

	slots = old_slots ? old_slots * 2 : CACHE_MIN_SLOTS;
	if (slots > CACHE_MAX_SLOTS || !(tab = calloc(slots, sizeof(*tab)))) {
		if (old)
			memset(old, 0, old_slots * sizeof(*old));
		s->cache_used = 0;
		return;
	}
	s->cache = tab;
	s->cache_slots = slots;
	s->cache_used = 0;
	for (i = 0; i < old_slots; i++)
		if (old[i].gen)
			cache_put(s, &old[i]);
	free(old);
}

static void cache_insert(struct symbolizer *s, const struct cache_ent *e)
{
	if ((s->cache_used + 1) * 2 > s->cache_slots)
		cache_make_room(s);
	if (s->cache)
		cache_put(s, e);
}

/* ---- symbols ---- */

/* Which of several names for one address to show: "malloc" rather than
 * "__libc_malloc" or "malloc@@GLIBC_2.2.5", global rather than local. */
static int sym_rank(const char *name, const GElf_Sym *sym)
{
	int underscores = strspn(name, "_"), rank = 0;

	rank += (3 - (underscores < 3 ? underscores : 3)) * 64;
	rank += strchr(name, '@') ? 0 : 16;
	if (GELF_ST_BIND(sym->st_info) == STB_GLOBAL)
		rank += 8;
	else if (GELF_ST_BIND(sym->st_info) == STB_WEAK)
		rank += 4;
	if (GELF_ST_TYPE(sym->st_info) != STT_NOTYPE)
		rank += 2;
	return rank;
}

static bool is_code_symbol(const char *name, const GElf_Sym *sym, GElf_Word shndx)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (!name || !*name || name[0] == '$') /* ARM/RISC-V mapping symbols */
		return false;
	if (shndx == SHN_UNDEF || shndx == SHN_ABS || shndx == SHN_COMMON)
		return false;
	return type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE;
}

/* By address; at one address the sized and best ranked first. */
static int symbol_cmp(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return 0;
}

/* End of the code section holding a sizeless symbol (an assembly label), in Dwfl
 * addresses. */
static unsigned long long section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias,
                                      unsigned long long addr)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;

	scn = elf ? elf_getscn(elf, shndx) : NULL;
	if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_addr + bias > addr)
		return addr + 1;
	if (!(shdr.sh_flags & SHF_EXECINSTR))
		return addr; /* a data label: never a function */
	return shdr.sh_addr + shdr.sh_size + bias;
}

/* Collect code symbols (.symtab of the file or of its debug file, else .dynsym, plus
 * .gnu_debugdata: whatever Dwfl found) into a sorted array, one per address. */
static void load_symbols(struct module *m)
{
	unsigned long long best_end = 0;
	int i, n, nr = 0, best = -1;
	struct symbol *v;

	m->syms_loaded = true;
	n = dwfl_module_getsymtab(m->dmod);
	if (n <= 0)
		return;
	v = calloc(n, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < n; i++) {
		const char *name;
		Dwarf_Addr bias;
		GElf_Addr addr;
		GElf_Word shndx;
		GElf_Sym sym;
		Elf *elf;

		name = dwfl_module_getsym_info(m->dmod, i, &sym, &addr, &shndx, &elf, &bias);
		if (!is_code_symbol(name, &sym, shndx))
			continue;
		v[nr].addr = addr;
		v[nr].size = sym.st_size;
		if (!sym.st_size)
			v[nr].limit = section_end(elf, shndx, bias, addr);
		v[nr].name = name;
		v[nr].rank = sym_rank(name, &sym);
		nr++;
	}
	qsort(v, nr, sizeof(*v), symbol_cmp);
	for (i = 0, n = 0; i < nr; i++) {
		if (n && v[n - 1].addr == v[i].addr)
			continue;
		v[n] = v[i];
		if (v[n].size && v[n].addr + v[n].size > best_end) {
			best_end = v[n].addr + v[n].size;
			best = n;
		}
		v[n].cover = best;
		n++;
	}
	if (!n) {
		free(v);
		return;
	}
	m->syms = v;
	m->nr_syms = n;
}

static bool symbol_has(const struct symbol *sym, unsigned long long addr)
{
	return sym->size && addr - sym->addr < sym->size;
}

/* The symbol whose range holds addr; else the sizeless label (assembly) right before
 * addr if it is in the same section. Dwfl would also take an older label across an
 * unrelated sized symbol: such an answer would be wrong more often than right. */
static const struct symbol *find_symbol(struct module *m, unsigned long long addr)
{
	const struct symbol *sym;
	int lo = 0, hi, mid;

	if (!m->syms_loaded)
		load_symbols(m);
	hi = m->nr_syms;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	sym = &m->syms[lo - 1];
	if (symbol_has(sym, addr))
		return sym;
	if (sym->cover >= 0 && symbol_has(&m->syms[sym->cover], addr))
		return &m->syms[sym->cover];
	return !sym->size && addr < sym->limit ? sym : NULL;
}

/* ---- resolving ---- */

static void lookup_in_module(const struct mapping *mp, unsigned long long addr, int is_ret,
                             struct cache_ent *e)
{
	struct module *m = mp->mod;
	const struct symbol *sym;
	unsigned long long look;
	Dwfl_Line *line;
	const char *file;
	int lineno = 0;

	e->mod = m;
	e->module_off = addr - mp->start + mp->pgoff;
	if (!m->dmod)
		return;
	look = addr - mp->bias + m->dwfl_bias;
	if (is_ret)
		look--; /* the call instruction, which may be the last of its function */
	sym = find_symbol(m, look);
	if (sym) {
		e->func = sym->name;
		e->off = look - sym->addr + (is_ret ? 1 : 0);
	}
	line = dwfl_module_getsrc(m->dmod, look);
	if (line) {
		file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (file && *file && lineno > 0) {
			e->file = file;
			e->line = lineno;
		}
	}
}

/* Symbol names without their version ("malloc@@GLIBC_2.2.5" -> "malloc"). */
static void copy_func_name(char *dst, size_t size, const char *name)
{
	size_t n;

	if (!name) {
		dst[0] = '\0';
		return;
	}
	n = strcspn(name, "@");
	if (n >= size)
		n = size - 1;
	memcpy(dst, name, n);
	dst[n] = '\0';
}

static void fill_frame(struct sym_frame *out, const struct cache_ent *e)
{
	copy_func_name(out->func, sizeof(out->func), e->func);
	out->off = e->func ? e->off : 0;
	copy_str(out->file, sizeof(out->file), e->file);
	out->line = e->file ? e->line : 0;
	copy_str(out->module, sizeof(out->module), e->mod ? e->mod->path : NULL);
	out->module_off = e->module_off;
	/* Names from the target's files: printable everywhere (text.h). */
	text_sanitize(out->func, sizeof(out->func));
	text_sanitize(out->file, sizeof(out->file));
	text_sanitize(out->module, sizeof(out->module));
}

/* The process snapshot for pid; taken now if pid is new and alive. */
static struct proc *proc_get(struct symbolizer *s, int pid)
{
	struct proc *p = proc_find(s, pid);

	if (p || !proc_alive(pid))
		return p;
	if (sym_add_process(s, pid))
		return NULL;
	return proc_find(s, pid);
}

int sym_resolve(struct symbolizer *s, int pid, unsigned long long addr, int is_return_addr,
                struct sym_frame *out)
{
	struct cache_ent ent = {0};
	const struct cache_ent *hit;
	const struct mapping *mp;
	struct proc *p;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || pid <= 0)
		return -EINVAL;
	is_return_addr = is_return_addr ? 1 : 0;
	p = proc_get(s, pid);
	if (!p)
		return -ENOENT;
	hit = cache_lookup(s, p->gen, addr, is_return_addr);
	if (hit) {
		fill_frame(out, hit);
		return 0;
	}
	mp = map_find(p, addr);
	if (!mp && now_ns() - p->last_refresh_ns >= REFRESH_NS && proc_alive(pid)) {
		proc_refresh(s, p);
		mp = map_find(p, addr);
	}
	if (!mp || !mp->mod)
		return -ENOENT;
	ent.addr = addr;
	ent.gen = p->gen;
	ent.is_ret = is_return_addr;
	lookup_in_module(mp, addr, is_return_addr, &ent);
	cache_insert(s, &ent);
	fill_frame(out, &ent);
	return 0;
}

int sym_format(const struct sym_frame *f, char *buf, size_t len)
{
	if (!f || !f->module[0])
		return snprintf(buf, len, "[unknown]");
	if (!f->func[0])
		return snprintf(buf, len, "[%s+0x%llx]", base_name(f->module), f->module_off);
	if (f->file[0] && f->line > 0)
		return snprintf(buf, len, "%s+0x%llx (%s:%d)", f->func, f->off, f->file, f->line);
	return snprintf(buf, len, "%s+0x%llx (%s)", f->func, f->off, base_name(f->module));
}

/* ---- public setup ---- */

struct symbolizer *sym_new(void)
{
	struct symbolizer *s;
	long page = sysconf(_SC_PAGESIZE);

	elf_version(EV_CURRENT);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->page_mask = (page > 0 ? (unsigned long long)page : 4096ULL) - 1;
	return s;
}

void sym_free(struct symbolizer *s)
{
	struct module *m, *mnext;
	struct proc *p, *pnext;
	int i;

	if (!s)
		return;
	for (i = 0; i < PROC_BUCKETS; i++) {
		for (p = s->procs[i]; p; p = pnext) {
			pnext = p->next;
			free(p->maps);
			free(p);
		}
	}
	for (i = 0; i < MOD_BUCKETS; i++) {
		for (m = s->mods[i]; m; m = mnext) {
			mnext = m->next;
			mod_free(m);
		}
	}
	free(s->cache);
	free(s);
}

int sym_add_process(struct symbolizer *s, int pid)
{
	struct proc *p;
	bool created = false;
	int err;

	if (!s || pid <= 0)
		return -EINVAL;
	p = proc_find(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		created = true;
	}
	err = proc_refresh(s, p);
	if (err && created)
		proc_remove(s, p);
	return err;
}

void sym_forget_process(struct symbolizer *s, int pid)
{
	struct proc *p;

	if (!s)
		return;
	p = proc_find(s, pid);
	if (p)
		proc_remove(s, p); /* its cache entries keep a gen nobody will ask for */
}

unsigned int sym_nr_modules(const struct symbolizer *s)
{
	return s ? s->nr_opened : 0;
}
