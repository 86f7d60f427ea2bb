/* SPDX-License-Identifier: GPL-2.0 */
/* snapshot.h - one report's worth of results, symbolized, for every exporter.
 *
 * snapbuild.c builds a snapshot from a sample (sampler.c), the verdicts (analyse.c)
 * and the symbolizer; each exporter (report.c text, prom.c, json.c, pprof.c, folded.c,
 * html.c) only reads it. Nothing here points into another module's state: exporters need
 * nothing but this header (and agentleak.h, trend.h for the types).
 */
#ifndef AL_SNAPSHOT_H
#define AL_SNAPSHOT_H

#include <stdbool.h>
#include <linux/types.h>
#include "agentleak.h"
#include "analyse/trend.h"

#define SNAP_ID_LEN 13 /* 12 hex digits and the NUL */

struct snap_frame {
	unsigned long long addr;       /* address in the process */
	char func[256];                /* "" when unknown */
	unsigned long long off;        /* addr - function start */
	char file[256];                /* source file, "" when unknown */
	int line;                      /* 0 when unknown */
	char module[512];              /* ELF path as the target sees it, "" when unknown */
	unsigned long long module_off; /* file offset of addr in module */
	char text[1024];               /* as the text report prints it: func+0x1a (file.c:23) */
	bool python;                   /* a Python frame: func is its qualname, file the .py */
};

/* --python-objects: the Python types found in a sample of a stack's live blocks. */
#define SNAP_OBJTYPES 8

struct snap_objects {
	struct {
		char name[96]; /* tp_name: "dict", "bytes", a class's name */
		unsigned long long objects, bytes;
	} types[SNAP_OBJTYPES]; /* most objects first */
	int ntypes;
	unsigned long long other_objects, other_bytes; /* the types past the first ones */
	unsigned long long read;                       /* blocks, pages or mappings read */
	unsigned long long unread;                     /* of those asked for: gone, or unreadable */
	const char *unit; /* what read counts: "blocks", "pages", "mappings" */
};

struct snap_stack {
	struct al_stack_key key;
	char id[SNAP_ID_LEN]; /* short stable id: hash of kind and frames (module+offset) */
	const char *kind;     /* "malloc", ..., "mmap", "fault", "thread" */
	/* A thread stack (kind "thread", key.kind AL_THREAD): live_objects are its live
	 * threads (stacks mapped, not unmapped), live_bytes the address space they reserve,
	 * allocs and frees the threads started and ended; its verdict is in threads. */
	struct al_stack_stats st;
	bool has_verdict;
	struct trend_result verdict; /* valid when has_verdict */
	double growth_share;         /* share of the process's tracked live bytes, 0..1 (a thread
	                              * stack: of its live threads); <0 n/a */
	int nframes;                 /* frames[0] is the allocator's caller */
	struct snap_frame *frames;
	int npoints; /* the stack's trend samples, oldest first (for plots) */
	struct trend_point *points;
	struct snap_objects *objects; /* --python-objects, leaks of a CPython target; or NULL */
};

struct snap_process {
	int pid;
	char comm[80];
	char flavor[32];      /* glibc, jemalloc, tcmalloc, musl, static, other */
	char allocator[4096]; /* path of the object providing malloc */
	bool exited;
	/* Tracked live heap: thread stacks are not in it (below). */
	unsigned long long live_bytes, live_objects, allocs, frees;
	int nstacks;                                       /* stacks with live bytes > 0 */
	unsigned long long live_threads;                   /* at thread stacks */
	unsigned long long thread_reserved;                /* address space their stacks reserve */
	unsigned long long threads_started, threads_ended; /* since attach */
	int thread_stacks;                                 /* thread stacks with live threads */
	double requests;              /* requests (seconds in time mode) since attach */
	bool have_mem;                /* the fields below were read */
	unsigned long long rss, anon; /* bytes */
	unsigned long long cg_limit;  /* 0: none */
	unsigned long long cg_usage;  /* bytes */
	double oom_eta;               /* seconds until cg_limit at the current rate; <0 none */
	bool rss_note;                /* RSS high, live heap flat */
	unsigned long long retained;  /* anon growth not live in tracked blocks */
	char python[32];              /* "3.11.2" when Python frames are on for it, else "" */
	bool pymalloc; /* its small objects come from pymalloc's arenas (the blind spot) */
};

struct snapshot {
	double unix_time;           /* when it was taken */
	double elapsed;             /* seconds since attach */
	bool final;                 /* the closing report */
	bool time_mode;             /* no request source: slopes per second */
	const char *request_source; /* "time" or the --requests spec */
	int nprocs;
	struct snap_process *procs;
	/* Stacks with allocations, by live bytes (a thread stack: THREAD_WEIGHT per live
	 * thread), largest first: every one, or for the interval reports only the first
	 * ones, every leak and each process's next. */
	int nstacks;
	struct snap_stack *stacks;
	int nstacks_all; /* stacks with allocations, listed or not; see snapshot_nstacks() */
	__u64 counters[AL_C_MAX];        /* events and losses (enum al_counter) */
	double sample_seconds;           /* CPU-independent wall time the last sample took */
	unsigned long long sample_bytes; /* --sample-bytes: counts are scaled estimates; 0 exact */
	double probe_hits_per_s;         /* allocator probe hits per second since the last report */
	double overhead_cpu;   /* their estimated cost, in CPUs (hits x measured trap cost) */
	bool growth;           /* growth tier: live bytes are touched anonymous pages */
	const char *mode;      /* "precise", "growth" or "auto" */
	int diagnosis;         /* auto: diagnosis windows opened so far (0: none yet) */
	bool diagnosis_open;   /* auto: the precise tier is on now */
	double diagnosis_left; /* auto, open: seconds until the window closes */
	bool diagnosis_result; /* auto: this report is the result of a window just closed */
	int nleaks;            /* stacks but thread stacks whose verdict is leak */
	double leak_slope;     /* their slopes summed (B/request or B/s) */
	int nthread_leaks;     /* thread stacks whose verdict is leak */
	double thread_slope;   /* their slopes summed (threads/request or threads/s) */
};

/* Is s a thread stack (its numbers in threads, see struct snap_stack)? */
static inline bool snap_is_thread(const struct snap_stack *s)
{
	return s->key.kind == AL_THREAD;
}

/* "precise", "growth" or "auto" (a snapshot built without a mode names its tier). */
static inline const char *snapshot_mode(const struct snapshot *snap)
{
	return snap->mode ? snap->mode : snap->growth ? "growth" : "precise";
}

/* How many stacks have allocations, whether or not all are listed. */
static inline int snapshot_nstacks(const struct snapshot *snap)
{
	return snap->nstacks_all > snap->nstacks ? snap->nstacks_all : snap->nstacks;
}

/* The process pid of snap, or NULL. */
static inline const struct snap_process *snapshot_process(const struct snapshot *snap, int pid)
{
	int i;

	for (i = 0; i < snap->nprocs; i++)
		if (snap->procs[i].pid == pid)
			return &snap->procs[i];
	return NULL;
}

#endif
