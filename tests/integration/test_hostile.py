"""Integration tests: agentleak runs as root, reads what a target controls and writes
where it is pointed; none of that may steer it (issue 10). Each test is one way found
to break it: output files through links or another user's file, two outputs on one
file, writes that fail, a target that renames itself with a newline and a terminal
escape, one whose executable became a FIFO, one that executes another program, a
thread id for a PID, a static binary's frames, a full live-block map, a closed
stdout, SIGHUP, and the listener's address.

The target that plays these tricks is tests/workloads/hostile.c (modes name, thread,
exec; hostile_static is the same program linked statically)."""

import os
import re
import signal
import stat
import subprocess
import tempfile
import time

from agentleak_test import (AGENTLEAK, TOP_ARGS, check_run, die_with_parent, expect_leak,
                            format_stacks,
                            expect_nothing_live, read_file, require_agentleak, require_root,
                            run_agentleak_error, run_workload_under_agentleak, running_workload,
                            start_workload, tail, wait_for_stderr, wait_proc, workload)
from report import ReportError, parse_final, stacks_by_frame0
from trend_test import (Load, c_server, check_trend_run, free_port, http_get, main_stack,
                        trend_run, uprobe_source)

NOBODY = 65534
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # any control byte but tab and newline


def hostile(mode, static=False):
    return [workload("hostile_static" if static else "hostile"), mode]


class Traced:
    """A workload (already started) under `agentleak ARGS` with stdout/stderr in
    temporary files; stop() sends SIGINT and returns (status, stdout, stderr)."""

    def __init__(self, args, stdout=None, umask=None):
        require_agentleak()
        self.argv = [AGENTLEAK] + [str(a) for a in args]
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()

        def pre():
            die_with_parent()
            if umask is not None:
                os.umask(umask)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=stdout if stdout is not None else self.out,
                                     stderr=self.err, preexec_fn=pre)

    def wait_tracing(self, timeout=30):
        wait_for_stderr(self.proc, self.err, "tracing", time.monotonic() + timeout)

    def stop(self, sig=signal.SIGINT, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        status = wait_proc(self.proc, time.monotonic() + timeout)
        if status is None:
            self.proc.kill()
            self.proc.wait()
        out, err = read_file(self.out), read_file(self.err)
        self.out.close()
        self.err.close()
        if status is None:
            raise AssertionError("agentleak %s: still running %d s after signal %d\n--- "
                                 "stderr ---\n%s" % (" ".join(self.argv[1:]), timeout, sig,
                                                     tail(err, 15)))
        return status, out, err


def fail(what, status, out, err):
    raise AssertionError("%s\n--- exit status %s\n--- stderr ---\n%s\n--- stdout ---\n%s"
                         % (what, status, tail(err, 15) or "(empty)", tail(out, 25) or "(empty)"))


# ---------------------------------------------------------------------------
# 1. Output files: never through a link, never another user's, one rule for all.

def test_json_file_hard_link_refused():
    """--json-file that is a hard link to another file (root's, say /etc/shadow) is
    refused: appending would write into that file."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp, running_workload(hostile("plain")) as w:
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("secret\n")
        path = os.path.join(tmp, "a.json")
        os.link(victim, path)
        line = run_agentleak_error(["-p", w.pid, "--json-file", path])
        with open(victim) as f:
            content = f.read()
        if content != "secret\n":
            raise AssertionError("the hard-linked victim was written: %r (%s)" % (content, line))
        if "hard link" not in line:
            raise AssertionError("the refusal does not say why: %s" % line)


def test_json_file_of_another_user_in_shared_dir_refused():
    """In a world-writable directory (/tmp), a --json-file that another user created
    beforehand is refused: root would append to a file they control."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp, running_workload(hostile("plain")) as w:
        os.chmod(tmp, 0o1777)
        path = os.path.join(tmp, "a.json")
        with open(path, "w") as f:
            f.write("")
        os.chown(path, NOBODY, NOBODY)
        line = run_agentleak_error(["-p", w.pid, "--json-file", path])
        if os.path.getsize(path) != 0 or "anyone can write" not in line:
            raise AssertionError("another user's file was accepted or the reason is unclear: "
                                 "%s (size %d)" % (line, os.path.getsize(path)))


def test_same_file_for_two_outputs_refused():
    require_root()
    with tempfile.TemporaryDirectory() as tmp, running_workload(hostile("plain")) as w:
        path = os.path.join(tmp, "out")
        line = run_agentleak_error(["-p", w.pid, "--pprof", path, "--html", path])
        if "same file" not in line:
            raise AssertionError("unclear refusal: %s" % line)
        run_agentleak_error(["-p", w.pid, "--folded", path, "--json-file",
                             os.path.join(tmp, ".", "out")])


def test_output_files_are_0644_whatever_the_umask():
    require_root()
    with tempfile.TemporaryDirectory() as tmp:
        files = {opt: os.path.join(tmp, name) for opt, name in
                 (("--pprof", "p.pb.gz"), ("--html", "r.html"), ("--folded", "f.txt"),
                  ("--json-file", "r.json"))}
        args = [x for opt, path in files.items() for x in (opt, path)]
        old = os.umask(0)
        try:
            run = run_workload_under_agentleak(hostile("plain"), extra_agentleak_args=args)
        finally:
            os.umask(old)
        check_run(run)
        for opt, path in files.items():
            mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
            if mode != 0o644:
                run.problem("%s %s: mode %s under umask 000, expected 0644"
                            % (opt, path, oct(mode) if mode is not None else "(missing)"))
        run.finish()


# ---------------------------------------------------------------------------
# 3. Lost output is an error, never silent.

def test_full_filesystem_is_an_error():
    """--json-file on a full filesystem: a warning per lost report and exit status 1
    with one line saying output was lost."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full")
        os.mkdir(full)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", full], check=True)
        try:
            with open(os.path.join(full, "fill"), "wb") as f:
                try:
                    f.write(b"\0" * 65536)
                except OSError:
                    pass
            path = os.path.join(full, "r.json")
            with running_workload(hostile("plain")) as w:
                t = Traced(["-p", w.pid, "--json-file", path, "0.5"])
                t.wait_tracing()
                time.sleep(1.2)
                status, out, err = t.stop()
        finally:
            subprocess.run(["umount", full], check=False)
        if status != 1 or "No space left on device" not in err or "output was lost" not in err:
            fail("a full filesystem under --json-file: expected exit status 1, a warning and "
                 "'output was lost'", status, out, err)


def test_symlink_planted_mid_run_is_an_error():
    """A symbolic link put where --pprof writes, while agentleak runs: the final profile
    is not written through it (the link's target stays untouched) and the run fails."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp, running_workload(hostile("plain")) as w:
        path, victim = os.path.join(tmp, "heap.pb.gz"), os.path.join(tmp, "victim")
        t = Traced(["-p", w.pid, "--pprof", path])
        t.wait_tracing()
        os.symlink(victim, path)
        w.signal(signal.SIGUSR1)
        w.expect_line("done", time.monotonic() + 10)
        status, out, err = t.stop()
        if os.path.exists(victim) or not os.path.islink(path):
            fail("the profile was written through the planted link", status, out, err)
        if status != 1 or "symbolic link" not in err:
            fail("a final profile that could not be written: expected exit status 1 and why",
                 status, out, err)


def test_stdout_closed_ends_the_run():
    """agentleak ... | head -3: once the reader is gone the run ends (probes detached)
    with one line on stderr, instead of tracing forever."""
    require_root()
    with running_workload(hostile("plain")) as w:
        r, wfd = os.pipe()
        t = Traced(["-p", w.pid, "0.3"], stdout=wfd)
        os.close(wfd)
        try:
            t.wait_tracing()
            with os.fdopen(r, "rb") as reader:
                for _ in range(3):
                    reader.readline()
            status, out, err = t.stop(sig=0, timeout=10)  # no signal: it must end by itself
        finally:
            if t.proc.poll() is None:
                t.proc.kill()
        if status != 1 or "standard output was closed" not in err:
            fail("stdout closed: expected exit status 1 and a line saying so", status, out, err)


# ---------------------------------------------------------------------------
# 2. and 4. What the target controls: its name, its files.

def test_comm_with_newline_and_escape():
    """A target named "x\\ny\\e[2J" (prctl) stays traced, is not reported as exited, and
    its name is printed escaped: no raw control byte in any output."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp:
        prom = os.path.join(tmp, "a.prom")
        jpath = os.path.join(tmp, "a.json")
        run = run_workload_under_agentleak(hostile("name"), extra_agentleak_args=[
            "--prom-file", prom, "--keep", "--json-file", jpath])
        check_run(run)
        pid = run.pids[0]
        if "exited" in run.stderr:
            run.problem("the renamed target was reported as exited")
        expect_leak(run, pid, "leak_named", "malloc", 40960, 10)
        if "(x\\x0ay\\x1b[2J)" not in run.stdout:
            run.problem("the process line does not show the escaped name x\\x0ay\\x1b[2J")
        for what, text in (("stdout", run.stdout), ("stderr", run.stderr),
                           ("--prom-file", open(prom).read()), ("--json-file", open(jpath).read())):
            m = CONTROL.search(text)
            if m:
                run.problem("%s holds a raw control byte %r" % (what, m.group(0)))
        run.finish()


def test_executable_replaced_by_fifo_does_not_hang():
    """The target's executable path now names a FIFO (bind-mounted over it): agentleak
    must not block opening it."""
    require_root()
    with tempfile.TemporaryDirectory() as tmp:
        prog, fifo = os.path.join(tmp, "prog"), os.path.join(tmp, "fifo")
        with open(workload("hostile"), "rb") as src, open(prog, "wb") as dst:
            dst.write(src.read())
        os.chmod(prog, 0o755)
        os.mkfifo(fifo)
        w = start_workload([prog, "plain"])
        mounted = False
        try:
            subprocess.run(["mount", "--bind", fifo, prog], check=True)
            mounted = True
            t0 = time.monotonic()
            res = subprocess.run([AGENTLEAK, "-p", str(w.pid), "-d", "1"], capture_output=True,
                                 stdin=subprocess.DEVNULL, timeout=30, preexec_fn=die_with_parent)
            took = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            raise AssertionError("agentleak hangs on a target whose executable became a FIFO")
        finally:
            if mounted:
                subprocess.run(["umount", prog], check=False)
            w.stop()
            w.close()
        if res.returncode != 0 or took > 20:
            raise AssertionError("exit status %d after %.1f s\n%s"
                                 % (res.returncode, took, res.stderr.decode(errors="replace")))


# ---------------------------------------------------------------------------
# 5. Numbers that must stay right.

def test_exec_forgets_the_old_program():
    """The target executes another program: what the old one allocated is gone, the new
    one's allocations are counted exactly."""
    run = run_workload_under_agentleak(hostile("exec"))
    check_run(run)
    pid = run.pids[0]
    if "executed a new program" not in run.stderr:
        run.problem("no 'executed a new program' line on stderr")
    expect_nothing_live(run, pid, "leak_before_exec")
    expect_leak(run, pid, "leak_after_exec", "malloc", 5 * 8192, 5)
    run.finish()


def test_thread_id_is_taken_for_its_process():
    """-p TID of a second thread: the process is traced, the header counts its memory."""
    require_root()
    w = start_workload(hostile("thread"))
    try:
        tid = int(w.expect_line("thread ", time.monotonic() + 10).split()[1])
        t = Traced(["-p", tid] + TOP_ARGS)
        t.wait_tracing()
        w.signal(signal.SIGUSR1)
        w.expect_line("done", time.monotonic() + 10)
        time.sleep(0.5)
        status, out, err = t.stop()
    finally:
        w.stop()
        w.close()
    try:
        rep = parse_final(out)
    except ReportError as e:
        fail("no final report: %s" % e, status, out, err)
    proc = rep["processes"].get(w.pid)
    if status != 0 or "is a thread of process %d" % w.pid not in err or proc is None:
        fail("-p %d (a thread of %d): expected the process traced and a line saying so"
             % (tid, w.pid), status, out, err)
    if proc["live_bytes"] < 40960 or not stacks_by_frame0(rep["stacks"], w.pid, "leak_threaded"):
        fail("the process line holds %d B; expected leak_threaded's 40960 B under pid %d"
             % (proc["live_bytes"], w.pid), status, out, err)


def test_static_binary_frames():
    """malloc linked into a static binary has a frame pointer: frame #1 must be the
    caller's caller, not the caller again."""
    run = run_workload_under_agentleak(hostile("plain", static=True))
    check_run(run)
    pid = run.pids[0]
    expect_leak(run, pid, "leak_named", "malloc", 40960, 10)
    for s in stacks_by_frame0(run.report["stacks"], pid, "leak_named"):
        frames = s["frames"]
        if len(frames) < 2 or frames[1].split("+")[0] != "main":
            run.problem("leak_named's frames: %s; expected frame #1 in main" % frames[:3])
    run.finish()


def test_self_is_refused():
    line = run_agentleak_error([], prefix=["sh", "-c", 'exec "$0" -p $$'])
    if "itself" not in line:
        raise AssertionError("unclear refusal: %s" % line)


def test_alloc_map_full_keeps_the_verdict():
    """A steady leak whose blocks no longer fit the live-block map: its live bytes stop
    growing in the map, but the verdict must not flip from leak to plateau; the stack
    says it is unreliable."""
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), Load("/leak", 4000, 400),
                        extra=("--max-allocs", "2048"))
        check_trend_run(run, ["leak_fixed"])
        s = main_stack(run.final, run.pid, "leak_fixed")
        if s is None:
            run.fail("no leak_fixed stack in the final report", ["leak_fixed"])
        if not s.get("untracked"):
            run.problem("leak_fixed lost blocks but has no 'unreliable:' line")
        if not s["verdict"] or s["verdict"]["kind"] != "leak":
            run.problem("leak_fixed reads %s after the map filled, expected leak (frozen)"
                        % (s["verdict"]["text"] if s["verdict"] else "no verdict"))
        run.finish(["leak_fixed"])


# ---------------------------------------------------------------------------
# 6. Signals and the listener.

def test_sighup_gives_the_final_report():
    require_root()
    with tempfile.TemporaryDirectory() as tmp, running_workload(hostile("plain")) as w:
        prom = os.path.join(tmp, "a.prom")
        t = Traced(["-p", w.pid, "--prom-file", prom, "1"])
        t.wait_tracing()
        time.sleep(1.5)
        status, out, err = t.stop(sig=signal.SIGHUP)
        if status != 0 or "=== agentleak final report ===" not in out or os.path.exists(prom):
            fail("SIGHUP: expected exit 0, a final report and the textfile removed",
                 status, out, err)


def test_listen_says_where_and_warns_when_exposed():
    require_root()
    with running_workload(hostile("plain")) as w:
        for arg, exposed in (("0", False), ("0.0.0.0:0", True)):
            res = subprocess.run([AGENTLEAK, "-p", str(w.pid), "--listen", arg, "-d", "0.5"],
                                 capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                                 preexec_fn=die_with_parent)
            err = res.stderr.decode(errors="replace")
            m = re.search(r"^agentleak: metrics at http://[0-9.]+:(\d+)/metrics$", err, re.M)
            if res.returncode != 0 or not m or int(m.group(1)) == 0:
                raise AssertionError("--listen %s: no 'metrics at ...:PORT' line with the port "
                                     "chosen\n%s" % (arg, err))
            if exposed != ("every network interface" in err):
                raise AssertionError("--listen %s: the exposure warning is %s\n%s"
                                     % (arg, "missing" if exposed else "wrong", err))


def test_metrics_survive_a_connection_flood():
    """A flood of connections that never send a request (tests/workloads/flood.c, some
    hundred thousand per second) must not keep /metrics from its real clients: 20
    scrapes during the flood all succeed."""
    require_root()
    with running_workload(hostile("plain")) as w:
        port = free_port()
        t = Traced(["-p", w.pid, "--listen", "127.0.0.1:%d" % port, "1"])
        flood = None
        ok, errors = 0, []
        try:
            t.wait_tracing()
            time.sleep(0.5)  # the first sample fills the page
            flood = subprocess.Popen([workload("flood"), str(port), "8"], stdout=subprocess.PIPE,
                                     preexec_fn=die_with_parent)
            time.sleep(0.5)
            for _ in range(20):
                try:
                    status, _ = http_get(port, "/metrics", timeout=2.0)
                    ok += status == 200
                except OSError as e:
                    errors.append(str(e))
        finally:
            if flood is not None:
                flood.kill()
                flood.wait()
            status, out, err = t.stop()
        if ok != 20:
            fail("%d of 20 scrapes failed during a connection flood (%s)"
                 % (20 - ok, "; ".join(errors[:3])), status, out, err)


def test_no_stable_verdict_with_a_rising_interval():
    """A short-lived target whose stack rises steadily, by less than the 64 KiB minimum
    effect (60 x 1 KiB in 0.6 s): its verdict may not be 'stable' next to a 95% interval
    entirely above zero (it read 'stable, +100538 B/s (95% CI 99774..101281)')."""
    run = run_workload_under_agentleak(hostile("trickle"), exit_workload=True,
                                       extra_agentleak_args=["--sample-period", "0.05"])
    check_run(run, expect_exited=True)
    pid = run.pids[0]
    stacks = stacks_by_frame0(run.report["stacks"], pid, "leak_trickle")
    if not stacks or not any(s["verdict"] for s in stacks):
        run.problem("leak_trickle has no verdict")
    for s in stacks:
        v = s["verdict"]
        if v and v["ci"] and v["kind"] == "stable" and v["ci"][0] > 0:
            run.problem("contradiction: %s" % v["text"])
    run.finish()


def test_fake_python_cannot_derail_the_walk():
    """A C program that passes for CPython 3.11 (tests/workloads/fakepy.c) with a cyclic
    thread list, a cyclic frame chain of non-code objects, and a frame chain rewritten
    under the reader: the walk ends (bounded), the tracing stays exact, agentleak exits 0.
    Two frames a stack: a libc frame would cost seconds of debug-info loading per process."""
    modes = ["threads", "frames", "moving"]
    run = run_workload_under_agentleak([[workload("fakepy"), m] for m in modes],
                                       ["--stack-depth", "2", "-T", "5000"], timeout=60)
    check_run(run)
    for mode, pid in zip(modes, run.pids):
        if "pid %d runs CPython 3.11.0" % pid not in run.stderr:
            run.problem("fakepy %s (pid %d): not taken for CPython 3.11.0" % (mode, pid))
        mine = [s for s in run.report["stacks"] if s["pid"] == pid and s["kind"] == "malloc"
                and (s["frames"] and (s["frames"][0].startswith("leak_here+")
                                      or s["frames"][0].startswith("[python code 0x")))]
        got = (sum(s["live_bytes"] for s in mine), sum(s["live_objects"] for s in mine))
        if got != (300 * 100, 300):
            run.problem("fakepy %s (pid %d): expected 30000 B live in 300 objects at "
                        "leak_here or its fake Python frames, got %d B in %d:\n%s"
                        % (mode, pid, got[0], got[1], format_stacks(
                            [s for s in run.report["stacks"] if s["pid"] == pid][:6])))
        python = [s for s in mine if s["frames"][0].startswith("[python code 0x")]
        if mode == "threads" and python:
            run.problem("fakepy threads: a Python stack from a thread list that never holds "
                        "the thread:\n%s" % format_stacks(python))
        if mode == "frames" and (len(python) != 1 or len(python[0]["frames"]) != 2):
            run.problem("fakepy frames: expected one stack of fake Python frames (the cycle, "
                        "cut at --stack-depth 2), got:\n%s" % format_stacks(mine))
    run.finish()
