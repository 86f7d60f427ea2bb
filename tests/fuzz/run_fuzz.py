#!/usr/bin/env python3
"""run_fuzz.py - run agentleak's libFuzzer harnesses (make fuzz) and say what they did.

    python3 tests/fuzz/run_fuzz.py [--seconds N] [--jobs N] [--build] [NAME ...]

Runs build/fuzz/fuzz_NAME (every tests/fuzz/fuzz_*.c when no NAME is given) for N
seconds each (default 60) on its seed corpus tests/fuzz/corpus/NAME, keeping what it
finds in build/fuzz/corpus/NAME, with tests/fuzz/NAME.dict when there is one. Prints
per harness the executions, executions per second, coverage (libFuzzer's cov: edges and
ft: features), corpus size and inputs added, and whether it crashed; the whole log is
build/fuzz/NAME.log and a crashing input build/fuzz/NAME-crash-* (or -leak-, -timeout-,
-oom-). Exit status 1 when a harness crashed or could not run. --build builds the
harnesses first (make); make fuzz has built them already.

tests/run_tests.py imports check() for its short fuzz:NAME tests.
"""

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(FUZZ))
OUT = os.path.join(ROOT, "build", "fuzz")

TIMEOUT = 10        # seconds one input may take before it counts as a hang
RSS_LIMIT_MB = 2048


def harnesses():
    """Names of the harnesses, from tests/fuzz/fuzz_NAME.c."""
    return sorted(os.path.basename(p)[len("fuzz_"):-len(".c")]
                  for p in glob.glob(os.path.join(FUZZ, "fuzz_*.c")))


def binary(name):
    return os.path.join(OUT, "fuzz_" + name)


def build(names):
    """Build the harnesses with make; returns (ok, output)."""
    targets = [os.path.relpath(binary(n), ROOT) for n in names]
    try:
        res = subprocess.run(["make", "--no-print-directory", "-s"] + targets, cwd=ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=900)
    except FileNotFoundError:
        return False, "make is not installed"
    except subprocess.TimeoutExpired:
        return False, "make still running after 900 s"
    return res.returncode == 0, res.stdout.decode(errors="replace")


def parse(log):
    """What libFuzzer's output says: executions, speed, coverage, corpus, crash."""
    r = {"execs": None, "exec_s": None, "cov": None, "ft": None, "corpus": None,
         "new": None, "rss_mb": None, "artifact": None, "error": None}
    for m in re.finditer(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", log, re.M):
        r["execs"], r["cov"], r["ft"], r["corpus"] = (int(x) for x in m.groups())
    for key, stat in (("execs", "number_of_executed_units"), ("exec_s", "average_exec_per_sec"),
                      ("new", "new_units_added"), ("rss_mb", "peak_rss_mb")):
        m = re.search(r"^stat::%s:\s*(\d+)" % stat, log, re.M)
        if m:
            r[key] = int(m.group(1))
    m = re.search(r"Test unit written to (\S+)", log)
    if m:
        r["artifact"] = m.group(1)
    m = re.search(r"^(==\d+==\s*ERROR: .*|SUMMARY: .*|.*runtime error: .*|"
                  r"==\d+== ERROR: libFuzzer: .*|holder: .*)$", log, re.M)
    if m:
        r["error"] = m.group(1).strip()
    return r


def remove_stale_inputs(name):
    """The input files of the ELF harnesses (holder.h) whose harness died before
    removing its own: build/fuzz/NAME.PID.elf."""
    for path in glob.glob(os.path.join(OUT, name + ".*.elf")):
        try:
            os.kill(int(path.split(".")[-2]), 0)
        except ProcessLookupError:
            os.unlink(path)
        except (ValueError, OSError):
            pass


def run(name, seconds, corpus=None, seeds=True):
    """Run one harness; returns parse() of its log plus 'ok', 'status' and 'log'."""
    exe = binary(name)
    corpus = corpus or os.path.join(OUT, "corpus", name)
    os.makedirs(corpus, exist_ok=True)
    log_path = os.path.join(OUT, name + ".log")
    cmd = [exe, "-max_total_time=%d" % seconds, "-timeout=%d" % TIMEOUT,
           "-rss_limit_mb=%d" % RSS_LIMIT_MB, "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(OUT, name + "-")]
    d = os.path.join(FUZZ, name + ".dict")
    if os.path.exists(d):
        cmd.append("-dict=" + d)
    cmd.append(corpus)  # new inputs go to the first directory
    if seeds and os.path.isdir(os.path.join(FUZZ, "corpus", name)):
        cmd.append(os.path.join(FUZZ, "corpus", name))
    if not os.access(exe, os.X_OK):
        return {"ok": False, "status": None, "log": "", "error": exe + " is not built",
                **{k: None for k in ("execs", "exec_s", "cov", "ft", "corpus", "new",
                                     "artifact")}}
    env = dict(os.environ)
    # a crash must abort, and leave its report whole
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    with open(log_path, "wb") as log:
        try:
            res = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, env=env,
                                 timeout=seconds + TIMEOUT + 120)
            status = res.returncode
        except subprocess.TimeoutExpired:
            status = "killed"
    with open(log_path, "rb") as log:
        text = log.read().decode(errors="replace")
    remove_stale_inputs(name)
    r = parse(text)
    if status == "killed" and not r["error"]:
        r["error"] = "still running %d s after its time (killed)" % (TIMEOUT + 120)
    if status != 0 and not r["error"]:
        r["error"] = "exit status %s" % status
    r.update(ok=status == 0 and bool(r["execs"]), status=status, log=text)
    if status == 0 and not r["execs"]:
        r["error"] = "ran no input"
    return r


def tail(text, n):
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:])


def excerpt(r, n):
    """n lines of the log from the error on, else its last n lines."""
    lines = r["log"].rstrip("\n").splitlines()
    for i, line in enumerate(lines):
        if r["error"] and r["error"] in line:
            return "\n".join(lines[max(0, i - 1):i + n])
    return "\n".join(lines[-n:])


def check(name, seconds):
    """A short run for tests/run_tests.py: build, run on the seeds only; raises
    AssertionError saying why when the harness cannot be built or run, or crashed."""
    ok, out = build([name])
    if not ok:
        raise AssertionError("cannot build %s:\n%s" % (os.path.relpath(binary(name), ROOT),
                                                       tail(out, 15)))
    corpus = os.path.join(OUT, "test-corpus", name)
    shutil.rmtree(corpus, ignore_errors=True)
    r = run(name, seconds, corpus=corpus)
    if not r["ok"]:
        where = ("\ncrashing input: %s" % os.path.relpath(r["artifact"], ROOT)
                 if r["artifact"] else "")
        raise AssertionError("%s%s\nlog: build/fuzz/%s.log\n%s"
                             % (r["error"], where, name, excerpt(r, 15)))
    shutil.rmtree(corpus, ignore_errors=True)
    return r


def fmt(v):
    return "-" if v is None else str(v)


def main():
    parser = argparse.ArgumentParser(description="Run agentleak's libFuzzer harnesses.")
    parser.add_argument("--seconds", type=int, default=60, help="per harness (default 60)")
    parser.add_argument("--jobs", type=int, default=1, help="harnesses run at once")
    parser.add_argument("--build", action="store_true", help="build the harnesses first")
    parser.add_argument("names", nargs="*", help="harnesses (default: all)")
    args = parser.parse_args()

    names = args.names or harnesses()
    unknown = [n for n in names if n not in harnesses()]
    if unknown:
        print("run_fuzz: no harness %s (have: %s)" % (", ".join(unknown),
                                                      " ".join(harnesses())))
        return 2
    if args.build:
        ok, out = build(names)
        if not ok:
            print(out, end="")
            return 1
    print("fuzzing %d harnesses, %d s each%s" % (len(names), args.seconds,
          ", %d at once" % args.jobs if args.jobs > 1 else ""))
    sys.stdout.flush()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = dict(zip(names, pool.map(lambda n: run(n, args.seconds), names)))

    print("%-16s %10s %8s %6s %7s %7s %5s  %s" % ("harness", "execs", "exec/s", "cov", "ft",
                                                  "corpus", "new", "result"))
    failed = 0
    for n in names:
        r = results[n]
        if r["ok"]:
            result = "ok"
        else:
            failed += 1
            result = "FAIL: " + (r["error"] or "?")
            if r["artifact"]:
                result += " (input: %s)" % os.path.relpath(r["artifact"], ROOT)
        print("%-16s %10s %8s %6s %7s %7s %5s  %s" % (n, fmt(r["execs"]), fmt(r["exec_s"]),
                                                      fmt(r["cov"]), fmt(r["ft"]),
                                                      fmt(r["corpus"]), fmt(r["new"]),
                                                      result))
    print("%d harnesses, %d crashed or failed; logs in build/fuzz/NAME.log"
          % (len(names), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
