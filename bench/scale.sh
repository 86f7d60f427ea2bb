#!/bin/bash
# bench/scale.sh - agentleak's own CPU and memory with 1 M live allocations over 50 k stacks.
#
# Starts bench/scale_workload (1,000,000 live malloc(32) blocks over 50,000 distinct
# stacks, then re-allocating one block per stack every second), attaches
# `agentleak --sample-period 1 1` (reads and reports at 1 Hz) with maps big enough,
# and measures agentleak's CPU time (utime+stime from /proc) and peak RSS (VmHWM) over
# SCALE_SECONDS (20) once the blocks are live. Targets: <= 2% of a core, <= 64 MiB.
# Run as root: bench/scale.sh   (SCALE_ALLOCS, SCALE_STACKS, SCALE_SECONDS)
set -eu
cd "$(dirname "$0")/.."

ALLOCS=${SCALE_ALLOCS:-1000000}
STACKS=${SCALE_STACKS:-50000}
SECONDS_=${SCALE_SECONDS:-20}
OUT=build/bench
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "scale: run as root" >&2; exit 2; }
[ -x build/agentleak ] || { echo "scale: run make" >&2; exit 2; }
gcc -O1 -g -fno-omit-frame-pointer -o "$OUT/scale_workload" bench/scale_workload.c

tmp=$(mktemp -d)
wl= al=
cleanup() {
	[ -n "$al" ] && kill -INT "$al" 2>/dev/null && wait "$al" 2>/dev/null
	[ -n "$wl" ] && kill "$wl" 2>/dev/null && wait "$wl" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$OUT/scale_workload" "$ALLOCS" "$STACKS" >"$tmp/wl" &
wl=$!
for _ in $(seq 100); do grep -q ready "$tmp/wl" && break; sleep 0.05; done
build/agentleak -p "$wl" --sample-period 1 -T 10 --max-stacks 131072 \
	--max-allocs 2097152 1 >"$tmp/al" 2>"$tmp/err" &
al=$!
for _ in $(seq 400); do grep -q tracing "$tmp/err" && break; sleep 0.05; done
grep -q tracing "$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
kill -USR1 "$wl"
for _ in $(seq 1200); do grep -q done "$tmp/wl" && break; sleep 0.1; done
grep -q done "$tmp/wl" || { echo "scale: the workload did not finish" >&2; exit 2; }
sleep 2

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$al/stat"; }
c0=$(cpu)
t0=$(date +%s.%N)
sleep "$SECONDS_"
c1=$(cpu)
t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$al/status")
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$al/status")
line=$(grep -m1 "^pid $wl " <(tac "$tmp/al") || true)
echo "scale: last report: $line"
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" -v hwm="$hwm" \
	-v rss="$rss" -v n="$ALLOCS" -v s="$STACKS" 'BEGIN {
	cpu = (c1 - c0) / hz / (t1 - t0) * 100
	printf "scale: %d live allocations over %d stacks at 1 Hz: agentleak CPU %.2f%% of a core (target <= 2%%), RSS %.1f MiB, peak %.1f MiB (target <= 64 MiB)\n", n, s, cpu, rss / 1024, hwm / 1024
}'
