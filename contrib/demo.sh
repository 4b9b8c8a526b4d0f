#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The demo: sockperf TCP ping-pong on loopback, first on the kernel alone,
# then with libaccel preloaded into both ends; prints both side by side.
# Usage: contrib/demo.sh BUILD_DIR   (run by contrib/quickstart.sh demo)
set -euo pipefail

build=${1:?usage: demo.sh BUILD_DIR}
lib="$build/.libs/libaccel.so"
seconds=${DEMO_SECONDS:-3}
[ -f "$lib" ] || { echo "demo: $lib not built" >&2; exit 1; }
command -v sockperf >/dev/null || { echo "demo: sockperf not installed" >&2; exit 1; }

# Both ends on one CPU: on small VMs a wake-up across CPUs costs tens of
# microseconds and varies widely, which would drown the comparison.
cpu=$(( $(nproc) - 1 ))
pin=(taskset -c "$cpu")
command -v taskset >/dev/null || pin=()

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

run() { # label, preload
	local label=$1 preload=$2 out
	LD_PRELOAD=$preload "${pin[@]}" sockperf sr --tcp -i 127.0.0.1 -p "$port" >/dev/null 2>&1 &
	server=$!
	for _ in $(seq 50); do
		LD_PRELOAD=$preload "${pin[@]}" sockperf pp --tcp -i 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1 && break
		sleep 0.1
	done
	out=$(LD_PRELOAD=$preload timeout $((seconds + 20)) "${pin[@]}" \
		sockperf pp --tcp -i 127.0.0.1 -p "$port" -t "$seconds" -m 64 2>&1)
	kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
	server=""
	local avg
	avg=$(printf '%s\n' "$out" | sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' | tail -1)
	printf '  %-9s avg latency %8s us\n' "$label" "${avg:-?}"
	[ -n "$avg" ]
}

echo "sockperf TCP ping-pong, 64 B messages, ${seconds} s each, 127.0.0.1:$port${pin:+, both ends on CPU $cpu}"
run kernel ""
run libaccel "$lib"
echo
echo "No engine carries TCP yet, so libaccel passes every call to the kernel:"
echo "the two figures should agree within sockperf's noise (about 10%)."
