"""Integration tests: bad input. agentleak must fail with exit status 1..125,
exactly one stderr line "agentleak: <message>", nothing on stdout, within 10 s."""

import os
import shutil

from agentleak_test import Skip, run_agentleak_error, running_workload, workload

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
        for bad in ["0", "-5", "x"]:
            run_agentleak_error(["-p", w.pid, "--mode", "auto", "--diagnose-for", bad])
