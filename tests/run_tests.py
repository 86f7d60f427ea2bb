#!/usr/bin/env python3
"""run_tests.py - run agentleak's tests.

First the unit-test binaries build/test_* (one test each, passes iff it exits
with status 0), then a short run of each libFuzzer harness tests/fuzz/fuzz_NAME.c
(fuzz:NAME: built by make in build/fuzz/, run FUZZ_SECONDS on its seed corpus;
fails when it cannot be built, e.g. without libFuzzer's runtime, or when it
crashes, leaving the input in build/fuzz/NAME-crash-*), then every function
test_* of tests/integration/test_*.py (fails by raising AssertionError, skipped
by raising agentleak_test.Skip). Integration tests need root; without it each
one is reported as SKIP.

    python3 tests/run_tests.py [-k SUBSTR] [--list]

Prints one line per test (PASS name (1.2s) / FAIL name: reason / SKIP name:
reason) and, last, "N passed, N failed[, N skipped]". Exit status 0 iff no
test failed.
"""

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
import traceback

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
BUILD = os.path.join(ROOT, "build")
INTEGRATION = os.path.join(TESTS, "integration")
FUZZ = os.path.join(TESTS, "fuzz")

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(TESTS, "lib"))

import agentleak_test  # noqa: E402

UNIT_TIMEOUT = 120         # seconds per unit-test binary
INTEGRATION_TIMEOUT = 150  # seconds per integration test (the harness has its own)
FUZZ_SECONDS = 2           # per fuzz harness (make fuzz runs them longer)


class TestTimeout(AssertionError):
    pass


class Test:
    def __init__(self, name, run, integration):
        self.name = name
        self.run = run
        self.integration = integration


def unit_tests():
    tests = []
    if not os.path.isdir(BUILD):
        return tests
    for name in sorted(os.listdir(BUILD)):
        path = os.path.join(BUILD, name)
        if name.startswith("test_") and os.path.isfile(path) and os.access(path, os.X_OK):
            tests.append(Test("unit:" + name, lambda path=path: run_unit(path), False))
    return tests


def run_unit(path):
    try:
        res = subprocess.run([path], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise AssertionError("still running after %d s (killed)\n%s"
                             % (UNIT_TIMEOUT, agentleak_test.tail(out, 20)))
    if res.returncode != 0:
        out = res.stdout.decode(errors="replace")
        raise AssertionError("exit status %d\n%s" % (res.returncode, agentleak_test.tail(out, 20)))


def fuzz_tests():
    try:
        run_fuzz = load_module(os.path.join(FUZZ, "run_fuzz.py"))
    except Exception:
        return [Test("fuzz", import_failure(traceback.format_exc(limit=3)), False)]
    return [Test("fuzz:" + name, lambda name=name: run_fuzz.check(name, FUZZ_SECONDS), False)
            for name in run_fuzz.harnesses()]


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_failure(exc_text):
    def run():
        raise AssertionError("cannot import:\n" + exc_text)
    return run


def integration_tests():
    tests = []
    for fname in sorted(os.listdir(INTEGRATION)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        modname = fname[:-3]
        try:
            module = load_module(os.path.join(INTEGRATION, fname))
        except Exception:
            tests.append(Test(modname, import_failure(traceback.format_exc(limit=3)), True))
            continue
        funcs = [f for name, f in vars(module).items()
                 if name.startswith("test_") and callable(f)
                 and getattr(f, "__module__", None) == module.__name__]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in funcs:
            tests.append(Test("%s.%s" % (modname, f.__name__), f, True))
    return tests


def on_alarm(signum, frame):
    raise TestTimeout("test still running after %d s" % INTEGRATION_TIMEOUT)


def run_one(test):
    """('PASS'|'FAIL'|'SKIP', reason, seconds)"""
    if test.integration:
        if os.geteuid() != 0:
            return "SKIP", "needs root", 0.0
        if not os.access(agentleak_test.AGENTLEAK, os.X_OK):
            return "FAIL", "build/agentleak missing (run make)", 0.0
    t0 = time.monotonic()
    if test.integration:
        signal.alarm(INTEGRATION_TIMEOUT)
    try:
        test.run()
        result = ("PASS", "")
    except agentleak_test.Skip as e:
        result = ("SKIP", str(e))
    except AssertionError as e:
        result = ("FAIL", str(e) or "assertion failed")
    except Exception:
        result = ("FAIL", traceback.format_exc(limit=4))
    finally:
        signal.alarm(0)
    return result[0], result[1], time.monotonic() - t0


def report(status, name, reason, seconds):
    if status == "PASS":
        print("PASS %s (%.1fs)" % (name, seconds))
    else:
        lines = reason.rstrip("\n").splitlines() or [""]
        print("%s %s: %s" % (status, name, lines[0]))
        for line in lines[1:]:
            print("    " + line)
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description="Run agentleak's unit and integration tests.")
    parser.add_argument("-k", metavar="SUBSTR",
                        help="run only the tests whose name contains SUBSTR")
    parser.add_argument("--list", action="store_true", help="list the tests and exit")
    args = parser.parse_args()

    tests = unit_tests() + fuzz_tests() + integration_tests()
    if args.k:
        tests = [t for t in tests if args.k in t.name]
    if args.list:
        for t in tests:
            print(t.name)
        return 0

    signal.signal(signal.SIGALRM, on_alarm)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for t in tests:
        status, reason, seconds = run_one(t)
        counts[status] += 1
        report(status, t.name, reason, seconds)

    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 0 if counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
