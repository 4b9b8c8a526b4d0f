#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# IPv6 on ::1: prog_ipv6 (addresses, ancillary data, v4-mapped, family errors),
# prog_threads against prog_echo over TCP and UDP, and an nc -6 transfer give
# the same transcripts, exit codes and data with and without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require nc python3 ss
t_prog ipv6 prog_ipv6
t_prog echo_srv prog_echo
t_prog client prog_threads
t_port tcp ::1 >/dev/null 2>&1 || t_skip "no IPv6 on the loopback (cannot bind ::1)"

head -c 3000000 /dev/urandom >"$T_TMP/src"

transcript()
{
	t_run 20 "$ipv6" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

# echo6 PROTO THREADS ROUNDS
echo6()
{
	local proto=$1 port srv
	port=$(t_port "$proto" ::1) || return 1
	if [ "$proto" = tcp ]; then
		t_bg 40 "$echo_srv" tcp ::1 "$port" "$2" >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	else
		t_bg 40 "$echo_srv" udp ::1 "$port" >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	fi
	srv=$T_PID
	t_wait_port "$port" "$proto" "$srv" || return 1
	t_run 40 "$client" "$proto" ::1 "$port" "$2" "$3" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	if [ "$proto" = udp ]; then
		"$T_PY" -c 'import socket, sys; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"QUIT", ("::1", int(sys.argv[1])))' "$port"
	fi
	t_wait "$srv"
	t_record "server exit" $?
}

nc6()
{
	local port srv
	port=$(t_port tcp ::1) || return 1
	t_bg 30 nc -6 -l ::1 "$port" >"$T_DIR/received" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_run 30 nc -6 -N ::1 "$port" <"$T_TMP/src" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
}

t_modes "plain accel trace" ipv6 transcript
plain=$(t_dir ipv6 plain)
t_eq "ipv6 (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "ipv6 (plain): TCP data equal" "$plain/transcript" '^  60000 bytes each way: equal$'
t_contains "ipv6 (plain): v4-mapped peer" "$plain/transcript" '^  accepted peer: AF_INET6 ::ffff:127\.0\.0\.1$'
t_contains "ipv6 (plain): transcript complete" "$plain/transcript" '^== done$'
t_same ipv6 results transcript stderr
t_loaded ipv6 prog_ipv6

t_both tcp6 echo6 tcp 8 40
t_both udp6 echo6 udp 4 50
for p in tcp6 udp6; do
	plain=$(t_dir "$p" plain)
	t_eq "$p (plain): exit codes" "client exit: 0 server exit: 0" "$(tr '\n' ' ' <"$plain/results" | sed 's/ $//')"
	t_contains "$p (plain): every thread ok" "$plain/client.out" '^([0-9]+) of \1 threads ok'
	t_same "$p" results client.out client.err server.out server.err
	t_loaded "$p" prog_threads prog_echo
done

t_both nc6 nc6
for mode in plain accel; do
	t_same_file "nc6 ($mode): received data equal the source" "$T_TMP/src" "$(t_dir nc6 "$mode")/received"
done
t_same nc6 results client.out client.err server.err
t_loaded nc6 nc
t_finish
