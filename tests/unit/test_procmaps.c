// SPDX-License-Identifier: GPL-2.0
/* test_procmaps.c - unit tests of cli/base/procmaps.c: /proc/PID/maps lines and files.
 *
 * Canned lines (a file, anonymous memory, [heap], names with spaces, " (deleted)", odd and
 * broken lines), a text of several lines, then this test's own maps with a deleted file, a
 * file whose name holds spaces and a memfd mapped. Every line of this process's and of
 * its parent's maps must give the fields that the sscanf() formats agentleak used before gave.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "base/procmaps.h"

#include "check.h"

/* Parse a copy of line (the parser writes into it); the path is copied to path. */
static int parse(const char *line, struct procmaps_entry *e, char *path, size_t len)
{
	char buf[512];
	int r;

	snprintf(buf, sizeof(buf), "%s", line);
	r = procmaps_parse_line(buf, e);
	snprintf(path, len, "%s", r ? "" : e->path);
	if (!r)
		e->path = NULL; /* points into buf, gone */
	return r;
}

static void canned_lines(void)
{
	struct procmaps_entry e;
	char path[256];

	CHECK(!parse("7f0c5a428000-7f0c5a5bd000 r-xp 00028000 fe:01 1316                       "
	             "/usr/lib/x86_64-linux-gnu/libc.so.6\n",
	             &e, path, sizeof(path)) &&
	          e.start == 0x7f0c5a428000ULL && e.end == 0x7f0c5a5bd000ULL &&
	          !strcmp(e.perms, "r-xp") && e.offset == 0x28000 && e.major == 0xfe &&
	          e.minor == 1 && e.inode == 1316 &&
	          !strcmp(path, "/usr/lib/x86_64-linux-gnu/libc.so.6") && e.pathlen == strlen(path),
	      "a library: every field, the padding and the newline left out (%s)", path);
	CHECK(!parse("7f0c5a428000-7f0c5a5bd000 r-xp 00028000 fe:01 1316 /lib/x.so", &e, path,
	             sizeof(path)) &&
	          !strcmp(path, "/lib/x.so"),
	      "no newline, one space before the path");
	CHECK(procmaps_exec(&e), "r-xp is executable");
	CHECK(
	    !parse("7fed0c912000-7fed0c9d6000 rw-p 00000000 00:00 0 \n", &e, path, sizeof(path)) &&
	        !e.inode && !e.pathlen && !path[0] && !procmaps_exec(&e),
	    "anonymous memory: the kernel's trailing space, an empty path");
	CHECK(!parse("7fed0c912000-7fed0c9d6000 rw-p 00000000 00:00 0", &e, path, sizeof(path)) &&
	          !e.pathlen,
	      "anonymous memory without the trailing space");
	CHECK(!parse("556b9dce8000-556b9dd09000 rw-p 00000000 00:00 0                          "
	             "[heap]\n",
	             &e, path, sizeof(path)) &&
	          !strcmp(path, "[heap]"),
	      "[heap]");
	CHECK(!parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  "
	             "[vsyscall]",
	             &e, path, sizeof(path)) &&
	          e.start == 0xffffffffff600000ULL && e.end == 0xffffffffff601000ULL &&
	          !strcmp(path, "[vsyscall]") && procmaps_exec(&e),
	      "[vsyscall]: 16 hex digits");
	CHECK(!parse(
	          "00400000-00401000 r-xp 00000000 08:03 18446744073709551615 /a b/c d (deleted)\n",
	          &e, path, sizeof(path)) &&
	          e.start == 0x400000 && e.inode == 18446744073709551615ULL &&
	          !strcmp(path, "/a b/c d (deleted)"),
	      "spaces and \" (deleted)\" stay in the path; the largest inode (%s)", path);
	CHECK(!parse("7f00-7f01 rw-s 00000000 00:01 2057 /memfd:x y (deleted)  ", &e, path,
	             sizeof(path)) &&
	          !strcmp(path, "/memfd:x y (deleted)  ") && !strcmp(e.perms, "rw-s"),
	      "a memfd; trailing spaces of a name kept (%s)", path);
	CHECK(!parse("7f00-7f01 rw-p 00000000 00:00 0      [anon:my [name]]", &e, path,
	             sizeof(path)) &&
	          !strcmp(path, "[anon:my [name]]"),
	      "a named anonymous mapping");
	CHECK(!parse("7F00-7F01 R-XP 0000ABCD 0A:1B 7 /x", &e, path, sizeof(path)) &&
	          e.start == 0x7f00 && e.offset == 0xabcd && e.major == 10 && e.minor == 27,
	      "capital hex digits");
	CHECK(!parse("7f00-7f01 r-xp 00000000 103:1ffff 7 /x", &e, path, sizeof(path)) &&
	          e.major == 0x103 && e.minor == 0x1ffff,
	      "major and minor beyond two digits");

	CHECK(parse("", &e, path, sizeof(path)), "empty line refused");
	CHECK(parse("\n", &e, path, sizeof(path)), "a newline refused");
	CHECK(parse("7f00-7f01 r-xp 00000000 00:00", &e, path, sizeof(path)), "no inode refused");
	CHECK(parse("7f00-7f01 r-xp 00000000 00:00 x /a", &e, path, sizeof(path)),
	      "inode not a number refused");
	CHECK(
	    parse("7f00-7f01 r-xp 00000000 00:00 18446744073709551616 /a", &e, path, sizeof(path)),
	    "inode beyond 64 bits refused");
	CHECK(parse("7f00-7f01 r-xp 00000000 00:00 12/a", &e, path, sizeof(path)),
	      "inode run into the path refused");
	CHECK(parse("17f00000000000000-7f01 r-xp 00000000 00:00 0", &e, path, sizeof(path)),
	      "17 hex digits refused");
	CHECK(parse("7f00-7f01 r-x 00000000 00:00 0", &e, path, sizeof(path)) &&
	          parse("7f00-7f01 r-xpp 00000000 00:00 0", &e, path, sizeof(path)),
	      "permissions of 3 and 5 letters refused");
	CHECK(parse(" 7f00-7f01 r-xp 00000000 00:00 0", &e, path, sizeof(path)) &&
	          parse("7f00 7f01 r-xp 00000000 00:00 0", &e, path, sizeof(path)) &&
	          parse("7f00-7f01 r-xp 00000000 0000 0", &e, path, sizeof(path)) &&
	          parse("7f00-7f01  r-xp 0x0 00:00 0", &e, path, sizeof(path)) &&
	          parse("-7f01 r-xp 00000000 00:00 0", &e, path, sizeof(path)) &&
	          parse("7f00-7f01 r-xp 00000000 123456789:00 0", &e, path, sizeof(path)),
	      "a leading space, no '-', no ':', 0x, a missing number, a 9-digit major refused");
	CHECK(parse("7f00-7f01\nr-xp 00000000 00:00 0 /a", &e, path, sizeof(path)),
	      "a line ends at its newline");
}

static void deleted_mark(void)
{
	char a[] = "/tmp/x (deleted)", b[] = " (deleted)", c[] = "/tmp/x", d[] = "/x (deleted) ";

	CHECK(procmaps_strip_deleted(a) && !strcmp(a, "/tmp/x"), "\" (deleted)\" cut (%s)", a);
	CHECK(!procmaps_strip_deleted(b) && !strcmp(b, " (deleted)"), "the mark alone kept");
	CHECK(!procmaps_strip_deleted(c) && !procmaps_strip_deleted(d), "no mark at the end");
}

struct seen {
	int n, stop_at;
	char paths[8][64];
};

static int collect(struct procmaps_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", e->path);
	return ++s->n == s->stop_at ? 42 : 0;
}

static void several_lines(void)
{
	char text[] = "1000-2000 r-xp 00000000 08:01 12 /bin/a\n"
	              "garbage\n"
	              "\n"
	              "3000-4000 rw-p 00000000 00:00 0 \n"
	              "5000-6000 r--p 00001000 08:01 13 /lib/b c";
	char copy[sizeof(text)];
	struct seen s = {0};
	int r;

	memcpy(copy, text, sizeof(text));
	r = procmaps_each(copy, sizeof(text) - 1, collect, &s);
	CHECK(!r && s.n == 3 && !strcmp(s.paths[0], "/bin/a") && !s.paths[1][0] &&
	          !strcmp(s.paths[2], "/lib/b c"),
	      "three mappings of five lines, the last without a newline (%d)", s.n);
	memcpy(copy, text, sizeof(text));
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	r = procmaps_each(copy, sizeof(text) - 1, collect, &s);
	CHECK(r == 42 && s.n == 2, "stops where the callback says, with its value");
	memset(&s, 0, sizeof(s));
	CHECK(!procmaps_each(copy, 0, collect, &s) && !s.n, "nothing in no text");
}

/* Mappings of this process that the test made. */
struct mine {
	unsigned long long deleted_ino, spaced_ino;
	int deleted, spaced, memfd, exe;
	char exe_path[PATH_MAX];
};

static int find_mine(struct procmaps_entry *e, void *arg)
{
	struct mine *m = arg;

	if (e->inode == m->deleted_ino && strstr(e->path, "/procmaps-deleted") && e->pathlen > 10 &&
	    !strcmp(e->path + e->pathlen - 10, " (deleted)"))
		m->deleted++;
	if (e->inode == m->spaced_ino && strstr(e->path, "/procmaps with spaces "))
		m->spaced++;
	if (strstr(e->path, "/memfd:a b (deleted)"))
		m->memfd++;
	if (procmaps_exec(e) && !strcmp(e->path, m->exe_path))
		m->exe++;
	return 0;
}

static void *map_file(const char *path, unsigned long long *ino)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) || fstat(fd, &st)) {
		perror(path);
		exit(1);
	}
	*ino = st.st_ino;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p;
}

static void own_maps(void)
{
	char deleted[64], spaced[64];
	struct mine m = {0};
	ssize_t n;
	void *a, *b, *c;
	int fd, r;

	snprintf(deleted, sizeof(deleted), "/tmp/procmaps-deleted.%d", (int)getpid());
	snprintf(spaced, sizeof(spaced), "/tmp/procmaps with spaces %d", (int)getpid());
	a = map_file(deleted, &m.deleted_ino);
	unlink(deleted);
	b = map_file(spaced, &m.spaced_ino);
	fd = memfd_create("a b (deleted)", 0);
	c = fd >= 0 && !ftruncate(fd, 4096) ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0)
	                                    : MAP_FAILED;
	n = readlink("/proc/self/exe", m.exe_path, sizeof(m.exe_path) - 1);
	m.exe_path[n > 0 ? n : 0] = '\0';
	r = procmaps_read(getpid(), find_mine, &m);
	CHECK(!r, "reads /proc/self/maps (%d)", r);
	CHECK(a != MAP_FAILED && m.deleted == 1, "an unlinked file: its inode, \" (deleted)\"");
	CHECK(b != MAP_FAILED && m.spaced == 1, "a file whose name holds spaces");
	CHECK(c != MAP_FAILED && m.memfd == 1, "a memfd named \"a b (deleted)\"");
	CHECK(m.exe >= 1, "the test's own text (%s)", m.exe_path);
	CHECK(procmaps_read(-1, find_mine, &m) == -ENOENT, "no such process: -ENOENT");
	unlink(spaced);
	if (a != MAP_FAILED)
		munmap(a, 4096);
	if (b != MAP_FAILED)
		munmap(b, 4096);
	if (c != MAP_FAILED)
		munmap(c, 4096);
	if (fd >= 0)
		close(fd);
}

/* The fields that symbolize.c's sscanf() took from a line, before procmaps.c. */
static int old_parse(char *line, struct procmaps_entry *e)
{
	unsigned int major, minor;
	char perms[8];
	int pos = 0;
	size_t len;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &e->start, &e->end, perms, &e->offset,
	           &major, &minor, &e->inode, &pos) < 7)
		return -1;
	snprintf(e->perms, sizeof(e->perms), "%.4s", perms);
	e->major = major;
	e->minor = minor;
	e->path = line + pos;
	len = strlen(e->path);
	if (len && e->path[len - 1] == '\n')
		e->path[--len] = '\0';
	e->pathlen = len;
	return 0;
}

/* Every line of pid's maps gives the same fields as before. */
static void compare_with_sscanf(int pid)
{
	char path[64], *line = NULL, *copy;
	struct procmaps_entry e, o;
	size_t cap = 0;
	int lines = 0, same = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		SKIP("%s: %s", path, strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		copy = strdup(line);
		lines++;
		if (!copy || procmaps_parse_line(line, &e) || old_parse(copy, &o)) {
			free(copy);
			continue;
		}
		same += e.start == o.start && e.end == o.end && !strcmp(e.perms, o.perms) &&
		        e.offset == o.offset && e.major == o.major && e.minor == o.minor &&
		        e.inode == o.inode && !strcmp(e.path, o.path) && e.pathlen == o.pathlen;
		free(copy);
	}
	free(line);
	fclose(f);
	CHECK(lines > 0 && same == lines, "%s: %d of %d lines as sscanf() read them", path, same,
	      lines);
}

int main(void)
{
	canned_lines();
	deleted_mark();
	several_lines();
	own_maps();
	compare_with_sscanf(getpid());
	compare_with_sscanf(getppid());
	return check_done();
}
