// SPDX-License-Identifier: GPL-2.0
/* httpd.c - the --listen server: GET /metrics, without ever blocking the caller.
 *
 * Every socket is non-blocking and httpd_service() only does what the kernel can
 * do at once: accept what is pending, recv what has arrived, send what fits. A
 * client is a small state machine (reading its head, being answered, closing) with
 * a deadline per state. The page is reference counted: httpd_set_body() swaps in a
 * new one while clients being answered finish with the one they started with.
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "export/httpd.h"

#define ACCEPTS_PER_GO 1024 /* connections accepted per httpd_service(): drain a flood */
#define DRAINS_PER_GO  16   /* recv calls on a closing client per httpd_service() */

enum state {
	C_FREE,
	C_READING, /* waiting for the request head */
	C_WRITING, /* sending the answer */
	C_CLOSING, /* answer handed to the kernel, write side shut: waiting for the client's
	            * close (its deadline is still the answer's) */
};

struct page {
	int refs;
	size_t len;
	char data[];
};

struct client {
	int fd;
	enum state state;
	unsigned long long since; /* ms: accepted, then answer ready */
	unsigned long long seq;   /* accept order, for eviction */
	size_t rlen;
	char head[HTTPD_HEAD_MAX];
	char out[512]; /* status line, headers, and an error's short body */
	size_t outlen;
	struct page *page; /* the page being sent, a reference (NULL: none) */
	size_t sent;       /* bytes of out and then page sent */
};

struct httpd {
	int fd;
	int port;
	struct page *page;
	unsigned long long seq;
	struct client clients[HTTPD_MAX_CLIENTS];
};

__attribute__((format(printf, 3, 4))) static void *fail(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static void page_put(struct page *p)
{
	if (p && --p->refs == 0)
		free(p);
}

/* ---- the address ---- */

/* PORT: decimal, 0..65535. Returns the port or -1 with err set. */
static int parse_port(const char *addr, const char *s, char *err, size_t errlen)
{
	long v = 0;
	const char *p;

	if (!*s) {
		fail(err, errlen, "--listen %s: missing port (expected [ADDR:]PORT, e.g. 9464)",
		     addr);
		return -1;
	}
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s > 6) {
			fail(err, errlen,
			     "--listen %s: bad port '%s' (expected [ADDR:]PORT, e.g. "
			     "127.0.0.1:9464)",
			     addr, s);
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	if (v > 65535) {
		fail(err, errlen, "--listen %s: port %s out of range (0-65535)", addr, s);
		return -1;
	}
	return (int)v;
}

static bool parse_v4(const char *host, struct sockaddr_in *sin)
{
	if (!*host)
		host = "0.0.0.0";
	else if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	sin->sin_family = AF_INET;
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1;
}

/* [ADDR:]PORT into ss. Returns 0 or -1 with err set. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                      size_t errlen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[64];
	const char *colon;
	int port;

	memset(ss, 0, sizeof(*ss));
	if (!addr || !*addr) {
		fail(err, errlen, "--listen: empty address (expected [ADDR:]PORT, e.g. 9464)");
		return -1;
	}
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host)) {
			fail(err, errlen, "--listen %s: expected [IPV6]:PORT, e.g. [::1]:9464",
			     addr);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - addr - 1), addr + 1);
		port = parse_port(addr, close + 2, err, errlen);
		if (port < 0)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			fail(err, errlen, "--listen %s: bad IPv6 address '%s'", addr, host);
			return -1;
		}
		*sslen = sizeof(*sin6);
		return 0;
	}
	colon = strrchr(addr, ':');
	if (colon && memchr(addr, ':', colon - addr)) {
		fail(err, errlen, "--listen %s: an IPv6 address goes in brackets, e.g. [::1]:9464",
		     addr);
		return -1;
	}
	if (!colon)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if ((size_t)(colon - addr) < sizeof(host))
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	else
		host[0] = '?', host[1] = '\0';
	port = parse_port(addr, colon ? colon + 1 : addr, err, errlen);
	if (port < 0)
		return -1;
	if (!parse_v4(host, sin)) {
		fail(err, errlen,
		     "--listen %s: bad address (expected an IPv4 address, localhost or [IPv6]; "
		     "no host names)",
		     addr);
		return -1;
	}
	sin->sin_port = htons(port);
	*sslen = sizeof(*sin);
	return 0;
}

static const char *bind_error(int e, int port)
{
	switch (e) {
	case EADDRINUSE:
		return "address already in use";
	case EACCES:
	case EPERM:
		return port && port < 1024
		           ? "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
		           : "permission denied";
	case EADDRNOTAVAIL:
		return "address not available on this machine";
	case EAFNOSUPPORT:
		return "IPv6 is not available on this machine";
	}
	return strerror(e);
}

static int listen_on(const char *addr, const struct sockaddr_storage *ss, socklen_t sslen,
                     char *err, size_t errlen)
{
	int port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(err, errlen, "--listen %s: socket: %s", addr, bind_error(errno, port));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) || listen(fd, 4096)) {
		e = errno;
		close(fd);
		fail(err, errlen, "--listen %s: %s", addr, bind_error(e, port));
		return -1;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sockaddr_in6 */
}

struct httpd *httpd_open(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct httpd *h;

	if (parse_addr(addr, &ss, &sslen, err, errlen))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return fail(err, errlen, "--listen %s: out of memory", addr);
	h->fd = listen_on(addr, &ss, sslen, err, errlen);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	h->port = bound_port(h->fd);
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		h->clients[i].fd = -1;
	return h;
}

/* Close c. reset: abort the connection (RST) so that a client which does not read
 * frees at once the kernel memory its unsent answer holds. */
static void drop(struct client *c, bool reset)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (c->fd >= 0 && reset)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (c->fd >= 0)
		close(c->fd);
	page_put(c->page);
	c->page = NULL;
	c->fd = -1;
	c->state = C_FREE;
}

void httpd_close(struct httpd *h)
{
	if (!h)
		return;
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		drop(&h->clients[i], true);
	close(h->fd);
	page_put(h->page);
	free(h);
}

int httpd_fd(const struct httpd *h)
{
	return h ? h->fd : -1;
}

int httpd_port(const struct httpd *h)
{
	return h ? h->port : -1;
}

int httpd_set_body(struct httpd *h, const char *body, size_t len)
{
	struct page *p;

	if (!h || (!body && len))
		return -EINVAL;
	p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return -ENOMEM;
	p->refs = 1;
	p->len = len;
	if (len)
		memcpy(p->data, body, len);
	p->data[len] = '\0';
	page_put(h->page);
	h->page = p;
	return 0;
}

/* ---- answers ---- */

static void answer_error(struct client *c, int code, const char *reason, bool head_only)
{
	c->outlen =
	    snprintf(c->out, sizeof(c->out),
	             "HTTP/1.1 %d %s\r\n"
	             "Content-Type: text/plain; charset=utf-8\r\n"
	             "Content-Length: %zu\r\n"
	             "%s"
	             "Connection: close\r\n\r\n"
	             "%s%s",
	             code, reason, strlen(reason) + 1, code == 405 ? "Allow: GET, HEAD\r\n" : "",
	             head_only ? "" : reason, head_only ? "" : "\n");
}

static void answer_page(struct httpd *h, struct client *c, bool head_only)
{
	if (!h->page) {
		answer_error(c, 503, "Service Unavailable", head_only);
		return;
	}
	c->outlen = snprintf(c->out, sizeof(c->out),
	                     "HTTP/1.1 200 OK\r\n"
	                     "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	                     "Content-Length: %zu\r\n"
	                     "Connection: close\r\n\r\n",
	                     h->page->len);
	if (!head_only) {
		c->page = h->page;
		c->page->refs++;
	}
}

static bool is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_version(const char *s, size_t n)
{
	return n == 8 && !memcmp(s, "HTTP/1.", 7) && s[7] >= '0' && s[7] <= '9';
}

static bool bad_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

int httpd_parse_request(const char *head, size_t hlen, bool *head_only)
{
	const char *line = head, *end = memchr(line, '\n', hlen);
	const char *sp1, *sp2;
	size_t len, mlen;

	*head_only = false;
	if (!end)
		return 400;
	len = end - line;
	if (len && line[len - 1] == '\r')
		len--;
	if (memchr(head, '\0', hlen) || bad_chars(line, len))
		return 400;
	sp1 = memchr(line, ' ', len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line + len - sp1 - 1) : NULL;
	if (!sp1 || !sp2 || sp1[1] != '/' || !is_version(sp2 + 1, line + len - sp2 - 1))
		return 400;
	mlen = sp1 - line;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(line[i]))
			return 400;
	if (!mlen)
		return 400;
	*head_only = mlen == 4 && !memcmp(line, "HEAD", 4);
	if (!*head_only && !(mlen == 3 && !memcmp(line, "GET", 3)))
		return 405;
	if (strcspn(sp1 + 1, "?# ") == 8 && !memcmp(sp1 + 1, "/metrics", 8))
		return 200;
	return 404;
}

static void answer(struct httpd *h, struct client *c)
{
	bool head_only;

	switch (httpd_parse_request(c->head, c->rlen, &head_only)) {
	case 200:
		answer_page(h, c, head_only);
		break;
	case 404:
		answer_error(c, 404, "Not Found", head_only);
		break;
	case 405:
		answer_error(c, 405, "Method Not Allowed", false);
		break;
	default:
		answer_error(c, 400, "Bad Request", false);
	}
}

/* ---- the client state machine ---- */

static void start_answer(struct client *c, unsigned long long now)
{
	c->state = C_WRITING;
	c->since = now;
	c->sent = 0;
}

static bool head_complete(const struct client *c, size_t from)
{
	size_t start = from > 3 ? from - 3 : 0;

	return memmem(c->head + start, c->rlen - start, "\r\n\r\n", 4) ||
	       memmem(c->head + start, c->rlen - start, "\n\n", 2);
}

static void read_head(struct httpd *h, struct client *c, unsigned long long now)
{
	for (;;) {
		size_t room = sizeof(c->head) - c->rlen, old = c->rlen;
		ssize_t n;

		if (!room) {
			answer_error(c, 431, "Request Header Fields Too Large", false);
			start_answer(c, now);
			return;
		}
		n = recv(c->fd, c->head + c->rlen, room, 0);
		if (n > 0) {
			c->rlen += n;
			if (head_complete(c, old)) {
				answer(h, c);
				start_answer(c, now);
				return;
			}
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				drop(c, false); /* closed or reset before asking */
			return;
		}
	}
}

static void write_answer(struct client *c)
{
	size_t total = c->outlen + (c->page ? c->page->len : 0);

	while (c->sent < total) {
		struct iovec iov[2];
		struct msghdr msg = {.msg_iov = iov};
		ssize_t n;

		if (c->sent < c->outlen) {
			iov[msg.msg_iovlen].iov_base = c->out + c->sent;
			iov[msg.msg_iovlen++].iov_len = c->outlen - c->sent;
		}
		if (c->page) {
			size_t off = c->sent > c->outlen ? c->sent - c->outlen : 0;

			iov[msg.msg_iovlen].iov_base = c->page->data + off;
			iov[msg.msg_iovlen++].iov_len = c->page->len - off;
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->sent += n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				drop(c, false);
			return;
		}
	}
	page_put(c->page);
	c->page = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_CLOSING;
}

/* Read and discard until the client closes: closing with unread data would send a
 * reset, which can destroy the answer before the client has read it. */
static void drain(struct client *c)
{
	char buf[4096];

	for (int i = 0; i < DRAINS_PER_GO; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			drop(c, false);
		return;
	}
}

static void expire(struct client *c, unsigned long long now)
{
	unsigned long long limit = c->state == C_READING ? HTTPD_HEAD_MS : HTTPD_ANSWER_MS;

	if (c->state != C_FREE && now - c->since > limit)
		drop(c, true);
}

static void service_client(struct httpd *h, struct client *c, unsigned long long now)
{
	if (c->state == C_READING)
		read_head(h, c, now);
	if (c->state == C_WRITING)
		write_answer(c);
	if (c->state == C_CLOSING)
		drain(c);
	expire(c, now);
}

/* Which client to drop for a new one, lower first: one that has sent nothing yet (a
 * flood of idle connections only ever displaces itself), one already answered and
 * waiting for its close, one still sending its request, one being answered. */
static int drop_rank(const struct client *c)
{
	if (c->state == C_READING && !c->rlen)
		return 0;
	if (c->state == C_CLOSING)
		return 1;
	return c->state == C_READING ? 2 : 3;
}

/* A free slot; when there is none, the oldest client of the lowest rank is dropped. */
static struct client *free_slot(struct httpd *h)
{
	struct client *victim = NULL;

	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++) {
		struct client *c = &h->clients[i];

		if (c->state == C_FREE)
			return c;
		if (!victim || drop_rank(c) < drop_rank(victim) ||
		    (drop_rank(c) == drop_rank(victim) && c->seq < victim->seq))
			victim = c;
	}
	drop(victim, true);
	return victim;
}

static void accept_clients(struct httpd *h, unsigned long long now)
{
	for (int i = 0; i < ACCEPTS_PER_GO; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: the client waits in the backlog */
		}
		c = free_slot(h);
		c->fd = fd;
		c->state = C_READING;
		c->since = now;
		c->seq = h->seq++;
		c->rlen = 0;
		c->outlen = 0;
		c->sent = 0;
		/* A real client's request is usually there already: read (and answer) it
		 * now, before the next connection may need the slot. */
		service_client(h, c, now);
	}
}

void httpd_service(struct httpd *h)
{
	unsigned long long now;

	if (!h)
		return;
	now = now_ms();
	accept_clients(h, now);
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		if (h->clients[i].state != C_FREE)
			service_client(h, &h->clients[i], now);
}
