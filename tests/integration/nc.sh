#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# netcat-openbsd moves a 10 MB random file over TCP on 127.0.0.1 both ways and
# over UDP (nc -u, paced so no datagram can be lost): the data arrive whole;
# exit codes and output are the same with libaccel in every nc process.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require nc python3 ss

head -c 10485760 /dev/urandom >"$T_TMP/src" || t_fatal "cannot make the source file"

# upload: the client sends the file (-N: shut down on EOF), the server saves it.
upload()
{
	local port srv
	port=$(t_port tcp) || return 1
	t_bg 30 nc -l 127.0.0.1 "$port" >"$T_DIR/received" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_run 30 nc -N 127.0.0.1 "$port" <"$T_TMP/src" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
}

# download: the server sends the file to the client that connects.
download()
{
	local port srv
	port=$(t_port tcp) || return 1
	t_bg 30 nc -N -l 127.0.0.1 "$port" <"$T_TMP/src" >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	t_run 30 nc 127.0.0.1 "$port" >"$T_DIR/received" 2>"$T_DIR/client.err"
	t_record "client exit" $?
	t_wait "$srv"
	t_record "server exit" $?
}

for scenario in upload download; do
	t_both "$scenario" "$scenario"
	for mode in plain accel; do
		t_same_file "$scenario ($mode): received data equal the 10 MB source" \
			"$T_TMP/src" "$(t_dir "$scenario" "$mode")/received"
	done
	t_eq "$scenario (plain): exit codes" "client exit: 0 server exit: 0" \
		"$(tr '\n' ' ' <"$(t_dir "$scenario" plain)/results" | sed 's/ $//')"
	t_same "$scenario" results server.err client.err
	t_loaded "$scenario" nc
done

# The feeder writes the file into the sending nc's stdin 4 KB at a time and
# waits until the receiving nc has written those bytes to its output file
# before it writes the next 4 KB. So one datagram at a time is in flight: no
# socket buffer can overflow, and the receiving nc never reads a datagram
# into a half-drained buffer (openbsd nc would truncate it). Each write is
# at most PIPE_BUF, so nc reads it whole and sends it as one datagram.
# A stall of 10 s fails the test.
cat >"$T_TMP/feed.py" <<'EOF'
import os, sys, time
src, out = sys.argv[1], sys.argv[2]
chunk = 4096
data = open(src, "rb").read()
sent = 0
while sent < len(data):
    sent += os.write(1, data[sent:sent + chunk])
    deadline = time.monotonic() + 10
    while os.stat(out).st_size < sent:
        if time.monotonic() > deadline:
            sys.exit("feed: stalled, %d of %d bytes arrived" % (os.stat(out).st_size, sent))
        time.sleep(0.0001)
print("feed: %d bytes in datagrams of %d" % (sent, chunk), file=sys.stderr)
EOF

udp_transfer()
{
	local port srv
	port=$(t_port udp) || return 1
	: >"$T_DIR/received"
	t_bg 60 nc -u -l 127.0.0.1 "$port" >"$T_DIR/received" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" udp "$srv" || return 1
	# -q 0: the sender quits once its stdin (the feeder) ends.
	timeout 60 "$T_PY" "$T_TMP/feed.py" "$T_TMP/src" "$T_DIR/received" 2>"$T_DIR/feed.err" |
		t_run 60 nc -u -q 0 127.0.0.1 "$port" >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "feeder and sender exit" "${PIPESTATUS[*]}"
	t_stop "$srv"
}

t_both udp udp_transfer
for mode in plain accel; do
	t_same_file "udp ($mode): received data equal the 10 MB source" \
		"$T_TMP/src" "$(t_dir udp "$mode")/received"
	t_contains "udp ($mode): the feeder finished" "$(t_dir udp "$mode")/feed.err" '^feed: 10485760 bytes'
done
t_eq "udp (plain): exit codes" "feeder and sender exit: 0 0" "$(cat "$(t_dir udp plain)/results")"
t_same udp results server.err client.out client.err
t_loaded udp nc
t_finish
