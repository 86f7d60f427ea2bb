// SPDX-License-Identifier: GPL-2.0
/* test_allocator.c - unit test of cli/target/allocator.c: probe placement on
 * hand-written x86-64 code, and allocator discovery in live processes
 * (this one on glibc, children preloading jemalloc and tcmalloc, a static
 * glibc program, a static program without libc, a pid that does not exist).
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -g -O2 -Wall -Iinclude -Icli -o build/test_allocator \
 *       tests/unit/test_allocator.c cli/target/allocator.c -lelf -lcapstone
 *   build/test_allocator [-v]
 *
 * The test builds its helper programs itself with gcc into build/ next to
 * the test binary (build/nolibc from tests/unit/nolibc.c, build/static_pause
 * from an inline source). It needs libjemalloc2 and libtcmalloc-minimal4 and
 * enough privilege to read other processes' /proc files (its own children).
 * -v prints the placement chosen for every site of glibc, jemalloc, tcmalloc.
 * Output: one "ok - ..." or "not ok - ..." line per check, then
 * "N passed, N failed"; exit status 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "target/allocator.h"

#define JEMALLOC "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define TCMALLOC "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"

static int npass, nfail, verbose;
static char root[4200];  /* repository root */
static char build[4200]; /* directory of the test binary */

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (cond)
		npass++;
	else
		nfail++;
}

/* ---- allocator_place_probe on byte buffers ---- */

/* head, then nops, then ret: a 64-byte function whose tail jumps nowhere. */
static void fill_func(unsigned char *buf, size_t len, const unsigned char *head, size_t hlen)
{
	memset(buf, 0x90, len);
	memcpy(buf, head, hlen);
	buf[len - 1] = 0xc3;
}

static void place_case(const char *what, const unsigned char *head, size_t hlen, int want_delta,
                       int want_emulated, int want_sp)
{
	const unsigned long long base = 0x1000;
	unsigned char buf[64];
	struct al_site s;
	int err;

	memset(&s, 0, sizeof(s));
	fill_func(buf, sizeof(buf), head, hlen);
	err = allocator_place_probe(buf, sizeof(buf), base, &s);
	check(!err && s.file_off == base && s.probe_off == base + want_delta &&
	          s.emulated == want_emulated && s.sp_adjust == want_sp,
	      "place: %s -> +%d %s sp+%d (got +%lld %s sp+%d \"%s\")", what, want_delta,
	      want_emulated ? "emulated" : "single-step", want_sp, (long long)(s.probe_off - base),
	      s.emulated ? "emulated" : "single-step", s.sp_adjust, s.insn);
}

static void test_placement(void)
{
	/* (a) glibc free: test %rdi,%rdi; je */
	static const unsigned char a[] = {0x48, 0x85, 0xff, 0x74, 0x10};
	/* (b) glibc malloc: push %r12; push %rbp; push %rbx */
	static const unsigned char b[] = {0x41, 0x54, 0x55, 0x53};
	/* (c) mov %rdi,%rax (writes rax only); je */
	static const unsigned char c[] = {0x48, 0x89, 0xf8, 0x74, 0x10};
	/* (d) mov %rax,%rdi (writes an argument); je */
	static const unsigned char d[] = {0x48, 0x89, 0xc7, 0x74, 0x10};
	/* (e) test; je; nops; jmp back onto the je at +3 */
	static const unsigned char e[] = {0x48, 0x85, 0xff, 0x74, 0x10, 0x90,
	                                  0x90, 0x90, 0x90, 0x90, 0xeb, 0xf7};
	/* endbr64; push %rbp */
	static const unsigned char f[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55};
	/* push $0 (not emulated, moves rsp); test; je */
	static const unsigned char g[] = {0x6a, 0x00, 0x48, 0x85, 0xff, 0x74, 0x10};
	/* xor %eax,%eax; call rel32 */
	static const unsigned char h[] = {0x31, 0xc0, 0xe8, 0x10, 0x00, 0x00, 0x00};
	/* xor %edi,%edi (writes edi, part of rdi); je */
	static const unsigned char i[] = {0x31, 0xff, 0x74, 0x10};
	/* test; ret: the ret is not straight-line */
	static const unsigned char j[] = {0x48, 0x85, 0xff, 0xc3};
	/* mov 0x10(%rip),%rax (rip-relative read); test; jne: tcmalloc */
	static const unsigned char k[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00,
	                                  0x00, 0x48, 0x85, 0xc0, 0x75, 0x10};
	/* mov %rax,0x10(%rip) (rip-relative write); jne */
	static const unsigned char l[] = {0x48, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00, 0x75, 0x10};
	/* sub $8,%rsp; je */
	static const unsigned char m[] = {0x48, 0x83, 0xec, 0x08, 0x74, 0x10};
	/* nopl 0x0(%rax,%rax,1) */
	static const unsigned char n[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
	/* mul %rsi (writes rdx implicitly); je */
	static const unsigned char o[] = {0x48, 0xf7, 0xe6, 0x74, 0x10};
	/* pause (f3 90: not a nop for the kernel); je */
	static const unsigned char q[] = {0xf3, 0x90, 0x74, 0x10};
	/* 41 90 is xchg %eax,%r8d, not a nop */
	static const unsigned char r[] = {0x41, 0x90, 0x74, 0x10};
	/* mov %rax,0x8(%rsp) (may overwrite the return address); je */
	static const unsigned char t[] = {0x48, 0x89, 0x44, 0x24, 0x08, 0x74, 0x10};
	/* eight passable instructions, the emulated one is the ninth */
	/* 12 x test %rdi,%rdi, then je: beyond the 12 instructions searched */
	static const unsigned char u[] = {
	    0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48,
	    0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85,
	    0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x74, 0x10};

	place_case("(a) test %rdi,%rdi; je", a, sizeof(a), 3, 1, 0);
	place_case("(b) push %r12; push %rbp", b, sizeof(b), 0, 1, 0);
	place_case("(c) mov %rdi,%rax; je", c, sizeof(c), 3, 1, 0);
	place_case("(d) mov %rax,%rdi; je", d, sizeof(d), 0, 0, 0);
	place_case("(e) test; je; later jmp onto the je", e, sizeof(e), 0, 0, 0);
	place_case("endbr64; push %rbp", f, sizeof(f), 4, 1, 0);
	place_case("push $0; test; je (stack adjust)", g, sizeof(g), 5, 1, 8);
	place_case("xor %eax,%eax; call", h, sizeof(h), 2, 1, 0);
	place_case("xor %edi,%edi; je", i, sizeof(i), 0, 0, 0);
	place_case("test; ret", j, sizeof(j), 0, 0, 0);
	place_case("mov rip-rel,%rax; test; jne", k, sizeof(k), 10, 1, 0);
	place_case("mov %rax,rip-rel; jne", l, sizeof(l), 0, 0, 0);
	place_case("sub $8,%rsp; je", m, sizeof(m), 0, 0, 0);
	place_case("nopl at entry", n, sizeof(n), 0, 1, 0);
	place_case("mul %rsi; je", o, sizeof(o), 0, 0, 0);
	place_case("pause; je", q, sizeof(q), 2, 1, 0);
	place_case("xchg %eax,%r8d; je", r, sizeof(r), 2, 1, 0);
	place_case("mov %rax,8(%rsp); je", t, sizeof(t), 0, 0, 0);
	place_case("emulated insn beyond the first 12", u, sizeof(u), 0, 0, 0);
}

/* ---- allocator_find on live processes ---- */

static const struct al_site *find_site(const struct al_allocator *a, enum al_kind kind)
{
	int i;

	for (i = 0; i < a->nsites; i++)
		if (a->sites[i].kind == kind)
			return &a->sites[i];
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void print_table(const struct al_allocator *a)
{
	int i;

	printf("# %s: %s (%s)\n", a->flavor, a->target_path, a->path);
	printf("# %-15s %10s %10s %12s %-11s %3s  %s\n", "function", "vaddr", "file_off",
	       "probe_off", "trap", "sp", "insn at probe");
	for (i = 0; i < a->nsites; i++) {
		const struct al_site *s = &a->sites[i];
		char probe[32];

		snprintf(probe, sizeof(probe), "+%llu", s->probe_off - s->file_off);
		printf("# %-15s %#10llx %#10llx %12s %-11s %3d  %s%s\n", s->name, s->vaddr,
		       s->file_off, probe, s->emulated ? "emulated" : "single-step", s->sp_adjust,
		       s->insn, s->ifunc ? " (ifunc)" : "");
	}
}

/* Every site lies inside its function and has a text. */
static int sites_sane(const struct al_allocator *a)
{
	int i;

	for (i = 0; i < a->nsites; i++) {
		const struct al_site *s = &a->sites[i];

		if (!s->name || !s->insn[0] || s->probe_off < s->file_off)
			return 0;
		if (s->size && s->probe_off >= s->file_off + s->size)
			return 0;
	}
	return a->nsites > 0;
}

static void test_self(void)
{
	struct al_allocator a;
	const struct al_site *s;
	char err[256], prefix[64];
	Dl_info info;
	int ret;

	ret = allocator_find(getpid(), &a, err, sizeof(err));
	check(ret == 0, "self: allocator_find returns 0 (%d: %s)", ret, err);
	if (ret)
		return;
	check(!strcmp(a.flavor, "glibc"), "self: flavor glibc (got %s)", a.flavor);
	check(ends_with(a.target_path, "/libc.so.6"), "self: target_path %s ends with libc.so.6",
	      a.target_path);
	snprintf(prefix, sizeof(prefix), "/proc/%d/root/", getpid());
	check(!strncmp(a.path, prefix, strlen(prefix)) && ends_with(a.path, a.target_path),
	      "self: path %s is %s + target_path", a.path, prefix);
	s = find_site(&a, AL_MALLOC);
	check(s != NULL, "self: malloc site present");
	if (s && dladdr((void *)&malloc, &info) && info.dli_fbase)
		check(s->vaddr == (uintptr_t)&malloc - (uintptr_t)info.dli_fbase,
		      "self: malloc vaddr %#llx matches the loaded malloc", s->vaddr);
	s = find_site(&a, AL_FREE);
	check(s && s->probe_off == s->file_off + 3 && s->emulated,
	      "self: free probe at file_off+3, emulated (%s)", s ? s->insn : "no free site");
	check(find_site(&a, AL_CALLOC) && find_site(&a, AL_REALLOC) &&
	          find_site(&a, AL_POSIX_MEMALIGN) && find_site(&a, AL_MEMALIGN),
	      "self: calloc, realloc, posix_memalign, memalign present");
	check(a.nsites == 10, "self: glibc defines all ten functions (got %d)", a.nsites);
	check(sites_sane(&a), "self: every probe lies inside its function");
	if (verbose)
		print_table(&a);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Start path argv with LD_PRELOAD=preload (if any). */
static pid_t spawn(const char *path, char *const argv[], const char *preload)
{
	char env[4200];
	char *envp[3] = {"PATH=/usr/bin:/bin", NULL, NULL};
	pid_t pid;

	if (preload) {
		snprintf(env, sizeof(env), "LD_PRELOAD=%s", preload);
		envp[1] = env;
	}
	pid = fork();
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int file_contains(const char *path, const char *needle)
{
	char line[8192];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Wait until the child's maps show needle: it has exec'ed and loaded it. */
static int wait_mapped(pid_t pid, const char *needle)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	for (i = 0; i < 500; i++) {
		if (file_contains(path, needle))
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static void test_preload(const char *what, const char *preload, const char *flavor,
                         const char *needle)
{
	char *argv[] = {"sleep", "30", NULL};
	struct al_allocator a;
	char err[256];
	pid_t pid;
	int ret;

	pid = spawn("/bin/sleep", argv, preload);
	if (!wait_mapped(pid, needle)) {
		check(0, "%s: child maps %s", what, needle);
		reap(pid);
		return;
	}
	ret = allocator_find(pid, &a, err, sizeof(err));
	check(ret == 0, "%s: allocator_find returns 0 (%d: %s)", what, ret, err);
	if (!ret) {
		check(!strcmp(a.flavor, flavor), "%s: flavor %s (got %s)", what, flavor, a.flavor);
		check(strstr(a.target_path, needle) != NULL, "%s: target_path %s", what,
		      a.target_path);
		check(find_site(&a, AL_MALLOC) && find_site(&a, AL_FREE),
		      "%s: malloc and free sites present", what);
		check(sites_sane(&a), "%s: every probe lies inside its function", what);
		if (verbose && strchr(preload, '/'))
			print_table(&a);
	}
	reap(pid);
}

static void test_no_such_pid(void)
{
	struct al_allocator a;
	char err[256];
	pid_t pid;
	int ret;

	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	ret = allocator_find(pid, &a, err, sizeof(err));
	check(ret == -ESRCH && err[0], "exited pid %d: -ESRCH (%d: %s)", pid, ret, err);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Run a helper built in build/ and wait until it has exec'ed. */
static pid_t start_helper(const char *name)
{
	char path[4300], exe[64], link[4300];
	char *argv[] = {(char *)name, NULL};
	pid_t pid;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "%s/%s", build, name);
	pid = spawn(path, argv, NULL);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	for (i = 0; i < 500; i++) {
		n = readlink(exe, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (ends_with(link, name))
				return pid;
		}
		sleep_ms(10);
	}
	reap(pid);
	return -1;
}

static void test_nolibc(void)
{
	char cmd[9000];
	struct al_allocator a;
	char err[256];
	pid_t pid;
	int ret;

	snprintf(
	    cmd, sizeof(cmd),
	    "gcc -static -nostdlib -fno-stack-protector -o '%s/nolibc' '%s/tests/unit/nolibc.c'",
	    build, root);
	if (!run(cmd)) {
		check(0, "nolibc: build with: %s", cmd);
		return;
	}
	pid = start_helper("nolibc");
	if (pid < 0) {
		check(0, "nolibc: helper started");
		return;
	}
	ret = allocator_find(pid, &a, err, sizeof(err));
	check(ret == -ENOEXEC && strstr(err, "malloc"), "nolibc: -ENOEXEC (%d: %s)", ret, err);
	reap(pid);
}

static void test_static(void)
{
	char cmd[9000];
	struct al_allocator a;
	const struct al_site *s;
	char err[256];
	pid_t pid;
	int ret;

	snprintf(cmd, sizeof(cmd),
	         "printf '#include <unistd.h>\\nint main(void) { for (;;) pause(); }\\n' | "
	         "gcc -static -O2 -x c -o '%s/static_pause' -",
	         build);
	if (!run(cmd)) {
		check(0, "static: build with: %s", cmd);
		return;
	}
	pid = start_helper("static_pause");
	if (pid < 0) {
		check(0, "static: helper started");
		return;
	}
	ret = allocator_find(pid, &a, err, sizeof(err));
	check(ret == 0, "static glibc: allocator_find returns 0 (%d: %s)", ret, err);
	if (!ret) {
		check(!strcmp(a.flavor, "static"), "static glibc: flavor static (got %s)",
		      a.flavor);
		check(ends_with(a.target_path, "/static_pause"), "static glibc: target_path %s",
		      a.target_path);
		s = find_site(&a, AL_FREE);
		check(find_site(&a, AL_MALLOC) && s, "static glibc: malloc and free from .symtab");
		check(sites_sane(&a), "static glibc: every probe lies inside its function");
		if (verbose)
			print_table(&a);
	}
	reap(pid);
}

static void find_dirs(void)
{
	ssize_t n = readlink("/proc/self/exe", build, sizeof(build) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(build, sizeof(build), "build");
		snprintf(root, sizeof(root), ".");
		return;
	}
	build[n] = '\0';
	slash = strrchr(build, '/');
	*slash = '\0';
	snprintf(root, sizeof(root), "%s", build);
	slash = strrchr(root, '/');
	if (slash && slash != root)
		*slash = '\0';
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "v")) != -1) {
		if (c != 'v') {
			fprintf(stderr, "usage: %s [-v]\n", argv[0]);
			return 2;
		}
		verbose = 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	find_dirs();

	test_placement();
	test_self();
	test_preload("jemalloc", JEMALLOC, "jemalloc", "libjemalloc");
	test_preload("jemalloc by name", "libjemalloc.so.2", "jemalloc", "libjemalloc");
	test_preload("tcmalloc", TCMALLOC, "tcmalloc", "libtcmalloc");
	test_no_such_pid();
	test_nolibc();
	test_static();

	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
