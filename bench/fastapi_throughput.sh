#!/bin/bash
# bench/fastapi_throughput.sh - what tracing costs a real Python service.
#
# Starts tests/workloads/fastapi_app.py under Debian's python3 + uvicorn on loopback
# (pinned to CPU 1; build/demo/loadgen and agentleak on CPU 0, so the tracer's own CPU
# does not slow the service), and measures GET / from loadgen (one connection per
# request, as fast as the server answers), side by side in one run, for:
#   plain | agentleak --mode growth | the same with --no-python | agentleak precise |
#   the same with --no-python | agentleak precise --sample-bytes 524288
# (Python frames are on by default for a CPython target: the -nopy rows measure the
# stack walk's own cost)
# Per configuration: a fresh service, 1000 warm-up requests, then ROUNDS pairs of
# REQUESTS plain + REQUESTS traced, interleaved with the other configurations (see
# pair() for why). The service's CPU per
# request (utime+stime) includes the BPF programs and uprobe traps it triggers.
# The A/A row is the same pairs with no tracer at all: its spread around 1.00 is the
# noise floor of this machine, measured in the same run.
# Then one pass with kernel.bpf_stats_enabled=1 under --mode growth gives the run time
# of each BPF program per request (kept out of the timed rounds: the stats cost too).
# Run as root: bench/fastapi_throughput.sh   (BENCH_ROUNDS=12 pairs, BENCH_REQUESTS=2000,
# BENCH_CONFIGS="A/A growth growth-nopy precise precise-nopy precise+sampling",
# BENCH_AGENTLEAK_ARGS: more options)
set -eu
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-12}
REQUESTS=${BENCH_REQUESTS:-2000}
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
services=()
cleanup() {
	# Every line may fail (set -e is off in here): the kernel setting first.
	set +e
	[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -n "$al" ] && kill -INT "$al" 2>/dev/null && wait "$al" 2>/dev/null
	[ ${#services[@]} -gt 0 ] && kill "${services[@]}" 2>/dev/null
	[ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
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

# requests/s of one load of $REQUESTS, and the service's CPU us/request, as "R U".
load() {
	local t0 t1 c0 c1
	c0=$(cpu_ticks "$svc")
	t0=$(date +%s.%N)
	$PIN_CLIENT "$LOADGEN" "$port" / "$REQUESTS" 0 300 >/dev/null
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$svc")
	awk -v n="$REQUESTS" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f %.0f\n", n / (b - a), c / hz / n * 1e6 }'
}

# One fresh service per configuration, all started up front; then ROUNDS rounds, each
# giving every configuration one pair of loads on its own service: plain, then traced
# (agentleak attached for that load only). The same process on both sides of a pair,
# and the configurations interleaved: this VM has slow phases of seconds where
# everything runs at ~60% speed (a plain service alone moves between ~1500 and ~2900
# requests/s), so a single run cannot show a few percent. Per configuration: the best
# plain and best traced load (best-of-N drops the slow phases), the median and
# quartiles of the per-pair ratios, and the median ratio of CPU per request.
# $1: configuration; the rest: its agentleak options ("none": no tracer, A/A).
pair() {
	local c=$1 p t
	shift
	svc=${svc_of[$c]} port=${port_of[$c]}
	p=$(load)
	[ "${1:-}" = none ] || start_agentleak "$@"
	[ "${1:-}" != none ] || sleep 1.5 # as long as an attach takes
	t=$(load)
	stop_agentleak
	echo "$p $t" >>"$tmp/pairs.${c//\//_}"
	echo "bench: $c: plain ${p% *} requests/s (${p#* } us CPU/request), traced ${t% *} (${t#* } us)" >&2
}

# "best_plain best_traced median_pair_ratio median_cpu_ratio q1-q3" of a configuration.
summary() {
	awk '{ if ($1 > bp) bp = $1; if ($3 > bt) bt = $3; q[NR] = $3 / $1; u[NR] = $4 / $2 }
		function sort(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
		END { sort(q, NR); sort(u, NR)
		      printf "%.1f %.1f %.4f %.4f %.3f-%.3f\n", bp, bt, q[int((NR + 1) / 2)], u[int((NR + 1) / 2)],
		             q[int((NR + 3) / 4)], q[int((3 * NR + 3) / 4)] }' "$tmp/pairs.${1//\//_}"
}

read -r -a configs <<<"${BENCH_CONFIGS:-A/A growth growth-nopy precise precise-nopy precise+sampling}"
declare -A svc_of port_of
services=()
for c in "${configs[@]}"; do
	case $c in
	A/A | growth | growth-nopy | precise | precise-nopy | precise+sampling) ;;
	*) echo "fastapi_throughput: unknown configuration $c" >&2; exit 2 ;;
	esac
	start_service
	svc_of[$c]=$svc port_of[$c]=$port
	services+=("$svc")
	svc=
done
for r in $(seq "$ROUNDS"); do
	echo "bench: round $r/$ROUNDS" >&2
	for c in "${configs[@]}"; do
		case $c in
		A/A) pair "$c" none ;;
		growth) pair "$c" --mode growth ${BENCH_AGENTLEAK_ARGS:-} ;;
		growth-nopy) pair "$c" --mode growth --no-python ${BENCH_AGENTLEAK_ARGS:-} ;;
		precise) pair "$c" ${BENCH_AGENTLEAK_ARGS:-} ;;
		precise-nopy) pair "$c" --no-python ${BENCH_AGENTLEAK_ARGS:-} ;;
		precise+sampling) pair "$c" --sample-bytes 524288 ${BENCH_AGENTLEAK_ARGS:-} ;;
		esac
	done
done
svc=
kill "${services[@]}" 2>/dev/null; wait "${services[@]}" 2>/dev/null || true
services=()

echo "| configuration | best plain requests/s | best traced requests/s | best-of ratio | median pair ratio ($ROUNDS pairs) | pair ratio quartiles | service CPU/request, median pair ratio |"
echo "|---|---|---|---|---|---|---|"
for c in "${configs[@]}"; do
	read -r bp bt q u iq <<<"$(summary "$c")"
	awk -v c="$c" -v bp="$bp" -v bt="$bt" -v q="$q" -v u="$u" -v iq="$iq" \
		'BEGIN { printf "| %s | %s | %s | %.3f | %.3f | %s | %.2f |\n", c, bp, bt, bt / bp, q, iq, u }'
done
# The A/A pairs carry the same order effect (the second load of a pair) and noise as
# the traced ones: the cost of a tracer is its median pair ratio over A/A's.
if [ -f "$tmp/pairs.A_A" ]; then
	aa=$(summary A/A | cut -d' ' -f3)
	echo
	for c in "${configs[@]}"; do
		[ "$c" = A/A ] && continue
		awk -v c="$c" -v q="$(summary "$c" | cut -d' ' -f3)" -v aa="$aa" \
			'BEGIN { printf "%s: median pair ratio / A/A = %.3f\n", c, q / aa }'
	done
fi
start_service
plain_cpu=$(load | cut -d' ' -f2)
kill "$svc"; wait "$svc" 2>/dev/null || true; svc=

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
