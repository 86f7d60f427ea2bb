/* SPDX-License-Identifier: GPL-2.0 */
/* httpd.h - a tiny non-blocking HTTP server for --listen: GET /metrics.
 *
 * One listening socket and at most HTTPD_MAX_CLIENTS connections, all
 * non-blocking, serviced from the caller's loop by httpd_service(): nothing ever
 * waits on a client, so a slow or hostile one cannot stall the tracing. Each
 * connection carries one request (HTTP/1.0 or 1.1, answered with Connection:
 * close):
 *   GET or HEAD /metrics[?...]   200, text/plain; version=0.0.4 (503 before the
 *                                first httpd_set_body())
 *   GET or HEAD of another path  404
 *   another method               405
 *   a malformed request line     400
 *   a head above 8 KiB           431
 * A client that has not sent its request head within 2 s, or has not taken its
 * answer and closed within 5 s of it being ready, is dropped (reset, so that its
 * unsent answer does not linger in the kernel); when all slots are taken a new
 * client replaces the oldest one still sending its request (or else the oldest).
 */
#ifndef AL_HTTPD_H
#define AL_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPD_MAX_CLIENTS 16
#define HTTPD_HEAD_MAX    8192 /* bytes of a request head, the blank line included */
#define HTTPD_HEAD_MS     2000 /* to send the request head, from accept */
#define HTTPD_ANSWER_MS   5000 /* to read the answer, from when it is ready */

struct httpd;

/* Listen on addr, [ADDR:]PORT:
 *   "9464"            127.0.0.1 (the default address: loopback only)
 *   ":9464"           every IPv4 address (as "0.0.0.0:9464")
 *   "127.0.0.1:9464", "0.0.0.0:9464", "localhost:9464"
 *   "[::1]:9464"      IPv6; "[::]:9464" every IPv6 address (and IPv4 when
 *                     net.ipv6.bindv6only is 0, Linux's default)
 * PORT 0 picks a free port (see httpd_port()). Returns NULL with a one-line
 * message in err: bad syntax, port out of range, address in use, permission
 * denied, address not on this machine, out of memory. */
struct httpd *httpd_open(const char *addr, char *err, size_t errlen);
void httpd_close(struct httpd *h);

/* The listening socket, for poll() in the main loop (POLLIN: a client is waiting). */
int httpd_fd(const struct httpd *h);

/* The port listened on (useful after port 0), -1 if unknown. */
int httpd_port(const struct httpd *h);

/* Publish the page served at /metrics; a copy is kept. Clients already being
 * answered keep the page they started with. Returns 0, -EINVAL or -ENOMEM. */
int httpd_set_body(struct httpd *h, const char *body, size_t len);

/* Accept new clients, read requests, write answers, drop clients past their time;
 * never blocks. Call it when poll() says httpd_fd() is readable and at least every
 * 100 ms (every 20 ms answers within ~20 ms). */
void httpd_service(struct httpd *h);

/* The status of a request from its head head[0..hlen) (what the client sent up to the
 * blank line; not NUL-terminated), by its line METHOD SP TARGET SP HTTP/1.x: 200,
 * 404, 405, or 400 (malformed, a NUL or control character, no line end); *head_only
 * for HEAD. Pure: httpd_service() answers with it, and the fuzzer calls it. */
int httpd_parse_request(const char *head, size_t hlen, bool *head_only);

#endif
