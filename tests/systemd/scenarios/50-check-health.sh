#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# `zendesk-sso check` inside the booted system (files as www-data and as the
# unit's zendesk-sso, a ping to the broker as www-data), and /health: 200
# "ok" while the broker answers, 503 when its socket is stopped.
. /src/tests/systemd/lib.sh
out=$(zendesk-sso check 2>&1); rc=$?
echo "$out"
expect "zendesk-sso check passes" test $rc -eq 0
expect "... having pinged the broker as www-data" grep -q "ok: the broker answered a ping from www-data" <<<"$out"
expect "... with the unit's user (zendesk-sso, /usr/lib/systemd/system/zendesk-sso-authd.service)" \
	grep -q "zendesk-sso (broker, /usr/lib/systemd/system/zendesk-sso-authd.service)" <<<"$out"
expect "GET /zendesk/health: 200 ok" test "$(get "$BASE/health")" = "200 ok"
systemctl stop zendesk-sso-authd.socket zendesk-sso-authd.service
got=$(get "$BASE/health")
expect "with the socket stopped: 503 unavailable ($got)" test "$got" = "503 unavailable"
out=$(zendesk-sso check 2>&1); rc=$?
expect "... and check fails, naming the socket" bash -c '[ '$rc' -ne 0 ] && grep -q authd.sock <<<"$0"' "$out"
systemctl start zendesk-sso-authd.socket
expect "socket started again: 200 ok" test "$(get "$BASE/health")" = "200 ok"
finish
