#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# prog_vfork: vfork's Linux semantics (the child runs in the parent's memory
# until exec or exit) must hold under libaccel too. Expected to fail while
# libaccel turns vfork into fork (src/core/interpose_proc.c).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog prog prog_vfork

vfork_run()
{
	t_run 20 "$prog" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_both vfork vfork_run
t_contains "vfork (plain): the parent saw the child's errno" "$(t_dir vfork plain)/transcript" \
	'ran=1, exec errno=ENOENT$'
t_same vfork results transcript stderr
t_loaded vfork prog_vfork
t_finish
