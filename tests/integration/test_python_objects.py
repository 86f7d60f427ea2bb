"""--python-objects: what leaked, not only where. tests/workloads/pyobjects.py leaks
instances of its own class Conversation (each with a str and a list of its own) at a
steady rate, under Debian's python3.11 and pyenv's 3.10, 3.12 and 3.13 (with
PYTHONMALLOC=malloc; a SKIP part for each one missing), traced by one agentleak in the
precise tier:

- with PYTHONMALLOC=malloc, every object is its own malloc block: the leak's stack at
  the line that makes the instances must be named Conversation, every block read, each
  of sys.getsizeof's size in that version (the object is 16 B into its block in 3.10,
  32 B in 3.11+: GC header, managed dict); on Debian's 3.11 also the stacks of
  __init__'s lines, str and list;
- with pymalloc (the default), the objects live in 1 MiB arenas, which the precise
  tier sees as mmaps at a Python line: the arenas read must hold mostly Conversation,
  list and str objects, about as many of each (they are made together); and the report
  says this blind spot for that process only (a note under its process line).
"""

import os
import subprocess

from agentleak_test import ROOT, check_run, format_stacks, require_root, \
    run_workload_under_agentleak, source_line
from report import frame0

PYOBJECTS = os.path.join(ROOT, "tests", "workloads", "pyobjects.py")
PYTHON = "/usr/bin/python3"
PYENV = ["/root/.pyenv/versions/%s/bin/python%s" % (v, v[:v.rindex(".")])
         for v in ("3.10.13", "3.12.1", "3.13.0")]
OBJ_BLOCKS = 256  # blocks of a stack read at most (snapbuild.c OBJ_BLOCKS)


def conversation_size(python):
    """sys.getsizeof of a Conversation in this interpreter (what agentleak counts)."""
    code = ("import sys\nclass Conversation:\n    def __init__(self, n):\n        self.id = n\n"
            "        self.title = 't'\n        self.turns = []\n"
            "print(sys.getsizeof(Conversation(1)))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=20,
                         check=True)
    return int(out.stdout)


def line_of(text):
    return source_line(PYOBJECTS, text)


def types_of(stack):
    objs = stack["python_objects"]
    return {name: (n, size) for name, n, size in objs["types"]} if objs else {}


def test_python_objects_name_the_leaked_class():
    require_root()
    leak = "main (pyobjects.py:%d)" % line_of("sessions.append(Conversation(n))  # the leak")
    title = "Conversation.__init__ (pyobjects.py:%d)" % line_of("self.title =")
    turns = "Conversation.__init__ (pyobjects.py:%d)" % line_of("self.turns =")
    pyenv = [p for p in PYENV if os.access(p, os.X_OK)]
    argvs = [["/usr/bin/env", "PYTHONMALLOC=malloc", p, PYOBJECTS, "200"]
             for p in [PYTHON] + pyenv] + [[PYTHON, PYOBJECTS, "1500"]]
    run = run_workload_under_agentleak(argvs, ["--python-objects", "--stack-depth", "2",
                                               "-T", "60"], timeout=90)
    check_run(run)
    exact, arenas = run.pids[0], run.pids[-1]
    # The blind spot is said in the report, for the process that has it only.
    notes = {pid: [n for n in run.report["processes"][pid]["notes"] if "pymalloc" in n]
             for pid in run.pids}
    if notes[exact] or not any(n.startswith("CPython 3.11") and "PYTHONMALLOC=malloc" in n
                               for n in notes[arenas]):
        run.problem("expected a pymalloc note for pid %d only; notes: %s" % (arenas, notes))

    def problem(pid, what):
        mine = sorted((s for s in run.report["stacks"] if s["pid"] == pid),
                      key=lambda s: -s["live_bytes"])[:6]
        run.problem("pid %d: %s; its biggest stacks:\n%s" % (
            pid, what, "\n".join("%s\n    %s" % (format_stacks([s]), s["python_objects"])
                                 for s in mine)))

    # PYTHONMALLOC=malloc: one object per block, every block read is named.
    for site, kind, name in ((leak, "malloc", "Conversation"), (turns, "malloc", "list"),
                             (title, "realloc", "str")):
        got = [s for s in run.report["stacks"] if s["pid"] == exact and frame0(s) == site
               and s["kind"] == kind and s["python_objects"]]
        if not got:
            problem(exact, "no %s stack at %s with python objects" % (kind, site))
            continue
        s = max(got, key=lambda s: s["live_objects"])
        objs, types = s["python_objects"], types_of(s)
        want = min(OBJ_BLOCKS, s["live_objects"])
        if objs["unit"] != "blocks" or objs["read"] != want or list(types) != [name] \
                or types[name][0] != want:
            problem(exact, "%s at %s: expected %d blocks read, all %s; got %s"
                    % (kind, site, want, name, objs))
        elif name == "Conversation" and types[name][1] != want * conversation_size(PYTHON):
            problem(exact, "Conversation objects of %d B in all, expected %d B each"
                    % (types[name][1], conversation_size(PYTHON)))

    # The other versions: the class at the leak's line, every block, each of its size.
    for python, pid in zip(pyenv, run.pids[1:-1]):
        got = [s for s in run.report["stacks"] if s["pid"] == pid and frame0(s) == leak
               and s["python_objects"] and "Conversation" in types_of(s)]
        size = conversation_size(python)
        s = max(got, key=lambda s: s["live_objects"], default=None)
        want = min(OBJ_BLOCKS, s["live_objects"]) if s else 0
        if not s or s["python_objects"]["read"] != want or \
                types_of(s)["Conversation"] != (want, want * size):
            problem(pid, "%s: expected %d blocks at %s read as Conversation of %d B each; got %s"
                    % (python, want, leak, size, s["python_objects"] if s else None))

    # pymalloc: arenas at some Python line of the workload hold the three types.
    mapped = [s for s in run.report["stacks"] if s["pid"] == arenas and s["kind"] == "mmap"
              and s["python_objects"] and "Conversation" in types_of(s)]
    if not mapped:
        problem(arenas, "no mmap stack whose arenas hold Conversation objects")
    else:
        s = max(mapped, key=lambda s: types_of(s)["Conversation"][0])
        types = types_of(s)
        n = types["Conversation"][0]
        if s["python_objects"]["unit"] != "mappings" or n < 5000 or any(
                abs(types.get(t, (0, 0))[0] - n) > n // 10 for t in ("list", "str")):
            problem(arenas, "expected arenas with >= 5000 Conversation objects and as many "
                    "list and str (+-10%%); got %s" % s["python_objects"])
    run.finish()
    missing = sorted(set(PYENV) - set(pyenv))
    if missing:
        print("SKIP part: not installed: %s" % ", ".join(missing))
