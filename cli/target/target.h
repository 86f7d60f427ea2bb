/* SPDX-License-Identifier: GPL-2.0 */
/* target.h - the processes agentleak traces: checks before attach, liveness after. */
#ifndef AL_TARGET_H
#define AL_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct target {
	int pid;                       /* the process (a thread id given is mapped to it) */
	int thread;                    /* the thread id given, when it was one; else 0 */
	char comm[80];                 /* escaped (text.h) */
	char old_comm[80];             /* before the last exec */
	unsigned long long start_time; /* clock ticks after boot */
	unsigned long long exe_dev, exe_ino;
	unsigned long long execs; /* programs executed since attach, as last seen */
	bool exited;
};

enum target_state {
	TARGET_ALIVE,
	TARGET_EXITED, /* gone, a zombie, or its PID reused */
	TARGET_EXECED, /* runs another program now (comm updated, old_comm kept) */
};

/* Fields of /proc/PID/stat: the state (R, S, D, Z, X...), the flags, the start time. */
struct target_stat {
	char state;
	unsigned long flags;
	unsigned long long start_time;
};

/* Check that pid is a live user-space process we may trace and fill t; a thread id
 * is taken for its process (t->thread says so). Returns 0, or -1 with a one-line
 * reason in err. */
int target_open(struct target *t, int pid, char *err, size_t errlen);

/* Still running the same program? execs: the programs it has executed since attach
 * (counted by the BPF side); a new one, or another executable, is TARGET_EXECED. */
enum target_state target_check(struct target *t, unsigned long long execs);

/* Parse the text of /proc/PID/stat (len bytes, any comm). Returns 0 or -1. Pure. */
int target_parse_stat(const char *buf, size_t len, struct target_stat *st);

#endif
