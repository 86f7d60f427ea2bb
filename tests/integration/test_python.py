"""Integration tests of the trend engine on a Python service: the FastAPI app of
tests/workloads/fastapi_app.py under Debian's uvicorn (/usr/bin/python3, one
process). Skipped (never passed) when fastapi or uvicorn cannot be imported.

Debian's python3.11 is stripped and LTO-built: frames are symbolized from
.dynsym only and the frame pointer walk is unreliable, so the tests look at
verdicts and rates, never at frame names.

Truth for /leak: every request keeps one new bytes(4096), which CPython 3.11
allocates as one calloc(1, 4129) (33 B of object header + 4096 B of payload),
plus 8 B per request (amortized) for the list's pointer array (another stack).
"""

from agentleak_test import format_stacks
from trend_test import Load, check_trend_run, expect_never_leak, trend_run, uvicorn_server, within

KEPT_PER_REQUEST = 4129  # sys.getsizeof(bytes(4096)) on CPython 3.11
COUNT = 1500
RATE = 150
TOLERANCE = 0.15

# One connection per request (loadgen), so every request is one accept().
SOURCE = "accept"


def test_fastapi_leak():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/leak", COUNT, RATE))
        check_trend_run(run)
        leaks = [s for s in run.final["stacks"]
                 if s["pid"] == run.pid and s["verdict"] and s["verdict"]["kind"] == "leak"]
        good = [s for s in leaks if s["verdict"]["unit"] == "request"
                and within(s["verdict"]["rate"], KEPT_PER_REQUEST, TOLERANCE)]
        if not good:
            near = sorted(run.final["stacks"], key=lambda s: -s["live_bytes"])[:6]
            run.problem("final report: no stack has the verdict leak at %d B/request +-%d%%; "
                        "leak verdicts: %s\nthe biggest stacks:\n%s"
                        % (KEPT_PER_REQUEST, round(TOLERANCE * 100),
                           [s["verdict"]["text"] for s in leaks] or "none",
                           "\n".join("%s\n    %s" % (format_stacks([s]),
                                                     s["verdict"]["text"] if s["verdict"]
                                                     else "(no verdict)") for s in near)))
        mem = run.final["processes"][run.pid]["memory"]
        if mem and mem["requests"] is not None and not within(mem["requests"], COUNT, 0.02):
            run.problem("final report: memory line says %d requests, the load sent %d"
                        % (mem["requests"], COUNT))
        run.finish()


def test_fastapi_cache():
    with uvicorn_server() as srv:
        run = trend_run(srv, SOURCE, Load("/cache", COUNT, RATE))
        check_trend_run(run)
        expect_never_leak(run)
        run.finish()
