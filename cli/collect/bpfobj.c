// SPDX-License-Identifier: GPL-2.0
/* bpfobj.c - load one of agentleak's BPF objects and say what the verifier thought.
 *
 * Every program is loaded with the verifier's statistics log (log level 4: no
 * instruction trace, so it costs nothing), into a buffer of our own: on success it
 * gives the verification time; on failure the verifier's last words, which become the
 * error message. The number of instructions processed comes from bpf_prog_info.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/bpfobj.h"
#include "base/vec.h"

#define LOG_STATS 4 /* BPF_LOG_STATS */
#define LOG_SIZE  (64 * 1024)

void bpfobj_parse_stats(const char *log, unsigned int *usec, unsigned int *insns)
{
	const char *p;

	*usec = *insns = 0;
	if (!log)
		return;
	p = strstr(log, "verification time ");
	if (p)
		sscanf(p, "verification time %u usec", usec);
	p = strstr(log, "processed ");
	while (p && sscanf(p, "processed %u insns", insns) != 1)
		p = strstr(p + 1, "processed ");
}

/* Lines that are the verifier's statistics or progress, not its verdict. */
static bool is_stats_line(const char *line, size_t len)
{
	static const char *const prefixes[] = {"verification time", "stack depth", "processed ",
	                                       "Validating ",       "Func#",       "func#"};
	size_t i;

	if (!len)
		return true;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (len >= strlen(prefixes[i]) && !strncmp(line, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The last line of log that is not statistics, into out (without its newline). */
static void last_message(const char *log, char *out, size_t len)
{
	const char *end = log + strlen(log);

	out[0] = '\0';
	while (end > log) {
		const char *start = end;
		size_t n;

		while (start > log && start[-1] != '\n')
			start--;
		n = end - start;
		if (n && start[n - 1] == '\n')
			n--;
		if (!is_stats_line(start, n)) {
			snprintf(out, len, "%.*s", (int)n, start);
			return;
		}
		end = start > log ? start - 1 : log;
	}
}

/* 1234567 -> "1,234,567" */
static void thousands(unsigned int v, char *out, size_t len)
{
	char digits[16];
	size_t n, i, o = 0;

	snprintf(digits, sizeof(digits), "%u", v);
	n = strlen(digits);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

void bpfobj_explain(const char *log, int error, char *out, size_t len)
{
	unsigned int usec, insns;
	char msg[256], num[32], lim[32];
	const char *p;

	log = log ? log : "";
	bpfobj_parse_stats(log, &usec, &insns);
	last_message(log, msg, sizeof(msg));
	if (strstr(log, "BPF program is too large") || insns >= BPF_VERIFIER_LIMIT) {
		thousands(insns, num, sizeof(num));
		thousands(BPF_VERIFIER_LIMIT, lim, sizeof(lim));
		snprintf(out, len,
		         "too complex for this kernel's verifier: it explored %s instructions and "
		         "gave up (its limit is %s)",
		         num, lim);
	} else if (strstr(log, "jumps is too complex")) {
		snprintf(out, len, "too many branches for this kernel's verifier (%s)", msg);
	} else if ((p = strstr(log, "unknown func ")) || (p = strstr(log, "invalid func "))) {
		snprintf(out, len, "it calls a BPF helper this kernel does not offer (%s)", msg);
	} else if (strstr(log, "Too large") && strstr(log, "stack")) {
		snprintf(out, len, "its stack is too large for this kernel (%s)", msg);
	} else if (msg[0]) {
		snprintf(out, len, "the verifier refused it: %s", msg);
	} else if (error == EPERM || error == EACCES) {
		snprintf(out, len,
		         "permission denied (%s): run as root, or with CAP_BPF and CAP_PERFMON",
		         strerror(error));
	} else {
		snprintf(out, len, "%s", strerror(error));
	}
}

static int stats_add(struct prog_stats *stats, const struct prog_stat *s)
{
	if (VEC_GROW(stats->v, stats->cap, stats->n + 1))
		return -1;
	stats->v[stats->n++] = *s;
	return 0;
}

void prog_stats_free(struct prog_stats *stats)
{
	free(stats->v);
	memset(stats, 0, sizeof(*stats));
}

/* Give obj the maps of shared that have the same name. */
static int share_maps(struct bpf_object *obj, struct bpf_object *shared)
{
	struct bpf_map *map, *same;

	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		same = bpf_object__find_map_by_name(shared, bpf_map__name(map));
		if (same && bpf_map__reuse_fd(map, bpf_map__fd(same)))
			return -errno;
	}
	return 0;
}

struct prog_log {
	struct bpf_program *prog;
	char *buf;
};

int bpfobj_load(struct bpf_object_skeleton *skel, const char *name, const char *what,
                struct bpf_object *shared, struct prog_stats *stats, const char *alternative,
                char *err, size_t errlen)
{
	struct bpf_object *obj = *skel->obj;
	struct prog_log logs[32];
	struct bpf_program *prog;
	int n = 0, i, r;

	err[0] = '\0';
	r = shared ? share_maps(obj, shared) : 0;
	if (r) {
		snprintf(err, errlen, "cannot load %s: cannot share the BPF maps with it: %s", what,
		         strerror(-r));
		return -1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (!bpf_program__autoload(prog) || n == (int)(sizeof(logs) / sizeof(logs[0])))
			continue;
		logs[n].prog = prog;
		logs[n].buf = calloc(1, LOG_SIZE);
		if (logs[n].buf) {
			bpf_program__set_log_buf(prog, logs[n].buf, LOG_SIZE);
			bpf_program__set_log_level(prog, LOG_STATS);
		}
		n++;
	}
	r = bpf_object__load_skeleton(skel);
	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		struct prog_stat s = {0};
		int fd = bpf_program__fd(logs[i].prog);

		if (r && fd < 0 && logs[i].buf && logs[i].buf[0] && !err[0]) {
			char why[384];

			bpfobj_explain(logs[i].buf, -r, why, sizeof(why));
			snprintf(err, errlen,
			         "cannot load %s: the kernel refused BPF program '%s': %s. %s",
			         what, bpf_program__name(logs[i].prog), why, alternative);
		}
		if (fd >= 0) {
			snprintf(s.object, sizeof(s.object), "%s", name);
			snprintf(s.name, sizeof(s.name), "%s", bpf_program__name(logs[i].prog));
			bpfobj_parse_stats(logs[i].buf, &s.usec, &s.insns);
			if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.verified_insns)
				s.insns = info.verified_insns;
			if (stats_add(stats, &s))
				r = r ? r : -ENOMEM;
		}
		bpf_program__set_log_buf(logs[i].prog, NULL, 0);
		free(logs[i].buf);
	}
	if (r && !err[0])
		snprintf(err, errlen, "cannot load %s: %s%s. %s", what, strerror(-r),
		         r == -EPERM ? " (run as root, or with CAP_BPF and CAP_PERFMON)" : "",
		         alternative);
	return r ? -1 : 0;
}
