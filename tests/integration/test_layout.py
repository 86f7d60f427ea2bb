"""The source tree keeps the shape README's Layout describes (issue 11): cli/ by stage,
includes only along the data flow, a small main.c, one row per exporter. No tracing."""

import os
import re

from agentleak_test import ROOT

CLI = os.path.join(ROOT, "cli")
# A stage may include its own folder and those ranked below it. symbols and analyse
# share a rank: neither includes the other, export includes both.
RANK = {"base": 0, "target": 1, "collect": 2, "analyse": 3, "symbols": 3, "export": 4}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(folder):
    for name in sorted(os.listdir(folder)):
        if name.endswith((".c", ".h")):
            yield os.path.join(folder, name)


def includes(path):
    with open(path) as f:
        return INCLUDE_RE.findall(f.read())


def test_includes_follow_the_flow():
    problems = []
    folders = sorted(d for d in os.listdir(CLI) if os.path.isdir(os.path.join(CLI, d)))
    if folders != sorted(RANK):
        raise AssertionError("cli/ folders are %s, README's Layout names %s"
                             % (folders, sorted(RANK)))
    for stage, rank in RANK.items():
        for path in sources(os.path.join(CLI, stage)):
            rel = os.path.relpath(path, ROOT)
            for inc in includes(path):
                head = inc.split("/")[0] if "/" in inc else None
                if head is None:
                    # agentleak.h, stack_key.h, the skeletons: agentleak's own, so not base's
                    if stage == "base":
                        problems.append("%s includes %s: base knows nothing of agentleak"
                                        % (rel, inc))
                    elif os.path.exists(os.path.join(CLI, inc)):
                        problems.append("%s includes %s, a top-level (wiring) header"
                                        % (rel, inc))
                elif head in RANK and head != stage and RANK[head] >= rank:
                    problems.append("%s (%s) includes %s: against the flow" % (rel, stage, inc))
    if problems:
        raise AssertionError("\n".join(problems))


def test_main_is_small():
    with open(os.path.join(CLI, "main.c")) as f:
        n = sum(1 for _ in f)
    if n >= 250:
        raise AssertionError("cli/main.c has %d lines: it should only wire a run (< 250)" % n)


def test_one_row_per_exporter():
    """Every const struct exporter is declared in exporter.h and has its row in output.c."""
    export = os.path.join(CLI, "export")
    defined = set()
    for path in sources(export):
        with open(path) as f:
            defined |= set(re.findall(r"^const struct exporter (\w+) = \{", f.read(), re.M))
    with open(os.path.join(export, "exporter.h")) as f:
        header = f.read()
    with open(os.path.join(export, "output.c")) as f:
        table = f.read().split("exporters[] = {", 1)[1].split("};", 1)[0]
    rows = set(re.findall(r"&(\w+)", table))
    if len(defined) < 8 or defined != rows or not all(d in header for d in defined):
        raise AssertionError("exporters defined %s, rows in output.c %s"
                             % (sorted(defined), sorted(rows)))
