#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# sockperf ping-pong and throughput (1 s each) over UDP and TCP on 127.0.0.1,
# server and client with -F epoll, poll and select: every run completes with
# a summary and no error or lost message, with and without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require sockperf python3 ss

muxes="epoll poll select"

# The three multiplexers run side by side (one server and one client each)
# to keep the script short: sockperf spends most of a run sleeping.
sockperf_runs()
{
	local proto kind mux port letter pid
	local -A srv=() cli=()
	for proto in udp tcp; do
		letter=U
		[ "$proto" = tcp ] && letter=T
		for mux in $muxes; do
			port=$(t_port "$proto") || return 1
			echo "$letter:127.0.0.1:$port" >"$T_DIR/$proto-$mux.feed"
			t_bg 60 sockperf sr -f "$T_DIR/$proto-$mux.feed" -F "$mux" \
				>"$T_DIR/$proto-$mux.server" 2>&1
			srv[$mux]=$T_PID
			t_wait_port "$port" "$proto" "$T_PID" || return 1
		done
		for kind in pp tp; do
			for mux in $muxes; do
				t_bg 30 sockperf "$kind" -f "$T_DIR/$proto-$mux.feed" -F "$mux" -t 1 \
					>"$T_DIR/$kind-$proto-$mux.client" 2>&1
				cli[$mux]=$T_PID
			done
			for mux in $muxes; do
				t_wait "${cli[$mux]}"
				t_record "$kind $proto $mux: client exit" $?
			done
		done
		for mux in $muxes; do
			pid=${srv[$mux]}
			kill -0 "$pid" 2>/dev/null
			t_record "$proto $mux: server alive after the clients" $?
			t_stop "$pid"
		done
	done
}

# summary FILE: what a run reported, without its figures.
summary()
{
	grep -E -o 'Summary: (Latency|Message Rate) is|# dropped messages = [0-9]+; # duplicated messages = [0-9]+; # out-of-order messages = [0-9]+|using [a-z]+\(\) to block|Test end \(interrupted by timer\)' \
		"$1" | sort -u
}

t_both sockperf sockperf_runs
for mode in plain accel; do
	d=$(t_dir sockperf "$mode")
	for proto in udp tcp; do
		for mux in $muxes; do
			t_contains "sockperf ($mode): $proto server uses $mux" "$d/$proto-$mux.server" \
				"using $mux\\(\\) to block"
			t_contains "sockperf ($mode): pp $proto $mux has a latency summary" \
				"$d/pp-$proto-$mux.client" 'Summary: Latency is [0-9.]+ usec'
			t_contains "sockperf ($mode): pp $proto $mux lost nothing" "$d/pp-$proto-$mux.client" \
				'# dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0'
			t_contains "sockperf ($mode): tp $proto $mux has a rate summary" \
				"$d/tp-$proto-$mux.client" 'Summary: Message Rate is [0-9]+ \[msg/sec\]'
			for kind in pp tp; do
				summary "$d/$kind-$proto-$mux.client" >"$d/$kind-$proto-$mux.summary"
			done
		done
	done
	t_lacks "sockperf ($mode): no error or warning in any output" <(cat "$d"/*.client "$d"/*.server) \
		'ERROR|[Ee]rror|WARNING|dropped messages = [1-9]|out-of-order messages = [1-9]'
done
t_eq "sockperf (plain): every client and server exit" "0" \
	"$(sed 's/.*: //' "$(t_dir sockperf plain)/results" | sort -u | tr '\n' ' ' | sed 's/ $//')"
t_same sockperf results
for proto in udp tcp; do
	for mux in $muxes; do
		t_same sockperf "pp-$proto-$mux.summary" "tp-$proto-$mux.summary"
	done
done
t_loaded sockperf sockperf
t_finish
