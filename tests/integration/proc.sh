#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Process life: sockets made in .preinit_array and in a constructor (prog_ctor),
# then fork, vfork + exec, daemon and exec with an inherited socket (prog_proc).
# Same transcripts in all modes; with libaccel, both images of the exec load it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_prog ctor prog_ctor
t_prog proc prog_proc

# transcript PROGRAM: run it, keep its output and exit code.
transcript()
{
	t_run 20 "$1" >"$T_DIR/transcript" 2>"$T_DIR/stderr"
	t_record "exit" $?
}

t_modes "plain accel trace" ctor transcript "$ctor"
plain=$(t_dir ctor plain)
t_eq "ctor (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "ctor (plain): sockets in .preinit_array worked" "$plain/transcript" \
	'^preinit: tcp pair: ok; tcp exchange: ok; udp exchange: ok$'
t_contains "ctor (plain): sockets in the constructor worked" "$plain/transcript" \
	'^constructor: tcp pair: ok; tcp exchange: ok; udp exchange: ok$'
t_contains "ctor (plain): the destructor ran" "$plain/transcript" '^destructor: constructor udp ok$'
t_same ctor results transcript stderr
t_loaded ctor prog_ctor

t_modes "plain accel trace" proc transcript "$proc"
plain=$(t_dir proc plain)
t_eq "proc (plain): exit" "exit: 0" "$(cat "$plain/results")"
t_contains "proc (plain): the daemon reported" "$plain/transcript" \
	'^daemon: the child exited \(exit 0\); the daemon sent "daemon running, session leader: yes"$'
t_contains "proc (plain): data sent before exec read after it" "$plain/transcript" \
	'^after exec: B reads "sent before exec"$'
t_contains "proc (plain): transcript complete" "$plain/transcript" '^== done$'
t_same proc results transcript stderr
# The exec'd images are named by the argv[0] they were given.
t_loaded proc prog_proc prog_proc-vforked prog_proc-after-exec
for mode in accel trace; do
	d=$(t_dir proc "$mode")
	t_eq "proc ($mode): one log file holds both images of the exec" "1" \
		"$(grep -l ' in [^ ]*prog_proc (pid' "$d"/logs/* | xargs -r grep -l ' in prog_proc-after-exec (pid' | wc -l)"
done
t_finish
