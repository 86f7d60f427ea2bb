// SPDX-License-Identifier: GPL-2.0
/* test_target.c - unit tests of cli/target/target.c's /proc/PID/stat parser: the comm may hold
 * anything a process chose (prctl PR_SET_NAME), parentheses and newlines included.
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include "target/target.h"

#include "check.h"

#define TAIL " S 1 2 3 4 5 4194560 7 8 9 10 11 12 13 14 15 16 17 18 123456 rest\n"

static int parse(const char *text, struct target_stat *st)
{
	return target_parse_stat(text, strlen(text), st);
}

int main(void)
{
	struct target_stat st;

	CHECK(!parse("42 (server)" TAIL, &st) && st.state == 'S' && st.flags == 4194560 &&
	          st.start_time == 123456,
	      "plain comm: state S, flags, start time 123456 (got %c %lu %llu)", st.state, st.flags,
	      st.start_time);
	CHECK(!parse("42 (x\ny)" TAIL, &st) && st.start_time == 123456, "a newline in the comm");
	CHECK(!parse("42 (a) S 1 (b))" TAIL, &st) && st.start_time == 123456,
	      "a comm that fakes the fields: parsed from the last ')'");
	CHECK(parse("42 (server" TAIL, &st) != 0, "no ')': refused");
	CHECK(parse("42 (server)", &st) != 0, "nothing after the comm: refused");
	CHECK(parse("", &st) != 0, "empty: refused");
	return check_done();
}
