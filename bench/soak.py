#!/usr/bin/env python3
"""bench/soak.py - agentleak for an hour at steady load (make soak).

Starts the C test server (build/tests/server, tests/workloads/server.c), attaches

    agentleak -p PID --requests uprobe:SERVER:handle_request --prom-file TMP/agentleak.prom 10

and drives a steady mixed load with build/demo/loadgen (one process, rate-limited,
one connection per request): 10% /leak (keeps 4096 B per request forever), the rest
/steady, /cache and /burst in turn (no leak). Every SOAK_EVERY seconds, right after
agentleak rewrites its textfile, it records agentleak's RSS, VmHWM, open fds, threads
and CPU time (/proc), the entries of its BPF maps `allocs` (live blocks) and
`stack_slots` (distinct stacks) (BPF_MAP_LOOKUP_BATCH on the maps agentleak holds,
~1 ms), the live bytes the textfile reports for the server (the process and its
leak_fixed stack), and the server's own count of leaked bytes (4096 x
app_requests_total{path="/leak"} from its /metrics). At the end it stops the load,
checks the numbers once more with nothing in flight, SIGINTs agentleak (exit 0 and a
final report expected) and prints a markdown summary with verdicts, also written to
bench/soak-last.md. Exits 1 when a criterion fails, 2 when the run itself could not
be done.

Run as root: make soak   (or bench/soak.py)
    SOAK_SECONDS=3600  load duration
    SOAK_EVERY=30      seconds between samples
    SOAK_RATE=50       requests per second in total
    SOAK_INTERVAL=10   agentleak's report (and textfile) interval
    SOAK_MODE=precise  precise (default, no --mode passed), growth or auto (--mode)
"""

import ctypes
import errno
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from agentleak_test import (AGENTLEAK, Skip, die_with_parent, read_file,  # noqa: E402
                            require_agentleak, require_root, tail, wait_for_stderr)
from report import parse_reports, stacks_by_frame0  # noqa: E402
from trend_test import (LOADGEN, Load, c_server, http_get, run_load,  # noqa: E402
                        uprobe_source)

SECONDS = float(os.environ.get("SOAK_SECONDS", "3600"))
EVERY = float(os.environ.get("SOAK_EVERY", "30"))
RATE = float(os.environ.get("SOAK_RATE", "50"))
INTERVAL = int(os.environ.get("SOAK_INTERVAL", "10"))
MODE = os.environ.get("SOAK_MODE", "precise")
OUT_MD = os.path.join(ROOT, "bench", "soak-last.md")

# One /leak in ten requests, the rest steady, cache and burst in turn.
PATHS = "/leak,/steady,/cache,/burst,/steady,/cache,/burst,/steady,/cache,/burst"
LEAK_SHARE = 0.1
BLOCK = 4096                     # bytes /leak keeps per request
CACHE_SLOTS, BURST_COUNT = 64, 200

# Criteria.
RSS_REL, RSS_ABS = 0.05, 1 << 20       # last-quarter median <= first + max(5%, 1 MiB)
CPU_MAX = 2.0                          # agentleak CPU, % of one core
LAG_SECONDS = 1.0                      # textfile sample -> our scrape, during the load
NONLEAK_MAX = CACHE_SLOTS + BURST_COUNT + 16   # allocs entries that are not /leak blocks
FD_SLACK = 0                           # fds: max - min over the run

CLK_TCK = os.sysconf("SC_CLK_TCK")
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


# ---------------------------------------------------------------------------
# /proc

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(val.split()[0]) * 1024
            elif key == "Threads":
                out[key] = int(val)
    return out


def proc_cpu(pid):
    """utime + stime of every thread, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# ---------------------------------------------------------------------------
# BPF maps of a process, counted with the bpf(2) syscall (no bpftool needed).

SYS_BPF = 321  # x86_64
BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_LOOKUP_BATCH = 14, 15, 24
_libc = ctypes.CDLL(None, use_errno=True)


class _Attr(ctypes.Structure):
    _fields_ = [("raw", ctypes.c_uint64 * 20)]


def _bpf(cmd, attr):
    r = _libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def _put(attr, off, ctype, value):
    ctype.from_buffer(attr, off).value = value


class BpfMap:
    def __init__(self, map_id):
        attr = _Attr()
        _put(attr, 0, ctypes.c_uint32, map_id)
        fd, err = _bpf(BPF_MAP_GET_FD_BY_ID, attr)
        if fd < 0:
            raise OSError(err, "BPF_MAP_GET_FD_BY_ID %d: %s" % (map_id, os.strerror(err)))
        self.fd = fd
        info = ctypes.create_string_buffer(256)
        attr = _Attr()
        _put(attr, 0, ctypes.c_uint32, fd)
        _put(attr, 4, ctypes.c_uint32, len(info))
        _put(attr, 8, ctypes.c_uint64, ctypes.addressof(info))
        r, err = _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        if r < 0:
            os.close(fd)
            raise OSError(err, "BPF_OBJ_GET_INFO_BY_FD: %s" % os.strerror(err))
        raw = info.raw
        self.type, self.id, self.key_size, self.value_size, self.max_entries = (
            int.from_bytes(raw[i:i + 4], "little") for i in range(0, 20, 4))
        self.name = raw[24:40].split(b"\0", 1)[0].decode()
        self.batch = 4096
        self.keys = ctypes.create_string_buffer(max(self.key_size, 1) * self.batch)
        self.values = ctypes.create_string_buffer(max(self.value_size, 1) * self.batch)

    def count(self):
        """Entries, read in batches of 4096 (a hash map's batch token is 4 bytes)."""
        in_b, out_b = ctypes.create_string_buffer(8), ctypes.create_string_buffer(8)
        total, first = 0, True
        while True:
            attr = _Attr()
            _put(attr, 0, ctypes.c_uint64, 0 if first else ctypes.addressof(in_b))
            _put(attr, 8, ctypes.c_uint64, ctypes.addressof(out_b))
            _put(attr, 16, ctypes.c_uint64, ctypes.addressof(self.keys))
            _put(attr, 24, ctypes.c_uint64, ctypes.addressof(self.values))
            _put(attr, 32, ctypes.c_uint32, self.batch)
            _put(attr, 36, ctypes.c_uint32, self.fd)
            r, err = _bpf(BPF_MAP_LOOKUP_BATCH, attr)
            total += ctypes.c_uint32.from_buffer(attr, 32).value
            if r < 0:
                if err == errno.ENOENT:
                    return total
                raise OSError(err, "BPF_MAP_LOOKUP_BATCH %s: %s" % (self.name,
                                                                      os.strerror(err)))
            ctypes.memmove(in_b, out_b, 8)
            first = False

    def close(self):
        os.close(self.fd)


def process_maps(pid, names):
    """{name: [BpfMap]} of the maps pid holds an fd of, for the names asked."""
    ids = set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                for line in f:
                    if line.startswith("map_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    found = {n: [] for n in names}
    for map_id in sorted(ids):
        m = BpfMap(map_id)
        if m.name in found:
            found[m.name].append(m)
        else:
            m.close()
    return found


# ---------------------------------------------------------------------------
# The Prometheus textfile.

def parse_prom(text):
    """[(name, {label: value}, float)]"""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        out.append((name, dict(LABEL_RE.findall(labels)), float(value)))
    return out


def prom_pick(samples, pid):
    """What a sample needs from the textfile."""
    got = {"live": None, "leak_live": 0, "requests": None, "losses": 0, "sample_s": None,
           "verdicts": {}, "leak_stack": False, "loss_reasons": {}}
    for name, labels, value in samples:
        if labels.get("pid") not in (None, str(pid)):
            continue
        func = labels.get("top_frame", "").split("+", 1)[0]
        if name == "agentleak_process_live_bytes":
            got["live"] = value
        elif name == "agentleak_process_requests_total":
            got["requests"] = value
        elif name == "agentleak_stack_live_bytes" and func == "leak_fixed":
            got["leak_live"] += value
            got["leak_stack"] = True
        elif name == "agentleak_lost_total":
            got["losses"] += value
            got["loss_reasons"][labels.get("reason", "?")] = int(value)
        elif name == "agentleak_sample_duration_seconds":
            got["sample_s"] = value
        elif name == "agentleak_stack_verdict" and value == 1:
            got["verdicts"].setdefault(func, []).append(labels.get("verdict"))
    return got


# ---------------------------------------------------------------------------
# The run.

class Soak:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="agentleak-soak-")
        self.prom = os.path.join(self.tmp, "agentleak.prom")
        self.samples = []
        self.scrapes = 0            # our GET /metrics: handle_request counts them too
        self.prom_mtime = None
        self.load_result = None
        self.load_error = None
        self.notes = []

    # -- agentleak
    def start_agentleak(self, srv):
        argv = [AGENTLEAK, "-p", str(srv.pid), "--requests", uprobe_source(srv),
                "--prom-file", self.prom]
        if MODE != "precise":
            argv += ["--mode", MODE]
        argv.append(str(INTERVAL))
        self.argv = argv
        for attempt in range(5):  # build/agentleak may be being replaced right now
            self.out = tempfile.TemporaryFile()
            self.err = tempfile.TemporaryFile()
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                             stderr=self.err, preexec_fn=die_with_parent)
                wait_for_stderr(self.proc, self.err, "tracing", time.monotonic() + 30)
                return
            except (OSError, AssertionError) as e:
                if getattr(self, "proc", None) is not None and self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
                self.proc = None
                if attempt == 4:
                    raise
                print("agentleak did not start (%s); retrying" % str(e).splitlines()[0],
                      file=sys.stderr)
                time.sleep(3)

    def wait_textfile(self, timeout):
        """Wait until agentleak rewrites its textfile (a new mtime): True, or False on
        timeout or when agentleak has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                st = os.stat(self.prom)
                if st.st_mtime_ns != self.prom_mtime:
                    self.prom_mtime = st.st_mtime_ns
                    return True
            except FileNotFoundError:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def sample(self, srv, maps, t0, phase):
        fresh = self.wait_textfile(INTERVAL + 5)
        t_prom = time.monotonic()
        # the server first: its count as close as possible to agentleak's sample
        leak, app_total = server_counts(srv.port)
        self.scrapes += 1
        t_scrape = time.monotonic()
        with open(self.prom) as f:
            prom = prom_pick(parse_prom(f.read()), srv.pid)
        st = proc_status(self.proc.pid)
        s = {
            "t": time.monotonic() - t0, "phase": phase, "fresh": fresh,
            "lag": t_scrape - t_prom,
            "rss": st["VmRSS"], "hwm": st["VmHWM"], "threads": st["Threads"],
            "fds": proc_fds(self.proc.pid), "cpu": proc_cpu(self.proc.pid),
            "srv_cpu": proc_cpu(srv.pid), "srv_rss": proc_status(srv.pid)["VmRSS"],
            "allocs": sum(m.count() for m in maps.get("allocs", [])) if maps else None,
            "slots": sum(m.count() for m in maps.get("stack_slots", [])) if maps else None,
            "leak_count": int(leak), "app_total": int(app_total),
            # scrapes agentleak had counted when it wrote this textfile: all but this one
            "scrapes_before": self.scrapes - 1,
        }
        s.update(prom)
        self.samples.append(s)
        return s

    def drive(self, port):
        count = int(round(RATE * SECONDS))
        try:
            self.load_result = run_load(port, Load(PATHS, count, RATE, SECONDS + 60))
        except BaseException as e:  # noqa: B902 - reported by the main thread
            self.load_error = e

    def run(self):
        require_root()
        require_agentleak()
        if not os.access(LOADGEN, os.X_OK):
            raise AssertionError("%s missing (run make)" % LOADGEN)
        srv = c_server()
        try:
            return self.run_with(srv)
        finally:
            if getattr(self, "proc", None) is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            srv.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run_with(self, srv):
        self.srv_pid = srv.pid
        self.start_agentleak(srv)
        maps = None
        if MODE == "precise":
            try:
                maps = process_maps(self.proc.pid, ("allocs", "stack_slots"))
                if not maps["allocs"] or not maps["stack_slots"]:
                    self.notes.append("maps allocs/stack_slots not found among agentleak's "
                                      "fds: map use not recorded")
                    maps = None
            except OSError as e:
                self.notes.append("BPF maps not readable (%s): map use not recorded" % e)
                maps = None
        self.attach_note = time.strftime("%Y-%m-%d %H:%M:%S")
        self.wait_textfile(INTERVAL + 5)  # the first page (before any load)
        load = threading.Thread(target=self.drive, args=(srv.port,), daemon=True)
        t0 = time.monotonic()
        load.start()
        print("soak: server pid %d, agentleak pid %d, %g s at %g requests/s, a sample every "
              "%g s" % (srv.pid, self.proc.pid, SECONDS, RATE, EVERY), file=sys.stderr)
        k = 0
        while load.is_alive():
            due = t0 + k * EVERY
            while load.is_alive() and time.monotonic() < due:
                time.sleep(min(1.0, due - time.monotonic()))
            if not load.is_alive():
                break
            if self.proc.poll() is not None:
                raise AssertionError("agentleak exited with status %s during the load:\n%s"
                                     % (self.proc.returncode, tail(read_file(self.err), 20)))
            s = self.sample(srv, maps, t0, "load")
            print("soak: t=%5.0f s  rss %.2f MiB  fds %d  cpu %.1f s  allocs %s  leak %d/%d "
                  "blocks" % (s["t"], s["rss"] / 2**20, s["fds"], s["cpu"], s["allocs"],
                              s["leak_live"] // BLOCK, s["leak_count"]), file=sys.stderr)
            k += 1
            next_k = int((time.monotonic() - t0) // EVERY) + 1  # never fall behind
            k = max(k, next_k)
        load.join()
        self.load_seconds = time.monotonic() - t0
        if self.load_error is not None:
            raise AssertionError("the load failed: %s" % self.load_error)
        # Nothing in flight now: agentleak's next page must agree exactly.
        time.sleep(1.0)
        self.wait_textfile(INTERVAL + 5)  # a page that may have been sampled mid-load
        self.end = self.sample(srv, maps, t0, "end")
        if maps:
            for ms in maps.values():
                for m in ms:
                    m.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.returncode = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.returncode = None
        self.stdout = read_file(self.out)
        self.stderr = read_file(self.err)
        self.srv_alive = srv.alive()
        return self.summarize()

    # -- verdicts
    def summarize(self):
        S = [s for s in self.samples if s["phase"] == "load"]
        if len(S) < 3:
            raise AssertionError("only %d samples during the load: make SOAK_SECONDS at "
                                 "least 4 x SOAK_EVERY" % len(S))
        end = self.end
        checks = []  # (ok or None for information, title, detail)

        def check(ok, title, detail):
            checks.append((ok, title, detail))

        warm = min(60.0, SECONDS / 10)
        steady = [s for s in S if s["t"] >= warm] or S
        q = max(1, len(steady) // 4)
        first, last = steady[:q], steady[-q:]

        # RSS
        a = statistics.median(s["rss"] for s in first)
        b = statistics.median(s["rss"] for s in last)
        allow = max(RSS_REL * a, RSS_ABS)
        check(b <= a + allow, "agentleak RSS flat",
              "median of the first quarter (%d samples from t=%.0f s) %s, of the last quarter "
              "%s: %+.2f MiB (%+.1f%%); allowed +max(5%%, 1 MiB) = +%.2f MiB. Min %s, max %s"
              % (q, first[0]["t"], mib(a), mib(b), (b - a) / 2**20, 100.0 * (b - a) / a,
                 allow / 2**20, mib(min(s["rss"] for s in S)), mib(max(s["rss"] for s in S))))
        hwm_a, hwm_b = first[-1]["hwm"], end["hwm"]
        check(hwm_b <= hwm_a + allow, "agentleak VmHWM flat",
              "end of the first quarter %s, at the end of the load %s (%+.2f MiB); same "
              "allowance" % (mib(hwm_a), mib(hwm_b), (hwm_b - hwm_a) / 2**20))

        # fds, threads
        fds = [s["fds"] for s in S] + [end["fds"]]
        thr = [s["threads"] for s in S] + [end["threads"]]
        if MODE == "auto":  # the precise tier's probes come and go with the windows
            ok = len(set(fds)) <= 2 and max(thr) == min(thr)
            rule = "at most 2 fd counts: with and without a diagnosis window's probes"
        else:
            ok = max(fds) - min(fds) <= FD_SLACK and max(thr) == min(thr)
            rule = "must not change"
        check(ok, "fds and threads constant", "open fds %s, threads %s over %d samples (%s)"
              % (span(fds), span(thr), len(fds), rule))

        # BPF maps
        if MODE == "precise" and S[0]["allocs"] is not None:
            nonleak = [s["allocs"] - s["leak_count"] for s in S]
            slots_first = max(s["slots"] for s in first)
            slots_last = max(s["slots"] for s in last)
            grow_allocs = end["allocs"] - S[0]["allocs"]
            grow_leak = end["leak_count"] - S[0]["leak_count"]
            ok = (max(nonleak) <= NONLEAK_MAX and min(nonleak) >= -LAG_SECONDS * RATE
                  and slots_last <= slots_first and 0 <= end["allocs"] - end["leak_count"]
                  <= CACHE_SLOTS + 16)
            check(ok, "BPF map use grows only with the leak",
                  "allocs entries grew %+d while the server kept %+d /leak blocks; entries "
                  "that are not /leak blocks (allocs - server's /leak count) %s during the "
                  "load (allowed 0..%d: the %d cache slots + one /burst in flight of %d + 16), "
                  "%d with nothing in flight (allowed 0..%d); stack_slots %d in the first "
                  "quarter, %d in the last, %d at the end (must not grow)"
                  % (grow_allocs, grow_leak, span(nonleak), NONLEAK_MAX, CACHE_SLOTS,
                     BURST_COUNT, end["allocs"] - end["leak_count"], CACHE_SLOTS + 16,
                     slots_first, slots_last, end["slots"]))
        else:
            check(None, "BPF map use", "not recorded (mode %s)" % MODE)

        # Reconciliation with the server's own count
        lag_blocks = max(2, math.ceil(RATE * LEAK_SHARE * LAG_SECONDS))
        lag_reqs = max(2, math.ceil(RATE * LAG_SECONDS))
        diffs = [s["leak_count"] - s["leak_live"] / BLOCK for s in S]
        rdiffs = [int(s["app_total"] + s["scrapes_before"] - s["requests"]) for s in S
                  if s["requests"] is not None]
        end_diff = end["leak_count"] * BLOCK - end["leak_live"]
        end_rdiff = (int(end["app_total"] + end["scrapes_before"] - end["requests"])
                     if end["requests"] is not None else None)
        self.final = self.final_numbers()
        fin = self.final
        if MODE == "precise":
            ok = (all(0 <= d <= lag_blocks for d in diffs) and end_diff == 0
                  and fin["leak_live"] == end["leak_count"] * BLOCK
                  and all(0 <= d <= lag_reqs for d in rdiffs) and end_rdiff == 0
                  and fin["requests"] == fin["expected_requests"])
            check(ok, "reported live bytes reconcile with the server",
                  "leak_fixed live bytes in agentleak's textfile vs 4096 x the server's "
                  "/leak count: during the load the server was ahead by %s blocks (allowed "
                  "0..%d: /leak requests answered between agentleak's sample and our scrape, "
                  "%g s at %g/s); with the load stopped: textfile %d B vs server %d B "
                  "(difference %d B, must be 0); final report %d B (must equal). Requests: "
                  "server ahead by %s during the load (allowed 0..%d), %s with the load "
                  "stopped (must be 0); the final report counts %s, expected %d (the server's "
                  "app_requests_total + our %d scrapes of /metrics)"
                  % (span([int(d) for d in diffs]), lag_blocks, LAG_SECONDS,
                     RATE * LEAK_SHARE, end["leak_live"], end["leak_count"] * BLOCK,
                     end_diff, fin["leak_live"], span(rdiffs), lag_reqs, end_rdiff,
                     fin["requests"], fin["expected_requests"], self.scrapes))
        else:
            ratio = end["leak_live"] / (end["leak_count"] * BLOCK) if end["leak_count"] else 0
            check(None, "reported live bytes vs the server",
                  "mode %s: leak_fixed stack %d B vs server %d B (ratio %.3f) at the end"
                  % (MODE, end["leak_live"], end["leak_count"] * BLOCK, ratio))

        # Losses and verdicts
        # Other modes see frees of blocks allocated before a window opened: unknown_free.
        reasons = end["loss_reasons"]
        counted = {r: n for r, n in reasons.items() if MODE == "precise" or r != "unknown_free"}
        check(sum(counted.values()) == 0, "nothing lost",
              "agentleak_lost_total at the end: %s%s"
              % (", ".join("%s %d" % rn for rn in sorted(reasons.items())) or "no series",
                 "" if MODE == "precise" else " (unknown_free not counted in mode %s)" % MODE))
        verdicts = end["verdicts"]
        leak_v = verdicts.get("leak_fixed", [])
        others = {f: v for f, v in verdicts.items() if f != "leak_fixed" and "leak" in v}
        # Other modes charge a page to its first toucher (README, growth tier): information.
        check(("leak" in leak_v and not others) if MODE == "precise" else None,
              "verdicts at the end",
              "leak_fixed: %s; other stacks: %s; final report rate %s B/request, expected "
              "%.1f (4096 x /leak share of the requests counted)"
              % ("/".join(leak_v) or "none",
                 ", ".join("%s %s" % (f, "/".join(v)) for f, v in sorted(verdicts.items())
                           if f != "leak_fixed") or "none",
                 "%.1f" % fin["rate"] if fin["rate"] is not None else "n/a",
                 fin["expected_rate"]))

        # CPU
        dt = end["t"] - S[0]["t"]
        cpu = 100.0 * (end["cpu"] - S[0]["cpu"]) / dt if dt > 0 else 0.0
        srv_cpu = 100.0 * (end["srv_cpu"] - S[0]["srv_cpu"]) / dt if dt > 0 else 0.0
        check(cpu <= CPU_MAX, "agentleak CPU",
              "%.2f%% of one core over %.0f s (%.1f s of utime+stime; allowed %.1f%%). The "
              "server, whose CPU includes the BPF programs run in its context: %.2f%%"
              % (cpu, dt, end["cpu"] - S[0]["cpu"], CPU_MAX, srv_cpu))

        # Exit
        check(self.returncode == 0 and fin["found"] and self.srv_alive, "clean exit",
              "SIGINT -> exit status %s, final report %s, server %s"
              % (self.returncode, "printed" if fin["found"] else "MISSING",
                 "alive" if self.srv_alive else "DEAD"))
        return self.markdown(S, end, checks)

    def final_numbers(self):
        out = {"found": False, "leak_live": None, "requests": None, "rate": None,
               "expected_requests": self.end["app_total"] + self.scrapes,
               "expected_rate": 0.0}
        try:
            reports = parse_reports(self.stdout)
        except Exception as e:  # noqa: B902 - a parse error is a failed criterion
            self.notes.append("final report not parsed: %s" % e)
            return out
        finals = [r for r in reports if r["final"]]
        if not finals:
            return out
        rep = finals[-1]
        out["found"] = True
        stacks = stacks_by_frame0(rep["stacks"], self.srv_pid, "leak_fixed")
        out["leak_live"] = sum(s["live_bytes"] for s in stacks)
        mem = (rep["processes"].get(self.srv_pid) or {}).get("memory") or {}
        out["requests"] = mem.get("requests")
        if out["expected_requests"]:
            out["expected_rate"] = BLOCK * self.end["leak_count"] / out["expected_requests"]
        if stacks and stacks[0]["verdict"]:
            out["rate"] = stacks[0]["verdict"]["rate"]
        return out

    def markdown(self, S, end, checks):
        rows = S + [end]
        step = max(1, math.ceil(len(S) / 40))
        shown = [s for i, s in enumerate(S) if i % step == 0 or i == len(S) - 1] + [end]
        lines = ["# agentleak soak run", "",
                 "%s; %s; load %.0f s at %g requests/s (%s in turn: %d%% /leak), a sample "
                 "every %g s%s; agentleak `%s`."
                 % (self.attach_note, os.uname().release, self.load_seconds, RATE, PATHS,
                    round(LEAK_SHARE * 100), EVERY,
                    "" if step == 1 else " (every %d%s shown)" % (step, ordinal(step)),
                    " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
                             for a in self.argv[1:])),
                 "",
                 "| t (s) | RSS (MiB) | HWM (MiB) | fds | thr | CPU (s) | CPU % | allocs | "
                 "stack_slots | live B (process) | leak_fixed B | server /leak B | "
                 "server ahead (blocks) | requests (agentleak/server) |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        prev = None
        for s in shown:
            pct = ("%.2f" % (100.0 * (s["cpu"] - prev["cpu"]) / (s["t"] - prev["t"]))
                   if prev and s["t"] > prev["t"] else "")
            srv_reqs = s["app_total"] + s["scrapes_before"]
            lines.append("| %s%.0f | %.2f | %.2f | %d | %d | %.2f | %s | %s | %s | %s | %d | %d | "
                         "%d | %s/%d |"
                         % ("end " if s["phase"] == "end" else "", s["t"], s["rss"] / 2**20,
                            s["hwm"] / 2**20, s["fds"], s["threads"], s["cpu"], pct,
                            fmt(s["allocs"]), fmt(s["slots"]), fmt(s["live"]),
                            s["leak_live"], s["leak_count"] * BLOCK,
                            s["leak_count"] - s["leak_live"] // BLOCK,
                            fmt(s["requests"]), srv_reqs))
            prev = s
        stale = sum(not s["fresh"] for s in rows)
        if stale:
            self.notes.append("%d samples found no new textfile within %d s (read the old one)"
                              % (stale, INTERVAL + 5))
        lines += ["", "`end`: after the load stopped (nothing in flight). Server's RSS: %s at "
                  "the first sample, %s at the end. agentleak's map sample took %s at the "
                  "first sample, %s at the end. Largest scrape lag after the textfile "
                  "changed: %.0f ms."
                  % (mib(rows[0]["srv_rss"]), mib(end["srv_rss"]), msec(rows[0]["sample_s"]),
                     msec(end["sample_s"]), 1000 * max(s["lag"] for s in rows)), "",
                  "## Verdicts", ""]
        failed = 0
        for ok, title, detail in checks:
            word = "info" if ok is None else ("PASS" if ok else "FAIL")
            failed += ok is False
            lines.append("- **%s** %s: %s" % (word, title, detail))
        for n in self.notes:
            lines.append("- note: %s" % n)
        lines += ["", "%s: %d of %d criteria failed." % ("FAILED" if failed else "PASSED",
                                                         failed,
                                                         sum(ok is not None for ok, _, _ in checks))]
        text = "\n".join(lines) + "\n"
        self.failed = failed
        return text


def server_counts(port):
    """(app_requests_total{path="/leak"}, the sum of app_requests_total) from one GET
    /metrics of the server (metric_sum's parsing, one scrape for both)."""
    status, body = http_get(port, "/metrics")
    if status != 200:
        raise AssertionError("GET /metrics: HTTP status %d" % status)
    leak, total = None, 0
    for name, labels, value in parse_prom(body):
        if name == "app_requests_total":
            total += int(value)
            if labels.get("path") == "/leak":
                leak = int(value)
    if leak is None:
        raise AssertionError('no app_requests_total{path="/leak"} on the server\'s /metrics')
    return leak, total


def mib(b):
    return "%.2f MiB" % (b / 2**20)


def span(values):
    values = list(values)
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return "%s" % lo if lo == hi else "%s..%s" % (lo, hi)


def msec(seconds):
    return "n/a" if seconds is None else "%.2f ms" % (1000 * seconds)


def fmt(v):
    return "n/a" if v is None else "%d" % v


def ordinal(n):
    return {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th")


def main():
    soak = Soak()
    try:
        text = soak.run()
    except Skip as e:
        print("soak: skipped: %s" % e, file=sys.stderr)
        return 2
    except (AssertionError, OSError) as e:
        print("soak: the run failed: %s" % e, file=sys.stderr)
        return 2
    print(text)
    with open(OUT_MD, "w") as f:
        f.write(text)
    print("(written to %s)" % os.path.relpath(OUT_MD, ROOT), file=sys.stderr)
    if soak.failed and soak.returncode != 0:
        print("--- agentleak stderr ---\n%s" % tail(soak.stderr, 20), file=sys.stderr)
    return 1 if soak.failed else 0


if __name__ == "__main__":
    sys.exit(main())
