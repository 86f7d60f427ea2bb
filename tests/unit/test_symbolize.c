// SPDX-License-Identifier: GPL-2.0
/* test_symbolize.c - unit test of cli/symbols/symbolize.c against live processes.
 *
 * Symbolizes its own functions, libc's malloc, anonymous memory, the vDSO and a
 * dlopen'ed library, then children before and after they exited: deleted copies of
 * this very binary started with "--child FD", one as is and one stripped by objcopy
 * with its debug info in a file next to it (.gnu_debuglink). Prints "ok - ..." or
 * "not ok - ..." per check and "N passed, N failed" last; exits 1 on any failure.
 *
 * Build (from the repo root; -O0 matters, line numbers are checked):
 *   gcc -std=gnu11 -g -O0 -Wall -fno-omit-frame-pointer -Icli -o build/test_symbolize \
 *       tests/unit/test_symbolize.c cli/symbols/symbolize.c -ldw -lelf -lz
 * Run as root (reads /proc/PID/map_files of its child): build/test_symbolize
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "symbols/symbolize.h"

static int nr_passed, nr_failed;

/* Filled by marker_func(): a return address inside it and the line of that call. */
static unsigned long long marker_ret;
static int marker_line;
/* Filled by label_func(): the address of a label and the line of its statement. */
static unsigned long long label_addr;
static int label_line;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		nr_passed++;
	else
		nr_failed++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static const char *fmt_frame(const struct sym_frame *f)
{
	static char buf[1024];

	sym_format(f, buf, sizeof(buf));
	return buf;
}

/* Records the line of its call site and returns the return address into it. */
static __attribute__((noinline)) unsigned long long call_here(int *line_out, int line)
{
	*line_out = line;
	return (unsigned long long)(uintptr_t)__builtin_return_address(0);
}

static __attribute__((noinline)) void marker_func(void)
{
	marker_ret = call_here(&marker_line, __LINE__);
}

static __attribute__((noinline)) void label_func(void)
{
	void *pc;

here:
	label_line = __LINE__;
	pc = &&here;
	label_addr = (unsigned long long)(uintptr_t)pc;
}

static unsigned long long fn_addr(void (*fn)(void))
{
	return (unsigned long long)(uintptr_t)fn;
}

/* libc's own definition, not an interposer such as valgrind's. */
static unsigned long long libc_sym(const char *name)
{
	void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *p = h ? dlsym(h, name) : NULL;

	if (h)
		dlclose(h);
	return (unsigned long long)(uintptr_t)p;
}

static bool is_one_of(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

static const char *const malloc_names[] = {"malloc", "__libc_malloc", "__malloc", NULL};
static const char *const calloc_names[] = {"calloc", "__libc_calloc", "__calloc", NULL};

/* ---- the child: a deleted copy of this binary ---- */

static int child_main(int fd)
{
	marker_func();
	dprintf(fd, "%llx %llx %d %llx\n", fn_addr(marker_func), marker_ret, marker_line,
	        libc_sym("calloc"));
	close(fd);
	sleep(60); /* killed by the parent long before */
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n) {
			ret = -EIO;
			break;
		}
	}
	if (n < 0)
		ret = -errno;
	close(in);
	close(out);
	return ret;
}

/* Copy /proc/self/exe next to itself (or in /tmp when that fails) as "<exe>.<tag>-<pid>". */
static int copy_self(char *copy, size_t size, const char *tag)
{
	char exe[PATH_MAX];
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(copy, size, "%s.%s-%d", exe, tag, getpid());
	if (!copy_file("/proc/self/exe", copy))
		return 0;
	snprintf(copy, size, "/tmp/test_symbolize.%s-%d", tag, getpid());
	return copy_file("/proc/self/exe", copy) ? -1 : 0;
}

/* Move the debug info of copy to copy.debug, strip copy (.symtab too) and link the two. */
static int split_debuginfo(const char *copy, char *debug, size_t size)
{
	char cmd[4 * PATH_MAX + 1024];

	snprintf(debug, size, "%s.debug", copy);
	snprintf(cmd, sizeof(cmd),
	         "objcopy --only-keep-debug '%s' '%s' && "
	         "objcopy --strip-all --add-gnu-debuglink='%s' '%s'",
	         copy, debug, debug, copy);
	return system(cmd) == 0 ? 0 : -1;
}

/* Start path with "--child 3"; *out reads the line the child writes on fd 3. */
static pid_t start_child(const char *path, FILE **out)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(fds[1], 3) < 0)
			_exit(127);
		execl(path, path, "--child", "3", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	*out = fdopen(fds[0], "r");
	if (!*out)
		close(fds[0]);
	return pid;
}

/* ---- the checks ---- */

static void test_invalid(struct symbolizer *s)
{
	struct sym_frame f;
	char buf[64];

	check(sym_resolve(s, -1, 0x1000, 0, &f) == -EINVAL, "resolve with a bad pid: -EINVAL");
	check(sym_resolve(NULL, getpid(), 0x1000, 0, &f) == -EINVAL && !f.module[0],
	      "resolve with no symbolizer: -EINVAL, empty frame");
	check(sym_add_process(s, 0) == -EINVAL, "add pid 0: -EINVAL");
	check(sym_add_process(s, INT_MAX) < 0, "add a pid that does not exist: error");
	check(sym_resolve(s, INT_MAX, 0x1000, 0, &f) == -ENOENT && !f.module[0],
	      "resolve in a pid that does not exist: -ENOENT");
	check(sym_format(NULL, buf, sizeof(buf)) == 9 && !strcmp(buf, "[unknown]"),
	      "format a NULL frame: [unknown]");
	sym_free(NULL);
}

static void test_self_functions(struct symbolizer *s, int pid)
{
	unsigned long long fn = fn_addr(marker_func);
	struct sym_frame f;
	int rc;

	marker_func();
	label_func();

	rc = sym_resolve(s, pid, fn, 0, &f);
	check(rc == 0 && !strcmp(f.func, "marker_func") && f.off == 0, "own function entry: %s",
	      fmt_frame(&f));
	check(ends_with(f.file, "test_symbolize.c") && f.line > 0,
	      "own function entry has source file and line: %s:%d", f.file, f.line);
	check(f.module[0] == '/' && f.module_off > 0, "own function module and offset: %s+0x%llx",
	      f.module, f.module_off);

	rc = sym_resolve(s, pid, marker_ret, 1, &f);
	check(rc == 0 && !strcmp(f.func, "marker_func") && f.off == marker_ret - fn,
	      "return address: %s, off 0x%llx", fmt_frame(&f), marker_ret - fn);
	check(ends_with(f.file, "test_symbolize.c") && f.line == marker_line,
	      "return address is at the call's line %d: %s:%d", marker_line, f.file, f.line);

	rc = sym_resolve(s, pid, marker_ret, 1, &f);
	check(rc == 0 && f.line == marker_line && !strcmp(f.func, "marker_func"),
	      "return address again (cached): %s", fmt_frame(&f));

	rc = sym_resolve(s, pid, label_addr, 0, &f);
	check(rc == 0 && !strcmp(f.func, "label_func") && f.line == label_line &&
	          f.off == label_addr - fn_addr(label_func),
	      "label address at line %d: %s", label_line, fmt_frame(&f));
}

static void test_malloc(struct symbolizer *s, int pid)
{
	unsigned long long addr = libc_sym("malloc");
	char buf[1024];
	struct sym_frame f;
	int rc;

	rc = sym_resolve(s, pid, addr, 0, &f);
	check(rc == 0 && is_one_of(f.func, malloc_names) && f.off == 0, "malloc in libc: %s",
	      fmt_frame(&f));
	check(ends_with(f.module, "/libc.so.6"), "malloc's module is libc: %s", f.module);
	/* Debian's libc is stripped: its lines come from libc6-dbg, found by build id
	 * under /usr/lib/debug/.build-id (scripts/install-deps.sh installs it). */
	if (access("/usr/share/doc/libc6-dbg", F_OK) == 0)
		check(strstr(f.file, "malloc.c") && f.line > 0,
		      "malloc's line from the build-id debug file: %s", fmt_frame(&f));
	sym_format(&f, buf, sizeof(buf));
	check(starts_with(buf, f.func) && strstr(buf, "+0x0 (") && ends_with(buf, ")"),
	      "malloc formatted: %s", buf);

	rc = sym_resolve(s, pid, addr + 4, 1, &f);
	check(rc == 0 && is_one_of(f.func, malloc_names) && f.off == 4,
	      "return address inside malloc keeps off = addr - start: %s", fmt_frame(&f));
}

static void test_anonymous(struct symbolizer *s, int pid)
{
	struct sym_frame f;
	char buf[64];
	void *rw, *rx;
	int rc;

	rw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rx = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw == MAP_FAILED || rx == MAP_FAILED) {
		check(false, "mmap anonymous memory: %s", strerror(errno));
		return;
	}
	rc = sym_resolve(s, pid, (unsigned long long)(uintptr_t)rw + 100, 1, &f);
	sym_format(&f, buf, sizeof(buf));
	check(rc == -ENOENT && !f.module[0] && !f.func[0] && !strcmp(buf, "[unknown]"),
	      "anonymous data: rc %d, %s", rc, buf);
	rc = sym_resolve(s, pid, (unsigned long long)(uintptr_t)rx + 100, 1, &f);
	sym_format(&f, buf, sizeof(buf));
	check(rc == -ENOENT && !f.module[0] && !strcmp(buf, "[unknown]"),
	      "anonymous executable memory: rc %d, %s", rc, buf);
	rc = sym_resolve(s, pid, 16, 0, &f);
	check(rc == -ENOENT && !strcmp(fmt_frame(&f), "[unknown]"), "address 16: rc %d", rc);
	munmap(rw, 8192);
	munmap(rx, 8192);
}

/* The vDSO has no file: its image is read from the process. Scan it for a function. */
static void test_vdso(struct symbolizer *s, int pid)
{
	unsigned long long base = getauxval(AT_SYSINFO_EHDR), a;
	struct sym_frame f;
	bool module_ok = true, found = false;
	int rc;

	if (!base) {
		check(true, "vdso: # skip, this process has none (valgrind?)");
		return;
	}
	for (a = base; a < base + 0x4000 && !found; a += 8) {
		rc = sym_resolve(s, pid, a, 0, &f);
		if (rc)
			break;
		module_ok &= !strcmp(f.module, "[vdso]") && f.module_off == a - base;
		found = strstr(f.func, "gettimeofday") || strstr(f.func, "clock_gettime");
	}
	check(module_ok && a > base, "vdso addresses are in [vdso] at their offset");
	check(found, "vdso function found: %s", fmt_frame(&f));
}

struct find_lib {
	const char *name;
	unsigned long long addr;
};

static int find_lib_text(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_lib *fl = data;
	int i;

	(void)size;
	if (!info->dlpi_name || !ends_with(info->dlpi_name, fl->name))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			fl->addr = info->dlpi_addr + ph->p_vaddr + ph->p_memsz / 2;
			return 1;
		}
	}
	return 0;
}

/* A library loaded after the snapshot is found by an automatic refresh. */
static void test_dlopen(struct symbolizer *s, int pid)
{
	static const char *const libs[] = {"libm.so.6", "libanl.so.1", "libutil.so.1",
	                                   "libresolv.so.2", NULL};
	struct find_lib fl = {0};
	struct sym_frame f;
	char want[64];
	void *h = NULL;
	int i, rc;

	for (i = 0; libs[i]; i++) {
		h = dlopen(libs[i], RTLD_NOW | RTLD_NOLOAD);
		if (h) {
			dlclose(h);
			h = NULL;
			continue;
		}
		h = dlopen(libs[i], RTLD_NOW);
		if (h)
			break;
	}
	if (!h) {
		check(true, "dlopen: # skip, no library to load");
		return;
	}
	fl.name = libs[i];
	dl_iterate_phdr(find_lib_text, &fl);
	usleep(150 * 1000); /* past the refresh rate limit */
	snprintf(want, sizeof(want), "/%s", libs[i]);
	rc = sym_resolve(s, pid, fl.addr, 1, &f);
	check(fl.addr && rc == 0 && ends_with(f.module, want),
	      "dlopen'ed %s found by refresh: rc %d, %s", libs[i], rc, fmt_frame(&f));
	dlclose(h);
}

/* What the child reported: its marker_func, a return address in it and that line,
 * and its libc's calloc. */
struct child_info {
	unsigned long long fn, ret, calloc_addr;
	int ret_line;
};

static bool read_child_info(FILE *in, struct child_info *ci)
{
	char line[256];

	return in && fgets(line, sizeof(line), in) &&
	       sscanf(line, "%llx %llx %d %llx", &ci->fn, &ci->ret, &ci->ret_line,
	              &ci->calloc_addr) == 4;
}

/* Run the executable path as child, delete it, symbolize it alive then dead. */
static void test_child(struct symbolizer *s, const char *path, const char *what)
{
	struct child_info ci;
	unsigned int before, after;
	struct sym_frame f, first;
	int status, rc;
	FILE *in = NULL;
	pid_t pid;

	pid = start_child(path, &in);
	if (pid < 0) {
		check(false, "%s: start child: %s", what, strerror(errno));
		unlink(path);
		return;
	}
	if (!read_child_info(in, &ci)) {
		check(false, "%s: child reported its addresses", what);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		unlink(path);
		if (in)
			fclose(in);
		return;
	}
	fclose(in);
	unlink(path); /* its mapping now reads "... (deleted)" */

	before = sym_nr_modules(s);
	rc = sym_add_process(s, pid);
	after = sym_nr_modules(s);
	check(rc == 0, "%s: add child %d: rc %d", what, pid, rc);
	check(after > before && after - before <= 2,
	      "%s: only the child's executable (and vdso) opened: %u -> %u modules", what, before,
	      after);

	rc = sym_resolve(s, pid, ci.fn, 0, &first);
	check(rc == 0 && !strcmp(first.func, "marker_func") && first.off == 0 &&
	          ends_with(first.file, "test_symbolize.c"),
	      "%s: child function: %s", what, fmt_frame(&first));
	check(!strcmp(first.module, path), "%s: module is the deleted file's path: %s", what,
	      first.module);

	kill(pid, SIGKILL);
	check(waitpid(pid, &status, 0) == pid, "%s: child killed and reaped", what);

	rc = sym_resolve(s, pid, ci.fn, 0, &f);
	check(rc == 0 && !memcmp(&f, &first, sizeof(f)), "%s: same address after exit: %s", what,
	      fmt_frame(&f));

	rc = sym_resolve(s, pid, ci.ret, 1, &f);
	check(rc == 0 && !strcmp(f.func, "marker_func") && f.off == ci.ret - ci.fn &&
	          f.line == ci.ret_line && ends_with(f.file, "test_symbolize.c"),
	      "%s: new address in the same module after exit: %s", what, fmt_frame(&f));

	rc = sym_resolve(s, pid, ci.calloc_addr, 0, &f);
	check(rc == 0 && is_one_of(f.func, calloc_names) && ends_with(f.module, "/libc.so.6"),
	      "%s: child's calloc after exit: %s", what, fmt_frame(&f));

	rc = sym_add_process(s, pid);
	check(rc < 0, "%s: adding the dead child fails: rc %d", what, rc);
	rc = sym_resolve(s, pid, ci.ret, 1, &f);
	check(rc == 0 && f.line == ci.ret_line, "%s: snapshot kept after a failed refresh: %s",
	      what, fmt_frame(&f));

	rc = sym_resolve(s, pid, 16, 0, &f);
	check(rc == -ENOENT && !strcmp(fmt_frame(&f), "[unknown]"),
	      "%s: unmapped address in the dead child: rc %d", what, rc);

	sym_forget_process(s, pid);
	rc = sym_resolve(s, pid, ci.fn, 0, &f);
	check(rc == -ENOENT && !f.module[0], "%s: forgotten dead child: rc %d", what, rc);
}

static void test_children(struct symbolizer *s)
{
	char copy[PATH_MAX + 64], debug[PATH_MAX + 96];

	if (copy_self(copy, sizeof(copy), "child")) {
		check(false, "copy of the test binary: %s", strerror(errno));
		return;
	}
	test_child(s, copy, "plain copy");

	if (copy_self(copy, sizeof(copy), "stripped")) {
		check(false, "copy of the test binary: %s", strerror(errno));
		return;
	}
	if (split_debuginfo(copy, debug, sizeof(debug))) {
		check(true, "stripped copy: # skip, objcopy failed");
		unlink(copy);
		unlink(debug);
		return;
	}
	test_child(s, copy, "stripped copy with .gnu_debuglink");
	unlink(debug);
}

static void test_format(void)
{
	struct sym_frame f;
	char buf[512], small[8];
	int n;

	memset(&f, 0, sizeof(f));
	strcpy(f.module, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	f.module_off = 0x1234;
	n = sym_format(&f, buf, sizeof(buf));
	check(!strcmp(buf, "[libc.so.6+0x1234]") && n == (int)strlen(buf),
	      "format without symbol: %s", buf);

	strcpy(f.func, "malloc");
	f.off = 0x1a;
	n = sym_format(&f, buf, sizeof(buf));
	check(!strcmp(buf, "malloc+0x1a (libc.so.6)") && n == (int)strlen(buf),
	      "format without line: %s", buf);

	strcpy(f.file, "malloc/malloc.c");
	f.line = 23;
	n = sym_format(&f, buf, sizeof(buf));
	check(!strcmp(buf, "malloc+0x1a (malloc/malloc.c:23)") && n == (int)strlen(buf),
	      "format with line: %s", buf);

	n = sym_format(&f, small, sizeof(small));
	check(n == (int)strlen(buf) && !strcmp(small, "malloc+"),
	      "format truncates and returns the full length: %d", n);
	check(sym_format(&f, NULL, 0) == n, "format with no buffer returns the length");

	memset(&f, 0, sizeof(f));
	strcpy(f.func, "stale");
	n = sym_format(&f, buf, sizeof(buf));
	check(!strcmp(buf, "[unknown]") && n == 9, "format without module: %s", buf);
}

int main(int argc, char **argv)
{
	struct symbolizer *s;
	int pid = getpid(), rc;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child_main(atoi(argv[2]));
	setvbuf(stdout, NULL, _IOLBF, 0);

	s = sym_new();
	check(s != NULL, "sym_new");
	if (!s)
		goto out;
	test_invalid(s);
	rc = sym_add_process(s, pid);
	check(rc == 0 && sym_nr_modules(s) > 0, "add self: rc %d, %u modules", rc,
	      sym_nr_modules(s));
	test_self_functions(s, pid);
	test_malloc(s, pid);
	test_anonymous(s, pid);
	test_vdso(s, pid);
	test_dlopen(s, pid);
	test_children(s);
	test_format();
	sym_free(s);
out:
	printf("%d passed, %d failed\n", nr_passed, nr_failed);
	return nr_failed ? 1 : 0;
}
