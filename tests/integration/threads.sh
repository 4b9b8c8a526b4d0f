#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_threads: 16 threads, each with its own TCP connection (50 rounds of up
# to 64 KB), then 8 threads with UDP sockets, against prog_echo (a thread per
# connection) on 127.0.0.1: every echo is checked; same transcripts in all modes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 ss
t_prog echo_srv prog_echo
t_prog client prog_threads

# threaded PROTO THREADS ROUNDS
threaded()
{
	local proto=$1 threads=$2 rounds=$3 port srv
	port=$(t_port "$proto") || return 1
	if [ "$proto" = tcp ]; then
		t_bg 40 "$echo_srv" tcp 127.0.0.1 "$port" "$threads" >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	else
		t_bg 40 "$echo_srv" udp 127.0.0.1 "$port" >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	fi
	srv=$T_PID
	t_wait_port "$port" "$proto" "$srv" || return 1
	t_run 40 "$client" "$proto" 127.0.0.1 "$port" "$threads" "$rounds" \
		>"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	if [ "$proto" = udp ]; then
		"$T_PY" -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"QUIT", ("127.0.0.1", int(sys.argv[1])))' "$port"
	fi
	t_wait "$srv"
	t_record "server exit" $?
}

t_modes "plain accel trace" tcp threaded tcp 16 50
t_modes "plain accel" udp threaded udp 8 100
for p in tcp udp; do
	plain=$(t_dir "$p" plain)
	t_eq "$p (plain): exit codes" "client exit: 0 server exit: 0" "$(tr '\n' ' ' <"$plain/results" | sed 's/ $//')"
	t_contains "$p (plain): every thread ok" "$plain/client.out" '^([0-9]+) of \1 threads ok'
	t_same "$p" results client.out client.err server.out server.err
	t_loaded "$p" prog_threads prog_echo
done
t_finish
