// SPDX-License-Identifier: GPL-2.0
/* test_options.c - unit tests of cli/base/options.c (a command line read by one table:
 * values, errors, --help text) and of agentleak's own table in cli/args.c.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "args.h"
#include "base/options.h"

#include "check.h"

struct settings {
	int n;
	unsigned int u;
	unsigned long long big;
	double secs, bytes;
	bool flag;
	const char *name;
	enum { RED, GREEN, BLUE } color;
	char called[64]; /* the rows handled by take() */
};

#define AT(field) OPT_AT(struct settings, field)

static const char *const colors[] = {"red", "green", "blue", NULL};

static int take(void *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	struct settings *s = cfg;
	size_t used = strlen(s->called);

	if (arg && !strcmp(arg, "bad"))
		return opt_fail(err, errlen, "--%s: bad", name);
	snprintf(s->called + used, sizeof(s->called) - used, "%s=%s;", name, arg ? arg : "-");
	return arg && !strcmp(arg, "stop") ? OPT_STOP : 0;
}

static const struct opt extra[] = {
    {OPT_CALL, "extra", 0, "X", "from another table", .call = take},
    {OPT_CALL, "extra-flag", 0, NULL, "a flag\nof two lines", .call = take},
    {.kind = OPT_END},
};

static const struct opt *include_extra(void)
{
	return extra;
}

static const struct opt table[] = {
    {OPT_TEXT, .help = "Usage: t [OPTIONS]\n\nOptions:\n"},
    {OPT_WHOLE, "number", 'n', "N", "a number\nfrom 1 to 10", AT(n), .min = 1, .max = 10},
    {OPT_WHOLE, "max-u", 0, "U", "unsigned", AT(u), .min = 256, .max = 1 << 22},
    {OPT_WHOLE, "max-big", 0, "B", "64 bits", AT(big), .min = 0, .max = 1L << 40},
    {OPT_SECONDS, "secs", 's', "SECS", "seconds", AT(secs)},
    {OPT_BYTES, "bytes", 0, "B", "bytes", AT(bytes)},
    {OPT_FLAG, "flag", 'f', NULL, "a flag", AT(flag)},
    {OPT_STRING, "name", 0, "A-LONG-ARGUMENT", "past the help column", AT(name)},
    {OPT_CHOICE, "color", 'c', "COLOR", "red, green or blue", AT(color), .choices = colors},
    {OPT_TEXT, .help = "\nMore:\n"},
    {OPT_INCLUDE, .include = include_extra},
    {OPT_HELP, .name = "help", .key = 'h', .help = "this help"},
    {OPT_TEXT, .help = "The end.\n"},
    {.kind = OPT_END},
};

static const char expected_usage[] = "Usage: t [OPTIONS]\n"
                                     "\n"
                                     "Options:\n"
                                     "  -n, --number N         a number\n"
                                     "                         from 1 to 10\n"
                                     "      --max-u U          unsigned\n"
                                     "      --max-big B        64 bits\n"
                                     "  -s, --secs SECS        seconds\n"
                                     "      --bytes B          bytes\n"
                                     "  -f, --flag             a flag\n"
                                     "      --name A-LONG-ARGUMENT  past the help column\n"
                                     "  -c, --color COLOR      red, green or blue\n"
                                     "\n"
                                     "More:\n"
                                     "      --extra X          from another table\n"
                                     "      --extra-flag       a flag\n"
                                     "                         of two lines\n"
                                     "  -h, --help             this help\n"
                                     "The end.\n";

static char err[256];

/* Parse a command line given as one string (words split at blanks). */
static int parse(struct settings *s, const char *line, int *first)
{
	static char buf[512];
	char *argv[32];
	int argc = 0, dummy;

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	snprintf(buf, sizeof(buf), "t %s", line);
	for (char *w = strtok(buf, " "); w && argc < 31; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	return opt_parse(table, s, argc, argv, first ? first : &dummy, err, sizeof(err));
}

/* Does line fail with exactly msg? */
static bool fails(const char *line, const char *msg)
{
	struct settings s;

	return parse(&s, line, NULL) == -1 && !strcmp(err, msg);
}

static void test_values(void)
{
	struct settings s;
	int first;

	CHECK(parse(&s,
	            "-n 7 --max-u 4096 --max-big 1099511627776 -s 1.5 --bytes 1e6 -f --name x "
	            "-c blue op1 op2",
	            &first) == 0,
	      "a full command line parses (%s)", err);
	CHECK(s.n == 7 && s.u == 4096 && s.big == 1ULL << 40, "whole numbers: int, unsigned, u64");
	CHECK(s.secs == 1.5 && s.bytes == 1e6, "seconds and bytes");
	CHECK(s.flag && s.name && !strcmp(s.name, "x") && s.color == BLUE, "flag, string, choice");
	CHECK(first == 16, "operands start after the options (%d)", first);
	CHECK(parse(&s, "op -n 3 -- -f", &first) == 0 && s.n == 3 && !s.flag && first == 4,
	      "operands and options mixed; -- ends the options (%d)", first);
	CHECK(parse(&s, "--num=4 -fn5", NULL) == 0 && s.n == 5 && s.flag,
	      "a unique prefix, --name=value, short options bundled");
	CHECK(parse(&s, "--extra a --extra-flag --extra b", NULL) == 0 &&
	          !strcmp(s.called, "extra=a;extra-flag=-;extra=b;"),
	      "the included table's rows call their function (%s)", s.called);
	CHECK(parse(&s, "--extra stop -n 0", NULL) == OPT_STOP && s.n == 0,
	      "OPT_STOP from a function ends the parse");
}

static void test_errors(void)
{
	CHECK(fails("-n 11", "invalid --number '11': expected a whole number from 1 to 10 (see "
	                     "--help)"),
	      "a whole number out of range (%s)", err);
	CHECK(fails("--max-u 1x", "invalid --max-u '1x': expected a whole number from 256 to "
	                          "4194304 (see --help)"),
	      "trailing junk");
	CHECK(
	    fails("-s 0x1", "invalid --secs '0x1': expected a number of seconds > 0 (see --help)"),
	    "seconds: no hex (%s)", err);
	CHECK(
	    fails("-s inf", "invalid --secs 'inf': expected a number of seconds > 0 (see --help)"),
	    "seconds: no inf");
	CHECK(
	    fails("-s 1e3", "invalid --secs '1e3': expected a number of seconds > 0 (see --help)"),
	    "seconds: no exponent");
	CHECK(fails("-s 31536001",
	            "invalid --secs '31536001': expected a number of seconds > 0 (see "
	            "--help)"),
	      "seconds: at most a year");
	CHECK(fails("--bytes -1", "invalid --bytes '-1': expected a number of bytes >= 0 (see "
	                          "--help)"),
	      "bytes: not negative");
	CHECK(fails("-c pink", "invalid --color 'pink': expected red, green or blue (see --help)"),
	      "a choice lists the names (%s)", err);
	CHECK(fails("-n", "option '-n' needs a value (see --help)"), "a missing value, short");
	CHECK(fails("--name", "option '--name' needs a value (see --help)"),
	      "a missing value, long");
	CHECK(fails("--bogus", "unknown option '--bogus' (see --help)"), "an unknown option");
	CHECK(fails("-x", "unknown option '-x' (see --help)"), "an unknown short option");
	CHECK(fails("--max 5", "unknown option '--max' (see --help)"),
	      "an ambiguous prefix is refused (%s)", err);
	CHECK(fails("--flag=1", "unknown option '--flag=1' (see --help)"), "a flag takes no value");
	CHECK(fails("--extra bad -n 0", "--extra: bad"), "a function's error, first error wins");
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct settings s;
	int out, saved, r;

	CHECK(f && opt_usage(f, table) == 0, "usage written");
	fclose(f);
	CHECK(text && !strcmp(text, expected_usage), "the usage text: option column, help column "
	                                             "25 or two spaces after, continuation lines");
	if (!text || strcmp(text, expected_usage))
		printf("got:\n%s", text ? text : "(nothing)\n");
	free(text);

	/* --help prints it on stdout (sent to /dev/null here) and ends the parse. */
	fflush(stdout);
	saved = dup(1);
	out = open("/dev/null", O_WRONLY);
	dup2(out, 1);
	r = parse(&s, "-h -n 0", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(out);
	close(saved);
	CHECK(r == OPT_STOP, "--help ends the parse");
}

/* agentleak's own table (args.c). */
static int args(struct config *c, const char *line)
{
	static char buf[1024];
	char *argv[160];
	int argc = 0;

	err[0] = '\0';
	snprintf(buf, sizeof(buf), "agentleak %s", line);
	for (char *w = strtok(buf, " "); w && argc < 159; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	return args_parse(c, argc, argv, err, sizeof(err));
}

static void test_args(void)
{
	struct config c;
	const char *arg = NULL;
	char many[512] = "";
	int i;

	CHECK(args(&c, "-p 12 -p 34 -T 3 --mode auto --prom-file /x --keep --json 10 4") == 0,
	      "agentleak's options (%s)", err);
	CHECK(c.npids == 2 && c.pids[1] == 34 && c.top == 3 && c.out.top == 3 &&
	          c.mode == TIER_MODE_AUTO,
	      "pids, top, mode");
	CHECK(outputs_given(&c.out, "prom-file", &arg) && !strcmp(arg, "/x") &&
	          outputs_given(&c.out, "keep", NULL) && outputs_given(&c.out, "json", NULL) &&
	          !outputs_given(&c.out, "html", NULL),
	      "the exporters' options go to output_opts");
	CHECK(c.interval == 10 && c.count == 4 && c.diagnose_for == 60 && c.diagnose_gap < 0,
	      "INTERVAL, COUNT, the window defaults");
	CHECK(args(&c, "-p 1") == 0 && c.interval == 5 && c.count == 0 && c.stack_depth == 12 &&
	          c.out.stack_depth == 12 && c.sample_period == 0.2 && c.mode == TIER_MODE_PRECISE,
	      "defaults");
	CHECK(args(&c, "") == -1 &&
	          !strcmp(err, "no target: give a process with -p PID (see --help)"),
	      "no target");
	CHECK(args(&c, "--check -p 1") == -1 &&
	          !strcmp(err, "--check looks at the kernel, not at a process: drop -p"),
	      "--check with -p");
	CHECK(args(&c, "-p 1 --diagnose-gap 5") == -1 && strstr(err, "add --mode auto"),
	      "--diagnose-gap without --mode auto");
	CHECK(args(&c, "-p 1 --mode growth --sample-bytes 1") == -1 &&
	          strstr(err, "no meaning with --mode growth"),
	      "--sample-bytes with --mode growth");
	CHECK(args(&c, "-p 1 5 3 1") == -1 &&
	          !strcmp(err,
	                  "unexpected argument '1' (usage: agentleak -p PID [INTERVAL [COUNT]])"),
	      "a third operand");
	for (i = 1; i <= AL_MAX_TARGETS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "-p %d ", i);
	CHECK(args(&c, many) == -1 && !strcmp(err, "too many -p (at most 64 processes)"),
	      "too many -p");
}

int main(void)
{
	test_values();
	test_errors();
	test_usage();
	test_args();
	return check_done();
}
