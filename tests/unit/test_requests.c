// SPDX-License-Identifier: GPL-2.0
/* test_requests.c - unit tests of cli/analyse/requests.c: parsing --requests SPEC.
 *
 * Only what needs no BPF and no process: requests_parse() of every kind of source (none:
 * time, "accept", "http", "uprobe:PATH:SYMBOL", "usdt:PATH:PROVIDER:NAME", "metric:URL:NAME"), the
 * exact one-line error of each malformed spec (requests.c's own, and for metric sources
 * the ones promscrape.c gives, passed through unchanged), the error buffer left alone on
 * success and cut safely when short, requests_kind() and requests_describe().
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <stdio.h>
#include <string.h>
#include "analyse/requests.h"

#include "check.h"

#define ERRLEN 512

#define GENERIC                                                                                    \
	": expected uprobe:PATH:SYMBOL, usdt:PATH:PROVIDER:NAME, accept, http or metric:URL:NAME"

static const char *kind_name(enum req_kind k)
{
	switch (k) {
	case REQ_TIME:
		return "time";
	case REQ_UPROBE:
		return "uprobe";
	case REQ_USDT:
		return "usdt";
	case REQ_ACCEPT:
		return "accept";
	case REQ_HTTP:
		return "http";
	case REQ_METRIC:
		return "metric";
	}
	return "?";
}

/* spec parses as kind and describes itself as describe; err is not touched. */
static void good(const char *spec, enum req_kind kind, const char *describe)
{
	char err[ERRLEN] = "untouched";
	struct req_source *r = requests_parse(spec, err, sizeof(err));

	CHECK(r && requests_kind(r) == kind && !strcmp(requests_describe(r), describe) &&
	          !strcmp(err, "untouched"),
	      "%s: %s, described as '%s' (got %s, '%s'; err '%s')", spec ? spec : "(none)",
	      kind_name(kind), describe, r ? kind_name(requests_kind(r)) : "NULL",
	      r ? requests_describe(r) : "", err);
	requests_free(r);
}

/* spec is refused with exactly the message want. */
static void bad(const char *spec, const char *want)
{
	char err[ERRLEN] = "";
	struct req_source *r = requests_parse(spec, err, sizeof(err));

	CHECK(!r && !strcmp(err, want), "'%s' refused: %s (got %s: '%s')", spec, want,
	      r ? "accepted" : "refused", err);
	requests_free(r);
}

static void test_good(void)
{
	good(NULL, REQ_TIME, "time");
	good("accept", REQ_ACCEPT, "accept");
	good("http", REQ_HTTP, "http");
	good("uprobe:/usr/bin/app:handle_request", REQ_UPROBE,
	     "uprobe:/usr/bin/app:handle_request");
	/* the path ends at the first ':' after the kind: a C++ name keeps its colons */
	good("uprobe:/srv/app:ns::Server::handle", REQ_UPROBE,
	     "uprobe:/srv/app:ns::Server::handle");
	good("usdt:/usr/bin/app:myapp:request_done", REQ_USDT,
	     "usdt:/usr/bin/app:myapp:request_done");
	good("usdt:/proc/1234/root/usr/lib/libpython3.11.so:python:function__entry", REQ_USDT,
	     "usdt:/proc/1234/root/usr/lib/libpython3.11.so:python:function__entry");
	good("metric:http://127.0.0.1:8000/metrics:http_requests_total", REQ_METRIC,
	     "metric:http://127.0.0.1:8000/metrics:http_requests_total");
	good("metric:http://localhost:9090:requests", REQ_METRIC,
	     "metric:http://localhost:9090:requests");
	good("metric:http://[::1]:9090/stats/prom:app:requests_total", REQ_METRIC,
	     "metric:http://[::1]:9090/stats/prom:app:requests_total");
}

static void test_bad_kind(void)
{
	bad("", "invalid --requests ''" GENERIC);
	bad("time", "invalid --requests 'time'" GENERIC);
	bad("Accept", "invalid --requests 'Accept'" GENERIC);
	bad("accept:", "invalid --requests 'accept:'" GENERIC);
	bad("accept:80", "invalid --requests 'accept:80'" GENERIC);
	/* http takes no arguments: no port, no path, no https */
	bad("HTTP", "invalid --requests 'HTTP'" GENERIC);
	bad("http:", "invalid --requests 'http:'" GENERIC);
	bad("http:8080", "invalid --requests 'http:8080'" GENERIC);
	bad("https", "invalid --requests 'https'" GENERIC);
	bad("uprobe", "invalid --requests 'uprobe'" GENERIC);
	bad("usdt", "invalid --requests 'usdt'" GENERIC);
	bad("metric", "invalid --requests 'metric'" GENERIC);
	bad("kprobe:tcp_sendmsg", "invalid --requests 'kprobe:tcp_sendmsg'" GENERIC);
	bad(":uprobe:/bin/app:f", "invalid --requests ':uprobe:/bin/app:f'" GENERIC);
}

static void test_bad_probe(void)
{
	static const char up[] = "': expected uprobe:PATH:SYMBOL";
	static const char us[] = "': expected usdt:PATH:PROVIDER:NAME";
	char want[ERRLEN];
	static const char *const uprobes[] = {
	    "uprobe:", "uprobe:/bin/app", "uprobe::handle", "uprobe:/bin/app:", "uprobe::",
	};
	static const char *const usdts[] = {
	    "usdt:",
	    "usdt:/bin/app",
	    "usdt:/bin/app:myapp",
	    "usdt:/bin/app:myapp:",
	    "usdt:/bin/app::request",
	    "usdt::myapp:request",
	};
	size_t i;

	for (i = 0; i < sizeof(uprobes) / sizeof(uprobes[0]); i++) {
		snprintf(want, sizeof(want), "invalid --requests '%s%s", uprobes[i], up);
		bad(uprobes[i], want);
	}
	for (i = 0; i < sizeof(usdts) / sizeof(usdts[0]); i++) {
		snprintf(want, sizeof(want), "invalid --requests '%s%s", usdts[i], us);
		bad(usdts[i], want);
	}
}

/* metric: the URL:NAME part goes to promscrape.c, whose messages come back as they are. */
static void test_bad_metric(void)
{
	bad("metric:", "empty metric spec (expected URL:NAME)");
	bad("metric:requests_total", "metric spec 'requests_total' is not URL:NAME");
	bad("metric:http://127.0.0.1:8000/metrics:",
	    "no metric name after the last ':' (expected URL:NAME)");
	bad("metric:http://127.0.0.1:8000/metrics:9lives", "bad metric name '9lives'");
	bad("metric:http://127.0.0.1:8000/metrics:req-total", "bad metric name 'req-total'");
	bad("metric:https://127.0.0.1:8443/metrics:requests",
	    "https is not supported: give a plain http:// URL");
	bad("metric:ftp://127.0.0.1:21/metrics:requests",
	    "URL must start with http:// (expected http://HOST:PORT/PATH:NAME)");
	bad("metric:http://127.0.0.1/metrics:requests",
	    "no port in URL (expected http://HOST:PORT/PATH)");
	bad("metric:http://127.0.0.1:99999/metrics:requests", "bad port '99999' in URL");
	bad("metric:http://127.0.0.1:0/metrics:requests", "bad port '0' in URL");
	bad("metric:http://127.0.0.1:80x/metrics:requests", "bad port '80x' in URL");
	bad("metric:http://example.com:80/metrics:requests",
	    "bad host 'example.com': use an IPv4 address, localhost or [IPv6] (no DNS lookups)");
	bad("metric:http://:8000/metrics:requests", "no host in URL");
	bad("metric:http://127.0.0.1:8000/my metrics:requests",
	    "URL path contains a space or control character");
	/* NAME is after the last ':', so a forgotten name reads the port as one */
	bad("metric:http://127.0.0.1:8000/metrics", "bad metric name '8000/metrics'");
}

static void test_err_buffer(void)
{
	char err[16];
	struct req_source *r;

	memset(err, 'x', sizeof(err));
	r = requests_parse("bogus", err, sizeof(err));
	CHECK(!r && !strcmp(err, "invalid --reque"),
	      "a short error buffer gets the message cut and terminated ('%s')", err);
	memset(err, 'x', sizeof(err));
	r = requests_parse("uprobe:/bin/app", err, sizeof(err));
	CHECK(!r && !strcmp(err, "invalid --reque"), "the same for a bad probe ('%s')", err);
	requests_free(NULL);
	CHECK(1, "requests_free(NULL) is a no-op");
}

/* A part too long for its buffer would name another file or symbol: refused, not cut. */
static void test_too_long(void)
{
	static char spec[8192], sym[1100];
	const char *probe_msg = "invalid --requests: a PATH of more than 4095 bytes, a SYMBOL or "
	                        "PROVIDER of more than 1023 or a NAME of more than 255 is not "
	                        "supported";

	memset(sym, 'x', 1024);
	snprintf(spec, sizeof(spec), "uprobe:/bin/true:%s", sym);
	bad(spec, probe_msg);
	sym[1023] = '\0';
	snprintf(spec, sizeof(spec), "uprobe:/bin/true:%s", sym);
	good(spec, REQ_UPROBE, spec);
	memset(sym, 'n', 256);
	sym[256] = '\0';
	snprintf(spec, sizeof(spec), "usdt:/bin/true:prov:%s", sym);
	bad(spec, probe_msg);
	memset(spec, 'p', 7000);
	memcpy(spec, "uprobe:/", 8);
	spec[7000] = '\0';
	bad(spec, "invalid --requests: longer than 6143 bytes");
}

int main(void)
{
	test_good();
	test_bad_kind();
	test_bad_probe();
	test_bad_metric();
	test_err_buffer();
	test_too_long();
	return check_done();
}
