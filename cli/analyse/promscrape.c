// SPDX-License-Identifier: GPL-2.0
/* promscrape.c - read a counter from an application's Prometheus endpoint (see promscrape.h).
 *
 * One plain HTTP GET per fetch: a non-blocking socket, every wait a poll() bounded
 * by one deadline for the whole exchange. The response is read until the server
 * closes, or until Content-Length or the last chunk says it is complete, and is
 * never allowed past PROM_MAX_RESPONSE. The body goes to prom_sum(), a line-by-line
 * parser of the text exposition format that only checks the lines it sums.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "analyse/promscrape.h"
#include "base/errbuf.h"

#define NAME_MAX_LEN 200
#define PATH_MAX_LEN 1024

struct prom_source {
	struct sockaddr_storage addr[2]; /* "localhost" tries 127.0.0.1, then ::1 */
	socklen_t addrlen[2];
	int naddr;
	char hostport[64]; /* "127.0.0.1:8000", "[::1]:9090": Host header and messages */
	char path[PATH_MAX_LEN + 1];
	char name[NAME_MAX_LEN + 1];
};

/* A response being read: data[0..len), NUL-terminated. */
struct response {
	char *data;
	size_t len, cap;
	size_t scanned; /* header end searched up to here */
	size_t hdr_len; /* bytes of status line + headers, 0 until complete */
	long long clen; /* Content-Length, -1 when absent */
	int chunked;    /* Transfer-Encoding: chunked */
	int status;     /* HTTP status code */
};

/* ---- Parsing the exposition format ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == ':';
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && is_blank(*s))
		s++;
	return s;
}

/* s is at an opening '"'; returns just past the closing one, NULL if there is none. */
static const char *skip_quoted(const char *s, const char *end)
{
	for (s++; s < end; s++) {
		if (*s == '\\') {
			if (++s == end)
				return NULL;
		} else if (*s == '"') {
			return s + 1;
		}
	}
	return NULL;
}

/* s is just past '{'; returns just past the matching '}', NULL when malformed. */
static const char *skip_labels(const char *s, const char *end)
{
	const char *start;

	for (;;) {
		s = skip_blanks(s, end);
		if (s < end && *s == '}')
			return s + 1; /* empty set, or a trailing comma */
		start = s;
		while (s < end && is_name_char(*s))
			s++;
		if (s == start)
			return NULL;
		s = skip_blanks(s, end);
		if (s == end || *s != '=')
			return NULL;
		s = skip_blanks(s + 1, end);
		if (s == end || *s != '"')
			return NULL;
		s = skip_quoted(s, end);
		if (!s)
			return NULL;
		s = skip_blanks(s, end);
		if (s == end)
			return NULL;
		if (*s == '}')
			return s + 1;
		if (*s != ',')
			return NULL;
		s++;
	}
}

/* A sample value or timestamp: decimal/scientific notation, [+-]Inf, NaN. */
static int parse_number(const char *s, size_t n, double *v)
{
	char buf[64], *end;
	size_t i;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcasecmp(buf, "+Inf") || !strcasecmp(buf, "Inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!strcasecmp(buf, "-Inf")) {
		*v = -INFINITY;
		return 0;
	}
	if (!strcasecmp(buf, "NaN")) {
		*v = NAN;
		return 0;
	}
	/* strtod alone would also take hex, "infinity" and "nan(...)" */
	for (i = 0; i < n; i++)
		if (!strchr("0123456789.eE+-", buf[i]))
			return -1;
	*v = strtod(buf, &end);
	return end == buf + n ? 0 : -1;
}

static const char *token_end(const char *s, const char *end)
{
	while (s < end && !is_blank(*s))
		s++;
	return s;
}

/* One line without its end of line. Returns 1 with *v for a sample of `name`,
 * 0 for any other line, -1 for a malformed sample of `name`.
 */
static int parse_line(const char *s, const char *end, const char *name, size_t namelen, double *v)
{
	const char *start, *t;
	double ts;

	s = skip_blanks(s, end);
	if (s == end || *s == '#')
		return 0;
	start = s;
	while (s < end && is_name_char(*s))
		s++;
	if ((size_t)(s - start) != namelen || memcmp(start, name, namelen))
		return 0;
	if (s < end && !is_blank(*s) && *s != '{')
		return 0; /* a longer name in some syntax we do not know: not ours */
	s = skip_blanks(s, end);
	if (s < end && *s == '{') {
		s = skip_labels(s + 1, end);
		if (!s)
			return -1;
		s = skip_blanks(s, end);
	}
	t = token_end(s, end);
	if (parse_number(s, t - s, v))
		return -1;
	s = skip_blanks(t, end);
	if (s == end || *s == '#') /* OpenMetrics exemplar: "# {trace_id=...} 1" */
		return 1;
	t = token_end(s, end);
	if (parse_number(s, t - s, &ts)) /* the optional timestamp */
		return -1;
	s = skip_blanks(t, end);
	return s == end || *s == '#' ? 1 : -1;
}

int prom_sum(const char *text, size_t len, const char *name, double *sum)
{
	const char *s = text, *end = text + len, *nl, *e;
	size_t namelen;
	double v, total = 0;
	int n = 0, r;

	if (sum)
		*sum = 0;
	if (!name || !*name || !sum || (!text && len))
		return -1;
	namelen = strlen(name);
	while (s < end) {
		nl = memchr(s, '\n', end - s);
		e = nl ? nl : end;
		while (e > s && e[-1] == '\r')
			e--;
		r = parse_line(s, e, name, namelen, &v);
		if (r < 0)
			return -1;
		if (r) {
			total += v;
			n++;
		}
		s = nl ? nl + 1 : end;
	}
	*sum = total;
	return n;
}

double prom_counter_update(struct prom_counter *c, double raw)
{
	if (!c)
		return raw;
	if (isnan(raw))
		return c->have ? c->last + c->offset : c->offset;
	if (c->have && raw < c->last) {
		c->offset += c->last;
		c->resets++;
	}
	c->have = 1;
	c->last = raw;
	return raw + c->offset;
}

/* ---- The spec ---- */

static int parse_metric_name(struct prom_source *p, const char *s, char *err, size_t errlen)
{
	size_t i, n = strlen(s);

	if (n == 0) {
		err_set(err, errlen, "no metric name after the last ':' (expected URL:NAME)");
		return -1;
	}
	if (n > NAME_MAX_LEN) {
		err_set(err, errlen, "metric name too long");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!is_name_char(s[i]) || (i == 0 && s[i] >= '0' && s[i] <= '9')) {
			err_set(err, errlen, "bad metric name '%s'", s);
			return -1;
		}
	}
	memcpy(p->name, s, n + 1);
	return 0;
}

static void add_addr(struct prom_source *p, int family, const void *ip, unsigned port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&p->addr[p->naddr];
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->addr[p->naddr];

	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, ip, sizeof(in->sin_addr));
		p->addrlen[p->naddr] = sizeof(*in);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, ip, sizeof(in6->sin6_addr));
		p->addrlen[p->naddr] = sizeof(*in6);
	}
	p->naddr++;
}

/* host is the text between "http://" and ":PORT", brackets included. */
static int parse_host(struct prom_source *p, const char *host, size_t n, unsigned port, char *err,
                      size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[64];

	if (n == 0) {
		err_set(err, errlen, "no host in URL");
		return -1;
	}
	if (n >= sizeof(buf) - 8)
		goto bad;
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']')
			goto bad;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			goto bad;
		add_addr(p, AF_INET6, &a6, port);
	} else {
		memcpy(buf, host, n);
		buf[n] = '\0';
		if (!strcasecmp(buf, "localhost")) {
			inet_pton(AF_INET, "127.0.0.1", &a4);
			add_addr(p, AF_INET, &a4, port);
			inet_pton(AF_INET6, "::1", &a6);
			add_addr(p, AF_INET6, &a6, port);
		} else if (inet_pton(AF_INET, buf, &a4) == 1) {
			add_addr(p, AF_INET, &a4, port);
		} else {
			goto bad;
		}
	}
	snprintf(p->hostport, sizeof(p->hostport), "%.*s:%u", (int)n, host, port);
	return 0;
bad:
	err_set(err, errlen,
	        "bad host '%.*s': use an IPv4 address, localhost or [IPv6] (no DNS lookups)",
	        (int)(n > 60 ? 60 : n), host);
	return -1;
}

static int parse_url(struct prom_source *p, const char *url, size_t len, char *err, size_t errlen)
{
	const char *s, *end = url + len, *host, *hend, *port;
	unsigned long val = 0;

	if (len >= 8 && !strncasecmp(url, "https://", 8)) {
		err_set(err, errlen, "https is not supported: give a plain http:// URL");
		return -1;
	}
	if (len < 7 || strncasecmp(url, "http://", 7)) {
		err_set(err, errlen,
		        "URL must start with http:// (expected http://HOST:PORT/PATH:NAME)");
		return -1;
	}
	host = url + 7;
	if (host < end && *host == '[') {
		hend = memchr(host, ']', end - host);
		hend = hend ? hend + 1 : end;
	} else {
		for (hend = host; hend < end && *hend != ':' && *hend != '/'; hend++)
			;
	}
	if (hend == end || *hend != ':') {
		err_set(err, errlen, "no port in URL (expected http://HOST:PORT/PATH)");
		return -1;
	}
	for (s = port = hend + 1; s < end && *s != '/'; s++) {
		if (*s < '0' || *s > '9' || val > 65535)
			break;
		val = val * 10 + (*s - '0');
	}
	if (s == port || (s < end && *s != '/') || val == 0 || val > 65535) {
		for (s = port; s < end && *s != '/' && s - port < 20; s++)
			;
		err_set(err, errlen, "bad port '%.*s' in URL", (int)(s - port), port);
		return -1;
	}
	if (parse_host(p, host, hend - host, val, err, errlen))
		return -1;
	if (s == end) {
		strcpy(p->path, "/");
		return 0;
	}
	if (end - s > PATH_MAX_LEN) {
		err_set(err, errlen, "URL path too long");
		return -1;
	}
	for (port = s; port < end; port++) {
		if ((unsigned char)*port <= ' ' || (unsigned char)*port >= 0x7f) {
			err_set(err, errlen, "URL path contains a space or control character");
			return -1;
		}
	}
	memcpy(p->path, s, end - s);
	p->path[end - s] = '\0';
	return 0;
}

struct prom_source *prom_open(const char *spec, char *err, size_t errlen)
{
	struct prom_source *p;
	const char *colon;

	if (!spec || !*spec) {
		err_set(err, errlen, "empty metric spec (expected URL:NAME)");
		return NULL;
	}
	colon = strrchr(spec, ':');
	if (!colon) {
		err_set(err, errlen, "metric spec '%.60s' is not URL:NAME", spec);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_metric_name(p, colon + 1, err, errlen) ||
	    parse_url(p, spec, colon - spec, err, errlen)) {
		free(p);
		return NULL;
	}
	return p;
}

void prom_close(struct prom_source *p)
{
	free(p);
}

/* ---- HTTP ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* Returns a connected socket, or -1 with err set. *refused says another address may be tried. */
static int connect_addr(struct prom_source *p, int i, long long deadline, int timeout_ms,
                        int *refused, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->addr[i];
	socklen_t len = sizeof(int);
	int fd, r, soerr = 0;

	*refused = 0;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_set(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, p->addrlen[i]) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0) {
			err_set(err, errlen, "timed out after %d ms connecting to %s", timeout_ms,
			        p->hostport);
			goto fail;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
	} else {
		soerr = errno;
	}
	if (soerr == 0)
		return fd;
	if (soerr == ECONNREFUSED) {
		*refused = 1;
		err_set(err, errlen, "connection refused by %s (is the metrics endpoint up?)",
		        p->hostport);
	} else {
		err_set(err, errlen, "cannot connect to %s: %s", p->hostport, strerror(soerr));
	}
fail:
	close(fd);
	return -1;
}

static int send_request(int fd, struct prom_source *p, long long deadline, int timeout_ms,
                        char *err, size_t errlen)
{
	char req[PATH_MAX_LEN + 256];
	ssize_t w;
	int n, off = 0;

	n = snprintf(req, sizeof(req),
	             "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: agentleak\r\n"
	             "Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n",
	             p->path, p->hostport);
	while (off < n) {
		w = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			err_set(err, errlen, "cannot send the request to %s: %s", p->hostport,
			        strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) == 0) {
			err_set(err, errlen, "timed out after %d ms sending to %s", timeout_ms,
			        p->hostport);
			return -1;
		}
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Walks a chunked body s[0..n). With out (may be s), copies the data there.
 * Returns the data length once the last chunk is seen, -2 when more bytes are
 * needed, -1 when malformed.
 */
static long long dechunk(const char *s, size_t n, char *out)
{
	const char *lf;
	size_t i = 0, o = 0, size;
	int digits;

	for (;;) {
		for (size = 0, digits = 0; i < n && hexval(s[i]) >= 0; i++, digits++) {
			size = size * 16 + hexval(s[i]);
			if (size > PROM_MAX_RESPONSE)
				return -1;
		}
		if (i == n)
			return -2;
		if (!digits)
			return -1;
		lf = memchr(s + i, '\n', n - i); /* past any chunk extension */
		if (!lf)
			return -2;
		i = lf - s + 1;
		if (size == 0)
			break;
		if (n - i < size + 1)
			return -2;
		if (out)
			memmove(out + o, s + i, size);
		o += size;
		i += size;
		if (s[i] == '\r')
			i++;
		if (i == n)
			return -2;
		if (s[i++] != '\n')
			return -1;
	}
	for (;;) { /* trailer fields, up to an empty line */
		lf = memchr(s + i, '\n', n - i);
		if (!lf)
			return -2;
		if (lf == s + i || (lf == s + i + 1 && s[i] == '\r'))
			return o;
		i = lf - s + 1;
	}
}

static int header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) || line[n] != ':')
		return 0;
	for (line += n + 1; is_blank(*line); line++)
		;
	*value = line;
	return 1;
}

/* The header block r->data[0..r->hdr_len) is complete: read status and framing. */
static int parse_headers(struct response *r, struct prom_source *p, char *err, size_t errlen)
{
	const char *line = r->data, *v, *end = r->data + r->hdr_len;
	char *e;

	if (r->hdr_len < 12 || strncmp(line, "HTTP/1.", 7) || line[8] != ' ') {
		err_set(err, errlen, "%s did not send an HTTP/1 response", p->hostport);
		return -1;
	}
	r->status = (int)strtol(line + 9, &e, 10);
	if (e == line + 9) {
		err_set(err, errlen, "bad HTTP status line from %s", p->hostport);
		return -1;
	}
	while ((line = memchr(line, '\n', end - line)) && ++line < end) {
		if (header_is(line, "Content-Length", &v)) {
			r->clen = strtoll(v, &e, 10);
			if (e == v || r->clen < 0) {
				err_set(err, errlen, "bad Content-Length from %s", p->hostport);
				return -1;
			}
		} else if (header_is(line, "Transfer-Encoding", &v)) {
			r->chunked = !strncasecmp(v, "chunked", 7);
		} else if (header_is(line, "Content-Encoding", &v)) {
			if (strncasecmp(v, "identity", 8)) {
				err_set(err, errlen, "%s sent a compressed response", p->hostport);
				return -1;
			}
		}
	}
	if (r->status != 200) {
		err_set(err, errlen, "HTTP status %d from http://%s%s", r->status, p->hostport,
		        p->path);
		return -1;
	}
	if (r->clen > PROM_MAX_RESPONSE) {
		err_set(err, errlen, "response from %s is larger than %d MiB", p->hostport,
		        PROM_MAX_RESPONSE >> 20);
		return -1;
	}
	return 0;
}

/* Look for the blank line ending the headers in the bytes read since the last call. */
static void find_header_end(struct response *r)
{
	size_t i = r->scanned > 3 ? r->scanned - 3 : 0;

	for (; i < r->len; i++) {
		if (r->data[i] != '\n')
			continue;
		if (i + 1 < r->len && r->data[i + 1] == '\n') {
			r->hdr_len = i + 2;
			break;
		}
		if (i + 2 < r->len && r->data[i + 1] == '\r' && r->data[i + 2] == '\n') {
			r->hdr_len = i + 3;
			break;
		}
	}
	r->scanned = r->len;
}

/* 1 when the body is complete by its framing (not only at end of file). */
static int body_complete(const struct response *r)
{
	size_t body = r->len - r->hdr_len;

	if (r->clen >= 0)
		return body >= (size_t)r->clen;
	if (r->chunked)
		return dechunk(r->data + r->hdr_len, body, NULL) >= 0;
	return 0;
}

static int grow(struct response *r)
{
	size_t cap = r->cap ? r->cap * 2 : 64 * 1024;
	char *d;

	if (cap > PROM_MAX_RESPONSE + 2)
		cap = PROM_MAX_RESPONSE + 2; /* one byte too many, and the NUL */
	d = realloc(r->data, cap);
	if (!d)
		return -1;
	r->data = d;
	r->cap = cap;
	return 0;
}

/* n more bytes were read to r->data + r->len: the header block once complete, then the
 * framing. Returns 1 when the response is complete, 0 when more is needed, -1 with err
 * set. No I/O: tests/fuzz/fuzz_promresp.c feeds it. */
static int response_add(struct response *r, size_t n, struct prom_source *p, char *err,
                        size_t errlen)
{
	r->len += n;
	r->data[r->len] = '\0';
	if (r->len > PROM_MAX_RESPONSE) {
		err_set(err, errlen, "response from %s is larger than %d MiB", p->hostport,
		        PROM_MAX_RESPONSE >> 20);
		return -1;
	}
	if (!r->hdr_len) {
		find_header_end(r);
		if (r->hdr_len && parse_headers(r, p, err, errlen))
			return -1;
	}
	return r->hdr_len && body_complete(r);
}

static int read_response(int fd, struct response *r, struct prom_source *p, long long deadline,
                         int timeout_ms, char *err, size_t errlen)
{
	ssize_t n;
	int ret;

	for (;;) {
		if (r->len + 1 >= r->cap && grow(r)) {
			err_set(err, errlen, "out of memory");
			return -1;
		}
		n = read(fd, r->data + r->len, r->cap - 1 - r->len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				err_set(err, errlen, "cannot read from %s: %s", p->hostport,
				        strerror(errno));
				return -1;
			}
			ret = wait_fd(fd, POLLIN, deadline);
			if (ret == 0)
				err_set(err, errlen, "timed out after %d ms waiting for %s%s",
				        timeout_ms, p->hostport, r->len ? " to finish" : "");
			else if (ret < 0)
				err_set(err, errlen, "poll: %s", strerror(errno));
			if (ret <= 0)
				return -1;
			continue;
		}
		ret = response_add(r, n, p, err, errlen);
		if (ret < 0)
			return -1;
		if (ret)
			break;
	}
	if (!r->hdr_len) {
		err_set(err, errlen, "%s closed the connection before a full HTTP response",
		        p->hostport);
		return -1;
	}
	return 0;
}

/* Leaves the body at r->data[r->hdr_len], r->len - r->hdr_len bytes. */
static int unframe_body(struct response *r, struct prom_source *p, char *err, size_t errlen)
{
	size_t body = r->len - r->hdr_len;
	long long n;

	if (r->clen >= 0) {
		if (body < (size_t)r->clen) {
			err_set(err, errlen, "truncated response from %s", p->hostport);
			return -1;
		}
		r->len = r->hdr_len + r->clen;
	} else if (r->chunked) {
		n = dechunk(r->data + r->hdr_len, body, r->data + r->hdr_len);
		if (n < 0) {
			err_set(err, errlen, "%s chunked response from %s",
			        n == -2 ? "truncated" : "malformed", p->hostport);
			return -1;
		}
		r->len = r->hdr_len + n;
	}
	return 0;
}

static int get_page(struct prom_source *p, int timeout_ms, struct response *r, char *err,
                    size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	int fd = -1, i, refused = 0, ret;

	for (i = 0; i < p->naddr; i++) {
		fd = connect_addr(p, i, deadline, timeout_ms, &refused, err, errlen);
		if (fd >= 0 || !refused)
			break;
	}
	if (fd < 0)
		return -1;
	ret = send_request(fd, p, deadline, timeout_ms, err, errlen);
	if (!ret)
		ret = read_response(fd, r, p, deadline, timeout_ms, err, errlen);
	if (!ret)
		ret = unframe_body(r, p, err, errlen);
	close(fd);
	return ret;
}

int prom_fetch(struct prom_source *p, int timeout_ms, double *value, char *err, size_t errlen)
{
	struct response r = {.clen = -1};
	double sum;
	int n, ret = -1;

	if (!p || !value) {
		err_set(err, errlen, "no metric source");
		return -1;
	}
	if (err && errlen)
		err[0] = '\0';
	if (timeout_ms <= 0) {
		err_set(err, errlen, "the fetch timeout must be positive");
		return -1;
	}
	if (get_page(p, timeout_ms, &r, err, errlen))
		goto out;
	n = prom_sum(r.data + r.hdr_len, r.len - r.hdr_len, p->name, &sum);
	if (n < 0)
		err_set(err, errlen, "unparsable sample of %s from http://%s%s", p->name,
		        p->hostport, p->path);
	else if (n == 0)
		err_set(err, errlen, "metric %s not found at http://%s%s", p->name, p->hostport,
		        p->path);
	else if (!isfinite(sum))
		err_set(err, errlen, "metric %s has a non-finite value (%g)", p->name, sum);
	else
		ret = 0;
	if (!ret) {
		*value = sum;
		if (err && errlen)
			err[0] = '\0'; /* localhost may have left "refused" from 127.0.0.1 */
	}
out:
	free(r.data);
	return ret;
}
