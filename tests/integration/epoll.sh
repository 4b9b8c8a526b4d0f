#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_epoll: one socket in two epoll sets, nested epoll, registrations kept
# by a dup, UDP readiness. The transcript is the same plain, under libaccel
# and under libaccel with call tracing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_epoll

epoll_run()
{
	t_run 20 "$prog" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_modes "plain accel trace" epoll epoll_run
plain=$(t_dir epoll plain)
t_eq "epoll (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "epoll (plain): both sets saw the data" "$plain/transcript" '^ep2 after c sends +-> 1 s:IN$'
t_contains "epoll (plain): the nested set reported" "$plain/transcript" '^top after c sends +-> 1 mid:IN$'
t_contains "epoll (plain): transcript complete" "$plain/transcript" '^== done$'
t_same epoll results transcript stderr
t_loaded epoll prog_epoll
t_cat_logs epoll trace >"$T_TMP/trace.log"
t_contains "epoll (trace): epoll_ctl calls traced" "$T_TMP/trace.log" \
	"$T_TRACE"'epoll_ctl\([0-9]+, 1, [0-9]+, 0x[0-9a-f]+\) = -1 EEXIST'
t_finish
