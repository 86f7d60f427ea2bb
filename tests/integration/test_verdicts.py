"""Integration tests of the trend engine (agentleak --requests; "Verdicts" in
docs/cli-contract.md) on tests/workloads/server.c, whose endpoints have known
per-request behaviour: agentleak attaches (-T 50, reports every 2 s), loadgen
(or, for --requests http, one keep-alive connection) drives one endpoint,
agentleak gets SIGINT 0.6 s after the load and every report it printed is
checked. tests/workloads/http_reads.c checks which reads --requests http counts."""

import signal
import time

from agentleak_test import run_agentleak_error, start_workload, workload
from trend_test import (Load, WorkloadTarget, c_server, check_trend_run, expect_leak_rate,
                        expect_live, expect_never_leak, expect_requests, expect_server_answers,
                        keepalive_load, main_stack, memory_cgroup, metric_source, metric_sum,
                        report_name, require_requests_option, requests_alongside, trend_run,
                        uprobe_source, usdt_source)

BLOCK = 4096
COUNT = 3000
RATE = 400

MIB = 1 << 20
CGROUP_LIMIT = 512 * MIB
RSS_RETAINED_KB = 150 * 1024  # rss_retain keeps ~200 MB after its frees


def load(path, count=COUNT, rate=RATE):
    return Load(path, count, rate)


def leak_test(source_of, func="leak_fixed", path="/leak", expected=BLOCK, tolerance=0.10,
              kept_every=1):
    """/leak (or path) under source_of(srv): func's stack is a leak at expected
    B/request, the memory line counts every request, the live bytes are exact."""
    with c_server() as srv:
        run = trend_run(srv, source_of(srv), load(path))
        check_trend_run(run, [func])
        expect_leak_rate(run, func, expected, tolerance)
        expect_requests(run, COUNT)
        expect_live(run, func, COUNT // kept_every * BLOCK)
        run.finish([func])
        return run, srv


def test_leak_uprobe():
    leak_test(uprobe_source)


def test_leak_accept():
    leak_test(lambda srv: "accept")


# One keep-alive connection: 1500 requests in 2.5 s.
KEEPALIVE_COUNT = 1500
KEEPALIVE_RATE = 600


def test_leak_http_keepalive():
    """--requests http counts each request of one keep-alive connection, read()
    by the server: exactly KEEPALIVE_COUNT, and /leak is a leak of 4096 B/request.
    A second agentleak with --requests accept on the same server meanwhile counts
    the one connection."""
    with c_server() as srv:
        accepts = []

        def drive(run):
            ld = Load("/leak", KEEPALIVE_COUNT, KEEPALIVE_RATE)
            (sent, secs), n = requests_alongside(
                srv.pid, "accept",
                lambda: keepalive_load(srv.port, ld.paths, ld.count, ld.rate))
            run.loads.append((ld, sent, sent, secs))
            accepts.append(n)

        run = trend_run(srv, "http", drive)
        check_trend_run(run, ["leak_fixed"])
        expect_leak_rate(run, "leak_fixed", BLOCK, 0.10)
        expect_requests(run, KEEPALIVE_COUNT)
        expect_live(run, "leak_fixed", KEEPALIVE_COUNT * BLOCK)
        if accepts != [1]:
            run.problem("agentleak --requests accept counted %s requests for the one "
                        "keep-alive connection, expected 1" % accepts)
        run.finish(["leak_fixed"])


def test_http_request_lines():
    """--requests http counts the socket reads (read, recvfrom, readv, recvmsg)
    that start with a request line, once each: not a peek, a response, an
    unknown method, HTTP/2's preface, TLS, a request line split after its
    method, nor the same bytes read from a pipe or a file (http_reads.c's
    table; it prints how many it expects)."""
    w = start_workload([workload("http_reads")])
    try:
        expected = []

        def drive(run):
            w.signal(signal.SIGUSR1)
            expected.append(int(w.expect_line("expect ", time.monotonic() + 10).split()[1]))
            w.expect_line("done", time.monotonic() + 10)

        run = trend_run(WorkloadTarget(w), "http", drive, extra=("--mode", "growth"))
        check_trend_run(run)
        if expected[0] < 10:
            run.fail("workload: expects %d requests, its table has more" % expected[0])
        expect_requests(run, expected[0])
        run.finish()
    finally:
        w.stop()
        w.close()


def test_leak_metric():
    # The x axis is the app's own count: its /metrics scrapes are not counted.
    with c_server() as srv:
        run = trend_run(srv, metric_source(srv), load("/leak"))
        check_trend_run(run, ["leak_fixed"])
        counted = metric_sum(srv.port, "app_requests_total")
        if counted != COUNT:
            raise AssertionError("workload: the server counts %d requests, expected %d"
                                 % (counted, COUNT))
        expect_leak_rate(run, "leak_fixed", BLOCK, 0.10)
        expect_requests(run, COUNT)
        expect_live(run, "leak_fixed", COUNT * BLOCK)
        run.finish(["leak_fixed"])


def test_leak_usdt():
    leak_test(usdt_source)


def test_leak_1_in_10():
    leak_test(uprobe_source, func="leak_sometimes", path="/leak_1_in_10", expected=BLOCK / 10,
              tolerance=0.15, kept_every=10)


def test_cache_plateau():
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), load("/cache"))
        check_trend_run(run, ["cache_put"])
        expect_never_leak(run, "cache_put")
        s = main_stack(run.final, run.pid, "cache_put")
        if s is None:
            run.problem("final report: no cache_put stack")
        elif s["verdict"] is None or s["verdict"]["kind"] != "plateau":
            run.problem("final report: cache_put verdict %s, expected plateau"
                        % (s["verdict"]["text"] if s["verdict"] else "(none)"))
        expect_live(run, "cache_put", 64 * BLOCK)
        run.finish(["cache_put"])


def test_burst_not_leak():
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), load("/burst"))
        check_trend_run(run, ["burst"])
        expect_never_leak(run, "burst")
        expect_live(run, "burst", 0)
        run.finish(["burst"])


def test_realloc_not_leak():
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), load("/realloc"))
        check_trend_run(run, ["grow_buffer"])
        expect_never_leak(run, "grow_buffer")
        # 3000 calls: the 3000th freed the buffer, nothing is left.
        expect_live(run, "grow_buffer", 0)
        run.finish(["grow_buffer"])


def test_steady_full_load():
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv),
                        Load("/steady", 1000000, 0, max_seconds=5, must_finish=False))
        check_trend_run(run, ["steady"])
        expect_never_leak(run)
        expect_requests(run, run.requests_sent())
        run.finish(["steady"])


def test_rss_retained_note():
    """rss_retain frees its 200 MB but glibc keeps them: no request source, the
    final report notes "RSS high, live heap flat" for that pid."""
    w = start_workload([workload("rss_retain")])
    try:
        def drive(run):
            w.signal(signal.SIGUSR1)
            w.expect_line("done", time.monotonic() + 30)

        run = trend_run(WorkloadTarget(w), None, drive)
        check_trend_run(run)
        drained = [int(line.split()[2]) for line in w.out.lines if line.startswith("rss drain ")]
        if not drained or drained[0] < RSS_RETAINED_KB:
            raise AssertionError("workload: RssAnon after the frees %s kB, expected >= %d kB "
                                 "(did glibc trim the heap?): %s"
                                 % (drained[0] if drained else "?", RSS_RETAINED_KB,
                                    w.out.lines))
        proc = run.final["processes"][run.pid]
        if not any(n.startswith("RSS high, live heap flat") for n in proc["notes"]):
            run.problem("final report: no 'note: RSS high, live heap flat' line for pid %d "
                        "(notes: %s; memory: %s; the workload: %s)"
                        % (run.pid, proc["notes"], proc["memory"], ", ".join(w.out.lines)))
        run.finish()
    finally:
        w.stop()
        w.close()


def test_cgroup_oom_eta():
    with c_server() as srv, memory_cgroup(srv.pid, CGROUP_LIMIT):
        run = trend_run(srv, uprobe_source(srv), load("/leak"))
        check_trend_run(run, ["leak_fixed"])
        sent = run.requests_sent()
        during = 0
        for i, rep in enumerate(run.reports):
            proc = rep["processes"].get(run.pid)
            if proc is None:
                continue
            cg = proc["cgroup"]
            if cg is None:
                run.problem("%s: no cgroup: line (the server's cgroup has a %d B limit)"
                            % (report_name(run, i), CGROUP_LIMIT))
                continue
            if cg["limit"] != CGROUP_LIMIT:
                run.problem("%s: cgroup limit %d B, expected %d: cgroup: limit %d B, usage %d B, %s"
                            % (report_name(run, i), cg["limit"], CGROUP_LIMIT, cg["limit"],
                               cg["usage"], cg["text"]))
            if not 0 < cg["usage"] <= CGROUP_LIMIT:
                run.problem("%s: cgroup usage %d B, expected 1..%d"
                            % (report_name(run, i), cg["usage"], CGROUP_LIMIT))
            requests = (proc["memory"] or {}).get("requests")
            if requests is not None and 0 < requests < sent:  # the load was running
                during += 1
                if cg["oom_seconds"] is None or not cg["oom_seconds"] > 0:
                    run.problem("%s (during the load, %d requests): expected 'OOM in N s' with "
                                "N > 0, got: %s" % (report_name(run, i), requests, cg["text"]))
                    continue
                # The usage grows by about RATE * BLOCK B/s: a factor 2 either way
                # still catches a wrong unit or sign.
                eta = (CGROUP_LIMIT - cg["usage"]) / float(RATE * BLOCK)
                if not eta / 2 <= cg["oom_seconds"] <= eta * 2:
                    run.problem("%s: 'OOM in %g s', expected about %.0f s ((limit - usage) / "
                                "%d B/s): %s" % (report_name(run, i), cg["oom_seconds"], eta,
                                                 RATE * BLOCK, cg["text"]))
        if not during:
            run.problem("no report was printed during the load")
        final = run.final["processes"][run.pid]["cgroup"]
        if final and (final["oom_seconds"] is None or not final["oom_seconds"] > 0):
            run.problem("final report: expected 'OOM in N s' with N > 0, got: %s" % final["text"])
        run.finish(["leak_fixed"])


# Bad request sources: one "agentleak: ..." stderr line, exit 1..125, within 10 s,
# and the server goes on working.

def bad_source(source_of):
    require_requests_option()
    with c_server() as srv:
        line = run_agentleak_error(["-p", srv.pid, "--requests", source_of(srv)])
        expect_server_answers(srv)
        return line


def test_bad_source_no_such_function():
    bad_source(lambda srv: uprobe_source(srv, "no_such_function"))


def test_bad_source_metric_unreachable():
    bad_source(lambda srv: "metric:http://127.0.0.1:1/metrics:x")


def test_bad_source_metric_missing():
    bad_source(lambda srv: metric_source(srv, "missing_metric"))


def test_bad_source_bogus():
    bad_source(lambda srv: "bogus:thing")
