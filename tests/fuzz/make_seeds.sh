#!/bin/bash
# make_seeds.sh - how the seed corpus of tests/fuzz/corpus/ was made (not run by make).
#
#   tests/fuzz/make_seeds.sh [CORPUS_DIR]
#
# Small ELF files built here (executables with and without a lazy PLT, shared objects
# defining malloc & co. with DWARF, symbol versions, no debug info), the heads of the
# allocator entry points of this machine's glibc, jemalloc and tcmalloc, /proc text of
# this machine (maps with odd names among it), preload lists, HTTP requests and responses,
# Prometheus pages.
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:-tests/fuzz/corpus}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$C"/{plt,symbolize,allocator_find,place_probe,procmem,procmaps,preload,httpd,promsum,promresp}

# ---- ELF: executables for the PLT reader ----
cat >"$T/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	void *(*volatile f)(size_t) = malloc; /* address taken: a .plt.got stub */
	char *p = f(16);
	puts(argv[0]);
	free(p);
	return argc > 1 ? atoi(argv[1]) : 0;
}
EOF
small="-Os -s -Wl,-z,noseparate-code -Wl,--build-id=none"
gcc $small -fcf-protection=full -Wl,-z,lazy -Wl,-z,ibtplt -o "$C/plt/pie-lazy-ibt" "$T/prog.c"
gcc $small -fcf-protection=none -Wl,-z,lazy -o "$C/plt/pie-lazy" "$T/prog.c"
gcc $small -fno-pie -no-pie -Wl,-z,lazy -o "$C/plt/nopie-lazy" "$T/prog.c"
gcc $small -fno-plt -Wl,-z,now -o "$C/plt/pie-noplt" "$T/prog.c"

# ---- ELF: objects defining the allocator, for allocator discovery and the symbolizer ----
cat >"$T/alloc.c" <<'EOF'
#include <stddef.h>
static char heap[1 << 16];
static size_t used;
void *malloc(size_t n)
{
	char *p = heap + used;

	if (!n || n > sizeof(heap) - used)
		return NULL;
	used += (n + 15) & ~(size_t)15;
	return p;
}
void free(void *p)
{
	if (p == heap + used)
		used = 0;
}
void *calloc(size_t a, size_t b)
{
	return malloc(a * b);
}
void *realloc(void *p, size_t n)
{
	free(p);
	return malloc(n);
}
EOF
cat >"$T/alloc.map" <<'EOF'
V1 { global: malloc; free; calloc; local: *; };
V2 { global: realloc; } V1;
EOF
so="-fdebug-prefix-map=$T=/src -shared -fPIC -nostdlib -Wl,-z,noseparate-code -Wl,--build-id=none"
gcc -g -O1 $so -o "$T/liballoc-g.so" "$T/alloc.c"
gcc -O2 -fno-omit-frame-pointer -s $so -o "$T/liballoc-fp.so" "$T/alloc.c"
gcc -g -O2 $so -Wl,--version-script="$T/alloc.map" -Wl,-soname,liballoc.so.1 \
	-o "$T/liballoc-ver.so" "$T/alloc.c"
gcc -g -O0 -fdebug-prefix-map=$T=/src -static -nostdlib -Wl,-e,malloc -Wl,--build-id=none -o "$T/alloc-exec" "$T/alloc.c"
for f in liballoc-g.so liballoc-fp.so liballoc-ver.so alloc-exec; do
	cp "$T/$f" "$C/symbolize/$f"
	cp "$T/$f" "$C/allocator_find/$f"
done

# ---- code: heads of real allocator entry points (kind byte, file offset, code) ----
python3 - "$C/place_probe" <<'EOF'
import re, struct, subprocess, sys
out = sys.argv[1]
kinds = {"malloc": 1, "calloc": 2, "realloc": 3, "free": 10}
libs = {"glibc": "/lib/x86_64-linux-gnu/libc.so.6",
        "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
        "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"}
for lib, path in libs.items():
    try:
        syms = subprocess.run(["readelf", "-W", "--dyn-syms", path], capture_output=True,
                              text=True, check=True).stdout
        phdrs = subprocess.run(["readelf", "-W", "-l", path], capture_output=True,
                               text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        continue
    loads = [tuple(int(x, 16) for x in m.groups()) for m in re.finditer(
        r"LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)", phdrs)]
    data = open(path, "rb").read()
    for line in syms.splitlines():
        f = line.split()
        if len(f) < 8 or f[3] != "FUNC" or f[6] == "UND":
            continue
        name = f[7].split("@")[0]
        if name not in kinds:
            continue
        vaddr, size = int(f[1], 16), int(f[2], 0)
        for off, va, filesz in loads:
            if va <= vaddr < va + filesz:
                fo = vaddr - va + off
                code = data[fo:fo + min(size or 64, 96)]
                with open("%s/%s-%s" % (out, lib, name), "wb") as o:
                    o.write(bytes([kinds[name]]) + struct.pack("<Q", fo) + code)
                break
EOF
# hand-made heads: push %rbp first; endbr64 + test %rdi (glibc free); sub + call
printf '\x01\x00\x10\x00\x00\x00\x00\x00\x00\x55\x48\x89\xe5\x53\x48\x83\xec\x08\xe8\x00\x00\x00\x00' \
	>"$C/place_probe/push-rbp"
printf '\x0a\x00\x20\x00\x00\x00\x00\x00\x00\xf3\x0f\x1e\xfa\x48\x85\xff\x74\x10\x48\x8b\x47\xf8' \
	>"$C/place_probe/endbr-test-je"
printf '\x02\x00\x30\x00\x00\x00\x00\x00\x00\x48\x83\xec\x18\x48\x89\xf8\x0f\x1f\x44\x00\x00\xe9\xfa\xff\xff\xff' \
	>"$C/place_probe/sub-nop-jmp-back"

# ---- /proc text of this machine ----
cp /proc/self/status "$C/procmem/status-self"
cp /proc/2/status "$C/procmem/status-kthread" 2>/dev/null || true
cp /proc/self/cgroup "$C/procmem/cgroup-self"
printf '12:memory:/kubepods/pod1234/ctr\n11:cpu,cpuacct:/kubepods\n0::/user.slice/app.service\n' \
	>"$C/procmem/cgroup-hybrid"

cat >"$C/procmem/status-hostile-name" <<'EOF'
Name:	VmRSS: 99 kB
Umask:	0022
State:	S (sleeping)
VmRSS:	   12345 kB
RssAnon:	    8000 kB
RssFile:	    4345 kB
RssShmem:	       0 kB
EOF

# ---- /proc/PID/maps: this machine's, and a process mapping odd names ----
cat /proc/self/maps >"$C/procmaps/maps-self"
python3 - "$C/procmaps/maps-odd-names" <<'EOF'
import mmap, os, sys, tempfile
keep = []
d = tempfile.mkdtemp()
for name in ("deleted.so", "name with spaces (deleted)", "tab\tand\\backslash"):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(b"\0" * 4096)
    with open(path, "rb") as f:
        keep.append(mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ))
    os.unlink(path)
os.rmdir(d)
fd = os.memfd_create("memfd name (deleted)")
os.ftruncate(fd, 4096)
keep.append(mmap.mmap(fd, 4096))
with open("/proc/self/maps") as f:
    odd = [l for l in f if " (deleted)" in l or "[heap]" in l or "[vdso]" in l or
           "[vsyscall]" in l or l.endswith(" 0 \n")]
with open(sys.argv[1], "w") as f:
    f.write("".join(odd[:12]))
EOF
printf '%s\n' \
	'00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon' \
	'7f5e3c000000-7f5e3c021000 rw-p 00000000 00:00 0 ' \
	'7ffd1c3b2000-7ffd1c3d3000 rw-p 00000000 00:00 0                          [stack]' \
	'7f00-7f01 rw-p 00000000 00:00 0      [anon:arena [1] x]' \
	'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]' \
	'7f00-7f01 r-xp 00000000 103:1ffff 18446744073709551615 /x' \
	'garbage line' >"$C/procmaps/maps-handmade"
printf '7f00-7f01 r-xp 00000000 fe:01 1316 /no/newline (deleted)' >"$C/procmaps/maps-no-newline"

# ---- preload lists: an environment block, an /etc/ld.so.preload ----
printf 'PATH=/usr/bin\0LD_PRELOAD=/usr/lib/libjemalloc.so.2:libfoo.so bar\tbaz\0HOME=/\0' \
	>"$C/preload/environ"
printf 'XLD_PRELOAD=/not/this.so\0LD_PRELOAD=\0LD_PRELOAD=/second.so' >"$C/preload/environ-odd"
printf '# tcmalloc for everyone\n/usr/lib/libtcmalloc.so.4 libx.so\n#libnot.so\n' \
	>"$C/preload/ld.so.preload"

# ---- HTTP requests to --listen ----
printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.42.0\r\n\r\n' \
	>"$C/httpd/get-metrics"
printf 'HEAD /metrics?x=1 HTTP/1.0\n\n' >"$C/httpd/head-query"
printf 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n' >"$C/httpd/post"
printf 'GET /other#frag HTTP/1.1\r\n\r\n' >"$C/httpd/get-other"
printf 'GET  /metrics HTTP/2.0\r\n\r\n' >"$C/httpd/bad-line"

# ---- Prometheus pages: the metric name on the first line, then the page ----
cat >"$C/promsum/python-client" <<'EOF'
http_requests_total
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 296.0
# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET"} 1027.0
http_requests_total{code="200",method="POST"} 3.0
# TYPE http_requests_created gauge
http_requests_created{code="200",method="GET"} 1.7123456789e+09
request_latency_seconds_bucket{le="+Inf"} 9.0
EOF
cat >"$C/promsum/go-client" <<'EOF'
myapp_requests_total
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 8
myapp_requests_total{handler="/api",code="200"} 4.2e+06
myapp_requests_total{handler="/api",code="500"} 17
myapp_requests_total{handler="/health",code="200"} 1234 1712345678000
EOF
printf '%s\r\n' 'requests_total' '# TYPE requests counter' \
	'requests_total{a="x\"y\\z",b="\n",} +Inf # {trace_id="abc"} 1 1.7e9' \
	'requests_total NaN' '# EOF' >"$C/promsum/openmetrics-crlf"

# ---- HTTP responses of a metrics endpoint: read size (0: one read), then the response ----
page='# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 1027\n'
printf '\000HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 72\r\n\r\n'"$page" \
	>"$C/promresp/content-length"
printf '\007HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n23;ext=1\r\n# TYPE http_requests_total counter\n\r\n20\r\nhttp_requests_total{code="200"} \r\n5\r\n1027\n\r\n0\r\nX-Trailer: 1\r\n\r\n' \
	>"$C/promresp/chunked"
printf '\001HTTP/1.0 200 OK\nContent-Encoding: identity\n\n'"$page" >"$C/promresp/until-eof-lf"
printf '\000HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n' >"$C/promresp/404"
printf '\000HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n\037\213' >"$C/promresp/gzip"

# ---- Python: line tables of real code objects, str objects, a 3.13 _Py_DebugOffsets ----
mkdir -p "$C/pycode"
python3 - "$C/pycode" <<'PY'
import json.decoder, os, sys, types
d = sys.argv[1]
def walk(c):
    yield c
    for k in c.co_consts:
        if isinstance(k, types.CodeType):
            yield from walk(k)
co = compile(open(json.decoder.__file__).read(), json.decoder.__file__, "exec")
for i, c in enumerate(list(walk(co))[:6]):
    open(os.path.join(d, "table311-%d" % i), "wb").write(bytes([0]) + c.co_linetable)
open(os.path.join(d, "table310-pairs"), "wb").write(bytes([4, 6, 1, 4, 0x80, 4, 3, 8, 0xff]))
ascii_state, ucs4_state = (1 << 5) | (1 << 2) | (1 << 6), (1 << 5) | (4 << 2)
open(os.path.join(d, "str-ascii"), "wb").write(
    bytes([1]) + ascii_state.to_bytes(4, "little") + b"chat\0\0\0\0")
open(os.path.join(d, "str-ucs4"), "wb").write(
    bytes([1]) + ucs4_state.to_bytes(4, "little") + "dir_\u00fc\U0001f600".encode("utf-32-le"))
hdr = bytearray(584)
hdr[0:16] = b"xdebugpy" + (0x030D00F0).to_bytes(8, "little")
for off, val in [(40, 632), (72, 7344), (168, 8), (184, 72), (192, 152), (232, 8), (240, 0),
                 (248, 56), (264, 70), (280, 112), (288, 120), (296, 128), (304, 136),
                 (312, 68), (344, 200), (560, 40)]:
    hdr[off:off + 8] = val.to_bytes(8, "little")
open(os.path.join(d, "debug-offsets-313"), "wb").write(bytes([2]) + bytes(hdr))
# Memory with objects: a bytes at 0, a class (GC + managed dict in front) at 176, their
# types at 512 and 768 (address 0x10000 + offset), each with its name after 176 bytes.
mem = bytearray(1024)
def w(off, v):
    mem[off:off + 8] = v.to_bytes(8, "little")
def typ(off, name, basic, item, flags):
    w(off + 32, basic); w(off + 40, item); w(off + 168, flags)
    mem[off + 176:off + 176 + len(name) + 1] = name + b"\0"
typ(512, b"bytes", 33, 1, 1 << 12)
typ(768, b"Conversation", 24, 0, (1 << 12) | (1 << 14) | (1 << 4))
w(0, 1); w(8, 0x10000 + 512); w(16, 100)
w(176, 2); w(184, 0x10000 + 768)
open(os.path.join(d, "objects-range-311"), "wb").write(bytes([3 | (1 << 4)]) + bytes(mem))
mem[0:176] = bytes(176)  # one heap block: the class 32 B in (3.11)
w(32, 2); w(40, 0x10000 + 768)
open(os.path.join(d, "objects-block-311"), "wb").write(bytes([3 | 4 | (1 << 4)]) + bytes(mem))
PY

echo "seeds in $C"
