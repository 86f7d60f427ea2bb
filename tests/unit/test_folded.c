// SPDX-License-Identifier: GPL-2.0
/* test_folded.c - unit tests of cli/export/folded.c: folded stacks for flame graphs.
 *
 * A hand-made snapshot (nasty names: semicolons, newlines, quotes, backslashes,
 * bytes that are not UTF-8, C++ templates; unknown functions and modules; a stack
 * without live bytes, a thread stack, left out) must give exactly the expected lines. Also: bad
 * paths leave nothing behind, an existing file is replaced whole.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -g -Wall -Iinclude -Icli -o build/test_folded \
 *       tests/unit/test_folded.c cli/export/folded.c cli/export/pprof.c cli/export/json.c
 * cli/analyse/trend.c -lz build/test_folded Output: "ok - ..." / "not ok - ..." per check, "N
 * passed, N failed" last; exit status 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export/outfile.h"
#include "export/folded.h"

#include "check.h"

#define ERRLEN 512

#define TEMPLATE "std::vector<std::pair<int, char const*>, std::allocator<int> >::push_back"

static struct snap_frame f0[4], f1[2], f2[1], f3[2], f5[1];
static struct snap_stack stacks[6];
static struct snap_process procs[2];
static struct snapshot snap;

static struct snap_frame frame(const char *func, const char *module, unsigned long long off)
{
	struct snap_frame f;

	memset(&f, 0, sizeof(f));
	f.addr = 0x400000 + off;
	snprintf(f.func, sizeof(f.func), "%s", func);
	snprintf(f.module, sizeof(f.module), "%s", module);
	f.module_off = off;
	return f;
}

static void stack(struct snap_stack *s, int pid, unsigned long long live, struct snap_frame *frames,
                  int n)
{
	memset(s, 0, sizeof(*s));
	s->key.tgid = pid;
	s->kind = "malloc";
	s->st.live_bytes = live;
	s->st.allocs = 1;
	s->frames = frames;
	s->nframes = n;
}

static void build_snapshot(void)
{
	f0[0] = frame("leak_fixed", "/opt/app/server", 0x1234);
	f0[1] = frame("handle_request", "/opt/app/server", 0x2100);
	f0[2] = frame("", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x29d90);
	f0[3] = frame("", "", 0);
	stack(&stacks[0], 1234, 12288000, f0, 4);

	f1[0] = frame("semi;colon\nnew\"line\\\x01\xff\xc3\xa9", "/opt/app/server", 0x10);
	f1[1] = frame(TEMPLATE, "/opt/app/server", 0x20);
	stack(&stacks[1], 1234, 4096, f1, 2);

	f2[0] = frame("freed", "/opt/app/server", 0x30);
	stack(&stacks[2], 1234, 0, f2, 1); /* nothing live: no line */

	f3[0] = frame("", "/tmp/we;ird\n.so", 0xabc);
	f3[1] = frame("chat", "", 0); /* a Python frame: its text, line and all */
	f3[1].python = true;
	snprintf(f3[1].file, sizeof(f3[1].file), "/app/fastapi_app.py");
	f3[1].line = 94;
	snprintf(f3[1].text, sizeof(f3[1].text), "chat (fastapi_app.py:94)");
	stack(&stacks[3], 99, 100, f3, 2);

	stack(&stacks[4], 77, 5, NULL, 0); /* no frames, unknown process */

	/* 40 threads' stacks reserved: not live heap, no line */
	f5[0] = frame("start", "/usr/lib/python3.11/threading.py", 0x40);
	stack(&stacks[5], 1234, 335544320, f5, 1);
	stacks[5].kind = "thread";
	stacks[5].key.kind = AL_THREAD;
	stacks[5].st.live_objects = 40;

	memset(procs, 0, sizeof(procs));
	procs[0].pid = 1234;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "server");
	procs[1].pid = 99;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "my;app\n");

	memset(&snap, 0, sizeof(snap));
	snap.nprocs = 2;
	snap.procs = procs;
	snap.nstacks = 6;
	snap.stacks = stacks;
}

static const char expected[] =
    "server-1234;[unknown];[libc.so.6+0x29d90];handle_request;leak_fixed 12288000\n"
    "server-1234;" TEMPLATE ";semi:colon?new\"line\\??\xc3\xa9 4096\n"
    "my:app?-99;chat (fastapi_app.py:94);[we:ird?.so+0xabc] 100\n"
    "?-77 5\n";

static char tmpdir[] = "/tmp/test_folded.XXXXXX";

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n == (size_t)-1) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_lines(void)
{
	char path[512], err[ERRLEN] = "", *got;
	int ret;

	snprintf(path, sizeof(path), "%s/out.folded", tmpdir);
	ret = folded_write(path, &snap, err, sizeof(err));
	CHECK(ret == 0, "folded_write returns 0 (%s)", err);
	got = slurp(path);
	CHECK(got && !strcmp(got, expected), "exact lines");
	if (got && strcmp(got, expected))
		printf("--- got ---\n%s--- expected ---\n%s", got, expected);
	free(got);

	/* Replaced whole: a second write with fewer stacks. */
	snap.nstacks = 1;
	ret = folded_write(path, &snap, err, sizeof(err));
	snap.nstacks = 6;
	got = slurp(path);
	CHECK(ret == 0 && got &&
	          !strcmp(got, "server-1234;[unknown];[libc.so.6+0x29d90];handle_request;"
	                       "leak_fixed 12288000\n"),
	      "an existing file is replaced by the new content only");
	free(got);
	CHECK(count_entries(tmpdir) == 1, "no temporary file left behind");

	snap.nstacks = 0;
	ret = folded_write(path, &snap, err, sizeof(err));
	snap.nstacks = 6;
	got = slurp(path);
	CHECK(ret == 0 && got && !*got, "no stacks: an empty file");
	free(got);
}

static void test_paths(void)
{
	char path[512], dir[512], link[512], target[512], err[ERRLEN];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "%s/missing/x.folded", tmpdir);
	err[0] = '\0';
	ret = folded_write(path, &snap, err, sizeof(err));
	CHECK(ret < 0 && !exists(path) && err[0] && !strchr(err, '\n'),
	      "missing directory: error, one line (%s)", err);

	snprintf(dir, sizeof(dir), "%s/adir", tmpdir);
	mkdir(dir, 0755);
	ret = folded_write(dir, &snap, err, sizeof(err));
	CHECK(ret < 0 && !stat(dir, &st) && S_ISDIR(st.st_mode) && count_entries(dir) == 0,
	      "a directory: error (%s)", err);

	snprintf(target, sizeof(target), "%s/target", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	fclose(fopen(target, "w"));
	ret = symlink(target, link);
	ret = folded_write(link, &snap, err, sizeof(err));
	CHECK(ret < 0 && !lstat(link, &st) && S_ISLNK(st.st_mode) && !stat(target, &st) &&
	          st.st_size == 0,
	      "a symbolic link: error, link and target untouched (%s)", err);
	CHECK(outfile_check(link, err, sizeof(err)) == -ELOOP &&
	          outfile_check(dir, err, sizeof(err)) == -EISDIR &&
	          outfile_check(target, err, sizeof(err)) == 0,
	      "outfile_check");
	CHECK(count_entries(tmpdir) == 4, "nothing else created (%d entries)",
	      count_entries(tmpdir));
}

int main(void)
{
	char cmd[600];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	build_snapshot();
	test_lines();
	test_paths();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		printf("warning: could not remove %s\n", tmpdir);
	return check_done();
}
