#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Programs that hand libaccel bad pointers and short addresses get the
# kernel's errors (also with --trace), a socket decided inside a signal
# handler that interrupted malloc leaves the heap intact, a dup racing a
# close never loses or confuses the socket, and rules added at run time
# while other threads decide take effect.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog badargs prog_badargs
t_prog races prog_races

bad()
{
	t_run 20 "$badargs" >"$T_DIR/out" 2>"$T_DIR/err"
	t_record "exit" $?
}
t_modes "plain accel trace" badargs bad
t_same badargs out
t_loaded badargs prog_badargs

# 30 runs: before the rules were read at start-up, about a quarter of such
# runs crashed in malloc.
sig()
{
	local i rc bad=0
	for i in $(seq 30); do
		t_run 20 "$races" signal >"$T_DIR/out.$i" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] && grep -q '^signal: ok$' "$T_DIR/out.$i" || bad=$((bad + 1))
	done
	t_record "runs that failed" "$bad"
}
t_both signal sig
t_eq "signal (accel): every run ended well" "runs that failed: 0" \
	"$(cat "$(t_dir signal accel)/results")"

dupr()
{
	t_run 60 "$races" dup 20000 >"$T_DIR/out" 2>"$T_DIR/err"
	t_record "exit" $?
}
t_modes accel duprace dupr

# Rules added at run time while other threads decide: no crash, and the
# last rule added decides the next socket.
rulesr()
{
	t_env ACCEL_TRACELEVEL=debug
	t_run 60 "$races" rules 300 >"$T_DIR/out" 2>"$T_DIR/err"
	t_record "exit" $?
}
t_modes accel rules rulesr
t_contains "rules: all 300 rules added while other listeners were decided" \
	"$(t_dir rules accel)/out" '^rules: 300 added while other listeners were decided$'
t_eq "rules: exit" "exit: 0" "$(cat "$(t_dir rules accel)/results")"
last=$(cat "$(t_dir rules accel)"/logs/accel.*.log | grep 'tcp_server local 0.0.0.0:' | tail -1)
case $last in
*"os by accel_add_conf_rule#301:1;"*) t_ok "rules: the last listener was decided by the last rule added" ;;
*) t_fail "rules: the last listener's decision: '$last'" ;;
esac
t_contains "duprace: every dup known as the same socket" "$(t_dir duprace accel)/out" \
	'^dup: [0-9]+ dups, 0 unknown to libaccel, 0 seen as another socket$'
t_finish
