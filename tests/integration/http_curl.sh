#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# curl against python3's threading http.server on 127.0.0.1: a 5 MB file, a
# missing file, a directory listing, an unsupported method and four parallel
# downloads give the same codes and bodies with libaccel in both processes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init
t_require curl python3 ss

mkdir -p "$T_TMP/www/sub" || t_fatal "cannot make the web root"
head -c 5242880 /dev/urandom >"$T_TMP/www/data.bin"
printf 'hello over http\n' >"$T_TMP/www/sub/hello.txt"
src_sha=$(t_sha "$T_TMP/www/data.bin")

# fetch NAME URL [CURL OPTIONS...]: one curl run; code, size and body recorded.
fetch()
{
	local name=$1 url=$2 rc
	shift 2
	t_run 30 curl -sS --noproxy '*' -o "$T_DIR/$name.body" -w '%{http_code} %{size_download}' \
		"$@" "$url" >"$T_DIR/$name.code" 2>"$T_DIR/$name.err"
	rc=$?
	t_record "$name" "curl exit $rc, http $(cat "$T_DIR/$name.code"), body sha256 $(t_sha "$T_DIR/$name.body" 2>/dev/null)"
}

http()
{
	local port srv base i rc pid pids=""
	port=$(t_port tcp) || return 1
	t_bg 60 "$T_PY" -m http.server --bind 127.0.0.1 --directory "$T_TMP/www" "$port" \
		>"$T_DIR/server.out" 2>"$T_DIR/server.err"
	srv=$T_PID
	t_wait_port "$port" tcp "$srv" || return 1
	base="http://127.0.0.1:$port"
	fetch file "$base/data.bin"
	fetch small "$base/sub/hello.txt"
	fetch missing "$base/missing.txt"
	fetch listing "$base/sub/"
	fetch post "$base/data.bin" -X POST --data-binary 'x=1'
	for i in 1 2 3 4; do
		t_bg 30 curl -sS --noproxy '*' -o "$T_DIR/par$i.body" "$base/data.bin" 2>"$T_DIR/par$i.err"
		pids="$pids $T_PID"
	done
	i=0
	for pid in $pids; do
		i=$((i + 1))
		t_wait "$pid"
		rc=$?
		t_record "parallel $i" "curl exit $rc, body sha256 $(t_sha "$T_DIR/par$i.body")"
	done
	kill -0 "$srv" 2>/dev/null
	t_record "server alive after the requests" "$?"
	t_stop "$srv"
}

t_both http http
plain=$(t_dir http plain)
t_eq "http (plain): file" "curl exit 0, http 200 5242880, body sha256 $src_sha" \
	"$(sed -n 's/^file: //p' "$plain/results")"
t_contains "http (plain): missing file is a 404" "$plain/results" '^missing: curl exit 0, http 404 '
t_contains "http (plain): POST is a 501" "$plain/results" '^post: curl exit 0, http 501 '
t_eq "http (plain): parallel downloads" "4" \
	"$(grep -c "^parallel [1-4]: curl exit 0, body sha256 $src_sha\$" "$plain/results")"
t_same http results file.body small.body missing.body listing.body post.body
for mode in plain accel; do
	t_lacks "http ($mode): no Python exception in the server" \
		"$(t_dir http "$mode")/server.err" 'Traceback|Error'
done
t_loaded http "$(basename "$T_PY")" curl
t_finish
