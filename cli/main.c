// SPDX-License-Identifier: GPL-2.0
/* main.c - agentleak: find the allocation sites of a running process that keep growing.
 *
 * Options, the privilege check, then: check each target (target.c), find the object
 * that really provides its malloc (allocator.c), attach the BPF programs (attach.c),
 * and every INTERVAL read the kernel's counters (sampler.c) and print the top stacks
 * by live bytes (report.c), symbolized (symbolize.c). Ctrl-C, SIGTERM, --duration,
 * COUNT reports, or every target exiting end the run with a final report.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "agentleak.h"
#include "target/allocator.h"
#include "analyse/analyse.h"
#include "collect/attach.h"
#include "analyse/diagnose.h"
#include "collect/kernel_features.h"
#include "collect/preflight.h"
#include "analyse/requests.h"
#include "export/output.h"
#include "export/report.h"
#include "export/snapbuild.h"
#include "collect/sampler.h"
#include "symbols/symbolize.h"
#include "target/target.h"
#include "base/text.h"

#define MAX_TARGETS 64
#define VERSION     "0.1.0"

static struct env {
	int pids[MAX_TARGETS];
	int npids;
	double interval;
	long count;
	double duration;
	int top;
	int stack_depth;
	unsigned int max_allocs;
	unsigned int max_stacks;
	bool verbose;
	const char *requests;
	double sample_period;
	unsigned long long sample_bytes;
	const char *prom_file;
	bool keep;
	const char *listen;
	const char *pprof;
	bool json;
	const char *json_file;
	const char *folded;
	const char *html;
	bool growth;    /* the growth tier is loaded (--mode growth or auto) */
	bool auto_mode; /* --mode auto: precise tier in diagnosis windows */
	double diagnose_for;
	double diagnose_gap; /* < 0: 9 x diagnose_for */
	bool check;          /* --check: probe the kernel and the BPF programs, then exit */
	struct trend_params trend;
} env = {
    .sample_period = 0.2,
    .interval = 5,
    .top = 10,
    .stack_depth = 12,
    .max_allocs = 1 << 20,
    .max_stacks = 16384,
    .diagnose_for = 60,
    .diagnose_gap = -1,
};

static volatile sig_atomic_t stop_signal, dump_signal;
static bool stdout_gone; /* the reader of stdout went away: end the run */

static const char usage[] =
    "Usage: agentleak -p PID [-p PID ...] [OPTIONS] [INTERVAL [COUNT]]\n"
    "       agentleak --check\n"
    "\n"
    "Trace the allocator of running processes and show, every INTERVAL seconds\n"
    "(default 5), the stacks holding the most live memory: allocated and not yet\n"
    "freed since agentleak attached. Nothing is restarted or instrumented; uprobes\n"
    "on the malloc family of the process's real allocator (glibc, jemalloc,\n"
    "tcmalloc, or one linked into the program) and the mmap/munmap/mremap syscalls.\n"
    "Stop with Ctrl-C, SIGTERM or SIGHUP: a final report is printed and agentleak exits 0.\n"
    "\n"
    "Options:\n"
    "  -p, --pid PID          trace this process (repeat for several, up to 64)\n"
    "  -T, --top N            stacks shown per report (default 10)\n"
    "  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C)\n"
    "      --stack-depth N    frames printed per stack (default 12)\n"
    "      --max-allocs N     live blocks tracked, all targets (default 1048576)\n"
    "      --max-stacks N     distinct stacks tracked (default 16384)\n"
    "      --sample-bytes R   sample allocations, one per R bytes on average (as\n"
    "                         tcmalloc and Go do); numbers become unbiased estimates.\n"
    "                         Cuts map work, not probe traps (default 0: every one)\n"
    "  -r, --requests SOURCE  what counts one request, the x axis of the verdicts:\n"
    "                           uprobe:PATH:SYMBOL      each call of SYMBOL in PATH\n"
    "                           usdt:PATH:PROVIDER:NAME each hit of a USDT probe\n"
    "                           accept                  each connection accepted\n"
    "                           metric:URL:NAME         a counter on the app's own\n"
    "                                                   Prometheus endpoint (loopback)\n"
    "                         default: time (verdicts per second and per hour)\n"
    "      --sample-period S  read the counters every S seconds for the trend (0.2)\n"
    "      --warmup N         first N samples of a stack not used for leak tests (2)\n"
    "      --window N         samples kept per stack, at most 256; older ones are\n"
    "                         thinned out, so the window reaches back to attach (32)\n"
    "      --min-growth B     bytes/hour below which nothing is a leak (1048576)\n"
    "\n"
    "Outputs (all may be combined):\n"
    "      --prom-file PATH   Prometheus textfile (node_exporter textfile collector),\n"
    "                         rewritten atomically every INTERVAL; removed at exit\n"
    "      --keep             keep the --prom-file at exit\n"
    "      --listen [ADDR:]PORT  serve the same metrics at http://ADDR:PORT/metrics\n"
    "                         (ADDR defaults to 127.0.0.1)\n"
    "      --pprof FILE       gzip profile.proto heap profile, at exit and on SIGUSR1\n"
    "                         (go tool pprof -top FILE; inuse_space by default)\n"
    "      --json             one JSON object per report on stdout instead of text\n"
    "      --json-file FILE   append one JSON object per report to FILE\n"
    "      --folded FILE      folded stacks weighted by live bytes, at exit (flamegraph)\n"
    "      --html FILE        a self-contained HTML report, at exit and on SIGUSR1\n"
    "\n"
    "      --mode MODE        precise (default): uprobes on the allocator, exact\n"
    "                         bytes and objects per allocation stack.\n"
    "                         growth: the low-cost tier, no allocator probe: user\n"
    "                         write faults (new anonymous pages) counted per stack\n"
    "                         (frame #0 is the innermost frame in the executable), pages given\n"
    "                         back by munmap/madvise/brk/mremap; live bytes are the\n"
    "                         touched anonymous pages. Cost scales with growth, not\n"
    "                         with the allocation rate.\n"
    "                         auto: the growth tier, and when a process grows (a page\n"
    "                         fault stack reads leak or growing) the precise tier for\n"
    "                         one diagnosis window, reported when it closes; windows\n"
    "                         are at least --diagnose-gap apart (default: <= 10% of\n"
    "                         the time)\n"
    "      --diagnose-for S   --mode auto: seconds a diagnosis window lasts (60)\n"
    "      --diagnose-gap S   --mode auto: seconds between two windows, at least\n"
    "                         (default 9 x --diagnose-for)\n"
    "      --check            can each mode run on this kernel? Probe its features,\n"
    "                         load every BPF program (attaching nothing) and print\n"
    "                         what each costs the verifier; exit 0 when all can run\n"
    "  -v, --verbose          show the kernel's features, each BPF program's verifier\n"
    "                         cost, probe placement and libbpf messages\n"
    "  -h, --help             this help\n"
    "  -V, --version          print the version\n"
    "\n"
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
    "      #1 handle+0x55 (server.c:80)   <- frame pointer walk (needs -fno-omit-frame-pointer)\n"
    "  'losses' counts what could not be tracked: a full map, a stack that could not be\n"
    "  taken, frees of blocks allocated before attach (unknown-frees), lost events.\n"
    "\n"
    "Examples:\n"
    "  sudo agentleak -p $(pgrep -n myservice)          report every 5 s until Ctrl-C\n"
    "  sudo agentleak -p 1234 -p 5678 -T 20 10 6          every 10 s, 6 reports, 20 stacks\n"
    "  sudo agentleak -p 1234 -d 60 > leak-report.txt     one minute, then the final report\n"
    "  sudo agentleak -p 1234 --mode auto --requests accept 60\n"
    "                                    always on: growth tier, precise windows on growth\n"
    "\n"
    "Needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE (CAP_SYS_ADMIN on older kernels).\n"
    "See agentleak(8).\n";

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, 'p'},
    {"top", required_argument, NULL, 'T'},
    {"duration", required_argument, NULL, 'd'},
    {"stack-depth", required_argument, NULL, 1},
    {"max-allocs", required_argument, NULL, 2},
    {"max-stacks", required_argument, NULL, 3},
    {"requests", required_argument, NULL, 'r'},
    {"sample-period", required_argument, NULL, 4},
    {"warmup", required_argument, NULL, 5},
    {"window", required_argument, NULL, 6},
    {"min-growth", required_argument, NULL, 7},
    {"sample-bytes", required_argument, NULL, 16},
    {"prom-file", required_argument, NULL, 8},
    {"keep", no_argument, NULL, 9},
    {"listen", required_argument, NULL, 10},
    {"pprof", required_argument, NULL, 11},
    {"json", no_argument, NULL, 12},
    {"json-file", required_argument, NULL, 13},
    {"folded", required_argument, NULL, 14},
    {"html", required_argument, NULL, 15},
    {"mode", required_argument, NULL, 17},
    {"diagnose-for", required_argument, NULL, 18},
    {"diagnose-gap", required_argument, NULL, 19},
    {"check", no_argument, NULL, 20},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {},
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentleak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static long parse_long(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("invalid %s '%s': expected a whole number from %ld to %ld (see --help)", what,
		    s, min, max);
	return v;
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* Decimal only: strtod would take "0x1", "inf" and leading blanks too. */
	if (errno || end == s || *end || strspn(s, "0123456789.") != strlen(s) || !(v > 0) ||
	    v > 31536000)
		die("invalid %s '%s': expected a number of seconds > 0 (see --help)", what, s);
	return v;
}

static double parse_bytes(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || strspn(s, "0123456789.eE+") != strlen(s) || !(v >= 0) ||
	    v > 1e18)
		die("invalid %s '%s': expected a number of bytes >= 0 (see --help)", what, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	bool diagnose_given = false;
	int opt, i;

	opterr = 0;
	trend_defaults(&env.trend);
	while ((opt = getopt_long(argc, argv, ":p:T:d:r:vhV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (env.npids == MAX_TARGETS)
				die("too many -p (at most %d processes)", MAX_TARGETS);
			env.pids[env.npids++] = parse_long(optarg, "PID", 1, INT_MAX);
			break;
		case 'T':
			env.top = parse_long(optarg, "--top", 1, 100000);
			break;
		case 'd':
			env.duration = parse_seconds(optarg, "--duration");
			break;
		case 1:
			env.stack_depth =
			    parse_long(optarg, "--stack-depth", 1, AL_MAX_STACK_DEPTH);
			break;
		case 2:
			env.max_allocs = parse_long(optarg, "--max-allocs", 1024, 1 << 26);
			break;
		case 3:
			env.max_stacks = parse_long(optarg, "--max-stacks", 256, 1 << 22);
			break;
		case 'r':
			env.requests = optarg;
			break;
		case 4:
			env.sample_period = parse_seconds(optarg, "--sample-period");
			break;
		case 5:
			env.trend.warmup = parse_long(optarg, "--warmup", 0, 1000);
			break;
		case 6:
			env.trend.capacity = parse_long(optarg, "--window", 8, 256);
			break;
		case 7:
			env.trend.min_growth_per_hour = parse_bytes(optarg, "--min-growth");
			break;
		case 16:
			env.sample_bytes = parse_long(optarg, "--sample-bytes", 0, 1L << 40);
			break;
		case 8:
			env.prom_file = optarg;
			break;
		case 9:
			env.keep = true;
			break;
		case 10:
			env.listen = optarg;
			break;
		case 11:
			env.pprof = optarg;
			break;
		case 12:
			env.json = true;
			break;
		case 13:
			env.json_file = optarg;
			break;
		case 14:
			env.folded = optarg;
			break;
		case 15:
			env.html = optarg;
			break;
		case 17:
			env.growth = !strcmp(optarg, "growth") || !strcmp(optarg, "auto");
			env.auto_mode = !strcmp(optarg, "auto");
			if (!env.growth && strcmp(optarg, "precise"))
				die("invalid --mode '%s': expected precise, growth or auto (see "
				    "--help)",
				    optarg);
			break;
		case 18:
			env.diagnose_for = parse_seconds(optarg, "--diagnose-for");
			diagnose_given = true;
			break;
		case 19:
			env.diagnose_gap = parse_seconds(optarg, "--diagnose-gap");
			diagnose_given = true;
			break;
		case 20:
			env.check = true;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("agentleak %s\n", VERSION);
			exit(0);
		case ':':
			die("option '%s' needs a value (see --help)", argv[optind - 1]);
		default:
			die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	for (i = optind; i < argc; i++) {
		if (i == optind)
			env.interval = parse_seconds(argv[i], "INTERVAL");
		else if (i == optind + 1)
			env.count = parse_long(argv[i], "COUNT", 1, LONG_MAX);
		else
			die("unexpected argument '%s' (usage: agentleak -p PID [INTERVAL [COUNT]])",
			    argv[i]);
	}
	if (env.check) {
		if (env.npids)
			die("--check looks at the kernel, not at a process: drop -p");
		return;
	}
	if (!env.npids)
		die("no target: give a process with -p PID (see --help)");
	if (env.growth && !env.auto_mode && env.sample_bytes)
		die("--sample-bytes samples allocator calls: it has no meaning with --mode growth");
	if (diagnose_given && !env.auto_mode)
		die("--diagnose-for and --diagnose-gap set the diagnosis windows of --mode auto: "
		    "add --mode auto");
}

/* CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN, in the effective set. */
static void check_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};
	unsigned long long eff;

	if (syscall(SYS_capget, &hdr, data))
		return; /* let the BPF load tell */
	eff = data[0].effective | (unsigned long long)data[1].effective << 32;
#define HAS(c) (eff & (1ULL << (c)))
	if (!HAS(CAP_SYS_ADMIN) && !(HAS(CAP_BPF) && HAS(CAP_PERFMON)))
		die("permission denied: run as root (sudo) or grant CAP_BPF, CAP_PERFMON and "
		    "CAP_SYS_PTRACE");
#undef HAS
}

static const char *mode_name(void)
{
	return env.auto_mode ? "auto" : env.growth ? "growth" : "precise";
}

/* Say at once when this kernel cannot run the mode asked for, and which modes it can. */
static void check_kernel(void)
{
	unsigned int precise = TIER_BASE | TIER_PRECISE, growth = TIER_BASE | TIER_GROWTH;
	unsigned int need = env.auto_mode ? precise | growth : env.growth ? growth : precise;
	bool precise_ok, growth_ok;
	struct features f;
	const char *why;
	char msg[256];

	features_probe(&f);
	if (env.verbose) {
		fprintf(stderr, "agentleak: kernel features:\n");
		features_print(stderr, &f);
	}
	why = features_missing(&f, need);
	if (!why)
		return;
	snprintf(msg, sizeof(msg), "%s", why);
	precise_ok = !features_missing(&f, precise);
	growth_ok = !features_missing(&f, growth);
	die("--mode %s cannot run on this kernel: %s; %s (agentleak --check tells more)",
	    mode_name(), msg,
	    precise_ok  ? "--mode precise can"
	    : growth_ok ? "--mode growth can"
	                : "no mode can");
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void on_dump(int sig)
{
	dump_signal = sig;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct target targets[MAX_TARGETS];
static struct al_allocator allocators[MAX_TARGETS];
static struct snap_target starget[MAX_TARGETS];

/* The growth tier probes no allocator: the process line names the tier and the
 * executable whose text the faults are attributed to. */
static void growth_target(int pid, struct al_allocator *al)
{
	char path[64];
	ssize_t n;

	memset(al, 0, sizeof(*al));
	snprintf(al->flavor, sizeof(al->flavor), "growth");
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, al->target_path, sizeof(al->target_path) - 1);
	if (n <= 0)
		snprintf(al->target_path, sizeof(al->target_path), "?");
	else
		al->target_path[n] = '\0';
	text_sanitize(al->target_path, sizeof(al->target_path));
}

static void open_targets(void)
{
	char err[512];
	int i, j;

	for (i = 0; i < env.npids; i++) {
		for (j = 0; j < i; j++)
			if (env.pids[j] == env.pids[i])
				die("PID %d given twice", env.pids[i]);
		if (target_open(&targets[i], env.pids[i], err, sizeof(err)))
			die("%s", err);
		if (targets[i].thread) {
			fprintf(stderr,
			        "agentleak: %d is a thread of process %d (%s): taking the whole "
			        "process\n",
			        targets[i].thread, targets[i].pid, targets[i].comm);
			env.pids[i] = targets[i].pid;
			for (j = 0; j < i; j++)
				if (env.pids[j] == env.pids[i])
					die("PID %d given twice (%d is one of its threads)",
					    env.pids[i], targets[i].thread);
		}
		if (env.growth && !env.auto_mode) {
			growth_target(env.pids[i], &allocators[i]);
		} else if (allocator_find(env.pids[i], &allocators[i], err, sizeof(err)))
			die("PID %d (%s): %s", env.pids[i], targets[i].comm, err);
		starget[i].t = &targets[i];
		starget[i].al = &allocators[i];
	}
}

/* A target that execs another program: its old program's memory is gone, so are its
 * blocks, stacks and series; tracing goes on. */
static void forget_program(struct target *t, struct attacher *att, struct sampler *s,
                           struct analyser *an, struct symbolizer *sym)
{
	char err[512];

	fprintf(stderr,
	        "agentleak: pid %d (%s) executed a new program (%s): what it allocated before "
	        "is forgotten\n",
	        t->pid, t->old_comm, t->comm);
	if (attach_forget_process(att, t->pid, err, sizeof(err)))
		fprintf(stderr, "agentleak: warning: %s\n", err);
	sampler_forget(s, t->pid);
	if (analyser_forget_process(an, t->pid))
		die("out of memory");
	sym_forget_process(sym, t->pid);
	sym_add_process(sym, t->pid);
}

/* Returns true when every target has exited. */
static bool check_targets(struct sampler *s, struct attacher *att, struct analyser *an,
                          struct symbolizer *sym)
{
	int i, alive = 0;

	for (i = 0; i < env.npids; i++) {
		if (targets[i].exited)
			continue;
		switch (target_check(&targets[i], attach_execs(att, targets[i].pid))) {
		case TARGET_EXECED:
			forget_program(&targets[i], att, s, an, sym);
			/* fall through */
		case TARGET_ALIVE:
			alive++;
			continue;
		case TARGET_EXITED:
			break;
		}
		targets[i].exited = true;
		sampler_forget(s, targets[i].pid);
		fprintf(stderr, "agentleak: pid %d (%s) exited\n", targets[i].pid, targets[i].comm);
	}
	return alive == 0;
}

static void refresh_symbols(struct symbolizer *sym)
{
	int i;

	for (i = 0; i < env.npids; i++)
		if (!targets[i].exited)
			sym_add_process(sym, targets[i].pid);
}

static double last_sample_seconds;

/* What a report needs besides the sample. */
struct run_ctx {
	struct outputs *out;
	struct analyser *an;
	struct symbolizer *sym;
	struct sampler *smpl;
	struct req_source *req;
	struct attacher *att;
	struct diagnosis diag; /* --mode auto */
	double start;
};

enum emit { EMIT_REPORT, EMIT_FINAL, EMIT_DUMP, EMIT_METRICS };

/* What a traced call costs the target, measured by bench/run.sh on this machine kind:
 * an allocation (entry and return probes sharing one emulated breakpoint, plus the BPF
 * work) ~2.5 us, a free on an emulated instruction ~0.8 us. */
#define COST_ALLOC_NS 2500.0
#define COST_FREE_NS  800.0

/* Probe hits per second since the previous report, and their estimated CPU cost. */
static void overhead(const struct sample *smp, double elapsed, double *hits, double *cpus)
{
	static double last_t, last_allocs, last_frees;
	double allocs = smp->counters[AL_C_ALLOC_CALLS], frees = smp->counters[AL_C_FREE_CALLS];
	double dt = elapsed - last_t;

	if (dt <= 0) {
		*hits = *cpus = 0;
		return;
	}
	*hits = (allocs - last_allocs + frees - last_frees) / dt;
	*cpus = ((allocs - last_allocs) * COST_ALLOC_NS + (frees - last_frees) * COST_FREE_NS) /
	        1e9 / dt;
	last_t = elapsed;
	last_allocs = allocs;
	last_frees = frees;
}

/* Build the snapshot of this moment and hand it to every output. */
static void emit(const struct run_ctx *c, const struct sample *smp, enum emit what, double elapsed,
                 bool diagnosis_result)
{
	bool all = (what == EMIT_FINAL || what == EMIT_DUMP) && outputs_want_all_stacks(c->out);
	struct snap_input in = {
	    .smp = smp,
	    .an = c->an,
	    .sym = c->sym,
	    .sampler = c->smpl,
	    .targets = starget,
	    .ntargets = env.npids,
	    .request_source = requests_describe(c->req),
	    .elapsed = elapsed,
	    .sample_seconds = last_sample_seconds,
	    .sample_bytes = env.sample_bytes,
	    .growth = env.growth,
	    .mode = mode_name(),
	    .diagnosis = c->diag.number,
	    .diagnosis_open = c->diag.open,
	    .diagnosis_left = diag_left(&c->diag, c->start + elapsed),
	    .diagnosis_result = diagnosis_result,
	    .final = what == EMIT_FINAL,
	    .symbolize_top = all ? -1 : env.top,
	    .list_all = what == EMIT_FINAL || what == EMIT_DUMP,
	    .max_depth = env.stack_depth,
	};
	struct snapshot snap;

	if (what == EMIT_REPORT || what == EMIT_FINAL)
		overhead(smp, elapsed, &in.probe_hits_per_s, &in.overhead_cpu);
	if (snapshot_build(&snap, &in))
		die("out of memory");
	if (what == EMIT_DUMP)
		outputs_dump(c->out, &snap);
	else if (what == EMIT_METRICS)
		outputs_metrics(c->out, &snap);
	else if (outputs_report(c->out, &snap) == -EPIPE)
		stdout_gone = true;
	snapshot_free(&snap);
}

/* Read every counter and feed the trend engine. */
static void take_sample(struct sampler *smpl, struct attacher *att, struct req_source *req,
                        struct analyser *an, struct sample *smp, double t)
{
	double requests[MAX_TARGETS], t0;
	char warn[512];
	int i, r;

	t0 = now_seconds();
	r = sampler_read(smpl, smp);
	if (r)
		die("reading BPF maps: %s", strerror(-r));
	last_sample_seconds = now_seconds() - t0;
	for (i = 0; i < env.npids; i++) {
		requests[i] = requests_read(req, att, env.pids[i], warn, sizeof(warn));
		if (warn[0])
			fprintf(stderr, "agentleak: warning: %s\n", warn);
	}
	analyser_sample(an, smp, t, env.pids, requests, env.npids);
}

/* --mode auto: switch the precise tier on when the growth tier sees a process grow, and
 * off (after reporting what it found) when the window is over. */
static void auto_step(struct run_ctx *c, const struct sample *smp, double now)
{
	bool growing = false;
	char err[512];
	int i, n;

	/* The scan of every stack only when a window could open now. */
	for (i = 0; !c->diag.open && now >= c->diag.next_allowed && i < env.npids; i++)
		if (!targets[i].exited && analyser_growing(c->an, env.pids[i]))
			growing = true;
	switch (diag_step(&c->diag, now, growing)) {
	case DIAG_OPEN:
		/* Loaded at the first window: a precise tier that cannot load leaves the
		 * growth tier running. */
		if (attach_load_precise(c->att, err, sizeof(err))) {
			diag_stop(&c->diag);
			fprintf(stderr,
			        "agentleak: warning: %s; no diagnosis windows from now on\n", err);
			break;
		}
		for (i = 0; i < env.npids; i++) {
			if (targets[i].exited)
				continue;
			if (attach_allocator(c->att, env.pids[i], &allocators[i], &n, err,
			                     sizeof(err)))
				fprintf(stderr, "agentleak: warning: diagnosis window: %s\n", err);
		}
		attach_set_mmap_events(c->att, true);
		fprintf(stderr,
		        "agentleak: growth seen: diagnosis window %d, precise tier on for %.0f s\n",
		        c->diag.number, c->diag.length);
		break;
	case DIAG_CLOSE:
		refresh_symbols(c->sym);
		emit(c, smp, EMIT_REPORT, now - c->start, true);
		/* --html and --pprof too: the window's stacks are gone after this. */
		emit(c, smp, EMIT_DUMP, now - c->start, true);
		if (attach_allocator_off(c->att, err, sizeof(err)))
			fprintf(stderr, "agentleak: warning: %s\n", err);
		if (sampler_drop_mmaps(c->smpl))
			die("out of memory");
		analyser_forget_precise(c->an);
		fprintf(stderr,
		        "agentleak: diagnosis window %d closed: precise tier off; the next one "
		        "opens no sooner than %.0f s from now\n",
		        c->diag.number, c->diag.next_allowed - now);
		break;
	case DIAG_NONE:
		break;
	}
}

int main(int argc, char **argv)
{
	struct attach_opts aopts = {0};
	struct sample smp = {0};
	struct req_source *req;
	struct analyser *an = NULL;
	struct run_ctx ctx;
	struct output_opts oopts = {0};
	struct outputs *out;
	bool first_sample = true;
	double next_sample;
	struct attacher *att;
	struct sampler *smpl;
	struct symbolizer *sym;
	double start, next_report, next_check = 0;
	long reports = 0;
	char err[512];
	int i, n, r, status;

	/* One write per line: readers of our stderr never see half a line. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	check_privileges();
	if (env.check)
		return preflight_run(env.verbose);
	check_kernel();
	/* libdw would fetch missing debug files over the network and block the report. */
	unsetenv("DEBUGINFOD_URLS");
	open_targets();
	oopts.top = env.top;
	oopts.stack_depth = env.stack_depth;
	{
		const struct {
			const char *name, *arg;
			bool on;
		} o[] = {{"prom-file", env.prom_file, env.prom_file},
		         {"keep", NULL, env.keep},
		         {"listen", env.listen, env.listen},
		         {"pprof", env.pprof, env.pprof},
		         {"json", NULL, env.json},
		         {"json-file", env.json_file, env.json_file},
		         {"folded", env.folded, env.folded},
		         {"html", env.html, env.html}};
		for (i = 0; i < 8; i++)
			if (o[i].on && outputs_set(&oopts, o[i].name, o[i].arg, err, sizeof(err)))
				die("%s", err);
	}
	out = outputs_open(&oopts, err, sizeof(err));
	if (!out)
		die("%s", err);

	sym = sym_new();
	if (!sym)
		die("out of memory");
	aopts.max_allocs = env.max_allocs;
	aopts.max_stacks = env.max_stacks;
	aopts.verbose = env.verbose;
	aopts.sample_bytes = env.sample_bytes;
	aopts.growth = env.growth;
	req = requests_parse(env.requests, err, sizeof(err));
	if (!req)
		die("%s", err);
	aopts.count_accept = requests_kind(req) == REQ_ACCEPT;
	aopts.request_uprobe = requests_kind(req) == REQ_UPROBE;
	aopts.request_usdt = requests_kind(req) == REQ_USDT;
	att = attach_open(&aopts, err, sizeof(err));
	if (!att)
		die("%s", err);
	smpl = sampler_new(att, err, sizeof(err));
	if (!smpl)
		die("%s", err);
	/* The request source first: a bad one fails before any allocator probe. */
	for (i = 0; i < env.npids; i++)
		if (requests_attach(req, att, env.pids[i], err, sizeof(err)))
			die("%s", err);
	for (i = 0; i < env.npids; i++) {
		sym_add_process(sym, env.pids[i]);
		if (attach_process(att, env.pids[i], &allocators[i], &n, err, sizeof(err)))
			die("%s", err);
		if (env.auto_mode)
			fprintf(stderr,
			        "agentleak: attached to pid %d (%s): growth tier (page faults); "
			        "%s %s probed in diagnosis windows of %.0f s\n",
			        env.pids[i], targets[i].comm, allocators[i].flavor,
			        allocators[i].target_path, env.diagnose_for);
		else if (env.growth)
			fprintf(stderr,
			        "agentleak: attached to pid %d (%s): growth tier (page faults), "
			        "%s\n",
			        env.pids[i], targets[i].comm, allocators[i].target_path);
		else
			fprintf(stderr, "agentleak: attached to pid %d (%s): %s %s, %d probes\n",
			        env.pids[i], targets[i].comm, allocators[i].flavor,
			        allocators[i].target_path, n);
	}
	an = analyser_new(&env.trend, requests_kind(req) == REQ_TIME);
	if (!an)
		die("out of memory");
	analyser_set_growth(an, env.growth);
	for (i = 0; i < env.npids; i++)
		analyser_add_process(an, env.pids[i]);
	if (requests_kind(req) == REQ_TIME)
		fprintf(stderr, "agentleak: no request source: verdicts per hour of time\n");
	else
		fprintf(stderr, "agentleak: requests from %s\n", requests_describe(req));
	if (attach_syscalls(att, err, sizeof(err)))
		die("%s", err);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_dump);
	fprintf(stderr, "agentleak: tracing %d process(es); Ctrl-C to stop\n", env.npids);

	ctx = (struct run_ctx){
	    .out = out, .an = an, .sym = sym, .smpl = smpl, .req = req, .att = att};
	diag_init(&ctx.diag, env.diagnose_for, env.diagnose_gap);
	start = now_seconds();
	ctx.start = start;
	next_report = start + env.interval;
	next_sample = start;
	while (!stop_signal && !stdout_gone) {
		double now;

		r = sampler_poll(smpl, 20);
		if (r < 0)
			die("reading events: %s", strerror(-r));
		now = now_seconds();
		if (now >= next_check) {
			next_check = now + 0.2;
			if (check_targets(smpl, att, an, sym)) {
				fprintf(stderr, "agentleak: all targets exited\n");
				break;
			}
		}
		if (env.duration && now - start >= env.duration)
			break;
		if (now >= next_sample) {
			next_sample += env.sample_period;
			if (next_sample < now)
				next_sample = now + env.sample_period;
			take_sample(smpl, att, req, an, &smp, now - start);
			if (env.auto_mode)
				auto_step(&ctx, &smp, now);
			if (first_sample)
				emit(&ctx, &smp, EMIT_METRICS, now - start, false);
			first_sample = false;
		}
		outputs_service(out);
		if (dump_signal) {
			dump_signal = 0;
			emit(&ctx, &smp, EMIT_DUMP, now - start, false);
		}
		if (now < next_report)
			continue;
		next_report += env.interval;
		refresh_symbols(sym);
		emit(&ctx, &smp, EMIT_REPORT, now - start, false);
		if (env.count && ++reports >= env.count)
			break;
	}
	take_sample(smpl, att, req, an, &smp, now_seconds() - start);
	emit(&ctx, &smp, EMIT_FINAL, now_seconds() - start, false);

	status = outputs_close(out) ? 1 : 0;
	sample_release(&smp);
	analyser_free(an);
	requests_free(req);
	sampler_free(smpl);
	attach_close(att);
	sym_free(sym);
	return status;
}
