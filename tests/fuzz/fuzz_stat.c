// SPDX-License-Identifier: GPL-2.0
/* fuzz_stat.c - fuzz target_parse_stat() of cli/target/target.c on the text of /proc/PID/stat,
 * whose comm (field 2, in parentheses) the process chooses with prctl(PR_SET_NAME):
 * parentheses, spaces and newlines included. agentleak decides from it whether a target
 * is alive, a kernel thread or a reused PID.
 *
 * The buffer is exactly as long as the input (no NUL), as the parser is given a length,
 * so that reading past it is caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target/target.h"
#include "must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target_stat st;
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	memset(&st, 0, sizeof(st));
	if (!target_parse_stat(text, size, &st))
		/* a state was read: a letter, as the kernel writes */
		MUST((st.state >= 'A' && st.state <= 'Z') || (st.state >= 'a' && st.state <= 'z'),
		     "state byte %#x", (unsigned char)st.state);
	free(text);
	return 0;
}
