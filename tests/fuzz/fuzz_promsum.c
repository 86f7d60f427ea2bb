// SPDX-License-Identifier: GPL-2.0
/* fuzz_promsum.c - fuzz the Prometheus text parser of cli/analyse/promscrape.c, prom_sum(): a
 * page served by the application whose counter --requests metric:URL:NAME reads.
 *
 * Input: the metric NAME on the first line (the user's, so a valid name: anything
 * else falls back to http_requests_total), then the page, in a buffer of exactly its
 * size (prom_sum() takes a length, not a string).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "analyse/promscrape.h"
#include "must.h"

#define NAME_MAX_LEN 200 /* as promscrape.c */

/* A name prom_open() accepts. */
static int valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n > NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	char name[NAME_MAX_LEN + 1] = "http_requests_total", *text;
	size_t n = nl ? (size_t)(nl - (const char *)data) : 0, len;
	double sum = 1;
	int ret;

	if (nl && valid_name((const char *)data, n)) {
		memcpy(name, data, n);
		name[n] = '\0';
	}
	len = nl ? size - n - 1 : size;
	text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, data + (size - len), len);
	ret = prom_sum(text, len, name, &sum);
	free(text);
	MUST(ret >= -1, "prom_sum returned %d", ret);
	MUST(ret > 0 || sum == 0, "%s not found or malformed (%d), yet sums to %g", name, ret, sum);
	return 0;
}
