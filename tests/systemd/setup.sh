#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/systemd/setup.sh — runs INSIDE the booted container (scripts/systemd-test.sh):
# the package installed, then README.Debian's steps run AS WRITTEN: their
# command blocks extracted from the installed file by readme_steps.py and
# run in order, with only the substitutions listed below; then a snapshot of
# that state (reset.sh returns to it after every scenario). Offline: the
# .deb's dependencies are in the root already.
set -uo pipefail
. /src/tests/systemd/lib.sh
DOC=/usr/share/doc/zendesk-sso/README.Debian.gz

step "apt-get install ./zendesk-sso_*.deb (offline: its dependencies are in the root)"
expect "apt-get install /deb/zendesk-sso_*.deb" \
	quiet apt-get install -y -q --no-install-recommends /deb/zendesk-sso_*.deb || exit 1

step "what README.Debian does not do (test-only, before its steps)"
# A real Debian host has its name in /etc/hosts (the installer writes it)
# and a snakeoil certificate made for it (ssl-cert's postinst, at install):
# this root was built elsewhere, under another name.
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >>/etc/hosts
expect "make-ssl-cert generate-default-snakeoil for $(hostname -f)" \
	quiet make-ssl-cert generate-default-snakeoil --force-overwrite
# The Zendesk endpoint is the loopback stand-in (ZENDESK_SSO_ENDPOINT_OVERRIDE,
# which the CGI accepts for loopback addresses only); Apache reads it at
# README.Debian's restart.
cat >/etc/apache2/conf-available/zsso-test-standin.conf <<EOT
# scripts/systemd-test.sh only: Zendesk is the loopback stand-in.
<Location /zendesk>
  SetEnv ZENDESK_SSO_ENDPOINT_OVERRIDE "$STANDIN_URL"
</Location>
EOT
quiet a2enconf zsso-test-standin
# The test account (step 4's probe signs it in), its password in $TEST_STATE.
make_user "$TEST_USER" "Systemd Test"
new_secret >"$TEST_STATE/zendesk-secret"
echo >>"$TEST_STATE/zendesk-secret"   # pasted, then Enter

step "README.Debian's steps, as written ($DOC; tests/systemd/readme_steps.py)"
# The substitutions, all of them (one that applies nowhere fails the run):
#   the shared secret: the paste of step 1 is a random one;
#   the three placeholders of step 2: the test's subdomain and mail domain,
#     and 127.0.0.0/8 (every client here is on loopback);
#   the test account: step 4's probe signs in $TEST_USER with its password;
#   blocks not run here, each with the reason.
expect "README.Debian's steps run as written" /usr/bin/python3 /src/tests/systemd/readme_steps.py "$DOC" --run \
	--stdin 'cat > /etc/zendesk-sso/secret' "$TEST_STATE/zendesk-secret" \
	--placeholder zendesk.subdomain "\"$SUBDOMAIN\"" \
	--placeholder claims.email "\"{user}@$EMAIL_DOMAIN\"" \
	--placeholder network.ip_ranges '["127.0.0.0/8"]' \
	--replace '--user alice' "--user $TEST_USER" \
	--stdin 'zendesk-sso probe ' "$TEST_STATE/$TEST_USER.password" \
	--skip 'apt install fcgiwrap' "nginx instead of Apache: 60-nginx-fcgiwrap (its own server block)" \
	--skip 'zendesk-sso sync' "optional, Zendesk's users API: 70-sync (against tests/sync's stand-in)" \
	--skip 'mkdir -p /etc/systemd/system/zendesk-sso-authd.service.d' "a drop-in for other stacks: the otp and password-change scenarios" \
	--skip 'rm -r /etc/zendesk-sso' "after a purge" || exit 1

step "the stage's own checks of the result"
expect "GET http://127.0.0.1/zendesk/health: 200 ok" test "$(get http://127.0.0.1/zendesk/health)" = "200 ok"
expect "GET https://127.0.0.1/zendesk/health (default-ssl, snakeoil): 200 ok" \
	test "$(curl -sk --max-time 20 https://127.0.0.1/zendesk/health)" = ok

step "snapshot for reset.sh"
# check's ping and the probe started the broker; scenarios begin with it
# stopped, as after a boot.
systemctl stop zendesk-sso-authd.service
snapshot
finish
