#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A process with RLIMIT_NOFILE raised as far as this machine allows (up to
# 1,048,576): libaccel sizes its fd table to it, and a socket moved to the
# very last fd with dup2 works exactly as without libaccel. (The unit tests
# cover a table of 1,048,576 slots where the hard limit is lower.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3
limit=1048576
(ulimit -Hn $limit) 2>/dev/null || limit=$(ulimit -Hn)
[ "$limit" = unlimited ] && limit=1048576
[ "$limit" -le 1048576 ] || limit=1048576
t_note "RLIMIT_NOFILE for the test: $limit"

cat >"$T_TMP/top_fd.py" <<'PY'
import os, socket, sys
top = int(sys.argv[1]) - 1
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
os.dup2(c.fileno(), top)
c.close()
h = socket.socket(fileno=top)
print("fd", h.fileno(), "family", h.family.name, "type", h.type.name)
h.sendall(b"to the top"); print("server got", s.recv(64))
s.sendall(b"from below"); print("top got", h.recv(64))
h.shutdown(socket.SHUT_WR); print("server sees EOF", s.recv(64) == b"")
h.close()
try:
    os.fstat(top); print("top still open")
except OSError as e:
    print("top closed", e.errno)
PY

high()
{
	(ulimit -Hn $limit 2>/dev/null; ulimit -n $limit && t_run 20 "$T_PY" "$T_TMP/top_fd.py" $limit) >"$T_DIR/out" 2>"$T_DIR/err"
	t_record "exit" $?
}
t_both high high
t_same high out
t_same high err
t_loaded high python3
for f in "$(t_dir high accel)"/logs/accel.*.log; do
	t_contains "high: libaccel tracks all $limit fds" "$f" "$limit fds tracked"
	break
done
t_finish
