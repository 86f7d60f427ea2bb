#!/usr/bin/env python3
"""bench/startup.py - how long each mode takes to start, and what its BPF programs
cost the verifier.

For each target (the C test server, and tests/workloads/fastapi_app.py under Debian's
python3.11 + uvicorn, a stripped LTO interpreter with big symbol tables) and each mode
(precise, growth, auto), starts `agentleak -p PID --mode MODE -v` ROUNDS times,
interleaved, and measures the wall time from exec to the `tracing` line on stderr
(docs/cli-contract.md: everything is attached then). Per program it records what -v
prints: the instructions the verifier processed and its verification time. The
target: every mode prints its tracing line within 1 s on an idle 2-vCPU machine.
Then `agentleak --check` gives the precise tier's programs as --mode auto loads them
at its first window. Prints markdown tables (bench/RESULTS.md keeps a copy).

Run as root: bench/startup.py   (BENCH_STARTUP_ROUNDS=5)
"""

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from agentleak_test import AGENTLEAK, Skip, read_file  # noqa: E402
from trend_test import c_server, uvicorn_server  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "5"))
MODES = ("precise", "growth", "auto")
TARGET_SECONDS = 1.0
VERBOSE_LINE = re.compile(r"^agentleak: BPF (\w+/\w+): (\d+) instructions verified .*, "
                          r"in ([\d.]+) ms$")


def start_once(pid, mode):
    """Seconds from exec to the tracing line; {program: (insns, ms)}."""
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen([AGENTLEAK, "-p", str(pid), "--mode", mode, "-v"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        while True:
            text = read_file(err)
            if "agentleak: tracing" in text:
                took = time.monotonic() - t0
                break
            if proc.poll() is not None or time.monotonic() - t0 > 60:
                raise RuntimeError("agentleak --mode %s did not start:\n%s" % (mode, text))
            time.sleep(0.002)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    progs = {}
    for line in read_file(err).splitlines():
        m = VERBOSE_LINE.match(line)
        if m:
            progs[m.group(1)] = (int(m.group(2)), float(m.group(3)))
    err.close()
    return took, progs


def bench_target(name, srv):
    times = {m: [] for m in MODES}
    progs = {m: {} for m in MODES}
    for _ in range(ROUNDS):
        for mode in MODES:
            took, p = start_once(srv.pid, mode)
            times[mode].append(took)
            for prog, (insns, ms) in p.items():
                progs[mode].setdefault(prog, (insns, []))[1].append(ms)
    print("\n### %s (pid %d), %d starts per mode, interleaved\n" % (name, srv.pid, ROUNDS))
    print("| mode | to `tracing`, median | max | target | programs loaded: verified instructions, "
          "median verifier time |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for mode in MODES:
        t = times[mode]
        worst = max(worst, max(t))
        cells = ", ".join("%s %d insns %.1f ms" % (prog, insns, statistics.median(ms))
                          for prog, (insns, ms) in sorted(progs[mode].items()))
        print("| %s | %.3f s | %.3f s | <= %.1f s | %s |"
              % (mode, statistics.median(t), max(t), TARGET_SECONDS, cells))
    return worst


def check_table():
    res = subprocess.run([AGENTLEAK, "--check"], capture_output=True, text=True, timeout=120)
    print("\n### `agentleak --check` (exit status %d)\n" % res.returncode)
    print("```")
    print(res.stdout.rstrip())
    print("```")


def main():
    if os.geteuid() != 0:
        sys.exit("startup: run as root")
    worst = 0.0
    with c_server() as srv:
        worst = max(worst, bench_target("C test server (tests/workloads/server.c)", srv))
    try:
        srv = uvicorn_server()
    except Skip as e:
        print("\nFastAPI target skipped: %s" % e)
    else:
        with srv:
            worst = max(worst, bench_target("FastAPI on Debian's python3.11 "
                                            "(tests/workloads/fastapi_app.py)", srv))
    check_table()
    print("\nslowest start: %.3f s (target <= %.1f s): %s"
          % (worst, TARGET_SECONDS, "met" if worst <= TARGET_SECONDS else "NOT MET"))


if __name__ == "__main__":
    main()
