#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_dup: dup2 of a file onto a socket fd and of sockets onto sockets and
# files, the dup family, close_range/closefrom with fd numbers reused, and the
# fortified __read_chk/__recv_chk/__poll_chk. Same transcript in all modes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_dup

dup_run()
{
	t_run 20 "$prog" "$T_DIR/scratch" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_modes "plain accel trace" dup dup_run
plain=$(t_dir dup plain)
t_eq "dup (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "dup (plain): the socket fd wrote to the file" "$plain/transcript" '^read\(s\): 9 "file data"$'
t_contains "dup (plain): a dup outlives its original" "$plain/transcript" \
	'^b2 after write\(a1\), a2 closed: "a1 alone"$'
t_contains "dup (plain): transcript complete" "$plain/transcript" '^== done$'
t_same dup results transcript stderr scratch
t_loaded dup prog_dup
t_finish
