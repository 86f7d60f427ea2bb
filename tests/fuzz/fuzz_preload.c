// SPDX-License-Identifier: GPL-2.0
/* fuzz_preload.c - fuzz the preload list readers of cli/target/allocator.c:
 * allocator_env_preload() on the input as /proc/PID/environ (NUL-separated VAR=value
 * strings, the target's own), then allocator_preload_list() on the LD_PRELOAD value it
 * finds, and on the whole input again as /proc/PID/root/etc/ld.so.preload (a file in the
 * target's root). They decide which objects come first in the symbol search.
 *
 * Every entry must be a non-empty string without a separator that does not start a
 * comment; the value found must be inside the environment, after "LD_PRELOAD=".
 *
 * Each buffer is exactly as long as the text plus the NUL that safeio_read_file() puts
 * after it, so that reading past it is caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target/allocator.h"
#include "must.h"

struct text {
	const char *start, *end;
	int entries;
};

static void entry(const char *e, void *arg)
{
	struct text *t = arg;

	MUST(e >= t->start && e + strlen(e) <= t->end, "entry outside the text");
	MUST(e[0] && e[0] != '#', "empty entry, or a comment taken for one");
	MUST(!strpbrk(e, " :\t\n"), "separator in an entry: '%s'", e);
	t->entries++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text t = {0};
	char *env, *list;

	env = fuzz_text(data, size);
	if (!env)
		return 0;
	t.start = env;
	t.end = env + size;
	list = allocator_env_preload(env, size);
	if (list) {
		MUST(list >= env + 11 && list <= env + size &&
		         !memcmp(list - 11, "LD_PRELOAD=", 11) &&
		         (list - 11 == env || list[-12] == '\0'),
		     "LD_PRELOAD value not after a variable's name");
		allocator_preload_list(list, entry, &t);
	}
	free(env);

	list = fuzz_text(data, size);
	if (!list)
		return 0;
	t = (struct text){.start = list, .end = list + size};
	allocator_preload_list(list, entry, &t);
	free(list);
	return 0;
}
