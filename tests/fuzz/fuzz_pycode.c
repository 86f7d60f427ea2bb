// SPDX-License-Identifier: GPL-2.0
/* fuzz_pycode.c - fuzz what agentleak decodes of a Python process's memory
 * (cli/symbols/pycode.c, cli/target/python.c): a code object's line table in both
 * formats, a str object's characters, and _Py_DebugOffsets. The target writes all of
 * them: a fake _PyRuntime, a corrupted or still-changing table.
 *
 * Input: byte 0 picks the decoder and its parameters, the rest is its data (exactly as
 * long as the input, so a read past it is caught).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/pycode.h"
#include "target/python.h"
#include "must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct al_py_layout l;
	unsigned char *buf;
	char out[64];
	uint32_t state;
	int line, n;
	long a;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	switch (data[0] & 3) {
	case 0: /* a line table: every offset up to twice its length, 3.10 or 3.11+ */
		for (a = -2; a < (long)(2 * size); a += 2) {
			line = pycode_line(data[0] & 4 ? 10 : 11, buf, size - 1, 100, a);
			MUST(line >= -1, "line %d at offset %ld", line, a);
		}
		break;
	case 1: /* a str: 4 bytes of state, then the characters */
		if (size < 5)
			break;
		memcpy(&state, buf, 4);
		n = pycode_utf8(state, buf + 4, (size - 5) / 4, out, sizeof(out));
		MUST(n < (int)sizeof(out) && (n < 0 || strlen(out) == (size_t)n),
		     "%d bytes written, string of %zu", n, strlen(out));
		break;
	default: /* _Py_DebugOffsets */
		if (!python_debug_offsets(buf, size - 1, &l))
			MUST(l.version == 0x030d && l.interp_head != AL_PY_NONE,
			     "a layout read with version %#x", l.version);
		break;
	}
	free(buf);
	return 0;
}
