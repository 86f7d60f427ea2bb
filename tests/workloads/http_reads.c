// SPDX-License-Identifier: GPL-2.0
/* http_reads.c - reads that are and are not HTTP/1.x requests, for "--requests http".
 *
 * In the phase the process sends each payload of cases[] to itself and reads it back
 * the way the case says: read, recv (the recvfrom syscall), readv or recvmsg on a
 * loopback TCP socket, recv with MSG_PEEK first, a request line split over two reads,
 * or the same bytes through a pipe or a memfd (not sockets). agentleak must count
 * exactly the cases marked counted; the workload prints "expect N" (their number)
 * before "done".
 *
 * Usage: http_reads [--exit]   (protocol of workload.h)
 */
#define _GNU_SOURCE
#include "workload.h"

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

enum how {
	READ,         /* read(2) on the socket */
	RECV,         /* recv(2): the recvfrom syscall */
	READV,        /* readv(2), one buffer */
	RECVMSG,      /* recvmsg(2), one buffer */
	RECV_PEEK,    /* recv(MSG_PEEK), then recv: the same bytes read twice */
	RECVMSG_PEEK, /* recvmsg(MSG_PEEK), then recvmsg */
	SPLIT,        /* the first 3 bytes, then the rest: no read starts a request line */
	PIPE,         /* read(2) from a pipe */
	MEMFD,        /* read(2) from a file */
};

static const struct rcase {
	const char *name;
	enum how how;
	const char *bytes;
	int counted;
} cases[] = {
    {"read GET", READ, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1},
    {"recv POST", RECV, "POST /form HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1},
    {"readv PUT", READV, "PUT /x HTTP/1.1\r\n\r\n", 1},
    {"recvmsg DELETE", RECVMSG, "DELETE /x HTTP/1.1\r\n\r\n", 1},
    {"HEAD", RECV, "HEAD / HTTP/1.0\r\n\r\n", 1},
    {"PATCH", READ, "PATCH /p HTTP/1.1\r\n\r\n", 1},
    {"TRACE", RECV, "TRACE / HTTP/1.1\r\n\r\n", 1},
    {"OPTIONS *", RECV, "OPTIONS * HTTP/1.1\r\n\r\n", 1},
    {"absolute-form", RECV, "GET http://example.com/ HTTP/1.1\r\n\r\n", 1},
    {"OPTIONS absolute-form", READ, "OPTIONS http://example.com/ HTTP/1.1\r\n\r\n", 1},
    {"CONNECT", RECV, "CONNECT example.com:443 HTTP/1.1\r\n\r\n", 1},
    {"5 bytes", RECV, "GET /", 1},
    {"pipelined, one read", RECV, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1},
    {"recv peeked", RECV_PEEK, "GET /peek HTTP/1.1\r\n\r\n", 1},
    {"recvmsg peeked", RECVMSG_PEEK, "GET /peek HTTP/1.1\r\n\r\n", 1},
    {"response", READ, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
    {"lower case", RECV, "get / HTTP/1.1\r\n\r\n", 0},
    {"unknown method", RECV, "GETX / HTTP/1.1\r\n\r\n", 0},
    {"two spaces", RECV, "GET  / HTTP/1.1\r\n\r\n", 0},
    {"not a URL", RECV, "GET ftp://x HTTP/1.1\r\n\r\n", 0},
    {"HTTP/2 preface", RECV, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0},
    {"TLS ClientHello", READ, "\x16\x03\x01\x02\x31\x01\x02\x02\x2d\x03\x03", 0},
    {"split after the method", SPLIT, "GET / HTTP/1.1\r\n\r\n", 0},
    {"pipe", PIPE, "GET / HTTP/1.1\r\n\r\n", 0},
    {"memfd", MEMFD, "GET / HTTP/1.1\r\n\r\n", 0},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* A connected loopback TCP pair: *tx writes, *rx reads. */
static void tcp_pair(int *tx, int *rx)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		wl_die("listen");
	*tx = socket(AF_INET, SOCK_STREAM, 0);
	if (*tx < 0 || connect(*tx, (struct sockaddr *)&a, sizeof(a)))
		wl_die("connect");
	*rx = accept(l, NULL, NULL);
	if (*rx < 0)
		wl_die("accept");
	close(l);
}

static ssize_t recv_msg(int fd, char *buf, size_t len, int flags)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	return recvmsg(fd, &m, flags);
}

/* Send c's bytes and read them back as c says; every byte must arrive. */
static void run_case(const struct rcase *c, int tx, int rx)
{
	size_t len = strlen(c->bytes);
	struct iovec iov;
	char buf[256];
	ssize_t n = -1;
	int p[2], fd;

	switch (c->how) {
	case PIPE:
		if (pipe(p) || write(p[1], c->bytes, len) != (ssize_t)len)
			wl_die("pipe");
		n = read(p[0], buf, sizeof(buf));
		close(p[0]);
		close(p[1]);
		break;
	case MEMFD:
		fd = memfd_create("request", 0);
		if (fd < 0 || write(fd, c->bytes, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET))
			wl_die("memfd");
		n = read(fd, buf, sizeof(buf));
		close(fd);
		break;
	default:
		if (write(tx, c->bytes, len) != (ssize_t)len)
			wl_die("write");
		break;
	}
	switch (c->how) {
	case READ:
		n = read(rx, buf, sizeof(buf));
		break;
	case RECV:
		n = recv(rx, buf, sizeof(buf), 0);
		break;
	case READV:
		iov = (struct iovec){.iov_base = buf, .iov_len = sizeof(buf)};
		n = readv(rx, &iov, 1);
		break;
	case RECVMSG:
		n = recv_msg(rx, buf, sizeof(buf), 0);
		break;
	case RECV_PEEK:
		if (recv(rx, buf, sizeof(buf), MSG_PEEK) != (ssize_t)len)
			wl_fail("MSG_PEEK: short");
		n = recv(rx, buf, sizeof(buf), 0);
		break;
	case RECVMSG_PEEK:
		if (recv_msg(rx, buf, sizeof(buf), MSG_PEEK) != (ssize_t)len)
			wl_fail("MSG_PEEK: short");
		n = recv_msg(rx, buf, sizeof(buf), 0);
		break;
	case SPLIT:
		if (recv(rx, buf, 3, 0) != 3)
			wl_fail("split: short");
		n = 3 + recv(rx, buf, sizeof(buf), 0);
		break;
	case PIPE:
	case MEMFD:
		break;
	}
	if (n != (ssize_t)len) {
		fprintf(stderr, "workload: case '%s': read %zd of %zu bytes\n", c->name, n, len);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct wl_opts o;
	char line[64];
	size_t i;
	int tx, rx, expect = 0;

	wl_block_signals();
	wl_parse_args(argc, argv, &o, 0);
	tcp_pair(&tx, &rx);
	wl_ready();
	wl_wait_start();
	for (i = 0; i < NCASES; i++) {
		run_case(&cases[i], tx, rx);
		expect += cases[i].counted;
	}
	snprintf(line, sizeof(line), "expect %d", expect);
	wl_say(line);
	return wl_finish(o.exit_after);
}
