#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The rules file at work in real programs: each socket role, IPv4 and IPv6,
# application-id blocks, first-match order, xlio/vma files, rejected files,
# the built-in default, a world-writable file, prog_policy's SOL_ACCEL
# options and run-time rules: ACCEL_TRACELEVEL=debug shows each socket's
# decision and rule (file:line), and the data are the same as without libaccel.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3 ss
t_prog echo_srv prog_echo
t_prog client prog_threads
t_prog policy prog_policy
py=$(t_py)
pyname=$(basename -- "$py")
have_v6=1
t_port tcp ::1 >/dev/null 2>&1 || { have_v6=0; t_note "no IPv6 on the loopback: IPv6 rules not checked"; }

# ---- reading the debug log --------------------------------------------------

# re TEXT: an ERE that matches TEXT literally.
re()
{
	printf '%s' "$1" | sed 's/[].[*^$\\+?(){}|]/\\&/g'
}

# The start of a debug line, whatever ACCEL_LOG_DETAILS adds.
D='^ACCEL DEBUG +: (\[[^]]*\] )?'

# logs_of PROG: the log files of this run written by processes running PROG.
logs_of()
{
	grep -l -E "^ACCEL INFO +: (\[[^]]*\] )?libaccel [^ ]+ in ([^ ]*/)?$(re "$1") \(pid " \
		"$T_DIR"/logs/* 2>/dev/null
}

# decision ROLE LOCAL REMOTE VERDICT: the ERE of a socket's decision line
# (VERDICT is an ERE).
decision()
{
	printf '%sfd [0-9]+ %s local %s remote %s: %s$' "$D" "$1" "$(re "$2")" "$(re "$3")" "$4"
}

# by_rule os|accel FILE LINE [udp]: the verdict of a socket a rule decided.
# An accel TCP socket's engine answers on a line of its own.
by_rule()
{
	case "$1:${4:-}" in
	os:*) printf '%s by %s:%s; stays on the kernel: a rule says os' "$1" "$(re "$2")" "$3" ;;
	accel:udp) printf '%s by %s:%s; stays on the kernel: no engine carries UDP yet' "$1" "$(re "$2")" "$3" ;;
	*) printf '%s by %s:%s' "$1" "$(re "$2")" "$3" ;;
	esac
}

# expect PROG N WHAT ERE: exactly N lines of PROG's logs in this run match ERE.
expect()
{
	local prog=$1 want=$2 what=$3 ere=$4 files n
	files=$(logs_of "$prog")
	if [ -z "$files" ]; then
		t_fail "$T_SCENARIO ($T_MODE): $what: $prog wrote no log"
		return
	fi
	# shellcheck disable=SC2086 # file names from mktemp: no blanks
	n=$(cat $files | grep -Ec -- "$ere")
	if [ "$n" = "$want" ]; then
		t_ok "$T_SCENARIO ($T_MODE): $what"
	else
		t_fail "$T_SCENARIO ($T_MODE): $what: $n lines of $prog's log, not $want, match /$ere/"
		# shellcheck disable=SC2086
		cat $files | grep -E "${D}fd |^ACCEL (WARN|ERROR)" | head -n 20 | sed 's/^/    | /'
	fi
}

# expect_all WHAT ERE: every decision line of this run matches ERE, and there is one.
expect_all()
{
	local bad
	bad=$(cat "$T_DIR"/logs/* 2>/dev/null | grep -E "${D}fd [0-9]+ " | grep -Ev -- "$2")
	if [ -n "$bad" ]; then
		t_fail "$T_SCENARIO ($T_MODE): $1: some decisions do not match /$2/"
		printf '%s\n' "$bad" | head -n 20 | sed 's/^/    | /'
	elif ! cat "$T_DIR"/logs/* 2>/dev/null | grep -Eq "${D}fd [0-9]+ "; then
		t_fail "$T_SCENARIO ($T_MODE): $1: no decision logged at all"
	else
		t_ok "$T_SCENARIO ($T_MODE): $1"
	fi
}

# rules_env FILE: this run uses the rules of FILE and logs each decision.
# ACCEL_OFFLOADED_SOCKETS is pinned: what a socket no rule matches gets is
# part of what is checked, whatever LIBACCEL_TEST_ENV says.
rules_env()
{
	t_env ACCEL_TRACELEVEL=debug "ACCEL_CONFIG_FILE=$1" ACCEL_OFFLOADED_SOCKETS=1
}

# rules_file NAME: write stdin to $T_DIR/NAME (mode 644, so that no warning
# about who may write it appears) and print its path.
rules_file()
{
	cat >"$T_DIR/$1" && chmod 644 "$T_DIR/$1" && printf '%s\n' "$T_DIR/$1"
}

# run_accel NAME FUNCTION [ARGS...]: one run under libaccel, like t_modes but
# without its check that the log has no error (these runs log errors on purpose).
run_accel()
{
	local name=$1 fn=$2
	shift 2
	t_enter "$name" accel
	t_note "$name: accel run"
	"$fn" "$@" || t_fail "$name (accel): the scenario stopped early"
	t_stop_all
}

# QUIT to the UDP echo server on PORT (without libaccel).
udp_quit()
{
	"$py" -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"QUIT", ("127.0.0.1", int(sys.argv[1])))' "$1"
}

mkdir -p "$T_TMP/bin"

# An unbound UDP socket's first sendto makes it a udp_sender: 20 datagrams
# to the echo server on PORT, each echo checked.
cat >"$T_TMP/bin/sender.py" <<'EOF'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
good = 0
for i in range(20):
    msg = bytes((i * 7 + j) % 256 for j in range(1 + i * 97))
    for attempt in range(5):
        s.sendto(msg, ("127.0.0.1", port))
        try:
            if s.recv(65536) == msg:
                good += 1
                break
        except socket.timeout:
            pass
print("sender: %d of 20 datagrams echoed equal" % good)
EOF

# ---- one transfer of each kind ----------------------------------------------

# xfer: prog_threads against prog_echo, TCP (2 connections) and UDP (connected),
# on 127.0.0.1; with no rules of its own (the caller's rules_env gives them).
xfer()
{
	local tp up srv usrv
	tp=$(t_port tcp) && up=$(t_port udp) || return 1
	printf '%s %s\n' "$tp" "$up" >"$T_DIR/ports"
	t_bg 20 "$echo_srv" tcp 127.0.0.1 "$tp" 2 >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_bg 20 "$echo_srv" udp 127.0.0.1 "$up" >"$T_DIR/userver.out" 2>"$T_DIR/userver.err"
	usrv=$T_PID
	t_wait_port "$tp" tcp "$srv" && t_wait_port "$up" udp "$usrv" || return 1
	t_run 20 "$client" tcp 127.0.0.1 "$tp" 2 20 >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "tcp client exit" $?
	t_run 20 "$client" udp 127.0.0.1 "$up" 1 20 >"$T_DIR/uclient.out" 2>"$T_DIR/uclient.err"
	t_record "udp client exit" $?
	udp_quit "$up"
	t_wait "$srv"
	t_record "tcp server exit" $?
	t_wait "$usrv"
	t_record "udp server exit" $?
}
XFER_FILES="results server.out client.out userver.out uclient.out server.err client.err"

# xfer_same NAME: the transfer of NAME's libaccel run equals the plain reference.
xfer_same()
{
	local f
	for f in $XFER_FILES; do
		t_same_file "$1: $f equals the plain run's" "$(t_dir reference plain)/$f" "$(t_dir "$1" accel)/$f"
	done
}

t_modes plain reference xfer
t_eq "reference (plain): exit codes" \
	"tcp client exit: 0 udp client exit: 0 tcp server exit: 0 udp server exit: 0" \
	"$(tr '\n' ' ' <"$(t_dir reference plain)/results" | sed 's/ $//')"
t_contains "reference (plain): both TCP threads ok" "$(t_dir reference plain)/client.out" '^2 of 2 threads ok'

# ---- 1. every role decided by its rule, first match wins ---------------------

# roles: TCP and UDP on 127.0.0.1 and TCP on ::1; a rules file with a rule
# for each role, where the first matching rule is never the last one that
# matches.
roles()
{
	local tp up p6=0 rules srv usrv srv6=""
	tp=$(t_port tcp) && up=$(t_port udp) || return 1
	[ "$have_v6" = 1 ] && { p6=$(t_port tcp ::1) || return 1; }
	rules=$(rules_file rules.conf <<EOF
# rules.sh roles: one rule per role; the first matching rule decides
use accel tcp_server [::1]:$p6
use os tcp_client [::1]/128:$p6
use os tcp_server 127.0.0.1:$tp
use accel tcp_server *:*
use accel tcp_client 127.0.0.1:$tp
use os tcp_client *:*
use accel udp_receiver 127.0.0.1:$up
use os udp_connect 127.0.0.1:$up
use accel udp_sender *:*
use os udp_receiver *:*
use accel udp_connect *:*
EOF
	) || return 1
	rules_env "$rules"

	t_bg 20 "$echo_srv" tcp 127.0.0.1 "$tp" 4 >"$T_DIR/server.out" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_bg 20 "$echo_srv" udp 127.0.0.1 "$up" >"$T_DIR/userver.out" 2>"$T_DIR/userver.err"
	usrv=$T_PID
	t_wait_port "$tp" tcp "$srv" && t_wait_port "$up" udp "$usrv" || return 1
	if [ "$have_v6" = 1 ]; then
		t_bg 20 "$echo_srv" tcp ::1 "$p6" 1 >"$T_DIR/server6.out" 2>"$T_DIR/server6.err"
		srv6=$T_PID
		t_wait_port "$p6" tcp "$srv6" || return 1
		t_run 20 "$client" tcp ::1 "$p6" 1 20 >"$T_DIR/client6.out" 2>"$T_DIR/client6.err"
		t_record "tcp6 client exit" $?
	fi
	t_run 20 "$client" tcp 127.0.0.1 "$tp" 4 30 >"$T_DIR/client.out" 2>"$T_DIR/client.err"
	t_record "tcp client exit" $?
	t_run 20 "$client" udp 127.0.0.1 "$up" 2 20 >"$T_DIR/uclient.out" 2>"$T_DIR/uclient.err"
	t_record "udp client exit" $?
	t_run 20 "$py" "$T_TMP/bin/sender.py" "$up" >"$T_DIR/sender.out" 2>"$T_DIR/sender.err"
	t_record "udp sender exit" $?
	udp_quit "$up"
	t_wait "$srv"
	t_record "tcp server exit" $?
	t_wait "$usrv"
	t_record "udp server exit" $?
	if [ -n "$srv6" ]; then
		t_wait "$srv6"
		t_record "tcp6 server exit" $?
	fi
	[ "$T_MODE" = plain ] && return 0

	expect prog_echo 1 "the TCP listener: os by line 4, not accel by line 5" \
		"$(decision tcp_server "127.0.0.1:$tp" - "$(by_rule os "$rules" 4)")"
	expect prog_threads 4 "the 4 TCP clients: accel by line 6, not os by line 7" \
		"$(decision tcp_client 0.0.0.0:0 "127.0.0.1:$tp" "$(by_rule accel "$rules" 6)")"
	expect prog_echo 1 "the UDP receiver (bind): accel by line 8, not os by line 11" \
		"$(decision udp_receiver "127.0.0.1:$up" - "$(by_rule accel "$rules" 8 udp)")"
	expect prog_threads 2 "the 2 UDP clients (connect): os by line 9, not accel by line 12" \
		"$(decision udp_connect 0.0.0.0:0 "127.0.0.1:$up" "$(by_rule os "$rules" 9)")"
	expect "$pyname" 1 "the UDP sender (first sendto): accel by line 10" \
		"$(decision udp_sender 0.0.0.0:0 "127.0.0.1:$up" "$(by_rule accel "$rules" 10 udp)")"
	if [ "$have_v6" = 1 ]; then
		expect prog_echo 1 "the IPv6 listener: accel by the [::1] rule, line 2" \
			"$(decision tcp_server "[::1]:$p6" - "$(by_rule accel "$rules" 2)")"
		expect prog_threads 1 "the IPv6 client: os by the [::1]/128 rule, line 3" \
			"$(decision tcp_client "[::]:0" "[::1]:$p6" "$(by_rule os "$rules" 3)")"
	fi
	local n=$((1 + 4 + 1 + 2 + 1 + have_v6 * 2))
	expect_all "every socket decided by a rule of the file" \
		"(os|accel) by $(re "$rules"):[0-9]+(; stays on the kernel: (a rule says os|no engine carries UDP yet))?\$"
	local all
	all=$(cat "$T_DIR"/logs/* | grep -Ec "${D}fd [0-9]+ ")
	t_eq "roles (accel): decisions logged" "$n" "$all"
}

t_both roles roles
t_same roles results server.out client.out userver.out uclient.out sender.out server.err client.err
[ "$have_v6" = 1 ] && t_same roles server6.out client6.out
want="tcp client exit: 0 udp client exit: 0 udp sender exit: 0 tcp server exit: 0 udp server exit: 0"
[ "$have_v6" = 1 ] && want="tcp6 client exit: 0 $want tcp6 server exit: 0"
t_eq "roles (plain): exit codes" "$want" "$(tr '\n' ' ' <"$(t_dir roles plain)/results" | sed 's/ $//')"
t_contains "roles (plain): 4 TCP threads ok" "$(t_dir roles plain)/client.out" '^4 of 4 threads ok'
t_contains "roles (plain): 2 UDP threads ok" "$(t_dir roles plain)/uclient.out" '^2 of 2 threads ok'
t_contains "roles (plain): every datagram of the sender echoed" "$(t_dir roles plain)/sender.out" '^sender: 20 of 20 '
t_loaded roles prog_echo prog_threads "$pyname"

# ---- 1. application-id blocks ------------------------------------------------

# appid ID: the blocks a prog_echo server and prog_threads client use under
# ACCEL_APPLICATION_ID=ID ("-": not set).
appid()
{
	local id=$1 rules
	rules=$(rules_file rules.conf <<'EOF'
# rules.sh appid: the first application-id block that matches the process
use os tcp_server 127.0.0.1:*
use accel tcp_client 127.0.0.1:*
application-id prog_e?h* blue
use accel tcp_server 127.0.0.1:*
application-id prog_threads *
use os tcp_client 127.0.0.1:*
application-id prog_echo blue
use os tcp_server *:*
EOF
	) || return 1
	rules_env "$rules"
	[ "$id" != - ] && t_env "ACCEL_APPLICATION_ID=$id"
	xfer || return 1
	[ "$T_MODE" = plain ] && return 0

	local tp
	read -r tp _ <"$T_DIR/ports"
	if [ "$id" = blue ]; then
		expect prog_echo 1 "prog_echo with id blue: the block 'prog_e?h* blue' (line 4), not the later 'prog_echo blue'" \
			"$(decision tcp_server "127.0.0.1:$tp" - "$(by_rule accel "$rules" 5)")"
		expect prog_echo 2 "both prog_echo processes report their application id" \
			"${D}rules from $(re "$rules"): block [0-9]+ for program prog_echo, application id 'blue'\$"
	else
		expect prog_echo 1 "prog_echo with id '$id': no block matches, the rules before the first block" \
			"$(decision tcp_server "127.0.0.1:$tp" - "$(by_rule os "$rules" 2)")"
	fi
	expect prog_threads 2 "prog_threads with id '$id': the block 'prog_threads *' (line 6)" \
		"$(decision tcp_client 0.0.0.0:0 "127.0.0.1:$tp" "$(by_rule os "$rules" 7)")"
}

for id in blue red -; do
	name=appid_${id/-/unset}
	t_both "$name" appid "$id"
	t_same "$name" $XFER_FILES
done

# ---- 1. a libxlio.conf, unchanged --------------------------------------------

xlio()
{
	local rules tp
	rules=$(rules_file libxlio.conf <<'EOF'
# A libxlio.conf as libxlio users write them
application-id prog_threads X1
use xlio tcp_client 127.0.0.1/32:*:*:*
use os tcp_client *:*
application-id prog_echo *
use vma tcp_server 127.0.0.0/8:1-65535
use os udp_receiver *:*
use os udp_connect *:53
EOF
	) || return 1
	rules_env "$rules"
	t_env ACCEL_APPLICATION_ID=X1
	xfer || return 1
	[ "$T_MODE" = plain ] && return 0
	read -r tp _ <"$T_DIR/ports"
	expect prog_threads 2 "'use xlio tcp_client' reads as accel" \
		"$(decision tcp_client 0.0.0.0:0 "127.0.0.1:$tp" "$(by_rule accel "$rules" 3)")"
	expect prog_echo 1 "'use vma tcp_server' reads as accel" \
		"$(decision tcp_server "127.0.0.1:$tp" - "$(by_rule accel "$rules" 6)")"
}
t_both xlio xlio
t_same xlio $XFER_FILES

# ---- 2. rejected files -------------------------------------------------------

# Each file offloads everything in the lines before its error: a file that
# was half used would show accel decisions.
good_lines=(
	"use accel tcp_server *:*"
	"use accel tcp_client *:*"
	"use accel udp_receiver *:*"
	"use accel udp_connect *:*"
	"use accel udp_sender *:*"
)

# rejected KIND BEFORE BAD LINE COL AT MESSAGE-ERE: a file whose line LINE
# (after BEFORE good lines) is BAD, rejected at LINE:COL at the text AT.
rejected()
{
	local kind=$1 before=$2 bad=$3 line=$4 col=$5 at=$6 msg=$7 rules i
	rules=$(
		{
			echo "# rules.sh rejected: $kind"
			for ((i = 0; i < ${#good_lines[@]}; i++)); do
				[ "$i" -eq "$before" ] && printf '%s\n' "$bad"
				printf '%s\n' "${good_lines[i]}"
			done
			[ "$before" -eq "${#good_lines[@]}" ] && printf '%s\n' "$bad"
		} | rules_file rules.conf
	) || return 1
	rules_env "$rules"
	xfer || return 1

	local err
	err="^ACCEL ERROR +: (\[[^]]*\] )?$(re "$rules:$line:$col: ")$msg.* $(re "(at '$at'); no rule of this file is used: every socket stays on the kernel")\$"
	expect prog_echo 2 "each prog_echo process logs the error once, at $line:$col" "$err"
	expect prog_threads 2 "each prog_threads process logs the error once, at $line:$col" "$err"
	expect prog_echo 2 "no other error or warning in prog_echo" '^ACCEL (WARN|ERROR|PANIC)'
	expect prog_threads 2 "no other error or warning in prog_threads" '^ACCEL (WARN|ERROR|PANIC)'
	expect_all "every socket os: the file was rejected" \
		"os, no rule matched \(rules: $(re "$rules")\); stays on the kernel: the rules file was rejected\$"
	t_eq "rejected_$kind (accel): decisions logged (listener, 2 TCP, UDP receiver, UDP client)" 5 \
		"$(cat "$T_DIR"/logs/* | grep -Ec "${D}fd [0-9]+ ")"
}

run_accel rejected_transport rejected transport 4 "use fast tcp_server *:*" 6 5 fast \
	"unknown transport 'fast'"
run_accel rejected_sdp rejected sdp 0 "use sdp tcp_client *:*" 2 5 sdp \
	"transport 'sdp' is a libvma transport"
run_accel rejected_port rejected port 1 "use os tcp_client 127.0.0.1:70000" 3 29 70000 \
	"port 70000 out of range"
run_accel rejected_range rejected range 2 "   use os udp_receiver *:2000-1000" 4 26 2000-1000 \
	"port range 2000-1000 is reversed"
run_accel rejected_prefix rejected prefix 3 "use accel tcp_server 10.0.0.0/33:80" 5 31 33 \
	"prefix length 33 out of range"
run_accel rejected_garbage rejected garbage 5 "accelerate everything please" 7 1 accelerate \
	"unknown statement 'accelerate'"
for kind in transport sdp port range prefix garbage; do
	xfer_same "rejected_$kind"
done

# ---- 3. the built-in rules when the file does not exist ----------------------

cat >"$T_TMP/bin/builtin.py" <<'EOF'
import socket, sys
free = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 53))
print("udp connect to 53:", u.getpeername())
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", free))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.connect(("127.0.0.1", free))
v.send(b"connected")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"sent", ("127.0.0.1", free))
r.settimeout(5)
print("udp:", r.recv(64), r.recv(64))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
with open(sys.argv[2], "w") as f:
    print(l.getsockname()[1], file=f)
c = socket.socket()
c.connect(l.getsockname())
a, _ = l.accept()
c.sendall(b"hello over tcp")
c.shutdown(socket.SHUT_WR)
print("tcp:", a.recv(64))
EOF

builtin()
{
	local free
	free=$(t_port udp) || return 1
	echo "$free" >"$T_DIR/ports"
	rules_env "$T_DIR/no-such-rules.conf"
	t_run 20 "$py" "$T_TMP/bin/builtin.py" "$free" "$T_DIR/tcp_port" >"$T_DIR/out" 2>"$T_DIR/err"
	t_record exit $?
	[ "$T_MODE" = plain ] && return 0

	local line none
	line=$(grep -n '^use os udp_connect \*:53$' "$LIBACCEL_SRCDIR/etc/libaccel.conf" | cut -d: -f1)
	[ -n "$line" ] || t_fail "builtin: etc/libaccel.conf has no 'use os udp_connect *:53' line"
	expect "$pyname" 1 "the missing file is reported at debug level" \
		"${D}no rules file $(re "$T_DIR/no-such-rules.conf"): using the built-in default rules\$"
	expect "$pyname" 1 "udp_connect to port 53: os by the built-in rule (etc/libaccel.conf:$line)" \
		"$(decision udp_connect 0.0.0.0:0 127.0.0.1:53 "$(by_rule os 'built-in default' "$line")")"
	none='accel, no rule matched \(rules: built-in default\)'
	local udp="$none; stays on the kernel: no engine carries UDP yet"
	expect "$pyname" 1 "udp_receiver: accel, no rule" "$(decision udp_receiver "127.0.0.1:$free" - "$udp")"
	expect "$pyname" 1 "udp_connect to another port: accel, no rule" \
		"$(decision udp_connect 0.0.0.0:0 "127.0.0.1:$free" "$udp")"
	expect "$pyname" 1 "udp_sender: accel, no rule" "$(decision udp_sender 0.0.0.0:0 "127.0.0.1:$free" "$udp")"
	local tp
	tp=$(cat "$T_DIR/tcp_port")
	expect "$pyname" 1 "tcp_server: accel, no rule" "$(decision tcp_server "127.0.0.1:$tp" - "$none")"
	expect "$pyname" 1 "tcp_client: accel, no rule" "$(decision tcp_client 0.0.0.0:0 "127.0.0.1:$tp" "$none")"
	expect "$pyname" 1 "the listener is also advertised for same-host clients" \
		"${D}fd [0-9]+: the listener is also reachable through the shm engine\$"
	expect "$pyname" 1 "the client connected through the rings" \
		"${D}fd [0-9]+: connected through the shm engine\$"
	expect "$pyname" 6 "six decisions, no more" "${D}fd [0-9]+ "
}
t_both builtin builtin
t_same builtin results out err
t_eq "builtin (plain): exit" "exit: 0" "$(cat "$(t_dir builtin plain)/results")"
t_contains "builtin (plain): data arrived" "$(t_dir builtin plain)/out" "^tcp: b'hello over tcp'"

# ---- 7. a rules file others may write ----------------------------------------

writable()
{
	local rules tp
	rules=$(rules_file rules.conf <<'EOF'
use os tcp_server 127.0.0.1:*
EOF
	) || return 1
	chmod 666 "$rules"
	rules_env "$rules"
	xfer || return 1
	read -r tp _ <"$T_DIR/ports"
	local warn
	warn="^ACCEL WARN +: (\[[^]]*\] )?rules file $(re "$rules") may be written by users other than root and its owner \(mode 0666"
	expect prog_echo 2 "each prog_echo process warns once that others may write the file" "$warn"
	expect prog_threads 2 "each prog_threads process warns once" "$warn"
	expect prog_echo 1 "the file is used all the same: the listener os by line 1" \
		"$(decision tcp_server "127.0.0.1:$tp" - "$(by_rule os "$rules" 1)")"
	expect prog_echo 2 "no other warning or error" '^ACCEL (WARN|ERROR|PANIC)'
}
run_accel writable writable
xfer_same writable

# ---- 4. prog_policy: SOL_ACCEL options and accel_add_conf_rule ---------------

expected_policy_accel='api: present
api version: 1
opt out before listen: ok
opted-out listener no-accel: ok 1
opted-out listener engine: ok kernel
opted-out listener offloaded: ok 0
opt in after decision: EPERM
opt out after decision: ok
write read-only option: EPERM
write read-only engine: EPERM
unknown option: ENOPROTOOPT
opt in before listen: ok
opted-in listener engine: ok OPTED_IN
default listener engine: ok kernel
add good rule: ok
add bad rule: EINVAL
add two rules: EINVAL
add NULL: EINVAL
listener engine: ok kernel
listener offloaded: ok 0
add accel rule on top: ok
listener after accel rule engine: ok shm'

# policy AUTO: prog_policy under a rules file; AUTO is ACCEL_OFFLOADED_SOCKETS.
# AUTO=1: the file keeps servers on the kernel. AUTO=0: the file has no
# tcp_server rule.
policy_run()
{
	local auto=$1 port rules
	port=$(t_port tcp) || return 1
	if [ "$auto" = 1 ]; then
		rules=$(printf 'use os tcp_server 127.0.0.1:*\n' | rules_file rules.conf) || return 1
	else
		rules=$(printf 'use os udp_connect *:53\n' | rules_file rules.conf) || return 1
	fi
	rules_env "$rules"
	t_env "ACCEL_OFFLOADED_SOCKETS=$auto"
	t_run 20 "$policy" "$port" >"$T_DIR/out" 2>"$T_DIR/err"
	t_record exit $?
	[ "$T_MODE" = plain ] && return 0

	# Opted in: the shm engine advertises it, unless the rules (AUTO=1) say os.
	local opted_in=shm
	[ "$auto" = 1 ] && opted_in=kernel
	t_eq "$T_SCENARIO: transcript" "${expected_policy_accel/OPTED_IN/$opted_in}" "$(cat "$T_DIR/out")"
	local d=() none
	none="no rule matched \(rules: $(re "$rules")\)"
	d[1]="os, $none; stays on the kernel: the program asked for the kernel \(SO_ACCEL_NO_ACCEL\)"
	if [ "$auto" = 1 ]; then
		d[2]=$(by_rule os "$rules" 1)	# the rules beat an opt-in
		d[3]=$(by_rule os "$rules" 1)
	else
		d[2]="accel, $none"
		d[3]="os, $none; stays on the kernel: no rule matched and ACCEL_OFFLOADED_SOCKETS=0"
	fi
	d[4]=$(by_rule os "accel_add_conf_rule#1" 1)
	d[5]=$(by_rule accel "accel_add_conf_rule#2" 1)
	cat "$T_DIR"/logs/* | grep -E "${D}fd [0-9]+ " >"$T_DIR/decisions"
	t_eq "$T_SCENARIO: five listeners decided" 5 "$(wc -l <"$T_DIR/decisions" | tr -d ' ')"
	local i what=("" "opted out" "opted in" "left alone" "after the os rule" "after the accel rule on top")
	for i in 1 2 3 4 5; do
		if sed -n "${i}p" "$T_DIR/decisions" | grep -Eq -- "$(decision tcp_server "127.0.0.1:$port" - "${d[i]}")"; then
			t_ok "$T_SCENARIO: listener $i (${what[i]}): ${d[i]//\\/}"
		else
			t_fail "$T_SCENARIO: listener $i (${what[i]}): expected /${d[i]}/"
			t_show "$T_DIR/decisions"
		fi
	done
	expect prog_policy 1 "the good rule is logged as added" \
		'^ACCEL INFO +: (\[[^]]*\] )?rule added at the top: use os tcp_server \*:1-65535$'
	expect prog_policy 1 "the bad rule is rejected with its column" \
		"^ACCEL ERROR +: (\[[^]]*\] )?accel_add_conf_rule: 1:21: port 0 out of range 1-65535 \(at '0'\); rule not added\$"
	expect prog_policy 1 "the NULL rule is rejected with a message" \
		"^ACCEL ERROR +: (\[[^]]*\] )?accel_add_conf_rule: NULL rule; not added\$"
	expect prog_policy 3 "exactly the two bad texts and the NULL are logged as errors" '^ACCEL (ERROR|PANIC)'
	expect prog_policy 0 "no warning" '^ACCEL WARN'
}

t_modes plain policy_plain policy_run 1
plain_out=$(t_dir policy_plain plain)/out
t_eq "policy (plain): exit" "exit: 0" "$(cat "$(t_dir policy_plain plain)/results")"
t_eq "policy (plain): the api is absent, no rule is added" "api: absent|16" \
	"$(head -n 1 "$plain_out")|$(wc -l <"$plain_out" | tr -d ' ')"
t_lacks "policy (plain): every SOL_ACCEL call fails with ENOPROTOOPT or EOPNOTSUPP" "$plain_out" \
	'^(opt|write|unknown|opted|default|listener)[^:]*: .*(ok|EPERM|EINVAL)( |$)'
t_eq "policy (plain): SOL_ACCEL lines that fail so" 15 \
	"$(grep -Ec ': (ENOPROTOOPT|EOPNOTSUPP)( -1)?$' "$plain_out")"
run_accel policy_auto policy_run 1
run_accel policy_noauto policy_run 0
t_eq "policy: exit under libaccel" "exit: 0|exit: 0" \
	"$(cat "$(t_dir policy_auto accel)/results")|$(cat "$(t_dir policy_noauto accel)/results")"

t_finish
