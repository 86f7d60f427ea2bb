// SPDX-License-Identifier: GPL-2.0
/* fuzz_promresp.c - fuzz the HTTP response parsing of the Prometheus scraper
 * (cli/analyse/promscrape.c): status line, headers (Content-Length, Transfer-Encoding,
 * Content-Encoding), the end of the header block found across reads, the body's
 * framing (chunked decoding in place), then prom_sum() on the body.
 *
 * The parsing is static, so the source is included. Input: one byte for the size of
 * each read (0: everything in one read), then what the server sends. Each read goes
 * through response_add() as in read_response(); at the end, as get_page() and
 * prom_fetch() do: the end-of-file check, unframe_body(), prom_sum(). The buffer is
 * exactly the response plus its NUL, so reading past it is caught.
 */
#include "../../cli/analyse/promscrape.c"
#include "must.h"

static struct prom_source *src;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	src = prom_open("http://127.0.0.1:9090/metrics:http_requests_total", err, sizeof(err));
	MUST(src, "prom_open: %s", err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct response r = {.clen = -1};
	size_t step, n, off;
	char err[256];
	double sum;
	int ret = 0;

	if (size < 1 || size - 1 > PROM_MAX_RESPONSE)
		return 0;
	step = data[0] ? data[0] : size;
	data++;
	size--;
	r.cap = size + 1;
	r.data = malloc(r.cap);
	if (!r.data)
		return 0;
	r.data[0] = '\0';
	for (off = 0; off < size && ret == 0; off += n) {
		n = size - off < step ? size - off : step;
		memcpy(r.data + r.len, data + off, n);
		ret = response_add(&r, n, src, err, sizeof(err));
	}
	if (ret >= 0 && !r.hdr_len)
		ret = -1; /* closed before a full response */
	if (ret >= 0 && !unframe_body(&r, src, err, sizeof(err))) {
		MUST(r.hdr_len <= r.len && r.len <= size, "body [%zu, %zu) of a %zu-byte response",
		     r.hdr_len, r.len, size);
		MUST(prom_sum(r.data + r.hdr_len, r.len - r.hdr_len, src->name, &sum) >= -1,
		     "prom_sum failed");
	}
	free(r.data);
	return 0;
}
