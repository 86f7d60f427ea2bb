/* target.h - the processes agentleak traces: checks before attach, liveness after. */
#ifndef AL_TARGET_H
#define AL_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct target {
	int pid;
	char comm[32];
	unsigned long long start_time; /* clock ticks after boot */
	bool exited;
};

/* Check that pid is a live user-space process we may trace and fill t.
 * Returns 0, or -1 with a one-line reason in err. */
int target_open(struct target *t, int pid, char *err, size_t errlen);

/* Still running (and not a zombie)? */
bool target_alive(const struct target *t);

#endif
