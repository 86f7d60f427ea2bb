"""Integration tests of the file exporters: --pprof (cli/export/pprof.c), --json and
--json-file (cli/export/json.c), --folded (cli/export/folded.c), on the C request server
(tests/workloads/server.c) leaking 4 KiB per /leak request, with the uprobe
request source.

* pprof: decoded by tests/lib/pprof_read.py (gzip + a minimal protobuf reader) and
  by `go tool pprof` (Debian's golang-go; nothing is fetched: GOPROXY=off,
  GOTOOLCHAIN=local); its
  inuse_space total equals the live bytes of the final JSON line, written from
  the same snapshot; leak_fixed holds exactly COUNT * 4096 bytes. SIGUSR1 writes
  the profile while agentleak runs.
* JSON: every line parses and validates against docs/json-schema.json
  (python3-jsonschema); the last line has final=true; the leak stack has the
  verdict leak and exactly COUNT * 4096 live bytes.
* folded: a line "server-PID;...;leak_fixed BYTES" with the right bytes.
* bad paths (missing directory, a directory, a symbolic link): one stderr line
  "agentleak: ...", a non-zero exit, no file created.
Without go, the pprof tests do every other check, then SKIP.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from agentleak_test import (AGENTLEAK, ROOT, Skip, die_with_parent, read_file, require_agentleak,
                            require_root, run_agentleak_error, running_workload, tail,
                            wait_for_stderr, wait_proc, workload)
from pprof_read import decode_profile, go_pprof, have_go, leaf_function, top_rows
from trend_test import (Load, agentleak_trend_argv, c_server, check_trend_run, run_load,
                        trend_run, uprobe_source)

BLOCK = 4096
COUNT = 3000
RATE = 400
LEAK = COUNT * BLOCK
SCHEMA = os.path.join(ROOT, "docs", "json-schema.json")


def require_options(*options):
    """Fail (not skip) when build/agentleak lacks one of the options."""
    require_agentleak()
    res = subprocess.run([AGENTLEAK, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=10)
    text = (res.stdout + res.stderr).decode(errors="replace")
    for opt in options:
        if opt not in text:
            raise AssertionError("%s not supported yet (not in agentleak --help)" % opt)


# ---------------------------------------------------------------------------
# profile.proto (decoded by tests/lib/pprof_read.py) and go tool pprof.

def check_profile(p, pid, what):
    """The structure every profile must have; returns [problems]."""
    problems = []
    if not p["strings"] or p["strings"][0] != "":
        problems.append("%s: string_table[0] is not \"\"" % what)
    want = [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
            ("inuse_space", "bytes")]
    if p["sample_types"] != want:
        problems.append("%s: sample types %s, expected %s" % (what, p["sample_types"], want))
    if p["default"] != "inuse_space":
        problems.append("%s: default sample type %r" % (what, p["default"]))
    for smp in p["samples"]:
        if len(smp["values"]) != 4:
            problems.append("%s: a sample with %d values" % (what, len(smp["values"])))
            break
        if smp["labels"].get("pid") != pid:
            problems.append("%s: a sample with labels %s, expected pid %d"
                            % (what, smp["labels"], pid))
            break
        if any(lid not in p["locations"] for lid in smp["locations"]):
            problems.append("%s: a sample refers to an unknown location" % what)
            break
    return problems


def inuse_by_leaf(p, func):
    return sum(s["values"][3] for s in p["samples"] if leaf_function(p, s) == func)


def check_go(path, inuse_total, leak_bytes, what):
    """go tool pprof reads path: -top inuse total and leak_fixed's flat bytes,
    -raw labels. [problems]; raises Skip when go is not installed."""
    if not have_go():
        raise Skip("go not installed (apt-get install golang-go): go tool pprof checks of %s "
                   "not done (the other checks passed)" % what)
    problems = []
    status, out = go_pprof(["-top", "-nodefraction=0", "-sample_index=inuse_space", "-unit=B"],
                           path)
    total, rows = top_rows(out)
    if status != 0 or total is None:
        return ["%s: go tool pprof -top failed (status %d):\n%s" % (what, status, tail(out, 30))]
    if total != inuse_total:
        problems.append("%s: go tool pprof -top: inuse_space total %d B, expected %d B (the "
                        "JSON line's live bytes)\n%s" % (what, total, inuse_total, tail(out, 30)))
    if rows.get("leak_fixed") != leak_bytes:
        problems.append("%s: go tool pprof -top: leak_fixed flat %s B, expected %d B\n%s"
                        % (what, rows.get("leak_fixed"), leak_bytes, tail(out, 30)))
    status, out = go_pprof(["-raw"], path)
    if status != 0 or "verdict:[leak]" not in out or "inuse_space/bytes[dflt]" not in out:
        problems.append("%s: go tool pprof -raw: no verdict:[leak] label or no default "
                        "inuse_space (status %d):\n%s" % (what, status, tail(out, 30)))
    return problems


# ---------------------------------------------------------------------------
# JSON lines.

def json_lines(text, what):
    """Every line parsed and validated against docs/json-schema.json."""
    try:
        import jsonschema
    except ImportError:
        raise Skip("python3-jsonschema not installed (apt-get install python3-jsonschema)")
    with open(SCHEMA) as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    objs = []
    lines = text.splitlines()
    if not lines:
        raise AssertionError("%s: no JSON lines" % what)
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError("%s line %d is not JSON (%s): %r" % (what, n, e, line[:300]))
        errors = list(validator.iter_errors(obj))
        if errors:
            raise AssertionError("%s line %d does not follow %s: %s at %s"
                                 % (what, n, SCHEMA, errors[0].message, list(errors[0].path)))
        objs.append(obj)
    return objs


def leak_stacks(obj, pid):
    return [s for s in obj["stacks"] if s["pid"] == pid and s["frames"]
            and s["frames"][0]["func"] == "leak_fixed"]


def check_json(objs, pid, what):
    """[problems] of the JSON lines of a run: final line last, the leak stack."""
    problems = []
    finals = [i for i, o in enumerate(objs) if o["final"]]
    if finals != [len(objs) - 1]:
        problems.append("%s: final=true on lines %s of %d, expected only the last"
                        % (what, [i + 1 for i in finals], len(objs)))
    last = objs[-1]
    procs = [p for p in last["processes"] if p["pid"] == pid]
    if len(procs) != 1:
        problems.append("%s: final line: %d process objects for pid %d" % (what, len(procs), pid))
    stacks = leak_stacks(last, pid)
    if not stacks:
        problems.append("%s: final line: no stack with frames[0].func leak_fixed" % what)
        return problems
    s = max(stacks, key=lambda x: x["live_bytes"])
    if s["live_bytes"] != LEAK or s["live_objects"] != COUNT:
        problems.append("%s: final line: leak_fixed holds %d B in %d objects, expected %d B in "
                        "%d" % (what, s["live_bytes"], s["live_objects"], LEAK, COUNT))
    if not s["verdict"] or s["verdict"]["name"] != "leak":
        problems.append("%s: final line: leak_fixed verdict %s, expected leak"
                        % (what, s["verdict"]))
    elif not abs(s["verdict"]["slope"] - BLOCK) <= 0.1 * BLOCK:
        problems.append("%s: final line: leak_fixed slope %s B/request, expected %d +-10%%"
                        % (what, s["verdict"]["slope"], BLOCK))
    if last["leaks"]["count"] < 1:
        problems.append("%s: final line: leaks.count %d" % (what, last["leaks"]["count"]))
    if last["time_mode"] or not last["request_source"].startswith("uprobe:"):
        problems.append("%s: final line: request_source %r time_mode %s"
                        % (what, last["request_source"], last["time_mode"]))
    return problems


def final_live(objs, pid):
    return [p for p in objs[-1]["processes"] if p["pid"] == pid][0]["live_bytes"]


# ---------------------------------------------------------------------------
# Tests.

def fail(run, problems, funcs=("leak_fixed",)):
    for p in problems:
        run.problem(p)
    run.finish(list(funcs))


def test_pprof_json_folded_at_exit():
    """--pprof, --json-file and --folded in one run: the three agree with each
    other (same snapshot) and with the exact leak."""
    require_root()
    require_options("--pprof", "--json-file", "--folded")
    tmp = tempfile.mkdtemp(prefix="agentleak-exp-")
    try:
        prof = os.path.join(tmp, "heap.pb.gz")
        jfile = os.path.join(tmp, "report.jsonl")
        folded = os.path.join(tmp, "stacks.folded")
        with c_server() as srv:
            run = trend_run(srv, uprobe_source(srv), Load("/leak", COUNT, RATE),
                            extra=["--pprof", prof, "--json-file", jfile, "--folded", folded])
            check_trend_run(run, ["leak_fixed"])
            problems = []
            for path in (prof, jfile, folded):
                if not os.path.isfile(path):
                    run.fail("%s was not written" % path, ["leak_fixed"])
            left = sorted(set(os.listdir(tmp)) - {"heap.pb.gz", "report.jsonl", "stacks.folded"})
            if left:
                problems.append("files left next to the outputs: %s" % left)
            with open(jfile) as f:
                objs = json_lines(f.read(), "--json-file")
            problems += check_json(objs, run.pid, "--json-file")
            live = final_live(objs, run.pid)
            text_live = run.final["processes"][run.pid]["live_bytes"]
            if text_live != live:
                problems.append("final text report says %d B live for pid %d, the final JSON "
                                "line %d B" % (text_live, run.pid, live))

            p = decode_profile(prof)
            problems += check_profile(p, run.pid, "--pprof")
            total = sum(s["values"][3] for s in p["samples"])
            if total != live:
                problems.append("--pprof: inuse_space total %d B, the final JSON line says %d B"
                                % (total, live))
            if inuse_by_leaf(p, "leak_fixed") != LEAK:
                problems.append("--pprof: leak_fixed samples hold %d B, expected %d B"
                                % (inuse_by_leaf(p, "leak_fixed"), LEAK))
            if not any(s["labels"].get("verdict") == "leak" and leaf_function(p, s) ==
                       "leak_fixed" for s in p["samples"]):
                problems.append("--pprof: no leak_fixed sample with the label verdict=leak")
            if not any(c.startswith("requests: uprobe:") for c in p["comments"]):
                problems.append("--pprof: no 'requests: uprobe:...' comment: %s" % p["comments"])

            with open(folded) as f:
                lines = f.read().splitlines()
            prefix = "server-%d;" % run.pid
            leak_lines = [ln for ln in lines if ln.rsplit(" ", 1)[0].endswith(";leak_fixed")]
            if not lines or not all(ln.startswith(prefix) for ln in lines):
                problems.append("--folded: lines not all starting with %r: %s"
                                % (prefix, lines[:3]))
            if sum(int(ln.rsplit(" ", 1)[1]) for ln in leak_lines) != LEAK:
                problems.append("--folded: lines ending in leak_fixed hold %s, expected %d B: %s"
                                % (sum(int(ln.rsplit(" ", 1)[1]) for ln in leak_lines), LEAK,
                                   leak_lines[:3]))
            if sum(int(ln.rsplit(" ", 1)[1]) for ln in lines) != live:
                problems.append("--folded: %d B in all, the final JSON line says %d B"
                                % (sum(int(ln.rsplit(" ", 1)[1]) for ln in lines), live))
            if problems:
                fail(run, problems)
            problems = check_go(prof, live, LEAK, "--pprof")
            fail(run, problems)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_json_stdout():
    """--json: stdout is nothing but JSON lines, all valid; the last is final."""
    require_root()
    require_options("--json")
    with c_server() as srv:
        run = trend_run(srv, uprobe_source(srv), Load("/leak", COUNT, RATE), extra=["--json"])
        if run.returncode != 0:
            run.fail("agentleak --json exit status %s" % run.returncode, ["leak_fixed"])
        objs = json_lines(run.stdout, "--json stdout")
        if len(objs) < 3:
            run.problem("--json: only %d lines (interval reports every 2 s, then the final)"
                        % len(objs))
        for p in check_json(objs, run.pid, "--json stdout"):
            run.problem(p)
        for line in run.stderr.splitlines():
            if line.startswith("agentleak: warning:"):
                run.problem("unexpected warning: %s" % line)
        if not srv.alive():
            run.problem("the server died")
        run.finish(["leak_fixed"])


def test_pprof_sigusr1():
    """SIGUSR1 writes the profile while agentleak keeps running; the exit
    rewrites it."""
    require_root()
    require_options("--pprof")
    tmp = tempfile.mkdtemp(prefix="agentleak-exp-")
    proc = None
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    try:
        prof = os.path.join(tmp, "heap.pb.gz")
        with c_server() as srv:
            argv = agentleak_trend_argv(srv.pid, uprobe_source(srv), 2, 50, ["--pprof", prof])
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    preexec_fn=die_with_parent)
            wait_for_stderr(proc, err, "tracing", time.monotonic() + 20)
            run_load(srv.port, Load("/leak", 1000, RATE))
            time.sleep(0.5)
            if os.path.exists(prof):
                raise AssertionError("%s exists before SIGUSR1" % prof)
            proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 10
            while not os.path.exists(prof) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not os.path.exists(prof):
                raise AssertionError("no %s 10 s after SIGUSR1\n--- stderr ---\n%s"
                                     % (prof, tail(read_file(err), 20)))
            if proc.poll() is not None:
                raise AssertionError("agentleak exited (status %s) after SIGUSR1"
                                     % proc.returncode)
            p = decode_profile(prof)
            problems = check_profile(p, srv.pid, "SIGUSR1 profile")
            if inuse_by_leaf(p, "leak_fixed") != 1000 * BLOCK:
                problems.append("SIGUSR1 profile: leak_fixed holds %d B, expected %d B"
                                % (inuse_by_leaf(p, "leak_fixed"), 1000 * BLOCK))
            first = os.stat(prof).st_ino

            run_load(srv.port, Load("/leak", 500, RATE))
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            if wait_proc(proc, time.monotonic() + 15) is None:
                raise AssertionError("agentleak did not exit after SIGINT")
            if proc.returncode != 0:
                problems.append("agentleak exit status %d" % proc.returncode)
            p2 = decode_profile(prof)
            problems += check_profile(p2, srv.pid, "exit profile")
            if inuse_by_leaf(p2, "leak_fixed") != 1500 * BLOCK:
                problems.append("exit profile: leak_fixed holds %d B, expected %d B"
                                % (inuse_by_leaf(p2, "leak_fixed"), 1500 * BLOCK))
            if os.stat(prof).st_ino == first:
                problems.append("the exit profile was written in place, not renamed over")
            if sorted(os.listdir(tmp)) != ["heap.pb.gz"]:
                problems.append("files left next to the profile: %s" % os.listdir(tmp))
            for line in read_file(err).splitlines():
                if line.startswith("agentleak: warning:"):
                    problems.append("unexpected warning: %s" % line)
            if problems:
                raise AssertionError("\n".join(problems) + "\n--- stderr ---\n"
                                     + tail(read_file(err), 20))
            total = sum(s["values"][3] for s in p2["samples"])
            problems = check_go(prof, total, 1500 * BLOCK, "exit profile")
            if problems:
                raise AssertionError("\n".join(problems))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_bad_output_paths():
    """A missing directory, a directory, a symbolic link: one 'agentleak: '
    line, non-zero status, nothing created or changed."""
    require_root()
    require_options("--pprof", "--folded", "--json-file")
    tmp = tempfile.mkdtemp(prefix="agentleak-exp-")
    try:
        adir = os.path.join(tmp, "adir")
        os.mkdir(adir)
        target = os.path.join(tmp, "target")
        with open(target, "w") as f:
            f.write("keep me\n")
        link = os.path.join(tmp, "link")
        os.symlink(target, link)
        missing = os.path.join(tmp, "missing", "out")
        with running_workload([workload("alloc_funcs")]) as w:
            for opt in ("--pprof", "--folded", "--json-file"):
                for path, what in ((missing, "missing directory"), (adir, "a directory"),
                                   (link, "a symbolic link")):
                    try:
                        line = run_agentleak_error(["-p", w.pid, opt, path])
                    except AssertionError as e:
                        raise AssertionError("%s %s (%s): %s" % (opt, path, what, e))
                    if path not in line and os.path.basename(path) not in line:
                        raise AssertionError("%s %s (%s): the message does not name the "
                                             "file: %r" % (opt, path, what, line))
                    entries = sorted(os.listdir(tmp))
                    if entries != ["adir", "link", "target"] or os.listdir(adir):
                        raise AssertionError("%s %s (%s): files created: %s %s"
                                             % (opt, path, what, entries, os.listdir(adir)))
                    if not os.path.islink(link) or open(target).read() != "keep me\n":
                        raise AssertionError("%s %s (%s): the link or its target changed"
                                             % (opt, path, what))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
