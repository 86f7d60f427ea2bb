// SPDX-License-Identifier: GPL-2.0
/*
 * rawprobe: attach empty BPF programs as uprobes/uretprobes at raw file offsets
 * of one process, for bench/run.sh (bpftrace 0.17 as packaged cannot probe at
 * function offsets). Uses only the bpf() and perf_event_open() syscalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PROBES 16

struct probe {
	const char *path;
	uint64_t offset;
	int ret;
	int fd;
};

static struct probe probes[MAX_PROBES];
static int nprobes;

static void usage(const char *prog)
{
	fprintf(
	    stderr,
	    "usage: %s -p PID {-u PATH:OFFSET | -r PATH:OFFSET}...\n"
	    "  -u  uprobe at file OFFSET of PATH (hex with 0x)\n"
	    "  -r  uretprobe at file OFFSET of PATH\n"
	    "Prints 'rawprobe: tracing ...' on stderr once attached; stops on SIGINT/SIGTERM.\n",
	    prog);
	exit(2);
}

/* Read a small integer from a sysfs file, or a "config:BIT" format description. */
static int read_sysfs_int(const char *path, const char *prefix, int *val)
{
	char buf[64];
	FILE *f = fopen(path, "r");
	size_t plen = prefix ? strlen(prefix) : 0;
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok || strncmp(buf, prefix ? prefix : "", plen))
		return -1;
	*val = atoi(buf + plen);
	return 0;
}

/* An empty kprobe-type program: r0 = 0; exit. */
static int load_empty_prog(void)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	static char log[4096];
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_KPROBE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uint64_t)(uintptr_t) "GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		fprintf(stderr, "rawprobe: BPF_PROG_LOAD: %s\n%s", strerror(errno), log);
	return fd;
}

static int attach(struct probe *p, int pid, int pmu_type, int ret_bit, int prog_fd)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = pmu_type;
	attr.config = p->ret ? 1ULL << ret_bit : 0;
	attr.config1 = (uint64_t)(uintptr_t)p->path; /* uprobe_path */
	attr.config2 = p->offset;                    /* probe_offset */
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	attr.disabled = 1;

	p->fd = syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (p->fd < 0) {
		fprintf(stderr, "rawprobe: perf_event_open %s:0x%llx: %s\n", p->path,
		        (unsigned long long)p->offset, strerror(errno));
		return -1;
	}
	if (ioctl(p->fd, PERF_EVENT_IOC_SET_BPF, prog_fd) ||
	    ioctl(p->fd, PERF_EVENT_IOC_ENABLE, 0)) {
		fprintf(stderr, "rawprobe: attach %s:0x%llx: %s\n", p->path,
		        (unsigned long long)p->offset, strerror(errno));
		return -1;
	}
	return 0;
}

static void parse_spec(char *spec, int ret)
{
	char *colon = strrchr(spec, ':');
	char *end;

	if (nprobes == MAX_PROBES || !colon || colon == spec) {
		fprintf(stderr, "rawprobe: bad probe '%s'\n", spec);
		exit(2);
	}
	*colon = '\0';
	errno = 0;
	probes[nprobes].offset = strtoull(colon + 1, &end, 0);
	if (errno || end == colon + 1 || *end) {
		fprintf(stderr, "rawprobe: bad offset '%s'\n", colon + 1);
		exit(2);
	}
	probes[nprobes].path = spec;
	probes[nprobes].ret = ret;
	nprobes++;
}

static void on_signal(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	int pid = 0, pmu_type, ret_bit, prog_fd, opt, sig, i;
	struct sigaction sa;
	sigset_t set;

	while ((opt = getopt(argc, argv, "p:u:r:h")) != -1) {
		switch (opt) {
		case 'p':
			pid = atoi(optarg);
			break;
		case 'u':
			parse_spec(optarg, 0);
			break;
		case 'r':
			parse_spec(optarg, 1);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (pid <= 0 || !nprobes || optind != argc)
		usage(argv[0]);

	/*
	 * Background jobs of a non-interactive shell start with SIGINT ignored:
	 * install a handler, then block and sigwait() so the signal is not lost.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (read_sysfs_int("/sys/bus/event_source/devices/uprobe/type", NULL, &pmu_type) ||
	    read_sysfs_int("/sys/bus/event_source/devices/uprobe/format/retprobe",
	                   "config:", &ret_bit)) {
		fprintf(stderr, "rawprobe: no uprobe PMU in /sys/bus/event_source/devices\n");
		return 1;
	}

	prog_fd = load_empty_prog();
	if (prog_fd < 0)
		return 1;
	for (i = 0; i < nprobes; i++) {
		if (attach(&probes[i], pid, pmu_type, ret_bit, prog_fd))
			return 1;
	}

	fprintf(stderr, "rawprobe: tracing pid %d with %d empty probes; Ctrl-C to stop\n", pid,
	        nprobes);
	if (sigwait(&set, &sig))
		return 1;

	/* Closing the perf events detaches the probes. */
	for (i = 0; i < nprobes; i++)
		close(probes[i].fd);
	close(prog_fd);
	return 0;
}
