"""Python frames on every CPython version agentleak knows, besides Debian's 3.11 (a
static, stripped interpreter, which test_python.py traces under FastAPI): pyenv's 3.10,
3.11, 3.12 and 3.13 (each a shared libpython), each running
tests/workloads/pyleak.py, all traced by one agentleak. Each process's leak must
be found at its Python line with exact bytes and objects, in the main thread and in
a ThreadPoolExecutor's worker threads. pyenv 3.9 is there to be refused by name.
A missing interpreter is a SKIP (printed, never a pass) when none is left."""

import os
import subprocess

from agentleak_test import (ROOT, Skip, check_run, source_line, format_stacks, require_root,
                            run_workload_under_agentleak)
from report import frame0

PYLEAK = os.path.join(ROOT, "tests", "workloads", "pyleak.py")
PYENV = "/root/.pyenv/versions"
INTERPRETERS = [os.path.join(PYENV, v, "bin", "python" + v[:v.rindex(".")])
                for v in ("3.10.13", "3.11.7", "3.12.1", "3.13.0")]
OLD = os.path.join(PYENV, "3.9.18", "bin", "python3.9")
COUNT, WORKER_COUNT, SIZE = 1000, 300, 4096


def line_of(text):
    return source_line(PYLEAK, text)


def bytes_size(python, n):
    """What one bytes(n) takes from the allocator in this interpreter."""
    out = subprocess.run([python, "-c", "import sys; print(sys.getsizeof(bytes(%d)))" % n],
                         capture_output=True, text=True, timeout=20, check=True)
    return int(out.stdout)


def test_python_frames_every_version():
    require_root()
    pythons = [p for p in INTERPRETERS if os.access(p, os.X_OK)]
    missing = sorted(set(INTERPRETERS) - set(pythons))
    if not pythons:
        raise Skip("no CPython 3.10-3.13 installed: %s" % ", ".join(INTERPRETERS))
    old = os.access(OLD, os.X_OK)
    argvs = [[p, PYLEAK] for p in pythons] + ([[OLD, PYLEAK]] if old else [])
    run = run_workload_under_agentleak(argvs, ["-T", "400", "--stack-depth", "1"],
                                       timeout=120)
    check_run(run)
    main_site = "leak_here (pyleak.py:%d)" % line_of("# the main thread's leak")
    worker_site = "worker_leak (pyleak.py:%d)" % line_of("# the worker threads' leak")
    for python, pid in zip(pythons, run.pids):
        if "pid %d runs CPython" % pid not in run.stderr:
            run.problem("%s (pid %d): no 'runs CPython' line on stderr" % (python, pid))
        for site, n, size in ((main_site, COUNT, SIZE), (worker_site, WORKER_COUNT, 2 * SIZE)):
            one = bytes_size(python, size)
            got = [s for s in run.report["stacks"] if s["pid"] == pid and s["kind"] == "calloc"
                   and frame0(s) == site]
            live = (sum(s["live_bytes"] for s in got), sum(s["live_objects"] for s in got))
            if live != (n * one, n):
                mine = sorted((s for s in run.report["stacks"] if s["pid"] == pid),
                              key=lambda s: -s["live_bytes"])[:4]
                run.problem("%s (pid %d): %s: expected %d B live in %d objects, got %d B in %d;"
                            " its biggest stacks:\n%s" % (python, pid, site, n * one, n,
                                                          live[0], live[1], format_stacks(mine)))
    if old:
        pid = run.pids[-1]
        if "pid %d: " % pid not in run.stderr or "3.10 to 3.13" not in run.stderr or any(
                frame0(s).startswith("leak_here (") for s in run.report["stacks"]
                if s["pid"] == pid):
            run.problem("pyenv 3.9 (pid %d): expected a warning naming 3.10 to 3.13 and native "
                        "stacks only" % pid)
    run.finish()
    if missing:
        print("SKIP part: not installed: %s" % ", ".join(missing))
