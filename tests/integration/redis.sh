#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# redis-server on a free 127.0.0.1 port: redis-benchmark (SET, GET) completes
# without errors, and a redis-cli session (strings, counters, lists, a 1 MB
# value, errors) prints exactly the same with and without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require redis-server redis-cli redis-benchmark python3 ss

head -c 1048576 /dev/urandom | base64 -w 0 >"$T_TMP/big" || t_fatal "cannot make the 1 MB value"

redis()
{
	local port srv cli
	port=$(t_port tcp) || return 1
	t_bg 60 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$T_DIR" --logfile "$T_DIR/server.log" >"$T_DIR/server.out" 2>&1
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	cli=(redis-cli -h 127.0.0.1 -p "$port")

	t_run 60 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -t set,get \
		>"$T_DIR/bench.raw" 2>"$T_DIR/bench.err"
	t_record "redis-benchmark exit" $?
	# -q prints progress lines ended by \r and one final line per test.
	tr '\r' '\n' <"$T_DIR/bench.raw" | grep -E '^(SET|GET): [0-9.]+ requests per second' |
		sed 's/:.*//' >"$T_DIR/bench.tests"

	{
		t_run 10 "${cli[@]}" SET greeting "hello world"
		t_run 10 "${cli[@]}" GET greeting
		t_run 10 "${cli[@]}" GET missing
		t_run 10 "${cli[@]}" INCR counter
		t_run 10 "${cli[@]}" INCRBY counter 41
		t_run 10 "${cli[@]}" RPUSH list a b c
		t_run 10 "${cli[@]}" LRANGE list 0 -1
		t_run 10 "${cli[@]}" INCR greeting
		t_run 10 "${cli[@]}" NOSUCHCOMMAND
		t_run 10 "${cli[@]}" -x SET big <"$T_TMP/big"
		t_run 10 "${cli[@]}" STRLEN big
		t_run 10 "${cli[@]}" DBSIZE
		printf 'SET piped 1\nINCR piped\nGET piped\n' | t_run 10 "${cli[@]}"
	} >"$T_DIR/session" 2>&1
	t_run 10 "${cli[@]}" GET big >"$T_DIR/big.out" 2>&1
	t_record "GET big equals the value" "$(printf '%s\n' "$(cat "$T_TMP/big")" | cmp -s - "$T_DIR/big.out" && echo yes || echo no)"

	t_run 10 "${cli[@]}" SHUTDOWN NOSAVE >"$T_DIR/shutdown.out" 2>&1
	t_wait "$srv"
	t_record "redis-server exit after SHUTDOWN" $?
	# WARNING lines without their pid and time: the host's own (memory
	# overcommit, say) appear in both runs, any other is a difference.
	sed -n 's/^[0-9]*:[A-Z] [^#]* # \(WARNING.*\)/\1/p' "$T_DIR/server.log" >"$T_DIR/server.warnings"
}

t_both redis redis
plain=$(t_dir redis plain)
t_eq "redis (plain): benchmark ran SET and GET" "SET GET" "$(tr '\n' ' ' <"$plain/bench.tests" | sed 's/ $//')"
t_eq "redis (plain): GET of the 1 MB value" "yes" "$(sed -n 's/^GET big equals the value: //p' "$plain/results")"
t_eq "redis (plain): a counter in the session" "42" "$(sed -n 5p "$plain/session")"
for mode in plain accel; do
	t_lacks "redis ($mode): no error from redis-benchmark" "$(t_dir redis "$mode")/bench.raw" \
		'[Ee]rror|ERR|refused|[Rr]eset'
done
t_same redis results bench.tests bench.err session server.warnings
t_loaded redis redis-server redis-benchmark redis-cli
t_finish
