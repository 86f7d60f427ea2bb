#!/bin/bash
# bench/fastapi_throughput.sh - what tracing costs a real Python service.
#
# Starts tests/workloads/fastapi_app.py under Debian's python3 + uvicorn on loopback
# (pinned to CPU 1; build/demo/loadgen and agentleak on CPU 0, so the tracer's own CPU
# does not slow the service), and measures GET / from loadgen (one connection per
# request, as fast as the server answers), side by side in one run, for:
#   plain | agentleak --mode growth | agentleak precise |
#   agentleak precise --sample-bytes 524288
# Each measurement gets a fresh service and 1000 warm-up requests. Rounds are
# interleaved; per configuration the median requests/s (and its ratio to plain) and the
# median service CPU per request (utime+stime of the service: this includes the BPF
# programs and uprobe traps it triggers) are printed.
# Then one pass with kernel.bpf_stats_enabled=1 under --mode growth gives the run time
# of each BPF program per request (kept out of the timed rounds: the stats cost too).
# Run as root: bench/fastapi_throughput.sh   (BENCH_ROUNDS=5, BENCH_REQUESTS=4000)
set -eu
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-5}
REQUESTS=${BENCH_REQUESTS:-4000}
AGENTLEAK=build/agentleak
LOADGEN=build/demo/loadgen
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "fastapi_throughput: run as root" >&2; exit 2; }
"$PY" -c 'import fastapi, uvicorn' 2>/dev/null ||
	{ echo "fastapi_throughput: python3-fastapi/python3-uvicorn missing (make deps)" >&2; exit 2; }
[ -x "$AGENTLEAK" ] && [ -x "$LOADGEN" ] || { echo "fastapi_throughput: run make" >&2; exit 2; }

if [ "$(nproc)" -ge 2 ]; then
	PIN_SVC="taskset -c 1" PIN_CLIENT="taskset -c 0"
else
	PIN_SVC="" PIN_CLIENT=""
fi

tmp=$(mktemp -d)
svc= al= stats_was=
cleanup() {
	[ -n "$al" ] && kill -INT "$al" 2>/dev/null && wait "$al" 2>/dev/null
	[ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
	[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_service() {
	port=$(free_port)
	(cd tests/workloads && exec $PIN_SVC "$PY" -m uvicorn fastapi_app:app --host 127.0.0.1 \
		--port "$port" --workers 1 --no-access-log --log-level warning) &
	svc=$!
	for _ in $(seq 100); do
		"$LOADGEN" "$port" / 1 0 2 >/dev/null 2>&1 && break
		sleep 0.1
	done
	"$LOADGEN" "$port" / 1 0 2 >/dev/null 2>&1 ||
		{ echo "fastapi_throughput: uvicorn did not start" >&2; exit 2; }
	$PIN_CLIENT "$LOADGEN" "$port" / 1000 0 60 >/dev/null # warm up
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_agentleak() {
	$PIN_CLIENT "$AGENTLEAK" -p "$svc" "$@" 3600 >"$tmp/out" 2>"$tmp/err" &
	al=$!
	for _ in $(seq 200); do grep -q tracing "$tmp/err" && break; sleep 0.05; done
	grep -q tracing "$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
	sleep 1 # the first sample and its symbolization happen now, not during the load
}

stop_agentleak() {
	if [ -n "$al" ]; then kill -INT "$al"; wait "$al" || true; al=; fi
}

# $1: label, rest: agentleak options (label plain: none). Prints "req/s us_per_req".
measure() {
	local label=$1 t0 t1 c0 c1
	shift
	start_service
	[ "$label" = plain ] || start_agentleak "$@"
	c0=$(cpu_ticks "$svc")
	t0=$(date +%s.%N)
	$PIN_CLIENT "$LOADGEN" "$port" / "$REQUESTS" 0 300 >/dev/null
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$svc")
	stop_agentleak
	kill "$svc"; wait "$svc" 2>/dev/null || true; svc=
	awk -v n="$REQUESTS" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f %.0f\n", n / (b - a), c / hz / n * 1e6 }'
}

configs=(plain growth precise precise+sampling)
declare -A rps cpu
for r in $(seq "$ROUNDS"); do
	for c in "${configs[@]}"; do
		case $c in
		plain) v=$(measure plain) ;;
		growth) v=$(measure growth --mode growth) ;;
		precise) v=$(measure precise) ;;
		precise+sampling) v=$(measure sampling --sample-bytes 524288) ;;
		esac
		echo "bench: round $r/$ROUNDS $c: ${v% *} requests/s, ${v#* } us CPU/request" >&2
		rps[$c]="${rps[$c]:-} ${v% *}"
		cpu[$c]="${cpu[$c]:-} ${v#* }"
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
plain=$(echo "${rps[plain]}" | median)
plain_cpu=$(echo "${cpu[plain]}" | median)
echo
echo "| configuration | requests/s (median of $ROUNDS) | ratio to plain | service CPU us/request | ratio |"
echo "|---|---|---|---|---|"
for c in "${configs[@]}"; do
	m=$(echo "${rps[$c]}" | median)
	u=$(echo "${cpu[$c]}" | median)
	awk -v c="$c" -v m="$m" -v p="$plain" -v u="$u" -v pu="$plain_cpu" \
		'BEGIN { printf "| %s | %s | %.3f | %s | %.2f |\n", c, m, m / p, u, u / pu }'
done

# Where the growth tier's cost goes: BPF run time per request, by program.
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
start_service
start_agentleak --mode growth
ids=$(cat /proc/"$al"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -u)
snap() { for id in $ids; do bpftool prog show id "$id" | head -1; done; }
snap >"$tmp/before"
$PIN_CLIENT "$LOADGEN" "$port" / "$REQUESTS" 0 300 >/dev/null
snap >"$tmp/after"
stop_agentleak
echo
echo "growth tier, BPF run time per request (kernel.bpf_stats_enabled; all processes' events):"
awk -v n="$REQUESTS" -v us="$plain_cpu" '
	function field(line, name,   i, f) { f = split(line, a, " "); for (i = 1; i < f; i++) if (a[i] == name) return a[i + 1]; return 0 }
	NR == FNR { t0[$1] = field($0, "run_time_ns"); c0[$1] = field($0, "run_cnt"); next }
	{ name = field($0, "name"); dt = field($0, "run_time_ns") - t0[$1]; dc = field($0, "run_cnt") - c0[$1]
	  total += dt
	  printf "  %-12s %6.1f runs/request, %5.0f ns/run, %5.2f us/request\n", name, dc / n, dc ? dt / dc : 0, dt / n / 1000 }
	END { printf "  total        %.2f us/request = %.1f%% of the plain service CPU per request (%s us)\n", total / n / 1000, 100 * total / n / 1000 / us, us }' \
	"$tmp/before" "$tmp/after"
