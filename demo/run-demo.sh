#!/bin/bash
# run-demo.sh - `make demo`: the leaking demo service under agentleak for ~20 s.
#
# Starts demo/leaky_service on a free loopback port, attaches agentleak to it, sends
# a bounded mix of requests (/chat leaks 4 KiB each, /lookup fills a bounded cache,
# every request allocates and frees scratch memory), and prints agentleak's report.
set -eu
cd "$(dirname "$0")/.."
OUT=build
[ "$(id -u)" = 0 ] || { echo "demo: agentleak needs root: sudo make demo" >&2; exit 1; }

svc_out=$(mktemp)
al_err=$(mktemp)
cleanup() {
	[ -n "${al:-}" ] && kill "$al" 2>/dev/null || true
	[ -n "${svc:-}" ] && kill "$svc" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -f "$svc_out" "$al_err"
}
trap cleanup EXIT

"$OUT/demo/leaky_service" 0 >"$svc_out" &
svc=$!
for _ in $(seq 50); do grep -q listening "$svc_out" && break; sleep 0.1; done
port=$(awk '/listening/ {print $2}' "$svc_out")
[ -n "$port" ] || { echo "demo: the service did not start" >&2; exit 1; }
echo "demo: leaky_service pid $svc on 127.0.0.1:$port"
echo "demo: running: agentleak -p $svc -T 5 -d 20 10"

"$OUT/agentleak" -p "$svc" -T 5 -d 20 10 2>"$al_err" &
al=$!
for _ in $(seq 100); do grep -q tracing "$al_err" && break; sleep 0.1; done
cat "$al_err"
# 20 s of load at 100 requests/s: 1/2 /chat (leak), 1/4 /lookup (cache), 1/4 /
"$OUT/demo/loadgen" "$port" /chat,/lookup,/chat,/ 1900 100 25 | sed 's/^/demo: loadgen: /'
wait "$al"
al=
echo
echo "demo: 950 /chat requests each kept a 4 KiB message (remember_message): ~3.9 MB."
echo "demo: the /lookup cache holds at most 64 x 2 KiB; scratch buffers are freed."
