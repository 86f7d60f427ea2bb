"""Parser of agentleak's final report (the stdout format of docs/cli-contract.md).

parse_final(text) reads only what follows the last
"=== agentleak final report ===" line and returns

    {
      "processes": {pid: {"comm", "flavor", "path", "live_bytes",
                          "live_objects", "nstacks", "allocs", "frees",
                          "exited"}},
      "losses": {name: value} or None (one line for all targets),
      "stacks": [{"rank", "pid", "kind", "live_bytes", "live_objects",
                  "allocs", "alloc_bytes", "frees", "frames": [str]}],
      "unparsed": [lines that matched nothing in the contract],
    }

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

FRAME_RE = re.compile(r"^#(\d+) (.+)$")


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
        "frames": [],
    }


def parse_final(stdout_text):
    """Parse the last final report of agentleak's stdout (see module doc)."""
    processes = {}
    stacks = []
    unparsed = []
    losses = None
    for raw in final_section(stdout_text):
        line = raw.strip()
        if not line:
            continue
        m = PROCESS_RE.match(line)
        if m:
            proc = parse_process(m)
            processes[proc["pid"]] = proc
            continue
        m = LOSSES_RE.match(line)
        if m and losses is None:
            losses = parse_losses(m.group(1))
            continue
        m = STACK_RE.match(line)
        if m:
            stacks.append(parse_stack(m))
            continue
        m = FRAME_RE.match(line)
        if m and stacks and int(m.group(1)) == len(stacks[-1]["frames"]):
            stacks[-1]["frames"].append(m.group(2))
            continue
        unparsed.append(raw)
    return {"processes": processes, "losses": losses, "stacks": stacks,
            "unparsed": unparsed}


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
