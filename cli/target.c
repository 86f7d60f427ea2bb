/* target.c - find out whether a PID is something agentleak can trace.
 *
 * A target must exist, be a user-space process (kernel threads have no user
 * memory to leak) and still be running. Liveness is re-checked every interval
 * so that a target that exits is reported and the final report still printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include "target.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Fields of /proc/PID/stat: 3 the state (R, S, D, Z, X...), 9 the flags, 22 the
 * start time (tells a reused PID apart). */
static int read_state(int pid, char *state, unsigned long *flags, unsigned long long *start)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_line(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
	                 "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	                 "%*d %*d %llu",
	                 state, flags, start) != 3)
		return -1;
	return 0;
}

#define PF_KTHREAD 0x00200000UL

int target_open(struct target *t, int pid, char *err, size_t errlen)
{
	char path[64], state = 0;
	unsigned long flags = 0;

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
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_line(path, t->comm, sizeof(t->comm)) ||
	    read_state(pid, &state, &flags, &t->start_time)) {
		snprintf(err, errlen, "no process with PID %d (cannot read /proc/%d)", pid, pid);
		return -1;
	}
	if (flags & PF_KTHREAD) {
		snprintf(err, errlen,
		         "PID %d (%s) is a kernel thread: it has no user memory to trace", pid,
		         t->comm);
		return -1;
	}
	if (state == 'Z' || state == 'X') {
		snprintf(err, errlen, "PID %d (%s) has already exited (zombie)", pid, t->comm);
		return -1;
	}
	return 0;
}

bool target_alive(const struct target *t)
{
	char state = 0;
	unsigned long flags;
	unsigned long long start;

	if (read_state(t->pid, &state, &flags, &start))
		return false;
	return state != 'Z' && state != 'X' && start == t->start_time;
}
