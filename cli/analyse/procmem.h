/* SPDX-License-Identifier: GPL-2.0 */
/* procmem.h - a process's memory, and the memory limit of its cgroup.
 *
 * The report puts the leak next to what the kernel sees (VmRSS and its anon,
 * file and shmem parts from /proc/PID/status) and next to the cgroup limit that
 * will OOM-kill the process, to say when that happens at the current growth rate.
 * Cgroup v1 (memory controller) and v2 are both read, from the hierarchies this
 * process sees mounted (/proc/self/mountinfo). The parsers are unit tested.
 */
#ifndef AL_PROCMEM_H
#define AL_PROCMEM_H

struct procmem {
	unsigned long long rss, anon, file, shmem; /* bytes: VmRSS, RssAnon, RssFile, RssShmem */
	unsigned long long cg_limit; /* bytes; 0 when no limit ("max", v1 >= 2^60) or unknown */
	unsigned long long cg_usage; /* bytes: memory.current (v2), memory.usage_in_bytes (v1) */
	char cg_path[512];           /* cgroup of the process (in the hierarchy read), "" unknown */
	int cg_version;              /* hierarchy the cg_ numbers come from: 1, 2, 0 unknown */
};

/* Read everything. The limit is the one, among the process's cgroup and its
 * ancestors, with the least headroom (limit - usage): the one that OOMs first;
 * cg_usage is that cgroup's usage (the process's own cgroup usage when there is
 * no limit). Missing cgroup information is not an error: the fields stay 0/"".
 * Returns 0, -ESRCH when the process is gone (or pid <= 0), or another -errno
 * when /proc/PID/status cannot be read; *out is only written on success.
 */
int procmem_read(int pid, struct procmem *out);

/* Parse the text of /proc/PID/status (NUL-terminated) into rss, anon, file and
 * shmem; absent lines (kernel threads, zombies) leave 0. Other fields are not
 * touched. Returns 0, or -EINVAL for NULL arguments.
 */
int procmem_parse_status(const char *text, struct procmem *out);

/* Parse one line of /proc/PID/cgroup, "ID:CONTROLLERS:PATH" (NUL-terminated, its
 * newline optional; cut in place): the v2 line ("0::PATH") sets v2, a line whose
 * controllers include memory sets v1 (each a string of at most size bytes); any
 * other line changes neither. The path is the process's to choose (a delegated
 * cgroup subtree), so it is parsed as untrusted text.
 */
void procmem_parse_cgroup_line(char *line, char *v1, char *v2, size_t size);

/* Seconds until usage reaches limit at bytes_per_second; -1 when there is no
 * limit (0), the rate is not positive, or usage is already at or past the limit.
 */
double procmem_oom_eta(unsigned long long limit, unsigned long long usage, double bytes_per_second);

#endif
