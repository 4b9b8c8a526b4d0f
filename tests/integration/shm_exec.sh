#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# inetd-style servers over the shm engine: a python3 server accepts, forks,
# and the child execs cat with the connection as its stdin and stdout, the
# new program with libaccel and without it (LD_PRELOAD dropped). The client
# sends 3 MB and must get every byte back, as on the kernel; under libaccel
# the connection really was on the rings, then handed over at exec.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 cat cmp

head -c 3000000 /dev/urandom >"$T_TMP/in"
cat >"$T_TMP/srv_inetd.py" <<'PY'
import os, socket, sys
port_file, keep_preload, n = sys.argv[1], sys.argv[2] == "yes", int(sys.argv[3])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
open(port_file + ".tmp", "w").write(str(l.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
env = dict(os.environ)
if not keep_preload:
    env.pop("LD_PRELOAD", None)
for _ in range(n):
    c, _ = l.accept()
    pid = os.fork()
    if pid == 0:
        l.close()
        os.dup2(c.fileno(), 0)
        os.dup2(c.fileno(), 1)
        c.close()
        os.execvpe("cat", ["cat"], env)
    c.close()
    os.waitpid(pid, 0)
PY
cat >"$T_TMP/client.py" <<'PY'
import socket, sys, threading
port, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
data = open(src, "rb").read()
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
t.join()
open(dst, "wb").write(got)
PY

inetd()
{
	local preload srv port i what
	for preload in yes no; do
		what="with libaccel"
		[ "$preload" = no ] && what="without libaccel"
		rm -f "$T_DIR/port"
		t_env ACCEL_TRACELEVEL=debug
		t_bg 60 python3 "$T_TMP/srv_inetd.py" "$T_DIR/port" "$preload" 2
		srv=$T_PID
		for i in $(seq 100); do [ -s "$T_DIR/port" ] && break; sleep 0.1; done
		port=$(cat "$T_DIR/port" 2>/dev/null) || { t_fail "inetd: no port"; return 1; }
		for i in 1 2; do
			t_run 30 python3 "$T_TMP/client.py" "$port" "$T_TMP/in" "$T_DIR/out.$preload.$i"
			t_record "cat exec'd $what, client $i" \
				"exit $?, echo $(cmp -s "$T_TMP/in" "$T_DIR/out.$preload.$i" && echo equal || echo DIFFERENT)"
		done
		t_wait "$srv"
		t_record "server ($preload)" "exit $?"
	done
}

t_modes "plain accel" inetd inetd
t_same inetd results
t_eq "inetd (plain): every echo whole" 0 "$(grep -c DIFFERENT "$(t_dir inetd plain)/results")"
logs=$(t_dir inetd accel)/logs
t_eq "inetd (accel): the 4 connections were on the rings" 4 \
	"$(cat "$logs"/* | grep -c 'connected through the shm engine$')"
t_eq "inetd (accel): each was handed over to a kernel socket at exec" 4 \
	"$(cat "$logs"/* | grep -c 'handed over to a kernel socket')"
t_loaded inetd python3
t_finish
