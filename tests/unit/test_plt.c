// SPDX-License-Identifier: GPL-2.0
/* test_plt.c - unit tests of cli/target/plt.c: the runtime ranges of the executable's PLT.
 *
 * Runs on its own executable (a PIE with a lazy .plt): the ranges found through its
 * /proc/self/maps must lie in its text and the .plt must start with PLT0's
 * `push GOT+8(%rip)` (ff 35). Prints "ok - ..." / "not ok - ..." per check and
 * "N passed, N failed" last.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "target/plt.h"

#include "check.h"

/* The executable mappings of this program's own file. */
static int self_maps(struct plt_map *maps, int max)
{
	char exe[PATH_MAX], line[PATH_MAX + 256];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (len <= 0 || !f)
		return 0;
	exe[len] = '\0';
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8], path[PATH_MAX];

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &start, &end, perms, &off,
		           path) == 5 &&
		    perms[2] == 'x' && !strcmp(path, exe))
			maps[n++] = (struct plt_map){.start = start, .end = end, .off = off};
	}
	fclose(f);
	return n;
}

int main(void)
{
	struct plt_map maps[4];
	__u64 start[3] = {0}, end[3] = {0};
	int fd, nmaps, n, i;
	bool inside = true;

	nmaps = self_maps(maps, 4);
	CHECK(nmaps >= 1, "own text mappings found (%d)", nmaps);
	fd = open("/proc/self/exe", O_RDONLY);
	CHECK(fd >= 0, "open /proc/self/exe");
	n = plt_ranges(fd, maps, nmaps, start, end, 3);
	CHECK(n >= 1, "PLT ranges found (%d)", n);
	for (i = 0; i < n; i++)
		inside &=
		    start[i] >= maps[0].start && end[i] <= maps[nmaps - 1].end && start[i] < end[i];
	CHECK(inside, "PLT ranges lie in the text");
	CHECK(n >= 1 && ((const unsigned char *)start[0])[0] == 0xff &&
	          ((const unsigned char *)start[0])[1] == 0x35,
	      ".plt at run time starts with ff 35 (push GOT+8)");
	CHECK(plt_ranges(fd, maps, 0, start, end, 3) == 0, "no mapping: no range");
	close(fd);
	fd = open("/proc/self/maps", O_RDONLY);
	CHECK(plt_ranges(fd, maps, nmaps, start, end, 3) == 0, "not ELF: no range");
	close(fd);
	return check_done();
}
