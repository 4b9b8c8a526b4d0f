#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# accel-stat against real traffic: sockperf and redis with both ends under
# libaccel show their sockets, the shm engine and growing counters, in the
# table, -e/-c/-l/-p/-s/-T views and --json (parsed here); a rule sending a
# server to the kernel shows up as engine "kernel" with its reason;
# ACCEL_STATS_FILE gets each offloaded socket's counters at close; a second
# user (created here) cannot read root's segments; the segment of a
# SIGKILLed process is cleaned; a segment of another version is refused.
# Every process runs with ACCEL_STATS_SHMEM_DIR in this test's own directory.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 sockperf redis-server redis-benchmark

STAT=$(dirname "$LIBACCEL_LAUNCHER")/accel-stat
[ -x "$STAT" ] || t_fatal "$STAT not built"
D=$T_TMP/shm
mkdir -p "$D" && chmod 1777 "$D" # shared like /dev/shm: each user makes its own dir
chmod 755 "$T_TMP"

# stat_json FILE [OPTION...]: accel-stat --json over $D into FILE; fails
# unless it exits 0 and prints valid JSON.
stat_json()
{
	local out=$1
	shift
	"$STAT" -d "$D" --json "$@" >"$out" 2>"$out.err" || return 1
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out"
}

# jq-like queries in python over a --json file: prints the answer.
# conn_sum FILE PROGRAM ENGINE COUNTER: sum of COUNTER over PROGRAM's
# connected sockets carried by ENGINE.
conn_sum()
{
	python3 - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
prog, engine, counter = sys.argv[2:5]
total = 0
for p in doc["processes"]:
    if p["program"] != prog:
        continue
    for s in p["sockets"]:
        if s["engine"] == engine and s["state"] not in ("LISTEN", "", None):
            total += s["counters"][counter]
print(total)
PY
}

# ---- sockperf: table, views, JSON, growing counters -----------------------
sockperf_run()
{
	local port srv cli i a b pid fd
	port=$(t_port tcp) || return 1
	t_env ACCEL_TRACELEVEL=debug "ACCEL_STATS_SHMEM_DIR=$D"
	t_bg 60 sockperf sr --tcp -i 127.0.0.1 -p "$port" >"$T_DIR/server.out" 2>&1
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_bg 60 sockperf pp --tcp -i 127.0.0.1 -p "$port" -t 30 -m 64 --mps 2000 \
		>"$T_DIR/client.out" 2>&1
	cli=$T_PID
	# sockperf warms up for a while before it measures: wait for bytes.
	for i in $(seq 150); do
		stat_json "$T_DIR/a.json" && a=$(conn_sum "$T_DIR/a.json" sockperf shm rx_bytes) &&
			[ "${a:-0}" -gt 0 ] && break
		sleep 0.1
	done
	sleep 1
	stat_json "$T_DIR/a.json" || t_fail "accel-stat --json: invalid output or status"
	sleep 1
	stat_json "$T_DIR/b.json" || t_fail "accel-stat --json: invalid output or status"
	local c
	for c in rx_bytes rx_msgs tx_bytes tx_msgs; do
		a=$(conn_sum "$T_DIR/a.json" sockperf shm "$c")
		b=$(conn_sum "$T_DIR/b.json" sockperf shm "$c")
		if [ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt "$a" ]; then
			t_ok "sockperf: $c of the shm connections grows ($a, then $b)"
		else
			t_fail "sockperf: $c of the shm connections does not grow ($a, then $b)"
		fi
	done

	"$STAT" -d "$D" >"$T_DIR/table" 2>&1
	t_show "$T_DIR/table"
	t_contains "accel-stat: the header of the table" "$T_DIR/table" "^Proto +Recv-Q +Send-Q +Local Address +Foreign Address +State +Engine"
	t_contains "accel-stat: sockperf's listener, reachable through shm" "$T_DIR/table" "^tcp +[0-9]+ +[0-9]+ +127\.0\.0\.1:$port +[^ ]+ +LISTEN +shm"
	local est
	est=$(grep -cE "^tcp +[0-9-]+ +[0-9-]+ +127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:[0-9]+ +ESTABLISHED +shm" \
		"$T_DIR/table")
	t_eq "accel-stat: both ends of the sockperf connection, ESTABLISHED on shm" 2 "$est"
	t_contains "accel-stat: the client's end names the server's port" "$T_DIR/table" " 127\.0\.0\.1:$port +ESTABLISHED +shm"

	"$STAT" -d "$D" -e >"$T_DIR/table_e" 2>&1
	t_contains "accel-stat -e: the extra columns" "$T_DIR/table_e" "User +PID:FD +Program"
	t_contains "accel-stat -e: user, PID:FD and program" "$T_DIR/table_e" " root +[0-9]+:[0-9]+ +sockperf +shm *$"
	"$STAT" -d "$D" -c >"$T_DIR/table_c" 2>&1
	t_lacks "accel-stat -c: no listener" "$T_DIR/table_c" "LISTEN"
	t_contains "accel-stat -c: the connections" "$T_DIR/table_c" "ESTABLISHED"
	"$STAT" -d "$D" -l >"$T_DIR/table_l" 2>&1
	t_lacks "accel-stat -l: no connection" "$T_DIR/table_l" "ESTABLISHED"
	t_contains "accel-stat -l: the listener" "$T_DIR/table_l" "LISTEN"
	"$STAT" -d "$D" -u >"$T_DIR/table_u" 2>&1
	t_lacks "accel-stat -u: no TCP socket" "$T_DIR/table_u" "^tcp"

	# -p and -s: the client process and its connection, from the JSON.
	read -r pid fd < <(python3 - "$T_DIR/b.json" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["processes"]:
    for s in p["sockets"]:
        if p["program"] == "sockperf" and s["state"] == "ESTABLISHED" and s["engine"] == "shm":
            last = (p["pid"], s["fd"])
print(*last)
PY
	)
	"$STAT" -d "$D" -p "$pid" >"$T_DIR/table_p" 2>&1
	t_eq "accel-stat -p: one process's sockets" 1 "$(grep -c ESTABLISHED "$T_DIR/table_p")"
	"$STAT" -d "$D" -s "$pid:$fd" >"$T_DIR/sock" 2>&1
	t_show "$T_DIR/sock"
	t_contains "accel-stat -s: the counters of one socket" "$T_DIR/sock" "rx_bytes"
	t_contains "accel-stat -s: its engine" "$T_DIR/sock" "shm"
	"$STAT" -d "$D" -s "$pid:9999" >"$T_DIR/sock_none" 2>&1
	t_eq "accel-stat -s of an unknown socket: status 1" 1 $?
	"$STAT" -d "$D" -T >"$T_DIR/totals" 2>&1
	t_contains "accel-stat -T: per-process totals" "$T_DIR/totals" "sockperf"

	# -i: two refreshes as JSON lines, the second with rates.
	"$STAT" -d "$D" --json -i 0.5 -n 2 >"$T_DIR/rates" 2>&1
	t_eq "accel-stat -i 0.5 -n 2 --json: two documents" 2 "$(grep -c . "$T_DIR/rates")"
	if python3 - "$T_DIR/rates" <<'PY'; then
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
rates = [s.get("rates", {}) for p in docs[-1]["processes"] if p["program"] == "sockperf"
         for s in p["sockets"] if s["engine"] == "shm" and s["state"] == "ESTABLISHED"]
assert rates and all(r and max(r.values()) > 0 for r in rates), rates
PY
		t_ok "accel-stat -i: rates of the sockperf connections above 0"
	else
		t_fail "accel-stat -i: no rates for the sockperf connections"
	fi
	t_stop "$cli"
	t_stop "$srv"
}

# ---- redis: counters while it runs, ACCEL_STATS_FILE at close ----------------
redis_run()
{
	local port srv bench i a b
	port=$(t_port tcp) || return 1
	t_env ACCEL_TRACELEVEL=debug "ACCEL_STATS_SHMEM_DIR=$D" "ACCEL_STATS_FILE=$T_DIR/counters.%d"
	t_bg 120 redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
		>"$T_DIR/server.out" 2>&1
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	# Long enough to be seen twice while it runs (about a million requests
	# a second here under libaccel).
	t_bg 120 redis-benchmark -h 127.0.0.1 -p "$port" -c 4 -n 2000000 -t get -q \
		>"$T_DIR/bench.out" 2>&1
	bench=$T_PID
	for i in $(seq 100); do
		stat_json "$T_DIR/a.json" && a=$(conn_sum "$T_DIR/a.json" redis-benchmark shm tx_msgs) &&
			[ "${a:-0}" -gt 0 ] && break
		sleep 0.1
	done
	a=${a:-0}
	for i in $(seq 50); do
		sleep 0.1
		stat_json "$T_DIR/b.json"
		b=$(conn_sum "$T_DIR/b.json" redis-benchmark shm tx_msgs)
		[ "${b:-0}" -gt "$a" ] && break
	done
	if [ "$a" -gt 0 ] && [ "${b:-0}" -gt "$a" ]; then
		t_ok "redis-benchmark: tx_msgs of its shm connections grows ($a, then $b)"
	else
		t_fail "redis-benchmark: tx_msgs of its shm connections does not grow ($a, then $b)"
	fi
	b=$(conn_sum "$T_DIR/b.json" redis-server shm rx_msgs)
	if [ "${b:-0}" -gt 0 ]; then
		t_ok "redis-server: its shm connections received $b requests"
	else
		t_fail "redis-server: no shm connection with requests"
	fi
	t_wait "$bench"
	t_eq "redis-benchmark exit status" 0 "$?"
	t_stop "$srv"
	# Every offloaded connection of the benchmark wrote one line at close.
	cat "$T_DIR"/counters.* >"$T_DIR/counters" 2>/dev/null
	t_show "$T_DIR/counters"
	local n
	n=$(grep -cE "^libaccel pid=[0-9]+ fd=[0-9]+ proto=tcp local=127\.0\.0\.1:[0-9]+ foreign=127\.0\.0\.1:$port engine=shm rx_bytes=[1-9]" \
		"$T_DIR/counters")
	# -c 4, and one more connection where redis-benchmark asks the config.
	if [ "$n" -ge 4 ]; then
		t_ok "ACCEL_STATS_FILE: a line per benchmark connection, with bytes ($n)"
	else
		t_fail "ACCEL_STATS_FILE: $n lines for the benchmark's connections, expected 4 or more"
	fi
}

# ---- a rule sends a server to the kernel: engine kernel and the reason -------
kernel_run()
{
	local port srv i
	port=$(t_port tcp) || return 1
	printf 'use os tcp_server 127.0.0.1:%s\n' "$port" >"$T_DIR/rules"
	t_env "ACCEL_STATS_SHMEM_DIR=$D" "ACCEL_CONFIG_FILE=$T_DIR/rules"
	cat >"$T_DIR/server.py" <<'PY'
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(1)
time.sleep(30)
PY
	t_bg 40 python3 "$T_DIR/server.py" "$port"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	"$STAT" -d "$D" -l >"$T_DIR/table" 2>&1
	t_show "$T_DIR/table"
	t_contains "accel-stat: a kernel listener, with the reason" "$T_DIR/table" "^tcp +0 +0 +127\.0\.0\.1:$port +0\.0\.0\.0:\* +LISTEN +kernel \(a rule says os\)"
	stat_json "$T_DIR/k.json"
	"$STAT" -d "$D" -T >"$T_DIR/totals" 2>&1
	t_contains "accel-stat -T: the process total per reason" "$T_DIR/totals" "python3 .* rule_os=1"
	t_stop "$srv"
}

# ---- a second user, a killed process, another version -------------------------
users_run()
{
	local user="accelst$$" uid gid port srv mine i
	if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
		t_note "not root, or no useradd/setpriv: the second-user check is skipped"
		return 0
	fi
	useradd -M -r -s /usr/sbin/nologin "$user" || { t_fail "useradd $user failed"; return 1; }
	trap 'rc=$?; userdel -f "'"$user"'" >/dev/null 2>&1; (exit $rc); t_cleanup' EXIT
	uid=$(id -u "$user")
	gid=$(id -g "$user")
	t_env "ACCEL_STATS_SHMEM_DIR=$D"
	# root's process: a listener whose segment the other user must not read.
	cat >"$T_DIR/server.py" <<'PY'
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(l.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(30)
PY
	t_bg 40 python3 "$T_DIR/server.py" "$T_DIR/port.root"
	srv=$T_PID
	# The user's own process: libaccel and accel-stat copied where it can
	# read them (the build tree may sit in root's home).
	cp "$LIBACCEL_SO" "$T_TMP/libaccel.so" && cp "$STAT" "$T_TMP/accel-stat" &&
		chmod 755 "$T_TMP/libaccel.so" "$T_TMP/accel-stat" || return 1
	chmod 777 "$T_DIR"
	local -a prefix=("${T_PREFIX[@]}")
	T_PREFIX=(setpriv --reuid="$uid" --regid="$gid" --clear-groups
		env "LD_PRELOAD=$T_TMP/libaccel.so" "ACCEL_STATS_SHMEM_DIR=$D")
	t_bg 40 python3 "$T_DIR/server.py" "$T_DIR/port.user"
	mine=$T_PID
	T_PREFIX=("${prefix[@]}")
	for i in $(seq 100); do
		[ -s "$T_DIR/port.root" ] && [ -s "$T_DIR/port.user" ] && break
		sleep 0.1
	done
	local seg
	seg=$(ls "$D/libaccel-0/"*.stat | head -n 1)
	if setpriv --reuid="$uid" --regid="$gid" --clear-groups cat "$seg" >/dev/null 2>&1; then
		t_fail "user $user can read root's segment $seg"
	else
		t_ok "user $user cannot read root's segment"
	fi
	t_eq "root's directory is closed to others" "drwx------" "$(stat -c %A "$D/libaccel-0")"
	t_eq "root's segment is the owner's alone" "-rw-------" "$(stat -c %A "$seg")"
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$T_TMP/accel-stat" -d "$D" -l \
		>"$T_DIR/user.table" 2>&1
	t_show "$T_DIR/user.table"
	t_contains "the user sees its own listener" "$T_DIR/user.table" "127\.0\.0\.1:$(cat "$T_DIR/port.user") "
	t_lacks "the user does not see root's listener" "$T_DIR/user.table" "127\.0\.0\.1:$(cat "$T_DIR/port.root") "
	"$STAT" -d "$D" -l -e >"$T_DIR/root.table" 2>&1
	t_contains "root sees the user's listener too" "$T_DIR/root.table" "127\.0\.0\.1:$(cat "$T_DIR/port.user") .* $user "

	# SIGKILL: the segment stays behind until accel-stat sees its process gone.
	local pid
	pid=$(tr -d ' ' <"/proc/$srv/task/$srv/children")
	[ -f "$D/libaccel-0/$pid.stat" ] || t_fail "no segment $D/libaccel-0/$pid.stat for the server"
	kill -KILL "$pid"
	t_wait "$srv"
	[ -f "$D/libaccel-0/$pid.stat" ] && t_ok "a SIGKILLed process leaves its segment behind"
	"$STAT" -d "$D" -e >"$T_DIR/after_kill" 2>&1
	t_lacks "accel-stat does not show the killed process" "$T_DIR/after_kill" " $pid:"
	if [ -e "$D/libaccel-0/$pid.stat" ]; then
		t_fail "accel-stat left the stale segment $pid.stat"
	else
		t_ok "accel-stat removed the stale segment of the killed process"
	fi

	# Another version: refused, said aloud, the rest still shown.
	local upid
	upid=$(tr -d ' ' <"/proc/$mine/task/$mine/children")
	cp "$D/libaccel-$uid/$upid.stat" "$T_DIR/v99.stat"
	python3 - "$T_DIR/v99.stat" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8)
    f.write(struct.pack("<I", 99))
PY
	mkdir -p "$D/libaccel-0" && cp "$T_DIR/v99.stat" "$D/libaccel-0/$$.stat"
	"$STAT" -d "$D" >"$T_DIR/v99.out" 2>"$T_DIR/v99.err"
	t_contains "accel-stat names another segment version" "$T_DIR/v99.err" "version 99.*reads version [0-9]+"
	t_contains "and still shows the other segments" "$T_DIR/v99.out" "127\.0\.0\.1:$(cat "$T_DIR/port.user") "
	rm -f "$D/libaccel-0/$$.stat"
	t_stop "$mine"
}

# ---- ACCEL_STATS_SHMEM_DIR="" publishes nothing -----------------------------
off_run()
{
	t_env ACCEL_STATS_SHMEM_DIR= ACCEL_TRACELEVEL=debug
	t_run 20 python3 -c 'import os, socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(os.getpid(), os.path.exists("/dev/shm/libaccel-%d/%d.stat" % (os.geteuid(), os.getpid())))' \
		>"$T_DIR/out" 2>&1
	t_contains "ACCEL_STATS_SHMEM_DIR='': no segment in /dev/shm" "$T_DIR/out" "^[0-9]+ False$"
	t_eq "ACCEL_STATS_SHMEM_DIR='': nothing under the test's directory" "" \
		"$(find "$D" -name "$(cut -d' ' -f1 "$T_DIR/out").stat")"
}

t_modes accel off off_run
t_modes accel sockperf sockperf_run
t_modes accel redis redis_run
t_modes accel kernel kernel_run
t_modes accel users users_run
t_finish
