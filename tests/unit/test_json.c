// SPDX-License-Identifier: GPL-2.0
/* test_json.c - unit tests of cli/export/json.c: the JSON Lines report.
 *
 * A hand-made snapshot with nasty strings (quotes, backslashes, control characters,
 * bytes that are not UTF-8, overlong and surrogate sequences, C++ templates), NaN
 * and infinite doubles, extreme integers. Each line is checked here (one line, exact
 * escapes) and then by python3: json.loads() of every line and validation against
 * docs/json-schema.json with python3-jsonschema, plus a strict pass that refuses any
 * field the schema does not document. Without python3 or jsonschema the validation is
 * a SKIP line, never a pass.
 *
 * Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -g -Wall -Iinclude -Icli -o build/test_json \
 *       tests/unit/test_json.c cli/export/json.c cli/analyse/trend.c
 *   build/test_json
 * Output: "ok - ..." / "not ok - ..." per check, "N passed, N failed" last; exit
 * status 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "export/json.h"

#include "check.h"

#define SCHEMA "docs/json-schema.json"

#define TEMPLATE "std::map<std::basic_string<char>, std::vector<int> >::operator[]"
/* quote, backslash, newline, tab, 0x01, DEL, a lone continuation byte, an overlong
 * slash, a UTF-16 surrogate, a truncated 3-byte sequence at the end. */
#define NASTY "a\"b\\c\nd\te\x01\x7f|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82"
#define NASTY_JSON                                                                                 \
	"\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001\x7f|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"          \
	"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\""
#define UTF8_OK "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b" /* café € 🐛 */

static struct snap_frame frames0[3], frames1[1];
static struct snap_stack stacks[4];
static struct snap_objects objects0;
static struct snap_process procs[2];
static struct snapshot snap;

static void build_snapshot(void)
{
	memset(frames0, 0, sizeof(frames0));
	frames0[0].addr = 0x555555555234;
	snprintf(frames0[0].func, sizeof(frames0[0].func), "leak_fixed");
	frames0[0].off = 0x14;
	snprintf(frames0[0].file, sizeof(frames0[0].file), "tests/workloads/server.c");
	frames0[0].line = 73;
	snprintf(frames0[0].module, sizeof(frames0[0].module), "/opt/app/server");
	frames0[0].module_off = 0x1234;
	snprintf(frames0[1].func, sizeof(frames0[1].func), "%s", TEMPLATE);
	frames0[1].addr = 0x1;
	snprintf(frames0[1].module, sizeof(frames0[1].module), "%s", NASTY);
	frames0[1].module_off = 0;
	frames0[2].addr = 0xffffffffffffffffULL; /* nothing known */

	memset(frames1, 0, sizeof(frames1));
	frames1[0].addr = 0x7f0000001000;
	snprintf(frames1[0].func, sizeof(frames1[0].func), "%s", NASTY);
	snprintf(frames1[0].file, sizeof(frames1[0].file), "%s", UTF8_OK);
	frames1[0].line = 1;

	memset(stacks, 0, sizeof(stacks));
	stacks[0].key.tgid = 1234;
	snprintf(stacks[0].id, sizeof(stacks[0].id), "0123456789ab");
	stacks[0].kind = "malloc";
	stacks[0].st.live_bytes = 12288000;
	stacks[0].st.live_objects = 3000;
	stacks[0].st.allocs = 3000;
	stacks[0].st.alloc_bytes = 12288000;
	stacks[0].has_verdict = true;
	stacks[0].verdict.verdict = V_LEAK;
	stacks[0].verdict.n = 24;
	stacks[0].verdict.slope = 4096;
	stacks[0].verdict.slope_lo = 4094.5;
	stacks[0].verdict.slope_hi = 4097.25;
	stacks[0].verdict.per_hour = 14745600;
	stacks[0].verdict.r2 = 0.1; /* prints as 0.1, not 0.10000000000000001 */
	stacks[0].verdict.mk_z = 7.5;
	stacks[0].verdict.mk_p = 1e-300;
	stacks[0].verdict.x_span = 3000;
	stacks[0].growth_share = 0.83;
	stacks[0].nframes = 3;
	stacks[0].frames = frames0;
	memset(&objects0, 0, sizeof(objects0));
	objects0.unit = "blocks";
	objects0.read = 256;
	objects0.ntypes = 2;
	snprintf(objects0.types[0].name, sizeof(objects0.types[0].name), "Conversation");
	objects0.types[0].objects = 250;
	objects0.types[0].bytes = 14000;
	snprintf(objects0.types[1].name, sizeof(objects0.types[1].name), "%s", NASTY);
	objects0.types[1].objects = 6;
	objects0.types[1].bytes = 336;
	stacks[0].objects = &objects0;

	stacks[1].key.tgid = 99;
	snprintf(stacks[1].id, sizeof(stacks[1].id), "bbbbbbbbbbbb");
	stacks[1].kind = "calloc";
	stacks[1].st.live_bytes = 0xffffffffffffffffULL;
	stacks[1].st.allocs = 0xfffffffffffffffeULL;
	stacks[1].has_verdict = true;
	stacks[1].verdict.verdict = V_NONE;
	stacks[1].verdict.slope = NAN;
	stacks[1].verdict.per_hour = INFINITY;
	stacks[1].verdict.slope_lo = -INFINITY;
	stacks[1].verdict.mk_p = 1;
	stacks[1].growth_share = -1;
	stacks[1].nframes = 1;
	stacks[1].frames = frames1;

	stacks[2].key.tgid = 99;
	snprintf(stacks[2].id, sizeof(stacks[2].id), "cccccccccccc");
	stacks[2].kind = "mmap";
	stacks[2].st.allocs = 1;
	stacks[2].st.frees = 1;

	/* 40 idle threads, one per request: counted in threads */
	stacks[3].key.tgid = 1234;
	stacks[3].key.kind = AL_THREAD;
	snprintf(stacks[3].id, sizeof(stacks[3].id), "dddddddddddd");
	stacks[3].kind = "thread";
	stacks[3].st.live_bytes = 335544320;
	stacks[3].st.live_objects = 40;
	stacks[3].st.allocs = 40;
	stacks[3].st.alloc_bytes = 335544320;
	stacks[3].has_verdict = true;
	stacks[3].verdict.verdict = V_LEAK;
	stacks[3].verdict.slope = 1;
	stacks[3].verdict.slope_lo = 0.5;
	stacks[3].verdict.slope_hi = 1.25;
	stacks[3].growth_share = 1;

	memset(procs, 0, sizeof(procs));
	procs[0].pid = 1234;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "server");
	snprintf(procs[0].flavor, sizeof(procs[0].flavor), "glibc");
	snprintf(procs[0].allocator, sizeof(procs[0].allocator),
	         "/usr/lib/x86_64-linux-gnu/libc.so.6");
	snprintf(procs[0].python, sizeof(procs[0].python), "3.11.2");
	procs[0].pymalloc = true;
	procs[0].live_bytes = 12288000;
	procs[0].live_objects = 3000;
	procs[0].allocs = 3000;
	procs[0].nstacks = 1;
	procs[0].requests = 3000;
	procs[0].have_mem = true;
	procs[0].rss = 40000000;
	procs[0].anon = 30000000;
	procs[0].cg_limit = 536870912;
	procs[0].cg_usage = 50000000;
	procs[0].oom_eta = 120.5;
	procs[0].live_threads = 40;
	procs[0].thread_stacks = 1;
	procs[0].thread_reserved = 335544320;
	procs[0].threads_started = 41;
	procs[0].threads_ended = 1;
	procs[1].pid = 99;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "%s", "x\"\\\n\xff");
	procs[1].exited = true;
	procs[1].requests = NAN;

	memset(&snap, 0, sizeof(snap));
	snap.unix_time = 1700000000.25;
	snap.elapsed = 20.5;
	snap.request_source = "uprobe:/opt/app/server:handle_request";
	snap.nprocs = 2;
	snap.procs = procs;
	snap.nstacks = 4;
	snap.stacks = stacks;
	snap.counters[AL_C_ALLOC_CALLS] = 3010;
	snap.counters[AL_C_FREE_CALLS] = 10;
	snap.counters[AL_C_UNKNOWN_FREES] = 7;
	snap.counters[AL_C_EVENTS_LOST] = 0xffffffffffffffffULL;
	snap.sample_seconds = 0.0015;
	snap.sample_bytes = 524288;
	snap.nleaks = 1;
	snap.leak_slope = 4096;
	snap.nthread_leaks = 1;
	snap.thread_slope = 1;
}

/* json_write into a string (malloc'ed). */
static char *write_str(const struct snapshot *s, int top, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*ret = json_write(f, s, top);
	fclose(f);
	return buf;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_line(void)
{
	char *out, *p;
	int ret = -1;

	out = write_str(&snap, 0, &ret);
	CHECK(out && ret == 0, "json_write returns 0");
	if (!out)
		return;
	CHECK(count_char(out, '\n') == 1 && out[strlen(out) - 1] == '\n',
	      "exactly one line, newline-terminated");
	CHECK(!strncmp(out, "{\"schema\":1,", 12), "starts with {\"schema\":1,");
	CHECK(strstr(out, NASTY_JSON) != NULL,
	      "quotes, backslashes, control characters escaped; invalid UTF-8 replaced by U+FFFD");
	CHECK(strstr(out, "\"" UTF8_OK "\"") != NULL, "valid UTF-8 kept as is");
	CHECK(strstr(out, "\"" TEMPLATE "\"") != NULL, "C++ template name intact");
	CHECK(strstr(out, "\"comm\":\"x\\\"\\\\\\u000a\xef\xbf\xbd\"") != NULL, "comm escaped");
	CHECK(strstr(out, "\"live_bytes\":18446744073709551615") &&
	          strstr(out, "\"allocs\":18446744073709551614") &&
	          strstr(out, "\"events_lost\":18446744073709551615"),
	      "64-bit integers exact");
	CHECK(strstr(out, "\"slope\":null") && strstr(out, "\"per_hour\":null") &&
	          strstr(out, "\"slope_lo\":null") && !strstr(out, ":nan") &&
	          !strstr(out, ":-nan") && !strstr(out, ":inf") && !strstr(out, ":-inf"),
	      "NaN and infinities are null");
	CHECK(strstr(out, "\"requests\":null,\"python\":null,\"memory\":null") != NULL,
	      "NaN requests null; no memory read: null");
	CHECK(strstr(out, "\"python\":{\"version\":\"3.11.2\",\"pymalloc\":true}") != NULL,
	      "python: the version and the pymalloc blind spot");
	CHECK(strstr(out, "\"r2\":0.1,") != NULL, "0.1 printed as 0.1");
	CHECK(strstr(out,
	             "\"python_objects\":{\"unit\":\"blocks\",\"read\":256,\"unread\":0,"
	             "\"types\":[{\"type\":\"Conversation\",\"objects\":250,\"bytes\":14000},") &&
	          strstr(out, "\"python_objects\":null"),
	      "python_objects: the types of a stack's blocks, null for the others");
	CHECK(strstr(out, "\"mk_p\":1e-300,") != NULL, "1e-300 exact");
	CHECK(strstr(out, "\"time\":1700000000.25,") != NULL, "time with its fraction");
	CHECK(strstr(out, "\"sample_seconds\":0.0015,\"sample_bytes\":524288,") != NULL,
	      "sample_seconds 0.0015, sample_bytes");
	CHECK(strstr(out, "\"oom_eta\":120.5,") != NULL, "oom_eta");
	CHECK(strstr(out, "\"mode\":\"precise\",\"diagnosis\":{\"windows\":0,\"open\":false,"
	                  "\"seconds_left\":0,\"result\":false}") != NULL,
	      "mode precise (none set), no diagnosis window");
	CHECK(strstr(out, "\"growth_share\":null") && strstr(out, "\"growth_share\":0.83"),
	      "growth_share, null when n/a");
	CHECK(strstr(out, "\"name\":\"leak\"") && strstr(out, "\"name\":\"none\""),
	      "verdict names: leak, none");
	CHECK(strstr(out, "\"verdict\":null") != NULL, "no verdict: null");
	CHECK(strstr(out, "{\"addr\":\"0x555555555234\",\"func\":\"leak_fixed\",\"off\":20,"
	                  "\"file\":\"tests/workloads/server.c\",\"line\":73,\"module\":"
	                  "\"/opt/app/server\",\"module_off\":4660}") != NULL,
	      "a fully known frame");
	CHECK(strstr(out,
	             "{\"addr\":\"0xffffffffffffffff\",\"func\":null,\"off\":null,"
	             "\"file\":null,\"line\":null,\"module\":null,\"module_off\":null}") != NULL,
	      "an unknown frame: nulls");
	CHECK(strstr(out, "\"leaks\":{\"count\":1,\"slope\":4096,\"thread_count\":1,"
	                  "\"thread_slope\":1}}\n") != NULL,
	      "leaks last, thread stacks apart");
	CHECK(strstr(out, "\"nstacks\":4,") != NULL, "nstacks counts every stack");
	p = strstr(out, "\"stacks\":[");
	CHECK(p && count_char(p, '{') > 4, "four stacks by default");
	CHECK(strstr(out, "{\"id\":\"dddddddddddd\",\"pid\":1234,\"kind\":\"thread\","
	                  "\"live_bytes\":335544320,\"live_objects\":40,") &&
	          strstr(out, "\"verdict\":{\"name\":\"leak\",\"unit\":\"threads/request\","
	                      "\"slope\":1,\"slope_lo\":0.5,\"slope_hi\":1.25,") &&
	          strstr(out, "\"verdict\":{\"name\":\"leak\",\"unit\":\"B/request\","
	                      "\"slope\":4096,"),
	      "a thread stack: kind thread, live threads as live_objects, its verdict in "
	      "threads/request (a heap stack's in B/request)");
	CHECK(strstr(out, "\"nstacks\":1,\"threads\":{\"live\":40,\"stacks\":1,"
	                  "\"reserved_bytes\":335544320,\"started\":41,\"ended\":1},") &&
	          strstr(out, "\"nstacks\":0,\"threads\":{\"live\":0,\"stacks\":0,"
	                      "\"reserved_bytes\":0,\"started\":0,\"ended\":0},"),
	      "a process's threads apart from its heap");
	free(out);

	out = write_str(&snap, 1, &ret);
	CHECK(out && ret == 0 && strstr(out, "0123456789ab") && !strstr(out, "bbbbbbbbbbbb"),
	      "top 1: only the first stack");
	CHECK(out && strstr(out, "\"nstacks\":4,"), "top 1: nstacks still 4");
	free(out);

	snap.time_mode = true;
	out = write_str(&snap, 0, &ret);
	snap.time_mode = false;
	CHECK(out && strstr(out, "\"unit\":\"threads/s\"") && strstr(out, "\"unit\":\"B/s\"") &&
	          !strstr(out, "/request\""),
	      "time mode: verdict units per second");
	free(out);
}

static void test_empty(void)
{
	struct snapshot s;
	char *out;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	out = write_str(&s, 10, &ret);
	CHECK(out && ret == 0 && strstr(out, "\"processes\":[]") && strstr(out, "\"stacks\":[]") &&
	          strstr(out, "\"request_source\":\"time\""),
	      "empty snapshot: empty arrays, request_source time");
	free(out);
}

static void test_errors(void)
{
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		printf("SKIP - no /dev/full: write error check\n");
		return;
	}
	CHECK(json_write(f, &snap, 0) < 0, "a full device: negative return");
	fclose(f);
	CHECK(json_write(NULL, &snap, 0) < 0 && json_write(stdout, NULL, 0) < 0,
	      "NULL arguments: negative return");
}

/* Checked by python3: every line parses, validates, and has no undocumented field. */
static const char validator[] =
    "import json, sys\n"
    "try:\n"
    "    import jsonschema\n"
    "except ImportError:\n"
    "    print('SKIP - python3-jsonschema not installed: schema validation')\n"
    "    sys.exit(3)\n"
    "schema = json.load(open(sys.argv[1]))\n"
    "jsonschema.Draft202012Validator.check_schema(schema)\n"
    "def strict(s):\n"
    "    if isinstance(s, dict):\n"
    "        s = {k: strict(v) for k, v in s.items()}\n"
    "        if 'properties' in s and 'additionalProperties' not in s:\n"
    "            s['additionalProperties'] = False\n"
    "    elif isinstance(s, list):\n"
    "        s = [strict(v) for v in s]\n"
    "    return s\n"
    "v = jsonschema.Draft202012Validator(schema)\n"
    "vs = jsonschema.Draft202012Validator(strict(schema))\n"
    "n = bad = 0\n"
    "for raw in open(sys.argv[2], 'rb'):\n"
    "    n += 1\n"
    "    try:\n"
    "        obj = json.loads(raw.decode('utf-8', errors='strict'))\n"
    "    except ValueError as e:\n"
    "        print('line %d: not JSON: %s' % (n, e)); bad += 1; continue\n"
    "    for e in v.iter_errors(obj):\n"
    "        print('line %d: %s at %s' % (n, e.message, list(e.path))); bad += 1\n"
    "    for e in vs.iter_errors(obj):\n"
    "        print('line %d: undocumented: %s at %s' % (n, e.message, list(e.path))); bad += 1\n"
    "    if n == 1:\n"
    "        s = obj['stacks']\n"
    "        assert s[1]['frames'][0]['func'] == 'a\"b\\\\c\\nd\\te\\x01\\x7f|\\ufffd|"
    "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd', repr(s[1]['frames'][0]['func'])\n"
    "        assert s[1]['live_bytes'] == 2**64 - 1\n"
    "        assert s[0]['verdict']['slope'] == 4096 and s[1]['verdict']['slope'] is None\n"
    "        assert obj['time'] == 1700000000.25\n"
    "bogus = {'schema': 1}\n"
    "if v.is_valid(bogus):\n"
    "    print('the schema accepts an incomplete object'); bad += 1\n"
    "print('validated %d lines, %d problems' % (n, bad))\n"
    "sys.exit(1 if bad or n == 0 else 0)\n";

static void test_schema(void)
{
	char dir[] = "/tmp/test_json.XXXXXX", py[256], lines[256], cmd[1024];
	FILE *f;
	int status, ret, i;

	if (access(SCHEMA, R_OK)) {
		CHECK(0, "%s readable (run from the repository root)", SCHEMA);
		return;
	}
	if (system("command -v python3 >/dev/null 2>&1")) {
		printf("SKIP - python3 not installed: schema validation\n");
		return;
	}
	if (!mkdtemp(dir))
		return;
	snprintf(py, sizeof(py), "%s/validate.py", dir);
	snprintf(lines, sizeof(lines), "%s/lines.jsonl", dir);
	f = fopen(py, "w");
	if (f) {
		fputs(validator, f);
		fclose(f);
	}
	f = fopen(lines, "w");
	ret = f ? 0 : -1;
	for (i = 0; f && i < 3; i++) {
		snap.final = i == 2;
		ret |= json_write(f, &snap, i == 1 ? 1 : 0);
	}
	if (f) {
		struct snapshot empty;

		memset(&empty, 0, sizeof(empty));
		ret |= json_write(f, &empty, 0);
		fclose(f);
	}
	snap.final = false;
	CHECK(ret == 0, "4 lines written to %s", lines);
	snprintf(cmd, sizeof(cmd), "python3 %s %s %s", py, SCHEMA, lines);
	fflush(stdout);
	status = system(cmd);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		; /* SKIP printed by the script */
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "python3: every line is JSON, valid against %s, no undocumented field",
		      SCHEMA);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("warning: could not remove %s\n", dir);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	build_snapshot();
	test_line();
	test_empty();
	test_errors();
	test_schema();
	return check_done();
}
