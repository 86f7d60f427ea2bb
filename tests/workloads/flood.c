// SPDX-License-Identifier: GPL-2.0
/* flood: open TCP connections to 127.0.0.1:PORT as fast as it can for SECONDS, never
 * sending a byte, keeping the newest 900 open (a test of agentleak's /metrics server
 * under a connection flood). Prints the number of connections tried.
 *
 * Usage: flood PORT SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>
#include <fcntl.h>
int main(int argc, char **argv)
{
	int port, secs, keep = 900, n = 0, i = 0;
	int *fds;

	if (argc != 3) {
		fprintf(stderr, "usage: flood PORT SECONDS\n");
		return 2;
	}
	port = atoi(argv[1]);
	secs = atoi(argv[2]);
	fds = calloc(keep, sizeof(int));
	if (!fds)
		return 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	time_t end = time(NULL) + secs;
	while (time(NULL) < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fd, (void *)&a, sizeof(a));
		if (fds[i])
			close(fds[i]);
		fds[i] = fd;
		i = (i + 1) % keep;
		n++;
	}
	printf("%d connections\n", n);
	return 0;
}
