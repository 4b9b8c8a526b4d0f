#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# python3 asyncio echo server and client (asyncio_echo.py): 16 concurrent TCP
# streams of up to 1.5 MB and 200 UDP datagrams come back equal, and both
# transcripts and exit codes are the same with and without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 ss

script="$(dirname "${BASH_SOURCE[0]}")/asyncio_echo.py"
[ -r "$script" ] || t_fatal "no $script"
streams=16

echo_run()
{
	local port uport srv
	port=$(t_port tcp) || return 1
	uport=$(t_port udp) || return 1
	t_bg 50 "$T_PY" "$script" server "$port" "$uport" "$streams" \
		>"$T_DIR/server.out" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_run 45 "$T_PY" "$script" client "$port" "$uport" "$streams" \
		>"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
}

t_both asyncio echo_run
plain=$(t_dir asyncio plain)
t_eq "asyncio (plain): streams echoed equal" "$streams" "$(grep -c '^client: stream .* equal$' "$plain/client.out")"
t_contains "asyncio (plain): datagrams echoed equal" "$plain/client.out" \
	'^client: 200 of 200 datagrams echoed equal$'
t_eq "asyncio (plain): streams the server saw" "$streams" "$(grep -c '^server: stream' "$plain/server.out")"
t_eq "asyncio (plain): exit codes" "client exit: 0 server exit: 0" "$(tr '\n' ' ' <"$plain/results" | sed 's/ $//')"
t_same asyncio results client.out server.out client.err server.err
t_loaded asyncio "$(basename "$T_PY")"
t_finish
