#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The hot path of an offloaded socket makes no system call: sockperf TCP
# ping-pong between two libaccel processes over the shm engine, with
# polling on, counted by strace. Two runs of different lengths; the
# difference of their system call counts over the difference of their round
# trips is what steady state costs (set-up and tear-down cancel out).
# Run from a build directory after `make`. Exit 0 if both runs ran.
set -u
so=${LIBACCEL_SO:-./.libs/libaccel.so}
short=${BENCH_SHORT:-1}
long=${BENCH_LONG:-3}
[ -f "$so" ] || { echo "hotpath: no $so (run from a build directory)" >&2; exit 1; }
for t in sockperf strace taskset; do
	command -v "$t" >/dev/null || { echo "hotpath: $t missing" >&2; exit 1; }
done
tmp=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env=(LD_PRELOAD="$so" ACCEL_RX_POLL=1000000 ACCEL_SELECT_POLL=1000000)
ncpu=$(nproc)
scpu=0
ccpu=$((ncpu - 1))

# run SECONDS: prints "SYSCALLS ROUND_TRIPS" for server and client together.
run() {
	local secs=$1 n out calls
	env "${env[@]}" timeout $((secs + 30)) taskset -c "$scpu" \
		strace -f -qq -c -o "$tmp/srv.$secs" sockperf sr --tcp -i 127.0.0.1 -p "$port" \
		>/dev/null 2>&1 &
	srv=$!
	for n in $(seq 100); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port)).close()" \
			2>/dev/null && break
		sleep 0.1
	done
	out=$(env "${env[@]}" timeout $((secs + 30)) taskset -c "$ccpu" \
		strace -f -qq -c -o "$tmp/cli.$secs" sockperf pp --tcp -i 127.0.0.1 -p "$port" \
		-t "$secs" -m 64 --mps 10000000 2>&1)
	kill -INT "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	srv=""
	n=$(printf '%s\n' "$out" | sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p')
	calls=$(awk '$NF == "total" { s += $(NF - 2) } END { print s + 0 }' "$tmp/srv.$secs" "$tmp/cli.$secs")
	echo "$calls ${n:-0}"
}

read -r c1 n1 < <(run "$short")
read -r c2 n2 < <(run "$long")
echo "sockperf TCP ping-pong 64 B over the shm engine, polling, under strace -f -c"
printf '  %d s: %10d system calls, %10d round trips\n' "$short" "$c1" "$n1"
printf '  %d s: %10d system calls, %10d round trips\n' "$long" "$c2" "$n2"
if [ "$n2" -gt "$n1" ]; then
	awk -v c="$((c2 - c1))" -v n="$((n2 - n1))" \
		'BEGIN { printf "  steady state: %d system calls over %d round trips: %.6f per round trip\n", c, n, c / n }'
	exit 0
fi
echo "  no round trips counted: sockperf failed"
exit 1
