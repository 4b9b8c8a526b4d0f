#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Cost of libaccel when nothing is offloaded (ACCEL_SHM=0, so that the
# same-host engine leaves the connection to the kernel): sockperf TCP ping-pong latency on
# loopback with and without LD_PRELOAD, and callgrind instructions added per
# pass-through recv(). Run from a build directory after `make`; see usage().
set -u

usage() {
	cat <<'EOF'
usage: passthrough.sh          (run from a build directory, after `make`)

Environment (all optional):
  LIBACCEL_SO        library to preload       (default ./.libs/libaccel.so)
  BENCH_RECV_LOOP    the recv() loop helper   (default ./bench/recv_loop)
  BENCH_ROUNDS       sockperf rounds per side           (default 5)
  BENCH_SECONDS      seconds per sockperf run           (default 2)
  BENCH_MSG_SIZE     ping-pong message size in bytes    (default 64)
  BENCH_N1 BENCH_N2  recv() loop lengths under callgrind (default 100000 200000)
  BENCH_CG_SOCKETS   sockets for callgrind: udp tcp unix (default "udp unix")
  BENCH_TARGET       target for added instructions/call (default 25)
  BENCH_CPUS         CPU list (taskset -c) for every process, default the
                     last allowed CPU; "all" for every allowed CPU (unpinned)
  BENCH_SKIP         "sockperf" or "callgrind" to skip that part
Exit status: 0 if every measurement ran (whatever the figures), 1 otherwise.
EOF
}

case ${1-} in
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECONDS:-2}
msg=${BENCH_MSG_SIZE:-64}
n1=${BENCH_N1:-100000}
n2=${BENCH_N2:-200000}
cg_sockets=${BENCH_CG_SOCKETS:-udp unix}
target=${BENCH_TARGET:-25}
skip=${BENCH_SKIP:-}
allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
# Server and client on one CPU by default: a loopback round trip across CPUs
# costs an inter-processor wake-up, which in a VM can dwarf the path measured.
case ${BENCH_CPUS:-} in
'') cpus=${allowed##*[,-]} ;;
all) cpus=$allowed ;;
*) cpus=$BENCH_CPUS ;;
esac

die() {
	echo "passthrough.sh: $*" >&2
	exit 1
}

. "$(dirname "$0")/bench_lib.sh"

check_count BENCH_ROUNDS "$rounds"
check_count BENCH_SECONDS "$secs"
check_count BENCH_MSG_SIZE "$msg"
check_count BENCH_N1 "$n1"
check_count BENCH_N2 "$n2"
check_count BENCH_TARGET "$target"
[ "$n2" -gt "$n1" ] || die "BENCH_N2 ($n2) must be larger than BENCH_N1 ($n1)"

# ---- what to run -------------------------------------------------------------

so=${LIBACCEL_SO:-.libs/libaccel.so}
[ -f "$so" ] || die "no libaccel.so at '$so': run from a build directory after \`make\`, or set LIBACCEL_SO"
so=$(cd "$(dirname "$so")" && pwd)/$(basename "$so")

loop=${BENCH_RECV_LOOP:-}
if [ -z "$loop" ]; then
	loop=bench/recv_loop
	# LIBACCEL_SO given from elsewhere: look next to it (BUILD/.libs/libaccel.so).
	[ -x "$loop" ] || loop=$(dirname "$so")/../bench/recv_loop
fi
[ -x "$loop" ] || die "no bench/recv_loop helper in '$(pwd)' or next to $so: run \`make\` in the build directory, or set BENCH_RECV_LOOP"

command -v timeout >/dev/null || die "timeout (coreutils) is needed to bound the run"
command -v taskset >/dev/null || die "taskset (util-linux) is needed to place the processes"
taskset -c "$cpus" true 2>/dev/null || die "BENCH_CPUS: cannot run on CPU(s) '$cpus' (allowed: $allowed)"

# A bad LD_PRELOAD is only a warning from ld.so: make sure this one loads.
out=$(env LD_PRELOAD="$so" "$loop" unix 1 2>&1) || die "preloading $so fails: $out"
case $out in *ld.so*) die "preloading $so fails: $out" ;; esac

# What LD_PRELOAD is for side $1: libaccel, or nothing for kernel.
preload() {
	if [ "$1" = libaccel ]; then echo "$so"; fi
}

# Run "$@" on $cpus for at most $2 seconds, as side $1 (kernel or libaccel).
with() {
	w_preload=$(preload "$1")
	w_limit=$2
	shift 2
	timeout "$w_limit" taskset -c "$cpus" env ACCEL_SHM=0 LD_PRELOAD="$w_preload" "$@"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/passthrough.XXXXXX") || die "mktemp failed"
srv_kernel=
srv_libaccel=
status=0

# Stop the sockperf servers (each a timeout process, which passes it on).
cleanup_servers() {
	for pid in $srv_kernel $srv_libaccel; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	srv_kernel=
	srv_libaccel=
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	cleanup_servers
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo "libaccel pass-through benchmark ($so)"

# ---- sockperf ------------------------------------------------------------------

# Start a sockperf server for side $1 on a free port; sets srv_pid and srv_port.
# The server dies on its own after $2 seconds should this script be killed hard.
start_server() {
	for _ in 1 2 3 4 5; do
		srv_port=$(pick_port) || continue
		# As with(), but not through a function: $! must be timeout itself,
		# so that killing it by PID stops the server.
		timeout "$2" taskset -c "$cpus" env ACCEL_SHM=0 LD_PRELOAD="$(preload "$1")" \
			sockperf sr --tcp -i 127.0.0.1 -p "$srv_port" \
			>"$tmp/server-$1.log" 2>&1 </dev/null &
		srv_pid=$!
		i=0
		while [ $i -lt 50 ]; do
			port_listening "$srv_port" && return 0
			kill -0 "$srv_pid" 2>/dev/null || break # lost a race for the port
			sleep 0.1
			i=$((i + 1))
		done
		kill "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	done
	echo "passthrough.sh: sockperf server ($1) did not start; last log:" >&2
	sed 's/^/  /' "$tmp/server-$1.log" >&2
	return 1
}

# Whether the server started as timeout PID $1 has libaccel mapped: yes, no, or
# unknown when /proc does not list children.
server_has_libaccel() {
	child=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
	child=${child%% *}
	if [ -z "$child" ]; then
		echo unknown
	elif grep -qF "$so" "/proc/$child/maps" 2>/dev/null; then
		echo yes
	else
		echo no
	fi
}

# One ping-pong run for side $1 against port $2; prints "avg median" in usec.
ping_pong() {
	log=$tmp/client-$1.log
	if ! with "$1" $((secs + 20)) sockperf pp --tcp -i 127.0.0.1 -p "$2" \
		-t "$secs" -m "$msg" >"$log" 2>&1 </dev/null; then
		echo "passthrough.sh: sockperf client ($1) failed; log:" >&2
		sed 's/^/  /' "$log" >&2
		return 1
	fi
	avg=$(sed -n 's/.*avg-latency=\([0-9][0-9.]*\).*/\1/p' "$log" | head -n 1)
	p50=$(sed -n 's/.*percentile 50\.000 = *\([0-9][0-9.]*\).*/\1/p' "$log" | head -n 1)
	if [ -z "$avg" ] || [ -z "$p50" ]; then
		echo "passthrough.sh: no avg-latency or median in sockperf client ($1) output:" >&2
		sed 's/^/  /' "$log" >&2
		return 1
	fi
	echo "$avg $p50"
}

run_sockperf() {
	echo "sockperf TCP ping-pong $msg B on 127.0.0.1, $rounds rounds x $secs s per side, CPU $cpus"
	command -v sockperf >/dev/null || {
		echo "passthrough.sh: sockperf not found (apt-get install sockperf)" >&2
		return 1
	}
	life=$((rounds * 2 * (secs + 20) + 30))
	start_server kernel "$life" || return 1
	srv_kernel=$srv_pid
	port_kernel=$srv_port
	start_server libaccel "$life" || return 1
	srv_libaccel=$srv_pid
	port_libaccel=$srv_port
	# A preload that did not take would make this a kernel-vs-kernel run.
	case $(server_has_libaccel "$srv_kernel")/$(server_has_libaccel "$srv_libaccel") in
	*/no | yes/*)
		echo "passthrough.sh: $so is not mapped in the libaccel sockperf server only" >&2
		return 1
		;;
	esac

	# Alternate sides, and which goes first, so drift hits both alike.
	lat_kernel=
	lat_libaccel=
	p50_kernel=
	p50_libaccel=
	r=1
	while [ $r -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then order="kernel libaccel"; else order="libaccel kernel"; fi
		for side in $order; do
			if [ "$side" = kernel ]; then
				l=$(ping_pong kernel "$port_kernel") || return 1
				lat_kernel="$lat_kernel ${l% *}"
				p50_kernel="$p50_kernel ${l#* }"
			else
				l=$(ping_pong libaccel "$port_libaccel") || return 1
				lat_libaccel="$lat_libaccel ${l% *}"
				p50_libaccel="$p50_libaccel ${l#* }"
			fi
		done
		r=$((r + 1))
	done
	for side in kernel libaccel; do
		if [ "$side" = kernel ]; then pid=$srv_kernel; else pid=$srv_libaccel; fi
		kill -0 "$pid" 2>/dev/null || {
			echo "passthrough.sh: sockperf server ($side) died during the run; log:" >&2
			sed 's/^/  /' "$tmp/server-$side.log" >&2
			return 1
		}
		if grep -q 'ld\.so' "$tmp/server-$side.log" "$tmp/client-$side.log"; then
			echo "passthrough.sh: the dynamic loader complained ($side):" >&2
			grep -h 'ld\.so' "$tmp/server-$side.log" "$tmp/client-$side.log" >&2
			return 1
		fi
	done
	cleanup_servers

	k=$(mean "$lat_kernel")
	a=$(mean "$lat_libaccel")
	km=$(mean "$p50_kernel")
	am=$(mean "$p50_libaccel")
	awk -v k="$k" -v a="$a" -v km="$km" -v am="$am" 'BEGIN {
		printf "  kernel   avg latency %8.3f us                 median %8.3f us\n", k, km
		printf "  libaccel avg latency %8.3f us   ratio %.2fx   median %8.3f us   ratio %.2fx\n",
			a, a / k, am, am / km
	}'
	echo "  per-round avg, kernel:  $lat_kernel"
	echo "  per-round avg, libaccel:$lat_libaccel"
	echo "  (ports $port_kernel kernel, $port_libaccel libaccel; libaccel preloaded in server and client)"
}

# ---- callgrind -----------------------------------------------------------------

# Total instructions (Ir) of recv_loop $2 $3 for side $1.
cg_total() {
	out=$tmp/cg.$1.$2.$3
	if ! with "$1" 300 valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$loop" "$2" "$3" >"$out.log" 2>&1 </dev/null; then
		echo "passthrough.sh: callgrind run failed: $1 recv_loop $2 $3; log:" >&2
		sed 's/^/  /' "$out.log" >&2
		return 1
	fi
	t=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$out")
	[ -n "$t" ] || t=$(sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$out")
	[ -n "$t" ] || {
		echo "passthrough.sh: no totals in $out" >&2
		return 1
	}
	echo "$t"
}

describe() {
	case $1 in
	udp) echo "connected UDP socket (tracked by libaccel, not offloaded)" ;;
	tcp) echo "connected TCP socket (tracked by libaccel, not offloaded)" ;;
	unix) echo "AF_UNIX socketpair (not tracked by libaccel), for comparison" ;;
	esac
}

run_callgrind() {
	echo "callgrind, non-blocking recv() -> EAGAIN, instructions per call from the"
	echo "difference of $n1 and $n2 calls (start-up cancels)"
	command -v valgrind >/dev/null || {
		echo "passthrough.sh: valgrind not found (apt-get install valgrind)" >&2
		return 1
	}
	rc=0
	for sock in $cg_sockets; do
		case $sock in
		udp | tcp | unix) ;;
		*)
			echo "passthrough.sh: BENCH_CG_SOCKETS: unknown socket '$sock' (udp, tcp, unix)" >&2
			rc=1
			continue
			;;
		esac
		if ! { k1=$(cg_total kernel "$sock" "$n1") && k2=$(cg_total kernel "$sock" "$n2") &&
			a1=$(cg_total libaccel "$sock" "$n1") && a2=$(cg_total libaccel "$sock" "$n2"); }; then
			rc=1
			continue
		fi
		echo "  $(describe "$sock")"
		awk -v k1="$k1" -v k2="$k2" -v a1="$a1" -v a2="$a2" -v n="$((n2 - n1))" \
			-v t="$target" 'BEGIN {
			k = (k2 - k1) / n; a = (a2 - a1) / n; d = a - k
			printf "    kernel   %6.1f instr/call\n", k
			printf "    libaccel %6.1f instr/call   added: %.1f  (target <= %d: %s)\n",
				a, d, t, d <= t ? "ok" : "OVER"
		}'
	done
	return $rc
}

case " $skip " in *" sockperf "*) ;; *) run_sockperf || status=1 ;; esac
cleanup_servers
case " $skip " in *" callgrind "*) ;; *) run_callgrind || status=1 ;; esac
exit $status
