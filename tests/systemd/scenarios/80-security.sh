#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd-analyze security of the shipped services as systemd loads them
# (the broker's exposure stays <= 1.0, as tests/broker/test_systemd_units.py
# asserts offline), and the network properties systemd applies. systemd
# cannot enforce IPAddressDeny= (cgroup BPF) inside this container, so the
# properties are asserted as systemctl show reports them.
. /src/tests/systemd/lib.sh
for unit in zendesk-sso-authd.service zendesk-sso-sync.service; do
	step "systemd-analyze security $unit"
	out=$(systemd-analyze security --no-pager "$unit" 2>&1)
	echo "$out" | grep -E '^✗|Overall'
	level=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$out")
	note "exposure of $unit: $level"
	expect "$unit: an exposure figure ($level)" test -n "$level"
done
expect "zendesk-sso-authd.service: exposure <= 1.0 (--threshold=10)" \
	quiet systemd-analyze security --no-pager --threshold=10 zendesk-sso-authd.service
step "network properties (systemctl show)"
show() { systemctl show -p "$2" --value "$1"; }
sorted_words() { tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '; }
a=zendesk-sso-authd.service
echo "$a: $(systemctl show -p PrivateNetwork,IPAddressDeny,IPAddressAllow,RestrictAddressFamilies $a | tr '\n' ' ')"
expect "$a: PrivateNetwork=yes" test "$(show $a PrivateNetwork)" = yes
expect "$a: RestrictAddressFamilies=AF_UNIX" test "$(show $a RestrictAddressFamilies)" = AF_UNIX
expect "$a: IPAddressDeny= every address (any)" test "$(show $a IPAddressDeny | sorted_words)" = "0.0.0.0/0 ::/0 "
expect "$a: IPAddressAllow= none" test -z "$(show $a IPAddressAllow)"
s=zendesk-sso-sync.service
echo "$s: $(systemctl show -p PrivateNetwork,IPAddressDeny,IPAddressAllow,RestrictAddressFamilies $s | tr '\n' ' ')"
expect "$s: PrivateNetwork=no (it talks to Zendesk and the directory)" test "$(show $s PrivateNetwork)" = no
expect "$s: RestrictAddressFamilies= AF_INET AF_INET6 AF_UNIX (in any order)" \
	test "$(show $s RestrictAddressFamilies | sorted_words)" = "AF_INET AF_INET6 AF_UNIX "
step "the sandbox as the booted broker has it"
systemctl start zendesk-sso-authd.service
pid=$(show $a MainPID)
expect "the broker's network namespace is its own (PrivateNetwork)" \
	test "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/1/ns/net)"
expect "no capabilities (CapEff 0)" test "$(awk '/^CapEff/ {print $2}' /proc/$pid/status)" = 0000000000000000
expect "seccomp filter on (Seccomp: 2)" test "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)" = 2
expect "NoNewPrivs" test "$(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)" = 1
finish
