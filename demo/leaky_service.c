// SPDX-License-Identifier: GPL-2.0
/* leaky_service.c - the demo service that `make demo` runs under agentleak.
 *
 * A tiny HTTP/1.0 server on 127.0.0.1 that behaves like an "agent" service with
 * three bugs-or-not: every /chat request stores a 4 KiB message in a conversation
 * history that is never trimmed (a leak), /lookup fills a cache that stops growing
 * at 64 entries (not a leak), and every request builds a scratch buffer it frees
 * before answering (not a leak). It prints "listening PORT" once ready.
 *
 * Usage: leaky_service [PORT]   (0 or nothing: any free port)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MESSAGE_SIZE 4096
#define CACHE_SLOTS  64

struct message {
	struct message *next;
	char text[MESSAGE_SIZE - sizeof(void *)];
};

static struct message *history;
static char *cache[CACHE_SLOTS];
static unsigned long requests;

/* The bug: the history of the conversation grows with every message. */
static __attribute__((noinline)) void remember_message(const char *req)
{
	struct message *m = malloc(sizeof(*m));

	if (!m)
		return;
	snprintf(m->text, sizeof(m->text), "user said: %.200s", req);
	m->next = history;
	history = m;
}

/* Not a bug: a fixed number of slots, replaced in turn. */
static __attribute__((noinline)) void cache_lookup(unsigned long key)
{
	unsigned long slot = key % CACHE_SLOTS;

	free(cache[slot]);
	cache[slot] = malloc(2048);
	if (cache[slot])
		memset(cache[slot], (int)key, 2048);
}

/* Not a bug: scratch memory freed before the answer. */
static __attribute__((noinline)) size_t render_answer(char *out, size_t len)
{
	char *scratch = malloc(16384);
	size_t n;

	if (!scratch)
		return 0;
	memset(scratch, 'x', 16384);
	n = (size_t)snprintf(out, len,
	                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nrequest %lu ok\n",
	                     requests);
	free(scratch);
	return n < len ? n : len - 1;
}

static __attribute__((noinline)) void handle_request(int fd)
{
	char req[1024], answer[256];
	ssize_t n = read(fd, req, sizeof(req) - 1);
	size_t len;

	if (n <= 0)
		return;
	req[n] = '\0';
	requests++;
	if (!strncmp(req, "GET /chat", 9))
		remember_message(req);
	else if (!strncmp(req, "GET /lookup", 11))
		cache_lookup(requests);
	len = render_answer(answer, sizeof(answer));
	if (write(fd, answer, len) < 0)
		return;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	int s, one = 1;

	signal(SIGPIPE, SIG_IGN);
	addr.sin_port = htons(argc > 1 ? (unsigned short)atoi(argv[1]) : 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 128) ||
	    getsockname(s, (struct sockaddr *)&addr, &alen)) {
		perror("leaky_service");
		return 1;
	}
	printf("listening %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		handle_request(c);
		close(c);
	}
}
