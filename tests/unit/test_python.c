// SPDX-License-Identifier: GPL-2.0
/* test_python.c - unit tests of cli/target/python.c: the CPython interpreter found in
 * real processes (Debian's stripped, static python3.11 and pyenv's 3.10-3.13 with a
 * libpython; a SKIP for each one missing), its version and a layout that reaches the
 * interpreter in memory; no interpreter in a C process; 3.9 refused by name; the
 * table; _Py_DebugOffsets read and refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "base/safeio.h"
#include "target/python.h"

#include "check.h"

static const char *child_pymalloc; /* PYTHONMALLOC for the next start(), or NULL */

/* Start python, wait until its interpreter is up (it writes a line), return its pid. */
static int start(const char *python)
{
	int fd[2], pid;
	char c;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		if (child_pymalloc)
			setenv("PYTHONMALLOC", child_pymalloc, 1);
		execl(python, python, "-c",
		      "import sys, time; print(1, flush=True); time.sleep(30)", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	if (pid < 0 || read(fd[0], &c, 1) != 1) {
		close(fd[0]);
		return -1;
	}
	close(fd[0]);
	return pid;
}

static void stop(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void interpreter(const char *python, unsigned int major, unsigned int minor, bool static_exe)
{
	struct py_interp py;
	char err[512] = "", v[32];
	int pid, r;

	if (access(python, X_OK)) {
		SKIP("%s is not installed", python);
		return;
	}
	pid = start(python);
	if (pid < 0) {
		CHECK(0, "%s starts", python);
		return;
	}
	r = python_find(pid, &py, err, sizeof(err));
	CHECK(r == 0 && py.version >> 24 == major && ((py.version >> 16) & 0xff) == minor,
	      "%s: CPython %s found in %s (%s)", python,
	      python_version_str(py.version, v, sizeof(v)), py.path, err);
	CHECK(r == 0 && (static_exe ? !strcmp(py.path, python) : !!strstr(py.path, "libpython")),
	      "%s: in the %s", python, static_exe ? "executable" : "libpython");
	CHECK(r == 0 && python_check(pid, &py) == 0,
	      "%s: _PyRuntime's interpreter points back to it at 0x%llx", python, py.runtime);
	CHECK(r == 0 && py.code_type && py.none && py.layout.version == (major << 8 | minor),
	      "%s: PyCode_Type, _Py_NoneStruct and the %u.%u layout", python, major, minor);
	if (minor >= 13)
		CHECK(py.from_debug_offsets &&
		          !memcmp(&py.layout, python_layout(3, 13), sizeof(py.layout)),
		      "%s: _Py_DebugOffsets read, and it agrees with the table", python);
	stop(pid);
}

static void not_python(void)
{
	struct py_interp py;
	char err[512] = "";
	int pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	CHECK(python_find(pid, &py, err, sizeof(err)) == -ENOENT && strstr(err, "no CPython"),
	      "a C process: no interpreter (%s)", err);
	stop(pid);
}

static void old_python(void)
{
	const char *python = "/root/.pyenv/versions/3.9.18/bin/python";
	struct py_interp py;
	char err[512] = "";
	int pid;

	if (access(python, X_OK)) {
		SKIP("%s is not installed", python);
		return;
	}
	pid = start(python);
	CHECK(pid > 0 && python_find(pid, &py, err, sizeof(err)) == -ENOTSUP &&
	          strstr(err, "CPython 3.9") && strstr(err, "3.10 to 3.13"),
	      "3.9: refused, saying which version (%s)", err);
	if (pid > 0)
		stop(pid);
}

/* PYTHONMALLOC=malloc: every object through malloc, so nothing to warn about. */
static void pymalloc(void)
{
	const char *python = "/usr/bin/python3.11";
	char env[] = "A=1\0PYTHONMALLOCX=malloc\0PYTHONMALLOC=malloc_debug\0";
	int pid;

	CHECK(!strcmp(safeio_env_value(env, sizeof(env) - 1, "PYTHONMALLOC"), "malloc_debug") &&
	          !safeio_env_value(env, sizeof(env) - 1, "PYTHON"),
	      "an environment variable by its whole name");
	if (access(python, X_OK)) {
		SKIP("%s is not installed", python);
		return;
	}
	pid = start(python);
	CHECK(pid > 0 && python_pymalloc(pid), "a default interpreter uses pymalloc");
	if (pid > 0)
		stop(pid);
	child_pymalloc = "malloc";
	pid = start(python);
	child_pymalloc = NULL;
	CHECK(pid > 0 && !python_pymalloc(pid), "PYTHONMALLOC=malloc: every object by malloc");
	if (pid > 0)
		stop(pid);
}

static void debug_offsets(void)
{
	unsigned char buf[PY_DEBUG_OFFSETS_LEN] = {0};
	struct al_py_layout l;
	uint64_t v;

	memcpy(buf, "xdebugpy", 8);
	v = 0x030d00f0;
	memcpy(buf + 8, &v, 8);
	CHECK(python_debug_offsets(buf, sizeof(buf), &l) == 0 && l.interp_head == 0 &&
	          l.interp_runtime == python_layout(3, 13)->interp_runtime,
	      "a 3.13 header: read (zeros stay zeros, the runtime check from the table)");
	v = 0xffff;
	memcpy(buf + 40, &v, 8);
	CHECK(python_debug_offsets(buf, sizeof(buf), &l) == -1, "an offset that does not fit");
	v = 0;
	memcpy(buf + 40, &v, 8);
	v = 1;
	memcpy(buf + 16, &v, 8);
	CHECK(python_debug_offsets(buf, sizeof(buf), &l) == -1, "a free-threaded build");
	v = 0;
	memcpy(buf + 16, &v, 8);
	v = 0x030e00f0;
	memcpy(buf + 8, &v, 8);
	CHECK(python_debug_offsets(buf, sizeof(buf), &l) == -1, "3.14: another layout");
	buf[0] = 'X';
	CHECK(python_debug_offsets(buf, sizeof(buf), &l) == -1, "no cookie");
	CHECK(python_debug_offsets(buf, 100, &l) == -1, "too short");
	CHECK(python_layout(3, 9) == NULL && python_layout(3, 14) == NULL &&
	          python_layout(3, 11)->code_adaptive == 184 &&
	          python_layout(3, 10)->frame_owner == AL_PY_NONE,
	      "the table: 3.10 to 3.13 only");
}

int main(void)
{
	if (geteuid()) {
		SKIP("reading other processes' maps and memory needs root");
		return check_done();
	}
	interpreter("/usr/bin/python3.11", 3, 11, true);
	interpreter("/root/.pyenv/versions/3.10.13/bin/python3.10", 3, 10, false);
	interpreter("/root/.pyenv/versions/3.11.7/bin/python3.11", 3, 11, false);
	interpreter("/root/.pyenv/versions/3.12.1/bin/python3.12", 3, 12, false);
	interpreter("/root/.pyenv/versions/3.13.0/bin/python3.13", 3, 13, false);
	not_python();
	old_python();
	pymalloc();
	debug_offsets();
	return check_done();
}
