// SPDX-License-Identifier: GPL-2.0
/* fuzz_httpd.c - fuzz the request parsing of the --listen server (cli/export/httpd.c),
 * httpd_parse_request(): the head of a request from any client that can connect.
 *
 * The input is the head, not NUL-terminated, in a buffer of exactly its size. The
 * answer must be one of the four statuses, HEAD only with 200 or 404, and 200 only for
 * GET or HEAD of /metrics.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "export/httpd.h"
#include "must.h"

static bool is_metrics(const char *p, size_t n)
{
	return n >= 8 && !memcmp(p, "/metrics", 8) &&
	       (n == 8 || p[8] == '?' || p[8] == '#' || p[8] == ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool head_only = true;
	char *head;
	int status;

	if (size > HTTPD_HEAD_MAX)
		return 0; /* the server answers 431 before parsing */
	head = malloc(size ? size : 1);
	if (!head)
		return 0;
	memcpy(head, data, size);
	status = httpd_parse_request(head, size, &head_only);
	MUST(status == 200 || status == 400 || status == 404 || status == 405, "status %d", status);
	MUST(!head_only || status == 200 || status == 404, "HEAD answered %d", status);
	if (status == 200)
		MUST(head_only
		         ? size >= 5 && !memcmp(head, "HEAD ", 5) && is_metrics(head + 5, size - 5)
		         : size >= 4 && !memcmp(head, "GET ", 4) && is_metrics(head + 4, size - 4),
		     "200 for %.*s", (int)(size < 40 ? size : 40), head);
	free(head);
	return 0;
}
