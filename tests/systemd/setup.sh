#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/systemd/setup.sh — runs INSIDE the booted container (scripts/systemd-test.sh):
# the package installed and set up as packaging/debian/README.Debian says,
# step by step, then a snapshot of that state (reset.sh returns to it after
# every scenario). Offline: the .deb's dependencies are in the root already.
#
# Deviations from README.Debian, all test-only and named here:
# - /etc/apache2/conf-available/zsso-test-standin.conf points the CGI at
#   the loopback Zendesk stand-in (ZENDESK_SSO_ENDPOINT_OVERRIDE, which the
#   CGI accepts for loopback addresses only);
# - network.ip_ranges is 127.0.0.0/8 (every client here is loopback);
# - a test account, its password in /root/zsso-test/password.
set -uo pipefail
. /src/tests/systemd/lib.sh

step "1. apt-get install ./zendesk-sso_*.deb (offline: its dependencies are in the root)"
expect "apt-get install /deb/zendesk-sso_*.deb" \
	quiet apt-get install -y -q --no-install-recommends /deb/zendesk-sso_*.deb || exit 1

step "README.Debian step 1: the shared secret, readable by the broker only"
install -m 0640 -o root -g zendesk-sso /dev/null /etc/zendesk-sso/secret
new_secret >/etc/zendesk-sso/secret

step "README.Debian step 2: the three placeholders"
sed -i -e 's|"subdomain": "YOUR-SUBDOMAIN"|"subdomain": "'"$SUBDOMAIN"'"|' \
	-e 's|"email": "{user}@example.invalid"|"email": "{user}@'"$EMAIL_DOMAIN"'"|' \
	-e 's|"ip_ranges": \[.*\]|"ip_ranges": ["127.0.0.0/8"]|' \
	/etc/zendesk-sso/config.json
expect "zendesk-sso check --config-only passes" zendesk-sso check --config-only

step "README.Debian step 3: switch on"
expect "systemctl enable --now zendesk-sso-authd.socket" systemctl enable --now zendesk-sso-authd.socket
expect "a2enmod cgid ssl && a2ensite default-ssl && a2enconf zendesk-sso" \
	quiet bash -c 'a2enmod cgid ssl && a2ensite default-ssl && a2enconf zendesk-sso'
# Test-only: the Zendesk endpoint is the loopback stand-in.
cat >/etc/apache2/conf-available/zsso-test-standin.conf <<EOF
# scripts/systemd-test.sh only: Zendesk is the loopback stand-in.
<Location /zendesk>
  SetEnv ZENDESK_SSO_ENDPOINT_OVERRIDE "$STANDIN_URL"
</Location>
EOF
quiet a2enconf zsso-test-standin
expect "systemctl restart apache2 (README.Debian: restart, not reload, for mod_cgid)" systemctl restart apache2
expect "GET http://127.0.0.1/zendesk/health: 200 ok" test "$(get http://127.0.0.1/zendesk/health)" = "200 ok"
expect "GET https://127.0.0.1/zendesk/health (default-ssl, snakeoil): 200 ok" \
	test "$(curl -sk --max-time 20 https://127.0.0.1/zendesk/health)" = ok
expect "zendesk-sso check (the deployment: files as www-data and zendesk-sso, a ping as www-data)" \
	zendesk-sso check

step "a test account"
make_user "$TEST_USER" "Systemd Test"
expect "getent passwd $TEST_USER" getent passwd "$TEST_USER"

step "snapshot for reset.sh"
# check's ping started the broker; scenarios begin with it stopped, as after a boot.
systemctl stop zendesk-sso-authd.service
snapshot
finish
