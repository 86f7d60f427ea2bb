// SPDX-License-Identifier: GPL-2.0
/* folded.c - folded stacks (Brendan Gregg's format), weighted by live bytes. A native
 * frame is its function's name; a Python frame its text, "qualname (file.py:line)", so
 * that a flame graph keeps the lines of one function apart.
 *
 * Thread stacks are left out: the address space a thread's stack reserves is not live
 * heap, and a count of threads would not weigh the same as bytes in one flame graph.
 * Written through stdio to a temporary file in the target directory, renamed over
 * the destination once complete (outfile.c), so a reader never sees half a file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "base/text.h"
#include "export/exporter.h"
#include "export/folded.h"
#include "export/outfile.h"

/* s (at most max bytes) with ';' as ':', control characters and invalid UTF-8 as '?'. */
static void put_name(FILE *f, const char *s, size_t max)
{
	size_t i = 0, k, n = strnlen(s, max);

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == ';') {
			putc(':', f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			putc('?', f);
			i++;
		} else if ((k = text_utf8_len(s + i, n - i))) {
			fwrite(s + i, 1, k, f);
			i += k;
		} else {
			putc('?', f);
			i++;
		}
	}
}

static void put_frame(FILE *f, const struct snap_frame *fr)
{
	const char *base;

	if (fr->python && fr->text[0]) {
		put_name(f, fr->text, sizeof(fr->text));
	} else if (fr->func[0]) {
		put_name(f, fr->func, sizeof(fr->func));
	} else if (fr->module[0]) {
		base = strrchr(fr->module, '/');
		base = base && base[1] ? base + 1 : fr->module;
		putc('[', f);
		put_name(f, base, sizeof(fr->module) - (size_t)(base - fr->module));
		fprintf(f, "+0x%llx]", fr->module_off);
	} else {
		fputs("[unknown]", f);
	}
}

static const struct snap_process *find_process(const struct snapshot *snap, int pid)
{
	int i;

	for (i = 0; snap->procs && i < snap->nprocs; i++)
		if (snap->procs[i].pid == pid)
			return &snap->procs[i];
	return NULL;
}

static void put_stack(FILE *f, const struct snapshot *snap, const struct snap_stack *s)
{
	int pid = (int)s->key.tgid;
	const struct snap_process *p = find_process(snap, pid);
	int i;

	if (p && p->comm[0])
		put_name(f, p->comm, sizeof(p->comm));
	else
		fputs("?", f);
	fprintf(f, "-%d", pid);
	for (i = s->frames ? s->nframes - 1 : -1; i >= 0; i--) {
		putc(';', f);
		put_frame(f, &s->frames[i]);
	}
	fprintf(f, " %llu\n", (unsigned long long)s->st.live_bytes);
}

static int put_stacks(FILE *f, const void *arg)
{
	const struct snapshot *snap = arg;
	int i;

	for (i = 0; snap->stacks && i < snap->nstacks; i++)
		if ((long long)snap->stacks[i].st.live_bytes > 0 &&
		    !snap_is_thread(&snap->stacks[i]))
			put_stack(f, snap, &snap->stacks[i]);
	return 0;
}

int folded_write(const char *path, const struct snapshot *snap, char *err, size_t errlen)
{
	if (!snap) {
		snprintf(err, errlen, "folded: no snapshot");
		return -EINVAL;
	}
	return outfile_write(path, 0, put_stacks, snap, err, errlen);
}

static int export_folded(struct export_ctx *x, const struct snapshot *snap, char *err,
                         size_t errlen)
{
	return folded_write(x->arg, snap, err, errlen) ? -1 : 0;
}

const struct exporter folded_exporter = {
    .option = "folded",
    .arg = "FILE",
    .help = "folded stacks weighted by live bytes, at exit (flamegraph)",
    .when = EXPORT_FINAL,
    .file = true,
    .all_stacks = true,
    .check = outfile_check,
    .write = export_folded,
};
