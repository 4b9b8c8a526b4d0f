#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_mt: threads sharing connections carried by the shm engine: several
# senders on one socket, a sender and a receiver at once, several threads
# in accept, shutdown or close while another thread is blocked, and a
# member added to (or changed in) an epoll set, a ready nested set too,
# while another thread sleeps in epoll_wait on it. The transcript is the
# same plain, under libaccel and with call tracing; under libaccel every
# connection is offloaded and every record arrives whole.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_mt

mt_run()
{
	t_run 120 "$prog" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
	grep '^engine ' "$T_DIR/stderr" >"$T_DIR/engines"
	grep -v '^engine \|^records whole: ' "$T_DIR/stderr" >"$T_DIR/errors" || true
}

t_modes "plain accel trace" mt mt_run
t_same mt results transcript errors
plain=$(t_dir mt plain)
t_eq "mt (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "mt (plain): transcript complete" "$plain/transcript" '^== done$'
for mode in accel trace; do
	dir=$(t_dir mt "$mode")
	t_eq "mt ($mode): every connection on the shm engine" \
		"engine records: shm engine duplex: shm engine listener: shm engine shutdown: shm" \
		"$(tr '\n' ' ' <"$dir/engines" | sed 's/ $//')"
	t_contains "mt ($mode): each concurrent send arrived whole, in order" "$dir/stderr" \
		'^records whole: 1600, each thread.s in order: yes$'
done
t_loaded mt prog_mt
t_finish
