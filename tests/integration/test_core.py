"""Integration tests: the exact leaks of the test workloads (tests/workloads/)
must appear in agentleak's final report, attributed by frame #0."""

import os
import re

from agentleak_test import (Skip, check_run, exited_lines, expect_leak,
                            expect_no_stack_mentions, expect_nothing_live,
                            expect_process_at_least, format_stacks,
                            run_workload_under_agentleak, stacks_by_frame0, sum_by_frame0,
                            workload)

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"

# glibc 2.36 has aligned_alloc and memalign at one address: either name will do.
ALIGNED = ("aligned_alloc", "memalign")

# alloc_funcs: (function, kind, live bytes, live objects)
ALLOC_FUNCS_LEAKS = [
    ("leak_malloc", "malloc", 10 * 1000, 10),
    ("leak_calloc", "calloc", 11 * 10 * 100, 11),
    ("leak_realloc", "realloc", 12 * 1200, 12),
    ("leak_reallocarray", "reallocarray", 13 * 5 * 256, 13),
    ("leak_posix_memalign", "posix_memalign", 14 * 512, 14),
    ("leak_aligned_alloc", ALIGNED, 15 * 1024, 15),
    ("leak_memalign", ALIGNED, 16 * 768, 16),
    ("leak_valloc", "valloc", 17 * 3000, 17),
    ("leak_pvalloc", "pvalloc", 18 * 4096, 18),  # pvalloc rounds up to the page
]

PAGE = 4096
MIB = 1 << 20
MAX_EXIT_DELAY = 5.0  # seconds from the target's exit to agentleak's


def expect_pure_leak(run, pid, func, nbytes, nobjects):
    """Stacks that only ever allocated: allocs == live objects, alloc bytes ==
    live bytes, no frees."""
    stacks = stacks_by_frame0(run.report["stacks"], pid, func)
    allocs = sum(s["allocs"] for s in stacks)
    alloc_bytes = sum(s["alloc_bytes"] for s in stacks)
    frees = sum(s["frees"] for s in stacks)
    if (allocs, alloc_bytes, frees) != (nobjects, nbytes, 0):
        run.problem("pid %d %s: expected %d allocs (%d B), 0 frees; got %d allocs (%d B), "
                    "%d frees\n%s" % (pid, func, nobjects, nbytes, allocs, alloc_bytes, frees,
                                      format_stacks(stacks)))


def run_only_malloc(argv0, env=None, **kw):
    """alloc_funcs --only malloc (10 x 1000 B from leak_malloc) under agentleak."""
    run = run_workload_under_agentleak([argv0, "--only", "malloc"], env=env, **kw)
    check_run(run, expect_exited=kw.get("exit_workload", False))
    pid = run.pids[0]
    expect_leak(run, pid, "leak_malloc", "malloc", 10000, 10)
    expect_process_at_least(run, pid, 10000, 10)
    return run


def preload_env(lib):
    if not os.path.exists(lib):
        raise Skip("%s not installed" % lib)
    env = dict(os.environ)
    env["LD_PRELOAD"] = lib
    return env


def expect_flavor(run, flavor, libname):
    p = run.report["processes"][run.pids[0]]
    if p["flavor"] != flavor or libname not in p["path"]:
        run.problem("expected allocator flavor %s from a %s path, got '%s %s'"
                    % (flavor, libname, p["flavor"], p["path"]))


def test_alloc_funcs(legacy=False):
    """legacy: one perf link per probe (AGENTLEAK_NO_UPROBE_MULTI=1), what a kernel
    before 6.6 gets, instead of one uprobe_multi link per program and process."""
    old = os.environ.get("AGENTLEAK_NO_UPROBE_MULTI")
    os.environ["AGENTLEAK_NO_UPROBE_MULTI"] = "1" if legacy else "0"
    try:
        run = run_workload_under_agentleak([workload("alloc_funcs")], ["-v"])
    finally:
        if old is None:
            del os.environ["AGENTLEAK_NO_UPROBE_MULTI"]
        else:
            os.environ["AGENTLEAK_NO_UPROBE_MULTI"] = old
    check_run(run)
    multi = "uprobe_multi links         yes" in run.stderr
    if multi == legacy:
        run.problem("-v says uprobe_multi links %s, expected %s"
                    % ("on" if multi else "off", "off" if legacy else "on"))
    pid = run.pids[0]
    for func, kind, nbytes, nobjects in ALLOC_FUNCS_LEAKS:
        expect_leak(run, pid, func, kind, nbytes, nobjects)
        expect_pure_leak(run, pid, func, nbytes, nobjects)
    expect_nothing_live(run, pid, "churn")
    total_bytes = sum(leak[2] for leak in ALLOC_FUNCS_LEAKS)
    total_objects = sum(leak[3] for leak in ALLOC_FUNCS_LEAKS)
    expect_process_at_least(run, pid, total_bytes, total_objects)
    p = run.report["processes"][pid]
    if p["allocs"] < total_objects + 1000 or p["frees"] < 1000:
        run.problem("pid %d summary: %d allocs, %d frees; expected at least %d allocs, 1000 frees"
                    % (pid, p["allocs"], p["frees"], total_objects + 1000))
    run.finish()


def test_alloc_funcs_legacy_links():
    test_alloc_funcs(legacy=True)


def test_big_alloc():
    run = run_workload_under_agentleak([workload("big_alloc")])
    check_run(run)
    pid = run.pids[0]
    expect_leak(run, pid, "leak_big", "malloc", 3 * 2 * MIB, 3)
    stacks = stacks_by_frame0(run.report["stacks"], pid, "leak_big")
    if len(stacks) != 1:
        run.problem("leak_big should be one stack, got %d:\n%s"
                    % (len(stacks), format_stacks(stacks)))
    expect_no_stack_mentions(run, pid, "leak_big", kind="mmap")
    big_maps = [s for s in run.report["stacks"]
                if s["pid"] == pid and s["kind"] == "mmap" and s["live_bytes"] >= 2 * MIB]
    if big_maps:
        run.problem("glibc's own mmap of the big blocks counted as mmap too:\n%s"
                    % format_stacks(big_maps))
    p = run.report["processes"][pid]
    if not 3 * 2 * MIB <= p["live_bytes"] < 2 * 3 * 2 * MIB:
        run.problem("pid %d summary: %d B live, expected 6291456 B (counted once)"
                    % (pid, p["live_bytes"]))
    run.finish()


def test_edge_cases():
    run = run_workload_under_agentleak([workload("edge_cases")])
    check_run(run)
    pid = run.pids[0]
    expect_nothing_live(run, pid, "fail_malloc")
    expect_nothing_live(run, pid, "fail_mmap")
    expect_leak(run, pid, "realloc_null", "realloc", 7 * 700, 7)
    expect_nothing_live(run, pid, "realloc_zero")
    expect_leak(run, pid, "keep_444", "malloc", 4 * 444, 4)
    expect_nothing_live(run, pid, "realloc_fail")
    expect_leak(run, pid, "pm_out", "posix_memalign", 3 * 320, 3)
    expect_nothing_live(run, pid, "memalign_out")
    expect_process_at_least(run, pid, 7 * 700 + 4 * 444 + 3 * 320, 7 + 4 + 3)
    run.finish()


def test_mmap_ops():
    run = run_workload_under_agentleak([workload("mmap_ops")])
    check_run(run)
    pid = run.pids[0]
    expect_leak(run, pid, "leak_mmap", "mmap", 10 * PAGE, 1)
    # One mapping with a hole: one object or two ranges, both fair.
    got = sum_by_frame0(run.report["stacks"], pid, "split_munmap", "mmap")
    total = sum_by_frame0(run.report["stacks"], pid, "split_munmap")
    if got != total or got[0] != 12 * PAGE or got[1] not in (1, 2):
        stacks = stacks_by_frame0(run.report["stacks"], pid, "split_munmap")
        run.problem("split_munmap: expected 49152 B live in 1 or 2 objects (mmap), got %d B in "
                    "%d objects (%d B in %d objects of any kind)\n%s"
                    % (got[0], got[1], total[0], total[1], format_stacks(stacks)))
    expect_leak(run, pid, "grow_mremap", "mmap", 20 * PAGE, 1)
    expect_leak(run, pid, "shrink_mremap", "mmap", 3 * PAGE, 1)
    expect_nothing_live(run, pid, "unmap_all")
    expect_nothing_live(run, pid, "remap_to")
    expect_process_at_least(run, pid, (10 + 12 + 20 + 3) * PAGE, 4)
    run.finish()


def test_prealloc():
    run = run_workload_under_agentleak([workload("prealloc")])
    check_run(run)  # also: no negative number anywhere
    pid = run.pids[0]
    expect_leak(run, pid, "leak_after", "malloc", 50 * 80, 50)
    expect_nothing_live(run, pid, "pre_alloc")
    expect_no_stack_mentions(run, pid, "pre_alloc")
    expect_nothing_live(run, pid, "free_pre")
    expect_process_at_least(run, pid, 50 * 80, 50)
    run.finish()


def test_churn_attach(env=None):
    # Attach while two threads churn, and let them churn traced for a while.
    run = run_workload_under_agentleak([workload("churn")], env=env, traced_wait=1.0)
    check_run(run)
    pid = run.pids[0]
    expect_leak(run, pid, "leak_marker", "malloc", 5 * 1234, 5)
    expect_nothing_live(run, pid, "churn_loop")
    expect_nothing_live(run, pid, "free_rings")
    expect_process_at_least(run, pid, 5 * 1234, 5)
    m = re.search(r"^overhead: (\d+) probe hits/s, estimated ([\d.]+)% of a CPU",
                  run.stdout.split("=== agentleak final report ===")[-1], re.M)
    if not m or int(m.group(1)) < 1000:
        run.problem("no 'overhead: N probe hits/s' line with N >= 1000 in the final report")
    p = run.report["processes"][pid]
    if p["allocs"] < 1000 or p["frees"] < 1000:
        run.problem("pid %d summary: %d allocs, %d frees; the churn threads should have made "
                    "thousands while traced" % (pid, p["allocs"], p["frees"]))
    run.finish()


def test_jemalloc():
    env = preload_env(JEMALLOC)
    run = run_only_malloc(workload("alloc_funcs"), env=env)
    expect_flavor(run, "jemalloc", "jemalloc")
    run.finish()


def test_tcmalloc():
    env = preload_env(TCMALLOC)
    run = run_only_malloc(workload("alloc_funcs"), env=env)
    expect_flavor(run, "tcmalloc", "tcmalloc")
    run.finish()


# The free probes of jemalloc and tcmalloc are moved past several instructions to
# one the kernel emulates: churn proves that every free is still seen.
def test_churn_attach_jemalloc():
    test_churn_attach(preload_env(JEMALLOC))


def test_churn_attach_tcmalloc():
    test_churn_attach(preload_env(TCMALLOC))


def test_no_frame_pointers():
    run = run_only_malloc(workload("alloc_funcs_nofp"))
    run.finish()


def test_two_processes():
    prog = workload("alloc_funcs")
    run = run_workload_under_agentleak([
        [prog, "--only", "malloc", "--count", "7", "--size", "111"],
        [prog, "--only", "malloc", "--count", "9", "--size", "222"],
    ])
    check_run(run)
    a, b = run.pids
    expect_leak(run, a, "leak_malloc", "malloc", 7 * 111, 7)
    expect_leak(run, b, "leak_malloc", "malloc", 9 * 222, 9)
    expect_process_at_least(run, a, 7 * 111, 7)
    expect_process_at_least(run, b, 9 * 222, 9)
    procs = run.report["processes"]
    if procs[a]["live_objects"] >= 7 + 9 or procs[b]["live_objects"] >= 9 + 7:
        run.problem("a process summary includes the other's objects: pid %d %d objects, "
                    "pid %d %d objects"
                    % (a, procs[a]["live_objects"], b, procs[b]["live_objects"]))
    run.finish()


def test_target_exits():
    run = run_only_malloc(workload("alloc_funcs"), exit_workload=True)
    pid = run.pids[0]
    if pid not in exited_lines(run):
        run.problem("no 'agentleak: pid %d (COMM) exited' line" % pid)
    if "agentleak: all targets exited" not in run.stderr.splitlines():
        run.problem("no 'agentleak: all targets exited' line")
    if not run.report["processes"][pid]["exited"]:
        run.problem("the process line of pid %d does not end with ' (exited)'" % pid)
    if run.exit_delay > MAX_EXIT_DELAY:
        run.problem("agentleak exited %.1f s after its target, expected at most %.0f s"
                    % (run.exit_delay, MAX_EXIT_DELAY))
    for s in run.report["stacks"]:
        if s["pid"] == pid and s["frames"] and s["frames"][0].startswith("["):
            run.problem("frame #0 not symbolized after the target exited:\n%s"
                        % format_stacks([s]))
    run.finish()


def test_alloc_map_full_is_counted():
    """A live-block map too small for the leak: every block that does not fit is
    counted as alloc-map-full, and live + lost adds up to what was allocated."""
    count, size, cap = 3000, 16, 1024
    run = run_workload_under_agentleak(
        [workload("alloc_funcs"), "--only", "malloc", "--count", str(count), "--size",
         str(size)], extra_agentleak_args=["--max-allocs", str(cap)])
    check_run(run)
    pid = run.pids[0]
    stacks = stacks_by_frame0(run.report["stacks"], pid, "leak_malloc")
    allocs = sum(s["allocs"] for s in stacks)
    live = sum(s["live_objects"] for s in stacks)
    lost = run.report["losses"]["alloc-map-full"]
    if allocs != count:
        run.problem("leak_malloc: %d allocs counted, expected %d" % (allocs, count))
    if live > cap or live + lost < count:
        run.problem("live %d (map of %d) + alloc-map-full %d should cover the %d blocks"
                    % (live, cap, lost, count))
    if lost < count - cap:
        run.problem("alloc-map-full %d, expected at least %d" % (lost, count - cap))
    run.finish()


def test_sampling_estimate():
    """--sample-bytes 512 KiB on a leak of 131072 x 4 KiB = 512 MiB: about 1024 blocks are
    sampled (one per 512 KiB on average), so the scaled estimate has a standard error of
    ~3.1%; it must be within +-10% (3.2 sigma) for bytes and objects."""
    count, size, rate = 131072, 4096, 512 * 1024
    run = run_workload_under_agentleak(
        [workload("alloc_funcs"), "--only", "malloc", "--count", str(count), "--size",
         str(size)], extra_agentleak_args=["--sample-bytes", str(rate)], timeout=90)
    check_run(run)
    pid = run.pids[0]
    live, objs = sum_by_frame0(run.report["stacks"], pid, "leak_malloc", "malloc")
    truth = count * size
    if abs(live - truth) > 0.10 * truth:
        run.problem("sampled estimate %d B, truth %d B: off by %.1f%% (> 10%%)"
                    % (live, truth, 100.0 * (live - truth) / truth))
    if abs(objs - count) > 0.10 * count:
        run.problem("sampled estimate %d objects, truth %d: off by %.1f%% (> 10%%)"
                    % (objs, count, 100.0 * (objs - count) / count))
    if "sampling: one allocation per %d B" % rate not in run.stdout:
        run.problem("the report does not say that it is sampled")
    run.finish()
