/* SPDX-License-Identifier: GPL-2.0 */
/* workload.h - start/stop protocol shared by the agentleak test workloads.
 *
 * Every workload: does its setup, prints "ready PID", waits for SIGUSR1, runs
 * its phase, prints "done", then waits for SIGTERM/SIGINT and exits 0 (or
 * returns right after "done" when started with --exit). The protocol signals
 * are blocked from the start (before any thread exists, so every thread
 * inherits the mask) and taken with sigwait, so none can be lost.
 *
 * Include it after defining _GNU_SOURCE, before any other header.
 */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* For the functions whose name must be frame #0 of a stack: never inlined,
 * cloned (foo.constprop.0) or merged with an identical function. */
#define WL_NOINLINE __attribute__((noinline, noipa))

/* A NULL the compiler cannot see: gcc turns realloc(NULL, n) into malloc(n). */
static void *volatile wl_null;

struct wl_opts {
	int exit_after;   /* --exit */
	const char *only; /* --only NAME, or NULL for all */
	long count;       /* --count N, or -1 for the default */
	long size;        /* --size N, or -1 for the default */
};

static inline void wl_die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void wl_fail(const char *what)
{
	fprintf(stderr, "workload: %s\n", what);
	exit(1);
}

static inline void wl_usage(const char *prog, int extended)
{
	fprintf(stderr, "usage: %s [--exit]%s\n", prog,
	        extended ? " [--only NAME] [--count N] [--size BYTES]" : "");
	exit(2);
}

static inline long wl_parse_long(const char *prog, const char *s, int extended)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n <= 0)
		wl_usage(prog, extended);
	return n;
}

/* Parse the options. --only, --count and --size are accepted only when
 * extended is set (the workloads that use them). */
static inline void wl_parse_args(int argc, char **argv, struct wl_opts *o, int extended)
{
	int i;

	o->exit_after = 0;
	o->only = NULL;
	o->count = -1;
	o->size = -1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exit")) {
			o->exit_after = 1;
		} else if (extended && !strcmp(argv[i], "--only") && i + 1 < argc) {
			o->only = argv[++i];
		} else if (extended && !strcmp(argv[i], "--count") && i + 1 < argc) {
			o->count = wl_parse_long(argv[0], argv[++i], extended);
		} else if (extended && !strcmp(argv[i], "--size") && i + 1 < argc) {
			o->size = wl_parse_long(argv[0], argv[++i], extended);
		} else {
			wl_usage(argv[0], extended);
		}
	}
}

/* Block SIGUSR1, SIGTERM and SIGINT in the calling thread (and so in every
 * thread it creates later). Call it first thing in main(). */
static inline void wl_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		wl_die("sigprocmask");
}

static inline void wl_say(const char *line)
{
	fputs(line, stdout);
	fputc('\n', stdout);
	if (fflush(stdout))
		wl_die("fflush");
}

static inline void wl_ready(void)
{
	printf("ready %d\n", (int)getpid());
	if (fflush(stdout))
		wl_die("fflush");
}

/* Wait for SIGUSR1. A SIGTERM/SIGINT before it ends the process. */
static inline void wl_wait_start(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigwait(&set, &sig))
		wl_fail("sigwait failed");
	if (sig != SIGUSR1)
		exit(0);
}

/* Print "done"; then, unless exit_after, wait for SIGTERM/SIGINT (a repeated
 * SIGUSR1 is ignored). Returns main()'s exit status. */
static inline int wl_finish(int exit_after)
{
	sigset_t set;
	int sig;

	wl_say("done");
	if (exit_after)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	do {
		if (sigwait(&set, &sig))
			wl_fail("sigwait failed");
	} while (sig == SIGUSR1);
	return 0;
}

#endif /* WORKLOAD_H */
