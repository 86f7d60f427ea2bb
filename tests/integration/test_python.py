"""Integration tests of the trend engine on a Python service: the FastAPI app of
tests/workloads/fastapi_app.py under Debian's uvicorn (/usr/bin/python3, one
process). Skipped (never passed) when fastapi or uvicorn cannot be imported.

Debian's python3.11 is stripped and LTO-built: its native frames say little, but
agentleak walks the Python stack (bpf/python.bpf.h), so a leak's frame #0 is the
Python line that allocated: LEAK_SITE, found in the app's source, in every tier.

Truth for /leak: every request keeps one new bytes(4096), which CPython 3.11
allocates as one calloc(1, 4129) (33 B of object header + 4096 B of payload),
plus 8 B per request (amortized) for the list's pointer array (another stack).
The growth-tier tests (--mode growth) expect the same rate in touched pages.

Truth for /threads: every request leaves one idle executor worker thread, whose
stack glibc's pthread_create maps with MAP_STACK (8 MiB and a guard page): one
thread per request at a stack of kind "thread", not 8 MiB of live heap.
"""

from agentleak_test import format_stacks
from report import frame0
from trend_test import (Load, check_trend_run, expect_never_leak, expect_requests,
                        keepalive_load, report_name, trend_run, uvicorn_server, within)

KEPT_PER_REQUEST = 4129  # sys.getsizeof(bytes(4096)) on CPython 3.11
COUNT = 1500
RATE = 150
TOLERANCE = 0.15

# One connection per request (loadgen), so every request is one accept().
SOURCE = "accept"


def leak_site():
    """'leak (fastapi_app.py:N)', N the line of /leak's append in the app's source."""
    import os
    from agentleak_test import ROOT
    path = os.path.join(ROOT, "tests", "workloads", "fastapi_app.py")
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if "kept.append(bytes(KEPT_SIZE))" in line:
                return "leak (fastapi_app.py:%d)" % n
    raise AssertionError("no kept.append(bytes(KEPT_SIZE)) in %s" % path)


def expect_site(run, stacks, what):
    """The biggest of stacks (leaks) is named by its Python line."""
    site = leak_site()
    top = max(stacks, key=lambda s: s["live_bytes"], default=None)
    if top is None or frame0(top) != site:
        run.problem("%s: frame #0 of the biggest leak is %r, expected the Python line %r"
                    % (what, frame0(top) if top else None, site))


def biggest_stacks_text(run, n=6):
    """The n stacks holding the most live bytes in the final report, with verdicts."""
    near = sorted(run.final["stacks"], key=lambda s: -s["live_bytes"])[:n]
    return "\n".join("%s\n    %s" % (format_stacks([s]), s["verdict"]["text"] if s["verdict"]
                                     else "(no verdict)") for s in near)


def expect_no_leak_on(path, extra=()):
    """COUNT requests of path at RATE: no stack is ever a leak."""
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load(path, COUNT, RATE), extra=extra)
        check_trend_run(run)
        expect_never_leak(run)
        run.finish()


def test_fastapi_leak():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/leak", COUNT, RATE))
        check_trend_run(run)
        leaks = [s for s in run.final["stacks"]
                 if s["pid"] == run.pid and s["verdict"] and s["verdict"]["kind"] == "leak"]
        good = [s for s in leaks if s["verdict"]["unit"] == "request"
                and within(s["verdict"]["rate"], KEPT_PER_REQUEST, TOLERANCE)]
        if not good:
            run.problem("final report: no stack has the verdict leak at %d B/request +-%d%%; "
                        "leak verdicts: %s\nthe biggest stacks:\n%s"
                        % (KEPT_PER_REQUEST, round(TOLERANCE * 100),
                           [s["verdict"]["text"] for s in leaks] or "none",
                           biggest_stacks_text(run)))
        expect_site(run, good, "precise tier, final report")
        mem = run.final["processes"][run.pid]["memory"]
        if mem and mem["requests"] is not None and not within(mem["requests"], COUNT, 0.02):
            run.problem("final report: memory line says %d requests, the load sent %d"
                        % (mem["requests"], COUNT))
        run.finish()


def test_fastapi_cache():
    expect_no_leak_on("/cache")


# ---------------------------------------------------------------------------
# The growth tier (--mode growth): no allocator probe. The interpreter is the
# executable (/usr/bin/python3.11 links libpython statically), so a page fault is
# attributed to the innermost interpreter frame. Truth for /leak: 4129 B/request
# of new heap, so about 1.01 new pages (4129 B of touched pages) per request.

GROWTH = ("--mode", "growth")


def growth_leaks(run):
    return [s for s in run.final["stacks"]
            if s["pid"] == run.pid and s["verdict"] and s["verdict"]["kind"] == "leak"]


def test_fastapi_growth_leak():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/leak", COUNT, RATE), extra=GROWTH)
        check_trend_run(run)
        kinds = sorted({s["kind"] for s in run.final["stacks"]})
        if kinds and kinds != ["fault"]:
            run.problem("stack kinds %s in growth mode, expected only 'fault'" % kinds)
        leaks = growth_leaks(run)
        rate = sum(s["verdict"]["rate"] for s in leaks if s["verdict"]["unit"] == "request")
        if not within(rate, KEPT_PER_REQUEST, TOLERANCE):
            run.problem("final report: leak verdicts add up to %.1f B/request, expected %d "
                        "+-%d%%; the biggest stacks:\n%s"
                        % (rate, KEPT_PER_REQUEST, round(TOLERANCE * 100),
                           biggest_stacks_text(run)))
        expect_site(run, leaks, "growth tier, final report")
        run.finish()


def test_fastapi_growth_burst():
    # 512 KiB of bytes objects made and dropped per request: the heap grows to that
    # high-water mark once, then reuses (or trims and re-touches) it.
    expect_no_leak_on("/burst", GROWTH)


def test_fastapi_growth_cache():
    expect_no_leak_on("/cache", GROWTH)


KEEPALIVE_COUNT = 400


def test_fastapi_http_keepalive():
    """--requests http on one keep-alive connection (what accept would count once):
    uvicorn reads each request with recvfrom, and every one is counted, exactly.
    In the growth tier, the quickest to start: the count does not depend on it."""
    with uvicorn_server() as srv:
        def drive(run):
            ld = Load("/leak", KEEPALIVE_COUNT)
            sent, secs = keepalive_load(srv.port, ld.paths, ld.count)
            run.loads.append((ld, sent, sent, secs))

        run = trend_run(srv, "http", drive, extra=GROWTH)
        check_trend_run(run)
        expect_requests(run, KEEPALIVE_COUNT)
        run.finish()


# ---------------------------------------------------------------------------
# The growth tier names the same call site as the precise tier. At a page fault in
# libc, the growth tier takes the return address of the call that entered libc
# through the executable's PLT (here the interpreter's call of calloc); stale return
# addresses in malloc's uninitialized stack slots (after direct calls inside the
# interpreter) used to win. Frames are compared between tiers and runs of the same
# executable, never named.

AUTO = ("--mode", "auto", "--diagnose-for", "5")
RESULT = "mode: auto, result of diagnosis window 1:"


def biggest_leak(stacks, pid, kind):
    leaks = [s for s in stacks if s["pid"] == pid and s["kind"] == kind and s["verdict"]
             and s["verdict"]["kind"] == "leak"]
    return max(leaks, key=lambda s: s["live_bytes"], default=None)


def expect_fault_leak_at(run, rep, name, site, tolerance=None):
    """The biggest fault stack with verdict leak in rep has frame #0 site (and, with a
    tolerance, the whole leak: KEPT_PER_REQUEST B/request within it)."""
    fault = biggest_leak(rep["stacks"], run.pid, "fault")
    ok = fault is not None and frame0(fault) == site
    if ok and tolerance is not None:
        ok = fault["verdict"]["unit"] == "request" and within(fault["verdict"]["rate"],
                                                              KEPT_PER_REQUEST, tolerance)
    if not ok:
        near = sorted((s for s in rep["stacks"] if s["kind"] == "fault"),
                      key=lambda s: -s["live_bytes"])[:4]
        run.problem("%s: expected the biggest fault leak at %s (the precise tier's calloc "
                    "call site)%s; the biggest fault stacks:\n%s"
                    % (name, site, "" if tolerance is None else
                       " with %d B/request +-%d%%" % (KEPT_PER_REQUEST, round(tolerance * 100)),
                       "\n".join("%s\n    %s" % (format_stacks([s]), s["verdict"]["text"]
                                                    if s["verdict"] else "(no verdict)")
                                 for s in near)))


def test_fastapi_auto_attribution():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/leak", COUNT, RATE), extra=AUTO)
        check_trend_run(run)
        found = [(i, r) for i, r in enumerate(run.reports)
                 if any(line.startswith(RESULT) for line in r["unparsed"])]
        if not found:
            run.fail("no report has a '%s' line" % RESULT)
        i, rep = found[0]
        name = report_name(run, i)
        precise = [s for s in rep["stacks"] if s["pid"] == run.pid and s["kind"] == "calloc"
                   and s["verdict"] and s["verdict"]["kind"] == "leak"
                   and s["verdict"]["unit"] == "request"
                   and within(s["verdict"]["rate"], KEPT_PER_REQUEST, 0.05)]
        if not precise:
            run.fail("%s: no calloc stack has the verdict leak at %d B/request +-5%%:\n%s"
                     % (name, KEPT_PER_REQUEST, format_stacks(rep["stacks"][:6])))
        site = frame0(max(precise, key=lambda s: s["live_bytes"]))
        expect_fault_leak_at(run, rep, name, site)
        # After the window only the stack scan attributes faults.
        expect_fault_leak_at(run, run.final, "final report", site, TOLERANCE)
        run.finish()
    # The growth tier alone, on a fresh service: the scan from the first fault on
    # (where stale words used to take most of the leak).
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/leak", COUNT, RATE), extra=GROWTH)
        check_trend_run(run)
        expect_fault_leak_at(run, run.final, "--mode growth, final report", site, TOLERANCE)
        run.finish()


# ---------------------------------------------------------------------------
# A thread leak (/threads): an executor made per request and never shut down. Each
# request starts one worker thread that stays; its stack is counted in threads, at the
# Python line that submitted the task (which started the thread), and its 8 MiB are
# neither tracked live heap nor a heap leak. 300 requests: 300 threads, no more.
# Every stack is listed (-T), so that the process's live bytes can be checked to be
# exactly its heap stacks': the workers' first free() also maps glibc malloc arenas
# (64 MiB reserved each, up to 8 per CPU) that count as mmap stacks.

THREAD_COUNT = 300
THREAD_RATE = 100
MIB = 1024 * 1024


def submit_site():
    """'threads (fastapi_app.py:N)', N the line of /threads' pool.submit in the app."""
    import os
    from agentleak_test import ROOT
    path = os.path.join(ROOT, "tests", "workloads", "fastapi_app.py")
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if "pool.submit(int)" in line:
                return "threads (fastapi_app.py:%d)" % n
    raise AssertionError("no pool.submit(int) in %s" % path)


def test_fastapi_threads():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/threads", THREAD_COUNT, THREAD_RATE), top=100000)
        check_trend_run(run)
        rep = run.final
        threads = [s for s in rep["stacks"] if s["pid"] == run.pid and s["kind"] == "thread"]
        good = [s for s in threads if s["verdict"] and s["verdict"]["kind"] == "leak"
                and s["verdict"]["unit"] == "threads/request"
                and within(s["verdict"]["rate"], 1.0, TOLERANCE)]
        if not good:
            run.problem("final report: no thread stack has the verdict leak at 1 thread/request "
                        "+-%d%%; thread stacks:\n%s"
                        % (round(TOLERANCE * 100), "\n".join(
                            "%s\n    %s" % (format_stacks([s]), s["verdict"]["text"]
                                            if s["verdict"] else "(no verdict)")
                            for s in threads) or "none"))
        else:
            top = max(good, key=lambda s: s["threads"])
            if submit_site() not in top["frames"]:
                run.problem("final report: the leaking thread stack's frames do not name %r "
                            "(the line that submits to the executor):\n%s"
                            % (submit_site(), format_stacks([top])))
            if not within(top["threads"], THREAD_COUNT, 0.05):
                run.problem("final report: %d threads live at the leaking stack, the load "
                            "left %d" % (top["threads"], THREAD_COUNT))
        proc = rep["processes"][run.pid]
        reserved = sum(s["live_bytes"] for s in threads)
        if proc["threads"] is None or proc["threads"]["reserved"] != reserved:
            run.problem("final report: the process's threads line %s does not hold its thread "
                        "stacks' %d B reserved" % (proc["threads"], reserved))
        heap = sum(s["live_bytes"] for s in rep["stacks"]
                   if s["pid"] == run.pid and s["kind"] != "thread")
        if reserved < THREAD_COUNT * 8 * MIB or proc["live_bytes"] != heap or (
                proc["memory"] and proc["memory"]["tracked_live"] != heap):
            run.problem("final report: %d B of thread stacks reserved; %d B live on the process "
                        "line, memory line %s; the heap stacks hold %d B: the process's tracked "
                        "live bytes must be its heap stacks' exactly, no thread stack in them"
                        % (reserved, proc["live_bytes"], proc["memory"], heap))
        # No heap stack leaks because of the threads: a thread stack counted as heap
        # would leak 8 MiB a request.
        for i, r in enumerate(run.reports):
            heap = [s for s in r["stacks"] if s["kind"] != "thread" and s["verdict"]
                    and s["verdict"]["kind"] == "leak" and (s["verdict"]["rate"] or 0) >= MIB]
            if heap or (r["leaks"] and r["leaks"]["rate"] >= MIB):
                run.problem("%s: heap leaking a thread stack's bytes: %s\n%s"
                            % (report_name(run, i), r["leaks"] and r["leaks"]["text"],
                               format_stacks(heap)))
                break
        if rep["thread_leaks"] is None or not within(rep["thread_leaks"]["rate"], 1.0,
                                                     TOLERANCE):
            run.problem("final report: no 'thread leaks: ... +1.00 threads/request together' "
                        "line: %s" % (rep["thread_leaks"] and rep["thread_leaks"]["text"]))
        run.finish()
