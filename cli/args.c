// SPDX-License-Identifier: GPL-2.0
/* args.c - agentleak's option table, in --help order, and the checks across options (see
 * args.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/types.h>
#include "agentleak.h"
#include "args.h"
#include "base/options.h"

#define VERSION "0.1.0"

#define AT(field) OPT_AT(struct config, field)

static int add_pid(void *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	struct config *c = cfg;
	long pid;

	if (c->npids == AL_MAX_TARGETS)
		return opt_fail(err, errlen, "too many -p (at most %d processes)", AL_MAX_TARGETS);
	if (opt_whole(arg, "PID", 1, INT_MAX, &pid, err, errlen))
		return -1;
	c->pids[c->npids++] = pid;
	return 0;
}

static int print_version(void *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	printf("agentleak %s\n", VERSION);
	return OPT_STOP;
}

static int set_output(void *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	return outputs_set(&((struct config *)cfg)->out, name, arg, err, errlen);
}

/* The exporters' options (output.h) as rows of the table: adding one needs no change
 * here. */
static const struct opt *output_rows(void)
{
	const struct output_option *o = outputs_options();
	static struct opt *rows;
	int i, n;

	if (rows)
		return rows;
	for (n = 0; o[n].name; n++)
		;
	rows = calloc(n + 1, sizeof(*rows)); /* zeroed: OPT_END last */
	for (i = 0; rows && i < n; i++)
		rows[i] =
		    (struct opt){OPT_CALL, o[i].name, 0, o[i].arg, o[i].help, .call = set_output};
	return rows;
}

static const struct opt table[] = {
    {OPT_TEXT,
     .help = "Usage: agentleak -p PID [-p PID ...] [OPTIONS] [INTERVAL [COUNT]]\n"
             "       agentleak --check\n"
             "\n"
             "Trace the allocator of running processes and show, every INTERVAL seconds\n"
             "(default 5), the stacks holding the most live memory: allocated and not yet\n"
             "freed since agentleak attached. Nothing is restarted or instrumented; uprobes\n"
             "on the malloc family of the process's real allocator (glibc, jemalloc,\n"
             "tcmalloc, or one linked into the program) and the mmap/munmap/mremap syscalls.\n"
             "Stop with Ctrl-C, SIGTERM or SIGHUP: a final report is printed and agentleak "
             "exits 0.\n"
             "\n"
             "Options:\n"},
    {OPT_CALL, "pid", 'p', "PID", "trace this process (repeat for several, up to 64)",
     .call = add_pid},
    {OPT_WHOLE, "top", 'T', "N", "stacks shown per report (default 10)", AT(top), .min = 1,
     .max = 100000},
    {OPT_SECONDS, "duration", 'd', "SECS", "stop after SECS seconds (default: until Ctrl-C)",
     AT(duration)},
    {OPT_WHOLE, "stack-depth", 0, "N", "frames printed per stack (default 12)", AT(stack_depth),
     .min = 1, .max = AL_MAX_STACK_DEPTH},
    {OPT_WHOLE, "max-allocs", 0, "N", "live blocks tracked, all targets (default 1048576)",
     AT(max_allocs), .min = 1024, .max = 1 << 26},
    {OPT_WHOLE, "max-stacks", 0, "N", "distinct stacks tracked (default 16384)", AT(max_stacks),
     .min = 256, .max = 1 << 22},
    {OPT_WHOLE, "sample-bytes", 0, "R",
     "sample allocations, one per R bytes on average (as\n"
     "tcmalloc and Go do); numbers become unbiased estimates.\n"
     "Cuts map work, not probe traps (default 0: every one)",
     AT(sample_bytes), .min = 0, .max = 1L << 40},
    {OPT_STRING, "requests", 'r', "SOURCE",
     "what counts one request, the x axis of the verdicts:\n"
     "  uprobe:PATH:SYMBOL      each call of SYMBOL in PATH\n"
     "  usdt:PATH:PROVIDER:NAME each hit of a USDT probe\n"
     "  accept                  each connection accepted\n"
     "  http                    each HTTP/1.x request read\n"
     "                          from a socket (keep-alive too)\n"
     "  metric:URL:NAME         a counter on the app's own\n"
     "                          Prometheus endpoint (loopback)\n"
     "default: time (verdicts per second and per hour)",
     AT(requests)},
    {OPT_SECONDS, "sample-period", 0, "S", "read the counters every S seconds for the trend (0.2)",
     AT(sample_period)},
    {OPT_WHOLE, "warmup", 0, "N", "first N samples of a stack not used for leak tests (2)",
     AT(trend.warmup), .min = 0, .max = 1000},
    {OPT_WHOLE, "window", 0, "N",
     "samples kept per stack, at most 256; older ones are\n"
     "thinned out, so the window reaches back to attach (32)",
     AT(trend.capacity), .min = 8, .max = 256},
    {OPT_BYTES, "min-growth", 0, "B", "bytes/hour below which nothing is a leak (1048576)",
     AT(trend.min_growth_per_hour)},
    {OPT_FLAG, "no-python", 0, NULL,
     "native frames only, even in a CPython target (Python\n"
     "frames are on by default for CPython 3.10 to 3.13)",
     AT(no_python)},
    {OPT_FLAG, "python-objects", 0, NULL,
     "name what leaked: read the object headers of a sample\n"
     "of each growing Python stack's live blocks (256, or 8 MiB\n"
     "of pages or arenas) and list their types with counts",
     AT(python_objects)},
    {OPT_TEXT, .help = "\nOutputs (all may be combined):\n"},
    {OPT_INCLUDE, .include = output_rows},
    {OPT_TEXT, .help = "\n"},
    {OPT_CHOICE, "mode", 0, "MODE",
     "precise (default): uprobes on the allocator, exact\n"
     "bytes and objects per allocation stack.\n"
     "growth: the low-cost tier, no allocator probe: user\n"
     "write faults (new anonymous pages) counted per stack\n"
     "(frame #0 is the innermost frame in the executable), pages given\n"
     "back by munmap/madvise/brk/mremap; live bytes are the\n"
     "touched anonymous pages. Cost scales with growth, not\n"
     "with the allocation rate.\n"
     "auto: the growth tier, and when a process grows (a page\n"
     "fault stack reads leak or growing) the precise tier for\n"
     "one diagnosis window, reported when it closes; windows\n"
     "are at least --diagnose-gap apart (default: <= 10% of\n"
     "the time)",
     AT(mode), .choices = tier_modes},
    {OPT_SECONDS, "diagnose-for", 0, "S", "--mode auto: seconds a diagnosis window lasts (60)",
     AT(diagnose_for)},
    {OPT_SECONDS, "diagnose-gap", 0, "S",
     "--mode auto: seconds between two windows, at least\n(default 9 x --diagnose-for)",
     AT(diagnose_gap)},
    {OPT_FLAG, "check", 0, NULL,
     "can each mode run on this kernel? Probe its features,\n"
     "load every BPF program (attaching nothing) and print\n"
     "what each costs the verifier; exit 0 when all can run",
     AT(check)},
    {OPT_FLAG, "verbose", 'v', NULL,
     "show the kernel's features, each BPF program's verifier\n"
     "cost, probe placement and libbpf messages",
     AT(verbose)},
    {OPT_HELP, .name = "help", .key = 'h', .help = "this help"},
    {OPT_CALL, "version", 'V', NULL, "print the version", .call = print_version},
    {OPT_TEXT,
     .help = "\n"
             "Verdicts, per stack, from its live bytes against requests (or time):\n"
             "  leak       grows linearly: Theil-Sen slope with a 95% interval > 0, Mann-Kendall\n"
             "             trend test, R2 >= 0.8, still rising recently, above --min-growth,\n"
             "             for 3 samples in a row\n"
             "  growing    rising, not (yet) a leak      plateau    grew, then flattened (cache)\n"
             "  transient  back to its baseline          stable     no significant change\n"
             "\n"
             "Reading the report:\n"
             "  [1] pid 1234 malloc: 40960 B live in 10 objects; 10 allocs (40960 B), 0 frees\n"
             "      #0 leak+0x1a (server.c:23)     <- the caller of malloc (exact)\n"
             "      #1 handle+0x55 (server.c:80)   <- frame pointer walk (needs "
             "-fno-omit-frame-pointer)\n"
             "  'losses' counts what could not be tracked: a full map, a stack that could not be\n"
             "  taken, frees of blocks allocated before attach (unknown-frees), lost events.\n"
             "\n"
             "Examples:\n"
             "  sudo agentleak -p $(pgrep -n myservice)          report every 5 s until Ctrl-C\n"
             "  sudo agentleak -p 1234 -p 5678 -T 20 10 6          every 10 s, 6 reports, 20 "
             "stacks\n"
             "  sudo agentleak -p 1234 -d 60 > leak-report.txt     one minute, then the final "
             "report\n"
             "  sudo agentleak -p 1234 --mode auto --requests accept 60\n"
             "                                    always on: growth tier, precise windows on "
             "growth\n"
             "\n"
             "Needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE (CAP_SYS_ADMIN on older "
             "kernels).\n"
             "See agentleak(8).\n"},
    {.kind = OPT_END},
};

/* The operands: INTERVAL [COUNT]. */
static int operands(struct config *c, int argc, char **argv, int first, char *err, size_t errlen)
{
	if (first < argc && opt_seconds(argv[first], "INTERVAL", &c->interval, err, errlen))
		return -1;
	if (first + 1 < argc &&
	    opt_whole(argv[first + 1], "COUNT", 1, LONG_MAX, &c->count, err, errlen))
		return -1;
	if (first + 2 < argc)
		return opt_fail(
		    err, errlen,
		    "unexpected argument '%s' (usage: agentleak -p PID [INTERVAL [COUNT]])",
		    argv[first + 2]);
	return 0;
}

/* What no single option can tell. diagnose_for and diagnose_gap are still 0 when not
 * given. */
static int check(const struct config *c, char *err, size_t errlen)
{
	if (c->check)
		return c->npids ? opt_fail(err, errlen,
		                           "--check looks at the kernel, not at a process: drop -p")
		                : 0;
	if (!c->npids)
		return opt_fail(err, errlen, "no target: give a process with -p PID (see --help)");
	if (c->mode == TIER_MODE_GROWTH && c->sample_bytes)
		return opt_fail(err, errlen,
		                "--sample-bytes samples allocator calls: it has no meaning with "
		                "--mode growth");
	if (c->python_objects && c->no_python)
		return opt_fail(err, errlen,
		                "--python-objects reads the objects of Python stacks: it cannot be "
		                "combined with --no-python");
	if ((c->diagnose_for || c->diagnose_gap) && c->mode != TIER_MODE_AUTO)
		return opt_fail(err, errlen,
		                "--diagnose-for and --diagnose-gap set the diagnosis windows of "
		                "--mode auto: add --mode auto");
	return 0;
}

int args_parse(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	int first, r;

	*c = (struct config){
	    .interval = 5,
	    .top = 10,
	    .stack_depth = 12,
	    .max_allocs = 1 << 20,
	    .max_stacks = 16384,
	    .sample_period = 0.2,
	};
	trend_defaults(&c->trend);
	r = opt_parse(table, c, argc, argv, &first, err, errlen);
	if (r)
		return r;
	if (operands(c, argc, argv, first, err, errlen) || check(c, err, errlen))
		return -1;
	if (!c->diagnose_for)
		c->diagnose_for = 60;
	if (!c->diagnose_gap)
		c->diagnose_gap = -1;
	c->out.top = c->top;
	c->out.stack_depth = c->stack_depth;
	return 0;
}
