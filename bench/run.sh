#!/bin/bash
# bench/run.sh: speed benchmark of agentleak. Measures the cost of a malloc(32)+free
# pair (bench/pairloop.c) with no probes, under empty bpftrace probes and under
# agentleak, in interleaved rounds; prints a table and writes bench/last-run.md.
# Run from anywhere as root (normally `sudo make bench`).
set -eu

cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-3}
N_PLAIN=${BENCH_N_PLAIN:-20000000}
N_PROBE=${BENCH_N_PROBE:-100000}
SETTLE=${BENCH_SETTLE:-0.5} # seconds to wait after a tracer reports it is attached
AGENTLEAK=${BENCH_AGENTLEAK:-build/agentleak} # override only to test this script
SAMPLE_BYTES=${BENCH_SAMPLE_BYTES:-524288}     # the sampled agentleak row
BIN=build/bench
OUT_MD=bench/last-run.md

T_READY=10    # pairloop prints "ready PID"
T_ATTACH=60   # tracer prints its attach line
T_ARMED=30    # breakpoints show up in the target's text
T_MEASURE=300 # pairloop prints "ns_per_pair"
T_STOP=10     # tracer exits after SIGINT

die()
{
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo make bench)"
for tool in gcc nm readelf objdump dd od; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done

TMP=$(mktemp -d /tmp/agentleak-bench.XXXXXX)
declare -a PIDS=() # processes started by us that may still be running

alive()
{
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

forget_pid()
{
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_proc PID SIGNAL TIMEOUT: signal a child, wait for it (SIGKILL after TIMEOUT
# seconds), reap it. Returns 1 if it had to be killed.
stop_proc()
{
	local pid=$1 sig=$2 timeout=$3 i rc=0
	if alive "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 20; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			rc=1
		fi
	fi
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
	return $rc
}

cleanup()
{
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		kill -INT "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		stop_proc "$p" TERM 3 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_line FILE REGEX TIMEOUT PID: wait until FILE has a line matching REGEX.
# Returns 1 on timeout, 2 if PID exited without printing it.
wait_line()
{
	local file=$1 re=$2 timeout=$3 pid=$4 i
	for ((i = 0; i < timeout * 20; i++)); do
		grep -Eq "$re" "$file" 2>/dev/null && return 0
		if ! alive "$pid"; then
			grep -Eq "$re" "$file" 2>/dev/null && return 0
			return 2
		fi
		sleep 0.05
	done
	return 1
}

# Last meaningful line of a log, for error messages.
last_words()
{
	grep -v 'RLIMIT_MEMLOCK' "$1" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n 1 |
		cut -c1-160 | tr '|' '/'
}

# ---- build the helpers ----------------------------------------------------------

mkdir -p "$BIN"
for prog in pairloop rawprobe; do
	if [ ! -x "$BIN/$prog" ] || [ "bench/$prog.c" -nt "$BIN/$prog" ]; then
		gcc -O2 -g -Wall -o "$BIN/$prog" "bench/$prog.c"
	fi
done

# ---- find libc and the probe offsets ----------------------------------------------

"$BIN/pairloop" 1 >"$TMP/pre.out" 2>&1 &
pre=$!
PIDS+=("$pre")
wait_line "$TMP/pre.out" '^ready [0-9]+$' $T_READY "$pre" || die "pairloop did not start"
LIBC=$(awk '$6 ~ /\/libc(\.so\.6|-[0-9.]+\.so)$/ { print $6; exit }' "/proc/$pre/maps")
kill -USR1 "$pre"
stop_proc "$pre" TERM 5 || true
if [ -z "$LIBC" ] || [ ! -r "$LIBC" ]; then
	die "cannot find libc in the maps of pairloop"
fi

# sym_vaddr NAME: st_value of a dynamic symbol of libc, in hex without 0x.
sym_vaddr()
{
	nm -D --defined-only "$LIBC" | awk -v s="$1" '$3 == s || index($3, s "@") == 1 { print $1; exit }'
}

# file_off VADDR(hex): file offset of a virtual address of libc (uprobes want offsets).
file_off()
{
	local va=$((16#$1)) type off vaddr filesz
	while read -r type off vaddr filesz; do
		[ "$type" = LOAD ] || continue
		if ((va >= vaddr && va < vaddr + filesz)); then
			printf '0x%x\n' $((va - vaddr + off))
			return 0
		fi
	done < <(readelf -lW "$LIBC" | awk '$1 == "LOAD" { print $1, $2, $3, $5 }')
	return 1
}

MALLOC_VA=$(sym_vaddr malloc)
FREE_VA=$(sym_vaddr free)
if [ -z "$MALLOC_VA" ] || [ -z "$FREE_VA" ]; then
	die "cannot find malloc/free in $LIBC"
fi
MALLOC_OFF=$(file_off "$MALLOC_VA") || die "cannot map malloc to a file offset"
FREE_OFF=$(file_off "$FREE_VA") || die "cannot map free to a file offset"

# The instruction after free's first one: the +N of the informative rows. On x86 the
# kernel emulates jumps, calls, nops and pushes at a uprobe; anything else is
# single-stepped out of line.
read -r FREE_INSN0 FREE_K FREE_INSNK < <(
	objdump -d --no-show-raw-insn --start-address=$((16#$FREE_VA)) \
		--stop-address=$((16#$FREE_VA + 32)) "$LIBC" |
		awk '
		BEGIN { n = 0 }
		/^ *[0-9a-f]+:\t/ {
			addr = $1; sub(":", "", addr)
			split($0, f, "\t"); split(f[2], m, " ")
			a[n] = addr; insn[n] = m[1]; n++
			if (n == 2) exit
		}
		END { printf "%s 0x%s %s\n", insn[0], a[1], insn[1] }'
)
FREE_K=$((FREE_K - 16#$FREE_VA))
[ "$FREE_K" -gt 0 ] || die "cannot disassemble free in $LIBC"
FREE_K_OFF=$(printf '0x%x' $((FREE_OFF + FREE_K)))

insn_kind()
{
	case $1 in
	j* | call* | ret* | nop* | push*) echo "emulated" ;;
	*) echo "single-stepped" ;;
	esac
}

# ---- probe runs -----------------------------------------------------------------

# armed PID FILE_OFF...: every offset of libc holds an int3 in PID's memory.
armed()
{
	local pid=$1 off start end moff addr byte found
	shift
	for off in "$@"; do
		found=
		while read -r start end moff; do
			if ((off >= 16#$moff && off < 16#$moff + 16#$end - 16#$start)); then
				addr=$((16#$start + off - 16#$moff))
				found=1
				break
			fi
		done < <(awk -v lib="$LIBC" '$6 == lib { split($1, r, "-"); print r[1], r[2], $3 }' \
			"/proc/$pid/maps" 2>/dev/null)
		[ -n "$found" ] || return 1
		byte=$(dd if="/proc/$pid/mem" bs=1 count=1 skip="$addr" iflag=skip_bytes \
			status=none 2>/dev/null | od -An -tx1 | tr -d ' \n')
		[ "$byte" = cc ] || return 1
	done
}

wait_armed()
{
	local pid=$1 tracer=$2 i
	shift 2
	for ((i = 0; i < T_ARMED * 10; i++)); do
		armed "$pid" "$@" && return 0
		alive "$tracer" || return 2
		sleep 0.1
	done
	return 1
}

# wait_clean PID: wait until none of the probed instructions holds an int3 before
# we attach: one there means a tracer we did not start, which would skew the numbers.
wait_clean()
{
	local i off dirty
	for ((i = 0; i < T_ARMED * 10; i++)); do
		dirty=
		for off in "$MALLOC_OFF" "$FREE_OFF" "$FREE_K_OFF"; do
			if armed "$1" "$off"; then
				dirty=1
			fi
		done
		[ -n "$dirty" ] || return 0
		sleep 0.1
	done
	return 1
}

bt_prog()
{
	echo "uprobe:$LIBC:malloc {} uretprobe:$LIBC:malloc {} uprobe:$LIBC:$1 {}"
}

BT_FORM= # how bpftrace accepts the free+K probe, once known

# start_tracer CONFIG PID: start the tracer of CONFIG against PID and wait until its
# probes are live. Sets TRACER (0 for none); on failure sets ERR and returns 1.
start_tracer()
{
	local cfg=$1 pid=$2 log="$TMP/tracer.log" forms form rc
	TRACER=0
	: >"$log"
	case $cfg in
	plain)
		return 0
		;;
	agentleak | agentleak_s)
		if [ "$cfg" = agentleak ]; then
			"$AGENTLEAK" -p "$pid" 1 >"$TMP/agentleak.out" 2>"$log" &
		else
			"$AGENTLEAK" -p "$pid" --sample-bytes "$SAMPLE_BYTES" 1 \
				>"$TMP/agentleak.out" 2>"$log" &
		fi
		TRACER=$!
		PIDS+=("$TRACER")
		rc=0
		wait_line "$log" 'tracing' $T_ATTACH "$TRACER" || rc=$?
		if [ $rc -ne 0 ]; then
			if [ $rc -eq 1 ]; then
				ERR="failed: no 'tracing' line in ${T_ATTACH}s"
			else
				ERR="failed: $(last_words "$log")"
			fi
			return 1
		fi
		;;
	bpftrace | bpftrace_k)
		if [ "$cfg" = bpftrace ]; then
			forms=free
		elif [ -n "$BT_FORM" ]; then
			forms=$BT_FORM
		else
			forms="free+$FREE_K $(printf '0x%x' $((16#$FREE_VA + FREE_K)))"
		fi
		for form in $forms; do
			bpftrace -p "$pid" -e "$(bt_prog "$form")" >"$log" 2>&1 &
			TRACER=$!
			PIDS+=("$TRACER")
			# 0.17 prints "Attaching N probes..." before it attaches: then
			# wait for the breakpoints themselves.
			rc=0
			wait_line "$log" '^Attaching' $T_ATTACH "$TRACER" || rc=$?
			if [ $rc -eq 0 ]; then
				if [ "$cfg" = bpftrace ]; then
					wait_armed "$pid" "$TRACER" "$MALLOC_OFF" "$FREE_OFF" || rc=$?
				else
					wait_armed "$pid" "$TRACER" "$MALLOC_OFF" "$FREE_K_OFF" || rc=$?
				fi
			fi
			[ $rc -eq 0 ] && break
			if [ $rc -eq 1 ]; then
				ERR="failed: bpftrace not attached in time"
			elif [ "$cfg" = bpftrace ]; then
				ERR="failed: $(last_words "$log")"
			else
				ERR="unsupported: $(last_words "$log" | sed 's/^ERROR: //; s/: \/.*//')"
				ERR="$ERR (tried: ${forms// /, })"
			fi
			stop_proc "$TRACER" INT $T_STOP || true
			TRACER=0
		done
		[ $rc -eq 0 ] || return 1
		[ "$cfg" = bpftrace ] || BT_FORM=$form
		;;
	raw0 | rawk)
		local free_off=$FREE_OFF
		[ "$cfg" = raw0 ] || free_off=$FREE_K_OFF
		"$BIN/rawprobe" -p "$pid" -u "$LIBC:$MALLOC_OFF" -r "$LIBC:$MALLOC_OFF" \
			-u "$LIBC:$free_off" 2>"$log" &
		TRACER=$!
		PIDS+=("$TRACER")
		rc=0
		wait_line "$log" 'tracing' $T_ATTACH "$TRACER" || rc=$?
		[ $rc -ne 0 ] || wait_armed "$pid" "$TRACER" "$MALLOC_OFF" "$free_off" || rc=$?
		if [ $rc -ne 0 ]; then
			ERR="failed: $(last_words "$log")"
			return 1
		fi
		;;
	esac
	sleep "$SETTLE"
}

# run_one CONFIG: one measurement. Sets RESULT (ns per pair) or ERR; returns 0/1.
run_one()
{
	local cfg=$1 n=$N_PROBE out="$TMP/pairloop.out" pl ok=0 rc
	RESULT=
	RESULT_CPU=
	ERR=
	[ "$cfg" = plain ] && n=$N_PLAIN
	"$BIN/pairloop" "$n" >"$out" 2>&1 &
	pl=$!
	PIDS+=("$pl")
	rc=0
	wait_line "$out" '^ready [0-9]+$' $T_READY "$pl" || rc=$?
	if [ $rc -eq 1 ]; then
		ERR="failed: pairloop not ready in ${T_READY}s"
	elif [ $rc -ne 0 ]; then
		ERR="failed: pairloop exited: $(last_words "$out")"
	elif [ "$(awk '/^ready/ { print $2 }' "$out")" != "$pl" ]; then
		ERR="failed: pairloop reported a pid other than $pl"
	elif ! wait_clean "$pl"; then
		ERR="failed: foreign uprobes on malloc/free of pairloop (another tracer running?)"
	elif start_tracer "$cfg" "$pl"; then
		kill -USR1 "$pl"
		if wait_line "$out" '^ns_per_pair ' $T_MEASURE "$pl"; then
			RESULT=$(awk '/^ns_per_pair/ { print $2 }' "$out")
			RESULT_CPU=$(awk '/^cpu_ns_per_pair/ { print $2 }' "$out")
			ok=1
		else
			ERR="failed: no ns_per_pair from pairloop"
		fi
	fi
	stop_proc "$pl" TERM 5 || true
	if [ "$TRACER" != 0 ]; then
		stop_proc "$TRACER" INT $T_STOP ||
			echo "bench: $cfg tracer ignored SIGINT for ${T_STOP}s, killed" >&2
	fi
	TRACER=0
	[ $ok = 1 ]
}

# ---- rounds ---------------------------------------------------------------------

CONFIGS=(plain bpftrace agentleak agentleak_s bpftrace_k raw0 rawk)
declare -A LABEL VALUES STATUS ROUNDS_TXT
LABEL[plain]="plain (no probes)"
LABEL[bpftrace]="empty bpftrace probes"
LABEL[agentleak]="agentleak"
LABEL[agentleak_s]="agentleak --sample-bytes $SAMPLE_BYTES (info)"
LABEL[bpftrace_k]="bpftrace, free at +$FREE_K (info)"
LABEL[raw0]="raw empty uprobes, free+0 (info)"
LABEL[rawk]="raw empty uprobes, free+$FREE_K (info)"
for c in "${CONFIGS[@]}"; do
	VALUES[$c]=
	STATUS[$c]=
	ROUNDS_TXT[$c]=
done
command -v bpftrace >/dev/null || STATUS[bpftrace]="missing (install bpftrace)"
command -v bpftrace >/dev/null || STATUS[bpftrace_k]="missing (install bpftrace)"
[ -x "$AGENTLEAK" ] || STATUS[agentleak]="missing (run make)"
[ -x "$AGENTLEAK" ] || STATUS[agentleak_s]="missing (run make)"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TRACER=0
for ((r = 1; r <= ROUNDS; r++)); do
	for c in "${CONFIGS[@]}"; do
		# A missing tool or an unsupported probe stays so for all rounds.
		case ${STATUS[$c]} in missing* | unsupported*) continue ;; esac
		if run_one "$c"; then
			VALUES[$c]="${VALUES[$c]} $RESULT"
			ROUNDS_TXT[$c]="${ROUNDS_TXT[$c]} $RESULT (cpu ${RESULT_CPU:-?})"
			echo "bench: round $r/$ROUNDS ${LABEL[$c]}: $RESULT ns/pair" >&2
		else
			STATUS[$c]=$ERR
			echo "bench: round $r/$ROUNDS ${LABEL[$c]}: $ERR" >&2
		fi
	done
done

# ---- report ---------------------------------------------------------------------

median()
{
	tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A/B, formatted for the table.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b <= 0) { print ""; exit }
		x = a / b
		if (x >= 100) printf "%.0f\n", x
		else if (x >= 10) printf "%.1f\n", x
		else if (x >= 0.1) printf "%.2f\n", x
		else printf "%.2g\n", x
	}'
}

declare -A MED
for c in "${CONFIGS[@]}"; do
	MED[$c]=
	[ -z "${VALUES[$c]}" ] || MED[$c]=$(median "${VALUES[$c]}")
done
PLAIN=${MED[plain]}
BT=${MED[bpftrace]}

table()
{
	local c cell x_plain x_bt
	echo "| configuration | ns per pair (median) | ratio to plain | ratio to empty bpftrace probes |"
	echo "|---|---|---|---|"
	for c in "${CONFIGS[@]}"; do
		x_plain=
		x_bt=
		if [ -n "${MED[$c]}" ]; then
			cell=$(awk -v v="${MED[$c]}" 'BEGIN { printf "%.1f", v }')
			[ -z "$PLAIN" ] || x_plain=$(ratio "${MED[$c]}" "$PLAIN")
			[ -z "$BT" ] || x_bt=$(ratio "${MED[$c]}" "$BT")
			# Some rounds failed: say so next to the median of the others.
			[ -z "${STATUS[$c]}" ] || cell="$cell (some rounds ${STATUS[$c]})"
		else
			cell=${STATUS[$c]:-no data}
		fi
		echo "| ${LABEL[$c]} | $cell | $x_plain | $x_bt |"
	done
}

if [ -n "${MED[agentleak]}" ] && [ -n "$BT" ]; then
	AL_RATIO=$(awk -v a="${MED[agentleak]}" -v b="$BT" 'BEGIN { printf "%.2f", a / b }')
elif [ -n "${STATUS[agentleak]}" ]; then
	AL_RATIO="n/a, agentleak ${STATUS[agentleak]}"
else
	AL_RATIO="n/a"
fi
SUMMARY="agentleak/empty-bpftrace ratio: $AL_RATIO (target <= 0.6)"

TABLE=$(table)
echo
echo "$TABLE"
echo
echo "$SUMMARY"

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	echo "# agentleak speed benchmark: last run"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- kernel: $(uname -r)"
	echo "- CPU: ${CPU:-unknown} ($(nproc) online)"
	echo "- load average before / after: $LOAD_START / $LOAD_END (other work on the machine adds noise)"
	echo "- libc: $LIBC"
	echo "- bpftrace: $(bpftrace --version 2>/dev/null || echo missing)"
	echo "- pairs per run: plain $N_PLAIN, probed $N_PROBE; $ROUNDS interleaved rounds, median shown"
	echo "- free+0 is \`$FREE_INSN0\` ($(insn_kind "$FREE_INSN0") by the kernel)," \
		"free+$FREE_K is \`$FREE_INSNK\` ($(insn_kind "$FREE_INSNK"))"
	echo "- probes in every probed row: malloc entry, malloc return, free entry (or free+$FREE_K)"
	echo
	echo "$TABLE"
	echo
	echo "$SUMMARY"
	echo
	echo "Per-round ns per pair, wall time (and the pairloop thread's CPU time; wall well"
	echo "above CPU means the run was preempted by other load):"
	echo
	for c in "${CONFIGS[@]}"; do
		echo "- ${LABEL[$c]}:${ROUNDS_TXT[$c]:- -}"
	done
} >"$OUT_MD"
echo "bench: wrote $OUT_MD" >&2

if [ -z "$PLAIN" ] || [ -z "$BT" ]; then
	die "baseline rows missing, ratios are incomplete"
fi
