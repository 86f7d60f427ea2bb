#!/bin/bash
# bench/detect_latency.sh - how many requests until agentleak's trend engine flags a leak.
#
# Starts build/tests/server (tests/workloads/server.c), attaches
#   agentleak -p PID -T 5 --requests uprobe:build/tests/server:handle_request INTERVAL
# (default sample period, reports every INTERVAL = 0.2 s), then drives /leak
# (4096 B kept per request) at 1000 requests/s with build/demo/loadgen. The first
# report in which the stack with frame #0 leak_fixed has "verdict: leak" is the
# detection: its memory line gives the requests counted so far, the wall clock
# since the load started gives the seconds. Prints one line
#   detection: N requests, S s (target <= 2000 requests)
# and exits 0 if the leak was flagged at all (1 if not, 2 on a setup error).
#
# Run as root from anywhere: bench/detect_latency.sh
# Environment: DETECT_RATE (1000), DETECT_COUNT (10000: the load's bound),
# DETECT_INTERVAL (0.2), DETECT_AGENTLEAK (build/agentleak), DETECT_ARGS (more agentleak
# options, e.g. "--sample-bytes 16384").
set -eu

cd "$(dirname "$0")/.."

RATE=${DETECT_RATE:-1000}
COUNT=${DETECT_COUNT:-10000}
INTERVAL=${DETECT_INTERVAL:-0.2}
AGENTLEAK=${DETECT_AGENTLEAK:-build/agentleak}
SERVER=$PWD/build/tests/server
LOADGEN=build/demo/loadgen
TARGET=2000
MAX_SECONDS=$(awk -v c="$COUNT" -v r="$RATE" 'BEGIN { printf "%d", c / r + 5 }')

T_LISTEN=10 # server prints "listening PORT"
T_ATTACH=30 # agentleak prints "tracing"
T_STOP=10   # agentleak exits after SIGINT

die()
{
	echo "detect_latency: $*" >&2
	exit 2
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
for f in "$AGENTLEAK" "$SERVER" "$LOADGEN"; do
	[ -x "$f" ] || die "$f missing (run make)"
done
"$AGENTLEAK" --help 2>&1 | grep -q -- --requests || die "$AGENTLEAK has no --requests option"

TMP=$(mktemp -d /tmp/agentleak-detect.XXXXXX)
SERVER_PID=
AGENTLEAK_PID=
LOADGEN_PID=

now()
{
	date +%s.%N
}

# stop PID SIGNAL: signal one of our children and reap it (SIGKILL after T_STOP s).
stop()
{
	local pid=$1 sig=$2 i
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < T_STOP * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup()
{
	stop "$LOADGEN_PID" TERM
	stop "$AGENTLEAK_PID" INT
	stop "$SERVER_PID" TERM
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_for FILE REGEX SECONDS PID: until a line of FILE matches (fails if PID exits).
wait_for()
{
	local file=$1 re=$2 secs=$3 pid=$4 i
	for ((i = 0; i < secs * 50; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# The requests count of the first report in which leak_fixed has the verdict
# leak, or nothing. The verdict line comes between a stack header and its frames.
first_detection()
{
	awk '
	/^ *memory: .*; [0-9]+ requests$/ { n = split($0, w, " "); req = w[n - 1] }
	/^ *\[[0-9]+\] pid / { verdict = "" }
	/^ *verdict: / { verdict = $2; sub(/,$/, "", verdict) }
	/^ *#0 leak_fixed\+/ { if (verdict == "leak") { print req; exit } }
	' "$1"
}

"$SERVER" 0 >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
wait_for "$TMP/server.out" '^listening [0-9]+$' $T_LISTEN $SERVER_PID ||
	die "server did not start: $(cat "$TMP/server.err")"
PORT=$(awk '/^listening/ { print $2; exit }' "$TMP/server.out")

"$AGENTLEAK" -p "$SERVER_PID" -T 5 ${DETECT_ARGS:-} --requests "uprobe:$SERVER:handle_request" "$INTERVAL" \
	>"$TMP/agentleak.out" 2>"$TMP/agentleak.err" &
AGENTLEAK_PID=$!
wait_for "$TMP/agentleak.err" tracing $T_ATTACH $AGENTLEAK_PID ||
	die "agentleak did not start: $(tail -5 "$TMP/agentleak.err")"

T0=$(now)
"$LOADGEN" "$PORT" /leak "$COUNT" "$RATE" "$MAX_SECONDS" >"$TMP/loadgen.out" 2>&1 &
LOADGEN_PID=$!

REQUESTS=
T1=
while :; do
	REQUESTS=$(first_detection "$TMP/agentleak.out")
	if [ -n "$REQUESTS" ]; then
		T1=$(now)
		break
	fi
	kill -0 "$AGENTLEAK_PID" 2>/dev/null || break
	if ! kill -0 "$LOADGEN_PID" 2>/dev/null; then
		# Load over: give the last reports a moment, then look once more.
		sleep 1
		REQUESTS=$(first_detection "$TMP/agentleak.out")
		[ -n "$REQUESTS" ] && T1=$(now)
		break
	fi
	sleep 0.02
done
stop "$LOADGEN_PID" TERM
LOADGEN_PID=
stop "$AGENTLEAK_PID" INT
AGENTLEAK_PID=

if [ -z "$REQUESTS" ]; then
	echo "detect_latency: leak_fixed never got the verdict leak ($(cat "$TMP/loadgen.out"))" >&2
	echo "--- agentleak stderr ---" >&2
	tail -5 "$TMP/agentleak.err" >&2
	echo "--- last report ---" >&2
	tail -25 "$TMP/agentleak.out" >&2
	echo "detection: none within $COUNT requests (target <= $TARGET requests)"
	exit 1
fi
SECONDS_TAKEN=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
echo "detection: $REQUESTS requests, $SECONDS_TAKEN s (target <= $TARGET requests)"
