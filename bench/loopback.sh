#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What the shm engine gains on one host: sockperf ping-pong and throughput and
# redis-benchmark over 127.0.0.1, kernel vs both ends under libaccel, next to the
# bare shared-memory ring (bench/ring_pingpong: polled, yielding on one CPU and
# blocking round trips, and a 64 B stream run right after each libaccel
# throughput run). Run from a build directory after `make`; see usage(). Starts
# only servers it stops again by PID.
set -u

usage() {
	cat <<'EOF'
usage: loopback.sh          (run from a build directory, after `make`)

Environment (all optional):
  LIBACCEL_SO          library to preload          (default ./.libs/libaccel.so)
  BENCH_RING_PINGPONG  bare ring helper            (default ./bench/ring_pingpong)
  BENCH_ROUNDS         runs per side and test, sides alternating  (default 3)
  BENCH_SECONDS        seconds per sockperf run                   (default 2)
  BENCH_POLL_US        ACCEL_RX_POLL and ACCEL_SELECT_POLL, in microseconds,
                       of the libaccel side in the polling ping-pong (default 1000000)
  BENCH_REQUESTS       redis-benchmark -n with -P 1; -P 16 runs ten times as
                       many (a run of well under a second is mostly start-up)
                                                                  (default 200000)
  BENCH_CLIENTS        redis-benchmark -c                         (default 50)
  BENCH_RING_TRIPS     round trips per bench/ring_pingpong run    (default 200000)
  BENCH_CPUS           CPU list (taskset -c) of both ends of the one-CPU blocking
                       ping-pongs, default the last allowed CPU; "all" unpins
  BENCH_SERVER_CPU     CPU list of the server in the other tests (default the
                       first allowed CPU)
  BENCH_CLIENT_CPU     CPU list of the client in the other tests (default the
                       last allowed CPU)
  BENCH_SKIP           any of: ring blocking polling throughput redis
The libaccel side also takes any other ACCEL_* variable from the environment.
Exit status: 0 if every measurement ran (whatever the figures), 1 otherwise.
EOF
}

case ${1-} in
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac

rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECONDS:-2}
poll_us=${BENCH_POLL_US:-1000000}
requests=${BENCH_REQUESTS:-200000}
clients=${BENCH_CLIENTS:-50}
ring_trips=${BENCH_RING_TRIPS:-200000}
skip=${BENCH_SKIP:-}
allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
# BENCH_CPUS: the one-CPU blocking ping-pongs (both ends on one CPU, so
# every round trip is the scheduler's). The other tests run an end per CPU:
# a spinning end must not starve its peer.
case ${BENCH_CPUS:-} in
'') cpus=${allowed##*[,-]} ;;
all) cpus=$allowed ;;
*) cpus=$BENCH_CPUS ;;
esac
srv_cpu=${BENCH_SERVER_CPU:-${allowed%%[,-]*}}
cli_cpu=${BENCH_CLIENT_CPU:-${allowed##*[,-]}}

die() {
	echo "loopback.sh: $*" >&2
	exit 1
}

. "$(dirname "$0")/bench_lib.sh"

check_count BENCH_ROUNDS "$rounds"
check_count BENCH_SECONDS "$secs"
check_count BENCH_POLL_US "$poll_us"
check_count BENCH_REQUESTS "$requests"
check_count BENCH_CLIENTS "$clients"
check_count BENCH_RING_TRIPS "$ring_trips"
for s in $skip; do
	case $s in
	ring | blocking | polling | throughput | redis) ;;
	*) die "BENCH_SKIP: unknown test '$s' (ring blocking polling throughput redis)" ;;
	esac
done

# Whether test $1 is to run.
wanted() {
	case " $skip " in *" $1 "*) return 1 ;; esac
	return 0
}

# ---- what to run -------------------------------------------------------------

so=${LIBACCEL_SO:-.libs/libaccel.so}
[ -f "$so" ] || die "no libaccel.so at '$so': run from a build directory after \`make\`, or set LIBACCEL_SO"
so=$(cd "$(dirname "$so")" && pwd)/$(basename "$so")

ring=${BENCH_RING_PINGPONG:-}
if [ -z "$ring" ]; then
	ring=bench/ring_pingpong
	# LIBACCEL_SO given from elsewhere: look next to it (BUILD/.libs/libaccel.so).
	[ -x "$ring" ] || ring=$(dirname "$so")/../bench/ring_pingpong
fi
if wanted ring; then
	[ -x "$ring" ] || die "no bench/ring_pingpong in '$(pwd)' or next to $so: run \`make\` in the build directory, set BENCH_RING_PINGPONG, or BENCH_SKIP=ring"
fi

for tool in timeout taskset awk; do
	command -v $tool >/dev/null || die "$tool is needed (coreutils, util-linux, awk)"
done
for c in "$cpus" "$srv_cpu" "$cli_cpu"; do
	taskset -c "$c" true 2>/dev/null || die "cannot run on CPU(s) '$c' (allowed: $allowed): see BENCH_CPUS, BENCH_SERVER_CPU, BENCH_CLIENT_CPU"
done

# A bad LD_PRELOAD is only a warning from ld.so: make sure this one loads.
out=$(env LD_PRELOAD="$so" true 2>&1) || die "preloading $so fails: $out"
case $out in *ld.so*) die "preloading $so fails: $out" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loopback.XXXXXX") || die "mktemp failed"
servers=
status=0
logdir=$tmp

# Whether PID $1 still runs (a zombie does not).
alive() {
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop the server started as timeout PID $1: TERM (timeout passes it on), and
# KILL for both after 5 s, so that the wait cannot hang.
stop_server() {
	kill "$1" 2>/dev/null
	i=0
	while alive "$1" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$1"; then
		# shellcheck disable=SC2046 # one PID per word
		kill -KILL $(cat "/proc/$1/task/$1/children" 2>/dev/null) "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

stop_servers() {
	for pid in $servers; do
		stop_server "$pid"
	done
	servers=
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	stop_servers
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# launch SIDE MODE LIMIT CPU COMMAND...: become COMMAND, on CPU for at most
# LIMIT seconds, as SIDE (kernel, libaccel) with waiting MODE: block (no busy
# polling, ACCEL_WAIT_YIELD as the environment says: the default), sleep (and
# ACCEL_WAIT_YIELD=0: straight to the kernel), poll (ACCEL_*_POLL=$poll_us).
# Run it in a subshell or as a background job: it execs, and it exports.
launch() {
	l_side=$1
	l_mode=$2
	l_limit=$3
	l_cpu=$4
	shift 4
	if [ "$l_side" = libaccel ]; then
		export LD_PRELOAD="$so" ACCEL_TRACELEVEL=debug ACCEL_LOG_FILE="$logdir/accel.%d.log"
		case $l_mode in
		poll) export ACCEL_RX_POLL="$poll_us" ACCEL_SELECT_POLL="$poll_us" ;;
		sleep) export ACCEL_RX_POLL=0 ACCEL_SELECT_POLL=0 ACCEL_WAIT_YIELD=0 ;;
		*) export ACCEL_RX_POLL=0 ACCEL_SELECT_POLL=0 ;;
		esac
	else
		export LD_PRELOAD=
	fi
	exec timeout "$l_limit" taskset -c "$l_cpu" "$@"
}

# start_server KIND SIDE MODE LIFE [ARG...]: a sockperf or redis server
# (KIND) on $srv_cpu_now, for at most LIFE seconds should this script be killed
# hard; sets srv_pid and srv_port and adds the PID to $servers.
start_server() {
	s_kind=$1
	s_side=$2
	s_mode=$3
	s_life=$4
	shift 4
	s_log=$logdir/server-$s_side.log
	for _ in 1 2 3 4 5; do
		srv_port=$(pick_port) || continue
		case $s_kind in
		sockperf)
			launch "$s_side" "$s_mode" "$s_life" "$srv_cpu_now" \
				sockperf sr --tcp -i 127.0.0.1 -p "$srv_port" "$@" \
				>"$s_log" 2>&1 </dev/null &
			;;
		redis)
			launch "$s_side" "$s_mode" "$s_life" "$srv_cpu_now" \
				redis-server --bind 127.0.0.1 --port "$srv_port" --save '' \
				--appendonly no --daemonize no "$@" >"$s_log" 2>&1 </dev/null &
			;;
		esac
		srv_pid=$!
		i=0
		while [ $i -lt 50 ]; do
			if port_listening "$srv_port"; then
				servers="$servers $srv_pid"
				return 0
			fi
			alive "$srv_pid" || break # lost a race for the port
			sleep 0.1
			i=$((i + 1))
		done
		stop_server "$srv_pid"
	done
	echo "loopback.sh: $s_kind server ($s_side) did not start; last log:" >&2
	sed 's/^/  /' "$s_log" >&2
	return 1
}

# check_servers: every server of this test still runs.
check_servers() {
	for pid in $servers; do
		alive "$pid" && continue
		echo "loopback.sh: a server died during the run; logs:" >&2
		tail -n 5 "$logdir"/server-*.log | sed 's/^/  /' >&2
		return 1
	done
}

# client NAME SIDE MODE LIMIT COMMAND...: run a client on $cli_cpu_now, output in
# $logdir/NAME.log; one retry after a failure, said aloud, since a run can lose
# to a neighbour on a shared host (or hit a bug worth seeing).
client() {
	c_name=$1
	c_side=$2
	c_mode=$3
	c_limit=$4
	shift 4
	c_log=$logdir/$c_name.log
	for c_try in 1 2; do
		(launch "$c_side" "$c_mode" "$c_limit" "$cli_cpu_now" "$@") >"$c_log" 2>&1 </dev/null &&
			return 0
		c_rc=$?
		c_err=$(tr '\r' '\n' <"$c_log" | grep -i 'error' | tail -n 1)
		[ $c_rc -eq 124 ] && c_err="timed out after $c_limit s"
		if [ $c_try -eq 1 ]; then
			echo "  WARNING: $c_name ($c_side) failed (status $c_rc: ${c_err:-no message}); retrying once"
			check_servers || return 1
		fi
	done
	echo "loopback.sh: $c_name ($c_side) failed twice; log:" >&2
	sed 's/^/  /' "$c_log" >&2
	return 1
}

# check_offload TEST: the libaccel clients of this test connected through the
# shm engine, and none stayed on the kernel; says so when not.
check_offload() {
	n_shm=$(cat "$logdir"/accel.*.log 2>/dev/null | grep -c 'connected through the shm engine')
	n_kernel=$(cat "$logdir"/accel.*.log 2>/dev/null | grep -c 'the connection stays on the kernel')
	if [ "$n_shm" -eq 0 ]; then
		echo "  WARNING: no connection of the $1 test went through the shm engine: the libaccel figures are the kernel's"
	elif [ "$n_kernel" -gt 0 ]; then
		echo "  WARNING: $n_kernel of $((n_shm + n_kernel)) libaccel connections of the $1 test stayed on the kernel:"
		cat "$logdir"/accel.*.log | grep 'the connection stays on the kernel' | sed 's/^/    /' | sort -u | head -n 3
	else
		echo "  (libaccel connections through the shm engine: $n_shm, on the kernel: none)"
	fi
}

# A number from log $1: the first match of sed expression $2.
figure() {
	v=$(tr '\r' '\n' <"$1" | sed -n "$2" | head -n 1)
	if [ -z "$v" ]; then
		echo "loopback.sh: no figure in $1:" >&2
		sed 's/^/  /' "$1" >&2
		return 1
	fi
	echo "$v"
}

# target LABEL VALUE OP LIMIT TEXT [BARE]: record whether VALUE OP LIMIT (le,
# ge). BARE: the bare ring's own figure for the same ratio, measured in the
# same run; when even it misses the limit, the line says the limit is out of
# reach there.
target() {
	awk -v l="$1" -v v="$2" -v op="$3" -v lim="$4" -v t="$5" -v b="${6-}" 'BEGIN {
		ok = op == "le" ? v <= lim : v >= lim
		note = ""
		if (!ok && b != "" && (op == "le" ? b > lim : b < lim))
			note = sprintf("   (bare ring alone: %.3f, out of reach here)", b)
		printf "  %-34s %-26s %8.3f   %s%s\n", l, t, v, ok ? "met" : "MISSED", note
	}' >>"$tmp/targets"
}

# new_test NAME: a fresh log directory for test NAME.
new_test() {
	logdir=$tmp/$1
	mkdir -p "$logdir"
}

echo "libaccel same-host (shm engine) benchmark ($so)"
echo "$(nproc) CPUs, allowed $allowed; runs per side and test: $rounds, sides alternating"

# ---- the bare ring -------------------------------------------------------------

ring_busy=
ring_bell=
ring_yield=
run_ring() {
	new_test ring
	echo "bench/ring_pingpong: 64 B round trip over bare shared-memory rings, runs: $rounds x $ring_trips"
	r=1
	while [ $r -le "$rounds" ]; do
		log=$logdir/ring.$r.log
		if ! timeout 300 "$ring" "$ring_trips" >"$log" 2>&1 </dev/null; then
			echo "loopback.sh: $ring failed; log:" >&2
			sed 's/^/  /' "$log" >&2
			return 1
		fi
		b=$(figure "$log" 's/.*rings (busy polling) *\([0-9][0-9.]*\) ns.*/\1/p') || return 1
		d=$(figure "$log" 's/.*rings, blocking (doorbell, 1 CPU) *\([0-9][0-9.]*\) ns.*/\1/p') || return 1
		y=$(figure "$log" 's/.*rings, yielding (1 CPU) *\([0-9][0-9.]*\) ns.*/\1/p') || return 1
		ring_busy="$ring_busy $b"
		ring_bell="$ring_bell $d"
		ring_yield="$ring_yield $y"
		r=$((r + 1))
	done
	# The limit: noise only ever adds, so the best run is the estimate.
	ring_best=$(echo "$ring_busy" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; printf "%.3f", m / 1000 }')
	bell_best=$(echo "$ring_bell" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; printf "%.3f", m / 1000 }')
	yield_best=$(echo "$ring_yield" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; printf "%.3f", m / 1000 }')
	echo "  busy polling (two processes, unpinned)  best $ring_best us   runs (ns):$ring_busy"
	echo "  yielding, sched_yield (one CPU)         best $yield_best us   runs (ns):$ring_yield"
	echo "  blocking, doorbell (one CPU)            best $bell_best us   runs (ns):$ring_bell"
}

# ring_alone MODE COUNT SED: one run of `ring_pingpong MODE COUNT` on the
# server's and the client's CPUs, as the sockperf runs; prints the figure SED
# takes from its output.
ring_alone() {
	log=$logdir/$1.log
	if ! timeout 120 taskset -c "$srv_cpu,$cli_cpu" "$ring" "$1" "$2" >"$log" 2>&1 </dev/null; then
		echo "loopback.sh: $ring $1 failed; log:" >&2
		sed 's/^/  /' "$log" >&2
		return 1
	fi
	figure "$log" "$3"
}

# ring_busy_now: appends one bare-ring polled round trip (ns) to pp_ring.
ring_busy_now() {
	b=$(ring_alone busy "$ring_trips" 's/.*rings (busy polling) *\([0-9][0-9.]*\) ns.*/\1/p') || return 1
	pp_ring="$pp_ring $b"
}

# ring_stream: appends one bare-ring stream rate (64 B messages, msg/s) to mps_ring.
ring_stream() {
	m=$(ring_alone stream 10000000 's/.*rings, stream *\([0-9][0-9.]*\) msg\/s.*/\1/p') || return 1
	mps_ring="$mps_ring $m"
}

# ---- sockperf ping-pong ----------------------------------------------------------

# pp_round SIDE MODE PORT [ARG...]: one ping-pong run; appends to avg_SIDE, p50_SIDE.
pp_round() {
	p_side=$1
	p_mode=$2
	p_port=$3
	shift 3
	client "client-$p_side" "$p_side" "$p_mode" $((secs + 30)) \
		sockperf pp --tcp -i 127.0.0.1 -p "$p_port" -t "$secs" -m 64 --full-rtt "$@" || return 1
	a=$(figure "$c_log" 's/.*avg-rtt=\([0-9][0-9.]*\).*/\1/p') || return 1
	m=$(figure "$c_log" 's/.*percentile 50\.000 = *\([0-9][0-9.]*\).*/\1/p') || return 1
	eval "avg_$p_side=\"\$avg_$p_side $a\"; p50_$p_side=\"\$p50_$p_side $m\""
}

# ping_pong MODE KERNEL_ARGS CLIENT_ARGS: servers, rounds, figures; sets pp_k and
# pp_a (medians). KERNEL_ARGS go to both kernel ends, CLIENT_ARGS to both clients.
ping_pong() {
	pp_mode=$1
	pp_kargs=$2
	pp_cargs=$3
	life=$((rounds * 2 * (secs + 40) + 60))
	# shellcheck disable=SC2086 # $pp_kargs: words
	start_server sockperf kernel block "$life" $pp_kargs || return 1
	port_k=$srv_port
	start_server sockperf libaccel "$pp_mode" "$life" || return 1
	port_a=$srv_port
	avg_kernel=
	avg_libaccel=
	p50_kernel=
	p50_libaccel=
	pp_ring=
	r=1
	while [ $r -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then order="kernel libaccel"; else order="libaccel kernel"; fi
		for side in $order; do
			if [ "$side" = kernel ]; then
				# shellcheck disable=SC2086
				pp_round kernel block "$port_k" $pp_kargs $pp_cargs || return 1
			else
				# shellcheck disable=SC2086
				pp_round libaccel "$pp_mode" "$port_a" $pp_cargs || return 1
				# Polling: the bare ring right after, on the same two CPUs
				# (this VM moves them nearer or further apart over time).
				if [ "$pp_mode" = poll ] && wanted ring; then
					ring_busy_now || return 1
				fi
			fi
		done
		r=$((r + 1))
	done
	check_servers || return 1
	stop_servers
	k=$(mean "$avg_kernel")
	a=$(mean "$avg_libaccel")
	pp_k=$(mean "$p50_kernel")
	pp_a=$(mean "$p50_libaccel")
	awk -v k="$k" -v a="$a" -v km="$pp_k" -v am="$pp_a" 'BEGIN {
		printf "  kernel   avg %9.3f us                 median %9.3f us\n", k, km
		printf "  libaccel avg %9.3f us   ratio %6.3f   median %9.3f us   ratio %6.3f\n",
			a, a / k, am, am / km
	}'
	echo "  per-run median, kernel:  $p50_kernel"
	echo "  per-run median, libaccel:$p50_libaccel"
}

run_blocking() {
	new_test blocking
	# sockperf sizes its table of send times for (1 + seconds) x mps messages,
	# with a default mps far below a fast round trip's rate: past the end it
	# stops with "_seqN > m_maxSequenceNo". A 100 ns pacing cycle is shorter
	# than any round trip, so it never waits; the table costs 16 B a message.
	srv_cpu_now=$srv_cpu
	cli_cpu_now=$cli_cpu
	echo "sockperf TCP ping-pong 64 B, round trip, blocking sockets, default parameters, $secs s per run, server CPU $srv_cpu, client CPU $cli_cpu"
	echo "  (libaccel: no busy polling, ACCEL_RX_POLL=ACCEL_SELECT_POLL=0; a waiting end looks"
	echo "  between sched_yield calls for ACCEL_WAIT_YIELD (default 50 us), then sleeps;"
	echo "  both clients --mps 10000000, which never paces a round trip)"
	ping_pong block "" "--mps 10000000" || return 1
	check_offload "blocking ping-pong"
	target "ping-pong, blocking" "$(awk -v a="$pp_a" -v k="$pp_k" 'BEGIN { print a / k }')" \
		le 0.1 "libaccel/kernel <= 0.1"

	srv_cpu_now=$cpus
	cli_cpu_now=$cpus
	echo "the same with both ends on CPU $cpus (a round trip is two context switches at least)"
	ping_pong block "" "--mps 10000000" || return 1
	floor=
	if [ -n "$ring_yield" ]; then
		# Two processes on one CPU: every round trip is two context switches,
		# whatever carries the bytes; the bare ring's yielding figure is that floor.
		floor=$(awk -v b="$yield_best" -v k="$pp_k" 'BEGIN { print b / k }')
		awk -v a="$pp_a" -v b="$yield_best" -v f="$floor" 'BEGIN {
			printf "  bare ring, yielding  %9.3f us   libaccel/bare %.2fx   (bare ring/kernel %.3f: the floor on one CPU)\n", b, a / b, f
		}'
	fi
	target "ping-pong, blocking, one CPU" "$(awk -v a="$pp_a" -v k="$pp_k" 'BEGIN { print a / k }')" \
		le 0.1 "libaccel/kernel <= 0.1" "$floor"
	if [ -n "$ring_yield" ]; then
		target "ping-pong, blocking, one CPU" "$(awk -v a="$pp_a" -v b="$yield_best" 'BEGIN { print a / b }')" \
			le 2 "libaccel/bare ring <= 2"
	fi

	echo "the same with ACCEL_WAIT_YIELD=0 (sleep at once: every wake-up is the kernel's), both ends on CPU $cpus"
	ping_pong sleep "" "--mps 10000000" || return 1
	if [ -n "$ring_bell" ]; then
		awk -v a="$pp_a" -v b="$bell_best" 'BEGIN {
			printf "  bare ring, blocking  %9.3f us   libaccel/bare %.2fx\n", b, a / b
		}'
		target "ping-pong, sleeping" "$(awk -v a="$pp_a" -v b="$bell_best" 'BEGIN { print a / b }')" \
			le 2 "libaccel/bare ring <= 2"
	fi
}

run_polling() {
	new_test polling
	srv_cpu_now=$srv_cpu
	cli_cpu_now=$cli_cpu
	echo "sockperf TCP ping-pong 64 B, round trip, polling, $secs s per run, server CPU $srv_cpu, client CPU $cli_cpu"
	echo "  (kernel: sockperf --nonblocked, spinning on recvfrom() at both ends; libaccel:"
	echo "  blocking sockets, ACCEL_RX_POLL=ACCEL_SELECT_POLL=$poll_us at both ends;"
	echo "  both clients --mps 10000000, which never paces a round trip)"
	if [ "$srv_cpu" = "$cli_cpu" ]; then
		echo "loopback.sh: polling with both ends on CPU $srv_cpu starves one of them: set BENCH_SERVER_CPU and BENCH_CLIENT_CPU apart" >&2
		return 1
	fi
	ping_pong poll "--nonblocked" "--mps 10000000" || return 1
	ratio=$(awk -v a="$pp_a" -v k="$pp_k" 'BEGIN { print a / k }')
	floor=
	[ -n "$pp_ring" ] && floor=$(awk -v b="$(mean "$pp_ring")" -v k="$pp_k" 'BEGIN { print b / 1000 / k }')
	target "ping-pong, polling" "$ratio" le 0.1 "libaccel/kernel <= 0.1" "$floor"
	if [ -n "$pp_ring" ]; then
		b=$(mean "$pp_ring" | awk '{ printf "%.3f", $1 / 1000 }')
		awk -v a="$pp_a" -v b="$b" 'BEGIN {
			printf "  bare ring, polling   %9.3f us   libaccel/bare %.2fx   (ring: mean of the runs right after libaccel'"'"'s)\n", b, a / b
		}'
		echo "  per-run mean, bare ring (ns):$pp_ring"
		target "ping-pong, polling" "$(awk -v a="$pp_a" -v b="$b" 'BEGIN { print a / b }')" \
			le 2 "libaccel/bare ring <= 2"
	fi
	check_offload "polling ping-pong"
}

# ---- sockperf throughput ---------------------------------------------------------

# tp_round SIDE PORT SIZE: appends "msg/s MB/s" figures to mps_SIDE and mbs_SIDE.
tp_round() {
	client "tp-$3-$1" "$1" block $((secs + 30)) \
		sockperf tp --tcp -i 127.0.0.1 -p "$2" -t "$secs" -m "$3" || return 1
	m=$(figure "$c_log" 's/.*Message Rate is \([0-9][0-9.]*\).*/\1/p') || return 1
	b=$(figure "$c_log" 's/.*BandWidth is \([0-9][0-9.]*\) MBps.*/\1/p') || return 1
	eval "mps_$1=\"\$mps_$1 $m\"; mbs_$1=\"\$mbs_$1 $b\""
}

run_throughput() {
	new_test throughput
	srv_cpu_now=$srv_cpu
	cli_cpu_now=$cli_cpu
	echo "sockperf TCP throughput (client's send rate), $secs s per run, server CPU $srv_cpu, client CPU $cli_cpu"
	life=$((rounds * 4 * (secs + 40) + 60))
	start_server sockperf kernel block "$life" -m 65536 || return 1
	port_k=$srv_port
	start_server sockperf libaccel block "$life" -m 65536 || return 1
	port_a=$srv_port
	for size in 64 65536; do
		mps_kernel=
		mps_libaccel=
		mbs_kernel=
		mbs_libaccel=
		mps_ring=
		r=1
		while [ $r -le "$rounds" ]; do
			if [ $((r % 2)) -eq 1 ]; then order="kernel libaccel"; else order="libaccel kernel"; fi
			for side in $order; do
				if [ "$side" = kernel ]; then port=$port_k; else port=$port_a; fi
				tp_round "$side" "$port" "$size" || return 1
				# The bare ring right after libaccel's run: the two CPUs'
				# distance (this VM moves them) is the same for both.
				if [ "$size" = 64 ] && [ "$side" = libaccel ] && wanted ring; then
					ring_stream || return 1
				fi
			done
			r=$((r + 1))
		done
		if [ "$size" = 64 ]; then
			k=$(mean "$mps_kernel")
			a=$(mean "$mps_libaccel")
			echo "  64 B messages"
			awk -v k="$k" -v a="$a" 'BEGIN {
				printf "    kernel   %12.0f msg/s\n", k
				printf "    libaccel %12.0f msg/s   ratio %.2fx\n", a, a / k
			}'
			echo "    per-run msg/s, kernel:  $mps_kernel"
			echo "    per-run msg/s, libaccel:$mps_libaccel"
			bare=
			if [ -n "$mps_ring" ]; then
				b=$(mean "$mps_ring")
				bare=$(awk -v b="$b" -v k="$k" 'BEGIN { print b / k }')
				awk -v k="$k" -v a="$a" -v b="$b" 'BEGIN {
					printf "    bare ring%12.0f msg/s   libaccel/bare %.2f   bare/kernel %.2fx\n", b, a / b, b / k
				}'
				echo "    per-run msg/s, bare ring (each right after libaccel's run):$mps_ring"
			fi
			target "throughput 64 B, msg/s" "$(awk -v a="$a" -v k="$k" 'BEGIN { print a / k }')" \
				ge 10 "libaccel/kernel >= 10" "$bare"
		else
			k=$(mean "$mbs_kernel")
			a=$(mean "$mbs_libaccel")
			echo "  64 KiB messages"
			awk -v k="$k" -v a="$a" 'BEGIN {
				printf "    kernel   %12.1f MB/s\n", k
				printf "    libaccel %12.1f MB/s    ratio %.2fx\n", a, a / k
			}'
			echo "    per-run MB/s, kernel:  $mbs_kernel"
			echo "    per-run MB/s, libaccel:$mbs_libaccel"
			target "throughput 64 KiB, MB/s" "$(awk -v a="$a" -v k="$k" 'BEGIN { print a / k }')" \
				ge 2 "libaccel/kernel >= 2"
		fi
	done
	check_servers || return 1
	stop_servers
	check_offload throughput
}

# ---- redis -----------------------------------------------------------------------

# redis_round SIDE PORT PIPELINE: appends to set_SIDE_PIPELINE and get_SIDE_PIPELINE.
redis_round() {
	n=$requests
	[ "$3" = 1 ] || n=$((requests * 10))
	client "redis-P$3-$1" "$1" block 300 redis-benchmark -h 127.0.0.1 -p "$2" -q \
		-n "$n" -c "$clients" -t get,set -P "$3" || return 1
	s=$(figure "$c_log" 's/^SET: \([0-9][0-9.]*\) requests per second.*/\1/p') || return 1
	g=$(figure "$c_log" 's/^GET: \([0-9][0-9.]*\) requests per second.*/\1/p') || return 1
	eval "set_$1_$3=\"\$set_$1_$3 $s\"; get_$1_$3=\"\$get_$1_$3 $g\""
}

run_redis() {
	new_test redis
	srv_cpu_now=$srv_cpu
	cli_cpu_now=$cli_cpu
	echo "redis-benchmark -c $clients, -n $requests (-P 1) and $((requests * 10)) (-P 16), requests/s, server CPU $srv_cpu, client CPU $cli_cpu"
	for tool in redis-server redis-benchmark; do
		command -v $tool >/dev/null || {
			echo "loopback.sh: $tool not found (apt-get install redis-server redis-tools)" >&2
			return 1
		}
	done
	life=$((rounds * 4 * 300 + 60))
	start_server redis kernel block "$life" || return 1
	port_k=$srv_port
	start_server redis libaccel block "$life" || return 1
	port_a=$srv_port
	for p in 1 16; do
		for side in kernel libaccel; do
			eval "set_${side}_$p=; get_${side}_$p="
		done
	done
	r=1
	while [ $r -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then order="kernel libaccel"; else order="libaccel kernel"; fi
		for p in 1 16; do
			for side in $order; do
				if [ "$side" = kernel ]; then port=$port_k; else port=$port_a; fi
				redis_round "$side" "$port" "$p" || return 1
			done
		done
		r=$((r + 1))
	done
	check_servers || return 1
	stop_servers
	for p in 1 16; do
		for op in set get; do
			eval "k=\$${op}_kernel_$p; a=\$${op}_libaccel_$p"
			k=$(mean "$k")
			a=$(mean "$a")
			OP=$(echo "$op" | tr '[:lower:]' '[:upper:]')
			awk -v l="$OP -P $p" -v k="$k" -v a="$a" 'BEGIN {
				printf "  %-8s kernel %10.0f   libaccel %10.0f   ratio %.2fx\n", l, k, a, a / k
			}'
			target "redis $OP -P $p" "$(awk -v a="$a" -v k="$k" 'BEGIN { print a / k }')" \
				ge 1.5 "libaccel/kernel >= 1.5"
		done
	done
	check_offload redis
}

: >"$tmp/targets"
if wanted ring; then run_ring || status=1; fi
if wanted blocking; then run_blocking || status=1; fi
stop_servers
if wanted polling; then run_polling || status=1; fi
stop_servers
if wanted throughput; then run_throughput || status=1; fi
stop_servers
if wanted redis; then run_redis || status=1; fi
stop_servers

echo "targets (ping-pong on median round trips; sockperf and redis figures as means of the runs)"
if [ -s "$tmp/targets" ]; then
	cat "$tmp/targets"
else
	echo "  (none measured)"
fi
exit $status
