"""Integration tests of the HTML report (cli/export/html.c): the page as a browser sees
it. Headless Chromium renders the page (--dump-dom and --screenshot); the DOM
must show the verdict, the bytes per request, the leaking function and a plot
with the fitted line, and nothing may be fetched. Screenshots are kept in
build/test-artifacts/ (the path is printed).

Part A renders the sample page of the unit test (tests/unit/test_html.c
--page), so it runs without the tool's option; part B runs agentleak --html
against the C request server leaking 4 KiB per /leak request.
Without chromium both are SKIP (scripts/install-deps.sh installs it).
"""

import os
import re
import shutil
import subprocess
import tempfile

from agentleak_test import AGENTLEAK, ROOT, require_agentleak, require_root
from html_check import Dom, artifact, fetching_elements, png_facts, render, require_chromium
from trend_test import (Load, c_server, check_trend_run, expect_leak_rate, trend_run,
                        uprobe_source)

BLOCK = 4096
COUNT = 3000
RATE = 400

# "leak [1] leak_fixed pid 123 · malloc · stack 0123456789ab ... bytes/request +4096.0 B/request"
CARD_RE = r"\bleak \[(\d+)\] %s pid (\d+) \S+ (\S+) \S+ stack \w+ .*?bytes/request ([+-][\d.]+) B/request"


def build_page_writer(tmp):
    """tests/unit/test_html.c as make built it (it writes its sample page with --page)."""
    exe = os.path.join(ROOT, "build", "test_html")
    if not os.access(exe, os.X_OK):
        raise AssertionError("%s is missing: run make tests" % exe)
    return exe


def check_png(png):
    width, height, distinct = png_facts(png)
    if (width, height) != (1280, 2000):
        raise AssertionError("screenshot %s is %dx%d, expected 1280x2000" % (png, width, height))
    if distinct < 20:
        raise AssertionError("screenshot %s looks blank (%d distinct byte values)"
                             % (png, distinct))


def check_dom(doc, func, what):
    """The common checks: nothing fetched, the leak's card (verdict, bytes per
    request), a fitted line in an <svg>, a flame graph. Returns the card's match."""
    bad = fetching_elements(doc)
    if bad:
        raise AssertionError("%s: elements that fetch: %s" % (what, ", ".join(bad[:5])))
    for e in doc.elements:
        if "url(" in (e.attrs.get("style") or ""):
            raise AssertionError("%s: a style fetches: %r" % (what, e.attrs.get("style")))
    m = re.search(CARD_RE % re.escape(func), doc.text)
    if not m:
        raise AssertionError("%s: no 'leak [N] %s ... bytes/request +N B/request' card in the "
                             "page text:\n%s" % (what, func, doc.text[:3000]))
    if not doc.fit_lines:
        raise AssertionError("%s: no <line class=\"fit\"> inside an <svg> (%d <svg>)"
                             % (what, len(doc.find("svg"))))
    if not doc.find("svg", "flame"):
        raise AssertionError("%s: no flame graph <svg class=\"flame\">" % what)
    if "flame graph of live bytes" not in doc.text.lower():
        raise AssertionError("%s: no flame graph heading" % what)
    return m


def test_html_sample_page():
    """Part A: the unit test's sample page (a leak, a plateau, a transient and a
    stack of hostile names) rendered by Chromium."""
    require_chromium()
    tmp = tempfile.mkdtemp(prefix="agentleak-html-")
    try:
        exe = build_page_writer(tmp)
        page = os.path.join(tmp, "sample.html")
        res = subprocess.run([exe, "--page", page], stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=30)
        if res.returncode != 0:
            raise AssertionError("%s --page: status %d: %s" % (
                exe, res.returncode, res.stderr.decode(errors="replace")))
        png = artifact("html-sample.png")
        dom = render(page, png)
        shutil.copy(page, artifact("html-sample.html"))
        print("artifact: %s" % os.path.relpath(png, ROOT))
        doc = Dom(dom)
        m = check_dom(doc, "leak_fixed", "sample page")
        if m.group(4) != "+4096.0":
            raise AssertionError("sample page: leak_fixed at %s B/request, expected +4096.0"
                                 % m.group(4))
        for want in ("95% CI +4094.1 B/request .. +4097.9 B/request", "+14.1 MiB/hour",
                     "plateau", "transient", "OOM in 20m 34s", "RSS high, live heap flat",
                     '<script>alert("x")</script>', "std::vector<std::pair<int, std::string> >"):
            if want not in doc.text:
                raise AssertionError("sample page: %r not in the page text:\n%s"
                                     % (want, doc.text[:3000]))
        if doc.find("script"):
            raise AssertionError("sample page: the hostile name became a <script> element")
        if len(doc.find("svg", "plot")) != 4:
            raise AssertionError("sample page: %d plots, expected 4" % len(doc.find("svg", "plot")))
        check_png(png)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def require_html_option():
    """Fail (not skip) when build/agentleak has no --html option yet."""
    require_agentleak()
    res = subprocess.run([AGENTLEAK, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=10)
    if b"--html" not in res.stdout + res.stderr:
        raise AssertionError("%s --help does not mention --html: the HTML report is not wired "
                             "into cli/main.c yet" % AGENTLEAK)


def test_html_report_of_leaking_server():
    """Part B: agentleak --html FILE on build/tests/server while /leak keeps 4 KiB
    per request; the page written at exit shows the leak."""
    require_root()
    require_chromium()
    require_html_option()
    tmp = tempfile.mkdtemp(prefix="agentleak-html-")
    try:
        page = os.path.join(tmp, "report.html")
        with c_server() as srv:
            run = trend_run(srv, uprobe_source(srv), Load("/leak", COUNT, RATE),
                            extra=["--html", page])
            check_trend_run(run, ["leak_fixed"])
            expect_leak_rate(run, "leak_fixed", BLOCK, 0.10)
            run.finish(["leak_fixed"])
            if not os.path.exists(page):
                run.fail("agentleak --html %s wrote no file" % page)
            leftovers = [n for n in os.listdir(tmp) if n != "report.html"]
            if leftovers:
                run.fail("temp files left next to the page: %s" % leftovers)
            shutil.copy(page, artifact("html-report.html"))
            png = artifact("html-report.png")
            dom = render(page, png)
            print("artifact: %s" % os.path.relpath(png, ROOT))
            doc = Dom(dom)
            m = check_dom(doc, "leak_fixed", "agentleak --html")
            rate = float(m.group(4))
            if int(m.group(2)) != srv.pid:
                run.fail("the page's leak_fixed card is of pid %s, expected %d"
                         % (m.group(2), srv.pid))
            if m.group(3) != "malloc":
                run.fail("the page's leak_fixed card is a %s stack, expected malloc" % m.group(3))
            if abs(rate - BLOCK) > 0.10 * BLOCK:
                run.fail("the page says leak_fixed leaks %.1f B/request, expected %d +-10%%"
                         % (rate, BLOCK))
            if m.group(1) != "1":
                run.fail("leak_fixed is suspect [%s] in the page, expected [1] (leaks first)"
                         % m.group(1))
            if "requests from uprobe:%s:handle_request" % srv.path not in doc.text:
                run.fail("the page does not name the request source")
            if "pid %d server" % srv.pid not in doc.text:
                run.fail("the page has no process header 'pid %d server'" % srv.pid)
            check_png(png)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
