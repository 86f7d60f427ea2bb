// SPDX-License-Identifier: GPL-2.0
/* test_text.c - unit tests of cli/base/text.c: names from a target made printable.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include "base/text.h"

#include "check.h"

static const char *esc(const char *in, size_t cap)
{
	static char out[256];

	text_escape(out, cap, in, strlen(in));
	return out;
}

int main(void)
{
	char buf[32];

	CHECK(!strcmp(esc("server", 64), "server"), "plain ASCII unchanged");
	CHECK(!strcmp(esc("x\ny\033[2J", 64), "x\\x0ay\\x1b[2J"), "newline and ESC escaped (%s)",
	      esc("x\ny\033[2J", 64));
	CHECK(!strcmp(esc("a\\b", 64), "a\\\\b"), "a backslash doubled (%s)", esc("a\\b", 64));
	CHECK(!strcmp(esc("\x7f", 64), "\\x7f"), "DEL escaped");
	CHECK(!strcmp(esc("caf\xc3\xa9", 64), "caf\xc3\xa9"), "valid UTF-8 kept");
	CHECK(!strcmp(esc("\xc2\x9b"
	                  "1m",
	                  64),
	              "\\xc2\\x9b1m"),
	      "a C1 control (CSI) escaped (%s)",
	      esc("\xc2\x9b"
	          "1m",
	          64));
	CHECK(!strcmp(esc("\xff\xfe", 64), "\\xff\\xfe"), "invalid UTF-8 escaped");
	CHECK(!strcmp(esc("\xe0\x80\xaf", 64), "\\xe0\\x80\\xaf"), "an overlong form escaped");
	CHECK(!strcmp(esc("ab\ncd", 6), "ab"), "cut at a whole escape (%s)", esc("ab\ncd", 6));
	snprintf(buf, sizeof(buf), "p\tq");
	text_sanitize(buf, sizeof(buf));
	CHECK(!strcmp(buf, "p\\x09q"), "in place (%s)", buf);
	return check_done();
}
