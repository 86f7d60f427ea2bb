"""pyleak.py - a Python workload with leaks at known lines, for every interpreter.

Stdlib only, so it runs under Debian's python3 and each pyenv build alike. The
workload protocol of tests/workloads/workload.h: prints "ready PID", waits for
SIGUSR1, leaks, prints "done", exits 0 on SIGTERM.

    leak_here()    COUNT times: keeps one bytes(SIZE) (one calloc of
                   sys.getsizeof(bytes(SIZE)) bytes) in a module-level list
    worker_leak()  WORKER_COUNT times, in a ThreadPoolExecutor's threads: keeps
                   one bytes(2 * SIZE)

tests/integration/test_python_versions.py finds the two lines by their text.
"""

import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

COUNT = 1000
WORKER_COUNT = 300
SIZE = 4096

kept = []


def leak_here():
    kept.append(bytes(SIZE))  # the main thread's leak


def worker_leak():
    kept.append(bytes(2 * SIZE))  # the worker threads' leak


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the protocol's clean stop
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("ready %d" % os.getpid(), flush=True)
    signal.sigwait({signal.SIGUSR1})
    for _ in range(COUNT):
        leak_here()
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(worker_leak) for _ in range(WORKER_COUNT)]:
            f.result()
    print("done", flush=True)
    signal.pause()


main()
