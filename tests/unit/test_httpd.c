// SPDX-License-Identifier: GPL-2.0
/* test_httpd.c - unit tests of cli/export/httpd.c: the --listen server.
 *
 * Everything runs in one process, as in agentleak: the test is the main loop and
 * calls httpd_service() between its own client steps, so any blocking inside the
 * server would stall the test and show up as a latency. Checked: the answers
 * (200 with the page, HEAD, 404, 405, 400, 431, 503 before the first page), a
 * client sending one byte per second does not delay others (each answered within
 * 200 ms) and is dropped after 2 s, 20 idle connections do not stop service, a
 * client that never reads is dropped after 5 s, a page replaced mid-transfer
 * reaches the client whole, a client resetting its connection does not raise
 * SIGPIPE, and the address errors (syntax, range, in use, permission).
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "export/httpd.h"

#include "check.h"

#define ERRLEN 256
#define TICK   5 /* ms the test loop waits between httpd_service() calls */

static double max_service_ms; /* the longest httpd_service() call seen */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void service(struct httpd *h)
{
	double t0 = now_ms(), dt;

	httpd_service(h);
	dt = now_ms() - t0;
	if (dt > max_service_ms)
		max_service_ms = dt;
}

/* Wait up to ms like agentleak's loop: poll the listening socket (and fd), service. */
static void run_loop(struct httpd *h, int fd, double ms)
{
	double end = now_ms() + ms;

	do {
		struct pollfd p[2] = {{.fd = httpd_fd(h), .events = POLLIN},
		                      {.fd = fd, .events = POLLIN}};

		poll(p, fd >= 0 ? 2 : 1, TICK);
		service(h);
	} while (now_ms() < end);
}

/* A non-blocking client socket connected to 127.0.0.1:port; rcvbuf: its receive
 * buffer size, 0 for the default. */
static int connect_rcvbuf(int port, int rcvbuf)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int connect_to(int port)
{
	return connect_rcvbuf(port, 0);
}

/* Send all of buf on a non-blocking fd, servicing h meanwhile. */
static bool send_all(struct httpd *h, int fd, const char *buf, size_t len, double timeout_ms)
{
	double end = now_ms() + timeout_ms;

	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= n;
		} else if (n < 0 && errno != EAGAIN) {
			return false;
		} else if (now_ms() > end) {
			return false;
		} else {
			run_loop(h, -1, 1);
		}
	}
	return true;
}

/* Read until EOF (or timeout), servicing h. Returns bytes read, -1 on timeout. */
static ssize_t recv_all(struct httpd *h, int fd, char *buf, size_t cap, double timeout_ms)
{
	double end = now_ms() + timeout_ms;
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);

		if (n > 0) {
			len += n;
			if (len == cap - 1)
				break;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (now_ms() > end)
			return -1;
		run_loop(h, fd, 0);
	}
	buf[len] = '\0';
	return len;
}

struct answer {
	int status;
	char head[1024];
	char *body;
	size_t body_len;
	double ms;
};

/* One request (raw bytes) and its whole answer. Returns false on a transport error. */
static bool ask(struct httpd *h, int port, const char *req, size_t len, struct answer *a,
                size_t cap)
{
	char *buf = malloc(cap), *sep;
	double t0 = now_ms();
	ssize_t n;
	int fd;

	memset(a, 0, sizeof(*a));
	fd = connect_to(port);
	if (!buf || fd < 0 || !send_all(h, fd, req, len, 2000)) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return false;
	}
	n = recv_all(h, fd, buf, cap, 3000);
	a->ms = now_ms() - t0;
	close(fd);
	if (n < 0) {
		free(buf);
		return false;
	}
	sep = strstr(buf, "\r\n\r\n");
	if (sep) {
		snprintf(a->head, sizeof(a->head), "%.*s", (int)(sep - buf), buf);
		a->body_len = n - (sep + 4 - buf);
		a->body = malloc(a->body_len + 1);
		memcpy(a->body, sep + 4, a->body_len);
		a->body[a->body_len] = '\0';
	}
	sscanf(buf, "HTTP/1.1 %d", &a->status);
	free(buf);
	return true;
}

static bool ask_str(struct httpd *h, int port, const char *req, struct answer *a)
{
	return ask(h, port, req, strlen(req), a, 1 << 16);
}

static void clear(struct answer *a)
{
	free(a->body);
	a->body = NULL;
}

/* ---- tests ---- */

static void test_answers(struct httpd *h, int port)
{
	const char page[] = "# HELP agentleak_up 1 while tracing.\n# TYPE agentleak_up gauge\n"
	                    "agentleak_up 1\n";
	struct answer a;

	CHECK(ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) && a.status == 503,
	      "before the first page: 503 (got %d)", a.status);
	clear(&a);
	CHECK(httpd_set_body(h, page, strlen(page)) == 0, "set_body");

	CHECK(ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) && a.status == 200 && a.body &&
	          !strcmp(a.body, page),
	      "GET /metrics HTTP/1.0: 200 and the page (%.0f ms)", a.ms);
	CHECK(strstr(a.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8") &&
	          strstr(a.head, "\r\nConnection: close"),
	      "Content-Type text/plain; version=0.0.4");
	{
		char want[64];

		snprintf(want, sizeof(want), "\r\nContent-Length: %zu", strlen(page));
		CHECK(strstr(a.head, want) != NULL, "Content-Length right");
	}
	clear(&a);
	CHECK(ask_str(h, port,
	              "GET /metrics?name[]=agentleak_up HTTP/1.1\r\nHost: x\r\nAccept: "
	              "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
	              "\r\nUser-Agent: Prometheus/2.42.0\r\n\r\n",
	              &a) &&
	          a.status == 200 && a.body && !strcmp(a.body, page),
	      "GET /metrics?query HTTP/1.1 as Prometheus sends it: 200");
	clear(&a);
	CHECK(ask_str(h, port, "GET /metrics HTTP/1.1\n\n", &a) && a.status == 200,
	      "bare LF line ends accepted");
	clear(&a);
	CHECK(ask_str(h, port, "HEAD /metrics HTTP/1.1\r\n\r\n", &a) && a.status == 200 &&
	          a.body_len == 0 && strstr(a.head, "Content-Length: "),
	      "HEAD /metrics: 200, headers only");
	clear(&a);
	CHECK(ask_str(h, port, "GET / HTTP/1.1\r\n\r\n", &a) && a.status == 404,
	      "GET /: 404 (got %d)", a.status);
	clear(&a);
	CHECK(ask_str(h, port, "GET /metricsx HTTP/1.1\r\n\r\n", &a) && a.status == 404,
	      "GET /metricsx: 404");
	clear(&a);
	CHECK(ask_str(h, port, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &a) &&
	          a.status == 405 && strstr(a.head, "\r\nAllow: GET, HEAD"),
	      "POST /metrics: 405 with Allow (got %d)", a.status);
	clear(&a);
	CHECK(ask_str(h, port, "DELETE / HTTP/1.1\r\n\r\n", &a) && a.status == 405, "DELETE: 405");
	clear(&a);

	static const char *const bad[] = {
	    "garbage\r\n\r\n",
	    "GET /metrics\r\n\r\n",
	    "GET metrics HTTP/1.1\r\n\r\n",
	    "GET /metrics HTTP/2.0\r\n\r\n",
	    "GET /metrics  HTTP/1.1\r\n\r\n",
	    " GET /metrics HTTP/1.1\r\n\r\n",
	    "G(T /metrics HTTP/1.1\r\n\r\n",
	    "GET /met\x01rics HTTP/1.1\r\n\r\n",
	    "\r\n\r\n",
	    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool ok = ask_str(h, port, bad[i], &a);
		char shown[64];

		snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(bad[i], "\r\n\x01"), bad[i]);
		CHECK(ok && a.status == 400, "malformed '%s': 400 (got %d)", shown, a.status);
		clear(&a);
	}
	{
		const char nul[] = "GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n";

		CHECK(ask(h, port, nul, sizeof(nul) - 1, &a, 4096) && a.status == 400,
		      "a NUL byte in the head: 400");
		clear(&a);
	}
}

static void test_big_page(struct httpd *h, int port)
{
	size_t len = 3 << 20;
	char *page = malloc(len + 1);
	struct answer a;

	for (size_t i = 0; i < len; i++)
		page[i] = "abcdefghijklmnopqrstuvwxyz\n"[i % 27];
	page[len] = '\0';
	httpd_set_body(h, page, len);
	CHECK(ask(h, port, "GET /metrics HTTP/1.0\r\n\r\n", 25, &a, len + 4096) &&
	          a.status == 200 && a.body_len == len && !memcmp(a.body, page, len),
	      "a 3 MiB page arrives whole (%.0f ms)", a.ms);
	clear(&a);
	free(page);
}

/* The page is replaced while a client is being sent the old one: it gets the old one. */
static void test_swap_mid_transfer(struct httpd *h, int port)
{
	size_t len = 4 << 20, got = 0;
	char *old = malloc(len), *buf = malloc(len + 4096);
	const char *req = "GET /metrics HTTP/1.0\r\n\r\n", *sep;
	int fd = connect_to(port);
	bool swapped = false;
	double end = now_ms() + 5000;

	memset(old, 'o', len);
	httpd_set_body(h, old, len);
	if (fd < 0 || !send_all(h, fd, req, strlen(req), 1000)) {
		CHECK(0, "swap mid-transfer: cannot send");
		goto out;
	}
	while (now_ms() < end) {
		ssize_t n = recv(fd, buf + got, len + 4096 - got, 0);

		if (n > 0)
			got += n;
		else if (n == 0)
			break;
		if (!swapped && got > 100000) {
			httpd_set_body(h, "new 1\n", 6);
			swapped = true;
		}
		run_loop(h, fd, 0);
	}
	buf[got < len + 4096 ? got : len + 4095] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	CHECK(swapped && sep && got - (sep + 4 - buf) == len && !memcmp(sep + 4, old, len),
	      "page replaced mid-transfer: the client still gets the whole old page");
out:
	if (fd >= 0)
		close(fd);
	free(old);
	free(buf);
}

/* A client sending one byte per second: others are answered within 200 ms meanwhile,
 * and it is dropped 2 s after it connected. */
static void test_slow_client(struct httpd *h, int port)
{
	const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
	double t0 = now_ms(), worst = 0, dropped_at = -1, next = t0;
	int fd = connect_to(port), sent = 0, answered = 0, asked = 0;
	char c;

	httpd_set_body(h, "x 1\n", 4);
	while (fd >= 0 && now_ms() - t0 < 3500) {
		struct answer a;
		ssize_t n;

		if (dropped_at < 0 && now_ms() >= next && req[sent]) {
			if (send(fd, req + sent, 1, MSG_NOSIGNAL) == 1)
				sent++;
			next += 1000;
		}
		asked++;
		if (ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) && a.status == 200)
			answered++;
		if (a.ms > worst)
			worst = a.ms;
		clear(&a);
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (dropped_at < 0 && (n == 0 || (n < 0 && errno != EAGAIN)))
			dropped_at = now_ms() - t0;
		run_loop(h, fd, 20);
	}
	CHECK(asked > 20 && answered == asked && worst < 200,
	      "slow client (1 byte/s, %d bytes sent): %d/%d others answered, worst %.1f ms", sent,
	      answered, asked, worst);
	CHECK(dropped_at >= 1900 && dropped_at < 2600,
	      "slow client dropped %.0f ms after connecting (2 s head limit)", dropped_at);
	if (fd >= 0)
		close(fd);
}

/* 20 connections that never send anything: the oldest are dropped, a real client
 * is still answered at once. */
static void test_idle_clients(struct httpd *h, int port)
{
	int fds[20], closed = 0;
	struct answer a;
	char c;

	for (int i = 0; i < 20; i++) {
		fds[i] = connect_to(port);
		run_loop(h, -1, 2);
	}
	CHECK(ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) && a.status == 200 &&
	          a.ms < 200,
	      "20 idle connections: a GET is still answered (%.1f ms)", a.ms);
	clear(&a);
	run_loop(h, -1, 20);
	for (int i = 0; i < 20; i++) {
		ssize_t n = fds[i] >= 0 ? recv(fds[i], &c, 1, MSG_DONTWAIT) : 0;

		if (n == 0 || (n < 0 && errno != EAGAIN))
			closed++;
	}
	CHECK(closed >= 20 + 1 - HTTPD_MAX_CLIENTS && closed < 20,
	      "%d of the 20 idle connections dropped (at most %d clients at once)", closed,
	      HTTPD_MAX_CLIENTS);
	for (int i = 0; i < 20; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	run_loop(h, -1, 20);
}

static void test_huge_head(struct httpd *h, int port)
{
	size_t len = 9000;
	char *req = malloc(len + 8);
	struct answer a;

	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	memset(req + 30, 'a', len - 30);
	CHECK(ask(h, port, req, len, &a, 4096) && a.status == 431,
	      "a 9000-byte head without its end: 431 (got %d)", a.status);
	clear(&a);
	memcpy(req + len, "\r\n\r\n", 4);
	CHECK(ask(h, port, req, len + 4, &a, 4096) && a.status == 431,
	      "a complete 9004-byte head: 431 (got %d)", a.status);
	clear(&a);
	len = HTTPD_HEAD_MAX - 4;
	memcpy(req + len, "\r\n\r\n", 4);
	CHECK(ask(h, port, req, len + 4, &a, 4096) && a.status == 200,
	      "a head of exactly %d bytes: 200 (got %d)", HTTPD_HEAD_MAX, a.status);
	clear(&a);
	free(req);
}

/* Sends its request and never reads: dropped 5 s after the answer was ready, while
 * the server goes on answering others. */
static void test_no_reader(struct httpd *h, int port)
{
	size_t len = 16 << 20;
	char *page = malloc(len);
	const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
	int fd;
	double t0, gone = -1;
	struct answer a;
	bool others = true;

	memset(page, 'p', len);
	httpd_set_body(h, page, len);
	free(page);
	fd = connect_rcvbuf(port, 4096);
	send_all(h, fd, req, strlen(req), 1000);
	t0 = now_ms();
	run_loop(h, -1, 50); /* its answer is under way: the big page */
	httpd_set_body(h, "small 1\n", 8);
	while (now_ms() - t0 < 7000 && gone < 0) {
		struct pollfd p = {.fd = fd, .events = POLLRDHUP};

		run_loop(h, -1, 50);
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			gone = now_ms() - t0;
		if ((int)(now_ms() - t0) % 1000 < 60) {
			if (!ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) ||
			    a.status != 200 || a.ms > 200)
				others = false;
			clear(&a);
		}
	}
	CHECK(gone >= 4900 && gone < 6000,
	      "a client that never reads its 16 MiB answer is dropped after %.0f ms", gone);
	CHECK(others, "others answered meanwhile");
	close(fd);
}

/* A client that resets its connection while being answered: no SIGPIPE. */
static void test_reset(struct httpd *h, int port)
{
	size_t len = 2 << 20;
	char *page = malloc(len);
	const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct answer a;
	int fd;

	memset(page, 'r', len);
	httpd_set_body(h, page, len);
	free(page);
	for (int i = 0; i < 5; i++) {
		fd = connect_to(port);
		send_all(h, fd, req, strlen(req), 1000);
		run_loop(h, -1, 10);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		run_loop(h, -1, 10);
	}
	fd = connect_to(port);
	close(fd);
	run_loop(h, -1, 20);
	httpd_set_body(h, "ok 1\n", 5);
	CHECK(ask_str(h, port, "GET /metrics HTTP/1.0\r\n\r\n", &a) && a.status == 200,
	      "clients resetting mid-answer: no SIGPIPE, service goes on");
	clear(&a);
}

static void expect_open_error(const char *addr, const char *want)
{
	char err[ERRLEN] = "";
	struct httpd *h = httpd_open(addr, err, sizeof(err));

	CHECK(!h && strstr(err, want) && !strchr(err, '\n'), "--listen '%s' refused: %s", addr,
	      err);
	httpd_close(h);
}

static int bound(const struct httpd *h, char *addr, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(httpd_fd(h), (struct sockaddr *)&ss, &sl))
		return -1;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, len);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, len);
	return 0;
}

static void test_addresses(void)
{
	char err[ERRLEN] = "", addr[64] = "", spec[64];
	struct httpd *h, *h2;
	int port;

	expect_open_error("abc", "bad port 'abc'");
	expect_open_error("70000", "port 70000 out of range");
	expect_open_error("127.0.0.1:70000", "out of range");
	expect_open_error("127.0.0.1:99999999999", "bad port");
	expect_open_error("127.0.0.1:-1", "bad port");
	expect_open_error("127.0.0.1:", "missing port");
	expect_open_error("", "empty address");
	expect_open_error("1.2.3:9464", "bad address");
	expect_open_error("myhost.example:9464", "no host names");
	expect_open_error("::1:9464", "in brackets");
	expect_open_error("[::1:9464", "expected [IPV6]:PORT");
	expect_open_error("[zz]:9464", "bad IPv6 address");
	expect_open_error("192.0.2.1:9464", "address not available");

	h = httpd_open("0", err, sizeof(err));
	CHECK(h && bound(h, addr, sizeof(addr)) == 0 && !strcmp(addr, "127.0.0.1") &&
	          httpd_port(h) > 0,
	      "a bare port listens on 127.0.0.1 (%s:%d)", addr, httpd_port(h));
	port = httpd_port(h);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	expect_open_error(spec, "address already in use");
	snprintf(spec, sizeof(spec), "%d", port);
	expect_open_error(spec, "address already in use");
	httpd_close(h);

	h = httpd_open(":0", err, sizeof(err));
	CHECK(h && bound(h, addr, sizeof(addr)) == 0 && !strcmp(addr, "0.0.0.0"),
	      "':PORT' listens on every IPv4 address (%s)", addr);
	httpd_close(h);
	h = httpd_open("localhost:0", err, sizeof(err));
	CHECK(h && bound(h, addr, sizeof(addr)) == 0 && !strcmp(addr, "127.0.0.1"),
	      "localhost is 127.0.0.1");
	httpd_close(h);

	h = httpd_open("[::1]:0", err, sizeof(err));
	if (!h && (strstr(err, "not available") || strstr(err, "IPv6"))) {
		CHECK(1, "[::1]: no IPv6 here (%s)", err);
	} else {
		CHECK(h && bound(h, addr, sizeof(addr)) == 0 && !strcmp(addr, "::1"),
		      "[::1]:0 listens on ::1 (%s)", h ? addr : err);
		if (h) {
			snprintf(spec, sizeof(spec), "[::1]:%d", httpd_port(h));
			h2 = httpd_open(spec, err, sizeof(err));
			CHECK(!h2 && strstr(err, "address already in use"), "%s in use: %s", spec,
			      err);
			httpd_close(h2);
		}
		httpd_close(h);
	}
	httpd_close(NULL);
	CHECK(httpd_fd(NULL) == -1 && httpd_port(NULL) == -1, "NULL server: -1, no crash");
}

/* Ports below 1024 for someone without CAP_NET_BIND_SERVICE: a child drops to nobody. */
static void test_permission(void)
{
	char err[ERRLEN] = "";
	int pfd[2], st, start = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	pid_t pid;

	if (f) {
		if (fscanf(f, "%d", &start) != 1)
			start = 1024;
		fclose(f);
	}
	if (start <= 80) {
		CHECK(1, "port 80 is not privileged here (ip_unprivileged_port_start %d)", start);
		return;
	}
	if (geteuid() != 0) {
		expect_open_error("127.0.0.1:80", "permission denied");
		return;
	}
	if (pipe(pfd))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct httpd *h;

		close(pfd[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		h = httpd_open("127.0.0.1:80", err, sizeof(err));
		if (write(pfd[1], err, strlen(err) + 1) < 0)
			_exit(3);
		_exit(h ? 1 : 0);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0);
	if (read(pfd[0], err, sizeof(err) - 1) < 0)
		err[0] = '\0';
	close(pfd[0]);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(err, "permission denied"),
	      "port 80 as uid 65534: %s", err);
}

int main(void)
{
	char err[ERRLEN] = "";
	struct httpd *h;
	int port;

	setvbuf(stdout, NULL, _IOLBF, 0);
	h = httpd_open("127.0.0.1:0", err, sizeof(err));
	port = httpd_port(h);
	CHECK(h && port > 0 && httpd_fd(h) >= 0, "httpd_open 127.0.0.1:0: port %d (%s)", port, err);
	if (!h)
		goto out;
	CHECK((fcntl(httpd_fd(h), F_GETFL) & O_NONBLOCK) != 0, "the listening socket is "
	                                                       "non-blocking");
	test_answers(h, port);
	test_big_page(h, port);
	test_swap_mid_transfer(h, port);
	test_slow_client(h, port);
	test_idle_clients(h, port);
	test_huge_head(h, port);
	test_reset(h, port);
	test_no_reader(h, port);
	CHECK(max_service_ms < 50, "longest httpd_service() call: %.2f ms", max_service_ms);
	httpd_close(h);
out:
	test_addresses();
	test_permission();
	return check_done();
}
