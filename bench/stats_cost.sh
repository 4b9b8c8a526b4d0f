#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What publishing statistics costs the data path: the polling ping-pong of
# bench/loopback.sh with the statistics segment off (ACCEL_STATS_SHMEM_DIR
# empty) and on (the default), in alternating runs; prints both medians and
# the ratio. Run from a build directory after `make`.
set -u

case ${1-} in
-h | --help)
	echo "usage: stats_cost.sh   (from a build directory; BENCH_PAIRS runs of each, default 3;"
	echo "                        BENCH_SECONDS, BENCH_ROUNDS and the CPU settings go to loopback.sh)"
	exit 0 ;;
'') ;;
*) echo "usage: stats_cost.sh [-h]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
pairs=${BENCH_PAIRS:-3}
case $pairs in '' | *[!0-9]* | 0) echo "stats_cost.sh: BENCH_PAIRS must be a positive integer" >&2; exit 2 ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stats_cost.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export BENCH_SKIP="ring blocking throughput redis" BENCH_ROUNDS="${BENCH_ROUNDS:-1}"

# run OFF|ON N: one loopback.sh polling run; prints the libaccel median (us).
run() {
	log=$tmp/$1.$2.log
	if [ "$1" = off ]; then
		ACCEL_STATS_SHMEM_DIR= sh "$here/loopback.sh" >"$log" 2>&1
	else
		sh "$here/loopback.sh" >"$log" 2>&1
	fi
	sed -n 's/^  libaccel avg .* median *\([0-9.]*\) us.*/\1/p' "$log" | head -n 1
}

off= on=
i=0
while [ $i -lt "$pairs" ]; do
	# alternate which goes first: a VM's figures drift within a run
	if [ $((i % 2)) -eq 0 ]; then
		a=$(run off $i)
		b=$(run on $i)
	else
		b=$(run on $i)
		a=$(run off $i)
	fi
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "stats_cost.sh: a loopback.sh run failed; its log:" >&2
		cat "$tmp"/*."$i".log >&2
		exit 1
	fi
	off="$off $a"
	on="$on $b"
	i=$((i + 1))
done
echo "sockperf TCP ping-pong 64 B, polling, both ends under libaccel, median round trip per run (us)"
echo "  statistics off (ACCEL_STATS_SHMEM_DIR=''):$off"
echo "  statistics on  (default):                 $on"
echo "$off|$on" | awk -F'|' '{
	n = split($1, a, " "); split($2, b, " ")
	for (i = 1; i <= n; i++) { sa += a[i]; sb += b[i] }
	printf "  mean off %.3f us, on %.3f us, on/off %.3f\n", sa / n, sb / n, (sb / n) / (sa / n)
}'
