// SPDX-License-Identifier: GPL-2.0
/* preflight.c - agentleak --check (see preflight.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/capability.h>
#include "collect/attach.h"
#include "collect/bpfobj.h"
#include "collect/kernel_features.h"
#include "collect/preflight.h"

#define CHECK_SAMPLE_BYTES 524288 /* any R > 0: the sampling code is verified */

/* The BPF objects a mode loads, configured so that every code path a run of that mode
 * can take is verified (request counting by accept and by HTTP request reads, sampling). */
static const struct mode_config {
	const char *mode;
	const char *label;
	unsigned int tiers;
	bool growth;  /* the growth tier (and the common programs' growth paths) */
	bool precise; /* load the precise tier too, as --mode auto's windows do */
	unsigned long long sample_bytes;
} configs[] = {
    {"precise", "precise", TIER_BASE | TIER_PRECISE, false, true, 0},
    {"precise", "precise --sample-bytes", TIER_BASE | TIER_PRECISE, false, true,
     CHECK_SAMPLE_BYTES},
    {"growth", "growth", TIER_BASE | TIER_GROWTH, true, false, 0},
    {"auto", "auto (all windows)", TIER_BASE | TIER_PRECISE | TIER_GROWTH, true, true,
     CHECK_SAMPLE_BYTES},
};

#define NCONFIGS (int)(sizeof(configs) / sizeof(configs[0]))

/* Load one configuration; print its programs. Returns 0 when it loaded and every
 * program is within the budget; why is set when it did not load. */
static int check_config(const struct mode_config *c, bool verbose, int *over, char *why,
                        size_t whylen)
{
	struct attach_opts o = {
	    .max_allocs = 1024, /* the verifier's work does not depend on map sizes */
	    .max_stacks = 256,
	    .verbose = verbose,
	    .count_accept = true,
	    .count_http = true,
	    .request_uprobe = true,
	    .request_usdt = true,
	    .sample_bytes = c->sample_bytes,
	    .growth = c->growth,
	};
	const struct prog_stats *st;
	struct attacher *a;
	int i, r = 0;

	why[0] = '\0';
	a = attach_open(&o, why, whylen);
	if (!a)
		return -1;
	if (c->precise && attach_load_precise(a, why, whylen))
		r = -1;
	st = attach_prog_stats(a);
	for (i = 0; i < st->n; i++) {
		const struct prog_stat *s = &st->v[i];
		char name[64];
		bool too_big = s->insns > BPF_INSN_BUDGET;

		snprintf(name, sizeof(name), "%s/%s", s->object, s->name);
		printf("  %-24s %-26s %8u  %6.2f%%  %7.1f ms%s\n", c->label, name, s->insns,
		       100.0 * s->insns / BPF_VERIFIER_LIMIT, s->usec / 1000.0,
		       too_big ? "  OVER BUDGET" : "");
		if (too_big)
			(*over)++;
	}
	attach_close(a);
	return r;
}

int preflight_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};
	unsigned long long eff;

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	eff = data[0].effective | (unsigned long long)data[1].effective << 32;
#define HAS(c) (eff & (1ULL << (c)))
	if (!HAS(CAP_SYS_ADMIN) && !(HAS(CAP_BPF) && HAS(CAP_PERFMON))) {
		snprintf(err, errlen,
		         "permission denied: run as root (sudo) or grant CAP_BPF, CAP_PERFMON and "
		         "CAP_SYS_PTRACE");
		return -1;
	}
#undef HAS
	return 0;
}

int preflight_run(bool verbose)
{
	char why[NCONFIGS][768];
	bool can[NCONFIGS];
	struct features f;
	struct utsname u;
	int i, m, over = 0, status = 0;

	uname(&u);
	printf("agentleak --check on Linux %s (%s)\n\nKernel features:\n", u.release, u.machine);
	features_probe(&f);
	features_print(stdout, &f);
	printf("\nBPF programs as each mode loads them: the instructions the verifier processed\n"
	       "(its limit: %d per program; agentleak's budget: %d) and the time it took:\n",
	       BPF_VERIFIER_LIMIT, BPF_INSN_BUDGET);
	printf("  %-24s %-26s %8s  %7s  %10s\n", "mode", "program", "insns", "% limit", "time");
	for (i = 0; i < NCONFIGS; i++) {
		const char *missing = features_missing(&f, configs[i].tiers);

		if (missing) {
			snprintf(why[i], sizeof(why[i]), "%s", missing);
			can[i] = false;
			continue;
		}
		can[i] = check_config(&configs[i], verbose, &over, why[i], sizeof(why[i])) == 0;
	}
	if (over)
		printf("  %d program(s) over agentleak's budget of %d instructions\n", over,
		       BPF_INSN_BUDGET);
	printf("\nModes:\n");
	/* configs[] lists each mode's configurations together. */
	for (m = 0; m < NCONFIGS; m++) {
		const char *reason = NULL;

		if (m && !strcmp(configs[m].mode, configs[m - 1].mode))
			continue;
		for (i = m; i < NCONFIGS && !reason; i++)
			if (!strcmp(configs[i].mode, configs[m].mode) && !can[i])
				reason = why[i];
		printf("  %-8s %s%s\n", configs[m].mode, reason ? "cannot run: " : "can run",
		       reason ? reason : "");
		if (reason)
			status = 1;
	}
	return status || over ? 1 : 0;
}
