#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An allocator preloaded after libaccel calls read() and close() from its
# malloc and calloc, from the first allocation of the process on, so those
# calls reach libaccel before and while it starts (and would re-enter it if
# its dlsym allocated): they must answer as the kernel does, and the program
# must run to the end (no recursion, no hang), as without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3
spy="$LIBACCEL_TESTBIN/.libs/libmalloc_spy.so"
[ -f "$spy" ] || t_fatal "$spy not built"

run()
{
	# The spy comes after libaccel in the list: its allocations call into
	# libaccel's read and close, which it finds first.
	local pre="$spy"
	[ "$T_MODE" = accel ] && pre="${LD_PRELOAD:+$LD_PRELOAD:}$LIBACCEL_SO:$spy"
	t_run 20 env "LD_PRELOAD=$pre" "$T_PY" -c 'import socket; s = socket.socket(); print("ok", s.family.name); s.close()' \
		>"$T_DIR/out" 2>"$T_DIR/err"
	t_record "exit" $?
}
t_both reentry run
t_same reentry out
t_same reentry err
t_contains "reentry (accel): the spy saw the kernel's answers" "$(t_dir reentry accel)/err" \
	'^malloc_spy: all answers as the kernel.s$'
t_loaded reentry python3
t_finish
