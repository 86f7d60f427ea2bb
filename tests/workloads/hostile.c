// SPDX-License-Identifier: GPL-2.0
/* hostile: a target that tries to confuse agentleak, one way per MODE.
 *
 * Usage: hostile MODE   (prints "ready PID" [and more], waits for SIGUSR1, leaks, prints
 * "done", waits for SIGTERM)
 *   plain       no trick: leak_named keeps 10 x malloc(4096) (a target for the other tests)
 *   name        renames itself "x\ny\e[2J" (prctl PR_SET_NAME): a newline and a
 *               terminal escape in its comm; leak_named keeps 10 x malloc(4096)
 *   thread      prints "thread TID" of a second thread (for -p TID); leak_threaded
 *               keeps 10 x malloc(4096) in the main thread
 *   exec        leak_before_exec keeps 20 x malloc(4096), then the process executes
 *               itself again ("after-exec"), waits 1 s, and leak_after_exec keeps
 *               5 x malloc(8192): only those 40960 B are live afterwards
 *   trickle     leak_trickle keeps malloc(1024) every 10 ms, 60 times (60 KiB: below
 *               agentleak's 64 KiB minimum effect, but steadily rising), then exits
 */
#define _GNU_SOURCE
#include "workload.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#define NOINLINE WL_NOINLINE

static void *volatile keep[64];

static NOINLINE void leak_named(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(4096);
}

static NOINLINE void leak_threaded(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(4096);
}

static NOINLINE void leak_before_exec(void)
{
	for (int i = 0; i < 20; i++)
		keep[i] = malloc(4096);
}

static NOINLINE void leak_after_exec(void)
{
	for (int i = 0; i < 5; i++)
		keep[i] = malloc(8192);
}

static NOINLINE void leak_trickle(void)
{
	struct timespec tick = {0, 10000000};

	for (int i = 0; i < 60; i++) {
		keep[i] = malloc(1024);
		nanosleep(&tick, NULL);
	}
}

static void *sleeper(void *arg)
{
	(void)arg;
	printf("thread %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct timespec pause_1s = {1, 0};
	pthread_t t;

	wl_block_signals();
	if (!strcmp(mode, "after-exec")) {
		nanosleep(&pause_1s, NULL);
		leak_after_exec();
		return wl_finish(0);
	}
	if (!strcmp(mode, "name"))
		prctl(PR_SET_NAME, "x\ny\033[2J", 0, 0, 0);
	else if (strcmp(mode, "plain") && strcmp(mode, "thread") && strcmp(mode, "exec") &&
	         strcmp(mode, "trickle")) {
		fprintf(stderr, "usage: hostile plain|name|thread|exec|trickle\n");
		return 2;
	}
	wl_ready();
	if (!strcmp(mode, "thread") && pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	wl_wait_start();
	if (!strcmp(mode, "name") || !strcmp(mode, "plain")) {
		leak_named();
	} else if (!strcmp(mode, "thread")) {
		leak_threaded();
	} else if (!strcmp(mode, "trickle")) {
		leak_trickle();
		return wl_finish(1);
	} else {
		leak_before_exec();
		execl("/proc/self/exe", "hostile", "after-exec", (char *)NULL);
		return 1;
	}
	return wl_finish(0);
}
