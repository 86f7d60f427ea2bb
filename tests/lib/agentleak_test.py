"""Helpers of agentleak's integration tests: run workloads under agentleak and
check the final report.

A test is a function test_xxx() in tests/integration/test_*.py; it fails by
raising AssertionError (with a useful message) and is skipped by raising Skip.
tests/run_tests.py finds and runs them.

The workloads (tests/workloads/*.c, built into build/tests/) print
"ready PID", wait for SIGUSR1, do their allocations, print "done", then wait
for SIGTERM (or exit at once with --exit).
"""

import ctypes
import os
import re
import select
import signal
import subprocess
import tempfile
import time

from report import (THREAD_WEIGHT, ReportError, final_section, parse_final, rank_weight,
                    stacks_by_frame0, sum_by_frame0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
AGENTLEAK = os.environ.get("AGENTLEAK", os.path.join(BUILD, "agentleak"))
WORKLOAD_DIR = os.environ.get("AGENTLEAK_WORKLOADS", os.path.join(BUILD, "tests"))

TOP_ARGS = ["-T", "200"]
READY_TIMEOUT = 10.0     # workload start -> "ready PID"
TRACING_TIMEOUT = 30.0   # agentleak start -> "tracing" on stderr
DONE_TIMEOUT = 20.0      # SIGUSR1 -> "done"
SETTLE = 0.5             # "done" -> SIGINT
STOP_TIMEOUT = 15.0      # SIGINT -> agentleak exits
EXITED_TIMEOUT = 20.0    # targets exited -> agentleak exits by itself
KILL_GRACE = 3.0         # SIGTERM -> SIGKILL, for cleanup

# Numbers above this are taken for negative values printed as unsigned.
WRAPPED = 1 << 62

PR_SET_PDEATHSIG = 1

EXITED_RE = re.compile(r"^agentleak: pid (\d+) \((.*)\) exited$")


class Skip(Exception):
    """Raised by a test that cannot run here (reason in the message)."""


class HarnessTimeout(AssertionError):
    pass


def die_with_parent():
    """preexec_fn: make the child die if the test runner dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


def require_agentleak():
    if not os.access(AGENTLEAK, os.X_OK):
        raise AssertionError("build/agentleak missing (run make): %s" % AGENTLEAK)


def workload(name):
    """Path of build/tests/NAME (fails clearly when it was not built)."""
    path = os.path.join(WORKLOAD_DIR, name)
    if not os.access(path, os.X_OK):
        raise AssertionError("workload %s missing (run make, or tests/workloads/build.sh %s)"
                             % (path, WORKLOAD_DIR))
    return path


def source_line(path, text):
    """The number of the first line of file path that contains text (a test's way to
    name a workload's line without hard-coding it)."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError("%s has no line with %r" % (path, text))


def tail(text, nlines=40):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > nlines:
        lines = ["... (%d lines before)" % (len(lines) - nlines)] + lines[-nlines:]
    return "\n".join(lines)


def read_file(f):
    f.flush()
    f.seek(0)
    return f.read().decode(errors="replace")


class LineReader:
    """Reads lines from a pipe with a deadline (select + os.read)."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""
        self.eof = False
        self.lines = []

    def readline(self, deadline):
        """The next line (without newline); None at end of file. Raises
        HarnessTimeout when the deadline passes first."""
        while b"\n" not in self.buf and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessTimeout("timeout")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True
        if b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
        elif self.buf:
            line, self.buf = self.buf, b""
        else:
            return None
        line = line.decode(errors="replace")
        self.lines.append(line)
        return line


class Workload:
    """One running workload process."""

    def __init__(self, argv, env=None):
        self.argv = list(argv)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=env, preexec_fn=die_with_parent)
        self.out = LineReader(self.proc.stdout)
        self.pid = None

    def name(self):
        return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(self.argv))

    def expect_line(self, what, deadline):
        """Read lines until one starts with what; return it."""
        while True:
            try:
                line = self.out.readline(deadline)
            except HarnessTimeout:
                raise HarnessTimeout("workload '%s': no '%s' line in time%s"
                                     % (self.name(), what, self.errors()))
            if line is None:
                raise AssertionError("workload '%s' closed stdout before '%s' (status %s)%s"
                                     % (self.name(), what, self.proc.poll(), self.errors()))
            if line.startswith(what):
                return line

    def wait_ready(self, deadline):
        line = self.expect_line("ready ", deadline)
        try:
            self.pid = int(line.split()[1])
        except (IndexError, ValueError):
            raise AssertionError("workload '%s': bad ready line %r" % (self.name(), line))
        return self.pid

    def signal(self, sig):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait_exit(self, timeout):
        """Reap the process; returns its status or None after timeout."""
        try:
            return self.proc.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGTERM (which the workloads take as "exit 0"), then SIGKILL."""
        self.signal(signal.SIGTERM)
        if self.wait_exit(KILL_GRACE) is None:
            self.signal(signal.SIGKILL)
            self.wait_exit(KILL_GRACE)
        return self.proc.returncode

    def errors(self):
        text = read_file(self.stderr).strip()
        return "\n--- workload stderr ---\n" + tail(text, 10) if text else ""

    def close(self):
        self.proc.stdout.close()
        self.stderr.close()


def start_workload(argv, env=None, timeout=READY_TIMEOUT):
    """Start a workload and wait for its "ready PID" line."""
    w = Workload(argv, env)
    try:
        w.wait_ready(time.monotonic() + timeout)
    except BaseException:
        w.stop()
        w.close()
        raise
    return w


class Run:
    """What one run_workload_under_agentleak produced, and the problems the
    checks found in it (see problem() and finish())."""

    def __init__(self):
        self.argv = []              # agentleak's command line
        self.pids = []              # workload pids, in the order given
        self.returncode = None      # agentleak's exit status
        self.stdout = ""
        self.stderr = ""
        self.workload_status = []   # exit status of each workload
        self.workload_errors = []   # stderr of each workload
        self.exit_delay = None      # seconds from last target exit to agentleak exit
        self.report = None          # parse_final(stdout), or None
        self.report_error = None    # why report is None
        self.problems = []          # found by the expect_* checks

    def details(self):
        """agentleak's stderr and final report, for failure messages."""
        text = "\n--- agentleak %s" % " ".join(self.argv[1:])
        text += "\n--- agentleak stderr ---\n" + (tail(self.stderr, 20) or "(empty)")
        try:
            final = "\n".join(final_section(self.stdout))
            text += "\n--- final report ---\n" + tail(final, 60)
        except ReportError:
            text += "\n--- agentleak stdout (no final report) ---\n" + (tail(self.stdout, 30)
                                                                       or "(empty)")
        return text

    def fail(self, msg):
        """Stop the test now."""
        raise AssertionError(msg + self.details())

    def problem(self, msg):
        """Note a failed check; the test goes on and finish() reports them all."""
        self.problems.append(msg)

    def finish(self):
        """Last call of a test: the layout checks, then every problem found."""
        check_layout(self)
        if not self.problems:
            return
        first = self.problems[0].splitlines()[0]
        if len(self.problems) > 1:
            first += " (and %d more problems)" % (len(self.problems) - 1)
        body = "\n".join("* " + p.replace("\n", "\n  ") for p in self.problems)
        raise AssertionError(first + "\n" + body + self.details())


def agentleak_argv(pids, extra_args):
    argv = [AGENTLEAK]
    for pid in pids:
        argv += ["-p", str(pid)]
    return argv + TOP_ARGS + list(extra_args)


def wait_for_stderr(proc, errfile, word, deadline):
    """Wait until agentleak's stderr holds a line containing word."""
    while True:
        text = read_file(errfile)
        if any(word in line for line in text.splitlines()):
            return
        if proc.poll() is not None:
            raise AssertionError("agentleak exited with status %s before printing '%s'"
                                 "\n--- agentleak stderr ---\n%s"
                                 % (proc.returncode, word, tail(text, 20) or "(empty)"))
        if time.monotonic() > deadline:
            raise HarnessTimeout("agentleak printed no '%s' line in time"
                                 "\n--- agentleak stderr ---\n%s"
                                 % (word, tail(text, 20) or "(empty)"))
        time.sleep(0.05)


def wait_proc(proc, deadline):
    try:
        return proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        return None


def stop_agentleak(proc):
    """Cleanup: SIGINT, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        if wait_proc(proc, time.monotonic() + KILL_GRACE) is None:
            proc.kill()
            proc.wait()


def as_argv_list(workload_argv, pids):
    """One argv (list of str) repeated pids times, or a list of argvs."""
    if workload_argv and isinstance(workload_argv[0], (list, tuple)):
        return [list(a) for a in workload_argv]
    return [list(workload_argv) for _ in range(pids)]


def run_workload_under_agentleak(workload_argv, extra_agentleak_args=(), env=None, pids=1,
                                 exit_workload=False, timeout=60, traced_wait=0.0):
    """Run workload(s) under agentleak and return a Run.

    workload_argv is one argv (started pids times) or a list of argvs (one
    workload each); every workload gets its own -p. With exit_workload the
    workloads get --exit, and agentleak must finish by itself once they have
    exited; otherwise agentleak gets SIGINT 0.5 s after every workload said
    "done". traced_wait: seconds to let the workloads run traced before
    SIGUSR1 (for churn, which works from the start). Everything is bounded by
    timeout seconds; on a timeout everything is killed and AssertionError says
    what was awaited, with agentleak's stderr.
    """
    require_agentleak()
    argvs = as_argv_list(workload_argv, pids)
    if exit_workload:
        argvs = [a if "--exit" in a else a + ["--exit"] for a in argvs]
    for a in argvs:
        if not os.access(a[0], os.X_OK):
            raise AssertionError("workload %s missing (run make)" % a[0])

    deadline = time.monotonic() + timeout
    run = Run()
    workloads = []
    proc = None
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    try:
        for a in argvs:
            workloads.append(start_workload(a, env, min(READY_TIMEOUT, timeout)))
        run.pids = [w.pid for w in workloads]
        run.argv = agentleak_argv(run.pids, extra_agentleak_args)
        proc = subprocess.Popen(run.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                preexec_fn=die_with_parent)
        wait_for_stderr(proc, err, "tracing", min(deadline, time.monotonic() + TRACING_TIMEOUT))
        time.sleep(traced_wait)

        for w in workloads:
            w.signal(signal.SIGUSR1)
        done_by = min(deadline, time.monotonic() + DONE_TIMEOUT)
        for w in workloads:
            w.expect_line("done", done_by)

        if exit_workload:
            for w in workloads:
                if w.wait_exit(done_by - time.monotonic()) is None:
                    raise HarnessTimeout("workload '%s' did not exit after 'done'" % w.name())
            exited_at = time.monotonic()
            status = wait_proc(proc, min(deadline, exited_at + EXITED_TIMEOUT))
            if status is None:
                raise HarnessTimeout("agentleak did not exit by itself within %.0f s after its "
                                     "targets exited" % min(EXITED_TIMEOUT, timeout))
            run.exit_delay = time.monotonic() - exited_at
        else:
            time.sleep(SETTLE)
            proc.send_signal(signal.SIGINT)
            if wait_proc(proc, min(deadline, time.monotonic() + STOP_TIMEOUT)) is None:
                raise HarnessTimeout("agentleak did not exit within %.0f s of SIGINT"
                                     % STOP_TIMEOUT)
        run.returncode = proc.returncode
    except AssertionError as e:
        if proc is not None:
            stop_agentleak(proc)
            if "--- agentleak stderr ---" not in str(e):
                e.args = (str(e) + "\n--- agentleak %s\n--- agentleak stderr ---\n%s"
                          % (" ".join(run.argv[1:]), tail(read_file(err), 20) or "(empty)"),)
        raise
    finally:
        if proc is not None:
            stop_agentleak(proc)
        for w in workloads:
            run.workload_status.append(w.stop())
            run.workload_errors.append(read_file(w.stderr))
            w.close()
        run.stdout = read_file(out)
        run.stderr = read_file(err)
        out.close()
        err.close()

    try:
        run.report = parse_final(run.stdout)
    except ReportError as e:
        run.report_error = str(e)
    return run


# ---------------------------------------------------------------------------
# Checks on a Run.

def numbers_of(report):
    """(where, value) of every number in the parsed report."""
    for pid, p in report["processes"].items():
        for key in ("live_bytes", "live_objects", "nstacks", "allocs", "frees"):
            yield "pid %d %s" % (pid, key), p[key]
    for key, value in (report["losses"] or {}).items():
        yield "losses %s" % key, value
    for s in report["stacks"]:
        for key in ("live_bytes", "live_objects", "allocs", "alloc_bytes", "frees"):
            if s[key] is not None:  # a thread stack has no alloc_bytes
                yield "stack [%d] %s" % (s["rank"], key), s[key]


def looks_like_contract_line(line):
    """An unparsed line that starts like a process, losses, stack or frame
    line is a contract line with a wrong format (other lines, such as a
    timestamp, are allowed)."""
    return re.match(r"^\s*(pid \d|losses:|\[\d+\] |#\d+ |memory:|cgroup:|verdict:|leaks:|"
                    r"threads:|thread leaks:)", line) is not None


def broken_lines(run):
    return [line for line in run.report["unparsed"] if looks_like_contract_line(line)]


def check_run(run, expect_exited=False):
    """What every test needs before it looks at numbers (stops the test):
    agentleak exited 0 and printed a final report with a process line for
    each target; no negative number; no stack of a pid that is not a target;
    the targets survived the tracing (exit 0 on SIGTERM, or with --exit)."""
    if run.returncode != 0:
        run.fail("agentleak exit status %s, expected 0" % run.returncode)
    if run.report is None:
        run.fail("no final report: %s" % run.report_error)
    rep = run.report
    for pid in run.pids:
        if pid not in rep["processes"]:
            broken = broken_lines(run)
            run.fail("no process line for pid %d%s" % (pid, "; lines that almost follow the "
                                                       "contract:\n  " + "\n  ".join(broken[:6])
                                                       if broken else ""))
    for where, value in numbers_of(rep):
        if value < 0 or value >= WRAPPED:
            run.fail("negative number in the report: %s = %d" % (where, value))
    for s in rep["stacks"]:
        if s["pid"] not in run.pids:
            run.fail("stack [%d] of pid %d, which is not a target" % (s["rank"], s["pid"]))
    for pid, status, errors in zip(run.pids, run.workload_status, run.workload_errors):
        if status != 0:
            run.fail("workload pid %d ended with status %s (expected 0)%s"
                     % (pid, status, "\n--- workload stderr ---\n" + tail(errors, 10)
                        if errors.strip() else ""))
    if not expect_exited and exited_lines(run):
        run.fail("agentleak says a target exited, but none did")


def check_layout(run):
    """The rest of the contract's report layout (soft checks): every line
    that looks like a contract line parses, one losses line, stacks
    ranked 1..N by live bytes (thread stacks by their live threads), each with
    live bytes > 0 and a frame #0."""
    rep = run.report
    broken = broken_lines(run)
    if broken:
        run.problem("final report lines that almost follow the contract:\n  "
                    + "\n  ".join(broken[:10]))
    if rep["losses"] is None:
        run.problem("no losses line in the final report")
    lives = [rank_weight(s) for s in rep["stacks"]]
    if lives != sorted(lives, reverse=True):
        run.problem("stacks not sorted by live bytes (a thread stack by %d B a live thread): %s"
                    % (THREAD_WEIGHT, lives))
    ranks = [s["rank"] for s in rep["stacks"]]
    if ranks != list(range(1, len(ranks) + 1)):
        run.problem("stack ranks are not 1..N: %s" % ranks)
    for s in rep["stacks"]:
        if s["live_bytes"] <= 0:
            run.problem("stack [%d] listed with %d live bytes" % (s["rank"], s["live_bytes"]))
        if not s["frames"]:
            run.problem("stack [%d] has no frames" % s["rank"])


def exited_lines(run):
    """agentleak's "pid PID (COMM) exited" lines, as {pid: line}."""
    found = {}
    for line in run.stderr.splitlines():
        m = EXITED_RE.match(line)
        if m:
            found[int(m.group(1))] = line
    return found


def format_stacks(stacks):
    lines = []
    for s in stacks:
        if s["kind"] == "thread" and s["alloc_bytes"] is None:
            lines.append("[%d] pid %d thread: %d threads live (%d B of stack reserved); "
                         "%d started, %d ended" % (s["rank"], s["pid"], s["live_objects"],
                                                   s["live_bytes"], s["allocs"], s["frees"]))
        else:
            lines.append("[%d] pid %d %s: %d B live in %d objects; %d allocs (%d B), %d frees"
                         % (s["rank"], s["pid"], s["kind"], s["live_bytes"], s["live_objects"],
                            s["allocs"], s["alloc_bytes"], s["frees"]))
        lines += ["    #%d %s" % (i, f) for i, f in enumerate(s["frames"][:4])]
    return "\n".join(lines) or "(none)"


def kind_text(kind):
    if kind is None:
        return "any kind"
    if isinstance(kind, str):
        return kind
    return " or ".join(kind)


def stacks_near(run, pid, func):
    """The stacks of pid with frame #0 in func; all of pid's if there are none."""
    matching = stacks_by_frame0(run.report["stacks"], pid, func)
    if matching:
        return "stacks of pid %d with frame #0 in %s:\n%s" % (pid, func, format_stacks(matching))
    mine = [s for s in run.report["stacks"] if s["pid"] == pid]
    return ("no stack of pid %d has frame #0 in %s; its stacks:\n%s"
            % (pid, func, format_stacks(mine[:12])))


def expect_frame0(run, pid, func, live_bytes, live_objects, kind=None):
    """The stacks of pid with frame #0 in func (and kind) hold exactly
    live_bytes in live_objects. Returns whether they do."""
    got = sum_by_frame0(run.report["stacks"], pid, func, kind)
    if got == (live_bytes, live_objects):
        return True
    run.problem("pid %d %s (%s): expected %d B live in %d objects, got %d B in %d objects\n%s"
                % (pid, func, kind_text(kind), live_bytes, live_objects, got[0], got[1],
                   stacks_near(run, pid, func)))
    return False


def expect_leak(run, pid, func, kind, live_bytes, live_objects):
    """func leaked exactly this through kind, and nothing through any other
    kind (no double counting of nested allocator calls)."""
    if expect_frame0(run, pid, func, live_bytes, live_objects, kind):
        expect_frame0(run, pid, func, live_bytes, live_objects, None)


def expect_nothing_live(run, pid, func):
    expect_frame0(run, pid, func, 0, 0, None)


def expect_process_at_least(run, pid, live_bytes, live_objects):
    p = run.report["processes"][pid]
    if p["live_bytes"] < live_bytes or p["live_objects"] < live_objects:
        run.problem("pid %d summary: %d B live in %d objects, expected at least %d B in %d "
                    "objects" % (pid, p["live_bytes"], p["live_objects"], live_bytes,
                                 live_objects))


def expect_no_stack_mentions(run, pid, func, kind=None):
    """No stack of pid (of kind, if given) has func in any frame."""
    prefix = func + "+"
    for s in run.report["stacks"]:
        if s["pid"] != pid or (kind is not None and s["kind"] != kind):
            continue
        if any(f.startswith(prefix) for f in s["frames"]):
            run.problem("pid %d: unexpected %s stack through %s:\n%s"
                        % (pid, s["kind"], func, format_stacks([s])))


# ---------------------------------------------------------------------------
# agentleak invocations that must fail.

class running_workload:
    """with running_workload(argv) as w: a started workload, stopped at the end."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.env = env
        self.w = None

    def __enter__(self):
        self.w = start_workload(self.argv, self.env)
        return self.w

    def __exit__(self, *exc):
        self.w.stop()
        self.w.close()
        return False


def run_agentleak_error(args, prefix=(), timeout=10.0):
    """Run [prefix...] agentleak ARGS, which must fail cleanly: exit status
    1..125 (not a signal), exactly one non-empty stderr line starting with
    "agentleak: ", nothing on stdout, within timeout seconds. Returns the
    stderr line."""
    require_agentleak()
    argv = list(prefix) + [AGENTLEAK] + [str(a) for a in args]
    shown = "agentleak " + " ".join(str(a) for a in args)
    t0 = time.monotonic()
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=timeout, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("'%s' still running after %.0f s (killed)\n--- stderr ---\n%s"
                             % (shown, timeout, tail((e.stderr or b"").decode(errors="replace"),
                                                     10)))
    elapsed = time.monotonic() - t0
    out = res.stdout.decode(errors="replace")
    err = res.stderr.decode(errors="replace")
    lines = err.splitlines()
    problems = []
    if not 1 <= res.returncode <= 125:
        problems.append("exit status %d, expected 1..125" % res.returncode)
    if len(lines) != 1:
        problems.append("%d stderr lines, expected exactly 1" % len(lines))
    elif not lines[0].startswith("agentleak: ") or not lines[0][len("agentleak: "):].strip():
        problems.append("stderr line does not look like 'agentleak: <message>'")
    if err and not err.endswith("\n"):
        problems.append("stderr line not terminated by a newline")
    if out:
        problems.append("stdout not empty")
    if problems:
        raise AssertionError("'%s': %s (%.1fs)\n--- stderr ---\n%s\n--- stdout ---\n%s"
                             % (shown, "; ".join(problems), elapsed, tail(err, 10) or "(empty)",
                                tail(out, 10) or "(empty)"))
    return lines[0]
