# SPDX-License-Identifier: BSD-2-Clause
# Shell helpers shared by the bench scripts (sourced, not run): counts,
# free loopback ports, means.

# check_count NAME VALUE: VALUE must be a positive integer.
check_count() {
	case $2 in
	'' | *[!0-9]* | 0) die "$1 must be a positive integer, not '$2'" ;;
	esac
}

# Whether anything uses local TCP port $1 (any state, IPv4 or IPv6).
port_in_use() {
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == p) f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Whether something listens on 127.0.0.1:$1.
port_listening() {
	hex=$(printf '0100007F:%04X' "$1")
	awk -v a="$hex" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}

# A random port below the usual ephemeral range that nothing uses right now.
pick_port() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((20000 + r % 12000))
		port_in_use "$p" || { echo "$p"; return 0; }
	done
	return 1
}

mean() {
	echo "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.3f", s / NF }'
}
