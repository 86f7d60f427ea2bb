#!/bin/bash
# install-deps.sh - install the Debian packages agentleak needs to build, test and bench.
# Only what is missing is installed; without root it says what is missing and fails.
set -eu

PKGS="clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdw-dev libcapstone-dev
      pkg-config make gcc python3 bpftrace libjemalloc2 libtcmalloc-minimal4
      util-linux procps libc6-dbg systemtap-sdt-dev python3-fastapi python3-uvicorn
      golang-go python3-jsonschema prometheus chromium libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
