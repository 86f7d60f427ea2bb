// SPDX-License-Identifier: GPL-2.0
/* target.c - find out whether a PID is something agentleak can trace.
 *
 * A target must exist, be a user-space process (kernel threads have no user
 * memory to leak), not be agentleak itself, and still be running. A thread id is
 * taken for its process. Liveness is re-checked every interval so that a target that
 * exits (or execs another program) is reported and the final report still printed.
 *
 * The target names itself (prctl PR_SET_NAME can put a newline or an escape sequence
 * in its comm), so /proc files are read whole, never by lines, /proc/PID/stat is
 * parsed from its last ')', and the comm is kept escaped (text.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include "target/target.h"
#include "base/safeio.h"
#include "base/text.h"

#define PF_KTHREAD 0x00200000UL

int target_parse_stat(const char *buf, size_t len, struct target_stat *st)
{
	const char *p = NULL, *q;
	char tail[512];
	size_t n;

	/* The comm (field 2) is in parentheses and may hold anything, ')' too: the
	 * fields go on after the last ')'. */
	for (q = buf; q < buf + len && *q; q++)
		if (*q == ')')
			p = q;
	if (!p || p + 2 >= buf + len)
		return -1;
	n = (size_t)(buf + len - (p + 2));
	if (n >= sizeof(tail))
		n = sizeof(tail) - 1;
	memcpy(tail, p + 2, n);
	tail[n] = '\0';
	if (sscanf(tail,
	           "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	           "%*d %*d %llu",
	           &st->state, &st->flags, &st->start_time) != 3 ||
	    (!(st->state >= 'A' && st->state <= 'Z') && !(st->state >= 'a' && st->state <= 'z')))
		return -1; /* the kernel writes a letter: R, S, D, Z, T, t, X, I, ... */
	return 0;
}

static int read_stat(int pid, struct target_stat *st)
{
	char path[64], buf[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = safeio_read_small(path, buf, sizeof(buf));
	return n < 0 ? -1 : target_parse_stat(buf, (size_t)n, st);
}

/* The process (thread group) a task id belongs to, from /proc/ID/status. */
static int read_tgid(int id)
{
	char path[64], buf[4096], *p;
	int tgid;

	snprintf(path, sizeof(path), "/proc/%d/status", id);
	if (safeio_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nTgid:");
	if (!p || sscanf(p + 6, "%d", &tgid) != 1)
		return -1;
	return tgid;
}

/* The executable's identity: it changes when the process execs. */
static void read_exe(int pid, unsigned long long *dev, unsigned long long *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st)) {
		*dev = *ino = 0;
		return;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
}

static void read_comm(int pid, char *comm, size_t len)
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = safeio_read_small(path, buf, sizeof(buf));
	if (n < 0)
		n = 0;
	if (n > 0 && buf[n - 1] == '\n') /* the one the kernel adds */
		buf[--n] = '\0';
	text_escape(comm, len, buf, (size_t)n);
}

int target_open(struct target *t, int pid, char *err, size_t errlen)
{
	struct target_stat st;
	int tgid;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (pid <= 0) {
		snprintf(err, errlen, "invalid PID %d", pid);
		return -1;
	}
	if (kill(pid, 0) && errno == ESRCH) {
		snprintf(err, errlen, "no process with PID %d", pid);
		return -1;
	}
	tgid = read_tgid(pid);
	if (tgid > 0 && tgid != pid) {
		t->thread = pid;
		t->pid = pid = tgid;
	}
	read_comm(pid, t->comm, sizeof(t->comm));
	if (read_stat(pid, &st)) {
		snprintf(err, errlen, "no process with PID %d (cannot read /proc/%d)", pid, pid);
		return -1;
	}
	t->start_time = st.start_time;
	if (pid == getpid()) {
		snprintf(err, errlen, "PID %d is agentleak itself: it cannot trace itself", pid);
		return -1;
	}
	if (st.flags & PF_KTHREAD) {
		snprintf(err, errlen,
		         "PID %d (%s) is a kernel thread: it has no user memory to trace", pid,
		         t->comm);
		return -1;
	}
	if (st.state == 'Z' || st.state == 'X') {
		snprintf(err, errlen, "PID %d (%s) has already exited (zombie)", pid, t->comm);
		return -1;
	}
	read_exe(pid, &t->exe_dev, &t->exe_ino);
	return 0;
}

enum target_state target_check(struct target *t, unsigned long long execs)
{
	struct target_stat st;
	unsigned long long dev, ino;

	if (read_stat(t->pid, &st) || st.state == 'Z' || st.state == 'X' ||
	    st.start_time != t->start_time)
		return TARGET_EXITED;
	read_exe(t->pid, &dev, &ino);
	if (execs != t->execs || (ino && (dev != t->exe_dev || ino != t->exe_ino))) {
		t->execs = execs;
		t->exe_dev = dev;
		t->exe_ino = ino;
		snprintf(t->old_comm, sizeof(t->old_comm), "%s", t->comm);
		read_comm(t->pid, t->comm, sizeof(t->comm));
		return TARGET_EXECED;
	}
	return TARGET_ALIVE;
}
