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

static void test_utf8(void)
{
	CHECK(text_utf8_len("a", 1) == 1, "ASCII: 1");
	CHECK(text_utf8_len("\xc3\xa9", 2) == 2, "U+00E9: 2");
	CHECK(text_utf8_len("\xe2\x82\xac", 3) == 3, "U+20AC: 3");
	CHECK(text_utf8_len("\xf0\x9f\x90\x9b", 4) == 4, "U+1F41B: 4");
	CHECK(text_utf8_len("\xf4\x8f\xbf\xbf", 4) == 4, "U+10FFFF: 4");
	CHECK(text_utf8_len("\xf4\x90\x80\x80", 4) == 0, "above U+10FFFF: 0");
	CHECK(text_utf8_len("\xc0\xaf", 2) == 0 && text_utf8_len("\xc1\xbf", 2) == 0,
	      "overlong 2-byte: 0");
	CHECK(text_utf8_len("\xe0\x80\xaf", 3) == 0, "overlong 3-byte: 0");
	CHECK(text_utf8_len("\xf0\x80\x80\xaf", 4) == 0, "overlong 4-byte: 0");
	CHECK(text_utf8_len("\xed\xa0\x80", 3) == 0, "surrogate: 0");
	CHECK(text_utf8_len("\x80", 1) == 0, "lone continuation byte: 0");
	CHECK(text_utf8_len("\xe2\x82", 2) == 0, "truncated: 0");
	CHECK(text_utf8_len("\xe2\x28\xa1", 3) == 0, "bad continuation: 0");
	CHECK(text_utf8_len("\xff", 1) == 0 && text_utf8_len("\xf5\x80\x80\x80", 4) == 0,
	      "0xff, 0xf5: 0");
	CHECK(text_utf8_len("", 0) == 0, "empty: 0");
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
	test_utf8();
	return check_done();
}
