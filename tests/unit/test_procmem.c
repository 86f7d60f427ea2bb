// SPDX-License-Identifier: GPL-2.0
/* test_procmem.c - unit tests of cli/analyse/procmem.c: process memory and cgroup limits.
 *
 * Canned /proc/PID/status texts, this test's own memory (before and after
 * touching 64 MiB), OOM ETA arithmetic, and a real cgroup made for the test.
 *
 * Cgroup set-up. Machines come in two kinds, told apart by /proc/self/mountinfo:
 *  - hybrid (this Debian 12 VM): every v1 controller has its own hierarchy under
 *    /sys/fs/cgroup/<controller>, memory at /sys/fs/cgroup/memory ("cgroup"
 *    fstype, "memory" in the super options), and an empty cgroup2 at
 *    /sys/fs/cgroup/unified that cannot get the memory controller (v1 holds it).
 *    The test makes <memory mount>/agentleak-test-<pid>, writes 256 MiB to its
 *    memory.limit_in_bytes, writes a forked child's pid to its cgroup.procs, and
 *    has the child touch 16 MiB there (v1 does not move old charges with a task).
 *  - pure v2 (most current distributions): one cgroup2 at /sys/fs/cgroup. A new
 *    cgroup has memory.max only when "memory" is in its parent's
 *    cgroup.subtree_control; the test does not change that and SKIPs otherwise.
 * Then it nests an "inner" cgroup without a limit and moves the child there: the
 * limit must come from the parent. On v1 it also checks that of two limits the
 * one with less headroom wins. The child is killed and both cgroups removed at
 * the end, after a failed check, and on SIGINT/SIGTERM/the watchdog alarm.
 * Needs root; a read-only cgroupfs (unprivileged container) is a SKIP.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analyse/procmem.h"

#include "check.h"

#define KB 1024ULL
#define MB (1024ULL * 1024)

static const char status_text[] = "Name:\tleaky_service\n"
                                  "Umask:\t0022\n"
                                  "State:\tS (sleeping)\n"
                                  "Tgid:\t4242\n"
                                  "Pid:\t4242\n"
                                  "VmPeak:\t  123456 kB\n"
                                  "VmSize:\t  123400 kB\n"
                                  "VmLck:\t       0 kB\n"
                                  "VmPin:\t       0 kB\n"
                                  "VmHWM:\t   45000 kB\n"
                                  "VmRSS:\t   44000 kB\n"
                                  "RssAnon:\t   30000 kB\n"
                                  "RssFile:\t   13000 kB\n"
                                  "RssShmem:\t    1000 kB\n"
                                  "VmData:\t   60000 kB\n"
                                  "VmStk:\t     132 kB\n"
                                  "VmSwap:\t       0 kB\n"
                                  "Threads:\t4\n";

static void test_parse(void)
{
	struct procmem m;
	int r;

	memset(&m, 0, sizeof(m));
	m.cg_limit = 5;
	m.cg_version = 2;
	r = procmem_parse_status(status_text, &m);
	CHECK(r == 0 && m.rss == 44000 * KB && m.anon == 30000 * KB && m.file == 13000 * KB &&
	          m.shmem == 1000 * KB,
	      "status: VmRSS, RssAnon, RssFile, RssShmem in bytes");
	CHECK(m.cg_limit == 5 && m.cg_version == 2, "status: cgroup fields untouched");

	m.rss = m.anon = 7;
	r = procmem_parse_status("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n", &m);
	CHECK(r == 0 && m.rss == 0 && m.anon == 0 && m.file == 0 && m.shmem == 0,
	      "kernel thread (no Vm lines): all 0");
	r = procmem_parse_status("VmHWM:\t 9 kB\nVmRSS:\t 8 kB\n", &m);
	CHECK(r == 0 && m.rss == 8 * KB && m.anon == 0, "old kernel: VmRSS only, VmHWM apart");
	r = procmem_parse_status("VmRSS:\t 123", &m);
	CHECK(r == 0 && m.rss == 123, "no unit and no final newline: taken as is");
	r = procmem_parse_status("VmRSS:\t kB\nRssAnon: x\n", &m);
	CHECK(r == 0 && m.rss == 0 && m.anon == 0, "no number: 0");
	r = procmem_parse_status("VmRSS:\t99999999999999999999999 kB\n", &m);
	CHECK(r == 0 && m.rss == ~0ULL, "huge value saturates");
	r = procmem_parse_status(" VmRSS: 5 kB\nxVmRSS: 6 kB\nRssAnonX: 1 kB\n", &m);
	CHECK(r == 0 && m.rss == 0 && m.anon == 0, "keys only at the start of a line, exactly");
	r = procmem_parse_status("", &m);
	CHECK(r == 0 && m.rss == 0, "empty text");
	CHECK(procmem_parse_status(NULL, &m) == -EINVAL &&
	          procmem_parse_status(status_text, NULL) == -EINVAL,
	      "NULL arguments: -EINVAL");
}

static void test_eta(void)
{
	CHECK(procmem_oom_eta(1000, 0, 10) == 100, "eta: 1000 B at 10 B/s is 100 s");
	CHECK(procmem_oom_eta(256 * MB, 16 * MB, 1 * MB) == 240, "eta: 240 MiB at 1 MiB/s");
	CHECK(procmem_oom_eta(0, 100, 10) == -1, "eta: no limit");
	CHECK(procmem_oom_eta(1000, 0, 0) == -1, "eta: not growing");
	CHECK(procmem_oom_eta(1000, 0, -5) == -1, "eta: shrinking");
	CHECK(procmem_oom_eta(1000, 0, NAN) == -1, "eta: NaN rate");
	CHECK(procmem_oom_eta(1000, 1000, 10) == -1, "eta: at the limit");
	CHECK(procmem_oom_eta(1000, 2000, 10) == -1, "eta: past the limit");
	CHECK(procmem_oom_eta(~0ULL, 0, 1e18) > 18 && procmem_oom_eta(~0ULL, 0, 1e18) < 19,
	      "eta: no overflow near 2^64");
}

static void test_self(void)
{
	struct procmem before, after;
	size_t size = 64 * MB, i;
	volatile char *p;
	unsigned sum = 0;
	int r;

	r = procmem_read(getpid(), &before);
	CHECK(r == 0 && before.rss > 0 && before.anon > 0,
	      "self: rss %llu kB, anon %llu kB, file %llu kB", before.rss / KB, before.anon / KB,
	      before.file / KB);
	CHECK(before.rss >= before.anon + before.file, "self: rss >= anon + file");
	printf("# self: cgroup v%d '%s' limit %llu usage %llu\n", before.cg_version, before.cg_path,
	       before.cg_limit, before.cg_usage);
	CHECK(before.cg_version == 0 || (before.cg_path[0] == '/' && before.cg_usage > 0),
	      "self: a cgroup version comes with a path and a usage");

	p = malloc(size);
	if (!p) {
		CHECK(0, "self: malloc 64 MiB");
		return;
	}
	memset((char *)p, 1, size);
	r = procmem_read(getpid(), &after);
	for (i = 0; i < size; i += 4096)
		sum += p[i]; /* keep the pages in use past the read */
	CHECK(r == 0 && after.anon >= before.anon + 60 * MB && sum == size / 4096,
	      "self: anon grew %llu kB after touching 64 MiB", (after.anon - before.anon) / KB);
	free((char *)p);
}

static void test_gone(void)
{
	struct procmem m;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	memset(&m, 0, sizeof(m));
	m.rss = 12345;
	CHECK(procmem_read(pid, &m) == -ESRCH && m.rss == 12345,
	      "reaped child: -ESRCH, the last reading kept");
	CHECK(procmem_read(0, &m) == -ESRCH && procmem_read(-1, &m) == -ESRCH &&
	          procmem_read(INT_MAX, &m) == -ESRCH,
	      "pid 0, -1, INT_MAX: -ESRCH");
	CHECK(procmem_read(getpid(), NULL) == -EINVAL, "NULL out: -EINVAL");
}

/* ---- A real cgroup ---- */

#define CG_PATH_MAX (PATH_MAX + 128)

static char cg_outer[CG_PATH_MAX], cg_inner[CG_PATH_MAX + 16];
static pid_t cg_child;

static void remove_cgroup(char *dir)
{
	int i;

	if (!dir[0])
		return;
	for (i = 0; i < 100 && rmdir(dir) && errno == EBUSY; i++)
		usleep(20000);
	dir[0] = '\0';
}

/* Idempotent, and only async-signal-safe calls: also run from signal handlers. */
static void cleanup(void)
{
	if (cg_child > 0) {
		kill(cg_child, SIGKILL);
		waitpid(cg_child, NULL, 0);
		cg_child = 0;
	}
	remove_cgroup(cg_inner);
	remove_cgroup(cg_outer);
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static int has_memory(const char *opts)
{
	char buf[1100];

	snprintf(buf, sizeof(buf), ",%s,", opts);
	return strstr(buf, ",memory,") != NULL;
}

/* Mount point of the v1 memory hierarchy (version 1) or of cgroup2 (version 2). */
static int find_mount(int version, char *dir, size_t size)
{
	char line[4096], mnt[PATH_MAX], fstype[64], opts[1024], *dash;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash, " - %63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (version == 2)
			found = !strcmp(fstype, "cgroup2");
		else
			found = !strcmp(fstype, "cgroup") && has_memory(opts);
		if (found)
			snprintf(dir, size, "%s", mnt);
	}
	fclose(f);
	return found;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0; /* cgroup files report errors on the write, at fclose */
	return ok ? 0 : -errno;
}

static int move_to(const char *dir, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	return write_file(dir, "cgroup.procs", buf);
}

static char *volatile child_mem; /* volatile: the compiler may not drop the malloc */

/* A child that touches 16 MiB when told to, says so, then waits to be killed. */
static pid_t start_child(int *go, int *done)
{
	int to_child[2], to_parent[2];
	char c;
	pid_t pid;

	if (pipe(to_child) || pipe(to_parent))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(to_child[0], &c, 1) == 1) {
			child_mem = malloc(16 * MB);
			if (child_mem)
				memset(child_mem, 1, 16 * MB);
			c = child_mem ? 'k' : 'e';
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		}
		for (;;)
			pause();
	}
	close(to_child[0]);
	close(to_parent[1]);
	*go = to_child[1];
	*done = to_parent[0];
	return pid;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void check_walk_up(int version, const char *outer_name)
{
	char inner_name[128];
	struct procmem m;
	int r;

	snprintf(cg_inner, sizeof(cg_inner), "%s/inner", cg_outer);
	snprintf(inner_name, sizeof(inner_name), "%s/inner", outer_name);
	if (mkdir(cg_inner, 0755)) {
		CHECK(0, "mkdir %s: %s", cg_inner, strerror(errno));
		cg_inner[0] = '\0';
		return;
	}
	r = move_to(cg_inner, cg_child);
	CHECK(r == 0, "move the child into %s%s%s", cg_inner, r ? ": " : "", r ? strerror(-r) : "");
	r = procmem_read(cg_child, &m);
	CHECK(r == 0 && m.cg_version == version && m.cg_limit == 256 * MB &&
	          ends_with(m.cg_path, inner_name) && m.cg_usage >= 16 * MB,
	      "inner cgroup without a limit: 256 MiB from the parent (got v%d '%s' limit %llu "
	      "usage %llu)",
	      m.cg_version, m.cg_path, m.cg_limit, m.cg_usage);
	if (version != 1)
		return; /* a v2 inner cgroup has no memory.max unless the parent delegates it */

	r = write_file(cg_inner, "memory.limit_in_bytes", "67108864\n");
	r = r ? r : procmem_read(cg_child, &m);
	CHECK(r == 0 && m.cg_limit == 64 * MB, "inner limit 64 MiB is the tighter: got %llu",
	      m.cg_limit);
	/* The 16 MiB stayed charged to the parent: 250 MiB free inside, 240 MiB outside. */
	r = write_file(cg_inner, "memory.limit_in_bytes", "262144000\n");
	r = r ? r : procmem_read(cg_child, &m);
	CHECK(r == 0 && m.cg_limit == 256 * MB && m.cg_usage >= 16 * MB,
	      "inner 250 MiB limit vs parent's 256 MiB with 16 MiB used: the parent has less "
	      "headroom: got %llu",
	      m.cg_limit);
}

/* Read the child from a new cgroup namespace rooted at this test's own cgroup,
 * as an agent in a container that shares the host's cgroup mounts would: the
 * paths start with "/.." when this test does not run in the root cgroup.
 */
static void check_from_namespace(int version)
{
	struct procmem m;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWCGROUP))
			_exit(2);
		if (procmem_read(cg_child, &m) || write(fds[1], &m, sizeof(m)) != sizeof(m))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	memset(&m, 0, sizeof(m));
	if (pid < 0 || read(fds[0], &m, sizeof(m)) != sizeof(m))
		m.cg_version = -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2)
		SKIP("unshare(CLONE_NEWCGROUP): not permitted");
	else
		CHECK(m.cg_version == version && m.cg_limit == 256 * MB,
		      "from another cgroup namespace: v%d '%s' limit %llu", m.cg_version, m.cg_path,
		      m.cg_limit);
}

static void check_in_cgroup(int version, const char *outer_name, int go, int done)
{
	struct procmem m;
	double eta;
	char c = 'a';
	int r;

	r = move_to(cg_outer, cg_child);
	CHECK(r == 0, "move the child into %s%s%s", cg_outer, r ? ": " : "", r ? strerror(-r) : "");
	if (write(go, &c, 1) != 1 || read(done, &c, 1) != 1 || c != 'k') {
		CHECK(0, "the child touches 16 MiB in the cgroup");
		return;
	}
	r = procmem_read(cg_child, &m);
	CHECK(r == 0 && m.cg_version == version, "child: cgroup v%d (got %d)", version,
	      m.cg_version);
	CHECK(m.cg_limit == 256 * MB, "child: limit 256 MiB (got %llu)", m.cg_limit);
	CHECK(m.cg_usage >= 16 * MB && m.cg_usage < 256 * MB, "child: usage %llu kB",
	      m.cg_usage / KB);
	CHECK(ends_with(m.cg_path, outer_name), "child: path '%s'", m.cg_path);
	CHECK(m.anon >= 16 * MB, "child: anon %llu kB", m.anon / KB);
	eta = procmem_oom_eta(m.cg_limit, m.cg_usage, MB);
	CHECK(eta > 0 && eta <= 240, "child: OOM in %.0f s at 1 MiB/s", eta);
	check_from_namespace(version);
	check_walk_up(version, outer_name);
}

static void test_cgroup_in(const char *mnt, int version)
{
	char outer_name[64], limit_path[CG_PATH_MAX + 32];
	const char *limit_file = version == 1 ? "memory.limit_in_bytes" : "memory.max";
	struct procmem m;
	int go, done, r;

	snprintf(outer_name, sizeof(outer_name), "/agentleak-test-%d", (int)getpid());
	snprintf(cg_outer, sizeof(cg_outer), "%s%s", mnt, outer_name);
	if (mkdir(cg_outer, 0755)) {
		SKIP("cannot create %s: %s", cg_outer, strerror(errno));
		cg_outer[0] = '\0';
		return;
	}
	snprintf(limit_path, sizeof(limit_path), "%s/%s", cg_outer, limit_file);
	if (access(limit_path, F_OK)) {
		SKIP("%s has no %s: memory is not in %s/cgroup.subtree_control", cg_outer,
		     limit_file, mnt);
		cleanup();
		return;
	}
	r = write_file(cg_outer, limit_file, "268435456\n");
	CHECK(r == 0, "write 256 MiB to %s%s%s", limit_path, r ? ": " : "", r ? strerror(-r) : "");
	cg_child = start_child(&go, &done);
	if (cg_child < 0) {
		CHECK(0, "fork the child");
		cleanup();
		return;
	}
	if (!r)
		check_in_cgroup(version, outer_name, go, done);
	close(go);
	close(done);
	r = cg_child;
	cleanup();
	CHECK(procmem_read(r, &m) == -ESRCH, "child killed: -ESRCH");
	snprintf(limit_path, sizeof(limit_path), "%s%s", mnt, outer_name);
	CHECK(access(limit_path, F_OK) && errno == ENOENT, "test cgroups removed");
}

static void test_cgroup(void)
{
	char mnt[PATH_MAX];

	if (geteuid() != 0) {
		SKIP("cgroup test needs root");
		return;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	alarm(60);
	if (find_mount(1, mnt, sizeof(mnt)))
		test_cgroup_in(mnt, 1);
	else if (find_mount(2, mnt, sizeof(mnt)))
		test_cgroup_in(mnt, 2);
	else
		SKIP("no cgroup v1 memory or cgroup2 mount");
	alarm(0);
}

int main(void)
{
	test_parse();
	test_eta();
	test_self();
	test_gone();
	test_cgroup();
	return check_done();
}
