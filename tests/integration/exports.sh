#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# libaccel.so exports exactly the interposed libc names (src/core/symbols.def
# plus closefrom and vfork) and the documented accel_* API, nothing else.
set -u
lib=${LIBACCEL_SO:?}
src=${LIBACCEL_SRCDIR:?}

command -v nm >/dev/null || { echo "nm missing"; exit 77; }

expected=$(
	{
		sed -n 's/^SYM([^,]*, *\([A-Za-z0-9_]*\),.*/\1/p' "$src/src/core/symbols.def"
		echo closefrom
		echo vfork
		printf '%s\n' execl execle execlp
		# The documented extension API (include/accel/*.h), if any.
		cat "$src"/include/accel/*.h 2>/dev/null | grep -v '^static' |
			sed -n 's/^[A-Za-z_].*[ *]\(accel_[a-z0-9_]*\)(.*/\1/p'
	} | sort -u
)
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)

if [ "$expected" != "$actual" ]; then
	echo "FAIL: export list differs (< expected, > exported)"
	diff <(echo "$expected") <(echo "$actual")
	exit 1
fi
n=$(echo "$actual" | wc -l)
[ "$n" -ge 50 ] || { echo "FAIL: only $n symbols exported"; exit 1; }

# No symbol version node: a named one would not interpose read@GLIBC_2.2.5.
if readelf -V "$lib" | grep -q 'Version definition section'; then
	echo "FAIL: libaccel.so defines symbol versions"
	exit 1
fi
echo "PASS: $n symbols exported, as listed"
