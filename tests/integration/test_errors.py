"""Integration tests: bad input. agentleak must fail with exit status 1..125,
exactly one stderr line "agentleak: <message>", nothing on stdout, within 10 s."""

import os
import re
import shlex
import shutil
import subprocess
import tempfile

from agentleak_test import AGENTLEAK, ROOT, Skip, run_agentleak_error, running_workload, workload

PID_MAX_LIMIT = 4194304  # above any pid_max: never a pid

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
          "--bounding-set=-all"]


def unused_pid():
    """A pid below pid_max that no process has."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 300, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise Skip("no unused pid")


def is_kernel_thread(pid):
    """PF_KTHREAD in /proc/PID/stat's flags."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return bool(int(fields[6]) & 0x00200000)


def kernel_thread_pid():
    if is_kernel_thread(2):
        return 2  # kthreadd
    for name in os.listdir("/proc"):
        if name.isdigit() and is_kernel_thread(int(name)):
            return int(name)
    raise Skip("no kernel thread visible in this pid namespace")


def target():
    """A valid target (alloc_funcs waiting for SIGUSR1), for the option tests."""
    return running_workload([workload("alloc_funcs")])


def test_nonexistent_pid():
    run_agentleak_error(["-p", PID_MAX_LIMIT])
    run_agentleak_error(["-p", unused_pid()])


def test_kernel_thread():
    run_agentleak_error(["-p", kernel_thread_pid()])


def test_no_malloc():
    with running_workload([workload("nolibc")]) as w:
        run_agentleak_error(["-p", w.pid])


def test_not_privileged():
    if not shutil.which("setpriv"):
        raise Skip("setpriv not installed")
    # The target belongs to the same user: only the missing privilege is wrong.
    with running_workload(NOBODY + [workload("alloc_funcs")]) as w:
        run_agentleak_error(["-p", w.pid], prefix=NOBODY)


def test_invalid_option():
    with target() as w:
        run_agentleak_error(["--bogus"])
        run_agentleak_error(["-p", w.pid, "--bogus"])


def test_invalid_interval():
    with target() as w:
        for interval in ["abc", "0", "-1"]:
            run_agentleak_error(["-p", w.pid, interval])
        run_agentleak_error(["-p", w.pid, "--", "-1"])


def test_invalid_top():
    with target() as w:
        for top in ["0", "x"]:
            run_agentleak_error(["-p", w.pid, "-T", top])


def test_invalid_mode():
    with target() as w:
        run_agentleak_error(["-p", w.pid, "--mode", "fast"])
        run_agentleak_error(["-p", w.pid, "--mode", "growth", "--sample-bytes", "4096"])
        # --diagnose-for only means something with --mode auto.
        run_agentleak_error(["-p", w.pid, "--diagnose-for", "10"])
        run_agentleak_error(["-p", w.pid, "--mode", "growth", "--diagnose-for", "10"])
        run_agentleak_error(["-p", w.pid, "--diagnose-gap", "10"])
        # --check looks at the kernel, not at a process.
        run_agentleak_error(["--check", "-p", w.pid])
        # --keep keeps the --prom-file: alone it means nothing.
        run_agentleak_error(["-p", w.pid, "--keep"])
        # Decimal seconds only: strtod would take hex, "inf" and blanks.
        for bad in ["0x1", "inf", " 5", "1e3"]:
            run_agentleak_error(["-p", w.pid, "-d", bad])
        for bad in ["0", "-5", "x"]:
            run_agentleak_error(["-p", w.pid, "--mode", "auto", "--diagnose-for", bad])


def test_request_source_file_not_usable():
    """--requests uprobe: on a file the target never maps would count nothing forever;
    on a file that is not ELF, say so (not 'Unknown error 4001')."""
    with target() as w:
        line = run_agentleak_error(["-p", w.pid, "--requests", "uprobe:/etc/passwd:main"])
        if "not an ELF file" not in line:
            raise AssertionError("non-ELF request source: %s" % line)
        lib = "/usr/lib/x86_64-linux-gnu/libz.so.1"
        if os.path.exists(lib):
            line = run_agentleak_error(["-p", w.pid, "--requests", "uprobe:%s:inflate" % lib])
            if "does not map" not in line:
                raise AssertionError("request source the target never maps: %s" % line)


README_ROW = re.compile(r"^\| `(agentleak[^`]*)` \| `([^`]*)` \| (\d+) \|$")


def readme_bad_inputs():
    """(command, message, status) of every row of README.md's bad-input table."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    start = text.index("## Bad input, hostile targets")
    section = text[start:text.index("\n## ", start + 1)]
    return [m.groups() for m in map(README_ROW.match, section.splitlines()) if m]


def test_readme_bad_inputs():
    """README.md's table of bad inputs, run as written: the exact stderr line and exit
    status of each row."""
    rows = readme_bad_inputs()
    if len(rows) < 25:
        raise AssertionError("README.md lists %d bad inputs, expected at least 25" % len(rows))
    problems = []
    with target() as w, tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "dir"))
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("x\n")
        os.symlink(victim, os.path.join(tmp, "link"))
        os.link(victim, os.path.join(tmp, "hardlink"))
        for cmd, message, status in rows:
            def fill(text):
                return text.replace("$PID", str(w.pid)).replace("$DIR", tmp)
            try:
                res = subprocess.run([AGENTLEAK] + shlex.split(fill(cmd))[1:],
                                     capture_output=True, stdin=subprocess.DEVNULL, timeout=10)
            except subprocess.TimeoutExpired:
                problems.append("%s: still running after 10 s" % cmd)
                continue
            err = res.stderr.decode(errors="replace")
            if err != fill(message) + "\n" or res.returncode != int(status) or res.stdout:
                problems.append("%s:\n    got      %r, status %d%s\n    expected %r, status %s"
                                % (cmd, err, res.returncode, ", stdout not empty"
                                   if res.stdout else "", fill(message), status))
        with open(victim) as f:
            if f.read() != "x\n":
                problems.append("the victim file behind the link was written")
    if problems:
        raise AssertionError("%d of %d README rows differ:\n  %s"
                             % (len(problems), len(rows), "\n  ".join(problems)))
