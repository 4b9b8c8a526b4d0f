#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Every parameter of the table (src/config/params.def) is documented in
# man/libaccel.7 and README.md, and every launcher option in man/accel.1.
set -u
src=${LIBACCEL_SRCDIR:?}
status=0
for name in $(sed -n 's/^PARAM([a-z_]*, "\(ACCEL_[A-Z_]*\)".*/\1/p' "$src/src/config/params.def"); do
	grep -q "^\.B $name\$" "$src/man/libaccel.7" || { echo "FAIL: $name not in man/libaccel.7"; status=1; }
	grep -q "\`$name\`" "$src/README.md" || { echo "FAIL: $name not in README.md"; status=1; }
done
for opt in $("${LIBACCEL_LAUNCHER:?}" --help | grep -o -- '--[a-z-]*' | sort -u); do
	grep -q -- "${opt//-/\\\\-}" "$src/man/accel.1" || { echo "FAIL: $opt not in man/accel.1"; status=1; }
	grep -q -- "$opt" "$src/README.md" || { echo "FAIL: $opt not in README.md"; status=1; }
done
[ $status -eq 0 ] && echo "PASS: parameters and launcher options documented"
exit $status
