#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Fork-per-connection servers: socat TCP-LISTEN,fork with EXEC:cat and with
# SYSTEM:sha256sum, used by sequential nc and concurrent socat clients. Every
# echo and digest is right and the same with libaccel in all of the processes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require socat nc sha256sum python3 ss

sizes="0 1 1000 100000 3000000"
for size in $sizes; do
	head -c "$size" /dev/urandom >"$T_TMP/seq.$size"
done
for i in 1 2 3 4 5 6 7 8; do
	head -c $((i * 65536 + i)) /dev/urandom >"$T_TMP/par.$i"
done

# same A B: "equal" or "DIFFERENT".
same()
{
	if cmp -s "$1" "$2"; then echo equal; else echo DIFFERENT; fi
}

forking()
{
	local port sport echo_srv sha_srv size i rc pid pids=""
	port=$(t_port tcp) || return 1
	sport=$(t_port tcp) || return 1
	t_bg 60 socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" EXEC:cat 2>"$T_DIR/echo.err"
	echo_srv=$T_PID
	t_bg 60 socat "TCP-LISTEN:$sport,bind=127.0.0.1,fork,reuseaddr" SYSTEM:sha256sum \
		2>"$T_DIR/sha.err"
	sha_srv=$T_PID
	t_wait_port "$port" tcp "$echo_srv" || return 1
	t_wait_port "$sport" tcp "$sha_srv" || return 1

	# One client after the other, then eight at once.
	for size in $sizes; do
		t_run 20 nc -N 127.0.0.1 "$port" <"$T_TMP/seq.$size" >"$T_DIR/seq.$size" 2>>"$T_DIR/clients.err"
		rc=$?
		t_record "sequential $size bytes" "nc exit $rc, echo $(same "$T_TMP/seq.$size" "$T_DIR/seq.$size")"
	done
	for i in 1 2 3 4 5 6 7 8; do
		t_bg 30 socat -t 20 - "TCP:127.0.0.1:$port" <"$T_TMP/par.$i" >"$T_DIR/par.$i" 2>>"$T_DIR/clients.err"
		pids="$pids $T_PID"
	done
	i=0
	for pid in $pids; do
		i=$((i + 1))
		t_wait "$pid"
		rc=$?
		t_record "concurrent $i" "socat exit $rc, echo $(same "$T_TMP/par.$i" "$T_DIR/par.$i")"
	done
	for size in $sizes; do
		t_run 20 nc -N 127.0.0.1 "$sport" <"$T_TMP/seq.$size" >"$T_DIR/sha.$size" 2>>"$T_DIR/clients.err"
		rc=$?
		t_record "sha256sum of $size bytes" "nc exit $rc, $(cat "$T_DIR/sha.$size")"
	done

	for pid in "$echo_srv" "$sha_srv"; do
		kill -0 "$pid" 2>/dev/null
		t_record "server alive after the clients" "$?"
		t_stop "$pid"
	done
}

t_both fork forking
plain=$(t_dir fork plain)
t_eq "fork (plain): clients whose echo was right" "13" \
	"$(grep -Ec '(nc|socat) exit 0, echo equal$' "$plain/results")"
for size in $sizes; do
	t_contains "fork (plain): digest of $size bytes" "$plain/results" \
		"^sha256sum of $size bytes: nc exit 0, $(t_sha "$T_TMP/seq.$size")  -\$"
done
t_same fork results clients.err echo.err sha.err
t_loaded fork socat nc cat sha256sum
t_finish
