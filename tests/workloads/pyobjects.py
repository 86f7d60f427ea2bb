"""pyobjects.py - a Python workload that leaks instances of its own class, for
--python-objects (tests/integration/test_python.py).

Stdlib only. The workload protocol of tests/workloads/workload.h: prints
"ready PID", waits for SIGUSR1, leaks, prints "done", exits 0 on SIGTERM.

    After SIGUSR1, every PERIOD seconds, keeps PER_ROUND new Conversation
    objects in a module-level list (the line marked "# the leak"): a steady leak
    in time. Says "done" after ROUNDS rounds and leaks on at the same rate until
    SIGTERM, so that a tracer stopped after "done" still sees it grow. Each
    Conversation holds a str and a list of its own (made in __init__).

Run with PYTHONMALLOC=malloc, every object is its own malloc block at the line
that made it; with pymalloc (the default) small objects live in 1 MiB arenas.
"""

import os
import signal
import sys
import time

ROUNDS = 50
PER_ROUND = int(sys.argv[1]) if len(sys.argv) > 1 else 200
PERIOD = 0.08

sessions = []


class Conversation:
    def __init__(self, n):
        self.id = n
        self.title = "conversation %d" % n
        self.turns = []


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the protocol's clean stop
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("ready %d" % os.getpid(), flush=True)
    signal.sigwait({signal.SIGUSR1})
    n = 0
    while True:
        for _ in range(PER_ROUND):
            sessions.append(Conversation(n))  # the leak
            n += 1
        if n == ROUNDS * PER_ROUND:
            print("done", flush=True)
        time.sleep(PERIOD)


main()
