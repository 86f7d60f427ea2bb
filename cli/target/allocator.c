// SPDX-License-Identifier: GPL-2.0
/* allocator.c - find the object that really provides malloc in a process, and
 * choose cheap uprobe offsets on its entry points.
 *
 * Part 1 reproduces the dynamic linker's symbol search from outside: the
 * objects mapped by the target (/proc/PID/maps) are ordered as ld.so searches
 * its global scope (executable, LD_PRELOAD, /etc/ld.so.preload, DT_NEEDED
 * breadth first, then anything else with libc last) and the first one whose
 * symbol table defines both malloc and free wins. Files are opened through
 * /proc/PID/root so that targets in containers work.
 *
 * Part 2 moves entry-only probes past a few harmless instructions to the first
 * one the x86 kernel emulates (jmp, jcc, call rel32, nop, push %reg), so that a
 * hit costs one trap instead of a trap plus a single-step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <gelf.h>
#include <libelf.h>
#include <capstone/capstone.h>

#include "target/allocator.h"
#include "base/errbuf.h"
#include "base/procmaps.h"
#include "base/safeio.h"
#include "base/text.h"
#include "base/vec.h"

#define HEAD_INSNS     12
#define MAX_FUNC_BYTES (1 << 20) /* bytes of a function disassembled */
#define NOSIZE_BYTES   64        /* bytes read for a symbol of unknown size */

static const struct {
	enum al_kind kind;
	const char *name;
} funcs[] = {
    {AL_MALLOC, "malloc"},
    {AL_CALLOC, "calloc"},
    {AL_REALLOC, "realloc"},
    {AL_REALLOCARRAY, "reallocarray"},
    {AL_POSIX_MEMALIGN, "posix_memalign"},
    {AL_ALIGNED_ALLOC, "aligned_alloc"},
    {AL_MEMALIGN, "memalign"},
    {AL_VALLOC, "valloc"},
    {AL_PVALLOC, "pvalloc"},
    {AL_FREE, "free"},
};

#define NFUNCS   ((int)(sizeof(funcs) / sizeof(funcs[0])))
#define F_MALLOC 0
#define F_FREE   (NFUNCS - 1)

const char *allocator_kind_name(enum al_kind kind)
{
	int i;

	for (i = 0; i < NFUNCS; i++)
		if (funcs[i].kind == kind)
			return funcs[i].name;
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* ------------------------------------------------------------------------
 * Part 2: probe placement. Works on bytes only; file offsets are used as
 * addresses, so branch targets computed by capstone are file offsets too.
 */

/* Skip legacy prefixes and REX; tell which were seen. */
static size_t skip_prefixes(const uint8_t *b, size_t n, int *has66, int *hasrep, int *rex)
{
	size_t i = 0;

	*has66 = *hasrep = *rex = 0;
	for (; i < n; i++) {
		if (b[i] == 0x66)
			*has66 = 1;
		else if (b[i] == 0xf3 || b[i] == 0xf2)
			*hasrep = 1;
		else if (b[i] != 0x67 && b[i] != 0xf0 && b[i] != 0x2e && b[i] != 0x36 &&
		         b[i] != 0x3e && b[i] != 0x26 && b[i] != 0x64 && b[i] != 0x65)
			break;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		*rex = b[i++];
	return i;
}

/* Would the x86-64 kernel emulate this instruction instead of single-stepping
 * it? Mirrors branch_setup_xol_ops() and push_setup_xol_ops() of
 * arch/x86/kernel/uprobes.c; answers "no" when unsure. */
static int insn_emulated(const uint8_t *b, size_t n)
{
	int has66, hasrep, rex;
	size_t i = skip_prefixes(b, n, &has66, &hasrep, &rex);
	uint8_t op;

	if (i >= n)
		return 0;
	op = b[i];
	/* nop; but f3 90 is pause and 41 90 is xchg %eax,%r8d */
	if (op == 0x90)
		return !hasrep && !(rex & 1);
	/* nopl: 0f 1f /0 */
	if (op == 0x0f && i + 2 < n && b[i + 1] == 0x1f)
		return ((b[i + 2] >> 3) & 7) == 0;
	/* push %reg: 50+r alone or with REX 41, no other prefix */
	if (op >= 0x50 && op <= 0x57)
		return n == 1 || (n == 2 && b[0] == 0x41);
	/* branches, not with the operand-size prefix */
	if (has66)
		return 0;
	if (op == 0xeb || op == 0xe9 || op == 0xe8)
		return 1;
	if (op >= 0x70 && op <= 0x7f)
		return 1;
	if (op == 0x0f && i + 1 < n && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f)
		return 1;
	return 0;
}

static int reg_is_rdi(uint16_t r)
{
	return r == X86_REG_RDI || r == X86_REG_EDI || r == X86_REG_DI || r == X86_REG_DIL;
}

/* The registers a probe of this kind reads: free only needs its pointer (rdi);
 * the others may read up to three arguments (rdi, rsi, rdx) - rcx is kept too. */
static int reg_is_arg(enum al_kind kind, uint16_t r)
{
	if (reg_is_rdi(r))
		return 1;
	if (kind == AL_FREE)
		return 0;
	switch (r) {
	case X86_REG_RSI:
	case X86_REG_ESI:
	case X86_REG_SI:
	case X86_REG_SIL:
	case X86_REG_RDX:
	case X86_REG_EDX:
	case X86_REG_DX:
	case X86_REG_DL:
	case X86_REG_DH:
	case X86_REG_RCX:
	case X86_REG_ECX:
	case X86_REG_CX:
	case X86_REG_CL:
	case X86_REG_CH:
		return 1;
	}
	return 0;
}

static int reg_is_sp(uint16_t r)
{
	return r == X86_REG_RSP || r == X86_REG_ESP || r == X86_REG_SP || r == X86_REG_SPL;
}

/* Instructions with effects capstone may not list, or that we never want
 * to step over: implicit writers of rdx/rcx/rdi/rsi, stack frame changes,
 * string operations, traps, transactions. */
static int insn_denied(unsigned int id)
{
	switch (id) {
	case X86_INS_MUL:
	case X86_INS_DIV:
	case X86_INS_IDIV:
	case X86_INS_MULX:
	case X86_INS_CQO:
	case X86_INS_CDQ:
	case X86_INS_CWD:
	case X86_INS_CPUID:
	case X86_INS_RDTSC:
	case X86_INS_RDTSCP:
	case X86_INS_RDMSR:
	case X86_INS_XGETBV:
	case X86_INS_CMPXCHG8B:
	case X86_INS_CMPXCHG16B:
	case X86_INS_ENTER:
	case X86_INS_LEAVE:
	case X86_INS_POP:
	case X86_INS_POPF:
	case X86_INS_POPFD:
	case X86_INS_POPFQ:
	case X86_INS_PUSHF:
	case X86_INS_PUSHFD:
	case X86_INS_PUSHFQ:
	case X86_INS_MOVSB:
	case X86_INS_MOVSW:
	case X86_INS_MOVSD:
	case X86_INS_MOVSQ:
	case X86_INS_STOSB:
	case X86_INS_STOSW:
	case X86_INS_STOSD:
	case X86_INS_STOSQ:
	case X86_INS_LODSB:
	case X86_INS_LODSW:
	case X86_INS_LODSD:
	case X86_INS_LODSQ:
	case X86_INS_SCASB:
	case X86_INS_SCASW:
	case X86_INS_SCASD:
	case X86_INS_SCASQ:
	case X86_INS_CMPSB:
	case X86_INS_CMPSW:
	case X86_INS_CMPSD:
	case X86_INS_CMPSQ:
	case X86_INS_INSB:
	case X86_INS_INSW:
	case X86_INS_INSD:
	case X86_INS_OUTSB:
	case X86_INS_OUTSW:
	case X86_INS_OUTSD:
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_INT:
	case X86_INS_INT1:
	case X86_INS_INT3:
	case X86_INS_INTO:
	case X86_INS_HLT:
	case X86_INS_UD0:
	case X86_INS_UD2:
	case X86_INS_UD2B:
	case X86_INS_XBEGIN:
	case X86_INS_XABORT:
	case X86_INS_XEND:
		return 1;
	}
	return 0;
}

static int insn_changes_flow(csh cs, const cs_insn *in)
{
	return cs_insn_group(cs, in, CS_GRP_JUMP) || cs_insn_group(cs, in, CS_GRP_CALL) ||
	       cs_insn_group(cs, in, CS_GRP_RET) || cs_insn_group(cs, in, CS_GRP_INT) ||
	       cs_insn_group(cs, in, CS_GRP_IRET) || cs_insn_group(cs, in, CS_GRP_PRIVILEGE) ||
	       cs_insn_group(cs, in, CS_GRP_BRANCH_RELATIVE);
}

/* A memory write relative to rip (global state) or rsp (could hit the
 * return address the BPF side reads). Unknown access counts as a write. */
static int insn_bad_mem_write(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;
	int i;

	for (i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM)
			continue;
		if (op->access && !(op->access & CS_AC_WRITE))
			continue;
		if (op->mem.base == X86_REG_RIP || reg_is_sp(op->mem.base))
			return 1;
	}
	return 0;
}

/* May an entry probe be moved past this instruction? On success *push gets
 * the bytes it pushes on the stack (8 for a push, else 0). */
static int insn_passable(csh cs, const cs_insn *in, enum al_kind kind, int *push)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr, i;
	int is_push = in->id == X86_INS_PUSH;

	*push = 0;
	if (insn_denied(in->id) || insn_changes_flow(cs, in) || insn_bad_mem_write(in))
		return 0;
	if (in->id == X86_INS_IMUL && in->detail->x86.op_count == 1)
		return 0; /* one-operand imul writes rdx */
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr))
		return 0;
	for (i = 0; i < nwr; i++) {
		if (reg_is_arg(kind, wr[i]))
			return 0;
		if (reg_is_sp(wr[i]) && !is_push)
			return 0;
	}
	if (is_push) {
		if (in->detail->x86.prefix[2] == 0x66)
			return 0; /* pushw: 2 bytes */
		*push = 8;
	}
	return 1;
}

/* Append src to the string in buf, truncating. */
static void append(char *buf, size_t len, const char *src)
{
	size_t have = strlen(buf), n = strlen(src);

	if (have + 1 >= len)
		return;
	if (n > len - have - 1)
		n = len - have - 1;
	memcpy(buf + have, src, n);
	buf[have + n] = '\0';
}

static void describe_insn(const cs_insn *in, char *buf, size_t len)
{
	buf[0] = '\0';
	append(buf, len, in->mnemonic);
	if (in->op_str[0]) {
		append(buf, len, " ");
		append(buf, len, in->op_str);
	}
}

/* Does a direct jump or call inside code[0, len) land in (lo, hi]? */
static int branch_lands_in(csh cs, const uint8_t *code, size_t len, uint64_t base, uint64_t lo,
                           uint64_t hi)
{
	const uint8_t *p = code;
	size_t n = len;
	uint64_t addr = base;
	cs_insn *in = cs_malloc(cs);
	int found = 0, i;

	if (!in)
		return 1;
	while (n > 0 && !found) {
		if (!cs_disasm_iter(cs, &p, &n, &addr, in)) {
			p++;
			n--;
			addr++;
			continue;
		}
		if (!cs_insn_group(cs, in, CS_GRP_JUMP) && !cs_insn_group(cs, in, CS_GRP_CALL))
			continue;
		for (i = 0; i < in->detail->x86.op_count; i++) {
			const cs_x86_op *op = &in->detail->x86.operands[i];
			uint64_t t = (uint64_t)op->imm;

			if (op->type == X86_OP_IMM && t > lo && t <= hi)
				found = 1;
		}
	}
	cs_free(in, 1);
	return found;
}

/* Walk the first HEAD_INSNS instructions; return the offset (from code) of
 * the first emulated one reachable past passable instructions, or -1. */
static long find_emulated(csh cs, const uint8_t *code, size_t len, uint64_t base, enum al_kind kind,
                          int *sp_adjust, char *text, size_t textlen)
{
	const uint8_t *p = code;
	size_t n = len;
	uint64_t addr = base;
	cs_insn *in = cs_malloc(cs);
	long found = -1;
	int i, push, sp = 0;

	if (!in)
		return -1;
	for (i = 0; i < HEAD_INSNS && n > 0; i++) {
		uint64_t at = addr;

		if (!cs_disasm_iter(cs, &p, &n, &addr, in))
			break;
		if (insn_emulated(in->bytes, in->size)) {
			found = (long)(at - base);
			describe_insn(in, text, textlen);
			*sp_adjust = sp;
			break;
		}
		if (!insn_passable(cs, in, kind, &push))
			break;
		sp += push;
	}
	cs_free(in, 1);
	return found;
}

/* Fill site for a probe at +0: emulated or not, with its text. */
static int place_at_entry(csh cs, const uint8_t *code, size_t len, uint64_t func_off,
                          struct al_site *site)
{
	const uint8_t *p = code;
	size_t n = len;
	uint64_t addr = func_off;
	cs_insn *in = cs_malloc(cs);
	int ok;

	site->file_off = func_off;
	site->probe_off = func_off;
	site->sp_adjust = 0;
	site->emulated = 0;
	snprintf(site->insn, sizeof(site->insn), "(undecodable)");
	if (!in)
		return -ENOMEM;
	ok = cs_disasm_iter(cs, &p, &n, &addr, in);
	if (ok) {
		site->emulated = insn_emulated(in->bytes, in->size);
		describe_insn(in, site->insn, sizeof(site->insn));
	}
	cs_free(in, 1);
	return ok ? 0 : -EINVAL;
}

static int place(csh cs, const uint8_t *code, size_t len, uint64_t func_off, struct al_site *site,
                 int may_move)
{
	char text[sizeof(site->insn)];
	int err, sp = 0;
	long off;

	err = place_at_entry(cs, code, len, func_off, site);
	if (err || site->emulated || !may_move)
		return err;
	off = find_emulated(cs, code, len, func_off, site->kind, &sp, text, sizeof(text));
	if (off <= 0)
		return 0;
	if (branch_lands_in(cs, code, len, func_off, func_off, func_off + off))
		return 0;
	site->probe_off = func_off + off;
	site->sp_adjust = sp;
	site->emulated = 1;
	memcpy(site->insn, text, sizeof(site->insn));
	return 0;
}

static int open_disasm(csh *cs)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		return -EINVAL;
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(*cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

int allocator_place_probe(const unsigned char *code, size_t len, unsigned long long func_off,
                          struct al_site *site)
{
	csh cs;
	int err;

	err = open_disasm(&cs);
	if (err)
		return err;
	err = place(cs, code, len, func_off, site, 1);
	cs_close(&cs);
	return err;
}

/* ------------------------------------------------------------------------
 * Part 1: which object provides malloc.
 */

struct obj {
	char *path;                /* as the target sees it, " (deleted)" removed */
	unsigned long start, end;  /* one executable mapping, for map_files */
	unsigned int major, minor; /* device of the file */
	unsigned long ino;
	int exec;   /* has an executable mapping */
	int queued; /* already in the search order */
	int loaded; /* the fields below are valid */
	int opened; /* the file could be opened */
	int elf_ok; /* ELF64 x86-64 */
	char *soname;
	char **needed;
	int nneeded, capneeded;
};

struct proc {
	int pid;
	struct obj *objs;
	int nobjs, capobjs;
	int exe;    /* index of the executable, or -1 */
	int *order; /* search order: indexes into objs */
	int norder;
};

static void free_obj(struct obj *o)
{
	int i;

	for (i = 0; i < o->nneeded; i++)
		free(o->needed[i]);
	free(o->needed);
	free(o->soname);
	free(o->path);
}

static void free_proc(struct proc *p)
{
	int i;

	for (i = 0; i < p->nobjs; i++)
		free_obj(&p->objs[i]);
	free(p->objs);
	free(p->order);
}

static int find_obj_by_path(struct proc *p, const char *path)
{
	int i;

	for (i = 0; i < p->nobjs; i++)
		if (!strcmp(p->objs[i].path, path))
			return i;
	return -1;
}

/* Record one mapping of /proc/PID/maps (procmaps_fn): a file, once per path. */
static int add_mapping(struct procmaps_entry *e, void *arg)
{
	struct proc *p = arg;
	struct obj *o;
	int i;

	if (e->path[0] != '/' || !e->inode)
		return 0;
	procmaps_strip_deleted(e->path);
	i = find_obj_by_path(p, e->path);
	if (i < 0) {
		if (VEC_GROW(p->objs, p->capobjs, p->nobjs + 1))
			return -ENOMEM;
		o = &p->objs[p->nobjs];
		memset(o, 0, sizeof(*o));
		o->path = strdup(e->path);
		if (!o->path)
			return -ENOMEM;
		p->nobjs++;
		o->major = e->major;
		o->minor = e->minor;
		o->ino = e->inode;
	} else {
		o = &p->objs[i];
	}
	if (procmaps_exec(e) && !o->exec) {
		o->exec = 1;
		o->start = e->start;
		o->end = e->end;
	}
	return 0;
}

static int proc_gone(int pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) < 0 && errno == ENOENT;
}

static int read_maps(struct proc *p, char *errbuf, size_t errlen)
{
	char path[64], *text;
	size_t len;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	fd = safeio_open(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT || err == -ESRCH || proc_gone(p->pid)) {
			err_set(errbuf, errlen, "no process with pid %d", p->pid);
			return -ESRCH;
		}
		if (err == -EACCES || err == -EPERM) {
			err_set(errbuf, errlen, "cannot read %s: permission denied", path);
			return -EPERM;
		}
		err_set(errbuf, errlen, "cannot open %s: %s", path, strerror(-err));
		return err;
	}
	text = safeio_read_fd(fd, &len);
	err = text ? procmaps_each(text, len, add_mapping, p) : -errno;
	close(fd);
	free(text);
	if (err)
		err_set(errbuf, errlen, "cannot read %s: %s", path, strerror(-err));
	return err;
}

/* Index of the object matching a file we can stat: same inode and device,
 * or same inode when only one object has it. */
static int find_obj_by_stat(struct proc *p, const struct stat *st)
{
	int i, hit = -1, nino = 0;

	for (i = 0; i < p->nobjs; i++) {
		struct obj *o = &p->objs[i];

		if (o->ino != st->st_ino)
			continue;
		if (o->major == major(st->st_dev) && o->minor == minor(st->st_dev))
			return i;
		hit = i;
		nino++;
	}
	return nino == 1 ? hit : -1;
}

static void find_exe(struct proc *p)
{
	char path[64], target[4096];
	struct stat st;
	ssize_t n;

	p->exe = -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		procmaps_strip_deleted(target);
		p->exe = find_obj_by_path(p, target);
	}
	if (p->exe < 0 && !stat(path, &st))
		p->exe = find_obj_by_stat(p, &st);
}

/* Open an object as the target sees it; fall back to map_files for deleted
 * or otherwise unreachable files. used gets the path that worked. */
static int open_obj(struct proc *p, const struct obj *o, char *used, size_t usedlen)
{
	int fd, n;

	n = snprintf(used, usedlen, "/proc/%d/root%s", p->pid, o->path);
	if (n > 0 && (size_t)n < usedlen) {
		fd = safeio_open(used);
		if (fd >= 0)
			return fd;
	}
	if (!o->exec)
		return -ENOENT;
	snprintf(used, usedlen, "/proc/%d/map_files/%lx-%lx", p->pid, o->start, o->end);
	fd = safeio_open(used);
	return fd < 0 ? -errno : fd;
}

/* An ELF64 x86-64 handle on fd, or NULL. */
static Elf *elf_for(int fd)
{
	GElf_Ehdr eh;
	Elf *elf;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return NULL;
	if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 ||
	    !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

static Elf_Scn *find_section(Elf *elf, GElf_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

static int add_needed(struct obj *o, const char *name)
{
	if (VEC_GROW(o->needed, o->capneeded, o->nneeded + 1))
		return -ENOMEM;
	o->needed[o->nneeded] = strdup(name);
	if (!o->needed[o->nneeded])
		return -ENOMEM;
	o->nneeded++;
	return 0;
}

/* Read DT_SONAME and DT_NEEDED. */
static void read_dynamic(Elf *elf, struct obj *o)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, SHT_DYNAMIC, &sh);
	Elf_Data *data;
	GElf_Dyn dyn;
	const char *s;
	size_t i, n;

	if (!scn || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return;
	n = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < n && gelf_getdyn(data, (int)i, &dyn); i++) {
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME)
			continue;
		s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_SONAME && !o->soname)
			o->soname = strdup(s);
		else if (dyn.d_tag == DT_NEEDED && add_needed(o, s))
			return;
	}
}

static void load_obj(struct proc *p, struct obj *o)
{
	char used[4200];
	Elf *elf;
	int fd;

	if (o->loaded)
		return;
	o->loaded = 1;
	fd = open_obj(p, o, used, sizeof(used));
	if (fd < 0)
		return;
	o->opened = 1;
	elf = elf_for(fd);
	if (elf) {
		o->elf_ok = 1;
		read_dynamic(elf, o);
		elf_end(elf);
	}
	close(fd);
}

static void order_add(struct proc *p, int i)
{
	if (i < 0 || !p->objs[i].exec || p->objs[i].queued)
		return;
	p->objs[i].queued = 1;
	p->order[p->norder++] = i;
}

/* A DT_NEEDED or LD_PRELOAD name without a slash: match DT_SONAME first,
 * then the file name. */
static int find_obj_by_name(struct proc *p, const char *name)
{
	int i;

	for (i = 0; i < p->nobjs; i++) {
		if (!p->objs[i].exec)
			continue;
		load_obj(p, &p->objs[i]);
		if (p->objs[i].soname && !strcmp(p->objs[i].soname, name))
			return i;
	}
	for (i = 0; i < p->nobjs; i++)
		if (p->objs[i].exec && !strcmp(base_name(p->objs[i].path), name))
			return i;
	return -1;
}

static int find_preload(struct proc *p, const char *entry)
{
	char path[4200];
	struct stat st;
	int i, n;

	if (!strchr(entry, '/'))
		return find_obj_by_name(p, entry);
	i = find_obj_by_path(p, entry);
	if (i >= 0)
		return i;
	n = snprintf(path, sizeof(path), "/proc/%d/root%s%s", p->pid, entry[0] == '/' ? "" : "/",
	             entry);
	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st))
		return -1;
	return find_obj_by_stat(p, &st);
}

/* The preload lists, as ld.so splits them (allocator.h). */
void allocator_preload_list(char *list, void (*fn)(const char *entry, void *arg), void *arg)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, " :\t\n", &save); tok; tok = strtok_r(NULL, " :\t\n", &save)) {
		if (tok[0] == '#')
			break;
		fn(tok, arg);
	}
}

char *allocator_env_preload(char *env, size_t len)
{
	return safeio_env_value(env, len, "LD_PRELOAD");
}

static void queue_preload(const char *entry, void *arg)
{
	struct proc *p = arg;

	order_add(p, find_preload(p, entry));
}

static void queue_env_preload(struct proc *p)
{
	char path[64], *env, *list;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/environ", p->pid);
	env = safeio_read_file(path, &len);
	if (!env)
		return;
	list = allocator_env_preload(env, len);
	if (list)
		allocator_preload_list(list, queue_preload, p);
	free(env);
}

static void queue_file_preload(struct proc *p)
{
	char path[64], *text;

	snprintf(path, sizeof(path), "/proc/%d/root/etc/ld.so.preload", p->pid);
	text = safeio_read_file(path, NULL);
	if (!text)
		return;
	allocator_preload_list(text, queue_preload, p);
	free(text);
}

static int is_libc_name(const char *name)
{
	if (!strncmp(name, "libc-", 5))
		return name[5] >= '0' && name[5] <= '9'; /* libc-2.31.so */
	return !strncmp(name, "libc.so", 7) || !strncmp(name, "libc.musl", 9) ||
	       !strncmp(name, "ld-musl", 7);
}

static int is_rtld_name(const char *name)
{
	return !strncmp(name, "ld-linux", 8);
}

/* Order the executable objects as ld.so searches its global scope. */
static int build_order(struct proc *p)
{
	int i, k, pass;

	p->order = calloc(p->nobjs ? p->nobjs : 1, sizeof(*p->order));
	if (!p->order)
		return -ENOMEM;
	order_add(p, p->exe);
	queue_env_preload(p);
	queue_file_preload(p);
	/* breadth first over DT_NEEDED, as _dl_map_object_deps */
	for (k = 0; k < p->norder; k++) {
		struct obj *o = &p->objs[p->order[k]];

		load_obj(p, o);
		for (i = 0; i < o->nneeded; i++)
			order_add(p, find_obj_by_name(p, o->needed[i]));
	}
	/* dlopen'ed or unmatched objects: map order, libc last */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < p->nobjs; i++)
			if (is_libc_name(base_name(p->objs[i].path)) == pass)
				order_add(p, i);
	return 0;
}

/* Symbols found for the ten names in one symbol table. */
struct sym_hit {
	int found;
	int hidden; /* non-default symbol version */
	int ifunc;
	GElf_Addr value;
	GElf_Xword size;
};

static int func_index(const char *name)
{
	size_t n = strcspn(name, "@");
	int i;

	for (i = 0; i < NFUNCS; i++)
		if (strlen(funcs[i].name) == n && !strncmp(funcs[i].name, name, n))
			return i;
	return -1;
}

static int sym_defines_func(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info), bind = GELF_ST_BIND(sym->st_info);

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx == SHN_ABS)
		return 0;
	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return 0;
	return bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
}

/* Keep the default version of a name, and a sized definition over an
 * unsized one. */
static void note_sym(struct sym_hit *h, const GElf_Sym *sym, int hidden)
{
	if (h->found && !h->hidden && hidden)
		return;
	if (h->found && h->hidden == hidden && (h->size || !sym->st_size))
		return;
	h->found = 1;
	h->hidden = hidden;
	h->ifunc = GELF_ST_TYPE(sym->st_info) == STT_GNU_IFUNC;
	h->value = sym->st_value;
	h->size = sym->st_size;
}

static void scan_symtab(Elf *elf, GElf_Word type, struct sym_hit hits[NFUNCS])
{
	GElf_Shdr sh, vsh;
	Elf_Scn *scn = find_section(elf, type, &sh);
	Elf_Scn *vscn = type == SHT_DYNSYM ? find_section(elf, SHT_GNU_versym, &vsh) : NULL;
	Elf_Data *data, *vdata = NULL;
	GElf_Versym vs;
	GElf_Sym sym;
	const char *name;
	size_t i, n;
	int f, hidden;

	if (!scn || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return;
	if (vscn)
		vdata = elf_getdata(vscn, NULL);
	n = sh.sh_size / sh.sh_entsize;
	for (i = 1; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &sym) || !sym_defines_func(&sym))
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || (f = func_index(name)) < 0)
			continue;
		hidden = vdata && gelf_getversym(vdata, (int)i, &vs) && (vs & 0x8000);
		note_sym(&hits[f], &sym, hidden);
	}
}

static int has_interp(Elf *elf)
{
	GElf_Phdr ph;
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			return 1;
	return 0;
}

/* The executable is searched through .dynsym if dynamic, .symtab if static
 * (falling back to the other table when one is missing). */
static void scan_object(Elf *elf, int is_exe, struct sym_hit hits[NFUNCS])
{
	GElf_Word first = SHT_DYNSYM, second = 0;

	memset(hits, 0, NFUNCS * sizeof(*hits));
	if (is_exe && !has_interp(elf)) {
		first = SHT_SYMTAB;
		second = SHT_DYNSYM;
	}
	scan_symtab(elf, first, hits);
	if (second && !hits[F_MALLOC].found)
		scan_symtab(elf, second, hits);
}

static int defines_allocator(const struct sym_hit hits[NFUNCS])
{
	return hits[F_MALLOC].found && hits[F_MALLOC].size && hits[F_FREE].found &&
	       hits[F_FREE].size;
}

static int find_load(Elf *elf, GElf_Addr vaddr, GElf_Phdr *out)
{
	GElf_Phdr ph;
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*out = ph;
			return 0;
		}
	}
	return -1;
}

/* A loaded segment's file bytes, kept across the sites of one object. */
struct segment {
	GElf_Phdr ph;
	uint8_t *bytes;
	size_t len;
};

#define SEGMENT_MAX (1ULL << 30) /* bytes of an executable segment read for placement */

static int load_segment(int fd, const GElf_Phdr *ph, struct segment *seg)
{
	size_t done = 0;
	ssize_t n;

	struct stat st;
	size_t want = ph->p_filesz;

	if (seg->bytes && seg->ph.p_offset == ph->p_offset && seg->ph.p_filesz == ph->p_filesz)
		return 0;
	/* The file says how big its segment is: never more than the file holds, nor than
	 * any real text segment. */
	if (fstat(fd, &st) || ph->p_offset > (GElf_Off)st.st_size)
		return -EINVAL;
	if (want > (GElf_Off)st.st_size - ph->p_offset)
		want = (GElf_Off)st.st_size - ph->p_offset;
	if (want > SEGMENT_MAX)
		return -EFBIG;
	free(seg->bytes);
	seg->bytes = malloc(want ? want : 1);
	seg->len = 0;
	if (!seg->bytes)
		return -ENOMEM;
	while (done < want) {
		n = pread(fd, seg->bytes + done, want - done, ph->p_offset + done);
		if (n <= 0)
			break;
		done += n;
	}
	seg->ph = *ph;
	seg->len = done;
	return 0;
}

/* Does a rel32 call, jmp or jcc outside [skip_lo, skip_hi) land in (lo, hi]?
 * A byte scan, so it also sees code (e.g. .cold parts) that the symbol size
 * does not cover; stray matches only make placement more conservative. */
static int rel32_lands_in(const struct segment *seg, uint64_t skip_lo, uint64_t skip_hi,
                          uint64_t lo, uint64_t hi)
{
	const uint8_t *b = seg->bytes;
	uint64_t base = seg->ph.p_offset;
	size_t i, ilen, at;
	int32_t rel;

	for (i = 0; i + 5 <= seg->len; i++) {
		if (b[i] == 0xe8 || b[i] == 0xe9) {
			ilen = 5;
			at = i + 1;
		} else if (b[i] == 0x0f && i + 6 <= seg->len && (b[i + 1] & 0xf0) == 0x80) {
			ilen = 6;
			at = i + 2;
		} else {
			continue;
		}
		if (base + i >= skip_lo && base + i < skip_hi)
			continue;
		memcpy(&rel, b + at, sizeof(rel));
		if (base + i + ilen + rel > lo && base + i + ilen + rel <= hi)
			return 1;
	}
	return 0;
}

/* Does any symbol start in (lo, hi]? Something else may enter there. */
static int symbol_starts_in(Elf *elf, GElf_Addr lo, GElf_Addr hi)
{
	GElf_Word types[2] = {SHT_DYNSYM, SHT_SYMTAB};
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf_Scn *scn;
	size_t i, n;
	int t;

	for (t = 0; t < 2; t++) {
		scn = find_section(elf, types[t], &sh);
		if (!scn || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 1; i < n; i++) {
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			if (GELF_ST_TYPE(sym.st_info) == STT_SECTION ||
			    GELF_ST_TYPE(sym.st_info) == STT_FILE)
				continue;
			if (sym.st_value > lo && sym.st_value <= hi)
				return 1;
		}
	}
	return 0;
}

/* Fill one site: file offset, then the probe placement. */
static int make_site(csh cs, Elf *elf, int fd, struct segment *seg, const struct sym_hit *h, int f,
                     struct al_site *site)
{
	uint64_t pos, len, end;
	const uint8_t *code;
	GElf_Phdr ph;
	int may_move;

	memset(site, 0, sizeof(*site));
	site->kind = funcs[f].kind;
	site->name = funcs[f].name;
	site->vaddr = h->value;
	site->size = h->size;
	site->ifunc = h->ifunc;
	if (find_load(elf, h->value, &ph))
		return -ENOENT;
	site->file_off = h->value - ph.p_vaddr + ph.p_offset;
	site->probe_off = site->file_off;
	if (load_segment(fd, &ph, seg))
		return -ENOMEM;
	pos = h->value - ph.p_vaddr;
	if (pos >= seg->len)
		return 0;
	len = h->size ? h->size : NOSIZE_BYTES;
	if (len > MAX_FUNC_BYTES)
		len = MAX_FUNC_BYTES;
	if (len > seg->len - pos)
		len = seg->len - pos;
	code = seg->bytes + pos;
	/* an IFUNC's code is its resolver; an unsized symbol hides its branches */
	may_move = h->size && !h->ifunc;
	place(cs, code, len, site->file_off, site, may_move);
	if (site->probe_off == site->file_off)
		return 0;
	end = site->file_off + len;
	if (rel32_lands_in(seg, site->file_off, end, site->file_off, site->probe_off) ||
	    symbol_starts_in(elf, h->value, h->value + (site->probe_off - site->file_off)))
		place(cs, code, len, site->file_off, site, 0);
	return 0;
}

static void pick_flavor(const char *path, int is_exe, char *flavor, size_t len)
{
	const char *name = base_name(path);
	const char *f = "other";

	if (is_exe)
		f = "static";
	else if (strstr(name, "jemalloc"))
		f = "jemalloc";
	else if (strstr(name, "tcmalloc"))
		f = "tcmalloc";
	else if (strstr(name, "musl"))
		f = "musl";
	else if (is_libc_name(name))
		f = "glibc";
	snprintf(flavor, len, "%s", f);
}

/* Check one object; fill out and return 1 if it is the allocator. */
static bool has_site(const struct al_allocator *al, enum al_kind kind)
{
	int i;

	for (i = 0; i < al->nsites; i++)
		if (al->sites[i].kind == kind)
			return true;
	return false;
}

static int try_object(struct proc *p, int idx, csh cs, struct al_allocator *out)
{
	struct obj *o = &p->objs[idx];
	struct sym_hit hits[NFUNCS];
	struct segment seg = {0};
	char used[sizeof(out->path)];
	Elf *elf;
	int fd, f, won = 0;

	fd = open_obj(p, o, used, sizeof(used));
	if (fd < 0)
		return 0;
	elf = elf_for(fd);
	if (!elf)
		goto out;
	scan_object(elf, idx == p->exe, hits);
	if (!defines_allocator(hits))
		goto out;
	won = 1;
	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", used);
	snprintf(out->target_path, sizeof(out->target_path), "%s", o->path);
	text_sanitize(out->target_path, sizeof(out->target_path)); /* shown, never opened */
	pick_flavor(o->path, idx == p->exe, out->flavor, sizeof(out->flavor));
	for (f = 0; f < NFUNCS && out->nsites < AL_MAX_SITES; f++) {
		if (!hits[f].found)
			continue;
		if (!make_site(cs, elf, fd, &seg, &hits[f], f, &out->sites[out->nsites]))
			out->nsites++;
	}
	/* Symbols alone do not make the allocator: malloc and free must be probed (a file
	 * can name them outside any loaded segment). */
	won = has_site(out, AL_MALLOC) && has_site(out, AL_FREE);
out:
	free(seg.bytes);
	if (elf)
		elf_end(elf);
	close(fd);
	return won;
}

static int search(struct proc *p, struct al_allocator *out, char *errbuf, size_t errlen)
{
	int k, pass, err;
	struct obj *o;
	csh cs;

	err = open_disasm(&cs);
	if (err) {
		err_set(errbuf, errlen, "cannot initialise the capstone disassembler");
		return err;
	}
	err = -ENOEXEC;
	/* ld.so's own minimal malloc (exported by old glibc) never serves the
	 * program: look at the dynamic linker last */
	for (pass = 0; pass < 2 && err; pass++) {
		for (k = 0; k < p->norder && err; k++) {
			o = &p->objs[p->order[k]];
			if (is_rtld_name(base_name(o->path)) == pass &&
			    try_object(p, p->order[k], cs, out))
				err = 0;
		}
	}
	cs_close(&cs);
	if (err && proc_gone(p->pid)) {
		err_set(errbuf, errlen, "process %d exited", p->pid);
		return -ESRCH;
	}
	o = p->exe >= 0 ? &p->objs[p->exe] : NULL;
	if (err && o && o->opened && !o->elf_ok)
		err_set(errbuf, errlen, "process %d runs %s, which is not an x86-64 ELF program",
		        p->pid, o->path);
	else if (err)
		err_set(errbuf, errlen,
		        "no object mapped by process %d defines both malloc and free "
		        "(static binary without libc, Go program, or stripped executable?)",
		        p->pid);
	return err;
}

int allocator_find(int pid, struct al_allocator *out, char *errbuf, size_t errlen)
{
	struct proc p = {.pid = pid, .exe = -1};
	int err;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (pid <= 0) {
		err_set(errbuf, errlen, "no process with pid %d", pid);
		return -ESRCH;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err_set(errbuf, errlen, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	err = read_maps(&p, errbuf, errlen);
	if (err)
		goto out;
	if (!p.nobjs) {
		err = proc_gone(pid) ? -ESRCH : -ENOEXEC;
		err_set(errbuf, errlen,
		        err == -ESRCH ? "no process with pid %d"
		                      : "process %d maps no files (kernel thread or zombie?)",
		        pid);
		goto out;
	}
	find_exe(&p);
	err = build_order(&p);
	if (err) {
		err_set(errbuf, errlen, "out of memory");
		goto out;
	}
	err = search(&p, out, errbuf, errlen);
out:
	free_proc(&p);
	return err;
}
