#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Fuzzes the rules parser with libFuzzer for FUZZ_SECONDS (default 60) and
# fails on any finding (crash, sanitizer report, leak, timeout).
#
# Builds tests/fuzz/fuzz_rules with clang (FUZZ_CC) from the sources in
# LIBACCEL_SRCDIR and the scanner and parser that flex and bison generated
# in the build tree: LIBACCEL_BUILDDIR, else the current directory (make
# check runs here from the top build directory). A release tarball carries
# them in the source tree instead. Everything is written to the build tree
# (tests/fuzz/): the binary, the grown corpus fuzz_rules-corpus/, and the
# crash-* (leak-*, timeout-*) file of a finding.
# Exits 77 (skipped) when clang or its libFuzzer runtime is missing.
set -u
src=${LIBACCEL_SRCDIR:?LIBACCEL_SRCDIR must name the source tree}
build=${LIBACCEL_BUILDDIR:-$(pwd)}
seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
out=$build/tests/fuzz
flags=(-g -O1 -std=gnu11 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all)

mkdir -p "$out/fuzz_rules-corpus" || exit 99

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "SKIP: $cc not found"
	exit 77
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
	'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' \
	>"$out/probe.c"
if ! "$cc" "${flags[@]}" "$out/probe.c" -o "$out/probe" >"$out/probe.log" 2>&1; then
	echo "SKIP: $cc cannot build a libFuzzer target with ASan and UBSan:"
	cat "$out/probe.log"
	rm -f "$out/probe" "$out/probe.c" "$out/probe.log"
	exit 77
fi
rm -f "$out/probe" "$out/probe.c" "$out/probe.log"

# The generated scanner and parser: build tree first, then a tarball's.
generated=()
for f in rules_scan.c rules_parse.c; do
	if [ -f "$build/src/config/$f" ]; then
		generated+=("$build/src/config/$f")
	elif [ -f "$src/src/config/$f" ]; then
		generated+=("$src/src/config/$f")
	else
		echo "FAIL: src/config/$f not generated: run make first (build tree: $build)"
		exit 99
	fi
done

if ! "$cc" "${flags[@]}" -I"$build" -I"$src/include" -I"$src/src" \
	"$src/tests/fuzz/fuzz_rules.c" "$src/src/config/rules.c" \
	"$src/src/config/rules_check.c" "${generated[@]}" -o "$out/fuzz_rules"; then
	echo "FAIL: cannot build the fuzz target"
	exit 99
fi

echo "fuzzing the rules parser for ${seconds}s"
"$out/fuzz_rules" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 \
	-timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$out/" \
	-dict="$src/tests/fuzz/rules.dict" "$out/fuzz_rules-corpus" "$src/tests/fuzz/corpus_rules"
status=$?
if [ $status -ne 0 ]; then
	echo "FAIL: libFuzzer found a problem (status $status); the input is in $out/crash-*"
	exit 1
fi
echo "PASS: no finding in ${seconds}s"
