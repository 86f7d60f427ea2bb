// SPDX-License-Identifier: GPL-2.0
/* test_bpfobj.c - unit tests of cli/collect/bpfobj.c: the verifier's statistics log read, and a
 * refusal put in words. The logs are what kernel 6.18's verifier wrote (log level 4).
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "collect/bpfobj.h"

#include "check.h"

static const char loaded[] = "verification time 4284 usec\n"
                             "stack depth 168+0+8\n"
                             "processed 956 insns (limit 1000000) max_states_per_insn 1 "
                             "total_states 59 peak_states 59 mark_read 0\n";

static const char too_large[] =
    "BPF program is too large. Processed 1000001 insn\n"
    "verification time 5829501 usec\n"
    "stack depth 144+8\n"
    "processed 1000001 insns (limit 1000000) max_states_per_insn 66 total_states 38470 "
    "peak_states 207707 mark_read 0\n";

static const char bad_access[] = "Validating scan_one() func#2...\n"
                                 "R1 invalid mem access 'scalar'\n"
                                 "verification time 3886 usec\n"
                                 "stack depth 144+0+0\n"
                                 "processed 801 insns (limit 1000000) max_states_per_insn 1 "
                                 "total_states 47 peak_states 47 mark_read 0\n";

static const char no_helper[] = "unknown func bpf_loop#181\n"
                                "verification time 20 usec\n"
                                "stack depth 0\n"
                                "processed 3 insns (limit 1000000) max_states_per_insn 0 "
                                "total_states 0 peak_states 0 mark_read 0\n";

int main(void)
{
	unsigned int usec, insns;
	char why[512];

	bpfobj_parse_stats(loaded, &usec, &insns);
	CHECK(usec == 4284 && insns == 956, "statistics: 4284 usec, 956 insns (got %u, %u)", usec,
	      insns);
	bpfobj_parse_stats(too_large, &usec, &insns);
	CHECK(insns == 1000001, "statistics of a refused program: 1000001 insns (got %u)", insns);
	bpfobj_parse_stats("", &usec, &insns);
	CHECK(usec == 0 && insns == 0, "an empty log: zeros");
	bpfobj_parse_stats(NULL, &usec, &insns);
	CHECK(usec == 0 && insns == 0, "no log: zeros");

	bpfobj_explain(too_large, E2BIG, why, sizeof(why));
	CHECK(strstr(why, "too complex") && strstr(why, "1,000,001 instructions") &&
	          strstr(why, "1,000,000") && !strstr(why, "Argument list"),
	      "too large: in words with both numbers (%s)", why);
	bpfobj_explain(bad_access, EACCES, why, sizeof(why));
	CHECK(!strcmp(why, "the verifier refused it: R1 invalid mem access 'scalar'"),
	      "a refusal quotes the verifier's last words (%s)", why);
	bpfobj_explain(no_helper, EINVAL, why, sizeof(why));
	CHECK(strstr(why, "helper this kernel does not offer") && strstr(why, "bpf_loop"),
	      "a missing helper is named (%s)", why);
	bpfobj_explain("", EPERM, why, sizeof(why));
	CHECK(strstr(why, "permission denied") && strstr(why, "CAP_BPF"),
	      "no log, EPERM: permissions (%s)", why);
	bpfobj_explain(NULL, ENOMEM, why, sizeof(why));
	CHECK(!strcmp(why, strerror(ENOMEM)), "no log: the error (%s)", why);
	bpfobj_explain(too_large, E2BIG, why, 16);
	CHECK(strlen(why) == 15, "a short buffer is cut, not overrun (%zu)", strlen(why));
	return check_done();
}
