// SPDX-License-Identifier: GPL-2.0
/* fuzz_procmem.c - fuzz the /proc text parsers of cli/analyse/procmem.c:
 * procmem_parse_status() on the text of /proc/PID/status (whose Name: line the
 * process chooses), and procmem_parse_cgroup_line() on each line of the same input
 * read as /proc/PID/cgroup (whose paths a process in a delegated subtree chooses),
 * cut as getline() cuts it.
 *
 * Every buffer is exactly as long as its text (plus the NUL), so that reading past
 * it is caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "analyse/procmem.h"
#include "must.h"

#define PATH_SIZE 512 /* struct procmem's cg_path, as procmem_read() passes */

static void cgroup_lines(const uint8_t *data, size_t size)
{
	char v1[PATH_SIZE], v2[PATH_SIZE], *line;
	const uint8_t *p = data, *end = data + size, *nl;
	size_t n;

	v1[0] = v2[0] = '\0';
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		line = malloc(n + 1);
		if (!line)
			return;
		memcpy(line, p, n);
		line[n] = '\0';
		procmem_parse_cgroup_line(line, v1, v2, sizeof(v1));
		free(line);
		MUST(memchr(v1, 0, sizeof(v1)) && memchr(v2, 0, sizeof(v2)),
		     "cgroup path not terminated");
		p += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmem m;
	char *text;

	text = fuzz_text(data, size);
	if (!text)
		return 0;
	memset(&m, 0xa5, sizeof(m));
	MUST(procmem_parse_status(text, &m) == 0, "procmem_parse_status failed");
	free(text);
	cgroup_lines(data, size);
	return 0;
}
