// SPDX-License-Identifier: GPL-2.0
/* fuzz_plt.c - fuzz the PLT reader of cli/target/plt.c, plt_ranges(): the section headers
 * and section names of the executable a traced process runs (any file it chooses),
 * read through libelf.
 *
 * The input is the executable, handed over as a memfd as the growth tier hands over
 * /proc/PID/exe; the mappings are those of a PIE and of a non-PIE text segment. Every
 * range found must be non-empty and lie inside one of them.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "target/plt.h"
#include "must.h"

#define MAX_RANGES 4

static const struct plt_map maps[] = {
    {0x555555554000ULL, 0x555555554000ULL + (16 << 20), 0}, /* PIE: the whole file */
    {0x401000, 0x402000, 0x1000},                           /* non-PIE .text */
    {0x7f0000000000ULL, 0x7f0000010000ULL, 0x100000},       /* offset past the file */
};

#define NMAPS ((int)(sizeof(maps) / sizeof(maps[0])))

static int inside(__u64 start, __u64 end)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (start >= maps[i].start && end <= maps[i].end)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	__u64 start[MAX_RANGES], end[MAX_RANGES];
	int n, i;

	if (fd < 0)
		fd = memfd_create("fuzz_plt", MFD_CLOEXEC);
	MUST(fd >= 0 && !ftruncate(fd, 0) && (!size || pwrite(fd, data, size, 0) == (ssize_t)size),
	     "cannot write the memfd");
	n = plt_ranges(fd, maps, NMAPS, start, end, MAX_RANGES);
	MUST(n >= 0 && n <= MAX_RANGES, "%d ranges", n);
	for (i = 0; i < n; i++)
		MUST(start[i] < end[i] && inside(start[i], end[i]),
		     "range %d [%#llx, %#llx) outside the mappings", i,
		     (unsigned long long)start[i], (unsigned long long)end[i]);
	/* max bounds what is written */
	n = plt_ranges(fd, maps, NMAPS, start, end, 1);
	MUST(n >= 0 && n <= 1, "%d ranges for max 1", n);
	return 0;
}
