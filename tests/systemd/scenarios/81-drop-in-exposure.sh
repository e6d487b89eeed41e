# SPDX-License-Identifier: BSD-3-Clause
# systemd-analyze security of the broker with each opt-in drop-in the package
# ships (/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/), linked
# in as its comment says, measured as systemd loads it: the figure must be
# the one the drop-in's comment (and the admin guide) states. The unit alone
# is 80-security.sh's.
. /src/tests/systemd/lib.sh
d=/etc/systemd/system/zendesk-sso-authd.service.d
mkdir -p "$d"
for f in /usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/*.conf; do
	name=$(basename "$f")
	step "systemd-analyze security zendesk-sso-authd.service with $name"
	rm -f "$d"/*.conf
	ln -s "$f" "$d/"
	systemctl daemon-reload
	out=$(systemd-analyze security --no-pager zendesk-sso-authd.service 2>&1)
	echo "$out" | grep -E '^✗|Overall'
	level=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]* [A-Z]*\).*/\1/p' <<<"$out")
	said=$(sed -n 's/^# systemd-analyze security.*, the shipped unit with this file: \([0-9.]* [A-Z]*\)$/\1/p' "$f")
	note "zendesk-sso-authd.service with $name: exposure $level (its comment: $said)"
	expect "$name: the live exposure ($level) is the one its comment states ($said)" test "$level" = "$said"
done
rm -f "$d"/*.conf
systemctl daemon-reload
finish
