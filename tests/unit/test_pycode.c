// SPDX-License-Identifier: GPL-2.0
/* test_pycode.c - unit tests of cli/symbols/pycode.c against CPython itself: a Python
 * process (Debian's python3.11 and pyenv's 3.10-3.13, a SKIP for each one missing)
 * compiles some stdlib modules and a function with a non-ASCII name in a file with a
 * non-ASCII name, prints each code object's address, name, file, first line, line table
 * and the line CPython gives every instruction (co_lines, co_positions), and waits:
 * pycode_read() must read the same name, file and table from outside, and pycode_line()
 * give the same line at every offset. Then the decoders on hostile tables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "symbols/pycode.h"

#include "check.h"

static const char script[] =
    "import sys, types, json.decoder, collections, email.message, os\n"
    "minor = sys.version_info[1]\n"
    "def walk(co):\n"
    "    yield co\n"
    "    for c in co.co_consts:\n"
    "        if isinstance(c, types.CodeType):\n"
    "            yield from walk(c)\n"
    "codes = []\n"
    "for m in (json.decoder, collections, email.message, os):\n"
    "    codes += walk(compile(open(m.__file__).read(), m.__file__, 'exec'))\n"
    "codes += walk(compile('def caf\\u00e9_\\u6e2c():\\n    return 1\\n',\n"
    "                      '/tmp/dir_\\u00fc\\U0001f600.py', 'exec'))\n"
    "out = sys.stdout\n"
    "for co in codes[:400]:\n"
    "    name = co.co_qualname if minor >= 11 else co.co_name\n"
    "    out.write('C %x %d %s %s\\t%s\\n' % (id(co), co.co_firstlineno, co.co_linetable.hex() "
    "or '-', name.encode('utf-8', 'replace').hex(), co.co_filename.encode('utf-8', "
    "'replace').hex()))\n"
    "    if minor >= 11:\n"
    "        for i, p in enumerate(co.co_positions()):\n"
    "            out.write('L %d %d\\n' % (2 * i, -1 if p[0] is None else p[0]))\n"
    "    else:\n"
    "        for s, e, l in co.co_lines():\n"
    "            for a in range(s, e, 2):\n"
    "                out.write('L %d %d\\n' % (a, -1 if l is None else l))\n"
    "out.write('E\\n')\n"
    "out.flush()\n"
    "sys.stdin.read()\n";

static int unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	if (!strcmp(hex, "-"))
		return 0;
	while (hex[0] && hex[1] && n < cap && sscanf(hex, "%2x", &b) == 1) {
		out[n++] = (unsigned char)b;
		hex += 2;
	}
	return (int)n;
}

/* A frame whose instruction is not one of the code object at its address now (the
 * object it ran was freed, the address reused) is refused, not named after the new one;
 * the same code object with an instruction of its own is named. 3.10 records f_lasti,
 * not an address: nothing to check there. */
static void reuse(const char *python, int pid, const struct py_interp *py, unsigned long long addr,
                  unsigned long long units)
{
	struct pysyms *ps = pysyms_new();
	const struct pycode *code;
	unsigned long long start = addr + py->layout.code_adaptive;
	int line, r_in, r_out;

	if (py->layout.code_adaptive == AL_PY_NONE || !addr || !ps) {
		pysyms_free(ps);
		return;
	}
	r_in = pysyms_frame(ps, pid, py, addr, start + 2 * (units - 1), &code, &line);
	pysyms_recheck(ps);
	r_out = pysyms_frame(ps, pid, py, addr, start + 2 * units + 64, &code, &line);
	CHECK(units && !r_in && r_out == -ESTALE && pysyms_stats(ps)->stale == 1 &&
	          !pysyms_stats(ps)->reread,
	      "%s: an instruction past its code object is refused as stale (%d), its last one is "
	      "named (%d); the recheck read nothing again",
	      python, r_out, r_in);
	pysyms_free(ps);
}

static void interpreter(const char *python)
{
	int in[2], out[2], pid, codes = 0, lines = 0, badline = 0, badcode = 0, first_bad = 1;
	char *buf = NULL, err[512] = "", name[PYCODE_NAME_MAX], file[PYCODE_FILE_MAX];
	unsigned char table[PYCODE_TABLE_MAX];
	struct pycode code = {0};
	unsigned long long last = 0, units = 0;
	struct py_interp py;
	size_t cap = 0;
	bool have = false, nonascii = false;
	int tlen = 0;
	FILE *f;

	if (access(python, X_OK)) {
		SKIP("%s is not installed", python);
		return;
	}
	if (pipe(in) || pipe(out))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(python, python, "-c", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	while (getline(&buf, &cap, f) > 0) {
		unsigned long long addr;
		long addrq;
		int first, want, got;
		char thex[2 * PYCODE_TABLE_MAX + 2], nhex[1024], fhex[4096];

		if (buf[0] == 'E')
			break;
		if (!have) {
			if (python_find(pid, &py, err, sizeof(err))) {
				CHECK(0, "%s: the interpreter (%s)", python, err);
				break;
			}
			have = true;
		}
		if (buf[0] == 'C' && sscanf(buf, "C %llx %d %131073s %1023s\t%4095s", &addr, &first,
		                            thex, nhex, fhex) == 5) {
			pycode_release(&code);
			tlen = unhex(thex, table, sizeof(table));
			name[unhex(nhex, (unsigned char *)name, sizeof(name) - 1)] = '\0';
			file[unhex(fhex, (unsigned char *)file, sizeof(file) - 1)] = '\0';
			codes++;
			if (pycode_read(pid, &py, addr, &code) || strcmp(code.name, name) ||
			    strcmp(code.file, file) || code.firstlineno != first ||
			    code.table_len != (size_t)tlen || memcmp(code.table, table, tlen)) {
				if (!badcode++)
					printf("# first code object read wrong: %s %s:%d (read %s "
					       "%s:%d)\n",
					       name, file, first, code.name, code.file,
					       code.firstlineno);
			}
			last = addr;
			units = code.id.units;
			nonascii |= !!strstr(code.file, "dir_\xc3\xbc\xf0\x9f\x98\x80.py") &&
			            !!strstr(code.name, "caf\xc3\xa9_\xe6\xb8\xac");
		} else if (buf[0] == 'L' && sscanf(buf, "L %ld %d", &addrq, &want) == 2) {
			lines++;
			got = pycode_line((py.version >> 16) & 0xff, table, tlen, first, addrq);
			if (got != want && !badline++ && first_bad) {
				printf("# first wrong line: %s offset %ld: %d, CPython says %d\n",
				       name, addrq, got, want);
				first_bad = 0;
			}
		}
	}
	pycode_release(&code);
	CHECK(have && codes > 100 && !badcode,
	      "%s: %d code objects read from outside: name, file, first line and table as "
	      "CPython has them (%d differ)",
	      python, codes, badcode);
	CHECK(have && lines > 5000 && !badline, "%s: the line of all %d instructions (%d differ)",
	      python, lines, badline);
	CHECK(nonascii, "%s: a UCS2 name and a UCS4 file name read as UTF-8", python);
	reuse(python, pid, &py, last, units);
	free(buf);
	fclose(f);
	close(in[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Tables that are not what they should be end in -1, never past their end. */
static void hostile(void)
{
	const unsigned char not_an_entry[] = {0x05, 0x80};
	const unsigned char endless_varint[] = {0xf0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f};
	const unsigned char cut[] = {0xf0};
	const unsigned char one_line[] = {0x80 | (13 << 3) | 1, 0x04}; /* +2, 2 code units */
	const unsigned char pairs310[] = {6, 1, 4, 0x80, 4, 3};
	char out[8];

	CHECK(pycode_line(11, not_an_entry, sizeof(not_an_entry), 5, 0) == -1,
	      "3.11: a byte without bit 7 where an entry starts");
	CHECK(pycode_line(11, endless_varint, sizeof(endless_varint), 5, 0) == -1,
	      "3.11: a varint that never ends");
	CHECK(pycode_line(11, cut, sizeof(cut), 5, 0) == -1, "3.11: an entry cut short");
	CHECK(pycode_line(11, one_line, sizeof(one_line), 5, 2) == 7 &&
	          pycode_line(11, one_line, sizeof(one_line), 5, 4) == -1,
	      "3.11: a line delta, then past the table's end");
	CHECK(pycode_line(12, one_line, sizeof(one_line), 5, -2) == 5,
	      "a frame that has not started: the first line");
	CHECK(pycode_line(10, pairs310, sizeof(pairs310), 10, 0) == 11 &&
	          pycode_line(10, pairs310, sizeof(pairs310), 10, 7) == -1 &&
	          pycode_line(10, pairs310, sizeof(pairs310), 10, 11) == 14 &&
	          pycode_line(10, pairs310, 5, 10, 11) == -1,
	      "3.10: a line, no line (-128), a delta kept across it, an odd length");
	CHECK(pycode_utf8(0, (const unsigned char *)"ab", 2, out, sizeof(out)) == -1,
	      "a str that is not compact");
	CHECK(pycode_utf8(1 << 5 | 3 << 2, (const unsigned char *)"ab", 2, out, sizeof(out)) == -1,
	      "a kind that is not 1, 2 or 4");
	CHECK(pycode_utf8(1 << 5 | 4 << 2, (const unsigned char *)"\x00\xd8\x00\x00", 1, out,
	                  sizeof(out)) == 3 &&
	          !strcmp(out, "\xef\xbf\xbd"),
	      "a lone surrogate becomes U+FFFD");
	CHECK(pycode_utf8(1 << 5 | 1 << 2 | 1 << 6, (const unsigned char *)"abcdefghij", 10, out,
	                  4) == 3 &&
	          !strcmp(out, "abc"),
	      "cut to the buffer");
}

int main(void)
{
	hostile();
	if (geteuid()) {
		SKIP("reading another process's memory needs root");
		return check_done();
	}
	interpreter("/usr/bin/python3.11");
	interpreter("/root/.pyenv/versions/3.10.13/bin/python3.10");
	interpreter("/root/.pyenv/versions/3.11.7/bin/python3.11");
	interpreter("/root/.pyenv/versions/3.12.1/bin/python3.12");
	interpreter("/root/.pyenv/versions/3.13.0/bin/python3.13");
	return check_done();
}
