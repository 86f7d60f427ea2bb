// SPDX-License-Identifier: GPL-2.0
/* server.c - an HTTP/1.0 test server whose endpoints have known memory behaviour.
 *
 * The workload of agentleak's trend tests (tests/integration/test_verdicts.py):
 * each endpoint allocates in its own never-inlined function, so the tests find
 * its stack by frame #0 and know what its verdict must be:
 *
 *   /leak          leak_fixed      keeps malloc(4096) per request forever (leak)
 *   /leak_1_in_10  leak_sometimes  keeps malloc(4096) every 10th call (leak, 409.6 B/request)
 *   /cache         cache_put       64 slots of 4096 B, replaced in turn (plateau at 256 KiB)
 *   /burst         burst           200 x 2048 B, all freed before answering (transient)
 *   /realloc       grow_buffer     +1024 B by realloc per call, freed every 50 calls
 *   /steady        steady          malloc(512) + memset + free
 *   /bigbuf        big_buffer      malloc(1 MiB) + memset + free + malloc_trim(0): the
 *                                  pages are given back (munmap, brk shrink, madvise)
 *                                  and touched again by the next call (not a leak)
 *   /metrics       (none)          Prometheus text: app_requests_total{path="..."}
 *   anything else                  404 (counted as path="other")
 *
 * Nothing else allocates per request: buffers are on the stack and no stdio is
 * used after startup. Every request goes through handle_request(), which the
 * "uprobe:...:handle_request" request source traces, and fires the USDT probe
 * agentleak_test:request at its top. /metrics scrapes go through
 * handle_request too but are not counted in app_requests_total.
 *
 * Single-threaded accept loop, 127.0.0.1 only. One request per connection, except
 * that an HTTP/1.1 request without "Connection: close" keeps the connection open for
 * the next one (keep-alive, not pipelined: the "http" request source's test, which
 * must count each request where "accept" counts the connection once).
 * Prints "listening PORT" once ready.
 *
 * Usage: server PORT   (0: any free port)
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))

#define BLOCK_SIZE   4096
#define CACHE_SLOTS  64
#define BURST_COUNT  200
#define BURST_SIZE   2048
#define GROW_STEP    1024
#define GROW_PERIOD  50
#define STEADY_SIZE  512
#define BIGBUF_SIZE  (1 << 20)
#define REQUEST_MAX  4096
#define RESPONSE_MAX 4096

/* Keep p alive in the compiler's eyes: no malloc/free pair may be elided. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

struct endpoint {
	const char *path;
	void (*handler)(void);
	unsigned long count;
};

/* A kept block: the list is threaded through the blocks themselves, so keeping
 * one allocates nothing else. */
struct kept {
	struct kept *next;
};

static struct kept *leaked;
static struct kept *leaked_sometimes;
static char *cache[CACHE_SLOTS];
static char *grow_buf;
static size_t grow_len;
static unsigned long other_count;
static int keep_alive; /* the request being answered keeps its connection open */

NOINLINE void leak_fixed(void)
{
	struct kept *k = malloc(BLOCK_SIZE);

	if (!k)
		return;
	memset(k, 0xab, BLOCK_SIZE);
	k->next = leaked;
	leaked = k;
}

NOINLINE void leak_sometimes(void)
{
	static unsigned long calls;

	if (++calls % 10 == 0) {
		struct kept *k = malloc(BLOCK_SIZE);

		if (!k)
			return;
		memset(k, 0xcd, BLOCK_SIZE);
		k->next = leaked_sometimes;
		leaked_sometimes = k;
	}
}

NOINLINE void cache_put(void)
{
	static unsigned long calls;
	unsigned long slot = calls++ % CACHE_SLOTS;

	free(cache[slot]);
	cache[slot] = malloc(BLOCK_SIZE);
	if (cache[slot])
		memset(cache[slot], (int)slot, BLOCK_SIZE);
}

NOINLINE void burst(void)
{
	char *blocks[BURST_COUNT];
	int i;

	for (i = 0; i < BURST_COUNT; i++) {
		blocks[i] = malloc(BURST_SIZE);
		if (blocks[i])
			memset(blocks[i], i, BURST_SIZE);
	}
	ESCAPE(blocks);
	for (i = 0; i < BURST_COUNT; i++)
		free(blocks[i]);
}

NOINLINE void grow_buffer(void)
{
	static unsigned long calls;
	char *p;

	if (++calls % GROW_PERIOD == 0) {
		free(grow_buf);
		grow_buf = NULL;
		grow_len = 0;
		return;
	}
	p = realloc(grow_buf, grow_len + GROW_STEP);
	if (!p)
		return;
	memset(p + grow_len, 0x5a, GROW_STEP);
	grow_buf = p;
	grow_len += GROW_STEP;
}

NOINLINE void steady(void)
{
	char *p = malloc(STEADY_SIZE);

	if (!p)
		return;
	memset(p, 0x11, STEADY_SIZE);
	ESCAPE(p);
	free(p);
}

/* The first call is served by mmap and freed by munmap; glibc then raises its mmap
 * threshold and serves the next ones from the heap, which malloc_trim gives back. */
NOINLINE void big_buffer(void)
{
	char *p = malloc(BIGBUF_SIZE);

	if (!p)
		return;
	memset(p, 0x22, BIGBUF_SIZE);
	ESCAPE(p);
	free(p);
	malloc_trim(0);
}

static struct endpoint endpoints[] = {
    {"/leak", leak_fixed, 0},   {"/leak_1_in_10", leak_sometimes, 0}, {"/cache", cache_put, 0},
    {"/burst", burst, 0},       {"/realloc", grow_buffer, 0},         {"/steady", steady, 0},
    {"/bigbuf", big_buffer, 0},
};

#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, const char *status, const char *body, size_t body_len)
{
	char buf[RESPONSE_MAX + 256];
	int n;

	n = snprintf(buf, sizeof(buf),
	             "HTTP/1.%d %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
	             "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
	             keep_alive, status, body_len, keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n + body_len > sizeof(buf))
		return;
	memcpy(buf + n, body, body_len);
	send_all(fd, buf, (size_t)n + body_len); /* one write: loadgen reads once */
}

static void serve_metrics(int fd)
{
	char body[RESPONSE_MAX];
	size_t len = 0, i;
	int n;

	n = snprintf(body, sizeof(body),
	             "# HELP app_requests_total Requests handled, by path (/metrics not counted).\n"
	             "# TYPE app_requests_total counter\n");
	len = n > 0 ? (size_t)n : 0;
	for (i = 0; i < NENDPOINTS && len < sizeof(body); i++) {
		n = snprintf(body + len, sizeof(body) - len,
		             "app_requests_total{path=\"%s\"} %lu\n", endpoints[i].path,
		             endpoints[i].count);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len < sizeof(body)) {
		n = snprintf(body + len, sizeof(body) - len,
		             "app_requests_total{path=\"other\"} %lu\n"
		             "# HELP app_kept_blocks Blocks of 4096 B kept by /leak.\n"
		             "# TYPE app_kept_blocks gauge\n"
		             "app_kept_blocks %lu\n",
		             other_count, endpoints[0].count);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len >= sizeof(body))
		len = sizeof(body) - 1;
	respond(fd, "200 OK", body, len);
}

/* Every request comes here (the request source of the uprobe and USDT tests). */
__attribute__((noinline, noipa)) void handle_request(int fd, const char *path)
{
	static const char ok[] = "ok\n", missing[] = "not found\n";
	size_t i;

	DTRACE_PROBE(agentleak_test, request);
	if (!strcmp(path, "/metrics")) {
		serve_metrics(fd);
		return;
	}
	for (i = 0; i < NENDPOINTS; i++) {
		if (!strcmp(path, endpoints[i].path)) {
			endpoints[i].count++;
			endpoints[i].handler();
			respond(fd, "200 OK", ok, sizeof(ok) - 1);
			return;
		}
	}
	other_count++;
	respond(fd, "404 Not Found", missing, sizeof(missing) - 1);
}

/* Read the request head (up to the blank line) and return its path, cut at
 * '?' or ' ', or NULL for a request that is not "GET /..." (*got: bytes read, 0 when
 * the client closed). Sets keep_alive for an HTTP/1.1 GET that does not ask to close. */
static char *read_path(int fd, char *req, size_t size, size_t *got)
{
	size_t len = 0;
	char *path, *end;

	while (len < size - 1) {
		ssize_t n = read(fd, req + len, size - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	*got = len;
	keep_alive = 0;
	if (strncmp(req, "GET /", 5))
		return NULL;
	path = req + 4;
	end = path + strcspn(path, " \r\n");
	keep_alive = !strncmp(end, " HTTP/1.1\r\n", 11) && !strcasestr(end, "\nConnection: close");
	end = path + strcspn(path, " ?\r\n");
	*end = '\0';
	return path;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct timeval tmo = {.tv_sec = 2};
	socklen_t alen = sizeof(addr);
	char req[REQUEST_MAX];
	int s, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: server PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	addr.sin_port = htons((unsigned short)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 512) ||
	    getsockname(s, (struct sockaddr *)&addr, &alen)) {
		perror("server");
		return 1;
	}
	printf("listening %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL), served;
		size_t got;
		char *path;

		if (c < 0)
			continue;
		/* A client that sends nothing must not stall the loop for long. */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		for (served = 0;; served++) {
			path = read_path(c, req, sizeof(req), &got);
			if (served && !got)
				break; /* the keep-alive client closed or went quiet */
			handle_request(c, path ? path : ""); /* not a GET: 404 */
			if (!keep_alive)
				break;
		}
		close(c);
	}
}
