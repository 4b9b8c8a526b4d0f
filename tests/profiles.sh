#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The shipped profiles (etc/profiles/*.yaml) load without a warning, every
# key they set is in force ("from profile" in accel --params), every key
# carries a comment saying why, and each is documented in man/libaccel.7
# and README.md.
set -u
src=${LIBACCEL_SRCDIR:?}
launcher=${LIBACCEL_LAUNCHER:?}
status=0
fail() { echo "FAIL: $*"; status=1; }
for name in latency ultra_latency throughput safe; do
	file=$src/etc/profiles/$name.yaml
	[ -f "$file" ] || { fail "$name: no $file"; continue; }
	out=$(env -u ACCEL_TRACELEVEL "$launcher" --profile "$file" --params 2>&1) ||
		fail "$name: accel --params exits non-zero"
	if printf '%s\n' "$out" | grep -q '^ACCEL \(WARN\|ERROR\|PANIC\)'; then
		fail "$name: warnings: $(printf '%s\n' "$out" | grep '^ACCEL ' | head -3)"
	fi
	for key in $(sed -n 's/^\(ACCEL_[A-Z_]*\):.*/\1/p' "$file"); do
		printf '%s\n' "$out" | awk -v k="$key" '$0 == k { f = 1; next } f && /value:/ { print; exit }' |
			grep -q '(from profile)' || fail "$name: $key not taken from the profile"
		# the line before a key is its comment (or another key of the same comment)
		prev=$(grep -B1 "^$key:" "$file" | head -1)
		case $prev in \#* | ACCEL_*) ;; *) fail "$name: $key has no comment above it" ;; esac
	done
	grep -q "^\.B $name\$" "$src/man/libaccel.7" || fail "$name not in man/libaccel.7"
	grep -q "\`$name\`" "$src/README.md" || fail "$name not in README.md"
done
[ $status -eq 0 ] && echo "PASS: the shipped profiles load and are documented"
exit $status
