"""Integration tests: every BPF program of every mode verifies within agentleak's
budget, a tenth of the kernel verifier's 1,000,000 processed-instruction limit, and
each mode loads only the programs it runs.

Why: the growth tier's page-fault program once verified at 95% of the limit on one
machine and over it (refused after 20 s of verifier time) on another machine of the
same kind. These tests read the number the kernel reports after each load
(bpf_prog_info.verified_insns, printed by `agentleak --check` and by `-v`) and fail
when any program is above 100,000, or when a mode loads another tier's programs."""

import re
import signal
import subprocess
import tempfile
import time

from agentleak_test import (AGENTLEAK, HarnessTimeout, die_with_parent, read_file,
                            require_agentleak, require_root, tail, wait_for_stderr, wait_proc)
from trend_test import c_server, uprobe_source, usdt_source

BUDGET = 100000
LIMIT = 1000000

# "  precise                  precise/alloc_enter             225    0.02%      0.3 ms"
CHECK_ROW = re.compile(r"^  (\S.*?)\s+(\w+)/(\w+)\s+(\d+)\s+[\d.]+%\s+([\d.]+) ms(  OVER BUDGET)?$")
# "agentleak: BPF growth/page_fault: 887 instructions verified (...), in 2.9 ms"
VERBOSE_LINE = re.compile(r"^agentleak: BPF (\w+)/(\w+): (\d+) instructions verified .*, "
                          r"in ([\d.]+) ms$")

PRECISE = {"precise/alloc_enter", "precise/alloc_return", "precise/free_enter"}
GROWTH = {"growth/page_fault"}
COMMON = {"agentleak/sys_exit", "agentleak/request_hit", "agentleak/request_usdt"}
# What each mode loads at start without --requests (the request counters are loaded
# for their source only; --mode auto loads the precise tier at its first window).
SYSCALLS = {"agentleak/sys_exit"}


def over_budget(programs):
    """["obj/prog: N instructions", ...] for the programs above the budget."""
    return ["%s: %d instructions (%.1f%% of the verifier's limit)" % (p, n, 100.0 * n / LIMIT)
            for p, n in sorted(programs.items()) if n > BUDGET]


def test_check_loads_every_mode_within_budget():
    """agentleak --check loads the programs of every mode (sampling, accept and
    http counting included) and each is within the budget."""
    require_root()
    require_agentleak()
    res = subprocess.run([AGENTLEAK, "--check"], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=120, preexec_fn=die_with_parent)
    out = res.stdout.decode(errors="replace")
    err = res.stderr.decode(errors="replace")
    details = "\n--- stdout ---\n%s\n--- stderr ---\n%s" % (tail(out, 60), tail(err, 10))
    rows = {}  # config label -> {obj/prog: insns}
    for line in out.splitlines():
        m = CHECK_ROW.match(line)
        if m:
            rows.setdefault(m.group(1), {})["%s/%s" % (m.group(2), m.group(3))] = int(m.group(4))
    problems = []
    if res.returncode != 0:
        problems.append("exit status %d, expected 0" % res.returncode)
    for mode in ("precise", "growth", "auto"):
        if not re.search(r"^  %s\s+can run$" % mode, out, re.M):
            problems.append("no '%s can run' line" % mode)
    expected = {
        "precise": COMMON | PRECISE,
        "precise --sample-bytes": COMMON | PRECISE,
        "growth": COMMON | GROWTH,
        "auto (all windows)": COMMON | GROWTH | PRECISE,
    }
    for label, progs in expected.items():
        got = rows.get(label, {})
        if set(got) != progs:
            problems.append("%s loads %s, expected %s" % (label, sorted(got), sorted(progs)))
        problems += ["%s: %s" % (label, o) for o in over_budget(got)]
        problems += ["%s: %s verified 0 instructions" % (label, p)
                     for p, n in got.items() if n <= 0]
    if problems:
        raise AssertionError("; ".join(problems) + details)


def start_mode(pid, mode, extra, timeout=30.0):
    """agentleak -p pid --mode mode -v extra... until its tracing line, then SIGINT: its
    stderr and the seconds to the tracing line."""
    argv = [AGENTLEAK, "-p", str(pid), "--mode", mode, "-v"] + list(extra)
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=err, preexec_fn=die_with_parent)
    try:
        t0 = time.monotonic()
        wait_for_stderr(proc, err, "tracing", t0 + timeout)
        started = time.monotonic() - t0
        proc.send_signal(signal.SIGINT)
        if wait_proc(proc, time.monotonic() + 15) is None:
            raise HarnessTimeout("agentleak --mode %s did not exit after SIGINT" % mode)
        if proc.returncode != 0:
            raise AssertionError("agentleak --mode %s: exit status %d" % (mode, proc.returncode))
        return read_file(err), started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()


def verbose_programs(stderr):
    return {"%s/%s" % (m.group(1), m.group(2)): int(m.group(3))
            for m in map(VERBOSE_LINE.match, stderr.splitlines()) if m}


def test_each_mode_loads_its_own_programs_within_budget():
    """A real run of each mode (-v) prints the verifier's cost of every program it
    loaded: only its own tier's programs, each within the budget."""
    require_root()
    require_agentleak()
    with c_server() as srv:
        problems, texts = [], []
        runs = [("precise", ["--requests", "http"], SYSCALLS | PRECISE),
                ("growth", ["--requests", uprobe_source(srv)],
                 SYSCALLS | GROWTH | {"agentleak/request_hit"}),
                ("auto", ["--requests", usdt_source(srv)],
                 SYSCALLS | GROWTH | {"agentleak/request_usdt"})]
        for mode, extra, want in runs:
            stderr, started = start_mode(srv.pid, mode, extra)
            texts.append("--- --mode %s %s (tracing after %.2f s) ---\n%s"
                         % (mode, " ".join(extra), started, tail(stderr, 14)))
            got = verbose_programs(stderr)
            if set(got) != want:
                problems.append("--mode %s %s loaded %s, expected %s"
                                % (mode, " ".join(extra), sorted(got), sorted(want)))
            problems += ["--mode %s: %s" % (mode, o) for o in over_budget(got)]
        if problems:
            raise AssertionError("; ".join(problems) + "\n" + "\n".join(texts))
