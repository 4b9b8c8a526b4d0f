#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# accel --check and --explain on valid, shadowed and rejected rules files, and
# --explain against what libaccel itself decides for real sockets; parameter
# profiles (--profile, ACCEL_SPEC, include:, errors) seen by --params and by a
# preloaded program's start-up report.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require python3
py=$(t_py)
pyname=$(basename -- "$py")
have_v6=1
t_port tcp ::1 >/dev/null 2>&1 || { have_v6=0; t_note "no IPv6 on the loopback: IPv6 sockets not checked"; }

# re TEXT: an ERE that matches TEXT literally.
re()
{
	printf '%s' "$1" | sed 's/[].[*^$\\+?(){}|]/\\&/g'
}

O=$T_TMP/tool
mkdir -p "$O"

# tool NAME [VAR=VALUE...] -- ARG...: run `accel ARG...` with only those
# ACCEL_* parameters, from $T_TMP; its stdout, stderr and exit status are
# $O/NAME.out, $O/NAME.err and $O/NAME.rc.
tool()
{
	local name=$1 rc=0
	shift
	local -a vars=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	(cd "$T_TMP" && timeout -k 3 10 env "${vars[@]}" "$LIBACCEL_LAUNCHER" "$@") \
		>"$O/$name.out" 2>"$O/$name.err" || rc=$?
	echo "$rc" >"$O/$name.rc"
}

# status NAME WANT: the exit status of tool run NAME.
status()
{
	t_eq "$1: exit status" "$2" "$(cat "$O/$1.rc")"
}

# ---- accel --check -------------------------------------------------------------

cat >"$T_TMP/tools.conf" <<'EOF'
# rules_tools.sh: the file accel --check and --explain read
use os tcp_server *:5001
use accel tcp_server *:5001
use accel tcp_client 127.0.0.1/8:1000-2000:*:*
use os tcp_client *:*:127.0.0.1:40000-40100
use os udp_receiver 127.0.0.1:*
use xlio udp_connect [::1]:9000
use os udp_connect *:53
use os tcp_server [::1]/128:*
application-id my?prog* B1
use os udp_receiver *:*
use accel tcp_server [::1]/128:1-1024
application-id * B2
use accel tcp_server *:5001
EOF
chmod 644 "$T_TMP/tools.conf"
F=$T_TMP/tools.conf

tool check_valid -- --check tools.conf
status check_valid 0
t_eq "check_valid: the blocks and their rules, as compiled" \
"block 1: application-id my?prog* B1 (line 10)
  tools.conf:11: use os udp_receiver *:*
  tools.conf:12: use accel tcp_server [::1]:1-1024
block 2: application-id * B2 (line 13)
  tools.conf:14: use accel tcp_server *:5001
block 3: every process no application-id block matches
  tools.conf:2: use os tcp_server *:5001
  tools.conf:3: use accel tcp_server *:5001
  tools.conf:4: use accel tcp_client 127.0.0.0/8:1000-2000
  tools.conf:5: use os tcp_client *:*:127.0.0.1:40000-40100
  tools.conf:6: use os udp_receiver 127.0.0.1:*
  tools.conf:7: use accel udp_connect [::1]:9000
  tools.conf:8: use os udp_connect *:53
  tools.conf:9: use os tcp_server [::1]:*" \
	"$(grep -E '^(block [0-9]+: |  tools\.conf:[0-9]+: use )' "$O/check_valid.out")"
t_contains "check_valid: the first line counts rules and blocks" "$O/check_valid.out" \
	'^rules: tools\.conf: 11 rules in 3 blocks$'
t_contains "check_valid: a compiled table per role" "$O/check_valid.out" \
	'^  tcp_server: 3 rules, table of [0-9]+ nodes?, depth [0-9]+$'
t_contains "check_valid: valid, with a rule that can never match" "$O/check_valid.out" \
	'^tools\.conf: OK \(with rules that can never match\)$'
t_eq "check_valid: stderr warns about the shadowed rule only (not line 9, which line 2 covers in part)" \
	"tools.conf:3: warning: this rule can never match: line 2 covers it" "$(cat "$O/check_valid.err")"

printf 'use os tcp_server *:5001\nuse accel tcp_server *:5002\n' >"$T_TMP/clean.conf"
chmod 644 "$T_TMP/clean.conf"
tool check_clean -- --check clean.conf
status check_clean 0
t_contains "check_clean: OK and nothing more" "$O/check_clean.out" '^clean\.conf: OK$'
t_eq "check_clean: no warning" "" "$(cat "$O/check_clean.err")"

printf 'use os tcp_server *:5001\n\n  application-id prog\nuse os tcp_client *:*\n' >"$T_TMP/invalid.conf"
chmod 644 "$T_TMP/invalid.conf"
tool check_invalid -- --check invalid.conf
status check_invalid 1
t_contains "check_invalid: the error with file:line:column" "$O/check_invalid.err" \
	"^invalid\.conf:3:22: error: missing an application id .*\(at ''\)$"
t_contains "check_invalid: says the file is rejected whole" "$O/check_invalid.err" \
	'^accel: invalid\.conf is rejected: libaccel would use none of its rules'
t_eq "check_invalid: one error, one verdict" 2 "$(wc -l <"$O/check_invalid.err" | tr -d ' ')"
t_lacks "check_invalid: nothing printed as valid" "$O/check_invalid.out" 'OK'

tool check_env "ACCEL_CONFIG_FILE=$F" -- --check
status check_env 0
t_contains "check_env: no argument reads ACCEL_CONFIG_FILE" "$O/check_env.out" "^rules: $(re "$F"): 11 rules in 3 blocks\$"
t_contains "check_env: the shadowed rule, named by that path" "$O/check_env.err" "^$(re "$F"):3: warning: "

tool check_env_invalid "ACCEL_CONFIG_FILE=$T_TMP/invalid.conf" -- --check
status check_env_invalid 1
t_contains "check_env_invalid: the error of ACCEL_CONFIG_FILE's file" "$O/check_env_invalid.err" \
	"^$(re "$T_TMP/invalid.conf"):3:22: error: "

tool check_option -- --config "$F" --check
status check_option 0
t_contains "check_option: --config FILE --check reads FILE" "$O/check_option.out" "^rules: $(re "$F"): 11 rules"

tool check_missing "ACCEL_CONFIG_FILE=$T_TMP/no-such.conf" -- --check
status check_missing 0
t_contains "check_missing: a missing file means the built-in rules" "$O/check_missing.out" \
	'^  built-in default:[0-9]+: use os udp_connect \*:53$'

cp "$T_TMP/clean.conf" "$T_TMP/writable.conf"
chmod 666 "$T_TMP/writable.conf"
tool check_writable -- --check writable.conf
status check_writable 0
t_contains "check_writable: used, with a warning that others may write it" "$O/check_writable.err" \
	'rules file writable\.conf may be written by users other than root and its owner \(mode 0666'
t_contains "check_writable: still valid" "$O/check_writable.out" '^writable\.conf: OK$'

# ---- accel --explain -----------------------------------------------------------

# explain NAME WANT [VAR=VALUE...] -- ARG...: accel --explain ARG... with
# ACCEL_CONFIG_FILE=tools.conf prints WANT and exits 0.
explain()
{
	local name=$1 want=$2
	shift 2
	local -a vars=("ACCEL_CONFIG_FILE=$F")
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	tool "explain_$name" "${vars[@]}" -- --explain "$@"
	t_eq "explain $*: output" "$want" "$(cat "$O/explain_$name.out")"
	t_eq "explain $*: exit status and stderr" "0" "$(cat "$O/explain_$name.rc" "$O/explain_$name.err")"
}

explain server_5001 "os: $F:2: use os tcp_server *:5001" -- tcp_server 127.0.0.1:5001
explain server_5002 "accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- tcp_server 127.0.0.1:5002
explain server_noauto "os: no rule matched (ACCEL_OFFLOADED_SOCKETS=0)" ACCEL_OFFLOADED_SOCKETS=0 -- tcp_server 127.0.0.1:5002
explain server_v6 "os: $F:2: use os tcp_server *:5001" -- tcp_server '[::1]:5001'
explain server_v6_other "os: $F:9: use os tcp_server [::1]:*" -- tcp_server '[::1]:80'
explain client_prefix "accel: $F:4: use accel tcp_client 127.0.0.0/8:1000-2000" -- tcp_client 127.9.9.9:1500
explain client_mapped "accel: $F:4: use accel tcp_client 127.0.0.0/8:1000-2000" -- tcp_client '[::ffff:127.0.0.1]:2000'
explain client_port "accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- tcp_client 127.0.0.1:2001
explain client_local "os: $F:5: use os tcp_client *:*:127.0.0.1:40000-40100" -- tcp_client 10.0.0.1:80 127.0.0.1:40050
explain client_local_out "accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- tcp_client 10.0.0.1:80 127.0.0.1:40101
explain receiver "os: $F:6: use os udp_receiver 127.0.0.1:*" -- udp_receiver 127.0.0.1:9999
explain receiver_other "accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- udp_receiver 10.1.1.1:9999
explain sender "accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- udp_sender 127.0.0.1:9999
explain connect_xlio "accel: $F:7: use accel udp_connect [::1]:9000" -- udp_connect '[::1]:9000'
explain connect_dns "os: $F:8: use os udp_connect *:53" -- udp_connect 192.0.2.1:53
explain app_b1 "block: application-id my?prog* B1 ($F:10)
os: $F:11: use os udp_receiver *:*" -- udp_receiver 10.1.1.1:9999 --app my-prog-x --id B1
explain app_b1_own "block: application-id my?prog* B1 ($F:10)
accel: $F:12: use accel tcp_server [::1]:1-1024" -- tcp_server '[::1]:80' --app my-prog-x --id B1
explain app_b1_only "block: application-id my?prog* B1 ($F:10)
accel: no rule matched (ACCEL_OFFLOADED_SOCKETS=1)" -- tcp_server 127.0.0.1:5001 --app=mysprog --id=B1
explain app_glob "os: $F:2: use os tcp_server *:5001" -- tcp_server 127.0.0.1:5001 --app myprog --id B1
explain app_id "os: $F:2: use os tcp_server *:5001" -- tcp_server 127.0.0.1:5001 --app my-prog-x --id B3
explain app_b2 "block: application-id * B2 ($F:13)
accel: $F:14: use accel tcp_server *:5001" -- tcp_server 127.0.0.1:5001 --id B2
explain app_none "os: $F:2: use os tcp_server *:5001" -- tcp_server 127.0.0.1:5001 --app my-prog-x

# bad NAME ARG...: accel --explain ARG... is a usage error (2), with a message
# on stderr and nothing on stdout.
bad()
{
	local name=$1
	shift
	tool "bad_$name" "ACCEL_CONFIG_FILE=$F" -- --explain "$@"
	t_eq "explain $*: usage error" 2 "$(cat "$O/bad_$name.rc")"
	if [ -s "$O/bad_$name.err" ] && [ ! -s "$O/bad_$name.out" ]; then
		t_ok "explain $*: says why: $(head -n 1 "$O/bad_$name.err")"
	else
		t_fail "explain $*: expected a message on stderr only"
		t_show "$O/bad_$name.out"
		t_show "$O/bad_$name.err"
	fi
}
bad role tcp_listener 127.0.0.1:80
bad prefix tcp_client 10.0.0.0/8:80
bad v6prefix tcp_server '[::1]/64:80'
bad range tcp_client 10.0.0.1:80-90
bad anyport tcp_client 10.0.0.1:*
bad noport tcp_client 10.0.0.1
bad port tcp_client 10.0.0.1:70000
bad address tcp_client 10.0.0:80
bad pairs tcp_server 127.0.0.1:80 127.0.0.1:81
bad noargs tcp_server
bad appvalue tcp_server 127.0.0.1:80 --app

tool explain_rejected "ACCEL_CONFIG_FILE=$T_TMP/invalid.conf" -- --explain tcp_server 127.0.0.1:80
status explain_rejected 1
t_contains "explain_rejected: a rejected file keeps every socket on the kernel" "$O/explain_rejected.out" \
	'^os: the rules file is rejected'
t_contains "explain_rejected: with the error" "$O/explain_rejected.err" "$(re "$T_TMP/invalid.conf"):3:22: error: "

# ---- accel --explain says what libaccel decides -------------------------------

# Real sockets under tools.conf: each decision in the debug log, asked of
# --explain with the same role, addresses, program and id, must give the same
# answer (transport and rule).
cat >"$T_TMP/sockets.py" <<'EOF'
import socket, sys
port, v6 = int(sys.argv[1]), sys.argv[2] == "1"
S, D = socket.SOCK_STREAM, socket.SOCK_DGRAM
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(8)
socket.socket().connect(("127.0.0.1", port))            # unbound client
b = socket.socket()
b.bind(("127.0.0.1", 0))
b.connect(("127.0.0.1", port))                          # bound client
for p in range(40000, 40101):                           # client, local port of line 5
    c = socket.socket()
    try:
        c.bind(("127.0.0.1", p))
    except OSError:
        continue
    c.connect(("127.0.0.1", port))
    break
c = socket.socket()
c.settimeout(2)
c.connect_ex(("127.0.0.1", 1500))                       # line 4, whether or not it connects
u = socket.socket(socket.AF_INET, D)
u.bind(("127.0.0.1", 0))                                # line 6
socket.socket(socket.AF_INET, D).bind(("0.0.0.0", 0))   # no rule
socket.socket(socket.AF_INET, D).connect(("127.0.0.1", 53))
socket.socket(socket.AF_INET, D).connect(("127.0.0.1", u.getsockname()[1]))
socket.socket(socket.AF_INET, D).sendto(b"x", u.getsockname())
if v6:
    s6 = socket.socket(socket.AF_INET6)
    s6.bind(("::1", 0))
    s6.listen(1)                                        # line 9 (12 in block B1)
    socket.socket(socket.AF_INET6).connect(s6.getsockname()[:2])
    socket.socket(socket.AF_INET6, D).connect(("::1", 9000))
    socket.socket(socket.AF_INET6, D).bind(("::1", 0))
    m = socket.socket(socket.AF_INET6)
    m.bind(("::", 0))
    m.listen(1)
    socket.socket(socket.AF_INET6).connect(("::ffff:127.0.0.1", port))
print("sockets: done")
EOF

# explain_vs_library [ID]: one run of sockets.py under libaccel (with
# ACCEL_APPLICATION_ID=ID), then every decision asked again of --explain.
explain_vs_library()
{
	local port
	port=$(t_port tcp) || return 1
	t_env ACCEL_TRACELEVEL=debug "ACCEL_CONFIG_FILE=$F" ACCEL_OFFLOADED_SOCKETS=1
	[ $# -gt 0 ] && t_env "ACCEL_APPLICATION_ID=$1"
	t_run 20 "$py" "$T_TMP/sockets.py" "$port" "$have_v6" >"$T_DIR/out" 2>"$T_DIR/err"
	t_record exit $?
	[ "$T_MODE" = plain ] && return 0

	local log prog id line n=0 bad=0
	log=$(cat "$T_DIR"/logs/*)
	line=$(printf '%s\n' "$log" | grep -E 'rules from .*: block -?[0-9]+ for program ' | head -n 1)
	prog=$(printf '%s\n' "$line" | sed -E "s/.* for program (.*), application id '.*'\$/\\1/")
	id=$(printf '%s\n' "$line" | sed -E "s/.*, application id '(.*)'\$/\\1/")
	t_eq "$T_SCENARIO: the program libaccel sees" "$pyname" "$prog"
	local re_dec='fd [0-9]+ ([a-z_]+) local ([^ ]+) remote ([^ ]+): (accel|os)(, no rule matched \([^)]*\)| by ([^;]+))(;|$)'
	local role lo rem verdict rule got want
	while IFS= read -r line; do
		[[ $line =~ $re_dec ]] || continue
		role=${BASH_REMATCH[1]} lo=${BASH_REMATCH[2]} rem=${BASH_REMATCH[3]}
		verdict=${BASH_REMATCH[4]} rule=${BASH_REMATCH[6]:-none}
		local -a args=("$role")
		case $role in
		tcp_client | udp_connect)
			args+=("$rem")
			case $lo in *:0) ;; *) args+=("$lo") ;; esac
			;;
		udp_sender)
			args+=("$rem")
			;;
		*) args+=("$lo") ;;
		esac
		n=$((n + 1))
		want="$verdict $rule"
		got=$(timeout 10 env "ACCEL_CONFIG_FILE=$F" ACCEL_OFFLOADED_SOCKETS=1 "$LIBACCEL_LAUNCHER" --explain "${args[@]}" \
			--app "$prog" --id "$id" 2>&1 | grep -v '^block: ' |
			sed -E 's/^(accel|os): no rule matched.*/\1 none/; s/^(accel|os): ([^ ]+:[0-9]+): .*/\1 \2/')
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			t_fail "$T_SCENARIO: accel --explain ${args[*]} --app $prog --id '$id' says '$got', libaccel decided '$want'"
		fi
	done < <(printf '%s\n' "$log" | grep -E 'ACCEL DEBUG .*fd [0-9]+ ')
	local want_n=$((10 + have_v6 * 6))
	t_eq "$T_SCENARIO: sockets decided" "$want_n" "$n"
	[ "$bad" -eq 0 ] && t_ok "$T_SCENARIO: --explain agrees with libaccel on all $n sockets"
}
t_both explain_vs_library explain_vs_library
t_same explain_vs_library results out err
t_eq "explain_vs_library (plain): the program ran" "sockets: done" "$(cat "$(t_dir explain_vs_library plain)/out")"

t_modes accel explain_vs_library_b2 explain_vs_library B2
t_contains "explain_vs_library_b2: the process is in block '* B2'" \
	"$(ls -d "$(t_dir explain_vs_library_b2 accel)"/logs/* | head -n 1)" \
	"rules from $(re "$F"): block [0-9]+ for program $(re "$pyname"), application id 'B2'\$"

# ---- profiles ---------------------------------------------------------------------

P=$T_TMP/profiles
mkdir -p "$P/beside" "$T_TMP/xdg/libaccel/profiles" "$T_TMP/home/.config/libaccel/profiles"
printf '# base\nACCEL_LOG_DETAILS: 1\noffloaded_sockets: 0\n' >"$P/base.yaml"
printf 'ACCEL_LOG_DETAILS: 2\n' >"$P/other.yaml"
cat >"$P/main.yaml" <<'EOF'
# rules_tools.sh: a profile with an include
include: base
ACCEL_TRACELEVEL: error   # nothing but errors
application_id: fromprofile
ACCEL_LOG_DETAILS: 3
EOF
printf 'include:\n  - base\n  - other\nACCEL_APPLICATION_ID: listed\n' >"$P/list.yaml"
printf 'include: [other, base]\n' >"$P/flow.yaml"

# param NAME PARAM: the "value:" line of PARAM in tool run NAME's --params.
param()
{
	grep -A 3 -x "$2" "$O/$1.out" | sed -n 's/^    value: //p' | head -n 1
}

tool prof_main -- --profile "$P/main.yaml" --params
status prof_main 0
t_eq "prof_main: ACCEL_TRACELEVEL" "error (from profile)" "$(param prof_main ACCEL_TRACELEVEL)"
t_eq "prof_main: ACCEL_APPLICATION_ID (name without the prefix)" "fromprofile (from profile)" \
	"$(param prof_main ACCEL_APPLICATION_ID)"
t_eq "prof_main: ACCEL_OFFLOADED_SOCKETS from the included profile" "0 (from profile)" \
	"$(param prof_main ACCEL_OFFLOADED_SOCKETS)"
t_eq "prof_main: ACCEL_LOG_DETAILS, a key after the include overrides it" "3 (from profile)" \
	"$(param prof_main ACCEL_LOG_DETAILS)"
t_eq "prof_main: ACCEL_CONFIG_FILE keeps its default" "/etc/libaccel.conf" "$(param prof_main ACCEL_CONFIG_FILE)"
t_eq "prof_main: no error" "" "$(cat "$O/prof_main.err")"

tool prof_spec "ACCEL_SPEC=$P/main.yaml" -- --params
status prof_spec 0
t_same_file "prof_spec: ACCEL_SPEC=FILE lists what --profile FILE does" "$O/prof_main.out" "$O/prof_spec.out"

tool prof_env "ACCEL_APPLICATION_ID=fromenv" ACCEL_LOG_DETAILS=0 -- --profile "$P/main.yaml" --params
t_eq "prof_env: the environment overrides the profile, also with the default value" \
	"fromenv (from environment)|0" \
	"$(param prof_env ACCEL_APPLICATION_ID)|$(param prof_env ACCEL_LOG_DETAILS | cut -d' ' -f1)"
t_eq "prof_env: the rest still from the profile" "error (from profile)|0 (from profile)" \
	"$(param prof_env ACCEL_TRACELEVEL)|$(param prof_env ACCEL_OFFLOADED_SOCKETS)"

tool prof_list -- --profile "$P/list.yaml" --params
t_eq "prof_list: include: a list, applied in order" "2 (from profile)|0 (from profile)|listed (from profile)" \
	"$(param prof_list ACCEL_LOG_DETAILS)|$(param prof_list ACCEL_OFFLOADED_SOCKETS)|$(param prof_list ACCEL_APPLICATION_ID)"
tool prof_flow -- --profile "$P/flow.yaml" --params
t_eq "prof_flow: include: [a, b] in order" "1 (from profile)" "$(param prof_flow ACCEL_LOG_DETAILS)"

# By name: $XDG_CONFIG_HOME/libaccel/profiles, else ~/.config; an include is
# looked for beside the including file first.
printf 'include: base\nACCEL_LOG_DETAILS: 2\n' >"$T_TMP/xdg/libaccel/profiles/named.yaml"
printf 'ACCEL_APPLICATION_ID: xdg-base\n' >"$T_TMP/xdg/libaccel/profiles/base.yaml"
printf 'include: base\n' >"$P/beside/top.yaml"
printf 'ACCEL_APPLICATION_ID: beside-base\n' >"$P/beside/base.yaml"
printf 'ACCEL_APPLICATION_ID: home\n' >"$T_TMP/home/.config/libaccel/profiles/named.yaml"
tool prof_xdg "XDG_CONFIG_HOME=$T_TMP/xdg" -- --profile named --params
t_eq "prof_xdg: a name is found in \$XDG_CONFIG_HOME/libaccel/profiles, its include beside it" \
	"2 (from profile)|xdg-base (from profile)" \
	"$(param prof_xdg ACCEL_LOG_DETAILS)|$(param prof_xdg ACCEL_APPLICATION_ID)"
tool prof_home -u XDG_CONFIG_HOME "HOME=$T_TMP/home" -- --profile named --params
t_eq "prof_home: without XDG_CONFIG_HOME, ~/.config/libaccel/profiles" "home (from profile)" \
	"$(param prof_home ACCEL_APPLICATION_ID)"
tool prof_beside "XDG_CONFIG_HOME=$T_TMP/xdg" -- --profile "$P/beside/top.yaml" --params
t_eq "prof_beside: the included profile beside the file wins over the search path" \
	"beside-base (from profile)" "$(param prof_beside ACCEL_APPLICATION_ID)"

# Profiles with one error each: the first lines are good, and none of them
# applies.
# bad_profile NAME LINE:COL MESSAGE-ERE TEXT...: the profile NAME.yaml made
# of the good lines and TEXT is rejected at LINE:COL.
bad_profile()
{
	local name=$1 pos=$2 msg=$3 file
	shift 3
	file=$P/$name.yaml
	{
		printf 'ACCEL_APPLICATION_ID: fromprofile\nACCEL_LOG_DETAILS: 3\n'
		printf '%s\n' "$@"
	} >"$file"
	tool "prof_$name" -- --profile "$file" --params
	status "prof_$name" 0
	t_eq "prof_$name: one error" 1 "$(grep -c '^ACCEL ERROR' "$O/prof_$name.err")"
	t_contains "prof_$name: the error at $pos" "$O/prof_$name.err" \
		"^ACCEL ERROR +: $(re "$file"):$pos: $msg.*; no value of profile '$(re "$file")' is used\$"
	t_lacks "prof_$name: no value from the profile" "$O/prof_$name.out" 'from profile'
	t_eq "prof_$name: defaults kept" '""|0' \
		"$(param "prof_$name" ACCEL_APPLICATION_ID)|$(param "prof_$name" ACCEL_LOG_DETAILS)"
}
bad_profile unknown 3:1 "unknown parameter 'ACCEL_NOPE'" 'ACCEL_NOPE: 1'
bad_profile value 4:19 "bad value 'loud' for ACCEL_TRACELEVEL" '# a comment' 'ACCEL_TRACELEVEL: loud'
bad_profile yaml 3:27 'YAML: ' 'ACCEL_OFFLOADED_SOCKETS: 0: 1'
bad_profile include 3:10 "included profile 'missing' not found" 'include: missing'
bad_profile nested 3:19 'nested mappings are not allowed' 'ACCEL_TRACELEVEL: {a: 1}'

# A circular include, reported where the cycle closes.
printf 'ACCEL_APPLICATION_ID: fromprofile\ninclude: cycle2\n' >"$P/cycle1.yaml"
printf 'ACCEL_LOG_DETAILS: 3\ninclude: [other, cycle1]\n' >"$P/cycle2.yaml"
tool prof_cycle -- --profile "$P/cycle1.yaml" --params
status prof_cycle 0
t_eq "prof_cycle: one error" 1 "$(grep -c '^ACCEL ERROR' "$O/prof_cycle.err")"
t_contains "prof_cycle: the error at the include that closes the circle" "$O/prof_cycle.err" \
	"^ACCEL ERROR +: $(re "$P/cycle2.yaml"):2:18: profile 'cycle1' includes itself.*; no value of profile '$(re "$P/cycle1.yaml")' is used\$"
t_lacks "prof_cycle: no value from any of the profiles" "$O/prof_cycle.out" 'from profile'

# The profile from a preloaded program's side: its start-up report at info.
# These runs ignore LIBACCEL_TEST_ENV: its values would hide the profile's.
startup()
{
	t_env "ACCEL_SPEC=$1"
	t_run 10 "$py" -c 'print("ran")' >"$T_DIR/out" 2>"$T_DIR/err"
	t_record exit $?
}
LIBACCEL_TEST_ENV="" t_both startup_good startup "$P/main.yaml"
t_same startup_good results out err
d=$(t_dir startup_good accel)
for kv in "ACCEL_LOG_DETAILS=3 (profile)" "ACCEL_OFFLOADED_SOCKETS=0 (profile)" \
	"ACCEL_APPLICATION_ID=fromprofile (profile)" "ACCEL_TRACELEVEL=info (environment)"; do
	t_contains "startup_good: the report says $kv" "$(ls -d "$d"/logs/* | head -n 1)" "^ACCEL INFO +: (\[[^]]*\] )?$(re "$kv")\$"
done
LIBACCEL_TEST_ENV="" t_enter startup_bad accel
t_note "startup_bad: accel run"
startup "$P/value.yaml"
t_stop_all
d=$(t_dir startup_bad accel)
t_eq "startup_bad: the program ran" "exit: 0|ran" "$(cat "$d/results")|$(cat "$d/out")"
t_eq "startup_bad: one error, at the profile's line and column" 1 \
	"$(cat "$d"/logs/* | grep -Ec "^ACCEL ERROR +: (\[[^]]*\] )?$(re "$P/value.yaml"):4:19: bad value 'loud'")"
t_lacks "startup_bad: no value of the profile in the report" "$(ls -d "$d"/logs/* | head -n 1)" '\(profile\)$'
t_contains "startup_bad: ACCEL_SPEC itself reported" "$(ls -d "$d"/logs/* | head -n 1)" \
	"^ACCEL INFO +: (\[[^]]*\] )?ACCEL_SPEC=$(re "$P/value.yaml") \(environment\)\$"

t_finish
