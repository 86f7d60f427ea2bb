"""Integration tests of --mode auto: the growth tier all the time, and the precise
tier (allocator probes) only for a diagnosis window once a process grows. The same
server (tests/workloads/server.c) and loads as test_growth.py.

What the truth is: /leak keeps a malloc(4096) per request (4096 B/request, exact in
the precise tier, one new heap page per request in the growth tier); /steady frees
everything it allocates, so its anonymous memory does not grow and no window may
open."""

import json
import os
import tempfile

from trend_test import (Load, c_server, check_trend_run, expect_never_leak, main_stack,
                        report_name, trend_run, uprobe_source, within)
from report import stacks_by_frame0

PAGE = 4096
COUNT = 3000
RATE = 400
WINDOW = 4  # --diagnose-for: 20 samples at 0.2 s, enough for a verdict (~11 needed)
AUTO = ("--mode", "auto", "--diagnose-for", str(WINDOW))
OPENED = "agentleak: growth seen: diagnosis window 1, precise tier on for %d s" % WINDOW
CLOSED = "agentleak: diagnosis window 1 closed: precise tier off"
RESULT = "mode: auto, result of diagnosis window 1:"
TRACING = "agentleak: tracing 1 process(es); Ctrl-C to stop"
PRECISE_LOADED = "agentleak: BPF precise/"
BUDGET = 100000  # instructions the verifier may process per program (test_bpf_budget.py)


def auto_run(srv, path, json_path, count=COUNT, rate=RATE, verbose=False):
    extra = AUTO + ("--json-file", json_path) + (("-v",) if verbose else ())
    return trend_run(srv, uprobe_source(srv), Load(path, count, rate), extra=extra)


def json_reports(run, path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except (OSError, ValueError) as e:
        run.problem("--json-file %s: %s" % (path, e))
        return []


def result_report(run):
    """(index, report) of the window's result report, or (None, None)."""
    for i, rep in enumerate(run.reports):
        if any(line.startswith(RESULT) for line in rep["unparsed"]):
            return i, rep
    return None, None


def expect_precise_loaded_at_window(run, lines):
    """-v: the precise tier's programs are loaded when the first window opens (not at
    start), each within the verifier budget."""
    opened = lines.index(OPENED)
    loaded = [(i, line) for i, line in enumerate(lines) if line.startswith(PRECISE_LOADED)]
    if not loaded:
        run.problem("-v: no '%s...' line: the precise tier's programs were never loaded"
                    % PRECISE_LOADED)
    elif loaded[0][0] > opened:
        run.problem("-v: the precise tier was loaded after the window opened: %r"
                    % loaded[0][1])
    elif TRACING not in lines or loaded[0][0] < lines.index(TRACING):
        run.problem("-v: the precise tier was loaded at start, before the first window")
    for _, line in loaded:
        insns = int(line.split(": ")[2].split()[0])
        if insns > BUDGET:
            run.problem("-v: %s: over the budget of %d instructions" % (line, BUDGET))


def test_auto_leak_opens_window():
    with c_server() as srv, tempfile.TemporaryDirectory() as tmp:
        jpath = os.path.join(tmp, "r.jsonl")
        run = auto_run(srv, "/leak", jpath, verbose=True)
        check_trend_run(run, ["leak_fixed"])
        lines = run.stderr.splitlines()
        if OPENED not in lines:
            run.problem("no '%s' on stderr" % OPENED)
        else:
            expect_precise_loaded_at_window(run, lines)
        if not any(line.startswith(CLOSED) for line in lines):
            run.problem("no '%s...' on stderr" % CLOSED)
        i, rep = result_report(run)
        if rep is None:
            run.fail("no report has a '%s' line" % RESULT, ["leak_fixed"])
        # The window's precise stack: the exact caller and rate.
        s = max(stacks_by_frame0(rep["stacks"], run.pid, "leak_fixed", "malloc"),
                key=lambda s: s["live_bytes"], default=None)
        if s is None:
            run.problem("%s: no malloc stack with frame #0 leak_fixed" % report_name(run, i))
        elif not s["verdict"] or s["verdict"]["kind"] != "leak":
            run.problem("%s: leak_fixed's malloc stack reads %s, expected leak"
                        % (report_name(run, i), s["verdict"]["text"] if s["verdict"] else
                           "no verdict"))
        elif not within(s["verdict"]["rate"], PAGE, 0.05):
            run.problem("%s: leak_fixed leaks %.1f B/request in the window, expected 4096 "
                        "+-5%%" % (report_name(run, i), s["verdict"]["rate"]))
        # After the window: the precise stacks are gone, the growth tier's remain.
        for j in range(i + 1, len(run.reports)):
            kinds = {x["kind"] for x in run.reports[j]["stacks"]}
            if kinds - {"fault"}:
                run.problem("%s, after the window: stack kinds %s, expected only fault"
                            % (report_name(run, j), sorted(kinds)))
                break
        # The window's uretprobes must not move the growth tier's attribution: every
        # page of the leak stays with leak_fixed.
        f = main_stack(run.final, run.pid, "leak_fixed")
        if f is None or not 0.9 * COUNT * PAGE <= f["live_bytes"] <= 1.1 * COUNT * PAGE:
            run.problem("final report: leak_fixed's fault stack holds %s B, expected about "
                        "%d" % (f and f["live_bytes"], COUNT * PAGE))
        reps = json_reports(run, jpath)
        results = [r for r in reps if r.get("diagnosis", {}).get("result")]
        if len(results) != 1 or results[0]["mode"] != "auto" or \
                results[0]["diagnosis"]["windows"] != 1:
            run.problem("JSON: expected one report with diagnosis.result true in window 1, "
                        "got %s" % [r.get("diagnosis") for r in results])
        if reps and reps[-1]["diagnosis"]["open"]:
            run.problem("JSON: the last report still has the window open")
        run.finish(["leak_fixed"])


def test_auto_steady_no_window():
    with c_server() as srv, tempfile.TemporaryDirectory() as tmp:
        jpath = os.path.join(tmp, "r.jsonl")
        run = auto_run(srv, "/steady", jpath, count=2000)
        check_trend_run(run, ["steady"])
        expect_never_leak(run)
        if "growth seen" in run.stderr:
            run.problem("a diagnosis window opened on a workload that does not grow")
        kinds = {s["kind"] for rep in run.reports for s in rep["stacks"]}
        if kinds - {"fault"}:
            run.problem("precise stacks %s without a window" % sorted(kinds - {"fault"}))
        reps = json_reports(run, jpath)
        if any(r["diagnosis"]["windows"] for r in reps):
            run.problem("JSON: diagnosis windows counted without growth")
        run.finish(["steady"])


def test_auto_second_window_starts_fresh():
    """--diagnose-for 3 --diagnose-gap 2 on a /leak load of ~12 s: window 1, a 2 s gap,
    window 2. Window 2's precise counters start from zero (window 1's blocks and
    counters were cleared when it closed): its leak_fixed malloc stack holds about the
    bytes of the requests made while it was open, not those of both windows."""
    extra = ("--mode", "auto", "--diagnose-for", "3", "--diagnose-gap", "2")
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), Load("/leak", 2400, 200), extra=extra)
        check_trend_run(run, ["leak_fixed"])
        lines = run.stderr.splitlines()
        for n in (1, 2):
            if not any(line.startswith("agentleak: diagnosis window %d closed" % n)
                       for line in lines):
                run.fail("window %d never closed" % n, ["leak_fixed"])
        results = {}
        for i, rep in enumerate(run.reports):
            for line in rep["unparsed"]:
                if line.startswith("mode: auto, result of diagnosis window "):
                    results[int(line.split()[6].rstrip(":"))] = (i, rep)
        if sorted(results) != [1, 2]:
            run.fail("result reports of windows %s, expected 1 and 2" % sorted(results),
                     ["leak_fixed"])
        # Requests counted during a window: the memory lines of the report before it
        # opened and of its result report bound them.
        for n in (1, 2):
            i, rep = results[n]
            s = max(stacks_by_frame0(rep["stacks"], run.pid, "leak_fixed", "malloc"),
                    key=lambda s: s["live_bytes"], default=None)
            if s is None:
                run.problem("window %d: no malloc stack of leak_fixed" % n)
                continue
            # 3 s at 200 requests/s = 600 requests of 4096 B; allow for the sample
            # period and the load's jitter, but never both windows' worth (1200).
            if not 450 * PAGE <= s["live_bytes"] <= 750 * PAGE:
                run.problem("window %d: leak_fixed's malloc stack holds %d B, expected "
                            "about 600 x 4096 (3 s at 200 requests/s)"
                            % (n, s["live_bytes"]))
        run.finish(["leak_fixed"])
