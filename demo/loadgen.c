// SPDX-License-Identifier: GPL-2.0
/* loadgen.c - a bounded HTTP/1.0 load generator for loopback tests and the demo.
 *
 * Sends COUNT requests (GET PATH, one connection each) to 127.0.0.1:PORT at up to
 * RATE requests per second (0: as fast as the server answers), then stops. Paths
 * may be a comma-separated list, used in turn. Never runs longer than MAX_SECONDS
 * (default 120). Prints "sent N ok M" at the end; exits 1 if any request failed.
 *
 * Usage: loadgen PORT PATHS COUNT [RATE [MAX_SECONDS]]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_request(int port, const char *path)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	char buf[512];
	int fd, n, ok = 0;

	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		n = snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
		if (write(fd, buf, n) == n && read(fd, buf, sizeof(buf)) > 12 &&
		    !strncmp(buf + 9, "200", 3))
			ok = 1;
	}
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	char *paths[64], *list, *tok;
	double rate, limit, start, t;
	long count, i, ok = 0;
	int port, npaths = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: loadgen PORT PATHS COUNT [RATE [MAX_SECONDS]]\n");
		return 2;
	}
	port = atoi(argv[1]);
	list = strdup(argv[2]);
	for (tok = strtok(list, ","); tok && npaths < 64; tok = strtok(NULL, ","))
		paths[npaths++] = tok;
	count = atol(argv[3]);
	rate = argc > 4 ? atof(argv[4]) : 0;
	limit = argc > 5 ? atof(argv[5]) : 120;
	if (port <= 0 || !npaths || count <= 0) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	start = now();
	for (i = 0; i < count; i++) {
		t = now();
		if (t - start > limit)
			break;
		if (rate > 0 && t < start + i / rate)
			usleep((useconds_t)((start + i / rate - t) * 1e6));
		ok += one_request(port, paths[i % npaths]);
	}
	printf("sent %ld ok %ld\n", i, ok);
	free(list);
	return ok == count ? 0 : 1;
}
