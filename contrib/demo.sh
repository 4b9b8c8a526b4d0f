#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The demo: sockperf TCP ping-pong on loopback, on the kernel alone and with
# libaccel preloaded into both ends (the same-host engine carries the
# connection over shared-memory rings); prints them side by side.
# Usage: contrib/demo.sh BUILD_DIR   (run by contrib/quickstart.sh demo)
set -euo pipefail

build=${1:?usage: demo.sh BUILD_DIR}
lib="$build/.libs/libaccel.so"
seconds=${DEMO_SECONDS:-3}
[ -f "$lib" ] || { echo "demo: $lib not built" >&2; exit 1; }
command -v sockperf >/dev/null || { echo "demo: sockperf not installed" >&2; exit 1; }

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ncpu=$(nproc)
last=$((ncpu - 1))
have_taskset=1
command -v taskset >/dev/null || have_taskset=0

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# run LABEL PRELOAD SERVER_CPU CLIENT_CPU [ENV...]: one ping-pong; prints the
# average and leaves it in $avg.
run() {
	local label=$1 preload=$2 scpu=$3 ccpu=$4 out
	shift 4
	local spin=() cpin=()
	if [ "$have_taskset" = 1 ]; then
		spin=(taskset -c "$scpu")
		cpin=(taskset -c "$ccpu")
	fi
	env "$@" LD_PRELOAD="$preload" "${spin[@]}" sockperf sr --tcp -i 127.0.0.1 -p "$port" \
		>/dev/null 2>&1 &
	server=$!
	for _ in $(seq 50); do
		env "$@" LD_PRELOAD="$preload" "${cpin[@]}" sockperf pp --tcp -i 127.0.0.1 -p "$port" \
			-t 1 >/dev/null 2>&1 && break
		sleep 0.1
	done
	# shellcheck disable=SC2086 # client_extra is a list of options
	out=$(env "$@" LD_PRELOAD="$preload" timeout $((seconds + 20)) "${cpin[@]}" \
		sockperf pp --tcp -i 127.0.0.1 -p "$port" -t "$seconds" -m 64 $client_extra 2>&1)
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null || true
	server=""
	avg=$(printf '%s\n' "$out" | sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' | tail -1)
	printf '  %-40s avg latency %8s us\n' "$label" "${avg:-?}"
	[ -n "$avg" ]
}

# sockperf sizes its table of send times from its message-rate cap; at a
# few hundred nanoseconds a round trip the default runs past its end.
client_extra="--mps 5000000"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx faster", a / b; else print "?" }'; }

echo "sockperf TCP ping-pong, 64 B messages, ${seconds} s each, 127.0.0.1:$port"
echo
echo "Both ends on CPU $last, default parameters (no busy polling):"
run "kernel (loopback TCP)" "" "$last" "$last"
k1=$avg
run "libaccel (shared-memory rings)" "$lib" "$last" "$last"
echo "  -> libaccel $(ratio "$k1" "$avg")"
if [ "$ncpu" -ge 2 ]; then
	echo
	echo "One end per CPU (0 and $last):"
	run "kernel (loopback TCP)" "" 0 "$last"
	k2=$avg
	run "libaccel, default parameters" "$lib" 0 "$last"
	echo "  -> libaccel $(ratio "$k2" "$avg")"
	run "libaccel, ACCEL_SPEC=latency (polling)" "$lib" 0 "$last" ACCEL_SPEC="$src/etc/profiles/latency.yaml"
	echo "  -> libaccel $(ratio "$k2" "$avg")"
fi
echo
echo "Both programs are unmodified: libaccel found the server's rendezvous and"
echo "carried the connection through shared memory (ACCEL_TRACELEVEL=debug shows it)."
