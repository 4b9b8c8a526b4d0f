#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_eintr: blocking recv/read/accept/recvfrom interrupted by a signal
# restart under SA_RESTART and fail with EINTR without it; SO_RCVTIMEO, poll,
# select and epoll_wait always fail with EINTR. Same transcript in all modes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_eintr

eintr_run()
{
	t_run 30 "$prog" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_modes "plain accel trace" eintr eintr_run
plain=$(t_dir eintr plain)

# The signal 100 ms into each call, while libaccel still yields
# (ACCEL_WAIT_YIELD 1 s): the same transcript as the kernel's.
yield_run()
{
	t_env ACCEL_WAIT_YIELD=1000000 PROG_EINTR_EARLY=1
	t_run 60 "$prog" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}
t_modes "plain accel" eintr_yield yield_run
t_same eintr_yield results transcript stderr
t_same_file "eintr: the same transcript when the signal comes while libaccel yields" \
	"$plain/transcript" "$(t_dir eintr_yield accel)/transcript"
t_eq "eintr (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "eintr (plain): recv restarted under SA_RESTART" "$plain/transcript" \
	'^recv, SA_RESTART +-> 5 "later" \(handler ran 1 time\)$'
t_contains "eintr (plain): recv failed without SA_RESTART" "$plain/transcript" \
	'^recv, no SA_RESTART +-> -1 EINTR \(handler ran 1 time\)$'
t_contains "eintr (plain): transcript complete" "$plain/transcript" '^done$'
t_same eintr results transcript stderr
t_loaded eintr prog_eintr
t_cat_logs eintr trace >"$T_TMP/trace.log"
t_contains "eintr (trace): the interrupted recv is traced" "$T_TMP/trace.log" \
	"$T_TRACE"'recv\(.* = -1 EINTR'
t_finish
