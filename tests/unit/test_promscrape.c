// SPDX-License-Identifier: GPL-2.0
/* test_promscrape.c - unit tests of cli/analyse/promscrape.c: Prometheus counters as the x axis.
 *
 * The parser on hand-written pages (prometheus_client and Go client styles and
 * the corner cases of the format), the URL:NAME spec, counter resets, and real
 * fetches from a small HTTP server forked by the test on 127.0.0.1 (and ::1 when
 * the machine has it), each on an ephemeral port. The server picks its canned
 * answer from the request path.
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "analyse/promscrape.h"

#include "check.h"

#define ERRLEN 256

/* What prometheus_client (Python) serves, by hand. */
static const char py_text[] =
    "# HELP python_gc_objects_collected_total Objects collected during gc\n"
    "# TYPE python_gc_objects_collected_total counter\n"
    "python_gc_objects_collected_total{generation=\"0\"} 296.0\n"
    "python_gc_objects_collected_total{generation=\"1\"} 17.0\n"
    "python_gc_objects_collected_total{generation=\"2\"} 0.0\n"
    "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
    "# TYPE process_virtual_memory_bytes gauge\n"
    "process_virtual_memory_bytes 1.86413312e+08\n"
    "# HELP http_requests_total Total HTTP requests\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{code=\"200\",method=\"GET\"} 1027.0\n"
    "http_requests_total{code=\"200\",method=\"POST\"} 3.0\n"
    "# HELP http_requests_created Total HTTP requests\n"
    "# TYPE http_requests_created gauge\n"
    "http_requests_created{code=\"200\",method=\"GET\"} 1.7123456789e+09\n"
    "http_requests_created{code=\"200\",method=\"POST\"} 1.7123456799e+09\n"
    "# HELP request_latency_seconds Latency\n"
    "# TYPE request_latency_seconds histogram\n"
    "request_latency_seconds_bucket{le=\"0.005\"} 1.0\n"
    "request_latency_seconds_bucket{le=\"0.01\"} 4.0\n"
    "request_latency_seconds_bucket{le=\"+Inf\"} 9.0\n"
    "request_latency_seconds_count 9.0\n"
    "request_latency_seconds_sum 0.0421\n";

/* What client_golang serves, by hand. */
static const char go_text[] =
    "# HELP go_gc_duration_seconds A summary of the pause duration of GC cycles.\n"
    "# TYPE go_gc_duration_seconds summary\n"
    "go_gc_duration_seconds{quantile=\"0\"} 2.5e-05\n"
    "go_gc_duration_seconds{quantile=\"0.5\"} 4.1e-05\n"
    "go_gc_duration_seconds{quantile=\"1\"} 0.000127\n"
    "go_gc_duration_seconds_sum 0.000345\n"
    "go_gc_duration_seconds_count 12\n"
    "# HELP go_goroutines Number of goroutines that currently exist.\n"
    "# TYPE go_goroutines gauge\n"
    "go_goroutines 8\n"
    "# HELP myapp_requests_total Requests handled.\n"
    "# TYPE myapp_requests_total counter\n"
    "myapp_requests_total{handler=\"/api\",code=\"200\"} 4.2e+06\n"
    "myapp_requests_total{handler=\"/api\",code=\"500\"} 17\n"
    "myapp_requests_total{handler=\"/health\",code=\"200\"} 1234\n"
    "# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status "
    "code.\n"
    "# TYPE promhttp_metric_handler_requests_total counter\n"
    "promhttp_metric_handler_requests_total{code=\"200\"} 5\n"
    "promhttp_metric_handler_requests_total{code=\"500\"} 0\n"
    "promhttp_metric_handler_requests_total{code=\"503\"} 0\n";

static int sum_of(const char *text, const char *name, double *sum)
{
	return prom_sum(text, strlen(text), name, sum);
}

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
}

static void test_client_styles(void)
{
	double s;
	int n;

	n = sum_of(py_text, "http_requests_total", &s);
	CHECK(n == 2 && near(s, 1030), "python style: http_requests_total = 1030 over 2 samples");
	n = sum_of(py_text, "http_requests_created", &s);
	CHECK(n == 2 && near(s, 1.7123456789e9 + 1.7123456799e9), "python style: _created apart");
	n = sum_of(py_text, "http_requests", &s);
	CHECK(n == 0 && s == 0, "python style: a prefix of a family name matches nothing");
	n = sum_of(py_text, "request_latency_seconds_count", &s);
	CHECK(n == 1 && near(s, 9), "python style: histogram _count");
	n = sum_of(py_text, "request_latency_seconds_bucket", &s);
	CHECK(n == 3 && near(s, 14), "python style: label value \"+Inf\" is just a label");
	n = sum_of(py_text, "process_virtual_memory_bytes", &s);
	CHECK(n == 1 && near(s, 1.86413312e8), "python style: unlabelled gauge, e+08");
	n = sum_of(go_text, "myapp_requests_total", &s);
	CHECK(n == 3 && near(s, 4.2e6 + 17 + 1234), "go style: counter over 3 label sets");
	n = sum_of(go_text, "go_gc_duration_seconds", &s);
	CHECK(n == 3 && near(s, 2.5e-5 + 4.1e-5 + 0.000127), "go style: summary quantiles only");
	n = sum_of(go_text, "go_gc_duration_seconds_count", &s);
	CHECK(n == 1 && near(s, 12), "go style: summary _count");
	n = sum_of(go_text, "promhttp_metric_handler_requests_total", &s);
	CHECK(n == 3 && near(s, 5), "go style: zeros count as samples");
	n = sum_of(go_text, "not_there", &s);
	CHECK(n == 0 && s == 0, "absent metric: 0 samples, sum 0");
}

static void test_prefixes(void)
{
	const char *t = "foo_total 10\n"
	                "foo 1\n"
	                "foo_bucket{le=\"1\"} 100\n"
	                "foo_sum 1000\n"
	                "foo{a=\"x\"} 2\n"
	                "foo_count 10000\n"
	                "foox 100000\n"
	                "job:foo:rate5m 7\n";
	double s;
	int n;

	n = sum_of(t, "foo", &s);
	CHECK(n == 2 && near(s, 3), "foo matches neither foo_total, foo_bucket, foo_sum nor foox");
	n = sum_of(t, "foo_total", &s);
	CHECK(n == 1 && near(s, 10), "foo_total alone");
	n = sum_of(t, "foo_bucket", &s);
	CHECK(n == 1 && near(s, 100), "foo_bucket alone");
	n = sum_of(t, "fo", &s);
	CHECK(n == 0, "a prefix of every name matches nothing");
	n = sum_of(t, "rate5m", &s);
	CHECK(n == 0, "a suffix of a colon name matches nothing");
}

static void test_labels(void)
{
	double s;
	int n;

	n = sum_of("foo{path=\"/a\\\"}b c\",x=\"\\\\\"} 2\nfoo{y=\"\\\\\\\"\"} 3\n", "foo", &s);
	CHECK(n == 2 && near(s, 5), "escaped quotes and backslashes, '}' and space in values");
	n = sum_of("foo{msg=\"line1\\nline2\"} 4\n", "foo", &s);
	CHECK(n == 1 && near(s, 4), "escaped newline in a label value");
	n = sum_of("foo{a=\"} 99\"} 1\n", "foo", &s);
	CHECK(n == 1 && near(s, 1), "a value-like '} 99' inside a label is not the value");
	n = sum_of("foo{} 4\nfoo{a=\"1\",} 5\nfoo { a = \"2\" } 6\n", "foo", &s);
	CHECK(n == 3 && near(s, 15), "empty label set, trailing comma, spaces around labels");
	n = sum_of("foo{a=\"#\"} 7 # comment-like tail\n", "foo", &s);
	CHECK(n == 1 && near(s, 7), "'#' in a label value and after the value");
	n = sum_of("foo{a=\"\"} 8\n", "foo", &s);
	CHECK(n == 1 && near(s, 8), "empty label value");
}

static void test_values(void)
{
	double s;
	int n;

	n = sum_of("foo 3 1712345678000\nfoo{a=\"b\"} 4 -5\n", "foo", &s);
	CHECK(n == 2 && near(s, 7), "timestamps after the value are ignored");
	n = sum_of("foo 1.5e3\nfoo 2E-3\nfoo -1e+2\nfoo .5\n", "foo", &s);
	CHECK(n == 4 && near(s, 1500 + 0.002 - 100 + 0.5),
	      "scientific notation, sign, leading dot");
	n = sum_of("foo +Inf\n", "foo", &s);
	CHECK(n == 1 && isinf(s) && s > 0, "+Inf");
	n = sum_of("foo -Inf\n", "foo", &s);
	CHECK(n == 1 && isinf(s) && s < 0, "-Inf");
	n = sum_of("foo NaN\n", "foo", &s);
	CHECK(n == 1 && isnan(s), "NaN");
	n = sum_of("foo 1\nfoo +Inf\nfoo -Inf\n", "foo", &s);
	CHECK(n == 3 && isnan(s), "+Inf plus -Inf is NaN, counted as 3 samples");
	n = sum_of("foo\t\t42\t\n", "foo", &s);
	CHECK(n == 1 && near(s, 42), "tabs as separators");
	n = sum_of("foo_total{a=\"1\"} 5 # {trace_id=\"abc\"} 1.0 1712345678.1\n# EOF\n",
	           "foo_total", &s);
	CHECK(n == 1 && near(s, 5), "OpenMetrics exemplar and # EOF");
	n = sum_of("foo 5 1712345678.125\n", "foo", &s);
	CHECK(n == 1 && near(s, 5), "OpenMetrics float timestamp");
}

static void test_lines(void)
{
	static const char raw[] = {'f', 'o', 'o', ' ', '7'}; /* no NUL after it */
	double s;
	int n;

	n = sum_of("# HELP foo The foo.\r\n# TYPE foo counter\r\nfoo{a=\"1\"} 1\r\nfoo 2\r\n",
	           "foo", &s);
	CHECK(n == 2 && near(s, 3), "CRLF line endings");
	n = sum_of("# foo 100\n#foo 200\n  # TYPE foo counter\nfoo 1\n", "foo", &s);
	CHECK(n == 1 && near(s, 1), "comment lines naming the metric are not samples");
	n = sum_of("\n\n   \nfoo 1\n\n  foo 2", "foo", &s);
	CHECK(n == 2 && near(s, 3), "blank lines, leading spaces, no final newline");
	n = prom_sum("foo 1\nfoo 2\n", 6, "foo", &s);
	CHECK(n == 1 && near(s, 1), "len bounds the text");
	n = prom_sum(raw, sizeof(raw), "foo", &s);
	CHECK(n == 1 && near(s, 7), "text not NUL-terminated");
	n = prom_sum("", 0, "foo", &s);
	CHECK(n == 0 && s == 0, "empty text");
	n = prom_sum(NULL, 0, "foo", &s);
	CHECK(n == 0, "NULL text of length 0");
	n = sum_of("bar{{{ 1\nbar 1 2 3\nbar\nfoo 1\n", "foo", &s);
	CHECK(n == 1 && near(s, 1), "malformed lines of other metrics are ignored");
}

static void test_malformed(void)
{
	static const char *bad[] = {
	    "foo{a=\"b\" 1\n",
	    "foo{a=\"b} 1\n",
	    "foo{a=b} 1\n",
	    "foo abc\n",
	    "foo\n",
	    "foo \n",
	    "foo{a=\"1\"}\n",
	    "foo 1 2 3\n",
	    "foo 0x10\n",
	    "foo 1e\n",
	    "foo infinity\n",
	    "foo 1,5\n",
	    "foo{=\"1\"} 1\n",
	    "foo{a=\"1\"b=\"2\"} 1\n",
	    "foo 1 tomorrow\n",
	};
	double s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(sum_of(bad[i], "foo", &s) == -1, "malformed: %.*s", (int)strlen(bad[i]) - 1,
		      bad[i]);
	CHECK(sum_of("foo 1\nfoo oops\nfoo 2\n", "foo", &s) == -1,
	      "one malformed sample fails the whole sum");
	CHECK(prom_sum("foo 1", 5, NULL, &s) == -1 && prom_sum("foo 1", 5, "", &s) == -1 &&
	          prom_sum("foo 1", 5, "foo", NULL) == -1 && prom_sum(NULL, 5, "foo", &s) == -1,
	      "NULL or empty arguments are refused");
}

static void test_counter(void)
{
	struct prom_counter c;
	double v;

	memset(&c, 0, sizeof(c));
	v = prom_counter_update(&c, 10);
	CHECK(v == 10 && c.resets == 0, "counter: first reading as is");
	v = prom_counter_update(&c, 20);
	CHECK(v == 20, "counter: grows");
	v = prom_counter_update(&c, 20);
	CHECK(v == 20 && c.resets == 0, "counter: equal reading is no reset");
	v = prom_counter_update(&c, 5);
	CHECK(v == 25 && c.resets == 1, "counter: reset to 5 continues at 25");
	v = prom_counter_update(&c, 15);
	CHECK(v == 35, "counter: keeps growing after the reset");
	v = prom_counter_update(&c, NAN);
	CHECK(v == 35 && c.resets == 1, "counter: NaN reading ignored");
	v = prom_counter_update(&c, 0);
	CHECK(v == 35 && c.resets == 2, "counter: second reset to 0");
	v = prom_counter_update(&c, 1);
	CHECK(v == 36, "counter: then 1 more");
	memset(&c, 0, sizeof(c));
	v = prom_counter_update(&c, 0);
	CHECK(v == 0 && c.have && c.resets == 0, "counter: first reading 0");
}

/* s with CR and LF spelled out, so that one check stays one output line. */
static const char *printable(const char *s)
{
	static char buf[256];
	size_t o = 0;

	for (; *s && o + 3 < sizeof(buf); s++) {
		if (*s == '\r' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\r' ? 'r' : 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void test_spec(void)
{
	static const char *good[] = {
	    "http://127.0.0.1:8000/metrics:http_requests_total",
	    "http://localhost:9090/metrics:x",
	    "http://LOCALHOST:9090/metrics:x",
	    "http://[::1]:9090/metrics:myapp_requests_total",
	    "http://[fe80::1:2]:80/:x",
	    "http://127.0.0.1:8000:foo",
	    "http://10.1.2.3:65535/a/b?c=d&e=f:_x9",
	    "HTTP://127.0.0.1:1/:x",
	};
	static const struct {
		const char *spec, *expect;
	} bad[] = {
	    {"http://127.0.0.1:8000/metrics:", "no metric name"},
	    {"http://127.0.0.1:8000/metrics", "bad metric name"},
	    {"https://127.0.0.1:8443/metrics:x", "https"},
	    {"http://127.0.0.1/metrics:x", "no port"},
	    {"http://127.0.0.1:foo", "no port"},
	    {"garbage", "not URL:NAME"},
	    {"", "empty"},
	    {"ftp://1.2.3.4:21/:x", "http://"},
	    {"127.0.0.1:8000/metrics:x", "http://"},
	    {"http://example.com:80/metrics:x", "bad host"},
	    {"http://1.2.3.4.5:80/:x", "bad host"},
	    {"http://:80/:x", "no host"},
	    {"http://127.0.0.1:99999/m:x", "bad port"},
	    {"http://127.0.0.1:0/m:x", "bad port"},
	    {"http://127.0.0.1:80x/m:x", "bad port"},
	    {"http://127.0.0.1:/m:x", "bad port"},
	    {"http://[::1/m:x", "no port"},
	    {"http://[zz::1]:80/m:x", "bad host"},
	    {"http://127.0.0.1:80/a b:x", "space"},
	    {"http://127.0.0.1:80/a\r\nX: y:x", "control"},
	    {"http://user@127.0.0.1:80/:x", "bad host"},
	    {"http://127.0.0.1:80/:9lives", "bad metric name"},
	    {"http://127.0.0.1:80/:a-b", "bad metric name"},
	};
	struct prom_source *p;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		p = prom_open(good[i], err, sizeof(err));
		CHECK(p != NULL, "spec accepted: %s%s%s", good[i], p ? "" : " -> ", err);
		prom_close(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		p = prom_open(bad[i].spec, err, sizeof(err));
		CHECK(!p && strstr(err, bad[i].expect), "spec refused: '%s' -> %s",
		      printable(bad[i].spec), err);
		prom_close(p);
	}
	p = prom_open(NULL, err, sizeof(err));
	CHECK(!p, "NULL spec refused: %s", err);
	p = prom_open("garbage", NULL, 0);
	CHECK(!p, "no error buffer is fine");
	prom_close(NULL);
}

/* ---- The test server ---- */

static const char metrics_body[] = "# HELP http_requests_total Requests.\n"
                                   "# TYPE http_requests_total counter\n"
                                   "http_requests_total{code=\"200\"} 40\n"
                                   "http_requests_total{code=\"500\"} 2\n";

#define HUGE_BYTES (9 << 20)

static void write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= w;
	}
}

static void send_str(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

static void send_ok(int fd, const char *body)
{
	char hdr[256];

	snprintf(hdr, sizeof(hdr),
	         "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	         strlen(body));
	send_str(fd, hdr);
	send_str(fd, body);
}

static void send_huge(int fd)
{
	static char line[] = "filler_metric{pad=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 1\n";
	size_t sent;

	send_str(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
	send_str(fd, metrics_body);
	for (sent = 0; sent < HUGE_BYTES; sent += sizeof(line) - 1)
		if (write(fd, line, sizeof(line) - 1) <= 0)
			return;
}

/* Answer one request; returns 1 to keep the connection open without closing it. */
static int answer(int fd, const char *req, int port)
{
	char path[128] = "", want[64];

	sscanf(req, "GET %127s", path);
	if (!strcmp(path, "/metrics") || !strcmp(path, "/")) {
		send_ok(fd, metrics_body);
	} else if (!strcmp(path, "/checkreq")) {
		snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", port);
		if (!strncmp(req, "GET /checkreq HTTP/1.", 21) && strstr(req, want) &&
		    strcasestr(req, "\r\nConnection: close\r\n"))
			send_ok(fd, "checked 1\n");
		else
			send_str(fd, "HTTP/1.0 400 Bad Request\r\n\r\n");
	} else if (!strcmp(path, "/noclen")) {
		send_str(fd, "HTTP/1.0 200 OK\n\nhttp_requests_total 5\n");
	} else if (!strcmp(path, "/keepalive")) {
		send_str(fd,
		         "HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\nhttp_requests_total 6\n");
		return 1;
	} else if (!strcmp(path, "/chunked")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		             "a\r\nhttp_reque\r\n"
		             "11;ext=1\r\nsts_total{a=\"1\"} \r\n"
		             "4\r\n7\nht\r\n"
		             "16\r\ntp_requests_total{} 8\n\r\n"
		             "0\r\n\r\n");
		return 1;
	} else if (!strcmp(path, "/badchunk")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	} else if (!strcmp(path, "/truncated")) {
		send_str(fd,
		         "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhttp_requests_total 6\n");
	} else if (!strcmp(path, "/slow")) {
		return 1;
	} else if (!strcmp(path, "/slowbody")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhttp_requests_total");
		return 1;
	} else if (!strcmp(path, "/huge")) {
		send_huge(fd);
	} else if (!strcmp(path, "/hugeclen")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 20000000\r\n\r\nhttp_req");
		return 1;
	} else if (!strcmp(path, "/nometric")) {
		send_ok(fd, "other_total 1\n");
	} else if (!strcmp(path, "/badvalue")) {
		send_ok(fd, "http_requests_total{code=\"200\"} forty\n");
	} else if (!strcmp(path, "/nan")) {
		send_ok(fd, "http_requests_total NaN\n");
	} else if (!strcmp(path, "/gzip")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b");
	} else if (!strcmp(path, "/notspeakinghttp")) {
		send_str(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
	} else if (!strcmp(path, "/closed")) {
		/* nothing: closed at once */
	} else {
		send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n");
	}
	return 0;
}

static void read_request(int fd, char *buf, size_t size)
{
	struct timeval tv = {.tv_sec = 2};
	size_t len = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf[0] = '\0';
	while (len + 1 < size && !strstr(buf, "\r\n\r\n")) {
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
	}
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A socket bound to an ephemeral port of the loopback address; listening unless told not. */
static int loopback_socket(int family, int do_listen)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	int fd;

	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
	                       : bind(fd, (struct sockaddr *)&a6, sizeof(a6))) ||
	    (do_listen && listen(fd, 64))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void serve(int *lfd, int nl)
{
	struct pollfd pfd[2];
	int held[64], nheld = 0, i, c;
	char req[4096];

	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (i = 0; i < nl; i++)
		pfd[i] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
	for (;;) {
		if (poll(pfd, nl, -1) <= 0)
			continue;
		for (i = 0; i < nl; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept(lfd[i], NULL, NULL);
			if (c < 0)
				continue;
			read_request(c, req, sizeof(req));
			if (!answer(c, req, local_port(c))) {
				close(c);
				continue;
			}
			if (nheld == 64) {
				close(held[0]);
				memmove(held, held + 1, --nheld * sizeof(held[0]));
			}
			held[nheld++] = c;
		}
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Open "http://HOST:PORT" + path + ":NAME" and fetch once. -2 when the spec is refused. */
static int fetch(const char *host, int port, const char *path, const char *name, int timeout_ms,
                 double *v, char *err, long long *elapsed)
{
	struct prom_source *p;
	char spec[256];
	long long t0;
	int r;

	snprintf(spec, sizeof(spec), "http://%s:%d%s:%s", host, port, path, name);
	err[0] = '\0';
	*v = -1;
	p = prom_open(spec, err, ERRLEN);
	if (!p)
		return -2;
	t0 = now_ms();
	r = prom_fetch(p, timeout_ms, v, err, ERRLEN);
	if (elapsed)
		*elapsed = now_ms() - t0;
	prom_close(p);
	return r;
}

static void test_fetch_errors(int port)
{
	char err[ERRLEN];
	long long ms;
	double v;
	int r;

	r = fetch("127.0.0.1", port, "/missing", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "HTTP status 404"), "404: %s", err);
	r = fetch("127.0.0.1", port, "/nometric", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "not found"), "metric absent: %s", err);
	r = fetch("127.0.0.1", port, "/badvalue", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "unparsable"), "bad value: %s", err);
	r = fetch("127.0.0.1", port, "/nan", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "non-finite"), "NaN counter: %s", err);
	r = fetch("127.0.0.1", port, "/slow", "http_requests_total", 300, &v, err, &ms);
	CHECK(r == -1 && strstr(err, "timed out") && ms >= 290 && ms <= 400,
	      "no answer: %s after %lld ms (timeout 300)", err, ms);
	r = fetch("127.0.0.1", port, "/slowbody", "http_requests_total", 300, &v, err, &ms);
	CHECK(r == -1 && strstr(err, "timed out") && ms >= 290 && ms <= 400,
	      "body stalls: %s after %lld ms (timeout 300)", err, ms);
	r = fetch("127.0.0.1", port, "/huge", "http_requests_total", 10000, &v, err, &ms);
	CHECK(r == -1 && strstr(err, "larger than 8 MiB"), "9 MiB streamed: %s (%lld ms)", err, ms);
	r = fetch("127.0.0.1", port, "/hugeclen", "http_requests_total", 2000, &v, err, &ms);
	CHECK(r == -1 && strstr(err, "larger than 8 MiB") && ms < 1000,
	      "Content-Length over 8 MiB fails at once: %s", err);
	r = fetch("127.0.0.1", port, "/truncated", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "truncated"), "short body: %s", err);
	r = fetch("127.0.0.1", port, "/badchunk", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "chunked"), "bad chunk: %s", err);
	r = fetch("127.0.0.1", port, "/gzip", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "compressed"), "gzip: %s", err);
	r = fetch("127.0.0.1", port, "/notspeakinghttp", "http_requests_total", 2000, &v, err,
	          NULL);
	CHECK(r == -1 && strstr(err, "HTTP"), "not HTTP: %s", err);
	r = fetch("127.0.0.1", port, "/closed", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "closed the connection"), "closed at once: %s", err);
	r = fetch("127.0.0.1", port, "/metrics", "http_requests_total", 0, &v, err, NULL);
	CHECK(r == -1 && strstr(err, "timeout"), "zero timeout refused: %s", err);
	r = prom_fetch(NULL, 100, &v, err, ERRLEN);
	CHECK(r == -1, "NULL source refused: %s", err);
}

static void test_fetch_refused(void)
{
	char err[ERRLEN];
	long long ms;
	double v;
	int fd, port, r;

	fd = loopback_socket(AF_INET, 0); /* bound, never listening: connect is refused */
	port = local_port(fd);
	r = fetch("127.0.0.1", port, "/metrics", "http_requests_total", 1000, &v, err, &ms);
	CHECK(r == -1 && strstr(err, "connection refused") && ms < 500, "closed port: %s (%lld ms)",
	      err, ms);
	close(fd);
}

static void test_fetch_ok(int port)
{
	char err[ERRLEN];
	long long ms;
	double v;
	int r;

	r = fetch("127.0.0.1", port, "/metrics", "http_requests_total", 2000, &v, err, &ms);
	CHECK(r == 0 && v == 42, "fetch: sum 42 over label sets (%s, %lld ms)", err, ms);
	r = fetch("127.0.0.1", port, "", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 42, "fetch: no path means / %s", err);
	r = fetch("localhost", port, "/metrics", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 42, "fetch: localhost %s", err);
	r = fetch("127.0.0.1", port, "/checkreq", "checked", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 1, "fetch: request line, Host and Connection: close %s", err);
	r = fetch("127.0.0.1", port, "/noclen", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 5, "fetch: HTTP/1.0, no Content-Length, LF-only headers %s", err);
	r = fetch("127.0.0.1", port, "/keepalive", "http_requests_total", 2000, &v, err, &ms);
	CHECK(r == 0 && v == 6 && ms < 1000,
	      "fetch: stops at Content-Length though the server keeps the connection %s", err);
	r = fetch("127.0.0.1", port, "/chunked", "http_requests_total", 2000, &v, err, &ms);
	CHECK(r == 0 && v == 15 && ms < 1000, "fetch: chunked, ends at the last chunk %s", err);
}

static void test_fetch_ipv6(int port6)
{
	char err[ERRLEN];
	double v;
	int r;

	if (port6 < 0) {
		SKIP("no ::1 on this machine");
		return;
	}
	r = fetch("[::1]", port6, "/metrics", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 42, "fetch: [::1] %s", err);
	/* Nothing listens on 127.0.0.1 at that port (almost surely): localhost falls back. */
	r = fetch("localhost", port6, "/metrics", "http_requests_total", 2000, &v, err, NULL);
	CHECK(r == 0 && v == 42 && !err[0],
	      "fetch: localhost falls back to ::1 when 127.0.0.1 refuses %s", err);
}

static void test_fetch(void)
{
	int lfd[2], nl = 0, port, port6 = -1, status;
	pid_t pid;

	lfd[nl++] = loopback_socket(AF_INET, 1);
	if (lfd[0] < 0) {
		CHECK(0, "cannot listen on 127.0.0.1");
		return;
	}
	port = local_port(lfd[0]);
	lfd[nl] = loopback_socket(AF_INET6, 1);
	if (lfd[nl] >= 0)
		port6 = local_port(lfd[nl++]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		serve(lfd, nl);
		_exit(0);
	}
	while (nl > 0)
		close(lfd[--nl]);
	if (pid < 0) {
		CHECK(0, "fork");
		return;
	}
	test_fetch_ok(port);
	test_fetch_ipv6(port6);
	test_fetch_errors(port);
	test_fetch_refused();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int main(void)
{
	test_client_styles();
	test_prefixes();
	test_labels();
	test_values();
	test_lines();
	test_malformed();
	test_counter();
	test_spec();
	test_fetch();
	return check_done();
}
