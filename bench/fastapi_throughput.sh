#!/bin/bash
# bench/fastapi_throughput.sh - what tracing costs a real Python service.
#
# Starts tests/workloads/fastapi_app.py under Debian's python3 + uvicorn on loopback,
# and measures requests/s of GET / from build/demo/loadgen (one connection per
# request, as fast as the server answers), side by side in one run, for:
#   plain | agentleak precise | agentleak precise --sample-bytes 524288 |
#   agentleak growth (when this build has --mode growth)
# Rounds are interleaved; the median per configuration is printed with its ratio to
# plain. Run as root: bench/fastapi_throughput.sh   (BENCH_ROUNDS, BENCH_REQUESTS)
set -eu
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-3}
REQUESTS=${BENCH_REQUESTS:-3000}
AGENTLEAK=build/agentleak
LOADGEN=build/demo/loadgen
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "fastapi_throughput: run as root" >&2; exit 2; }
"$PY" -c 'import fastapi, uvicorn' 2>/dev/null ||
	{ echo "fastapi_throughput: python3-fastapi/python3-uvicorn missing (make deps)" >&2; exit 2; }
[ -x "$AGENTLEAK" ] && [ -x "$LOADGEN" ] || { echo "fastapi_throughput: run make" >&2; exit 2; }

tmp=$(mktemp -d)
svc= al=
cleanup() {
	[ -n "$al" ] && kill -INT "$al" 2>/dev/null && wait "$al" 2>/dev/null
	[ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_service() {
	port=$(free_port)
	(cd tests/workloads && exec "$PY" -m uvicorn fastapi_app:app --host 127.0.0.1 \
		--port "$port" --workers 1 --no-access-log --log-level warning) &
	svc=$!
	for _ in $(seq 100); do
		"$LOADGEN" "$port" / 1 0 2 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "fastapi_throughput: uvicorn did not start" >&2
	exit 2
}

# $1: label, rest: agentleak options ("" = plain). Prints requests/s.
measure() {
	local label=$1 t0 t1
	shift
	start_service
	"$LOADGEN" "$port" / 300 0 30 >/dev/null # warm up
	if [ "$label" != plain ]; then
		"$AGENTLEAK" -p "$svc" "$@" 3600 >"$tmp/out" 2>"$tmp/err" &
		al=$!
		for _ in $(seq 200); do grep -q tracing "$tmp/err" && break; sleep 0.05; done
		grep -q tracing "$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
		sleep 0.5
	fi
	t0=$(date +%s.%N)
	"$LOADGEN" "$port" / "$REQUESTS" 0 120 >/dev/null
	t1=$(date +%s.%N)
	if [ -n "$al" ]; then kill -INT "$al"; wait "$al" || true; al=; fi
	kill "$svc"; wait "$svc" 2>/dev/null || true; svc=
	awk -v n="$REQUESTS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}

configs=("plain" "precise" "precise+sampling")
"$AGENTLEAK" --help | grep -q -- '--mode' && configs+=("growth")
declare -A results
for r in $(seq "$ROUNDS"); do
	for c in "${configs[@]}"; do
		case $c in
		plain) v=$(measure plain) ;;
		precise) v=$(measure precise) ;;
		precise+sampling) v=$(measure sampling --sample-bytes 524288) ;;
		growth) v=$(measure growth --mode growth) ;;
		esac
		echo "bench: round $r/$ROUNDS $c: $v requests/s" >&2
		results[$c]="${results[$c]:-} $v"
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
plain=$(echo "${results[plain]}" | median)
echo
echo "| configuration | requests/s (median of $ROUNDS) | ratio to plain |"
echo "|---|---|---|"
for c in "${configs[@]}"; do
	m=$(echo "${results[$c]}" | median)
	awk -v c="$c" -v m="$m" -v p="$plain" 'BEGIN { printf "| %s | %s | %.2f |\n", c, m, m / p }'
done
