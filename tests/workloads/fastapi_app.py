"""fastapi_app.py - a FastAPI service with known per-request memory behaviour,
the Python workload of agentleak's trend tests (tests/integration/test_python.py).

    cd tests/workloads && /usr/bin/python3 -m uvicorn fastapi_app:app \\
        --host 127.0.0.1 --port 8000 --workers 1 --no-access-log

GET /leak     keeps one new bytes(4096) per request in a module-level list
              forever: 4129 B per request through the allocator (CPython 3.11's
              bytes object is 33 B of header + 4096 B, one calloc(1, 4129))
              plus the list's own array (8 B per request, amortized).
GET /cache    stores a new bytes(4096) in a dict of at most 64 keys
              (key = request count % 64): grows for 64 requests, then flat.
GET /burst    makes 256 bytes(2048) and drops them all before answering: 528 KiB
              of short-lived heap per request, nothing kept.
GET /chat     a chat turn: three lines of chat() allocate per request:
              A  a new bytes(CHAT_MESSAGE) appended to history, the conversation,
                 never trimmed (a leak): 4129 B (one calloc(1, 4129)), plus the
                 list's array (8 B per request, amortized; a realloc);
              B  a new bytes(CHAT_MESSAGE) put in recent, an LRU of the last
                 RECENT_SLOTS turns (OrderedDict: move_to_end, popitem(last=False))
                 (not a leak): 4129 B per request (calloc(1, 4129)), and once 64
                 are kept, the least recent one freed per request;
              C  a new bytes(CHAT_RESPONSE), the response, stored in responses
                 under a key unique to the request, never evicted (a leak): 2033 B
                 (calloc(1, 2033)), plus its 58 B key str (pymalloc) and the dict's
                 table (about 24-48 B per request, amortized; a malloc).
GET /threads  makes a ThreadPoolExecutor(max_workers=1) per request, runs one
              trivial task on it, waits for its result and never shuts it down:
              one idle worker thread (and its 8 MiB stack, mapped by glibc's
              pthread_create) left alive per request. The executors are kept in
              a module-level list, as a leaked client object would keep its own:
              one that is collected wakes its worker, which then exits.
GET /         ok.
GET /metrics  Prometheus text: app_requests_total{path="..."} per path
              (/metrics itself not counted), like tests/workloads/server.c.
"""

import collections
import concurrent.futures

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

KEPT_SIZE = 4096
CACHE_SLOTS = 64
BURST_COUNT = 256
BURST_SIZE = 2048
CHAT_MESSAGE = 4096
CHAT_RESPONSE = 2000                    # > 512 B: from malloc, not pymalloc
RECENT_SLOTS = 64

app = FastAPI()

kept = []                               # /leak: never shrinks
cache = {}                              # /cache: at most CACHE_SLOTS keys
history = []                            # /chat: the conversation, never trimmed
recent = collections.OrderedDict()      # /chat: at most RECENT_SLOTS turns
responses = {}                          # /chat: every response, never evicted
pools = []                              # /threads: executors never shut down
counts = collections.OrderedDict((p, 0) for p in ("/", "/leak", "/cache", "/burst", "/chat",
                                                  "/threads"))


@app.get("/", response_class=PlainTextResponse)
async def root():
    counts["/"] += 1
    return "ok\n"


@app.get("/leak", response_class=PlainTextResponse)
async def leak():
    counts["/leak"] += 1
    kept.append(bytes(KEPT_SIZE))       # a new object every time (only b"" is shared)
    return "ok\n"


@app.get("/cache", response_class=PlainTextResponse)
async def cache_put():
    counts["/cache"] += 1
    cache[counts["/cache"] % CACHE_SLOTS] = bytes(KEPT_SIZE)
    return "ok\n"


@app.get("/burst", response_class=PlainTextResponse)
async def burst():
    counts["/burst"] += 1
    scratch = [bytes(BURST_SIZE) for _ in range(BURST_COUNT)]
    return "ok %d\n" % len(scratch)


def remember_recent(key, value):
    """Least recently used first out: at most RECENT_SLOTS entries."""
    recent[key] = value
    recent.move_to_end(key)
    while len(recent) > RECENT_SLOTS:
        recent.popitem(last=False)


@app.get("/chat", response_class=PlainTextResponse)
async def chat():
    counts["/chat"] += 1
    turn = counts["/chat"]
    history.append(bytes(CHAT_MESSAGE))                     # A: the leak
    remember_recent(turn, bytes(CHAT_MESSAGE))              # B: bounded
    responses["turn-%d" % turn] = bytes(CHAT_RESPONSE)      # C: never evicted
    return "ok %d\n" % turn


@app.get("/threads", response_class=PlainTextResponse)
async def threads():
    counts["/threads"] += 1
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    pool.submit(int).result()           # starts the worker thread, which then waits forever
    pools.append(pool)
    return "ok\n"


@app.get("/metrics", response_class=PlainTextResponse)
async def metrics():
    lines = ["# HELP app_requests_total Requests handled, by path (/metrics not counted).",
             "# TYPE app_requests_total counter"]
    for path, n in counts.items():
        lines.append('app_requests_total{path="%s"} %d' % (path, n))
    lines += ["# HELP app_kept_bytes Bytes of payload kept by /leak.",
              "# TYPE app_kept_bytes gauge",
              "app_kept_bytes %d" % (len(kept) * KEPT_SIZE)]
    return "\n".join(lines) + "\n"
