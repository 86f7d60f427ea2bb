// SPDX-License-Identifier: GPL-2.0
/* test_output.c - unit tests of cli/export/output.c, the table of exporters: the options
 * it gives the option table, what it refuses before tracing starts (an option that is
 * no output's, a flag without its option, two outputs on one file, a path that cannot
 * be written), and which outputs write at which moment (interval, final, SIGUSR1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export/output.h"

#include "check.h"

static char dir[] = "/tmp/test_output.XXXXXX";
static char err[512];

/* dir/name, kept for the whole run: the outputs keep pointers to their paths. */
static char *path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static long file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : (long)st.st_size;
}

static int lines(const char *p)
{
	FILE *f = fopen(p, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_options(void)
{
	const struct output_option *o = outputs_options();
	const char *want[] = {"prom-file", "keep",      "listen", "pprof",
	                      "json",      "json-file", "folded", "html"};
	char got[256] = "";
	int i, n;

	for (n = 0; o[n].name; n++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s ", o[n].name);
	for (i = 0; i < n && i < 8; i++)
		if (strcmp(o[i].name, want[i]))
			break;
	CHECK(n == 8 && i == 8, "the options in --help order, --keep after --prom-file: %s", got);
	CHECK(!o[1].arg && !o[4].arg && o[0].arg && !strcmp(o[3].arg, "FILE"),
	      "flags have no argument, files say FILE");
	CHECK(o[0].help && strchr(o[0].help, '\n') && !strchr(o[1].help, '\n'),
	      "help lines separated by newlines");
}

static int open_with(struct outputs **out, const char *const *argv)
{
	struct output_opts o = {.top = 5, .stack_depth = 4};
	int i;

	err[0] = '\0';
	for (i = 0; argv[i]; i += 2)
		if (outputs_set(&o, argv[i], argv[i + 1], err, sizeof(err)))
			return -2;
	*out = outputs_open(&o, err, sizeof(err));
	return *out ? 0 : -1;
}

static void test_refusals(void)
{
	struct output_opts o = {0};
	struct outputs *out = NULL;
	char *dirfile = path("");
	const char *keep_alone[] = {"keep", NULL, "json-file", path("j.json"), NULL};
	const char *same[] = {"pprof", path("a"), "html", path("a"), NULL};
	const char *bad_dir[] = {"folded", path("no/such/dir/f"), NULL};
	const char *a_dir[] = {"html", dirfile, NULL};

	CHECK(outputs_set(&o, "xml", "x", err, sizeof(err)) == -1 &&
	          !strcmp(err, "--xml is no output's option"),
	      "an unknown output refused: %s", err);
	CHECK(open_with(&out, keep_alone) == -1 &&
	          !strcmp(err, "--keep keeps the --prom-file at exit: add --prom-file PATH"),
	      "--keep without --prom-file: %s", err);
	CHECK(file_size(path("j.json")) == -1, "... refused before --json-file was created");
	CHECK(open_with(&out, same) == -1 && strstr(err, "are the same file: give each output") &&
	          strstr(err, "--pprof ") && strstr(err, "--html "),
	      "two outputs on one file: %s", err);
	CHECK(open_with(&out, bad_dir) == -1 && !strncmp(err, "--folded: ", 10) &&
	          strstr(err, "does not exist"),
	      "a missing directory, named by its option: %s", err);
	CHECK(open_with(&out, a_dir) == -1 && !strncmp(err, "--html", 6),
	      "a directory is no output file: %s", err);
}

static void test_when(void)
{
	struct snapshot snap = {.mode = "precise", .request_source = "time", .time_mode = true};
	const char *argv[] = {"json-file",      path("r.json"), "folded",
	                      path("f.folded"), "pprof",        path("p.pb.gz"),
	                      "json",           NULL,           NULL};
	struct outputs *out = NULL;
	const char *arg = NULL;
	struct output_opts o = {0};

	CHECK(outputs_set(&o, "pprof", "/x", err, sizeof(err)) == 0 &&
	          outputs_given(&o, "pprof", &arg) && !strcmp(arg, "/x") &&
	          !outputs_given(&o, "html", NULL) && !outputs_given(&o, "keep", NULL),
	      "outputs_given reads back what was set");
	if (open_with(&out, argv)) {
		CHECK(0, "open json-file, folded, pprof, json: %s", err);
		return;
	}
	CHECK(outputs_want_all_stacks(out), "pprof and folded want every stack");
	outputs_metrics(out, &snap);
	CHECK(lines(path("r.json")) == 0, "the first sample writes no report");
	outputs_report(out, &snap);
	outputs_report(out, &snap);
	CHECK(lines(path("r.json")) == 2 && file_size(path("f.folded")) == -1 &&
	          file_size(path("p.pb.gz")) == -1,
	      "two interval reports: two JSON lines, no folded, no pprof yet");
	outputs_dump(out, &snap);
	CHECK(file_size(path("p.pb.gz")) > 0 && file_size(path("f.folded")) == -1 &&
	          lines(path("r.json")) == 2,
	      "SIGUSR1: pprof written, folded waits for the end, no report");
	snap.final = true;
	CHECK(outputs_report(out, &snap) == 0, "the final report");
	CHECK(lines(path("r.json")) == 3 && file_size(path("f.folded")) == 0,
	      "final: a third JSON line (%d), the folded file (%ld B: no stacks)",
	      lines(path("r.json")), file_size(path("f.folded")));
	CHECK(outputs_close(out) == 0, "closed with nothing lost");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_options();
	test_refusals();
	test_when();
	unlink(path("r.json"));
	unlink(path("f.folded"));
	unlink(path("p.pb.gz"));
	rmdir(dir);
	return check_done();
}
