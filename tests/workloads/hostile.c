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
 *   short       exits 0.3 s after SIGUSR1 (leak_short keeps 3 x malloc(4096) meanwhile)
 *   trickle     leak_trickle keeps malloc(1024) every 10 ms, 60 times (60 KiB: below
 *               agentleak's 64 KiB minimum effect, but steadily rising), then exits
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))

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

static NOINLINE void leak_short(void)
{
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(4096);
}

static void wait_for(sigset_t *set, int want)
{
	int sig;

	do {
		if (sigwait(set, &sig))
			exit(1);
		if (sig == SIGTERM || sig == SIGINT)
			exit(0);
	} while (sig != want);
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
	struct timespec pause_1s = {1, 0}, pause_short = {0, 300000000};
	sigset_t set;
	pthread_t t;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "after-exec")) {
		nanosleep(&pause_1s, NULL);
		leak_after_exec();
		printf("done\n");
		wait_for(&set, SIGTERM);
		return 0;
	}
	if (!strcmp(mode, "name"))
		prctl(PR_SET_NAME, "x\ny\033[2J", 0, 0, 0);
	else if (strcmp(mode, "plain") && strcmp(mode, "thread") && strcmp(mode, "exec") &&
	         strcmp(mode, "short") && strcmp(mode, "trickle")) {
		fprintf(stderr, "usage: hostile plain|name|thread|exec|short|trickle\n");
		return 2;
	}
	printf("ready %d\n", getpid());
	if (!strcmp(mode, "thread") && pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	wait_for(&set, SIGUSR1);
	if (!strcmp(mode, "name") || !strcmp(mode, "plain")) {
		leak_named();
	} else if (!strcmp(mode, "thread")) {
		leak_threaded();
	} else if (!strcmp(mode, "trickle")) {
		leak_trickle();
		printf("done\n");
		return 0;
	} else if (!strcmp(mode, "short")) {
		leak_short();
		printf("done\n");
		nanosleep(&pause_short, NULL);
		return 0;
	} else {
		leak_before_exec();
		execl("/proc/self/exe", "hostile", "after-exec", (char *)NULL);
		return 1;
	}
	printf("done\n");
	wait_for(&set, SIGTERM);
	return 0;
}
