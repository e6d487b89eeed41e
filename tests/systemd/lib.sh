#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/systemd/lib.sh — helpers for shell scenarios, sourced INSIDE the
# container (zsso_systemd.py is the same for Python scenarios):
#   step TEXT            a heading
#   note TEXT            a recorded observation (not a verdict)
#   expect WHAT CMD...   the command must succeed: "ok: WHAT" or "FAIL: WHAT"
#   quiet CMD...         runs it, shows its output only when it fails
#   wait_until SECONDS CMD...   polls until the command succeeds (1 at the bound)
#   make_user NAME GECOS a local account with a random password, kept in
#                        $TEST_STATE/NAME.password
#   get URL              prints "STATUS BODY" (the body's newlines dropped)
#   finish               "N passed, N failed" for this scenario; exit 1 on a failure
. /src/tests/systemd/test-env
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
mkdir -p "$TEST_STATE"
_ok=0 _failed=0
step() { printf -- '--- %s\n' "$*"; }
note() { printf 'note: %s\n' "$*"; }
expect() {
	local what=$1; shift
	if "$@"; then echo "ok: $what"; _ok=$((_ok + 1)); return 0; fi
	echo "FAIL: $what"; _failed=$((_failed + 1)); return 1
}
quiet() { local out; out=$("$@" 2>&1) || { echo "$out"; return 1; }; }
wait_until() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}
new_secret() { head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 48; }
make_user() {
	local name=$1 gecos=$2 pw
	getent passwd "$name" >/dev/null ||
		useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --comment "$gecos" "$name"
	pw=$(new_secret)
	echo "$name:$pw" | chpasswd -c YESCRYPT   # no PAM: its password stack has pam_krb5 first here
	printf '%s\n' "$pw" >"$TEST_STATE/$name.password"
	chmod 0600 "$TEST_STATE/$name.password"
}
get() {
	local out
	out=$(curl -s --max-time 30 -w '\n%{http_code}' "$1")
	echo "$(tail -n 1 <<<"$out") $(head -n -1 <<<"$out" | tr -d '\n')"
}
snapshot() { /usr/bin/python3 -c 'import zsso_systemd as t; t.snapshot()'; }
finish() {
	echo "$_ok passed, $_failed failed"
	[ "$_failed" -eq 0 ]
	exit
}
