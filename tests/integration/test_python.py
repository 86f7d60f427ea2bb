"""Integration tests of the trend engine on a Python service: the FastAPI app of
tests/workloads/fastapi_app.py under Debian's uvicorn (/usr/bin/python3, one
process). Skipped (never passed) when fastapi or uvicorn cannot be imported.

Debian's python3.11 is stripped and LTO-built: its native frames say little, but
agentleak walks the Python stack (bpf/python.bpf.h), so a leak's frame #0 is the
Python line that allocated, found here in the app's source (line_of), in every
tier and every output.

Truth for /leak: every request keeps one new bytes(4096), which CPython 3.11
allocates as one calloc(1, 4129) (33 B of object header + 4096 B of payload),
plus 8 B per request (amortized) for the list's pointer array (another stack).

Truth for /chat (issue 12's acceptance), three lines of chat() per request:
  A  the conversation history, never trimmed: a leak of 4129 B (calloc(1, 4129));
  B  an LRU (OrderedDict) of at most 64 turns: 4129 B per request, one freed per
     request once full: never a leak;
  C  every response kept under a key unique to the request, never evicted: a leak
     of 2033 B (calloc(1, 2033)).
The growth-tier tests (--mode growth) expect the same bytes in touched pages.

Truth for /threads: every request leaves one idle executor worker thread, whose
stack glibc's pthread_create maps with MAP_STACK (8 MiB and a guard page): one
thread per request at a stack of kind "thread", not 8 MiB of live heap.
"""

import os
import shutil
import tempfile

from agentleak_test import ROOT, format_stacks
from html_check import stack_cards
from pprof_read import decode_profile, go_pprof, have_go, leaf_line, top_rows
from report import frame0
from trend_test import (Load, check_trend_run, expect_never_leak, expect_requests,
                        keepalive_load, report_name, trend_run, uvicorn_server, within)

APP = os.path.join(ROOT, "tests", "workloads", "fastapi_app.py")
KEPT_PER_REQUEST = 4129  # sys.getsizeof(bytes(4096)) on CPython 3.11
COUNT = 1500
RATE = 150
TOLERANCE = 0.15

# One connection per request (loadgen), so every request is one accept().
SOURCE = "accept"

# /chat: its three lines (as written in the app), the bytes each keeps per request.
CHAT_A = "history.append(bytes(CHAT_MESSAGE))"
CHAT_B = "remember_recent(turn, bytes(CHAT_MESSAGE))"
CHAT_C = 'responses["turn-%d" % turn] = bytes(CHAT_RESPONSE)'
MESSAGE = 4129   # A: sys.getsizeof(bytes(4096)) on CPython 3.11
RESPONSE = 2033  # C: sys.getsizeof(bytes(2000))


def line_of(text):
    """The number of the one line of the app's source that holds text."""
    with open(APP) as f:
        found = [n for n, line in enumerate(f, 1) if text in line]
    if len(found) != 1:
        raise AssertionError("%d lines of %s hold %r, expected one" % (len(found), APP, text))
    return found[0]


def leak_site():
    """'leak (fastapi_app.py:N)', N the line of /leak's append in the app's source."""
    return "leak (fastapi_app.py:%d)" % line_of("kept.append(bytes(KEPT_SIZE))")


def chat_site(text):
    """'chat (fastapi_app.py:N)', N the line of /chat that holds text."""
    return "chat (fastapi_app.py:%d)" % line_of(text)


def server_leaks(run, rep):
    """The server's stacks in rep with the verdict leak."""
    return [s for s in rep["stacks"]
            if s["pid"] == run.pid and s["verdict"] and s["verdict"]["kind"] == "leak"]


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


def chat_keepalive(srv):
    """drive(run) for trend_run: COUNT requests of /chat at RATE over one HTTP/1.1
    keep-alive connection (what --requests http counts one by one)."""
    def drive(run):
        ld = Load("/chat", COUNT, RATE)
        sent, secs = keepalive_load(srv.port, ld.paths, ld.count, ld.rate)
        run.loads.append((ld, sent, sent, secs))
    return drive


def expect_line_leak(run, site, kind=None, expected=None):
    """The final report has a stack of the server with frame #0 site (and kind) and
    the verdict leak (at expected B/request +-TOLERANCE, when given); returns it."""
    mine = [s for s in run.final["stacks"] if s["pid"] == run.pid and frame0(s) == site
            and (kind is None or s["kind"] == kind)]
    good = [s for s in server_leaks(run, {"stacks": mine})
            if expected is None or (s["verdict"]["unit"] == "request"
                                    and within(s["verdict"]["rate"], expected, TOLERANCE))]
    if good:
        return max(good, key=lambda s: s["live_bytes"])
    rate = "" if expected is None else " at %d B/request +-%d%%" % (expected,
                                                                     round(TOLERANCE * 100))
    run.problem("final report: no %sstack at %s has the verdict leak%s; its stacks there:\n%s"
                "\nthe biggest stacks:\n%s"
                % (kind + " " if kind else "", site, rate,
                   "\n".join("%s\n    %s" % (format_stacks([s]), s["verdict"]["text"]
                                             if s["verdict"] else "(no verdict)")
                             for s in mine) or "(none)", biggest_stacks_text(run)))
    return None


def expect_line_never_leak(run, site):
    """No report gives the verdict leak to a stack of the server whose Python
    stack passes through site (frame #0 or deeper: what that line called)."""
    found = [(i, s) for i, rep in enumerate(run.reports) for s in server_leaks(run, rep)
             if site in s["frames"]]
    for i, s in found[:3]:
        run.problem("%s: a stack through %s, which is bounded, has the verdict leak: %s\n%s"
                    % (report_name(run, i), site, s["verdict"]["text"], format_stacks([s])))
    if len(found) > 3:
        run.problem("... and %d more leak verdicts through %s (in %s)"
                    % (len(found) - 3, site, ", ".join(sorted({report_name(run, i)
                                                                for i, _ in found[3:]}))))


def rates_text(run, sites):
    """What the final report says of the stacks of the server at each site."""
    return "; ".join("%s: %s" % (site, ", ".join(
        "%s %s %+.1f" % (s["kind"], s["verdict"]["kind"], s["verdict"]["rate"] or 0)
        for s in run.final["stacks"] if s["pid"] == run.pid and frame0(s) == site
        and s["verdict"]) or "-") for site in sites)


def live_at(run, site):
    """The live bytes of the final report's stacks of the server with frame #0 site."""
    return sum(s["live_bytes"] for s in run.final["stacks"]
               if s["pid"] == run.pid and frame0(s) == site)


def check_chat_pprof(run, prof, sites, leaks):
    """--pprof: each /chat line is a location of function chat in a file named
    fastapi_app.py at that line, holding what the text report holds there (the same
    snapshot); the leaks' samples carry the label verdict=leak. go tool pprof -lines
    reads the same."""
    p = decode_profile(prof)
    leaves = [(leaf_line(p, smp) or ("", "", 0), smp) for smp in p["samples"]
              if smp["labels"].get("pid") == run.pid]
    for site in sites:
        line = int(site.rsplit(":", 1)[1].rstrip(")"))
        here = [smp for (func, path, n), smp in leaves
                if func == "chat" and path.endswith("/fastapi_app.py") and n == line]
        inuse = sum(smp["values"][3] for smp in here)
        if inuse != live_at(run, site):
            names = sorted({leaf for leaf, _ in leaves if leaf[0] == "chat"})
            run.problem("--pprof: samples at function chat, fastapi_app.py line %d hold %d B "
                        "in use, the text report %d B at %s; the profile's chat locations "
                        "(function, file, line): %s" % (line, inuse, live_at(run, site), site,
                                                        names))
        for s in leaks:
            if frame0(s) == site and not any(
                    smp["labels"].get("verdict") == "leak" and smp["labels"].get("kind") ==
                    s["kind"] and smp["values"][3] == s["live_bytes"] for smp in here):
                run.problem("--pprof: no %s sample at chat, fastapi_app.py line %d with %d B "
                            "in use and the label verdict=leak" % (s["kind"], line,
                                                                  s["live_bytes"]))
    if not have_go():
        return "go not installed (apt-get install golang-go): go tool pprof -lines not run"
    status, out = go_pprof(["-top", "-lines", "-nodefraction=0", "-sample_index=inuse_space",
                            "-unit=B"], prof)
    total, rows = top_rows(out)
    if status != 0 or total is None:
        run.problem("go tool pprof -top -lines failed (status %d):\n%s" % (status, out[-2000:]))
        return None
    for site in sites:
        line = site.rsplit(":", 1)[1].rstrip(")")
        flat = sum(v for name, v in rows.items() if name.startswith("chat ")
                   and name.endswith("/fastapi_app.py:" + line))
        if flat != live_at(run, site):
            run.problem("go tool pprof -top -lines: chat .../fastapi_app.py:%s flat %d B, "
                        "the text report %d B at %s:\n%s"
                        % (line, flat, live_at(run, site), site,
                           "\n".join(ln for ln in out.splitlines() if " chat " in ln)))
    return None


def check_chat_folded(run, folded, sites):
    """--folded: the stacks that end at each /chat line end with the frame
    'chat (fastapi_app.py:N)' and weigh what the text report holds there."""
    with open(folded) as f:
        lines = f.read().splitlines()
    for site in sites:
        got = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines
                  if ln.rsplit(" ", 1)[0].endswith(";" + site))
        if got != live_at(run, site):
            chat = [ln.rsplit(";", 1)[1] for ln in lines if ";chat" in ln]
            run.problem("--folded: lines ending in ';%s' weigh %d B, the text report holds %d B "
                        "there; the last frames of the lines through chat: %s"
                        % (site, got, live_at(run, site), chat[:6]))


def check_chat_html(run, page, sites, expected):
    """--html: a leak card whose frame #0 is the line and whose bytes/request are
    within TOLERANCE of the truth, for each leaking line (expected: {site: B/request});
    no leak card through the bounded line."""
    with open(page) as f:
        cards = [c for c in stack_cards(f.read()) if c["pid"] == run.pid]
    for site, truth in expected.items():
        if not any(c["verdict"] == "leak" and c["frames"][:1] == [site]
                   and within(c["rate"], truth, TOLERANCE) for c in cards):
            run.problem("--html: no leak card with frame #0 %s at %d B/request +-%d%%; the "
                        "cards through chat: %s"
                        % (site, truth, round(TOLERANCE * 100),
                           [(c["verdict"], c["kind"], c["rate"], c["frames"][:1]) for c in cards
                            if any(f.startswith("chat (") for f in c["frames"])]))
    for site in sites:
        if site in expected:
            continue
        if not any(c["frames"][:1] == [site] for c in cards):
            run.problem("--html: no card with frame #0 %s" % site)
        for c in cards:
            if c["verdict"] == "leak" and site in c["frames"]:
                run.problem("--html: card [%s] through %s, which is bounded, is a leak"
                            % (c["rank"], site))


def test_fastapi_chat():
    """/chat (the acceptance of issue 12) in the precise tier, counted by --requests
    http over one keep-alive connection: lines A and C are leaks at their bytes per
    request (A the biggest), line B (the LRU) never a leak, every request counted;
    the same run's --pprof, --folded and --html name the same Python lines."""
    a, b, c = chat_site(CHAT_A), chat_site(CHAT_B), chat_site(CHAT_C)
    tmp = tempfile.mkdtemp(prefix="agentleak-chat-")
    prof, folded, page = (os.path.join(tmp, n) for n in ("heap.pb.gz", "stacks.folded",
                                                           "report.html"))
    try:
        with uvicorn_server() as srv:
            run = trend_run(srv, "http", chat_keepalive(srv),
                            extra=["--pprof", prof, "--folded", folded, "--html", page])
            check_trend_run(run)
            expect_requests(run, COUNT)
            leaks = [s for s in (expect_line_leak(run, a, "calloc", MESSAGE),
                                 expect_line_leak(run, c, "calloc", RESPONSE)) if s]
            top = max(server_leaks(run, run.final), key=lambda s: s["live_bytes"], default=None)
            if top is None or frame0(top) != a:
                run.problem("final report: frame #0 of the biggest leak is %r, expected %r"
                            % (frame0(top) if top else None, a))
            if run.final["leaks"] is None:
                run.problem("final report: leak verdicts but no 'leaks:' line")
            expect_line_never_leak(run, b)
            print("measured: %s; %d requests" % (rates_text(run, (a, b, c)), COUNT))
            for path in (prof, folded, page):
                if not os.path.isfile(path):
                    run.fail("%s was not written" % path)
            skipped = check_chat_pprof(run, prof, (a, b, c), leaks)
            check_chat_folded(run, folded, (a, b, c))
            check_chat_html(run, page, (a, b, c), {a: MESSAGE, c: RESPONSE})
            run.finish()
            if skipped:
                print("SKIP part: %s" % skipped)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_fastapi_cache():
    expect_no_leak_on("/cache")


# ---------------------------------------------------------------------------
# The growth tier (--mode growth): no allocator probe. The interpreter is the
# executable (/usr/bin/python3.11 links libpython statically); a page fault is
# attributed to the Python line running when it happened (the line whose
# allocation first wrote to the page). Truth for /chat: lines A and C keep
# 4129 + 2033 = 6162 B of new heap per request, touched as pages. What else stays
# per request is small: glibc's chunk headers (6192 B of chunks), the key str of C
# (a 64 B pymalloc block), the dict's and the list's arrays (about 33 B amortized):
# at most +2.1% if all of it sits in stacks with the verdict leak; a stack's pages
# come in whole, +-4096 B over ~1400 requests. Measured, the leak verdicts add up to
# 6165.4 to 6226.4 B/request (+0.1% to +1.0%, 9 runs); GROWTH_TOLERANCE leaves twice
# the systematic excess and still fails when a line's bytes (a third) are missing.

GROWTH = ("--mode", "growth")
GROWTH_TOLERANCE = 0.05


def test_fastapi_chat_growth():
    """/chat in the growth tier, counted by --requests http over one keep-alive
    connection: only fault stacks, in whole pages; the leak verdicts add up to lines
    A and C's bytes per request, and A is named as a leak.

    What the growth tier cannot do, and this test does not ask: name each line by what
    it holds. A page is charged to the line that first touches it. Here B's LRU frees
    its oldest block each request, A's next calloc reuses that block, and B's own new
    block takes fresh pages: B reads as the leak in pages (measured +4054..+4067
    B/request), A as a small one, C as a plateau. The precise tier (and --mode auto's
    window, test_fastapi_auto_attribution) holds blocks, not pages, and names A and C
    and never B (test_fastapi_chat)."""
    a, b, c = chat_site(CHAT_A), chat_site(CHAT_B), chat_site(CHAT_C)
    with uvicorn_server() as srv:
        run = trend_run(srv, "http", chat_keepalive(srv), extra=GROWTH)
        check_trend_run(run)
        expect_requests(run, COUNT)
        kinds = sorted({s["kind"] for s in run.final["stacks"]})
        if kinds and kinds != ["fault"]:
            run.problem("stack kinds %s in growth mode, expected only 'fault'" % kinds)
        pages = [s for s in run.final["stacks"] if s["live_bytes"] % 4096]
        if pages:
            run.problem("fault stacks whose live bytes are not whole pages:\n%s"
                        % format_stacks(pages[:3]))
        truth = MESSAGE + RESPONSE
        rate = sum(s["verdict"]["rate"] for s in server_leaks(run, run.final)
                   if s["verdict"]["unit"] == "request")
        if not within(rate, truth, GROWTH_TOLERANCE):
            run.problem("final report: leak verdicts add up to %.1f B/request, expected %d "
                        "(lines A and C) +-%d%%; the biggest stacks:\n%s"
                        % (rate, truth, round(GROWTH_TOLERANCE * 100), biggest_stacks_text(run)))
        expect_line_leak(run, a)
        print("measured: leak verdicts %.1f B/request together (truth %d); %s"
              % (rate, truth, rates_text(run, (a, b, c))))
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
# interpreter) used to win. With Python frames, both tiers name the Python line of
# /leak (leak_site()): the diagnosis window's calloc stack and the fault stacks, in
# the window's report, after it, and with --mode growth alone.

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
        run.problem("%s: expected the biggest fault leak at %s (the Python line of the "
                    "precise tier's calloc)%s; the biggest fault stacks:\n%s"
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
        site = leak_site()
        if frame0(max(precise, key=lambda s: s["live_bytes"])) != site:
            run.problem("%s: the biggest calloc leak has frame #0 %r, expected the Python "
                        "line %r" % (name, frame0(max(precise, key=lambda s: s["live_bytes"])),
                                     site))
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
