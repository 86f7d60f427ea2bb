#!/bin/sh
# build.sh OUTDIR - build the agentleak test workloads (called by the Makefile).
#
# Every tests/workloads/X.c becomes OUTDIR/X, built with frame pointers
# (-O1 -g -fno-omit-frame-pointer): among them server (the HTTP workload of the
# trend tests, with a USDT probe: needs <sys/sdt.h> from systemtap-sdt-dev) and
# rss_retain; alloc_funcs is built a second time without frame pointers
# (OUTDIR/alloc_funcs_nofp), hostile a second time statically (OUTDIR/hostile_static:
# malloc in the executable), fakepy with -rdynamic (it passes for CPython by its
# exported symbols) and nolibc is a static program without libc.
# fastapi_app.py is not built: uvicorn runs it from this folder.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
src=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
cflags="-std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -pthread"

if ! echo '#include <sys/sdt.h>' | $cc -E -x c - >/dev/null 2>&1; then
	echo "build.sh: <sys/sdt.h> missing, needed by server.c (apt-get install systemtap-sdt-dev)" >&2
	exit 1
fi

mkdir -p "$out"
for f in "$src"/*.c; do
	name=$(basename "$f" .c)
	[ "$name" = nolibc ] && continue
	[ "$name" = fakepy ] && continue
	echo "  CC      $out/$name"
	$cc $cflags -o "$out/$name" "$f"
done

echo "  CC      $out/alloc_funcs_nofp"
$cc -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -pthread \
	-o "$out/alloc_funcs_nofp" "$src/alloc_funcs.c"

echo "  CC      $out/hostile_static"
$cc $cflags -static -o "$out/hostile_static" "$src/hostile.c"

echo "  CC      $out/fakepy"
$cc $cflags -rdynamic -o "$out/fakepy" "$src/fakepy.c"

echo "  CC      $out/nolibc"
$cc -static -nostdlib -O2 -fno-stack-protector -Wall -Wextra \
	-o "$out/nolibc" "$src/nolibc.c"
