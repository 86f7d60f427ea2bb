"""Parser of agentleak's reports (the stdout format of docs/cli-contract.md).

parse_final(text) reads only what follows the last
"=== agentleak final report ===" line and returns

    {
      "final": True,
      "processes": {pid: {"comm", "flavor", "path", "live_bytes",
                          "live_objects", "nstacks", "allocs", "frees",
                          "exited", "memory", "cgroup", "notes"}},
      "losses": {name: value} or None (one line for all targets),
      "stacks": [{"rank", "pid", "kind", "live_bytes", "live_objects",
                  "allocs", "alloc_bytes", "frees", "verdict",
                  "frames": [str]}],
      "leaks": {"stacks", "rate", "unit"} or None,
      "thread_leaks": {"stacks", "rate", "unit"} or None,
      "unparsed": [lines that matched nothing in the contract],
    }

A thread stack ("[N] pid P thread: T threads live (R B of stack reserved); S
started, E ended since attach") is a stack of kind "thread" with "threads" =
live_objects = T, live_bytes = R (address space reserved, not heap), allocs =
S, frees = E and alloc_bytes None; after its process line, "threads: T live at
K stacks (R B of stack reserved); S started, E ended since attach" ->
process["threads"] = {"live", "stacks", "reserved", "started", "ended"}
(None without that line).

parse_reports(text) returns every report of the output (interval reports and
the final one, in order), each parsed the same way, with "final" telling
which is the final report.

The lines of the trend engine (--requests; "Verdicts" in the contract):

* after a process line, indented: "memory: rss R B, anon A B, tracked live L B;
  N requests" -> process["memory"] = {"rss", "anon", "tracked_live",
  "requests" (int or None), "tail" (what follows the ';', or None)};
  "cgroup: limit L B, usage U B, OOM in N s at the current rate" (or
  "... no growth") -> process["cgroup"] = {"limit", "usage", "oom_seconds"
  (float, or None for no growth), "no_growth", "text"}; "note: ..." ->
  process["notes"] += [text after "note: "].
* after a stack header: "verdict: KIND, +R B/request (95% CI LO..HI), +H B/hour,
  N requests, R2 X, P% of growth" (or B/s and "T s") -> stack["verdict"] =
  {"kind", "rate", "unit" ("request" or "s"), "ci": (lo, hi), "per_hour",
  "x" (requests or seconds), "r2", "share" (int percent or None for n/a),
  "text", "strict" (False when only "verdict: KIND" could be read)}; None when
  the stack has no verdict line.
* "leaks: N stacks, +R B/request together" -> report["leaks"].
* after a stack header (--python-objects): "python objects in N UNIT read
  (K unreadable): C1 TYPE1 (B1 B), ..., C of other types (B B)" (or ": none
  recognized ...") -> stack["python_objects"] = {"read", "unit", "unreadable",
  "types": [(name, objects, bytes)] in the order printed, "other": (objects,
  bytes)}; None when the stack has no such line.
* a thread stack's "verdict: KIND, +R threads/request (95% CI LO..HI), +H
  threads/hour, N requests, R2 X, P% of threads" -> the same dict with "unit"
  "threads/request" (or "threads/s") and "share" the percent of the process's
  live threads; "thread leaks: N stacks, +R threads/request together" ->
  report["thread_leaks"] (unit "threads/request" or "threads/s").

Numbers are parsed with an optional minus sign so that a negative value is
reported by the tests instead of making the parser fail. A process line ends
with " (exited)" when that process has exited.
"""

import re

FINAL_MARKER = "=== agentleak final report ==="

NUM = r"(-?\d+)"

PROCESS_RE = re.compile(
    r"^pid (\d+) \((.*)\) (\S+) (.+): " + NUM + r" B live in " + NUM
    + r" objects at " + NUM + r" stacks; " + NUM + r" allocs, " + NUM + r" frees"
    + r"( \(exited\))?$")

LOSSES_RE = re.compile(r"^losses: (.*)$")
LOSS_ITEM_RE = re.compile(r"^([a-z][a-z0-9-]*) " + NUM + r"$")

STACK_RE = re.compile(
    r"^\[(\d+)\] pid (\d+) (\S+): " + NUM + r" B live in " + NUM + r" objects; "
    + NUM + r" allocs \(" + NUM + r" B\), " + NUM + r" frees since attach$")

THREAD_STACK_RE = re.compile(
    r"^\[(\d+)\] pid (\d+) thread: " + NUM + r" threads live \(" + NUM + r" B of stack "
    r"reserved\); " + NUM + r" started, " + NUM + r" ended since attach$")

THREADS_RE = re.compile(
    r"^threads: " + NUM + r" live at " + NUM + r" stacks \(" + NUM + r" B of stack reserved\); "
    + NUM + r" started, " + NUM + r" ended since attach$")

FRAME_RE = re.compile(r"^#(\d+) (.+)$")

# The first line of every report: "HH:MM:SS  12.3 s since attach" (not in the
# contract, so a report also starts at a process line that follows stacks).
HEADER_RE = re.compile(r"^\S+\s+(-?\d+(?:\.\d+)?) s since attach$")

FLOAT = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?inf|nan)"

MEMORY_RE = re.compile(
    r"^memory: rss " + NUM + r" B, anon " + NUM + r" B, tracked live " + NUM + r" B"
    + r"(?:; (.*))?$")
MEMORY_REQUESTS_RE = re.compile(r"^" + NUM + r" requests$")

CGROUP_RE = re.compile(r"^cgroup: limit " + NUM + r" B, usage " + NUM + r" B, (.*)$")
OOM_RE = re.compile(r"^OOM in " + FLOAT + r" s\b")

NOTE_RE = re.compile(r"^note: (.*)$")

VERDICT_RE = re.compile(
    r"^verdict: ([a-z]+), " + FLOAT + r" B/(request|s) \(95% CI " + FLOAT + r"\.\."
    + FLOAT + r"\), " + FLOAT + r" B/hour, " + FLOAT + r" (requests|s), R2 " + FLOAT
    + r", (\d+%|n/a) of growth$")
THREAD_VERDICT_RE = re.compile(
    r"^verdict: ([a-z]+), " + FLOAT + r" threads/(request|s) \(95% CI " + FLOAT + r"\.\."
    + FLOAT + r"\), " + FLOAT + r" threads/hour, " + FLOAT + r" (requests|s), R2 " + FLOAT
    + r", (?:(\d+)% of threads|n/a)$")
VERDICT_LOOSE_RE = re.compile(r"^verdict: ([a-z]+)\b")
# after the verdict line of a stack that lost blocks (alloc map full)
UNRELIABLE_RE = re.compile(r"^unreliable: (\d+) allocations not tracked ")

PYOBJ_RE = re.compile(r"^python objects in (\d+) (blocks|pages|mappings) read"
                      r"(?: \((\d+) unreadable\))?: (.*)$")
PYOBJ_TYPE_RE = re.compile(r"^(\d+) (\S+) \((\d+) B\)$")
PYOBJ_OTHER_RE = re.compile(r"^(\d+) of other types \((\d+) B\)$")

LEAKS_RE = re.compile(r"^leaks: " + NUM + r" stacks?, " + FLOAT + r" B/(request|s) together$")
THREAD_LEAKS_RE = re.compile(r"^thread leaks: " + NUM + r" stacks?, " + FLOAT
                             + r" threads/(request|s) together$")

VERDICT_KINDS = ("leak", "growing", "plateau", "transient", "stable")


class ReportError(ValueError):
    """The output has no final report, or a line breaks the contract."""


def final_section(text):
    """The lines after the last final-report marker (raises if none)."""
    lines = text.splitlines()
    last = None
    for i, line in enumerate(lines):
        if line.strip() == FINAL_MARKER:
            last = i
    if last is None:
        raise ReportError("no '%s' line in the output" % FINAL_MARKER)
    return lines[last + 1:]


def parse_losses(text):
    losses = {}
    for item in text.split(","):
        m = LOSS_ITEM_RE.match(item.strip())
        if not m:
            raise ReportError("bad losses item %r" % item)
        losses[m.group(1)] = int(m.group(2))
    return losses


def parse_process(m):
    return {
        "pid": int(m.group(1)),
        "comm": m.group(2),
        "flavor": m.group(3),
        "path": m.group(4),
        "live_bytes": int(m.group(5)),
        "live_objects": int(m.group(6)),
        "nstacks": int(m.group(7)),
        "allocs": int(m.group(8)),
        "frees": int(m.group(9)),
        "exited": m.group(10) is not None,
        "memory": None,
        "cgroup": None,
        "notes": [],
        "threads": None,
    }


def parse_stack(m):
    return {
        "rank": int(m.group(1)),
        "pid": int(m.group(2)),
        "kind": m.group(3),
        "live_bytes": int(m.group(4)),
        "live_objects": int(m.group(5)),
        "allocs": int(m.group(6)),
        "alloc_bytes": int(m.group(7)),
        "frees": int(m.group(8)),
        "verdict": None,
        "untracked": 0,
        "python_objects": None,
        "frames": [],
    }


def parse_thread_stack(m):
    return {
        "rank": int(m.group(1)),
        "pid": int(m.group(2)),
        "kind": "thread",
        "threads": int(m.group(3)),
        "live_bytes": int(m.group(4)),
        "live_objects": int(m.group(3)),
        "allocs": int(m.group(5)),
        "alloc_bytes": None,
        "frees": int(m.group(6)),
        "verdict": None,
        "untracked": 0,
        "frames": [],
    }


def parse_threads(m):
    return {"live": int(m.group(1)), "stacks": int(m.group(2)), "reserved": int(m.group(3)),
            "started": int(m.group(4)), "ended": int(m.group(5))}


def parse_memory(m):
    tail = m.group(4)
    requests = None
    if tail is not None:
        r = MEMORY_REQUESTS_RE.match(tail.strip())
        if r:
            requests = int(r.group(1))
    return {"rss": int(m.group(1)), "anon": int(m.group(2)), "tracked_live": int(m.group(3)),
            "requests": requests, "tail": tail}


def parse_cgroup(m):
    rest = m.group(3)
    oom = OOM_RE.match(rest)
    return {"limit": int(m.group(1)), "usage": int(m.group(2)),
            "oom_seconds": float(oom.group(1)) if oom else None,
            "no_growth": "no growth" in rest, "text": rest}


def parse_verdict(line):
    """The verdict dict of a "verdict: ..." line, or None if it is not one."""
    m = VERDICT_RE.match(line)
    if m:
        share = m.group(10)
        return {"kind": m.group(1), "rate": float(m.group(2)), "unit": m.group(3),
                "ci": (float(m.group(4)), float(m.group(5))), "per_hour": float(m.group(6)),
                "x": float(m.group(7)), "x_unit": m.group(8), "r2": float(m.group(9)),
                "share": None if share == "n/a" else int(share[:-1]), "text": line,
                "strict": True}
    m = THREAD_VERDICT_RE.match(line)
    if m:
        share = m.group(10)
        return {"kind": m.group(1), "rate": float(m.group(2)), "unit": "threads/" + m.group(3),
                "ci": (float(m.group(4)), float(m.group(5))), "per_hour": float(m.group(6)),
                "x": float(m.group(7)), "x_unit": m.group(8), "r2": float(m.group(9)),
                "share": None if share is None else int(share), "text": line,
                "strict": True}
    m = VERDICT_LOOSE_RE.match(line)
    if m:
        return {"kind": m.group(1), "rate": None, "unit": None, "ci": None, "per_hour": None,
                "x": None, "x_unit": None, "r2": None, "share": None, "text": line,
                "strict": False}
    return None


def parse_pyobjects(m):
    """stack["python_objects"] from a "python objects in ..." line, or None when its
    list of types is off the contract."""
    objs = {"read": int(m.group(1)), "unit": m.group(2),
            "unreadable": int(m.group(3) or 0), "types": [], "other": (0, 0)}
    rest = m.group(4)
    if rest.startswith("none recognized"):
        return objs
    for item in rest.split(", "):
        t = PYOBJ_TYPE_RE.match(item)
        o = PYOBJ_OTHER_RE.match(item)
        if t:
            objs["types"].append((t.group(2), int(t.group(1)), int(t.group(3))))
        elif o:
            objs["other"] = (int(o.group(1)), int(o.group(2)))
        else:
            return None
    return objs


def new_report(final):
    return {"final": final, "header": None, "processes": {}, "losses": None, "stacks": [],
            "leaks": None, "thread_leaks": None, "unparsed": []}


def parse_line(rep, raw, state):
    """Add one line to the report rep. state["process"] is the process the
    memory, cgroup and note lines belong to (the last process line)."""
    line = raw.strip()
    if not line:
        return
    m = PROCESS_RE.match(line)
    if m:
        proc = parse_process(m)
        rep["processes"][proc["pid"]] = proc
        state["process"] = proc
        return
    proc = state.get("process")
    if proc is not None and not rep["stacks"]:
        m = MEMORY_RE.match(line)
        if m and proc["memory"] is None:
            proc["memory"] = parse_memory(m)
            return
        m = CGROUP_RE.match(line)
        if m and proc["cgroup"] is None:
            proc["cgroup"] = parse_cgroup(m)
            return
        m = NOTE_RE.match(line)
        if m:
            proc["notes"].append(m.group(1))
            return
        m = THREADS_RE.match(line)
        if m and proc["threads"] is None:
            proc["threads"] = parse_threads(m)
            return
    m = LOSSES_RE.match(line)
    if m and rep["losses"] is None:
        rep["losses"] = parse_losses(m.group(1))
        return
    m = STACK_RE.match(line)
    if m:
        rep["stacks"].append(parse_stack(m))
        return
    m = THREAD_STACK_RE.match(line)
    if m:
        rep["stacks"].append(parse_thread_stack(m))
        return
    if rep["stacks"] and not rep["stacks"][-1]["frames"] and rep["stacks"][-1]["verdict"] is None:
        verdict = parse_verdict(line)
        if verdict is not None:
            rep["stacks"][-1]["verdict"] = verdict
            if not verdict["strict"]:
                rep["unparsed"].append(raw)  # a verdict line off the contract
            return
    m = UNRELIABLE_RE.match(line)
    if m and rep["stacks"] and not rep["stacks"][-1]["frames"]:
        rep["stacks"][-1]["untracked"] = int(m.group(1))
        return
    m = PYOBJ_RE.match(line)
    if m and rep["stacks"] and not rep["stacks"][-1]["frames"]:
        objs = parse_pyobjects(m)
        if objs is not None:
            rep["stacks"][-1]["python_objects"] = objs
            return
    m = FRAME_RE.match(line)
    if m and rep["stacks"] and int(m.group(1)) == len(rep["stacks"][-1]["frames"]):
        rep["stacks"][-1]["frames"].append(m.group(2))
        return
    m = LEAKS_RE.match(line)
    if m and rep["leaks"] is None:
        rep["leaks"] = {"stacks": int(m.group(1)), "rate": float(m.group(2)),
                        "unit": m.group(3), "text": line}
        return
    m = THREAD_LEAKS_RE.match(line)
    if m and rep["thread_leaks"] is None:
        rep["thread_leaks"] = {"stacks": int(m.group(1)), "rate": float(m.group(2)),
                               "unit": "threads/" + m.group(3), "text": line}
        return
    rep["unparsed"].append(raw)


def parse_final(stdout_text):
    """Parse the last final report of agentleak's stdout (see module doc)."""
    rep = new_report(True)
    state = {}
    for raw in final_section(stdout_text):
        parse_line(rep, raw, state)
    return rep


def parse_reports(stdout_text):
    """Every report of agentleak's stdout, in order (see module doc). A report
    starts at the final-report marker, at a "... s since attach" header, or
    at a process line that follows the losses line or stacks of the report
    before. Lines before the first report are ignored."""
    reports = []
    rep = None
    state = {}
    for raw in stdout_text.splitlines():
        line = raw.strip()
        if line == FINAL_MARKER:
            rep = new_report(True)
            reports.append(rep)
            state = {}
            continue
        m = HEADER_RE.match(line)
        if m:
            if rep is None or rep["processes"] or rep["header"] is not None:
                rep = new_report(False)
                reports.append(rep)
                state = {}
            rep["header"] = line
            rep["elapsed"] = float(m.group(1))
            continue
        if PROCESS_RE.match(line) and (rep is None or rep["stacks"] or rep["losses"] is not None
                                       or rep["leaks"] is not None
                                       or rep["thread_leaks"] is not None):
            rep = new_report(False)
            reports.append(rep)
            state = {}
        if rep is None:
            continue
        parse_line(rep, raw, state)
    return reports


# What a live thread weighs when stacks are ranked (THREAD_WEIGHT, cli/analyse/analyse.h).
THREAD_WEIGHT = 32768


def rank_weight(stack):
    """What the report ranks a stack by: its live bytes, or a thread stack's live
    threads times THREAD_WEIGHT (its reserved bytes are not heap)."""
    if stack["kind"] == "thread":
        return stack["live_objects"] * THREAD_WEIGHT
    return stack["live_bytes"]


def frame0(stack):
    return stack["frames"][0] if stack["frames"] else ""


def kind_matches(stack, kind):
    """kind: None (any), a kind name, or a tuple/list/set of kind names."""
    if kind is None:
        return True
    if isinstance(kind, str):
        return stack["kind"] == kind
    return stack["kind"] in kind


def stacks_by_frame0(stacks, pid, funcname, kind=None):
    """The stacks of pid whose frame #0 is in function funcname."""
    prefix = funcname + "+"
    return [s for s in stacks
            if s["pid"] == pid and frame0(s).startswith(prefix) and kind_matches(s, kind)]


def sum_by_frame0(stacks, pid, funcname, kind=None):
    """(live_bytes, live_objects) summed over the stacks of pid whose frame #0
    starts with funcname + "+" (and whose kind matches, when given)."""
    live_bytes = 0
    live_objects = 0
    for s in stacks_by_frame0(stacks, pid, funcname, kind):
        live_bytes += s["live_bytes"]
        live_objects += s["live_objects"]
    return live_bytes, live_objects


def verdict_kind(stack):
    """The verdict kind of a stack ("leak", ...), or None without a verdict line."""
    return stack["verdict"]["kind"] if stack.get("verdict") else None


def all_verdicts(reports):
    """(report index, stack) of every stack with a verdict line, in every report."""
    for i, rep in enumerate(reports):
        for s in rep["stacks"]:
            if s.get("verdict"):
                yield i, s
