"""Helpers of the trend-engine tests (agentleak --requests; "Verdicts" in
docs/cli-contract.md): run a server with known per-request memory behaviour,
attach agentleak with a request source, drive the server with
build/demo/loadgen, stop agentleak with SIGINT and parse every report it
printed (interval reports and the final one).

    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), Load("/leak", 3000, 400))
        check_trend_run(run)
        expect_leak_rate(run, "leak_fixed", 4096, 0.10)
        run.finish()

Servers: c_server() (build/tests/server, tests/workloads/server.c) and
uvicorn_server() (tests/workloads/fastapi_app.py under Debian's
/usr/bin/python3 -m uvicorn; Skip when fastapi or uvicorn cannot be imported).
"""

import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time

from agentleak_test import (AGENTLEAK, BUILD, ROOT, HarnessTimeout, LineReader, Skip,
                            die_with_parent, format_stacks, read_file, require_agentleak,
                            require_root, stop_agentleak, tail, wait_for_stderr, wait_proc,
                            workload)
from report import frame0, parse_final, parse_reports, stacks_by_frame0

LOADGEN = os.path.join(BUILD, "demo", "loadgen")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-fastapi and python3-uvicorn
WORKLOADS_SRC = os.path.join(ROOT, "tests", "workloads")

LISTEN_TIMEOUT = 10.0    # server start -> listening
TRACING_TIMEOUT = 20.0   # agentleak start -> "tracing"
STOP_TIMEOUT = 10.0      # SIGINT -> agentleak exits
SETTLE = 0.6             # load done -> SIGINT
KILL_GRACE = 3.0


# ---------------------------------------------------------------------------
# Servers.

class Server:
    """A server process on 127.0.0.1: pid, port, and its output for messages."""

    def __init__(self, argv, cwd=None, env=None):
        self.argv = list(argv)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.stderr,
                                     preexec_fn=die_with_parent)
        self.out = LineReader(self.proc.stdout)
        self.pid = self.proc.pid
        self.port = None
        self.path = self.argv[0]

    def name(self):
        return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(self.argv))

    def errors(self):
        text = read_file(self.stderr).strip()
        return "\n--- server stderr ---\n" + tail(text, 15) if text else ""

    def wait_listening(self, timeout=LISTEN_TIMEOUT):
        """Read stdout until "listening PORT"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.out.readline(deadline)
            except HarnessTimeout:
                raise HarnessTimeout("server '%s': no 'listening PORT' line in %.0f s%s"
                                     % (self.name(), timeout, self.errors()))
            if line is None:
                raise AssertionError("server '%s' exited before listening (status %s)%s"
                                     % (self.name(), self.proc.poll(), self.errors()))
            if line.startswith("listening "):
                self.port = int(line.split()[1])
                return self.port

    def wait_http(self, port, timeout=LISTEN_TIMEOUT, path="/"):
        """Poll GET path until it answers 200 (for servers that print nothing)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server '%s' exited with status %s before answering%s"
                                     % (self.name(), self.proc.returncode, self.errors()))
            try:
                status, _ = http_get(port, path, timeout=1.0)
                if status == 200:
                    self.port = port
                    return port
                last = "HTTP status %d" % status
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise HarnessTimeout("server '%s' did not answer GET %s on port %d within %.0f s (%s)%s"
                             % (self.name(), path, port, timeout, last, self.errors()))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.proc.stdout.close()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def c_server():
    """build/tests/server on an ephemeral port, listening."""
    srv = Server([workload("server"), "0"])
    try:
        srv.wait_listening()
    except BaseException:
        srv.close()
        raise
    return srv


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def require_fastapi():
    """Skip unless Debian's python3 can import fastapi and uvicorn."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise Skip("%s not installed" % SYSTEM_PYTHON)
    res = subprocess.run([SYSTEM_PYTHON, "-c", "import fastapi, uvicorn"], capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=60)
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip().splitlines()
        raise Skip("fastapi/uvicorn cannot be imported by %s (apt-get install python3-fastapi "
                   "python3-uvicorn): %s" % (SYSTEM_PYTHON, err[-1] if err else "?"))


def uvicorn_server():
    """tests/workloads/fastapi_app.py under uvicorn (one process: --workers 1),
    answering on a free port."""
    require_fastapi()
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = WORKLOADS_SRC
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the source tree
    argv = [SYSTEM_PYTHON, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-access-log"]
    srv = Server(argv, cwd=WORKLOADS_SRC, env=env)
    try:
        srv.wait_http(port, timeout=30.0)
    except BaseException:
        srv.close()
        raise
    return srv


def http_get(port, path, timeout=2.0):
    """(status, body) of GET path on 127.0.0.1:port over HTTP/1.0."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode(errors="replace")


def keepalive_load(port, path, count, rate=0, timeout=5.0):
    """count GETs of path over ONE HTTP/1.1 keep-alive connection (Python's
    http.client), at most rate per second (0: as fast as answered). Fails unless
    every answer is 200 and keeps the connection open. Returns (sent, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    local = None
    try:
        for i in range(count):
            if rate:
                ahead = t0 + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200 or resp.will_close:
                raise AssertionError("keep-alive GET %s #%d: HTTP status %d, %s"
                                     % (path, i + 1, resp.status,
                                        "connection closed" if resp.will_close else "kept"))
            if local is None:
                local = conn.sock.getsockname()
            elif conn.sock.getsockname() != local:
                raise AssertionError("keep-alive GET %s #%d went over a new connection"
                                     % (path, i + 1))
    finally:
        conn.close()
    return count, time.monotonic() - t0


def metric_sum(port, name, path="/metrics"):
    """The sum of every sample of name on the server's metrics page."""
    status, body = http_get(port, path)
    if status != 200:
        raise AssertionError("GET %s: HTTP status %d" % (path, status))
    total = 0.0
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        metric = line.split("{", 1)[0].split(" ", 1)[0]
        if metric == name:
            total += float(line.rsplit(" ", 1)[1])
    return total


# ---------------------------------------------------------------------------
# Request sources.

def require_requests_option():
    """Fail (not skip) when build/agentleak has no --requests option yet: the
    bad-source tests would pass for the wrong reason."""
    require_agentleak()
    res = subprocess.run([AGENTLEAK, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=10)
    if b"--requests" not in res.stdout + res.stderr:
        raise AssertionError("%s --help does not mention --requests: the trend engine is not "
                             "built in" % AGENTLEAK)


def uprobe_source(srv, symbol="handle_request"):
    return "uprobe:%s:%s" % (srv.path, symbol)


def usdt_source(srv, provider="agentleak_test", name="request"):
    return "usdt:%s:%s:%s" % (srv.path, provider, name)


def metric_source(srv, name="app_requests_total"):
    return "metric:http://127.0.0.1:%d/metrics:%s" % (srv.port, name)


def requests_alongside(pid, source, drive, extra=("--mode", "growth")):
    """Call drive() while a second agentleak (-p pid --requests source extra) traces
    pid too; returns (what drive returned, the requests on that agentleak's final
    memory line for pid, or None)."""
    argv = [AGENTLEAK, "-p", str(pid), "--requests", source] + list(extra) + ["60"]
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            preexec_fn=die_with_parent)
    try:
        wait_for_stderr(proc, err, "tracing", time.monotonic() + TRACING_TIMEOUT)
        result = drive()
        proc.send_signal(signal.SIGINT)
        if wait_proc(proc, time.monotonic() + STOP_TIMEOUT) is None:
            raise HarnessTimeout("agentleak %s did not exit within %.0f s of SIGINT"
                                 % (" ".join(argv[1:]), STOP_TIMEOUT))
        proc_line = parse_final(read_file(out))["processes"].get(pid) or {}
        return result, (proc_line.get("memory") or {}).get("requests")
    finally:
        stop_agentleak(proc)
        out.close()
        err.close()


# ---------------------------------------------------------------------------
# Memory cgroups.

class memory_cgroup:
    """with memory_cgroup(pid, limit) as cg: pid runs in a new memory cgroup
    limited to limit bytes, made under the test's own memory cgroup (v1:
    memory.limit_in_bytes; v2: memory.max). On exit the pid (if still there)
    goes back to the parent and the cgroup is removed."""

    V1 = "/sys/fs/cgroup/memory"
    V2 = "/sys/fs/cgroup"

    def __init__(self, pid, limit):
        self.pid = pid
        self.limit = limit
        self.dir = None
        self.parent = None
        self.version = None

    def own_path(self, controller_line):
        with open("/proc/self/cgroup") as f:
            for line in f:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3 and controller_line(parts[1]):
                    return parts[2]
        return "/"

    def __enter__(self):
        require_root()
        name = "agentleak-%d" % self.pid
        if os.path.exists(os.path.join(self.V1, "memory.limit_in_bytes")):
            self.version = 1
            own = self.own_path(lambda c: "memory" in c.split(","))
            self.parent = os.path.join(self.V1, own.lstrip("/"))
            if not os.path.isdir(self.parent):
                self.parent = self.V1
            limit_file = "memory.limit_in_bytes"
        elif os.path.exists(os.path.join(self.V2, "cgroup.controllers")):
            self.version = 2
            own = self.own_path(lambda c: c == "")
            self.parent = os.path.join(self.V2, own.lstrip("/"))
            with open(os.path.join(self.parent, "cgroup.subtree_control")) as f:
                if "memory" not in f.read().split():
                    raise Skip("cgroup v2: memory controller not enabled in %s" % self.parent)
            limit_file = "memory.max"
        else:
            raise Skip("no memory cgroup controller mounted")
        self.dir = os.path.join(self.parent, name)
        os.mkdir(self.dir)
        try:
            with open(os.path.join(self.dir, limit_file), "w") as f:
                f.write(str(self.limit))
            with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
                f.write(str(self.pid))
        except BaseException:
            self.remove()
            raise
        return self

    def remove(self):
        if self.dir is None:
            return
        procs = os.path.join(self.dir, "cgroup.procs")
        deadline = time.monotonic() + 3.0
        while os.path.isdir(self.dir):
            try:
                os.rmdir(self.dir)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
            try:  # still populated: move what is left back to the parent
                with open(procs) as f:
                    left = [p for p in f.read().split() if p]
                for p in left:
                    with open(os.path.join(self.parent, "cgroup.procs"), "w") as f:
                        f.write(p)
            except OSError:
                pass
            time.sleep(0.05)
        self.dir = None

    def __exit__(self, *exc):
        self.remove()
        return False


# ---------------------------------------------------------------------------
# Load.

class Load:
    """count requests of the comma-separated paths at rate per second (0: as fast
    as the server answers), for at most max_seconds (default: count/rate + 8 s).
    With must_finish=False the load may stop at max_seconds (a time-bounded
    load); every request sent must still be answered 200."""

    def __init__(self, paths, count, rate=0, max_seconds=None, must_finish=True):
        self.paths = paths
        self.count = count
        self.rate = rate
        if max_seconds is None:
            max_seconds = (count / rate if rate else 10.0) + 8.0
        self.max_seconds = max_seconds
        self.must_finish = must_finish

    def argv(self, port):
        return [LOADGEN, str(port), self.paths, str(self.count), str(self.rate),
                str(self.max_seconds)]

    def describe(self):
        rate = "%g/s" % self.rate if self.rate else "full speed"
        return "%d x %s at %s (max %g s)" % (self.count, self.paths, rate, self.max_seconds)


def run_load(port, load):
    """Run loadgen; returns (sent, ok, seconds). Fails if it could not run or a
    request failed."""
    if not os.access(LOADGEN, os.X_OK):
        raise AssertionError("%s missing (run make)" % LOADGEN)
    t0 = time.monotonic()
    try:
        res = subprocess.run(load.argv(port), stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=load.max_seconds + 15, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise AssertionError("loadgen %s still running after %.0f s" % (load.describe(),
                                                                        load.max_seconds + 15))
    seconds = time.monotonic() - t0
    out = res.stdout.decode(errors="replace").split()
    try:
        sent, ok = int(out[-3]), int(out[-1])
    except (IndexError, ValueError):
        raise AssertionError("loadgen %s: no 'sent N ok M' line (status %d): %s"
                             % (load.describe(), res.returncode,
                                (res.stdout + res.stderr).decode(errors="replace")))
    if ok != sent or (load.must_finish and sent != load.count):
        raise AssertionError("loadgen %s: sent %d ok %d in %.1f s (status %d): the server "
                             "failed requests" % (load.describe(), sent, ok, seconds,
                                                  res.returncode))
    return sent, ok, seconds


# ---------------------------------------------------------------------------
# A trend run.

class TrendRun:
    """What trend_run produced, and the problems the checks found."""

    def __init__(self, srv, source):
        self.srv = srv
        self.pid = srv.pid
        self.source = source
        self.argv = []
        self.returncode = None
        self.stdout = ""
        self.stderr = ""
        self.reports = []          # every report, interval and final, in order
        self.final = None          # the final report, or None
        self.report_error = None
        self.loads = []            # (Load, sent, ok, seconds)
        self.problems = []

    def requests_sent(self):
        return sum(sent for _, sent, _, _ in self.loads)

    def details(self, funcs=()):
        text = "\n--- agentleak %s" % " ".join(self.argv[1:])
        text += "\n--- load: %s" % "; ".join(
            "%s: sent %d ok %d in %.1f s" % (ld.describe(), sent, ok, secs)
            for ld, sent, ok, secs in self.loads)
        for func in funcs:
            text += "\n--- verdicts of %s, per report ---\n%s" % (func, self.history_text(func))
        text += "\n--- agentleak stderr ---\n" + (tail(self.stderr, 20) or "(empty)")
        final = self.final_text()
        if final is not None:
            text += "\n--- final report ---\n" + tail(final, 60)
        else:
            text += "\n--- agentleak stdout (no final report) ---\n" + (tail(self.stdout, 40)
                                                                       or "(empty)")
        return text

    def final_text(self):
        lines = self.stdout.splitlines()
        for i in range(len(lines) - 1, -1, -1):
            if lines[i].strip() == "=== agentleak final report ===":
                return "\n".join(lines[i:])
        return None

    def history(self, func):
        """[(report index, final, requests of the memory line, [(kind, verdict)])]
        for the stacks of the server with frame #0 in func."""
        rows = []
        for i, rep in enumerate(self.reports):
            mem = (rep["processes"].get(self.pid) or {}).get("memory") or {}
            stacks = stacks_by_frame0(rep["stacks"], self.pid, func)
            rows.append((i, rep["final"], mem.get("requests"),
                         [(s["kind"], s["live_bytes"], s["verdict"]) for s in stacks]))
        return rows

    def history_text(self, func):
        out = []
        for i, final, requests, stacks in self.history(func):
            what = ", ".join("%s %d B live: %s" % (kind, live, v["text"] if v else "(no verdict)")
                             for kind, live, v in stacks) or "(no stack)"
            out.append("  %s %d (%s requests): %s" % ("final" if final else "report", i,
                                                      requests, what))
        return "\n".join(out) or "  (no report)"

    def fail(self, msg, funcs=()):
        raise AssertionError(msg + self.details(funcs))

    def problem(self, msg):
        self.problems.append(msg)

    def finish(self, funcs=()):
        if not self.problems:
            return
        first = self.problems[0].splitlines()[0]
        if len(self.problems) > 1:
            first += " (and %d more problems)" % (len(self.problems) - 1)
        body = "\n".join("* " + p.replace("\n", "\n  ") for p in self.problems)
        raise AssertionError(first + "\n" + body + self.details(funcs))


def agentleak_trend_argv(pid, source, interval, top, extra):
    argv = [AGENTLEAK, "-p", str(pid), "-T", str(top)]
    if source:
        argv += ["--requests", source]
    return argv + list(extra) + [str(interval)]


def trend_run(srv, source, loads, interval=2, top=50, extra=(), settle=SETTLE, timeout=60.0):
    """Attach agentleak (-p srv.pid -T top [--requests source] extra interval) to a
    running server, wait for "tracing", run the loads one after the other, wait
    settle seconds, SIGINT agentleak and parse every report. Returns a TrendRun
    (raises AssertionError when the harness itself cannot go on).

    srv: a Server, or any object with pid, port, alive(), name() and errors().
    loads: a Load, a list of them, or a function drive(run) that makes the
    target work instead (run.loads stays empty then)."""
    require_root()
    require_requests_option()
    if isinstance(loads, Load):
        loads = [loads]
    drive = loads if callable(loads) else None
    run = TrendRun(srv, source)
    run.argv = agentleak_trend_argv(srv.pid, source, interval, top, extra)
    deadline = time.monotonic() + timeout
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    proc = None
    try:
        proc = subprocess.Popen(run.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                preexec_fn=die_with_parent)
        wait_for_stderr(proc, err, "tracing", min(deadline, time.monotonic() + TRACING_TIMEOUT))
        if drive is not None:
            drive(run)
        for ld in ([] if drive is not None else loads):
            if not srv.alive():
                raise AssertionError("server '%s' died%s" % (srv.name(), srv.errors()))
            sent, ok, secs = run_load(srv.port, ld)
            run.loads.append((ld, sent, ok, secs))
        time.sleep(settle)
        if proc.poll() is not None:
            raise AssertionError("agentleak exited with status %s during the load"
                                 % proc.returncode)
        proc.send_signal(signal.SIGINT)
        if wait_proc(proc, min(deadline, time.monotonic() + STOP_TIMEOUT)) is None:
            raise HarnessTimeout("agentleak did not exit within %.0f s of SIGINT" % STOP_TIMEOUT)
        run.returncode = proc.returncode
    except AssertionError as e:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        run.stdout = read_file(out)
        run.stderr = read_file(err)
        e.args = (str(e) + "\n--- agentleak %s\n--- agentleak stderr ---\n%s\n--- stdout ---\n%s"
                  % (" ".join(run.argv[1:]), tail(run.stderr, 20) or "(empty)",
                     tail(run.stdout, 20) or "(empty)"),)
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        run.stdout = read_file(out)
        run.stderr = read_file(err)
        out.close()
        err.close()
    run.reports = parse_reports(run.stdout)
    finals = [r for r in run.reports if r["final"]]
    if finals:
        run.final = finals[-1]
    else:
        run.report_error = "no '=== agentleak final report ===' line in the output"
    return run


# ---------------------------------------------------------------------------
# Checks.

def check_trend_run(run, funcs=()):
    """What every trend test needs first (stops the test): agentleak exited 0,
    said where requests come from, printed a final report with the server's
    process line and memory line; the server is still alive."""
    if run.returncode != 0:
        run.fail("agentleak exit status %s, expected 0" % run.returncode, funcs)
    if run.final is None:
        run.fail("no final report: %s" % run.report_error, funcs)
    if run.pid not in run.final["processes"]:
        run.fail("no process line for the server (pid %d) in the final report" % run.pid, funcs)
    lines = run.stderr.splitlines()
    if run.source:
        want = "agentleak: requests from "
        if not any(line.startswith(want) for line in lines):
            run.problem("no '%s...' line on stderr" % want)
    elif "agentleak: no request source: verdicts per hour of time" not in lines:
        run.problem("no 'agentleak: no request source: verdicts per hour of time' line on stderr")
    for line in lines:
        if line.startswith("agentleak: warning:"):
            run.problem("unexpected warning: %s" % line)
    for i, rep in enumerate(run.reports):
        proc = rep["processes"].get(run.pid)
        if proc is None:
            continue
        if proc["memory"] is None:
            run.problem("%s has no 'memory:' line after the server's process line"
                        % report_name(run, i))
            break
        if run.source and proc["memory"]["requests"] is None:
            run.problem("%s: memory line without '; N requests': %r"
                        % (report_name(run, i), proc["memory"]["tail"]))
            break
    broken = [line for rep in run.reports for line in rep["unparsed"]
              if line.strip().startswith(("verdict:", "memory:", "cgroup:", "leaks:", "pid ",
                                          "[", "#", "losses:", "threads:", "thread leaks:"))]
    if broken:
        run.problem("report lines that almost follow the contract:\n  "
                    + "\n  ".join(broken[:8]))
    for rep in run.reports:
        for s in rep["stacks"]:
            v = s["verdict"]
            if v and v["kind"] not in ("leak", "growing", "plateau", "transient", "stable"):
                run.problem("unknown verdict kind: %s" % v["text"])
    if not run.srv.alive():
        run.fail("the target '%s' died under agentleak%s" % (run.srv.name(), run.srv.errors()),
                 funcs)


def report_name(run, i):
    rep = run.reports[i]
    return "the final report" if rep["final"] else "interval report %d" % (i + 1)


def main_stack(rep, pid, func):
    """The stack of pid with frame #0 in func holding the most live bytes, or None."""
    stacks = stacks_by_frame0(rep["stacks"], pid, func)
    return max(stacks, key=lambda s: s["live_bytes"]) if stacks else None


def within(value, expected, tolerance):
    return value is not None and abs(value - expected) <= tolerance * expected


def expect_leak_rate(run, func, expected, tolerance, unit="request"):
    """In the final report the server's stack with frame #0 func has the verdict
    leak at expected B/request (+-tolerance, a fraction), and the leaks: line
    is there."""
    rep = run.final
    s = main_stack(rep, run.pid, func)
    if s is None:
        run.problem("final report: no stack of pid %d with frame #0 in %s; stacks:\n%s"
                    % (run.pid, func, format_stacks([x for x in rep["stacks"]
                                                     if x["pid"] == run.pid][:10])))
        return None
    v = s["verdict"]
    if v is None:
        run.problem("final report: %s stack has no verdict line" % func)
        return None
    if v["kind"] != "leak":
        run.problem("final report: %s verdict '%s', expected leak: %s" % (func, v["kind"],
                                                                          v["text"]))
        return v
    if v["unit"] != unit:
        run.problem("final report: %s rate in B/%s, expected B/%s: %s"
                    % (func, v["unit"], unit, v["text"]))
    elif not within(v["rate"], expected, tolerance):
        run.problem("final report: %s leaks %.1f B/%s, expected %.1f +-%d%%: %s"
                    % (func, v["rate"], unit, expected, round(tolerance * 100), v["text"]))
    if v["ci"] and not v["ci"][0] <= v["rate"] <= v["ci"][1]:
        run.problem("final report: %s rate %.1f outside its own CI %s" % (func, v["rate"],
                                                                          v["ci"]))
    if rep["leaks"] is None:
        run.problem("final report: a stack has the verdict leak but there is no 'leaks:' line")
    return v


def leak_verdicts(run, func=None):
    """[(report index, stack)] of every verdict leak (of the server's stacks
    with frame #0 func, or of any stack) in every report."""
    found = []
    for i, rep in enumerate(run.reports):
        for s in rep["stacks"]:
            if s["verdict"] and s["verdict"]["kind"] == "leak":
                if func is None or (s["pid"] == run.pid and frame0(s).startswith(func + "+")):
                    found.append((i, s))
    return found


def expect_never_leak(run, func=None):
    """No report gives the verdict leak to func's stacks (or to any stack, and
    then no report has a leaks: line)."""
    found = leak_verdicts(run, func)
    for i, s in found[:5]:
        run.problem("%s: %s has the verdict leak: %s\n%s"
                    % (report_name(run, i), func or "a stack", s["verdict"]["text"],
                       format_stacks([s])))
    if len(found) > 5:
        run.problem("... and %d more leak verdicts" % (len(found) - 5))
    if func is None:
        for i, rep in enumerate(run.reports):
            if rep["leaks"] is not None:
                run.problem("%s has a leaks: line: %s" % (report_name(run, i),
                                                          rep["leaks"]["text"]))
                break


class WorkloadTarget:
    """A started agentleak_test.Workload (the ready/SIGUSR1/done protocol) seen
    as a trend_run target."""

    def __init__(self, w):
        self.w = w
        self.pid = w.pid
        self.port = None

    def alive(self):
        return self.w.proc.poll() is None

    def name(self):
        return self.w.name()

    def errors(self):
        return self.w.errors()


def expect_requests(run, expected):
    """The final memory line counts exactly expected requests."""
    mem = run.final["processes"][run.pid]["memory"]
    if mem is None:
        return  # check_trend_run said so already
    if mem["requests"] != expected:
        run.problem("final report: memory line says %s requests, expected %d (the load sent "
                    "%d): %r" % (mem["requests"], expected, run.requests_sent(), mem["tail"]))


def expect_live(run, func, live_bytes):
    """The final report's stacks of the server with frame #0 func hold live_bytes."""
    got = sum(s["live_bytes"] for s in stacks_by_frame0(run.final["stacks"], run.pid, func))
    if got != live_bytes:
        run.problem("final report: %s holds %d B live, expected %d" % (func, got, live_bytes))


def expect_server_answers(srv, path="/steady"):
    """After agentleak: the server is alive and still answers."""
    if not srv.alive():
        raise AssertionError("the server died%s" % srv.errors())
    try:
        status, _ = http_get(srv.port, path)
    except OSError as e:
        raise AssertionError("the server does not answer GET %s any more: %s" % (path, e))
    if status != 200:
        raise AssertionError("the server answers GET %s with HTTP status %d" % (path, status))
