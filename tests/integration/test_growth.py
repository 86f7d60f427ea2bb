"""Integration tests of the growth tier (agentleak --mode growth): no allocator
probe; user page faults on anonymous memory are counted per stack (frame #0 is
the innermost frame in the server's executable), pages given back by munmap,
madvise(MADV_DONTNEED), a shrinking brk or mremap leave their stack. The same
server (tests/workloads/server.c) and loads as test_verdicts.py.

What the truth is: /leak keeps a malloc(4096) per request. glibc serves it from
the top of the heap (4112 B chunks), so each request moves the heap's high
water mark by 4112 B and touches one new page: the first write to the fresh page
is malloc's own (the header of the new top chunk, from _int_malloc, in libc),
attributed to leak_fixed through the return address on the stack. 4096 B/request
(measured: 4096.0, 3000 pages for 3000 requests)."""

from trend_test import (Load, c_server, check_trend_run, expect_leak_rate, expect_never_leak,
                        expect_requests, main_stack, report_name, trend_run, uprobe_source)

PAGE = 4096
COUNT = 3000
RATE = 400
BIGBUF_PAGES = 256  # /bigbuf: malloc(1 MiB) + memset + free + malloc_trim(0)
GROWTH = ("--mode", "growth")
MODE_LINE = "mode: growth ("


def growth_run(srv, path, count=COUNT, rate=RATE):
    return trend_run(srv, uprobe_source(srv), Load(path, count, rate), extra=GROWTH)


def expect_growth_reports(run):
    """Every report says it is the growth tier, names it on the process line, and
    every stack is a fault stack."""
    for i, rep in enumerate(run.reports):
        if not any(line.startswith(MODE_LINE) for line in rep["unparsed"]):
            run.problem("%s has no '%s...' line" % (report_name(run, i), MODE_LINE))
            break
    proc = run.final["processes"][run.pid]
    if proc["flavor"] != "growth":
        run.problem("final report: process line says %r, expected 'growth'" % proc["flavor"])
    kinds = sorted({s["kind"] for rep in run.reports for s in rep["stacks"]})
    if kinds and kinds != ["fault"]:
        run.problem("stack kinds %s in growth mode, expected only 'fault'" % kinds)
    if "growth tier" not in run.stderr:
        run.problem("no 'growth tier' in the attach line on stderr")


def test_growth_leak():
    with c_server() as srv:
        run = growth_run(srv, "/leak")
        check_trend_run(run, ["leak_fixed"])
        expect_growth_reports(run)
        expect_leak_rate(run, "leak_fixed", PAGE, 0.15)
        expect_requests(run, COUNT)
        s = main_stack(run.final, run.pid, "leak_fixed")
        if s is not None and not 0.9 * COUNT * PAGE <= s["live_bytes"] <= 1.1 * COUNT * PAGE:
            run.problem("final report: leak_fixed holds %d B of touched pages, expected "
                        "about %d" % (s["live_bytes"], COUNT * PAGE))
        run.finish(["leak_fixed"])


def test_growth_cache_not_leak():
    with c_server() as srv:
        run = growth_run(srv, "/cache")
        check_trend_run(run, ["cache_put"])
        expect_growth_reports(run)
        expect_never_leak(run)
        run.finish(["cache_put"])


def test_growth_burst_not_leak():
    # 200 x 2 KiB per request, all freed: glibc trims the heap top (brk shrinks) and the
    # next request faults the same pages in again.
    with c_server() as srv:
        run = growth_run(srv, "/burst")
        check_trend_run(run, ["burst"])
        expect_growth_reports(run)
        expect_never_leak(run)
        proc = run.final["processes"][run.pid]
        if proc["frees"] < COUNT:
            run.problem("final report: %d pages given back, expected the burst's trimmed "
                        "pages (>= %d)" % (proc["frees"], COUNT))
        run.finish(["burst"])


def test_growth_retouch_not_leak():
    # A 1 MiB buffer freed and touched again per request: mmap/munmap first, then the
    # heap, trimmed by malloc_trim. Every page faults again and must be given back.
    with c_server() as srv:
        run = growth_run(srv, "/bigbuf", count=1000, rate=200)
        check_trend_run(run, ["big_buffer"])
        expect_growth_reports(run)
        expect_never_leak(run)
        proc = run.final["processes"][run.pid]
        touched = 1000 * BIGBUF_PAGES
        if proc["allocs"] < touched or proc["frees"] < touched:
            run.problem("final report: %d pages faulted and %d given back, expected >= %d "
                        "each" % (proc["allocs"], proc["frees"], touched))
        if proc["live_bytes"] > 64 * PAGE:
            run.problem("final report: %d B live after freeing every buffer"
                        % proc["live_bytes"])
        run.finish(["big_buffer"])


def test_growth_realloc_not_leak():
    with c_server() as srv:
        run = growth_run(srv, "/realloc")
        check_trend_run(run, ["grow_buffer"])
        expect_growth_reports(run)
        expect_never_leak(run, "grow_buffer")
        run.finish(["grow_buffer"])
