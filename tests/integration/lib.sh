# SPDX-License-Identifier: BSD-2-Clause
# Shared helpers of the integration scripts: run one scenario plain and under
# libaccel, prove where libaccel was (and was not) loaded, compare the runs.
#
# A script:
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#	t_init
#	t_require nc
#	xfer() {			# one run; $T_MODE and $T_DIR are set
#		local port srv
#		port=$(t_port tcp) || return 1
#		t_bg 20 nc -l 127.0.0.1 "$port" >"$T_DIR/out"
#		srv=$T_PID
#		t_wait_port "$port" tcp "$srv" || return 1
#		t_run 20 nc -N 127.0.0.1 "$port" <"$T_TMP/in"
#		t_record "client exit" $?	# into $T_DIR/results
#		t_wait "$srv"
#		t_record "server exit" $?
#	}
#	t_both xfer xfer		# name, function: plain, then accel
#	t_same xfer results out		# these files equal in every mode
#	t_loaded xfer nc		# libaccel's start-up line from nc
#	t_finish
#
# Modes: plain (no libaccel; the test asserts no log file appeared), accel
# (LD_PRELOAD), trace (LD_PRELOAD and ACCEL_TRACE_CALLS=1), launcher (the
# built `accel` launcher). Every run sets ACCEL_TRACELEVEL=info and
# ACCEL_LOG_FILE=$T_DIR/logs/accel.%d.log; any ACCEL_* variable inherited
# from the caller is dropped. LIBACCEL_TEST_ENV="ACCEL_X=1 ..." adds
# parameters to the libaccel modes (to run the suite under a profile, say);
# t_env ACCEL_X=1 ... inside a scenario adds them to that run alone.
# LIBACCEL_TEST_KEEP=1 keeps the temporary directory.
#
# Background processes (t_bg) run under timeout(1), which makes each the
# leader of its own process group; t_stop and the exit trap end them by that
# id (TERM, then KILL), never by name.

# ---- reporting ---------------------------------------------------------------

T_CHECKS=0
T_FAILS=0

# t_note TEXT: a line of context in the test's log.
t_note()
{
	printf '# %s\n' "$*"
}

# t_ok TEXT: one passed check.
t_ok()
{
	T_CHECKS=$((T_CHECKS + 1))
	printf 'ok: %s\n' "$*"
}

# t_fail TEXT: one failed check; the script goes on and fails at t_finish.
t_fail()
{
	T_CHECKS=$((T_CHECKS + 1))
	T_FAILS=$((T_FAILS + 1))
	printf 'FAIL: %s\n' "$*"
}

# t_fatal TEXT: a failure after which nothing sensible can follow.
t_fatal()
{
	t_fail "$*"
	exit 1
}

# t_skip TEXT: a tool the test needs is missing (exit 77).
t_skip()
{
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# t_finish: exit 0 if every check passed, else 1.
t_finish()
{
	if [ "$T_FAILS" -ne 0 ]; then
		printf '%s: %d of %d checks failed\n' "$T_NAME" "$T_FAILS" "$T_CHECKS"
		exit 1
	fi
	if [ "$T_CHECKS" -eq 0 ]; then
		printf '%s: no check ran\n' "$T_NAME"
		exit 1
	fi
	printf '%s: all %d checks passed\n' "$T_NAME" "$T_CHECKS"
	exit 0
}

# t_show FILE: print up to 40 lines of FILE, indented (context for a failure).
t_show()
{
	[ -s "$1" ] || { printf '    (%s is empty or missing)\n' "$1"; return; }
	printf '    --- %s:\n' "${1#"$T_TMP"/}"
	head -n 40 -- "$1" | sed 's/^/    | /'
}

# t_eq WHAT EXPECTED ACTUAL
t_eq()
{
	if [ "$2" = "$3" ]; then
		t_ok "$1: $3"
	else
		t_fail "$1: expected '$2', got '$3'"
	fi
}

# t_sha FILE: the SHA-256 of FILE.
t_sha()
{
	sha256sum <"$1" | cut -d' ' -f1
}

# t_same_file WHAT A B: the two files are byte for byte equal.
t_same_file()
{
	if [ -f "$2" ] && [ -f "$3" ] && cmp -s -- "$2" "$3"; then
		t_ok "$1"
		return 0
	fi
	t_fail "$1: ${2#"$T_TMP"/} and ${3#"$T_TMP"/} differ"
	local f
	for f in "$2" "$3"; do
		if [ -f "$f" ]; then
			printf '    %s: %s bytes, sha256 %s\n' "${f#"$T_TMP"/}" \
				"$(wc -c <"$f")" "$(t_sha "$f")"
		else
			printf '    %s: missing\n' "${f#"$T_TMP"/}"
		fi
	done
	if [ -f "$2" ] && [ -f "$3" ] && grep -Iq . "$2" "$3" 2>/dev/null; then
		diff -u -- "$2" "$3" | head -n 60 | sed 's/^/    /'
	fi
	return 1
}

# t_contains WHAT FILE ERE: some line of FILE matches ERE.
t_contains()
{
	if grep -Eq -- "$3" "$2" 2>/dev/null; then
		t_ok "$1"
	else
		t_fail "$1: no line of ${2#"$T_TMP"/} matches /$3/"
		t_show "$2"
	fi
}

# t_lacks WHAT FILE ERE: no line of FILE matches ERE.
t_lacks()
{
	if grep -Eq -- "$3" "$2" 2>/dev/null; then
		t_fail "$1: ${2#"$T_TMP"/} has lines matching /$3/"
		grep -En -- "$3" "$2" | head -n 20 | sed 's/^/    | /'
	else
		t_ok "$1"
	fi
}

# t_require TOOL...: skip (77) unless every TOOL is on PATH.
t_require()
{
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
			t_skip "$tool not found (contrib/quickstart.sh test installs it)"
	done
}

# t_prog VAR NAME: set VAR to the path of test program NAME (built by make
# check in tests/integration of the build tree).
t_prog()
{
	local t_path="$LIBACCEL_TESTBIN/$2"
	[ -x "$t_path" ] || t_fatal "$t_path not built (run make check, not the script alone)"
	printf -v "$1" '%s' "$t_path"
}

# ---- set-up and clean-up ----------------------------------------------------

T_PIDS=""

# t_init: check the environment make check gives, make the temporary
# directory, install the clean-up trap. Call once, first.
t_init()
{
	T_NAME=$(basename -- "$0" .sh)
	local v
	for v in LIBACCEL_SO LIBACCEL_LAUNCHER LIBACCEL_TESTBIN LIBACCEL_SRCDIR; do
		if [ -z "${!v:-}" ]; then
			echo "$T_NAME: $v is not set; run this through make check" >&2
			exit 99
		fi
	done
	[ -r "$LIBACCEL_SO" ] || { echo "$T_NAME: no $LIBACCEL_SO; build first" >&2; exit 99; }

	# Only what this file sets may reach libaccel; and the plain runs must
	# not have it preloaded by a caller.
	for v in $(compgen -e); do
		case $v in ACCEL_*) unset "$v" ;; esac
	done
	local kept="" e
	local IFS=': '
	for e in ${LD_PRELOAD:-}; do
		case $e in
		*/libaccel.so | libaccel.so) ;;
		*) kept="${kept:+$kept:}$e" ;;
		esac
	done
	unset IFS
	if [ -n "$kept" ]; then export LD_PRELOAD="$kept"; else unset LD_PRELOAD; fi

	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/libaccel-$T_NAME.XXXXXX") ||
		{ echo "$T_NAME: mktemp failed" >&2; exit 99; }
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	exec </dev/null

	T_PY=""
	if command -v python3 >/dev/null 2>&1; then
		T_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	fi

	T_VERSION=$("$LIBACCEL_LAUNCHER" --version 2>/dev/null | sed -n 's/^accel (libaccel) //p')
	[ -n "$T_VERSION" ] || t_fatal "$LIBACCEL_LAUNCHER --version printed no version"
	t_note "$T_NAME: libaccel $T_VERSION, temporary directory $T_TMP"
}

# t_kill_group PID SIGNAL: signal PID's process group, or PID alone if it
# has none (yet).
t_kill_group()
{
	kill -s "$2" -- "-$1" 2>/dev/null || kill -s "$2" -- "$1" 2>/dev/null
}

# t_forget PID: PID is reaped; never signal that number again.
t_forget()
{
	T_PIDS=$(printf '%s\n' $T_PIDS | grep -vx -- "$1" | tr '\n' ' ')
}

t_cleanup()
{
	local rc=$? pid i alive
	trap - EXIT INT TERM HUP
	for pid in $T_PIDS; do
		t_kill_group "$pid" TERM
	done
	for i in $(seq 30); do
		alive=""
		for pid in $T_PIDS; do
			kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in $T_PIDS; do
		t_kill_group "$pid" KILL
		wait "$pid" 2>/dev/null
	done
	if [ "${LIBACCEL_TEST_KEEP:-0}" = 1 ]; then
		echo "$T_NAME: kept $T_TMP"
	else
		rm -rf -- "$T_TMP"
	fi
	exit "$rc"
}

# ---- modes and runs ---------------------------------------------------------

# t_mode_prefix: T_PREFIX becomes the command prefix of mode $T_MODE.
t_mode_prefix()
{
	local -a env=(env ACCEL_TRACELEVEL=info "ACCEL_LOG_FILE=$T_DIR/logs/accel.%d.log")
	local -a extra=()
	[ -n "${LIBACCEL_TEST_ENV:-}" ] && read -r -a extra <<<"$LIBACCEL_TEST_ENV"
	# An inherited preload (a sanitizer runtime, say) must stay first.
	local pre="${LD_PRELOAD:+$LD_PRELOAD:}$LIBACCEL_SO"
	case $T_MODE in
	plain) T_PREFIX=("${env[@]}") ;;
	accel) T_PREFIX=("${env[@]}" "${extra[@]}" "LD_PRELOAD=$pre") ;;
	trace) T_PREFIX=("${env[@]}" "${extra[@]}" ACCEL_TRACE_CALLS=1 "LD_PRELOAD=$pre") ;;
	launcher) T_PREFIX=("${env[@]}" "${extra[@]}" "$LIBACCEL_LAUNCHER") ;;
	*) t_fatal "unknown mode $T_MODE" ;;
	esac
}

# t_enter NAME MODE: make NAME's directory for MODE current ($T_DIR).
t_enter()
{
	T_SCENARIO=$1
	T_MODE=$2
	T_DIR="$T_TMP/$1.$2"
	mkdir -p "$T_DIR/logs"
	t_mode_prefix
}

# t_env NAME=VALUE...: add parameters to the rest of the current run (call
# it inside the scenario function, after t_modes has entered the run): for
# example t_env ACCEL_TRACELEVEL=debug "ACCEL_CONFIG_FILE=$T_DIR/rules".
# They come after the mode's own settings and LIBACCEL_TEST_ENV, so they
# override both. The plain mode gets them too; no libaccel reads them there.
# The next run (t_enter) starts again without them.
t_env()
{
	local n=${#T_PREFIX[@]}
	# The last word of every prefix is the one that must stay last: the
	# LD_PRELOAD, the launcher, or (plain) the log file setting.
	T_PREFIX=("${T_PREFIX[@]:0:n-1}" "$@" "${T_PREFIX[n-1]}")
}

# t_modes "MODE..." NAME FUNCTION [ARGS...]: run FUNCTION once per mode,
# each with its own $T_DIR, then check the log files of every mode.
t_modes()
{
	local modes=$1 name=$2 fn=$3 mode rc
	shift 3
	for mode in $modes; do
		t_enter "$name" "$mode"
		t_note "$name: $mode run"
		"$fn" "$@"
		rc=$?
		[ "$rc" -eq 0 ] || t_fail "$name ($mode): the scenario stopped early (status $rc)"
		t_stop_all
	done
	t_logs_clean "$name"
}

# t_both NAME FUNCTION [ARGS...]: plain, then under libaccel.
t_both()
{
	t_modes "plain accel" "$@"
}

# t_dir NAME MODE: the directory of that run.
t_dir()
{
	printf '%s\n' "$T_TMP/$1.$2"
}

# t_run SECONDS COMMAND...: run COMMAND in the current mode and wait for
# it, killed after SECONDS; returns its status (124: timed out). It runs as
# a waited-for background job so that an interrupted test ends it at once.
t_run()
{
	local secs=$1 pid rc=0
	shift
	timeout -k 3 "$secs" "${T_PREFIX[@]}" "$@" <&0 &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	wait "$pid" || rc=$?
	t_forget "$pid"
	return "$rc"
}

# t_bg SECONDS COMMAND...: start COMMAND in the background in the current
# mode, killed after SECONDS; its pid (and process group) is $T_PID. Its
# standard input is the caller's (bash would give it /dev/null otherwise).
t_bg()
{
	local secs=$1
	shift
	timeout -k 3 "$secs" "${T_PREFIX[@]}" "$@" <&0 &
	T_PID=$!
	T_PIDS="$T_PIDS $T_PID"
}

# t_wait PID: wait for a background command to end by itself (it is bounded
# by its timeout); returns its status.
t_wait()
{
	local rc=0
	wait "$1" || rc=$?
	t_forget "$1"
	return "$rc"
}

# t_stop PID: end a background command (TERM, then KILL after 3 s) and reap
# it. Returns 0; its status is in $T_STATUS.
t_stop()
{
	local i
	T_STATUS=0
	t_kill_group "$1" TERM
	for i in $(seq 30); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	t_kill_group "$1" KILL
	wait "$1" 2>/dev/null || T_STATUS=$?
	t_forget "$1"
	return 0
}

# t_stop_all: stop what the last scenario left running.
t_stop_all()
{
	local pid
	for pid in $T_PIDS; do
		t_stop "$pid"
	done
	return 0
}

# ---- ports -------------------------------------------------------------------

# t_py: the real python3 interpreter (not a pyenv or similar shim script, so
# that a libaccel run preloads the library into python itself).
t_py()
{
	[ -n "$T_PY" ] && [ -x "$T_PY" ] || t_skip "python3 not found"
	printf '%s\n' "$T_PY"
}

# t_port [tcp|udp] [ADDRESS]: a port free on ADDRESS (127.0.0.1 or ::1) now,
# below the kernel's range of ephemeral ports when there is room: a client
# of a test running alongside cannot be given it for its own end meanwhile.
t_port()
{
	local proto=${1:-tcp} addr=${2:-127.0.0.1}
	"$(t_py)" - "$proto" "$addr" <<'EOF'
import random, socket, sys
proto, addr = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 0
candidates = [random.randrange(10000, low) for _ in range(50)] if low > 11000 else []
for port in candidates + [0]:
    with socket.socket(family, kind) as s:
        try:
            s.bind((addr, port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
EOF
}

# t_wait_port PORT [tcp|udp] [PID]: wait (at most 10 s) until something
# listens on PORT (tcp) or is bound to it (udp); fail early if PID died.
t_wait_port()
{
	local port=$1 proto=${2:-tcp} pid=${3:-} i flag=-Hltn
	[ "$proto" = udp ] && flag=-Hlun
	for i in $(seq 200); do
		if [ -n "$(ss $flag "sport = :$port" 2>/dev/null)" ]; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			t_fail "$T_SCENARIO ($T_MODE): the server died before listening on $proto port $port"
			return 1
		fi
		sleep 0.05
	done
	t_fail "$T_SCENARIO ($T_MODE): nothing listens on $proto port $port after 10 s"
	return 1
}

# ---- libaccel's log files ---------------------------------------------------

# t_logs_clean NAME: the plain run of NAME wrote no libaccel log (so the
# library was not loaded there); the other runs logged no warning or error.
t_logs_clean()
{
	local d mode
	for d in "$T_TMP/$1".*; do
		[ -d "$d/logs" ] || continue
		mode=${d##*.}
		if [ "$mode" = plain ]; then
			if [ -n "$(ls -A "$d/logs")" ]; then
				t_fail "$1 (plain): libaccel was loaded without LD_PRELOAD"
				t_show "$(ls -d "$d"/logs/* | head -n 1)"
			else
				t_ok "$1 (plain): libaccel not loaded"
			fi
			continue
		fi
		if [ -z "$(ls -A "$d/logs")" ]; then
			t_fail "$1 ($mode): no libaccel log file at all"
			continue
		fi
		if grep -E -h '^ACCEL (WARN|ERROR|PANIC)' "$d"/logs/* >"$d/warnings"; then
			t_fail "$1 ($mode): libaccel logged warnings or errors"
			t_show "$d/warnings"
		else
			t_ok "$1 ($mode): no libaccel warning or error"
		fi
	done
}

# t_loaded NAME PROGRAM...: in every libaccel run of NAME, each PROGRAM
# (argv[0], with or without a directory) logged libaccel's start-up line.
t_loaded()
{
	local name=$1 d mode prog re
	shift
	for d in "$T_TMP/$name".*; do
		mode=${d##*.}
		[ -d "$d/logs" ] && [ "$mode" != plain ] || continue
		for prog in "$@"; do
			re=$(printf '%s' "$prog" | sed 's/[].[*^$\\+?(){}|]/\\&/g')
			if cat "$d"/logs/* 2>/dev/null |
				grep -Eq "^ACCEL INFO +: (\[[^]]*\] )?libaccel ${T_VERSION//./\\.} in ([^ ]*/)?$re \(pid [0-9]+\)"; then
				t_ok "$name ($mode): libaccel loaded in $prog"
			else
				t_fail "$name ($mode): no 'libaccel $T_VERSION in $prog' line in the logs"
				grep -h ' libaccel .* in ' "$d"/logs/* 2>/dev/null | head -n 20 | sed 's/^/    | /'
			fi
		done
	done
}

# Start of a --trace line in a log, whatever ACCEL_LOG_DETAILS adds to it.
T_TRACE='^ACCEL TRACE +: (\[[^]]*\] )?'

# t_cat_logs NAME MODE: every libaccel log line of that run.
t_cat_logs()
{
	cat "$T_TMP/$1.$2"/logs/* 2>/dev/null
}

# t_same NAME FILE...: each FILE of NAME's plain run equals the same file of
# every other run.
t_same()
{
	local name=$1 f d
	shift
	for f in "$@"; do
		for d in "$T_TMP/$name".*; do
			[ "${d##*.}" = plain ] && continue
			t_same_file "$name: $f, plain vs ${d##*.}" "$T_TMP/$name.plain/$f" "$d/$f"
		done
	done
}

# t_record KEY VALUE: append "KEY: VALUE" to $T_DIR/results (compared with
# t_same NAME results).
t_record()
{
	printf '%s: %s\n' "$1" "$2" >>"$T_DIR/results"
}
