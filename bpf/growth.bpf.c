// SPDX-License-Identifier: GPL-2.0
/* growth.bpf.c - the growth tier: user write faults of each target, per stack.
 *
 *   page_fault     exceptions:page_fault_user (BTF), loaded by --mode growth and auto.
 * The pages that munmap, madvise, brk and mremap give back are handled by sys_exit in
 * agentleak.bpf.c; the maps are shared (see maps.bpf.h).
 *
 * No allocator probe: every user write fault of a target counts one page (4096 B) to
 * the stack that touched it, as kind AL_FAULT, and the page is kept in "allocs" (key:
 * page address | AL_PAGE_KEY_BIT) so that a release gives it back to that stack. A page
 * faulting again while still recorded (zero page then write, swap-in, a release we
 * missed) replaces its old record, so trimming and re-faulting nets out to zero.
 *
 * Why write faults: a write fault is what makes a new anonymous page (a first touch of
 * anonymous memory, or copy-on-write of a private file page or after fork); a read
 * fault maps the shared zero page or a file page and costs no new memory. Asking the
 * VMA instead (bpf_find_vma) costs ~1.5 us more per fault here: at this tracepoint
 * interrupts are off, so the mmap lock is released through an irq_work. Limit: writes
 * to MAP_SHARED file or shmem pages are counted too.
 *
 * Attribution: the faulting instruction is usually in libc (malloc writing a chunk
 * header into a fresh page, memset), which has no frame pointers. So caller is the
 * faulting address when it lies in the main executable's text, else a word of the user
 * stack (from sp, AL_SCAN_WORDS words) that does: the first of them that returns from a
 * call into a shared library (through the executable's PLT or GOT), which is the frame
 * that entered libc, else the first of them. The first alone is often wrong: malloc's
 * frames leave uninitialized slots holding stale return addresses of earlier calls.
 * Limits: a stale word can still be picked (it may follow a PLT call too); code that
 * lives in shared libraries is not in the executable's text, and then caller stays the
 * faulting address.
 *
 * Shaped for the verifier: the scan is a bpf_loop whose callback only forwards its
 * index to scan_word(), a global function verified once on its own. (Written as a
 * callback that does the work itself, the verifier explored the callback's states past
 * its 1,000,000-instruction limit on kernel 6.18; now the whole program is ~1,000.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "agentleak.h"
#include "maps.bpf.h"
#include "account.bpf.h"
#include "python.bpf.h"

#define X86_PF_WRITE  2 /* page fault error code: a write access */
#define CALL_REL32    0xe8
#define CALL_INDIRECT 0xff
#define MODRM_RIP_REL 0x15 /* ff 15 disp32: call *disp32(%rip) */

char LICENSE[] SEC("license") = "GPL";

/* The user stack words scanned at a fault (too big for the BPF stack). */
struct scan_words {
	__u64 w[AL_SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_words);
} scan_buf SEC(".maps");

/* [start, end) as one unsigned compare: a - start wraps around when a < start. */
static __always_inline bool in_range(__u64 start, __u64 end, __u64 a)
{
	return a - start < end - start;
}

static __always_inline bool in_text(const struct al_growth_proc *gp, __u64 a)
{
	int j;

	for (j = 0; j < AL_TEXT_RANGES; j++)
		if (in_range(gp->start[j], gp->end[j], a))
			return true;
	return false;
}

static __always_inline bool in_plt(const struct al_growth_proc *gp, __u64 a)
{
	int j;

	for (j = 0; j < AL_PLT_RANGES; j++)
		if (in_range(gp->plt_start[j], gp->plt_end[j], a))
			return true;
	return false;
}

/* Whether ret (in the text) is the return address of a call into a shared library: it
 * follows `call rel32` (E8) to the executable's PLT, or `call *disp32(%rip)` (FF 15)
 * through a GOT slot, as -fno-plt builds call. Calls inside the executable are direct
 * calls elsewhere, so a stale word left by one of them does not pass. */
static __always_inline bool after_lib_call(const struct al_growth_proc *gp, __u64 ret)
{
	__u8 b[8];
	__s32 rel;

	if (bpf_probe_read_user(b, sizeof(b), (void *)(ret - sizeof(b))))
		return false;
	if (b[2] == CALL_INDIRECT && b[3] == MODRM_RIP_REL)
		return true;
	if (b[3] != CALL_REL32)
		return false;
	__builtin_memcpy(&rel, &b[4], sizeof(rel));
	return in_plt(gp, ret + (__s64)rel);
}

/* What the scan found so far. */
struct scan_state {
	__u64 first;    /* the first word in the text */
	__u64 lib_call; /* the first word that returns from a library call */
	__u32 checked;  /* words in the text seen */
	__u32 pad;
};

/* Stack word i: returns 1 when the scan is done. Only the first AL_SCAN_CALLS words in
 * the text are checked for a library call (a read each). A global function: verified
 * once, whatever state the loop is in. */
__noinline int scan_word(struct scan_state *st, const struct al_growth_proc *gp,
                         const struct scan_words *buf, __u32 i)
{
	__u64 w;

	if (!st || !gp || !buf || i >= AL_SCAN_WORDS)
		return 1;
	w = buf->w[i];
	if (!in_text(gp, w))
		return 0;
	if (!st->first)
		st->first = w;
	if (after_lib_call(gp, w)) {
		st->lib_call = w;
		return 1;
	}
	return ++st->checked >= AL_SCAN_CALLS;
}

struct scan_ctx {
	const struct al_growth_proc *gp;
	const struct scan_words *buf;
	struct scan_state st;
};

/* The bpf_loop callback: no state of its own, so its verification converges at once. */
static long scan_next(__u64 i, void *data)
{
	struct scan_ctx *c = data;

	return scan_word(&c->st, c->gp, c->buf, (__u32)i) ? 1 : 0;
}

/* Inside an allocator call with a return probe on it (--mode auto's diagnosis window),
 * the return address on the stack is the uretprobe trampoline's; the kernel keeps the
 * real one, the allocator's caller, in the thread's latest return instance. */
static __always_inline __u64 probed_caller(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct return_instance *ri;

	if (!bpf_core_field_exists(t->utask) || !t->utask)
		return 0;
	ri = t->utask->return_instances;
	return ri ? ri->orig_ret_vaddr : 0;
}

static __always_inline __u64 app_frame(const struct al_growth_proc *gp, __u64 ip, __u64 sp)
{
	struct scan_ctx c = {.gp = gp};
	struct scan_words *buf;
	__u32 zero = 0;
	__u64 caller;

	if (in_text(gp, ip))
		return ip;
	caller = probed_caller();
	if (caller && in_text(gp, caller))
		return caller;
	buf = bpf_map_lookup_elem(&scan_buf, &zero);
	if (!buf)
		return ip;
	if (bpf_probe_read_user(buf->w, sizeof(buf->w), (void *)sp)) {
		/* Near the top of the stack: fewer words. */
		__builtin_memset(buf->w, 0, sizeof(buf->w));
		if (bpf_probe_read_user(buf->w, 16 * sizeof(__u64), (void *)sp))
			return ip;
	}
	c.buf = buf;
	bpf_loop(AL_SCAN_WORDS, scan_next, &c, 0);
	if (c.st.lib_call)
		return c.st.lib_call;
	return c.st.first ? c.st.first : ip;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct al_stack_key key = {};
	struct al_growth_proc *gp;

	gp = bpf_map_lookup_elem(&growth_procs, &tgid);
	if (!gp)
		return 0;
	if (!(error_code & X86_PF_WRITE))
		return 0;
	key.tgid = tgid;
	key.kind = AL_FAULT;
	key.stackid = take_stack(ctx);
	key.pystack = py_stack_of(tgid);
	key.caller = app_frame(gp, regs->ip, regs->sp);
	record_block(tgid, page_key(address), PAGE_SIZE, 1, &key);
	return 0;
}
