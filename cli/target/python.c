// SPDX-License-Identifier: GPL-2.0
/* python.c - find CPython in a process and the layout a Python stack walk needs
 * (see python.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/errbuf.h"
#include "base/procmaps.h"
#include "base/safeio.h"
#include "base/vmread.h"
#include "target/python.h"

#define N AL_PY_NONE

/* From the DWARF of 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (x86-64, release builds with the
 * GIL); patch releases keep them (Debian's 3.11.2 reads as 3.11.7). */
static const struct al_py_layout layouts[] = {
    {0x030a, 32, 8, 16, 8, 176, 24, N, 32, 24, 96, N, N, 104, 112, N, 40, 120, 48, 72},
    {0x030b, 40, 16, 40, 8, 152, 56, 8, 32, 48, 56, 69, 184, 112, 120, 128, 72, 136, 48, 72},
    {0x030c, 40, 72, 96, 8, 136, 56, 0, 0, 8, 56, 70, 192, 112, 120, 128, 68, 136, 40, 56},
    {0x030d, 632, 7344, 7376, 8, 152, 72, N, 0, 8, 56, 70, 200, 112, 120, 128, 68, 136, 40, 56},
};

const struct al_py_layout *python_layout(unsigned int major, unsigned int minor)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].version == (major << 8 | minor))
			return &layouts[i];
	return NULL;
}

static uint64_t u64_at(const unsigned char *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* One _Py_DebugOffsets field into a layout field: it must fit. */
static bool take(const unsigned char *buf, size_t off, __u16 *field)
{
	uint64_t v = u64_at(buf, off);

	if (v >= N)
		return false;
	*field = (__u16)v;
	return true;
}

int python_debug_offsets(const unsigned char *buf, size_t len, struct al_py_layout *out)
{
	const struct al_py_layout *base = python_layout(3, 13);
	uint64_t version;
	bool ok = true;

	if (len < PY_DEBUG_OFFSETS_LEN || memcmp(buf, "xdebugpy", 8))
		return -1;
	version = u64_at(buf, 8);
	/* Later versions reorder the struct after its header; a free-threaded build has
	 * another object header. */
	if ((version >> 16) != 0x030d || u64_at(buf, 16) != 0)
		return -1;
	*out = *base; /* what it does not give: the interpreter's runtime, str sizes */
	ok &= take(buf, 40, &out->interp_head);
	ok &= take(buf, 72, &out->interp_threads);
	ok &= take(buf, 168, &out->tstate_next);
	ok &= take(buf, 184, &out->tstate_frame);
	ok &= take(buf, 192, &out->tstate_thread_id);
	ok &= take(buf, 232, &out->frame_prev);
	ok &= take(buf, 240, &out->frame_code);
	ok &= take(buf, 248, &out->frame_instr);
	ok &= take(buf, 264, &out->frame_owner);
	ok &= take(buf, 280, &out->code_filename);
	ok &= take(buf, 288, &out->code_name);
	ok &= take(buf, 296, &out->code_qualname);
	ok &= take(buf, 304, &out->code_linetable);
	ok &= take(buf, 312, &out->code_firstlineno);
	ok &= take(buf, 344, &out->code_adaptive);
	ok &= take(buf, 560, &out->str_ascii_data);
	return ok ? 0 : -1;
}

const char *python_version_str(unsigned int version, char *buf, size_t len)
{
	if (version & 0xffff)
		snprintf(buf, len, "%u.%u.%u", version >> 24, (version >> 16) & 0xff,
		         (version >> 8) & 0xff);
	else
		snprintf(buf, len, "%u.%u", version >> 24, (version >> 16) & 0xff);
	return buf;
}

/* ---- the object that holds the interpreter ---- */

struct candidate {
	char path[4096];               /* as the target sees it */
	unsigned long long start, end; /* its mapping at file offset 0 */
	unsigned long long hi;         /* the end of its last mapping */
};

struct scan {
	char exe[4096];
	struct candidate c[8];
	int n;
};

/* "python3.11", "libpython3.11.so.1.0", "libpython3.13t.so": 3, 11; 0 when it is none. */
static int name_version(const char *path, unsigned int *major, unsigned int *minor)
{
	const char *b = strrchr(path, '/'), *p;

	b = b ? b + 1 : path;
	p = !strncmp(b, "libpython", 9) ? b + 9 : !strncmp(b, "python", 6) ? b + 6 : NULL;
	if (!p || sscanf(p, "%u.%u", major, minor) != 2)
		return 0;
	return 1;
}

static int add_candidate(struct procmaps_entry *e, void *arg)
{
	struct scan *s = arg;
	unsigned int major, minor;
	int i;

	if (!e->inode)
		return 0;
	procmaps_strip_deleted(e->path);
	/* The object's other mappings follow its first: they extend its range. */
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].path, e->path) && e->end > s->c[i].hi)
			s->c[i].hi = e->end;
	if (e->offset || s->n == (int)(sizeof(s->c) / sizeof(s->c[0])))
		return 0;
	if (strcmp(e->path, s->exe) && !name_version(e->path, &major, &minor))
		return 0;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].path, e->path))
			return 0;
	snprintf(s->c[s->n].path, sizeof(s->c[0].path), "%s", e->path);
	s->c[s->n].start = e->start;
	s->c[s->n].end = e->end;
	s->c[s->n].hi = e->end;
	s->n++;
	return 0;
}

/* The bytes at virtual address vaddr of the file, through its PT_LOAD segments. */
static int read_vaddr(Elf *elf, int fd, GElf_Addr vaddr, void *buf, size_t len)
{
	GElf_Phdr ph;
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr + len > ph.p_filesz)
			continue;
		return pread(fd, buf, len, ph.p_offset + (vaddr - ph.p_vaddr)) == (ssize_t)len ? 0
		                                                                               : -1;
	}
	return -1;
}

/* The lowest PT_LOAD address, page aligned: what the mapping at file offset 0 holds. */
static int first_load(Elf *elf, GElf_Addr *vaddr)
{
	GElf_Phdr ph;
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && !ph.p_offset) {
			*vaddr = ph.p_vaddr & ~(GElf_Addr)0xfff;
			return 0;
		}
	return -1;
}

struct dynsyms {
	GElf_Sym runtime, version, code_type, none, type_type;
	bool has_runtime, has_version, has_code_type, has_none, has_type_type;
};

static void find_dynsyms(Elf *elf, struct dynsyms *d)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *data;
	GElf_Sym sym;
	size_t i, n;

	memset(d, 0, sizeof(*d));
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			break;
	if (!scn || !(data = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return;
	n = sh.sh_size / sh.sh_entsize;
	for (i = 1; i < n; i++) {
		const char *name;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name)
			continue;
		if (!strcmp(name, "_PyRuntime"))
			d->runtime = sym, d->has_runtime = true;
		else if (!strcmp(name, "Py_Version"))
			d->version = sym, d->has_version = true;
		else if (!strcmp(name, "PyCode_Type"))
			d->code_type = sym, d->has_code_type = true;
		else if (!strcmp(name, "_Py_NoneStruct"))
			d->none = sym, d->has_none = true;
		else if (!strcmp(name, "PyType_Type"))
			d->type_type = sym, d->has_type_type = true;
	}
}

/* Is candidate c the interpreter? 1 with py filled, 0 when it is not, -1 with err when
 * it is but cannot be used. */
static int try_candidate(int pid, const struct candidate *c, struct py_interp *py, char *err,
                         size_t errlen)
{
	unsigned char dbg[PY_DEBUG_OFFSETS_LEN];
	const struct al_py_layout *l;
	unsigned int major, minor;
	struct dynsyms d;
	char file[128], v[32];
	GElf_Addr low;
	uint64_t hex;
	Elf *elf;
	int fd, r = 0;

	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", pid, c->start, c->end);
	fd = safeio_open(file);
	if (fd < 0)
		return 0;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64)
		goto out;
	find_dynsyms(elf, &d);
	if (!d.has_runtime || !d.has_code_type || first_load(elf, &low))
		goto out;
	memset(py, 0, sizeof(*py));
	snprintf(py->path, sizeof(py->path), "%s", c->path);
	py->base = c->start - low;
	py->lo = c->start;
	py->hi = c->hi;
	py->runtime = py->base + d.runtime.st_value;
	py->code_type = py->base + d.code_type.st_value;
	py->none = d.has_none ? py->base + d.none.st_value : 0;
	py->type_type = d.has_type_type ? py->base + d.type_type.st_value : 0;
	if (d.has_version && !read_vaddr(elf, fd, d.version.st_value, &hex, sizeof(hex)))
		py->version = (unsigned int)hex;
	else if (name_version(c->path, &major, &minor))
		py->version = major << 24 | minor << 16;
	major = py->version >> 24;
	minor = (py->version >> 16) & 0xff;
	r = 1;
	if (major == 3 && minor >= 13 && d.runtime.st_size >= sizeof(dbg) &&
	    !read_vaddr(elf, fd, d.runtime.st_value, dbg, sizeof(dbg)) &&
	    !python_debug_offsets(dbg, sizeof(dbg), &py->layout)) {
		py->from_debug_offsets = true;
		goto out;
	}
	l = python_layout(major, minor);
	if (!l) {
		err_set(err, errlen,
		        "%s is CPython %s: Python stacks know 3.10 to 3.13 (native stacks still "
		        "work)",
		        c->path, py->version ? python_version_str(py->version, v, sizeof(v)) : "?");
		r = -1;
		goto out;
	}
	py->layout = *l;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}

int python_find(int pid, struct py_interp *py, char *err, size_t errlen)
{
	struct scan *s = calloc(1, sizeof(*s));
	char link[64];
	ssize_t n;
	int i, r;

	if (!s) {
		err_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	elf_version(EV_CURRENT);
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, s->exe, sizeof(s->exe) - 1);
	if (n > 0) {
		s->exe[n] = '\0';
		procmaps_strip_deleted(s->exe);
	}
	r = procmaps_read(pid, add_candidate, s);
	if (r < 0) {
		err_set(err, errlen, "cannot read /proc/%d/maps: %s", pid, strerror(-r));
		free(s);
		return r;
	}
	/* The executable first: a static interpreter wins over a libpython it dlopen()ed. */
	for (r = 0, i = 0; i < s->n && !r; i++)
		if (!strcmp(s->c[i].path, s->exe))
			r = try_candidate(pid, &s->c[i], py, err, errlen);
	for (i = 0; i < s->n && !r; i++)
		if (strcmp(s->c[i].path, s->exe))
			r = try_candidate(pid, &s->c[i], py, err, errlen);
	free(s);
	if (r < 0)
		return -ENOTSUP;
	if (!r) {
		err_set(err, errlen, "no CPython interpreter in process %d", pid);
		return -ENOENT;
	}
	return 0;
}

int python_check(int pid, const struct py_interp *py)
{
	unsigned long long interp, back;
	int r;

	r = vm_read(pid, py->runtime + py->layout.interp_head, &interp, sizeof(interp));
	if (r)
		return r;
	if (!interp)
		return -EAGAIN;
	r = vm_read(pid, interp + py->layout.interp_runtime, &back, sizeof(back));
	if (r)
		return r == -EFAULT ? -EINVAL : r;
	return back == py->runtime ? 0 : -EINVAL;
}

bool python_pymalloc(int pid)
{
	char path[64], *env, *v;
	bool pymalloc = true;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	env = safeio_read_file(path, &len);
	if (!env)
		return true;
	v = safeio_env_value(env, len, "PYTHONMALLOC");
	if (v && (!strcmp(v, "malloc") || !strcmp(v, "malloc_debug")))
		pymalloc = false;
	free(env);
	return pymalloc;
}
