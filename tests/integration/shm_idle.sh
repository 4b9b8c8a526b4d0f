#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Waiting on the shm engine: with ACCEL_RX_POLL and ACCEL_SELECT_POLL at 0
# (the defaults; a wait still yields for ACCEL_WAIT_YIELD, 50 us, first) an
# idle server blocked in recv and an idle client blocked in poll sleep in
# the kernel and use no CPU; with polling on they spin for
# that long first, then sleep too. CPU time is read from /proc/PID/stat
# (utime + stime, in clock ticks) over windows of the idle period, with
# wide margins: a sleeping process uses none, a spinning one all it gets.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 getconf awk

hz=$(getconf CLK_TCK)
cat >"$T_TMP/idle_server.py" <<'PY'
import socket, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(l.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = l.accept()
print("server got", c.recv(16))   # blocks until the client's "bye"
PY
cat >"$T_TMP/idle_client.py" <<'PY'
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
p = select.poll()
p.register(s, select.POLLIN)
print("client poll", p.poll(int(sys.argv[2])))   # nothing comes: times out
s.sendall(b"bye")
PY

# ticks PID: CPU time used so far by PID's children (t_bg runs the program
# under timeout(1), whose child it is).
ticks()
{
	local pid sum=0 t
	for pid in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || t=0
		sum=$((sum + t))
	done
	echo "$sum"
}

# idle_run [ENV...]: the two wait 4 s; CPU ticks in two windows into $T_DIR/cpu.
idle_run()
{
	local srv cli port i r0 r1 r2 r3
	rm -f "$T_DIR/port"
	t_env ACCEL_TRACELEVEL=debug "$@"
	t_bg 30 python3 "$T_TMP/idle_server.py" "$T_DIR/port" >"$T_DIR/server.out"
	srv=$T_PID
	for i in $(seq 100); do [ -s "$T_DIR/port" ] && break; sleep 0.1; done
	port=$(cat "$T_DIR/port" 2>/dev/null) || return 1
	t_bg 30 python3 "$T_TMP/idle_client.py" "$port" 4000 >"$T_DIR/client.out"
	cli=$T_PID
	sleep 0.3 # both are waiting now (or spinning, with polling on)
	r0=$(($(ticks "$srv") + $(ticks "$cli")))
	sleep 0.5
	r1=$(($(ticks "$srv") + $(ticks "$cli")))
	sleep 1.2 # polling, if on (1 s), has ended well before: both sleep
	r2=$(($(ticks "$srv") + $(ticks "$cli")))
	sleep 1
	r3=$(($(ticks "$srv") + $(ticks "$cli")))
	t_wait "$cli"
	t_record "client" "exit $?, $(cat "$T_DIR/client.out")"
	t_wait "$srv"
	t_record "server" "exit $?, $(cat "$T_DIR/server.out")"
	echo "$((r1 - r0)) $((r3 - r2))" >"$T_DIR/cpu"
}

idle() { idle_run; }
spin() { idle_run ACCEL_RX_POLL=1000000 ACCEL_SELECT_POLL=1000000; }

t_modes "plain accel" idle idle
t_same idle results
t_modes "accel" spin spin
t_eq "spin: the same transcript as plain" "$(cat "$(t_dir idle plain)/results")" \
	"$(cat "$(t_dir spin accel)/results")"
for scenario in idle spin; do
	logs=$(t_dir "$scenario" accel)/logs
	t_eq "$scenario (accel): the connection was on the rings" 1 \
		"$(cat "$logs"/* | grep -c 'connected through the shm engine$')"
done
read -r idle1 idle2 <"$(t_dir idle accel)/cpu"
read -r spin1 spin2 <"$(t_dir spin accel)/cpu"
t_note "CPU ticks of server + client ($hz per second), windows 0.3-0.8 s and 2-3 s:" \
	"idle $idle1 $idle2, polling 1 s $spin1 $spin2"
if [ "$idle1" -le $((hz / 20)) ] && [ "$idle2" -le $((hz / 20)) ]; then
	t_ok "idle (accel): waiting uses no CPU ($idle1 and $idle2 ticks)"
else
	t_fail "idle (accel): waiting used $idle1 and $idle2 ticks (at most $((hz / 20)) expected)"
fi
# Two processes spinning for 0.5 s use up to a CPU-second; a quarter of
# one is plenty to tell them from sleepers, even beside other tests.
if [ "$spin1" -ge $((hz / 4)) ]; then
	t_ok "spin (accel): polling spins first ($spin1 ticks in 0.5 s)"
else
	t_fail "spin (accel): polling used only $spin1 ticks in 0.5 s (at least $((hz / 4)) expected)"
fi
if [ "$spin2" -le $((hz / 4)) ]; then
	t_ok "spin (accel): then sleeps ($spin2 ticks in 1 s, a second after polling ended)"
else
	t_fail "spin (accel): still spinning after ACCEL_RX_POLL ran out ($spin2 ticks)"
fi
t_finish
