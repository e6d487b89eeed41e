#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/package-test.sh — the .deb from build to purge, on this machine:
#   build (prefix /usr, Debian's hardening flags) -> cpack -G DEB -> dpkg -c
#   lists every expected file -> lintian -> apt-get install ./zendesk-sso_*.deb
#   -> nothing setuid/setgid -> no generated key -> `zendesk-sso check`
#   on the installed example -> README.Debian's five-minute path (secret,
#   subdomain/email/ranges, nothing else) -> an admin's config and secret
#   survive a reinstall -> an older version's CSRF key is left on upgrade -> remove / reinstall keeps the Apache conf state ->
#   E2E happy path against the INSTALLED files (Apache with the installed conf
#   and CGI, the installed broker, PAM service and module, a real local
#   account) -> apt-get purge -> only what Debian policy keeps is left (the
#   admin's secrets, the system user), then those too.
#
# Root only (it installs a package); as anyone else it says SKIP and exits 0.
# Leaves the machine as it found it, also on failure (trap). Idempotent: a run
# killed half-way is cleaned up by the next one.
#
#   scripts/package-test.sh              build dir: build-pkg/ in the source tree
#   ZSSO_PKG_BUILD_DIR=/x scripts/package-test.sh
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ZSSO_PKG_BUILD_DIR:-$SRC/build-pkg}
PY=/usr/bin/python3                  # Debian's, with python3-jwt
STATE=/run/zendesk-sso-package-test.state
PGIDS=/run/zendesk-sso-package-test.pgids
TEST_USER=zsso-pkgtest
PKG=zendesk-sso

if [ "$(id -u)" -ne 0 ]; then
	echo "package-test: SKIP: needs root (it installs and purges the $PKG package on this machine)"
	exit 0
fi
umask 022
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# --- bookkeeping -------------------------------------------------------------
declare -a RESULTS=()
FAILED=0
T_START=$(date +%s)

say() { printf '\n=== %s\n' "$*"; }
pass() { RESULTS+=("PASS  $1"); echo "PASS: $1"; }
fail() { RESULTS+=("FAIL  $1"); echo "FAIL: $1"; FAILED=1; }
# expect DESCRIPTION COMMAND...: the command must succeed.
expect() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
timed() {   # timed NAME COMMAND...: runs, records PASS/FAIL with seconds
	local what=$1 t0 rc; shift
	t0=$(date +%s)
	"$@"; rc=$?
	if [ $rc -eq 0 ]; then pass "$what ($(( $(date +%s) - t0 )) s)"; else fail "$what (exit $rc)"; fi
	return $rc
}
quiet() { local out; out=$("$@" 2>&1) || { echo "$out"; return 1; }; }   # output only on failure
remember() { echo "$1" >>"$STATE"; }
remembered() { [ -f "$STATE" ] && grep -qx "$1" "$STATE"; }

# Everything with our name in the places a package touches, to compare
# before install and after purge.
footprint() {
	find /etc /usr /var/lib /var/cache/apt/archives /var/mail /run \
		\( -name '*zendesk*' -o -name "*$TEST_USER*" \) -print 2>/dev/null |
		grep -v -e '^/run/zendesk-sso-package-test\.\(state\|pgids\)$' | sort
}

# Undo everything this script (or a killed earlier run) did. Safe to repeat.
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	say "cleanup"
	# Apache and the broker of a killed E2E run, by the process group ids it
	# recorded (only groups whose leader is still one of those programs).
	if [ -f "$PGIDS" ]; then
		while read -r pgid; do
			case "$(ps -o comm= -p "$pgid" 2>/dev/null)" in
				apache2|systemd-socket-*) kill -TERM -- "-$pgid" 2>/dev/null ;;
			esac
		done <"$PGIDS"
		rm -f "$PGIDS"
	fi
	if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
		if remembered installed-by-test; then
			apt-get purge -y -q "$PKG" >/dev/null 2>&1 || dpkg --purge "$PKG" >/dev/null 2>&1
		fi
	fi
	if remembered secrets-written; then
		rm -f /etc/zendesk-sso/secret /etc/zendesk-sso/secret-agents /etc/zendesk-sso/csrf-key
		rmdir /etc/zendesk-sso 2>/dev/null
	fi
	remembered run-dir-by-test && rm -rf /run/zendesk-sso
	if remembered test-user-created && getent passwd "$TEST_USER" >/dev/null; then
		userdel "$TEST_USER" >/dev/null 2>&1
		rm -f "/run/faillock/$TEST_USER"
	fi
	if remembered broker-user-created && getent passwd zendesk-sso >/dev/null; then
		userdel zendesk-sso >/dev/null 2>&1
		getent group zendesk-sso >/dev/null && groupdel zendesk-sso >/dev/null 2>&1
	fi
	remembered agents-service-written && rm -f /etc/pam.d/zendesk-sso-agents
	remembered agents-group-created && groupdel zd-agents >/dev/null 2>&1
	rm -f "$STATE"
	exit $rc
}

if [ -f "$STATE" ]; then
	echo "package-test: an earlier run did not finish; cleaning up after it first"
	( cleanup ) ; true
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install ok'; then
	echo "package-test: FAIL: $PKG is already installed here; this test would replace it (purge it first)"
	exit 1
fi
for f in /etc/zendesk-sso /etc/pam.d/zendesk-sso /etc/apache2/conf-available/zendesk-sso.conf /run/zendesk-sso; do
	if [ -e "$f" ]; then
		echo "package-test: FAIL: $f exists (a manual install?); this test would overwrite it — move it away first"
		exit 1
	fi
done
: >"$STATE"
trap cleanup EXIT
trap 'exit 130' INT TERM

getent passwd zendesk-sso >/dev/null || remember broker-user-created
FOOTPRINT_BEFORE=$(footprint)

# --- 1. build and package ----------------------------------------------------
say "build ($BUILD) and cpack -G DEB"
# scripts/build-deb.sh: the build scripts/systemd-test.sh installs too. This
# test always builds (incrementally); the systemd stage reuses its .deb.
build() { DEB=$("$SRC/scripts/build-deb.sh" "$BUILD"); }
timed "build + cpack -G DEB" build || exit 1
echo "package: $DEB ($(stat -c %s "$DEB") bytes)"
dpkg-deb --info "$DEB" | sed -n '/Package:/,$p'

# --- 2. contents ---------------------------------------------------------------
say "dpkg -c"
dpkg -c "$DEB"
ARCH_TRIPLET=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
EXPECTED_FILES="
/etc/zendesk-sso/config.json
/etc/pam.d/zendesk-sso
/etc/apache2/conf-available/zendesk-sso.conf
/etc/nginx/snippets/zendesk-sso.conf
/etc/nginx/snippets/zendesk-sso-fastcgi.conf
/usr/bin/zendesk-sso
/usr/sbin/zendesk-sso-authd
/usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi
/usr/lib/$ARCH_TRIPLET/security/pam_zendesk.so
/usr/lib/$ARCH_TRIPLET/zendesk-sso/zendesk-sso-direct.so
/usr/lib/systemd/system/zendesk-sso-authd.socket
/usr/lib/systemd/system/zendesk-sso-authd.service
/usr/lib/systemd/system/zendesk-sso-sync.service
/usr/lib/systemd/system/zendesk-sso-sync.timer
/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/network.conf
/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/otp.conf
/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/otp-glued.conf
/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/password-change.conf
/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/webauthn.conf
/usr/share/man/man1/zendesk-sso.1.gz
/usr/share/man/man5/zendesk-sso.json.5.gz
/usr/share/man/man8/pam_zendesk.8.gz
/usr/share/man/man8/zendesk-sso.cgi.8.gz
/usr/share/man/man8/zendesk-sso-authd.8.gz
/usr/share/doc/zendesk-sso/copyright
/usr/share/doc/zendesk-sso/changelog.gz
/usr/share/doc/zendesk-sso/README.Debian.gz
/usr/share/doc/zendesk-sso/admin-guide.md.gz
/usr/share/doc/zendesk-sso/images/branded-login.png
/usr/share/doc/zendesk-sso/images/multistep-code.png
/usr/share/doc/zendesk-sso/images/passkey-form.png
/usr/share/doc/zendesk-sso/images/password-change-1.png
/usr/share/doc/zendesk-sso/images/password-change-2.png
/usr/share/doc/zendesk-sso/images/password-expired.png
/usr/share/doc/zendesk-sso/images/password-expired-phone.png
/usr/share/doc/zendesk-sso/images/webauthn-ask.png
/usr/share/doc/zendesk-sso/images/webauthn-failed.png
/usr/share/doc/zendesk-sso/images/webauthn-failed-phone.png
/usr/share/doc/zendesk-sso/images/webauthn-enrol.png
/usr/share/doc/zendesk-sso/images/webauthn-enrol-added.png
/usr/share/locale/de/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/es/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/fr/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/it/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/ja/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/nl/LC_MESSAGES/zendesk-sso.mo
/usr/share/locale/pt_BR/LC_MESSAGES/zendesk-sso.mo
/usr/share/lintian/overrides/zendesk-sso
"
LISTING=$(dpkg -c "$DEB")
PKG_FILES=$(awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' <<<"$LISTING" | sort)
missing=$(comm -23 <(tr ' ' '\n' <<<"$EXPECTED_FILES" | sed '/^$/d' | sort) <(echo "$PKG_FILES"))
expect "dpkg -c lists every expected file${missing:+ (missing: $(echo $missing))}" test -z "$missing"
# Anything else must be documentation (examples) — new files show up here.
extra=$(comm -13 <(tr ' ' '\n' <<<"$EXPECTED_FILES" | sed '/^$/d' | sort) <(echo "$PKG_FILES") |
	grep -v '^/usr/share/doc/zendesk-sso/examples/')
expect "no unexpected files in the package${extra:+ (extra: $(echo $extra))}" test -z "$extra"
# Every picture the shipped guide links is shipped beside it.
unshipped=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/zendesk-sso/admin-guide.md.gz | gzip -dc |
	grep -o '(images/[A-Za-z0-9_.-]*)' | tr -d '()' | sort -u |
	while read -r img; do grep -qx "/usr/share/doc/zendesk-sso/$img" <<<"$PKG_FILES" || echo "$img"; done)
expect "every image the admin guide links is in the package${unshipped:+ (missing: $(echo $unshipped))}" \
	test -z "$unshipped"
expect "every entry is owned by root/root" test -z "$(awk '$2 != "root/root"' <<<"$LISTING")"
expect "no entry in the package is setuid/setgid" test -z "$(awk '$1 ~ /[sS]/' <<<"$LISTING")"
expect "conffiles: config, PAM service, Apache conf, nginx snippets" \
	test "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | sort | tr '\n' ' ')" = \
	"/etc/apache2/conf-available/zendesk-sso.conf /etc/nginx/snippets/zendesk-sso-fastcgi.conf /etc/nginx/snippets/zendesk-sso.conf /etc/pam.d/zendesk-sso /etc/zendesk-sso/config.json "
expect "Depends names adduser, libpam-runtime, libpam0g, libssl3" \
	bash -c "dpkg-deb -f '$DEB' Depends | grep -q 'adduser' && dpkg-deb -f '$DEB' Depends | grep -q 'libpam-runtime' && dpkg-deb -f '$DEB' Depends | grep -q 'libpam0g' && dpkg-deb -f '$DEB' Depends | grep -q 'libssl3'"
# The broker verifies security keys with libfido2 (and libcbor), issue 23.
expect "Depends names libfido2-1 and libcbor0.8 (the broker's security keys)" \
	bash -c "dpkg-deb -f '$DEB' Depends | grep -q 'libfido2-1' && dpkg-deb -f '$DEB' Depends | grep -q 'libcbor0.8'"

# --- 3. lintian ----------------------------------------------------------------
say "lintian"
t0=$(date +%s)
lintian --display-info --fail-on error,warning "$DEB"; rc=$?
expect "lintian: no errors or warnings ($(( $(date +%s) - t0 )) s)" test $rc -eq 0

# --- 4. install ----------------------------------------------------------------
say "apt-get install ./$(basename "$DEB")"
remember installed-by-test
timed "apt-get install ./$(basename "$DEB")" apt-get install -y -q --no-install-recommends "$DEB" || exit 1

installed_files() { dpkg-query -L "$PKG" | while read -r f; do [ -f "$f" ] && echo "$f"; done; }
expect "every packaged file is on disk" bash -c 'for f in '"$(echo $PKG_FILES)"'; do [ -e "$f" ] || { echo "missing $f"; exit 1; }; done'
suid=$(installed_files | xargs -r stat -c '%a %n' | awk 'length($1) == 4 && substr($1,1,1) ~ /[2-7]/')
expect "no installed file is setuid/setgid${suid:+ ($suid)}" test -z "$suid"
expect "system user zendesk-sso: system uid, home /nonexistent, no login shell" bash -c '
	IFS=: read -r name _ uid gid _ home shell < <(getent passwd zendesk-sso) &&
	[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ ! -e /nonexistent ] &&
	case "$shell" in */nologin|*/false) true;; *) false;; esac &&
	[ "$(getent group zendesk-sso | cut -d: -f3)" = "$gid" ]'
expect "postinst created no secret" test ! -e /etc/zendesk-sso/secret
# /metrics: the sync unit (a DynamicUser in group zendesk-sso) writes its last
# run there through ReadWritePaths=, the CGI (www-data) reads it.
expect "postinst made the sync's last-run file: root:zendesk-sso 0664, empty, in a 0755 folder" bash -c '
	[ "$(stat -c "%U:%G %a %s" /var/lib/zendesk-sso/metrics/sync)" = "root:zendesk-sso 664 0" ] &&
	[ "$(stat -c "%U:%G %a" /var/lib/zendesk-sso/metrics)" = "root:root 755" ] &&
	grep -qx "ReadWritePaths=-/var/lib/zendesk-sso/metrics/sync" /usr/lib/systemd/system/zendesk-sso-sync.service'
# The shipped config is broker mode; the CGI needs no key (its CSRF check is
# a random cookie and Sec-Fetch-Site/Origin), so postinst makes none.
CSRF_KEY=/etc/zendesk-sso/csrf-key   # what older versions generated
expect "postinst generated no CSRF key" test ! -e "$CSRF_KEY"
SOCKET=$(sed -n 's/^ListenStream=//p' /usr/lib/systemd/system/zendesk-sso-authd.socket)
expect "the shipped config names the socket the installed unit listens on ($SOCKET), and no CSRF key" \
	bash -c 'grep -q -e "^ *\"broker\": { \"socket\": \"$0\"" /etc/zendesk-sso/config.json &&
		! grep -q csrf_key_file /etc/zendesk-sso/config.json' "$SOCKET"
expect "man finds the installed pages" bash -c 'for p in "1 zendesk-sso" "5 zendesk-sso.json" "8 zendesk-sso.cgi" "8 zendesk-sso-authd" "8 pam_zendesk"; do man -w $p >/dev/null || exit 1; done'
if command -v systemd-analyze >/dev/null; then
	expect "systemd-analyze verify accepts the installed units (socket, service, man pages)" \
		systemd-analyze verify /usr/lib/systemd/system/zendesk-sso-authd.socket /usr/lib/systemd/system/zendesk-sso-authd.service
fi

# --- 5. zendesk-sso check on the installed example -----------------------------
say "zendesk-sso check (installed example)"
# --config-only: the broker's socket is not enabled yet (README.Debian
# step 3); the deployment half of check is the cli suite's.
out=$(zendesk-sso check --config-only 2>&1); rc=$?
echo "$out"
expect "without secrets, check fails naming the secret file" \
	bash -c '[ '$rc' -eq 1 ] && grep -q "/etc/zendesk-sso/secret" <<<"$0"' "$out"
expect "... and each shipped placeholder, saying what to edit" \
	bash -c 'grep -q "^zendesk.subdomain: \"YOUR-SUBDOMAIN\" is the shipped placeholder: edit /etc/zendesk-sso/config.json" <<<"$0" &&
		grep -q "^claims.email: \"{user}@example.invalid\" is the shipped placeholder" <<<"$0" &&
		grep -q "^network.ip_ranges\[0\]: \"192.0.2.0/24\" is a documentation range" <<<"$0"' "$out"
# What the admin does (README.Debian): the shared secret(s), readable by the broker's group.
new_secret() { head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 48; }
remember secrets-written
for s in secret secret-agents; do
	install -m 0640 -o root -g zendesk-sso /dev/null "/etc/zendesk-sso/$s"
	new_secret >"/etc/zendesk-sso/$s"
done
out=$(zendesk-sso check --config-only 2>&1); rc=$?
echo "$out"
expect "with test secrets, check still refuses the shipped placeholders (and only them; no retired-key warning)" \
	bash -c '[ '$rc' -eq 1 ] && [ "$(grep -c placeholder <<<"$0")" -eq 3 ] && [ "$(grep -vc "^warning:" <<<"$0")" -eq 3 ] &&
		! grep -q csrf_key_file <<<"$0"' "$out"

# --- 6. the admin's edits (README.Debian step 2) --------------------------------
say "the admin's edits: subdomain, email, ip_ranges — nothing for broker mode"
# The secrets are in place (above); the shipped config already is broker
# mode, so these three are all an admin edits.
SUBDOMAIN=zsso-pkgtest EMAIL_DOMAIN=pkgtest.example
sed -i -e 's|"subdomain": "YOUR-SUBDOMAIN"|"subdomain": "'$SUBDOMAIN'"|' \
	-e 's|"email": "{user}@example.invalid"|"email": "{user}@'$EMAIL_DOMAIN'"|' \
	-e 's|"ip_ranges": \[.*\]|"ip_ranges": ["127.0.0.1/32"]|' \
	/etc/zendesk-sso/config.json
out=$(zendesk-sso check --config-only 2>&1); rc=$?
echo "$out"
expect "the edited config passes check, with the admin's subdomain and ranges" \
	bash -c '[ '$rc' -eq 0 ] && grep -q "https://'$SUBDOMAIN'.zendesk.com/access/jwt, 1 ip_ranges entry" <<<"$0"' "$out"
sum_before=$(md5sum /etc/zendesk-sso/config.json /etc/zendesk-sso/secret)
a2enconf -q zendesk-sso >/dev/null
expect "a2enconf zendesk-sso enables the installed conf" test -L /etc/apache2/conf-enabled/zendesk-sso.conf
say "apt-get remove, then install again: the admin's edits survive"
timed "apt-get remove" quiet apt-get remove -y -q "$PKG"
expect "remove: binaries gone, conffiles and secrets kept" bash -c '
	[ ! -e /usr/bin/zendesk-sso ] && [ ! -e /usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi ] &&
	[ -e /etc/zendesk-sso/config.json ] && [ -e /etc/pam.d/zendesk-sso ] && [ -e /etc/zendesk-sso/secret ]'
expect "remove: the Apache conf is disabled (by the maintainer script)" \
	bash -c '[ ! -e /etc/apache2/conf-enabled/zendesk-sso.conf ] && { a2query -q -c zendesk-sso; [ $? -eq 33 ]; }'
timed "dpkg -i after remove" quiet dpkg -i "$DEB"
expect "reinstall after remove enables the conf again and keeps the admin's config and secret" bash -c '
	a2query -q -c zendesk-sso && [ "$(md5sum /etc/zendesk-sso/config.json /etc/zendesk-sso/secret)" = "$0" ]' \
	"$sum_before"
# An upgrade from a version that generated the CSRF key (postinst configure
# OLD-VERSION, as dpkg runs it): the key is left as it was, postinst says it
# is unused, and it stays until purge (section 8 checks purge deletes it).
# The admin's leftover helper.csrf_key_file line only draws a warning.
POSTINST=/var/lib/dpkg/info/$PKG.postinst
VERSION=$(dpkg-query -W -f='${Version}' "$PKG")
install -m 0640 -o root -g www-data /dev/null "$CSRF_KEY"
{ head -c 32 /dev/urandom | base64 -w0 && echo; } >"$CSRF_KEY"
key_sum=$(md5sum <"$CSRF_KEY")
out=$("$POSTINST" configure "$VERSION" 2>&1)
expect "upgrade: postinst leaves an older version's $CSRF_KEY as it was" \
	bash -c '[ "$(md5sum <"$1")" = "$0" ] && [ "$(stat -c "%U:%G %a" "$1")" = "root:www-data 640" ]' "$key_sum" "$CSRF_KEY"
expect "... and says it is no longer used" grep -q "csrf-key is no longer used" <<<"$out"
cp -p /etc/zendesk-sso/config.json "$BUILD/package-test.config.json"
sed -i 's|"helper": {|"helper": { "csrf_key_file": "'"$CSRF_KEY"'",|' /etc/zendesk-sso/config.json
out=$(zendesk-sso check --config-only 2>&1); rc=$?
expect "an old config's helper.csrf_key_file still loads: check passes with a warning naming it" \
	bash -c '[ '$rc' -eq 0 ] && grep -q "^warning: helper.csrf_key_file: no longer used" <<<"$0"' "$out"
cp -p "$BUILD/package-test.config.json" /etc/zendesk-sso/config.json
rm -f "$BUILD/package-test.config.json"

# --- 7. E2E happy path against the installed files -----------------------------
say "E2E against the installed files"
if ! getent passwd "$TEST_USER" >/dev/null; then
	useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--comment "Package Test,Room 9" "$TEST_USER" && remember test-user-created
fi
# The admin guide's section 6: an "agents" profile (config-full.json's) with
# its own PAM service, zendesk-sso-agents (pam_zendesk.so profile=agents);
# the user is an agent.
sed -i '$s|^}$|  ,"profiles": { "agents": { "zendesk": { "secret_file": "/etc/zendesk-sso/secret-agents" }, "access": { "allowed_groups": ["zd-agents", "zd-admins"] }, "pam": { "service": "zendesk-sso-agents" } } }\n}|' \
	/etc/zendesk-sso/config.json
remember agents-service-written
sed 's/pam_zendesk\.so$/pam_zendesk.so profile=agents/' /etc/pam.d/zendesk-sso >/etc/pam.d/zendesk-sso-agents
getent group zd-agents >/dev/null || { groupadd zd-agents && remember agents-group-created; }
usermod -a -G zd-agents "$TEST_USER"
expect "the config with the agents profile's PAM service passes check" zendesk-sso check --config-only
PWFILE=$(mktemp)
new_secret >"$PWFILE"
echo "$TEST_USER:$(cat "$PWFILE")" | chpasswd
remember run-dir-by-test
ZSSO_PKGTEST_PGID_FILE=$PGIDS timed "installed E2E happy path" \
	"$PY" "$SRC/packaging/tests/installed_e2e.py" --user "$TEST_USER" \
	--password-file "$PWFILE" --subdomain "$SUBDOMAIN" --email-domain "$EMAIL_DOMAIN"
rm -f "$PWFILE" /etc/pam.d/zendesk-sso-agents
rm -rf /run/zendesk-sso   # what systemd would remove with the socket (RemoveOnStop) or at reboot

# --- 8. purge ------------------------------------------------------------------
say "apt-get purge"
timed "apt-get purge" apt-get purge -y -q "$PKG"
expect "dpkg no longer knows the package" \
	bash -c '! dpkg-query -W -f="\${Status}" '"$PKG"' 2>/dev/null | grep -q "ok"'
left=$(for f in $PKG_FILES; do [ -e "$f" ] && echo "$f"; done)
expect "every packaged file is gone${left:+ (left: $(echo $left))}" test -z "$left"
expect "no enabled Apache conf or state left" bash -c '
	[ ! -e /etc/apache2/conf-enabled/zendesk-sso.conf ] &&
	! ls /var/lib/apache2/conf/*/zendesk-sso >/dev/null 2>&1'
kept=$(footprint | comm -13 <(echo "$FOOTPRINT_BEFORE") -)
echo "left after purge (kept by policy):"; echo "$kept" | sed 's/^/  /'
expect "purge leaves nothing with our name but /etc/zendesk-sso" test "$(grep -v "$TEST_USER" <<<"$kept")" = /etc/zendesk-sso
expect "/etc/zendesk-sso holds only the admin's secrets (an older version's CSRF key is gone)" \
	test "$(ls -A /etc/zendesk-sso | tr '\n' ' ')" = "secret secret-agents "
expect "purge keeps the system user zendesk-sso (Debian practice)" getent passwd zendesk-sso

# The test's own leftovers go too; then the footprint must be what it was.
rm -f /etc/zendesk-sso/secret /etc/zendesk-sso/secret-agents; rmdir /etc/zendesk-sso
if remembered broker-user-created; then userdel zendesk-sso; getent group zendesk-sso >/dev/null && groupdel zendesk-sso; fi
if remembered test-user-created; then userdel "$TEST_USER"; rm -f "/run/faillock/$TEST_USER"; fi
if remembered agents-group-created; then groupdel zd-agents; fi
sed -i -e '/^broker-user-created$/d' -e '/^test-user-created$/d' -e '/^secrets-written$/d' \
	-e '/^agents-group-created$/d' "$STATE"
expect "after removing the test's secrets and users, the machine is as before" \
	test "$(footprint)" = "$FOOTPRINT_BEFORE"

# --- summary -------------------------------------------------------------------
say "summary ($(( $(date +%s) - T_START )) s)"
printf '%s\n' "${RESULTS[@]}"
if [ $FAILED -eq 0 ]; then echo "package-test: PASS"; else echo "package-test: FAIL"; fi
exit $FAILED
