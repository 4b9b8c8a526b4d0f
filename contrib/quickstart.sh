#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# One command from a fresh Debian 12 machine (as root, or with sudo):
#   contrib/quickstart.sh demo   install what is missing, build, run the demo
#   contrib/quickstart.sh test   install what is missing, build, run every test
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
jobs=$(nproc 2>/dev/null || echo 2)

# Build tools, required libraries, and the real programs the tests run.
packages=(
	build-essential autoconf automake libtool pkg-config flex bison
	libyaml-dev libcmocka-dev valgrind
	sockperf redis-server redis-tools socat netcat-openbsd curl python3
	iproute2 procps clang libclang-rt-14-dev
)

say() { printf '\n== %s\n' "$*"; }

install_missing() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

configure_build() { # dir, configure args...
	local dir=$1
	shift
	[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null)
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@")
	make -C "$dir" -s -j"$jobs"
}

build() {
	say "building in $build"
	configure_build "$build"
}

demo() {
	say "demo: sockperf TCP ping-pong on loopback, kernel and libaccel"
	"$top/contrib/demo.sh" "$build"
}

# Count automake test results in a build dir: adds to passed/failed.
passed=0
failed=0
count_results() {
	local dir=$1 p f
	p=$(cat "$dir"/test-suite.log 2>/dev/null | sed -n 's/^# PASS: *//p' | head -1)
	f=$(cat "$dir"/test-suite.log 2>/dev/null | sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' |
		awk '{s+=$1} END {print s+0}')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

# step NAME LOG COMMAND...: one pass or fail of its own, output in LOG.
step() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS: $name"
	else
		failed=$((failed + 1))
		echo "FAIL: $name (see $log)"
		tail -40 "$log"
		return 1
	fi
}

run_tests() {
	local status=0

	say "make check (unit and integration tests)"
	make -C "$build" -s -j"$jobs" check || status=1
	count_results "$build"

	say "unit tests under valgrind"
	local t
	for t in $(make -C "$build" -s print-unit-tests); do
		step "valgrind $t" "$build/$t.valgrind" \
			"$build/libtool" --mode=execute valgrind -q --error-exitcode=1 \
			--leak-check=full --errors-for-leak-kinds=definite "$build/$t" || status=1
	done

	say "AddressSanitizer + UndefinedBehaviorSanitizer build"
	configure_build "$build-asan" --enable-sanitizers
	make -C "$build-asan" -s -j"$jobs" check-sanitizers || status=1
	count_results "$build-asan"

	say "make distcheck"
	step distcheck "$build/distcheck.out" make -C "$build" -s distcheck || status=1

	echo
	echo "${passed} passed, ${failed} failed"
	return $status
}

case "${1:-}" in
demo)
	install_missing
	build
	demo
	;;
test)
	install_missing
	build
	run_tests
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
