#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The accel launcher: an nc transfer run through it; the program's exit status
# passed on; LD_PRELOAD given libaccel once, first, and never twice; options
# become ACCEL_* variables; --trace logs the socket calls of the program.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require nc python3 ss

head -c 3000000 /dev/urandom >"$T_TMP/src"
accel=$LIBACCEL_LAUNCHER

# An nc upload, both ends through the launcher in the launcher mode.
upload()
{
	local port srv
	port=$(t_port tcp) || return 1
	t_bg 30 nc -l 127.0.0.1 "$port" >"$T_DIR/received" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_run 30 nc -N 127.0.0.1 "$port" <"$T_TMP/src" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
}

t_modes "plain launcher" nc upload
for mode in plain launcher; do
	t_same_file "nc ($mode): received data equal the source" "$T_TMP/src" "$(t_dir nc "$mode")/received"
done
t_same nc results server.err client.err
t_loaded nc nc

# Exit statuses, options and LD_PRELOAD handling; every program the launcher
# starts runs with libaccel (the launcher mode adds ACCEL_LOG_FILE).
shell='printf "%s|%s|%s\n" "${LD_PRELOAD-unset}" "${ACCEL_TRACELEVEL-unset}" "${ACCEL_TRACE_CALLS-unset}"'
behaviour()
{
	local lib rc other=/nonexistent/libother.so
	t_run 10 false
	t_record "accel false" "exit $?"
	t_run 10 sh -c 'exit 3'
	t_record "accel sh -c 'exit 3'" "exit $?"
	t_run 10 true
	t_record "accel true" "exit $?"
	t_run 10 /nonexistent/program 2>"$T_DIR/missing.err"
	t_record "accel /nonexistent/program" "exit $?"
	timeout 10 "$accel" >/dev/null 2>&1
	t_record "accel with no program" "exit $?"
	timeout 10 "$accel" --no-such-option true >/dev/null 2>&1
	t_record "accel --no-such-option" "exit $?"
	timeout 10 "$accel" --params >"$T_DIR/params" 2>&1
	rc=$?
	t_record "accel --params" "exit $rc, lists ACCEL_TRACELEVEL: $(grep -q ACCEL_TRACELEVEL "$T_DIR/params" && echo yes || echo no)"

	lib=$(env -u LD_PRELOAD "${T_PREFIX[@]}" sh -c 'printf "%s\n" "$LD_PRELOAD"')
	printf '%s\n' "$lib" >"$T_DIR/lib"
	t_record "LD_PRELOAD unset" "$(env -u LD_PRELOAD "${T_PREFIX[@]}" sh -c "$shell" | sed "s|$lib|LIB|g")"
	t_record "LD_PRELOAD=LIB" "$(LD_PRELOAD=$lib "${T_PREFIX[@]}" sh -c "$shell" | sed "s|$lib|LIB|g")"
	t_record "LD_PRELOAD=OTHER" "$(LD_PRELOAD=$other "${T_PREFIX[@]}" sh -c "$shell" 2>/dev/null | sed "s|$lib|LIB|g")"
	t_record "LD_PRELOAD=OTHER:LIB" "$(LD_PRELOAD=$other:$lib "${T_PREFIX[@]}" sh -c "$shell" 2>/dev/null | sed "s|$lib|LIB|g")"
	t_record "LD_PRELOAD='LIB OTHER'" "$(LD_PRELOAD="$lib $other" "${T_PREFIX[@]}" sh -c "$shell" 2>/dev/null | sed "s|$lib|LIB|g")"
	t_record "accel --no-warn --trace" "$(env -u LD_PRELOAD "${T_PREFIX[@]}" --no-warn --trace sh -c "$shell" | sed "s|$lib|LIB|g")"
	t_record "accel -d" "$(env -u LD_PRELOAD "${T_PREFIX[@]}" -d sh -c "$shell" 2>/dev/null | sed "s|$lib|LIB|g")"
}

t_modes launcher launcher behaviour
d=$(t_dir launcher launcher)
lib=$(cat "$d/lib")
t_eq "launcher: the library it preloads is the one built" "$(realpath "$LIBACCEL_SO")" "$(realpath "$lib")"
cat >"$T_TMP/expected" <<'EOF2'
accel false: exit 1
accel sh -c 'exit 3': exit 3
accel true: exit 0
accel /nonexistent/program: exit 127
accel with no program: exit 2
accel --no-such-option: exit 2
accel --params: exit 0, lists ACCEL_TRACELEVEL: yes
LD_PRELOAD unset: LIB|info|unset
LD_PRELOAD=LIB: LIB|info|unset
LD_PRELOAD=OTHER: LIB:/nonexistent/libother.so|info|unset
LD_PRELOAD=OTHER:LIB: /nonexistent/libother.so:LIB|info|unset
LD_PRELOAD='LIB OTHER': LIB /nonexistent/libother.so|info|unset
accel --no-warn --trace: LIB|error|1
accel -d: LIB|debug|unset
EOF2
t_same_file "launcher: exit statuses, options and LD_PRELOAD" "$T_TMP/expected" "$d/results"
t_contains "launcher: a missing program is reported" "$d/missing.err" 'accel: cannot run /nonexistent/program'
t_loaded launcher sh true false

# --trace: the log shows the program's socket calls with their results.
traced()
{
	local port srv
	port=$(t_port tcp) || return 1
	t_bg 30 nc -l 127.0.0.1 "$port" >"$T_DIR/received" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	printf 'traced\n' | t_run 20 --trace nc -N 127.0.0.1 "$port" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
	echo "$port" >"$T_DIR/port"
}

t_modes launcher trace traced
d=$(t_dir trace launcher)
t_cat_logs trace launcher >"$T_TMP/trace.log"
t_eq "trace: exit codes and data" "client exit: 0 server exit: 0 traced" \
	"$(cat "$d/results" "$d/received" | tr '\n' ' ' | sed 's/ $//')"
t_contains "trace: socket() logged" "$T_TMP/trace.log" "$T_TRACE"'socket\(2, 0x[0-9a-f]*1, (0|6)\) = [0-9]+$'
t_contains "trace: connect() logged with its address" "$T_TMP/trace.log" \
	"${T_TRACE}connect\\([0-9]+, 127\\.0\\.0\\.1:$(cat "$d/port"), 16\\) = (0|-1 EINPROGRESS .*)\$"
t_contains "trace: the data write logged" "$T_TMP/trace.log" "$T_TRACE"'(write|send)\([0-9]+, 0x[0-9a-f]+, 7(, 0)?\) = 7$'
t_finish
