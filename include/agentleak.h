/* SPDX-License-Identifier: GPL-2.0 */
/* agentleak.h - every type that crosses the BPF/userspace boundary.
 *
 * The BPF side (bpf/agentleak.bpf.c) keeps, per (process, stack, allocator
 * function), counters of live and total allocations in the kernel, so that a
 * sample costs O(stacks), not O(live allocations). Anonymous mmap/munmap/mremap
 * calls made directly by the application are sent to userspace as events,
 * because splitting address ranges is easier there; one with MAP_STACK is a thread's
 * stack (kind AL_THREAD), counted in threads rather than bytes. This header is
 * included by both sides; it must only use __u32/__u64-style types.
 */
#ifndef AGENTLEAK_H
#define AGENTLEAK_H

#define AL_MAX_STACK_DEPTH 127

/* Allocator entry points. The value is also the uprobe's bpf_cookie. */
enum al_kind {
	AL_MALLOC = 1,
	AL_CALLOC,
	AL_REALLOC,
	AL_REALLOCARRAY,
	AL_POSIX_MEMALIGN,
	AL_ALIGNED_ALLOC,
	AL_MEMALIGN,
	AL_VALLOC,
	AL_PVALLOC,
	AL_FREE,
	AL_MMAP,   /* anonymous mmap by the application (syscall) */
	AL_FAULT,  /* growth tier: a user page fault on anonymous memory (one page) */
	AL_THREAD, /* a thread's stack: an anonymous mmap with MAP_STACK (glibc's pthread_create) */
	AL_KIND_MAX,
};

/* Counters of what happened and, above all, of what was lost. */
enum al_counter {
	AL_C_ALLOC_CALLS,    /* allocation calls seen (entry) */
	AL_C_FREE_CALLS,     /* free calls seen */
	AL_C_NESTED,         /* allocator calls made inside another one */
	AL_C_ALLOC_MAP_FULL, /* a live block could not be recorded */
	AL_C_STATS_MAP_FULL, /* a new stack could not get counters */
	AL_C_STACK_MAP_FULL, /* bpf_get_stackid: no room */
	AL_C_STACK_COLLIDED, /* bpf_get_stackid: hash bucket taken */
	AL_C_UNKNOWN_FREES,  /* free of a block not seen allocated */
	AL_C_INFLIGHT_FULL,  /* per-thread call state could not be kept */
	AL_C_EVENTS_LOST,    /* mmap events dropped: ring buffer full */
	AL_C_FAILED_ALLOCS,  /* allocator returned NULL / error */
	AL_C_RELEASE_CUT,    /* growth tier: pages of a munmap/madvise/brk/mremap not walked */
	AL_C_MAX,
};

/* A stack as the kernel keys it. caller is the return address read at the
 * stack pointer on entry: exact even without frame pointers. stackid indexes
 * the stack trace map (frame 0 is the allocator itself and is replaced by
 * caller when printed), or is negative when it could not be taken. pystack
 * is the Python stack of a CPython target (the key of py_stacks: a hash of its
 * frames), 0 for none. */
struct al_stack_key {
	__u32 tgid;
	__s32 stackid;
	__u64 caller;
	__u32 kind;
	__u32 pad;
	__u64 pystack;
};

struct al_stack_stats {
	__u64 live_bytes;
	__u64 live_objects;
	__u64 allocs;
	__u64 alloc_bytes;
	__u64 frees;
	__u64 free_bytes;
	__u64 untracked; /* allocations counted in allocs but not recorded (alloc map full):
	                  * live bytes undercount from the first one on */
};

/* Growth tier pages are kept in the same map as heap blocks, tagged by bit 0. */
#define AL_PAGE_KEY_BIT 1ULL

/* One stack's slot in the "stats" array, which userspace maps and reads without a
 * system call: the counters, the key, and ready, set (atomically, last) once the key
 * is written. Slots are handed out in order and never given back. */
struct al_stack_slot {
	struct al_stack_stats st;
	struct al_stack_key key;
	__u32 ready;
	__u32 pad;
};

struct al_alloc_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

/* size and objects are what the block added to its stack's counters: its size and 1,
 * or with --sample-bytes its scaled (unbiased) share of both. */
struct al_alloc_val {
	__u64 size;
	__u64 objects;
	struct al_stack_key stack;
};

#define AL_SAMPLE_GAPS    1024 /* exponential gaps, mean --sample-bytes, from userspace */
#define AL_SAMPLE_WEIGHTS 256  /* weights (x1024) for size/R in [i/32, (i+1)/32) */

enum al_event_type {
	AL_EV_MMAP = 1,
	AL_EV_MUNMAP,
	AL_EV_MREMAP,
};

/* Sent through the ring buffer after a successful syscall. */
struct al_event {
	__u32 type;
	__u32 tgid;
	__u64 addr;                /* mmap: result; munmap/mremap: old address */
	__u64 len;                 /* mmap/munmap length; mremap: old length */
	__u64 new_addr;            /* mremap only */
	__u64 new_len;             /* mremap only */
	struct al_stack_key stack; /* mmap only */
};

/* Growth tier, per target process (userspace fills it before attaching): the main
 * executable's executable segments [start, end), for attributing a page fault to the
 * innermost application frame, its PLT sections [plt_start, plt_end) (.plt, .plt.sec,
 * .plt.got; unused slots are 0-0), so that the return address of the call that entered
 * a shared library wins over stale ones, and the program break (the end of [heap]) so
 * that a brk that shrinks the heap releases the pages above the new break. */
#define AL_TEXT_RANGES 4
#define AL_PLT_RANGES  3

struct al_growth_proc {
	__u64 start[AL_TEXT_RANGES];
	__u64 end[AL_TEXT_RANGES];
	__u64 brk;
	__u64 plt_start[AL_PLT_RANGES];
	__u64 plt_end[AL_PLT_RANGES];
};

#define AL_SCAN_WORDS  64    /* user stack words scanned for an application return address */
#define AL_SCAN_CALLS  8     /* of those in the text, how many are checked for a library call */
#define AL_RELEASE_MAX 65536 /* pages walked per released range; the rest is a loss */

/* Where a Python stack walk finds what it reads in CPython's structures (one interpreter
 * version: cli/target/python.c has the table). Offsets in bytes; AL_PY_NONE: the field
 * does not exist in that version. The BPF walk reads tstate and frames; userspace
 * decodes the code objects. */
#define AL_PY_NONE 0xffff

struct al_py_layout {
	__u16 version;          /* major << 8 | minor: 0x030b for 3.11 */
	__u16 interp_head;      /* _PyRuntime: interpreters.head */
	__u16 interp_threads;   /* PyInterpreterState: the thread list's head */
	__u16 interp_runtime;   /* PyInterpreterState: back to &_PyRuntime (a check) */
	__u16 tstate_next;      /* PyThreadState */
	__u16 tstate_thread_id; /* pthread_self(): the thread's fs base on x86-64 glibc */
	__u16 tstate_frame;     /* 3.10 frame, 3.11/3.12 cframe, 3.13 current_frame */
	__u16 cframe_frame;     /* _PyCFrame.current_frame (3.11/3.12), else AL_PY_NONE */
	__u16 frame_code;       /* 3.10 PyFrameObject.f_code, else _PyInterpreterFrame's */
	__u16 frame_prev;       /* f_back / previous */
	__u16 frame_instr;      /* 3.10 f_lasti (int, code units), else prev_instr/instr_ptr */
	__u16 frame_owner;      /* 3.11+ owner (char); AL_PY_NONE in 3.10 */
	__u16 code_adaptive;    /* 3.11+: where the instructions start in a code object */
	__u16 code_filename;    /* PyCodeObject */
	__u16 code_name;
	__u16 code_qualname; /* AL_PY_NONE in 3.10 */
	__u16 code_firstlineno;
	__u16 code_linetable;
	__u16 str_ascii_data;   /* PyASCIIObject's size: compact ASCII data */
	__u16 str_compact_data; /* PyCompactUnicodeObject's size: compact non-ASCII data */
};

/* A Python target: where the walk starts, and how to read it. */
struct al_py_proc {
	struct al_py_layout layout;
	__u64 runtime; /* &_PyRuntime */
	__u64 none;    /* &_Py_NoneStruct: 3.13's C frames point at None */
};

#define AL_PY_MAX_FRAMES 32 /* Python frames kept per stack, innermost first */

struct al_py_frame {
	__u64 code;  /* the code object */
	__u64 instr; /* 3.10: f_lasti; 3.11+: the instruction pointer */
};

struct al_py_stack {
	__u32 nframes;
	__u32 truncated; /* more frames than AL_PY_MAX_FRAMES, or a chain cut short */
	struct al_py_frame frames[AL_PY_MAX_FRAMES];
};

#endif /* AGENTLEAK_H */
