// SPDX-License-Identifier: GPL-2.0
/* fuzz_procmaps.c - fuzz the /proc/PID/maps parser of cli/base/procmaps.c: procmaps_each()
 * on the input as the text of the whole file (cut into lines there), procmaps_parse_line()
 * on each line. The target chooses the paths (file names with spaces, newlines escaped,
 * " (deleted)", memfd and anonymous mapping names); allocator.c, attach.c and symbolize.c
 * read every mapping through this parser.
 *
 * Each mapping parsed must have a path inside the text, as long as it says, without a
 * newline or a leading space, four permission letters, and must parse again to the same
 * fields when written back as the kernel writes it.
 *
 * The buffer is exactly as long as the text plus the NUL that the reader puts after it,
 * so that reading past it is caught.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/procmaps.h"
#include "must.h"

struct text {
	const char *start, *end;
};

static int check(struct procmaps_entry *e, void *arg)
{
	const struct text *t = arg;
	struct procmaps_entry again;
	char *line, *copy;
	size_t n;
	int len;

	MUST(e->path >= t->start && e->path + e->pathlen <= t->end, "path outside the text");
	MUST(strlen(e->path) == e->pathlen, "pathlen %zu, but %zu bytes", e->pathlen,
	     strlen(e->path));
	MUST(!strchr(e->path, '\n') && e->path[0] != ' ', "path with a newline or a space first");
	MUST(strlen(e->perms) == 4 && !strchr(e->perms, ' '), "permissions '%s'", e->perms);

	/* Written back as the kernel writes it, parsed again: the same fields. */
	len = snprintf(NULL, 0, "%08llx-%08llx %s %08llx %02x:%02x %llu %s\n", e->start, e->end,
	               e->perms, e->offset, e->major, e->minor, e->inode, e->path);
	line = malloc((size_t)len + 1);
	MUST(line, "out of memory");
	snprintf(line, (size_t)len + 1, "%08llx-%08llx %s %08llx %02x:%02x %llu %s\n", e->start,
	         e->end, e->perms, e->offset, e->major, e->minor, e->inode, e->path);
	MUST(!procmaps_parse_line(line, &again), "written back, not parsed: %s", line);
	MUST(again.start == e->start && again.end == e->end && !strcmp(again.perms, e->perms) &&
	         again.offset == e->offset && again.major == e->major && again.minor == e->minor &&
	         again.inode == e->inode && !strcmp(again.path, e->path) &&
	         again.pathlen == e->pathlen,
	     "written back, parsed otherwise: %s", line);
	free(line);

	/* The deleted mark: cut only at the end, never the whole path. */
	copy = strdup(e->path);
	MUST(copy, "out of memory");
	n = strlen(copy);
	if (procmaps_strip_deleted(copy))
		MUST(strlen(copy) + 10 == n && strlen(copy) > 0, "mark cut wrongly");
	else
		MUST(strlen(copy) == n, "path changed without the mark");
	free(copy);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text t;
	char *text;

	text = fuzz_text(data, size);
	if (!text)
		return 0;
	t.start = text;
	t.end = text + size;
	MUST(procmaps_each(text, size, check, &t) == 0, "procmaps_each stopped by itself");
	free(text);
	return 0;
}
