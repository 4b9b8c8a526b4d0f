#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_stream: kernel TCP semantics through the shm engine. Both ends of each
# connection live in one process (and one in a forked child), so under
# libaccel every connection goes over shared-memory rings; the transcript
# (data calls and their flags, shutdown, resets, SIGPIPE, ioctls, options,
# sendfile, names, IPv6, accept4, non-blocking connect, poll/select/epoll)
# must be the kernel's, byte for byte, plain, under libaccel and traced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_stream

stream_run()
{
	t_env ACCEL_TRACELEVEL=debug
	t_run 90 "$prog" "$T_DIR/engines" "$T_DIR/scratch" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_modes "plain accel trace" stream stream_run
plain=$(t_dir stream plain)
t_eq "stream (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "stream (plain): transcript complete" "$plain/transcript" '^== done$'
t_lacks "stream (plain): no socket on an engine" "$plain/engines" ': shm$'

# Under libaccel the test means something only if the rings carried it all.
for mode in accel trace; do
	d=$(t_dir stream "$mode")
	all=$(grep -c '' "$d/engines" 2>/dev/null)
	shm=$(grep -c ': shm$' "$d/engines" 2>/dev/null)
	t_eq "stream ($mode): sockets on the shm engine (SO_ACCEL_ENGINE)" "${all:-0} of ${all:-0}" \
		"${shm:-0} of ${all:-0}"
	[ "${all:-0}" -gt 40 ] || t_fail "stream ($mode): only ${all:-0} sockets in $d/engines"
	grep -v ': shm$' "$d/engines" 2>/dev/null | head -n 20 | sed 's/^/    | /'
	t_cat_logs stream "$mode" >"$T_TMP/$mode.log"
	clients=$(grep -c ' client: ' "$d/engines" 2>/dev/null)
	t_eq "stream ($mode): clients connected through the shm engine (debug log)" "${clients:-0}" \
		"$(grep -Ec 'fd [0-9]+: connected through the shm engine$' "$T_TMP/$mode.log")"
	t_contains "stream ($mode): listeners reachable through the shm engine" "$T_TMP/$mode.log" \
		'fd [0-9]+: the listener is also reachable through the shm engine$'
	t_lacks "stream ($mode): nothing left on the kernel" "$T_TMP/$mode.log" 'stays on the kernel'
done
t_contains "stream (trace): data calls traced" "$T_TMP/trace.log" \
	"$T_TRACE"'recv\([0-9]+, 0x[0-9a-f]+, 10, 0x100\) = 10$'

t_same stream results transcript stderr
# Every line where a libaccel run parted from the kernel's, numbered.
for mode in accel trace; do
	d=$(t_dir stream "$mode")
	cmp -s "$plain/transcript" "$d/transcript" && continue
	printf '    lines of the %s transcript that differ from the plain one:\n' "$mode"
	diff --unchanged-line-format= --old-line-format="      plain %dn: %L" \
		--new-line-format="      $mode %dn: %L" "$plain/transcript" "$d/transcript"
done
t_loaded stream prog_stream
t_finish
