"""Integration tests of the Prometheus outputs: --prom-file (cli/export/prom.c, the
node_exporter textfile) and --listen (cli/export/httpd.c, GET /metrics), and of the
deploy/ files that use them.

* agentleak against the C request server (tests/workloads/server.c) leaking
  4 KiB per /leak request, uprobe request source, --prom-file and --listen
  together: while the load runs the textfile and /metrics are read again and
  again (every read complete, answered quickly); the leak_fixed stack gets the
  verdict leak, a slope of ~4096 B/request and exactly COUNT * 4096 live bytes;
  both pages pass `promtool check metrics` (lint included) and have the same
  HELP/TYPE lines; the textfile is mode 0644 and removed on a clean exit (kept
  with --keep). Without --requests the slopes are per second.
* a real Prometheus (Debian's prometheus package) scrapes --listen with the
  alert rules loaded: the target is healthy, the rules load, the leak series are
  queryable and every query of the Grafana dashboard runs on the scraped data.
* bad --prom-file (symlink, missing directory, a directory, /proc) and bad
  --listen (port in use, "abc", port 70000, ...): one stderr line
  "agentleak: ...", non-zero exit, nothing created.
* deploy/prometheus/agentleak-rules.yml passes `promtool check rules` and its
  unit tests (`promtool test rules`); deploy/grafana/agentleak-dashboard.json
  parses, is shaped like a dashboard, its PromQL parses (through promtool check
  rules) and it names only metrics cli/export/prom.c writes. These two need no tracing.
"""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from agentleak_test import (AGENTLEAK, ROOT, die_with_parent, require_agentleak, require_root,
                            run_agentleak_error, tail)
from trend_test import (Load, c_server, check_trend_run, free_port, http_get, run_load,
                        trend_run, uprobe_source)

BLOCK = 4096
COUNT = 3000
RATE = 400
LEAK_FUNC = "leak_fixed"

PROM_C = os.path.join(ROOT, "cli", "export", "prom.c")
RULES = os.path.join(ROOT, "deploy", "prometheus", "agentleak-rules.yml")
RULES_TEST = os.path.join(ROOT, "deploy", "prometheus", "agentleak-rules.test.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "agentleak-dashboard.json")
PROMETHEUS = "/usr/bin/prometheus"

LAST_LINE = "agentleak_up 1"


# ---------------------------------------------------------------------------
# Helpers.

def require_prom_options():
    """Fail (not skip) while build/agentleak has no --prom-file / --listen."""
    require_agentleak()
    res = subprocess.run([AGENTLEAK, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=10)
    text = (res.stdout + res.stderr).decode(errors="replace")
    for opt in ("--prom-file", "--listen", "--keep"):
        if opt not in text:
            raise AssertionError("%s not supported yet: %s --help does not mention it"
                                 % (opt, AGENTLEAK))


def require_promtool():
    if not shutil.which("promtool"):
        raise AssertionError("promtool not found (apt-get install prometheus, or "
                             "scripts/install-deps.sh)")


def promtool(args, stdin_text=None, cwd=None):
    """(exit status, stdout + stderr) of promtool ARGS."""
    require_promtool()
    res = subprocess.run(["promtool"] + list(args), cwd=cwd, capture_output=True, timeout=60,
                         input=None if stdin_text is None else stdin_text.encode(),
                         stdin=subprocess.DEVNULL if stdin_text is None else None)
    return res.returncode, (res.stdout + res.stderr).decode(errors="replace")


def check_metrics(text, what):
    """promtool check metrics, lint included: exit 0, nothing said."""
    status, out = promtool(["check", "metrics"], text)
    if status != 0 or out.strip():
        raise AssertionError("promtool check metrics on %s: exit %d\n%s\n--- page ---\n%s"
                             % (what, status, tail(out, 20), tail(text, 30)))


def emitted_names():
    """Every metric name cli/export/prom.c writes (its string literals agentleak_*)."""
    with open(PROM_C) as f:
        names = set(re.findall(r'"(agentleak_[a-z_]+)"', f.read()))
    if len(names) < 15:
        raise AssertionError("found only %d metric names in %s: %s" % (len(names), PROM_C,
                                                                      sorted(names)))
    return names


LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|(?=}))')


def unescape(value):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_page(text):
    """[(name, {label: value}, float)] of every sample of a text exposition."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            raise AssertionError("unparsable line: %r" % line)
        name, rest, labels = m.group(1), line[m.end():], {}
        if rest.startswith("{"):
            rest = rest[1:]
            while not rest.startswith("}"):
                lm = LABEL_RE.match(rest)
                if not lm:
                    raise AssertionError("unparsable labels: %r" % line)
                labels[lm.group(1)] = unescape(lm.group(2))
                rest = rest[lm.end():]
            rest = rest[1:]
        samples.append((name, labels, float(rest.split()[0])))
    return samples


def comment_lines(text):
    return [line for line in text.splitlines() if line.startswith("#")]


def complete(text):
    return text.endswith("\n" + LAST_LINE + "\n")


def leak_series(samples, pid, name):
    """Samples of name for pid's stacks whose top frame is in LEAK_FUNC."""
    return [(labels, v) for n, labels, v in samples
            if n == name and labels.get("pid") == str(pid)
            and labels.get("top_frame", "").startswith(LEAK_FUNC + "+")]


def value_of(samples, name, **labels):
    for n, lab, v in samples:
        if n == name and all(lab.get(k) == str(w) for k, w in labels.items()):
            return v
    return None


def get_metrics(port, path="/metrics"):
    """(status, body, seconds) of GET path on agentleak's listener."""
    t0 = time.monotonic()
    status, body = http_get(port, path, timeout=2.0)
    return status, body, time.monotonic() - t0


class Watcher:
    """Reads the textfile and GETs /metrics every 0.25 s while the load runs, keeping
    every problem and the pages of interest."""

    def __init__(self, srv, path, port):
        self.srv = srv
        self.path = path
        self.port = port
        self.problems = []
        self.file_reads = 0
        self.http_reads = 0
        self.slowest = 0.0
        self.leak_page = None    # first /metrics page with the leak verdict for leak_fixed
        self.exact_page = None   # first /metrics page with exactly COUNT * BLOCK live
        self.last_file = None
        self.last_http = None

    def read_file(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except FileNotFoundError:
            return  # not written yet (the first sample comes 0.2 s after tracing starts)
        self.file_reads += 1
        if not complete(text):
            self.problems.append("textfile read %d is not a complete page (%d bytes, ends %r)"
                                 % (self.file_reads, len(text), text[-60:]))
        self.last_file = text

    def read_http(self):
        try:
            status, body, secs = get_metrics(self.port)
        except OSError as e:
            self.problems.append("GET /metrics: %s" % e)
            return
        self.http_reads += 1
        self.slowest = max(self.slowest, secs)
        if status != 200 or not complete(body):
            self.problems.append("GET /metrics: status %d, %d bytes, ends %r"
                                 % (status, len(body), body[-60:]))
            return
        self.last_http = body
        samples = parse_page(body)
        if self.leak_page is None and any(
                lab.get("verdict") == "leak"
                for lab, _ in leak_series(samples, self.srv.pid, "agentleak_stack_verdict")):
            self.leak_page = body
        live = sum(v for _, v in leak_series(samples, self.srv.pid, "agentleak_stack_live_bytes"))
        if self.exact_page is None and live == COUNT * BLOCK:
            self.exact_page = body

    def step(self):
        self.read_file()
        self.read_http()

    def watch(self, run, load, wait_pages=True):
        """drive(run) for trend_run: the load in a thread, reads meanwhile, then (with
        wait_pages) reads until both pages of interest were seen (at most 15 s more)."""
        result = {}

        def loadgen():
            try:
                result["load"] = run_load(self.srv.port, load)
            except AssertionError as e:
                result["error"] = e

        t = threading.Thread(target=loadgen)
        t.start()
        while t.is_alive():
            self.step()
            time.sleep(0.25)
        t.join()
        if "error" in result:
            raise result["error"]
        run.loads.append((load,) + result["load"])
        deadline = time.monotonic() + (15 if wait_pages else 0)
        while time.monotonic() < deadline and (self.leak_page is None or self.exact_page is None):
            self.step()
            time.sleep(0.25)
        self.step()


def details(watcher, run=None):
    text = "\n--- last /metrics ---\n" + tail(watcher.last_http or "(none)", 40)
    if run is not None:
        text += run.details([LEAK_FUNC])
    return text


def prom_run(srv, tmp, extra=(), load=None, wait_pages=True, time_mode=False):
    """trend_run with --prom-file TMP/agentleak.prom --listen 127.0.0.1:PORT (and the
    uprobe request source unless time_mode) and a Watcher reading both while the load
    runs. Returns (run, watcher, path, port)."""
    path = os.path.join(tmp, "agentleak.prom")
    port = free_port()
    watcher = Watcher(srv, path, port)
    args = ["--prom-file", path, "--listen", "127.0.0.1:%d" % port] + list(extra)
    load = load or Load("/leak", COUNT, RATE)
    source = None if time_mode else uprobe_source(srv)
    run = trend_run(srv, source, lambda r: watcher.watch(r, load, wait_pages),
                    extra=args,
                    timeout=100.0)
    return run, watcher, path, port


# ---------------------------------------------------------------------------
# Tests that trace.

def test_prom_file_and_listen():
    require_root()
    require_prom_options()
    require_promtool()
    tmp = tempfile.mkdtemp(prefix="agentleak-prom-")
    try:
        with c_server() as srv:
            run, w, path, port = prom_run(srv, tmp)
            check_trend_run(run, [LEAK_FUNC])
            for p in w.problems[:5]:
                run.problem(p)
            if w.file_reads < 5 or w.http_reads < 5:
                run.problem("only %d textfile reads and %d GETs while agentleak ran"
                            % (w.file_reads, w.http_reads))
            if w.slowest > 0.5:
                run.problem("GET /metrics took up to %.2f s (the main loop serves it every "
                            "20 ms)" % w.slowest)
            if w.leak_page is None:
                run.problem("no /metrics page had agentleak_stack_verdict{verdict=\"leak\"} for "
                            "the %s stack of pid %d" % (LEAK_FUNC, srv.pid))
            else:
                s = parse_page(w.leak_page)
                slopes = leak_series(s, srv.pid, "agentleak_stack_slope_bytes_per_request")
                if not slopes or not any(abs(v - BLOCK) <= 0.1 * BLOCK for _, v in slopes):
                    run.problem("slope of the leak stack: %s, expected ~%d B/request"
                                % ([v for _, v in slopes], BLOCK))
                if (value_of(s, "agentleak_leaks") or 0) < 1:
                    run.problem("agentleak_leaks < 1 on the page with the leak verdict")
                if leak_series(s, srv.pid, "agentleak_stack_slope_bytes_per_second"):
                    run.problem("slope per second with a request source")
                check_metrics(w.leak_page, "the /metrics page with the leak verdict")
            if w.exact_page is None:
                run.problem("no /metrics page had exactly %d live bytes in %s"
                            % (COUNT * BLOCK, LEAK_FUNC))
            else:
                s = parse_page(w.exact_page)
                req = value_of(s, "agentleak_process_requests_total", pid=srv.pid)
                if req is None or req < COUNT:
                    run.problem("agentleak_process_requests_total{pid=%d} = %s, expected >= %d"
                                % (srv.pid, req, COUNT))
                for name in ("agentleak_process_live_bytes", "agentleak_process_rss_bytes",
                             "agentleak_process_anon_bytes"):
                    v = value_of(s, name, pid=srv.pid)
                    if v is None or v < COUNT * BLOCK:
                        run.problem("%s{pid=%d} = %s, expected >= %d"
                                    % (name, srv.pid, v, COUNT * BLOCK))
                if value_of(s, "agentleak_events_total", kind="alloc") < COUNT:
                    run.problem("agentleak_events_total{kind=\"alloc\"} below the requests")
            if w.last_file is None:
                run.problem("the textfile %s was never seen" % path)
            else:
                check_metrics(w.last_file, "the textfile")
                if comment_lines(w.last_file) != comment_lines(w.last_http or ""):
                    run.problem("HELP/TYPE lines differ between the textfile and /metrics")
            if w.last_http:
                check_metrics(w.last_http, "the last /metrics page")
            if os.path.exists(path):
                run.problem("the textfile is still there after a clean exit (no --keep)")
            left = os.listdir(tmp)
            if left:
                run.problem("files left in the textfile's directory: %s" % left)
            try:
                get_metrics(port)
                run.problem("/metrics still answers after agentleak exited")
            except OSError:
                pass
            if run.problems:
                run.problems[-1] += details(w)
            run.finish([LEAK_FUNC])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_prom_file_keep():
    require_root()
    require_prom_options()
    require_promtool()
    tmp = tempfile.mkdtemp(prefix="agentleak-prom-")
    try:
        with c_server() as srv:
            n = 300
            run, w, path, _ = prom_run(srv, tmp, ["--keep"], Load("/leak", n, 300),
                                       wait_pages=False)
            check_trend_run(run, [LEAK_FUNC])
            if not os.path.exists(path):
                run.fail("--keep: the textfile %s is gone after exit" % path)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode != 0o644:
                run.problem("textfile mode %o, expected 644" % mode)
            with open(path) as f:
                text = f.read()
            check_metrics(text, "the kept textfile")
            live = sum(v for _, v in leak_series(parse_page(text), srv.pid,
                                                 "agentleak_stack_live_bytes"))
            if live != n * BLOCK:
                run.problem("kept textfile: %s holds %d B live, expected %d"
                            % (LEAK_FUNC, live, n * BLOCK))
            if sorted(os.listdir(tmp)) != ["agentleak.prom"]:
                run.problem("files in the textfile's directory: %s" % os.listdir(tmp))
            run.finish([LEAK_FUNC])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_prom_time_mode():
    """Without --requests: slopes per second, no per-request series, no requests_total."""
    require_root()
    require_prom_options()
    require_promtool()
    tmp = tempfile.mkdtemp(prefix="agentleak-prom-")
    try:
        with c_server() as srv:
            run, w, _, _ = prom_run(srv, tmp, time_mode=True)
            check_trend_run(run, [LEAK_FUNC])
            for p in w.problems[:5]:
                run.problem(p)
            if w.leak_page is None:
                run.problem("time mode: no /metrics page had the leak verdict for %s"
                            % LEAK_FUNC)
            else:
                s = parse_page(w.leak_page)
                if not leak_series(s, srv.pid, "agentleak_stack_slope_bytes_per_second"):
                    run.problem("time mode: no agentleak_stack_slope_bytes_per_second for the "
                                "leak stack")
                for name in ("agentleak_stack_slope_bytes_per_request",
                             "agentleak_process_requests_total"):
                    if any(n == name for n, _, _ in s):
                        run.problem("time mode: %s has samples" % name)
                check_metrics(w.leak_page, "a time-mode page")
            if run.problems:
                run.problems[-1] += details(w)
            run.finish([LEAK_FUNC])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prometheus_config(tmp, port):
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "rule_files:\n  - %s\n"
                "scrape_configs:\n  - job_name: agentleak\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (RULES, port))
    return path


def prom_api(port, path, **params):
    url = "http://127.0.0.1:%d%s" % (port, path)
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=3) as r:
        return json.loads(r.read().decode())


def dashboard_results(web):
    """[(where, query, number of series or None on error)] of every dashboard query
    run against the Prometheus on port web."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    out = []
    for where, expr in dashboard_exprs(dash):
        q = as_promql(expr).replace("[5m]", "[30s]")
        try:
            res = prom_api(web, "/api/v1/query", query=q)
            out.append((where, q, len(res["data"]["result"]) if res.get("status") == "success"
                        else None))
        except (OSError, ValueError, KeyError):
            out.append((where, q, None))
    return out


def test_prometheus_scrapes_listen():
    """A real Prometheus scrapes --listen (1 s interval) with the alert rules loaded;
    every query of the Grafana dashboard runs on what it scraped."""
    require_root()
    require_prom_options()
    if not os.access(PROMETHEUS, os.X_OK):
        raise AssertionError("%s not found (apt-get install prometheus, or "
                             "scripts/install-deps.sh)" % PROMETHEUS)
    tmp = tempfile.mkdtemp(prefix="agentleak-prometheus-")
    prom = None
    found = {}
    try:
        with c_server() as srv:
            port, web = free_port(), free_port()
            cfg = prometheus_config(tmp, port)
            log = open(os.path.join(tmp, "prometheus.log"), "w+")
            prom = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg,
                                     "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                     "--web.listen-address=127.0.0.1:%d" % web],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    preexec_fn=die_with_parent)

            def drive(run):
                load = Load("/leak", COUNT, RATE)
                run.loads.append((load,) + run_load(srv.port, load))
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and len(found) < 3:
                    try:
                        t = prom_api(web, "/api/v1/targets")["data"]["activeTargets"]
                        if t and t[0]["health"] == "up":
                            found["target"] = t[0]
                        q = prom_api(web, "/api/v1/query",
                                     query='agentleak_stack_verdict{verdict="leak",pid="%d"}'
                                           % srv.pid)
                        if any(r["metric"].get("top_frame", "").startswith(LEAK_FUNC + "+")
                               for r in q["data"]["result"]):
                            found["verdict"] = q["data"]["result"]
                        rules = prom_api(web, "/api/v1/rules")["data"]["groups"]
                        if rules and all(r["health"] == "ok" for g in rules for r in g["rules"]):
                            found["rules"] = sum(len(g["rules"]) for g in rules)
                    except (OSError, ValueError, KeyError, IndexError):
                        pass
                    time.sleep(0.5)
                found["scrape"] = prom_api(web, "/api/v1/targets")["data"]["activeTargets"]
                found["dashboard"] = dashboard_results(web)

            run = trend_run(srv, uprobe_source(srv), drive,
                            extra=["--listen", "127.0.0.1:%d" % port], timeout=100.0)
            check_trend_run(run, [LEAK_FUNC])
            log.seek(0)
            logtext = log.read()
            if "target" not in found:
                run.problem("Prometheus never scraped agentleak successfully: %s\n"
                            "--- prometheus log ---\n%s"
                            % (found.get("scrape"), tail(logtext, 15)))
            if "verdict" not in found:
                run.problem("Prometheus has no agentleak_stack_verdict{verdict=\"leak\"} series "
                            "for %s of pid %d" % (LEAK_FUNC, srv.pid))
            for where, expr, n in found.get("dashboard", []):
                if n is None:
                    run.problem("dashboard %s: Prometheus refuses %s" % (where, expr))
                elif n == 0 and not re.search(r"oom_eta|cgroup_limit|slope_bytes_per_second",
                                              expr):
                    run.problem("dashboard %s: no data from %s" % (where, expr))
            if "rules" not in found:
                run.problem("the alert rules are not all loaded and healthy\n"
                            "--- prometheus log ---\n%s" % tail(logtext, 15))
            run.finish([LEAK_FUNC])
    finally:
        if prom is not None:
            prom.terminate()
            try:
                prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Bad options.

def expect_error(srv, args, want, what):
    line = run_agentleak_error(["-p", srv.pid] + list(args))
    if want not in line:
        raise AssertionError("%s: the error line does not say '%s': %s" % (what, want, line))
    return line


def test_prom_file_errors():
    require_root()
    require_prom_options()
    tmp = tempfile.mkdtemp(prefix="agentleak-prom-")
    try:
        with c_server() as srv:
            real = os.path.join(tmp, "real.txt")
            with open(real, "w") as f:
                f.write("precious\n")
            link = os.path.join(tmp, "link.prom")
            os.symlink(real, link)
            expect_error(srv, ["--prom-file", link], "symbolic link", "symlink")
            with open(real) as f:
                if f.read() != "precious\n":
                    raise AssertionError("the symlink's target was written")
            expect_error(srv, ["--prom-file", os.path.join(tmp, "no", "dir", "a.prom")],
                         "does not exist", "missing directory")
            expect_error(srv, ["--prom-file", tmp], "is a directory", "a directory")
            expect_error(srv, ["--prom-file", os.path.join(real, "a.prom")],
                         "is not a directory", "a file as the directory")
            expect_error(srv, ["--prom-file", "/proc/agentleak.prom"], "cannot create",
                         "/proc")
            # A bad --listen with a good --prom-file: nothing created either.
            good = os.path.join(tmp, "good.prom")
            expect_error(srv, ["--prom-file", good, "--listen", "abc"], "--listen",
                         "bad --listen after a good --prom-file")
            left = sorted(os.listdir(tmp))
            if left != ["link.prom", "real.txt"]:
                raise AssertionError("files created by failed runs: %s" % left)
            if not srv.alive():
                raise AssertionError("the server died%s" % srv.errors())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_listen_errors():
    require_root()
    require_prom_options()
    with c_server() as srv:
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            expect_error(srv, ["--listen", "127.0.0.1:%d" % port], "address already in use",
                         "port in use")
            expect_error(srv, ["--listen", str(port)], "address already in use",
                         "port in use, default address")
        finally:
            busy.close()
        expect_error(srv, ["--listen", "abc"], "bad port", "abc")
        expect_error(srv, ["--listen", "70000"], "out of range", "port 70000")
        expect_error(srv, ["--listen", "127.0.0.1:70000"], "out of range", "ADDR:70000")
        expect_error(srv, ["--listen", "myhost.example:9464"], "no host names", "host name")
        expect_error(srv, ["--listen", "[::1"], "[IPV6]:PORT", "unclosed bracket")
        expect_error(srv, ["--listen", "192.0.2.1:9464"], "not available", "foreign address")
        if not srv.alive():
            raise AssertionError("the server died%s" % srv.errors())


# ---------------------------------------------------------------------------
# deploy/: no tracing needed.

def test_alert_rules():
    status, out = promtool(["check", "rules", RULES])
    if status != 0 or "SUCCESS" not in out:
        raise AssertionError("promtool check rules %s: exit %d\n%s" % (RULES, status, out))
    status, out = promtool(["test", "rules", os.path.basename(RULES_TEST)],
                           cwd=os.path.dirname(RULES_TEST))
    if status != 0:
        raise AssertionError("promtool test rules %s: exit %d\n%s" % (RULES_TEST, status,
                                                                      tail(out, 40)))
    with open(RULES) as f:
        used = set(re.findall(r"\bagentleak_[a-z_]+", f.read()))
    unknown = used - emitted_names()
    if unknown:
        raise AssertionError("%s uses metrics cli/export/prom.c does not write: %s"
                             % (RULES, sorted(unknown)))


def dashboard_exprs(dash):
    """(where, PromQL) of every panel target and template variable query."""
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append(("panel %r target %s" % (p.get("title"), t.get("refId")), t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if v.get("type") == "query":
            out.append(("variable %s" % v["name"], q["query"] if isinstance(q, dict) else q))
    return out


def as_promql(expr):
    """Grafana's variables and label_values() replaced so promtool can parse it."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
    m = re.match(r"label_values\((.*),\s*\w+\)$", expr)
    if m:
        expr = m.group(1)
    elif re.match(r"label_values\(\w+\)$", expr):
        expr = "up"
    return expr


def test_grafana_dashboard():
    with open(DASHBOARD) as f:
        dash = json.load(f)  # raises on invalid JSON
    problems = []
    for key in ("title", "uid", "panels", "schemaVersion", "templating"):
        if key not in dash:
            problems.append("no top-level %r" % key)
    ids = [p.get("id") for p in dash.get("panels", [])]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append("panel ids not unique: %s" % ids)
    for p in dash.get("panels", []):
        if p.get("type") not in ("timeseries", "stat", "table", "gauge", "bargauge", "text",
                                 "row"):
            problems.append("panel %r: unexpected type %r" % (p.get("title"), p.get("type")))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")) or \
                g.get("x", 0) + g.get("w", 0) > 24:
            problems.append("panel %r: bad gridPos %s" % (p.get("title"), g))
        if p.get("type") != "row" and not p.get("targets"):
            problems.append("panel %r has no query" % p.get("title"))
    exprs = dashboard_exprs(dash)
    used = set()
    for _, e in exprs:
        used |= set(re.findall(r"\bagentleak_[a-z_]+", e))
    emitted = emitted_names()
    if used - emitted:
        problems.append("metrics cli/export/prom.c does not write: %s" % sorted(used - emitted))
    text = json.dumps(dash)
    for what in ("agentleak_stack_live_bytes", "agentleak_stack_slope_bytes_per_request",
                 "agentleak_stack_verdict", "agentleak_process_rss_bytes",
                 "agentleak_process_live_bytes", "agentleak_process_oom_eta_seconds",
                 "agentleak_lost_total"):
        if what not in text:
            problems.append("no panel shows %s" % what)
    # Every query must parse: promtool check rules parses the PromQL of recording rules.
    tmp = tempfile.mkdtemp(prefix="agentleak-dash-")
    try:
        path = os.path.join(tmp, "queries.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (_, e) in enumerate(exprs):
                f.write("      - record: dashboard:query%d\n        expr: %s\n"
                        % (i, json.dumps(as_promql(e))))
        status, out = promtool(["check", "rules", path])
        if status != 0:
            problems.append("dashboard PromQL does not parse:\n%s\n%s"
                            % (tail(out, 10), "\n".join("%d: %s: %s" % (i, w, e)
                                                        for i, (w, e) in enumerate(exprs))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        raise AssertionError("%s: %s\n* %s" % (DASHBOARD, problems[0].splitlines()[0],
                                               "\n* ".join(problems)))
