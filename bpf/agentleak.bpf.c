// SPDX-License-Identifier: GPL-2.0
/* agentleak.bpf.c - what every tier needs: the shared maps, the syscalls, requests.
 *
 * Loaded first in every mode; it creates the maps of maps.bpf.h, which the tier
 * objects (precise.bpf.c, growth.bpf.c) then share. Userspace attaches:
 *   sys_exit       raw syscalls:sys_exit (BTF): anonymous mmap/munmap/mremap of the
 *                  targets as events (precise tier; an mmap with MAP_STACK, as glibc
 *                  maps a new thread's stack, is kind AL_THREAD), the pages that
 *                  munmap, madvise, brk and mremap give back (growth tier),
 *                  accept/accept4 or the socket reads that return an HTTP/1.x
 *                  request line when they are the request source;
 *   request_hit    uprobe on the user's request function (--requests uprobe:...);
 *   request_usdt   the same for a USDT probe (--requests usdt:...).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include <bpf/bpf_core_read.h>
#include "agentleak.h"
#include "maps.bpf.h"
#include "account.bpf.h"
#include "python.bpf.h"

#define MAP_ANONYMOUS        0x20
#define MAP_STACK            0x20000
#define NR_MMAP              9
#define NR_MUNMAP            11
#define NR_MREMAP            25
#define NR_BRK               12
#define NR_MADVISE           28
#define MADV_DONTNEED        4
#define MADV_DONTNEED_LOCKED 24
#define NR_ACCEPT            43
#define NR_ACCEPT4           288
#define NR_EXECVE            59
#define NR_EXECVEAT          322
#define NR_READ              0
#define NR_READV             19
#define NR_RECVFROM          45
#define NR_RECVMSG           47
#define MSG_PEEK             2
#define S_IFMT               00170000
#define S_IFSOCK             0140000

char LICENSE[] SEC("license") = "GPL";

/* Set before load: count accepted connections as requests. */
const volatile bool count_accept = false;
/* Set before load: count the socket reads that start with an HTTP/1.x request line. */
const volatile bool count_http = false;
/* Set before load: the growth tier runs (give back the pages syscalls release). */
const volatile bool growth = false;
/* Set at run time: follow anonymous mmap/munmap/mremap as blocks (the precise tier;
 * --mode auto turns it on for its diagnosis windows). */
volatile bool mmap_events = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Programs executed per target process (execve returned 0): its old program's
 * memory is gone, userspace forgets it. Userspace creates the entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} execs SEC(".maps");

static __always_inline void send_event(struct al_event *ev)
{
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		count(AL_C_EVENTS_LOST);
}

static __always_inline void count_request(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&requests, &tgid);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("uprobe")
int BPF_KPROBE(request_hit)
{
	count_request(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("usdt")
int request_usdt(struct pt_regs *ctx)
{
	count_request(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/* ---- HTTP/1.x requests read from sockets ------------------------------------------ */

/* The first n bytes of s as a little-endian word; the compiler folds it. */
static __always_inline __u64 word(const char *s, int n)
{
	__u64 w = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		w |= (__u64)(unsigned char)s[i] << (8 * i);
	return w;
}

/* Do the bytes w0 (0-7) and w1 (8-15) of a read start a request line: a method, a
 * space, then an origin-form '/', '*', an absolute-form "http", or CONNECT's host?
 * Bytes past the read are 0 and match nothing. A global function: verified once. */
__noinline int http_request_line(__u64 w0, __u64 w1)
{
	__u64 target;
	int n;

	if ((__u32)w0 == word("GET ", 4) || (__u32)w0 == word("PUT ", 4))
		n = 4;
	else if ((w0 & 0xffffffffffULL) == word("POST ", 5) ||
	         (w0 & 0xffffffffffULL) == word("HEAD ", 5))
		n = 5;
	else if ((w0 & 0xffffffffffffULL) == word("PATCH ", 6) ||
	         (w0 & 0xffffffffffffULL) == word("TRACE ", 6))
		n = 6;
	else if ((w0 & 0xffffffffffffffULL) == word("DELETE ", 7))
		n = 7;
	else if (w0 == word("OPTIONS ", 8))
		n = 8;
	else if (w0 == word("CONNECT ", 8))
		return (__u8)w1 > ' ' && (__u8)w1 < 0x7f; /* authority-form: host:port */
	else
		return 0;
	/* The 8 bytes after the method's space. */
	target = n == 8 ? w1 : (w0 >> (8 * n)) | (w1 << (64 - 8 * n));
	return (__u8)target == '/' || (__u8)target == '*' || (__u32)target == word("http", 4);
}

/* Is fd of the current process a socket? task->files->fdt->fd[fd]->f_inode's mode. */
static __always_inline bool fd_is_socket(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *f = NULL;
	umode_t mode;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), fds + fd) || !f)
		return false;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	return (mode & S_IFMT) == S_IFSOCK;
}

/* A read, readv, recvfrom or recvmsg of a target returned ret > 0 bytes: do they start
 * with a request line, read from a socket? One request per read: pipelined requests
 * that arrive in one read count once. The vector calls look at their first buffer. */
static __always_inline bool http_request_read(struct pt_regs *regs, __u64 id, long ret)
{
	__u64 buf[2] = {}, len = ret;
	struct user_msghdr msg;
	struct iovec iov;
	void *data = (void *)regs->si;

	/* A peek is read again for real: only that read counts. recvfrom and recvmsg fail
	 * on anything but a socket; read and readv are checked at the end (after the
	 * bytes, which reject most reads more cheaply). */
	switch (id) {
	case NR_RECVFROM:
		if (regs->r10 & MSG_PEEK)
			return false;
		break;
	case NR_RECVMSG:
		if ((regs->dx & MSG_PEEK) || bpf_probe_read_user(&msg, sizeof(msg), data) ||
		    !msg.msg_iovlen)
			return false;
		data = msg.msg_iov;
		/* fall through */
	case NR_READV:
		if (bpf_probe_read_user(&iov, sizeof(iov), data))
			return false;
		data = iov.iov_base;
		if (len > iov.iov_len)
			len = iov.iov_len;
		break;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (bpf_probe_read_user(buf, len, data) || !http_request_line(buf[0], buf[1]))
		return false;
	return id == NR_RECVFROM || id == NR_RECVMSG || fd_is_socket(regs->di);
}

/* ---- Growth tier: pages given back ------------------------------------------------ */

struct release_ctx {
	__u64 start; /* first page */
	__u64 keep;  /* mremap move: bytes of the range that move (the rest is released) */
	__u64 delta; /* mremap move: new address - old address */
	__u32 tgid;
	bool move;
};

/* Page i of the range: a global function, so the verifier checks it once. Returns
 * whether a recorded page was there. */
__noinline int release_page(__u32 tgid, __u64 addr, __u64 new_addr, bool move)
{
	struct al_alloc_key k = {.addr = page_key(addr), .tgid = tgid};
	struct al_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, &k);
	if (!v)
		return 0;
	copy = *v;
	if (bpf_map_delete_elem(&allocs, &k))
		return 0;
	if (move) {
		k.addr = page_key(new_addr);
		if (!bpf_map_update_elem(&allocs, &k, &copy, BPF_ANY))
			return 1;
		count(AL_C_ALLOC_MAP_FULL);
	}
	unaccount(&copy);
	return 1;
}

/* The bpf_loop callback reads its context and never writes it: its verification
 * converges at once. */
static long release_next(__u64 i, void *data)
{
	struct release_ctx *c = data;
	__u64 addr = c->start + i * PAGE_SIZE;

	release_page(c->tgid, addr, addr + c->delta, c->move && i * PAGE_SIZE < c->keep);
	return 0;
}

/* Give back (or, for a moving mremap, move) the recorded pages of [start, end). */
static __always_inline void release_range(__u32 tgid, __u64 start, __u64 end, __u64 keep,
                                          __u64 delta, bool move)
{
	struct release_ctx c = {.tgid = tgid, .keep = keep, .delta = delta, .move = move};
	__u64 n;

	start &= ~(PAGE_SIZE - 1);
	end = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (end <= start)
		return;
	c.start = start;
	n = (end - start) / PAGE_SIZE;
	if (n > AL_RELEASE_MAX) {
		count_n(AL_C_RELEASE_CUT, n - AL_RELEASE_MAX);
		n = AL_RELEASE_MAX;
	}
	bpf_loop((__u32)n, release_next, &c, 0);
}

static __always_inline void growth_syscall(struct pt_regs *regs, long ret, __u64 id, __u32 tgid)
{
	__u64 addr = regs->di, len = regs->si;
	struct al_growth_proc *gp;

	switch (id) {
	case NR_MUNMAP:
		release_range(tgid, addr, addr + len, 0, 0, false);
		break;
	case NR_MADVISE: {
		__u64 advice = regs->dx;

		/* MADV_FREE is left alone: a page the kernel reclaims faults again and its
		 * new record replaces the old one. */
		if (advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED)
			release_range(tgid, addr, addr + len, 0, 0, false);
		break;
	}
	case NR_MREMAP: {
		__u64 new_len = regs->dx, new_addr = (__u64)ret;

		if (new_addr == addr) {
			if (new_len < len)
				release_range(tgid, addr + new_len, addr + len, 0, 0, false);
		} else {
			release_range(tgid, addr, addr + len, new_len, new_addr - addr, true);
		}
		break;
	}
	case NR_BRK:
		gp = bpf_map_lookup_elem(&growth_procs, &tgid);
		if (!gp)
			break;
		if ((__u64)ret < gp->brk)
			release_range(tgid, (__u64)ret, gp->brk, 0, 0, false);
		gp->brk = (__u64)ret;
		break;
	}
}

/* ---- Syscalls ---------------------------------------------------------------------- */

/* A syscall of a target returned. Regs are the syscall's user registers (read
 * directly: the tracepoint gives a BTF pointer, no probe_read needed). */
static __always_inline int on_syscall(void *ctx, struct pt_regs *regs, long ret, __u64 id)
{
	__u64 pid_tgid;
	__u32 tid, tgid;
	struct al_event ev = {};
	struct inflight *st;
	bool accepted = id == NR_ACCEPT || id == NR_ACCEPT4;
	bool executed = id == NR_EXECVE || id == NR_EXECVEAT;
	bool http_read = count_http &&
	                 (id == NR_READ || id == NR_RECVFROM || id == NR_READV || id == NR_RECVMSG);
	__u64 *n;

	if (id != NR_MMAP && id != NR_MUNMAP && id != NR_MREMAP && !(accepted && count_accept) &&
	    !(growth && (id == NR_BRK || id == NR_MADVISE)) && !executed && !http_read)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	tid = (__u32)pid_tgid;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	if (ret < 0 && ret > -4096)
		return 0;
	if (accepted) {
		count_request(tgid);
		return 0;
	}
	if (http_read) {
		if (ret > 0 && http_request_read(regs, id, ret))
			count_request(tgid);
		return 0;
	}
	if (executed) {
		n = bpf_map_lookup_elem(&execs, &tgid);
		if (n && ret == 0)
			__sync_fetch_and_add(n, 1);
		return 0;
	}
	/* Growth tier: page faults account the memory; syscalls give pages back. */
	if (growth && id != NR_MMAP)
		growth_syscall(regs, ret, id, tgid);
	if (!mmap_events)
		return 0;
	/* The allocator's own mmaps belong to the call that made them. */
	st = bpf_map_lookup_elem(&inflight, &tid);
	if (st && bpf_ktime_get_ns() - st->start_ns < STALE_NS)
		return 0;

	ev.tgid = tgid;
	ev.addr = regs->di;
	ev.len = regs->si;
	if (id == NR_MMAP) {
		if (!(regs->r10 & MAP_ANONYMOUS))
			return 0;
		ev.type = AL_EV_MMAP;
		ev.addr = ret;
		ev.len = (ev.len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		ev.stack.tgid = tgid;
		/* glibc's pthread_create maps each new thread's stack with MAP_STACK. */
		ev.stack.kind = regs->r10 & MAP_STACK ? AL_THREAD : AL_MMAP;
		ev.stack.stackid = take_stack(ctx);
		ev.stack.pystack = py_stack_of(tgid);
		/* glibc's mmap() is a leaf wrapper: [sp] returns into its caller. */
		bpf_probe_read_user(&ev.stack.caller, sizeof(ev.stack.caller), (void *)regs->sp);
	} else if (id == NR_MUNMAP) {
		ev.type = AL_EV_MUNMAP;
	} else if (id == NR_MREMAP) {
		ev.type = AL_EV_MREMAP;
		ev.new_len = regs->dx;
		ev.new_addr = ret;
	} else {
		return 0;
	}
	send_event(&ev);
	return 0;
}

/* Every syscall of the machine passes here, so the filter comes first and costs a
 * compare or two. (fexit on each syscall would be cheaper still, but this kernel
 * refuses fexit programs with EPERM, like kprobes: tracepoints are what we have.) */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return on_syscall(ctx, regs, ret, regs->orig_ax);
}
