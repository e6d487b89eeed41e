#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/systemd/build-root.sh — the Debian 12 root filesystem that
# scripts/systemd-test.sh boots under systemd-nspawn; prints its path.
#
# Built once with mmdebstrap from the archive the host's apt uses (this is
# the install step: it downloads; the tests themselves are offline) and
# cached OUTSIDE the clone, in $ZSSO_NSPAWN_CACHE (/var/tmp/zendesk-sso-nspawn)
# under <hash>/root, where <hash> covers the lines of root-packages.txt and
# of this script that are not comments: a changed package list or recipe
# builds a new root, a changed comment does not. Atomic: built in a
# temporary directory and renamed, so a killed build never leaves a half
# root behind; a flock makes concurrent runs wait for one build. The three
# newest roots are kept. Root only. 1-5 minutes (the mirror, the load) and
# ~320 MB.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${ZSSO_NSPAWN_CACHE:-/var/tmp/zendesk-sso-nspawn}
list=$here/root-packages.txt
hash=$(grep -hEv '^\s*(#|$)' "$list" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
root=$cache/$hash/root

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$root/sbin/init" ] && [ -f "$cache/$hash/complete" ]; then
	touch "$cache/$hash/complete"   # the keep-the-newest order below
	echo "$root"
	exit 0
fi
# Leftovers of killed builds (we hold the lock: nobody else is building).
rm -rf "$cache"/tmp.* "${cache:?}/$hash"

mapfile -t pkgs < <(grep -Ev '^\s*(#|$)' "$list")
tmp=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The host's own apt sources (deb822 or one-line), as apt on this host uses them.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && grep -Eq '^\s*(deb|Types:)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "build-root: no apt sources on this host" >&2; exit 1; }
echo "build-root: mmdebstrap bookworm (${#pkgs[@]} packages) into $root" >&2
t0=$SECONDS
# The customize hook: what every scenario expects of the booted system.
# - Services a Debian install starts that the tests start themselves when
#   they need them (nginx would take Apache's port 80; the KDC has no realm,
#   FreeRADIUS none of our configuration yet) are disabled, so the boot
#   ends "running", not "degraded".
# - Timers that would reach for the network, or start services in the
#   middle of a run, are masked.
mmdebstrap --mode=root --variant=minbase --quiet \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	--customize-hook='chroot "$1" systemctl disable nginx.service krb5-kdc.service krb5-admin-server.service freeradius.service 2>/dev/null || true' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer 2>/dev/null || true' \
	--customize-hook='echo zsso-nspawn >"$1/etc/hostname"' \
	--customize-hook='rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"' \
	bookworm "$tmp/root" "${sources[@]}" >&2
touch "$tmp/complete"
mv "$tmp" "$cache/$hash"
trap - EXIT
echo "build-root: built in $((SECONDS - t0)) s, $(du -sh "$root" | cut -f1)" >&2
# Keep the three newest roots (other branches may use other lists).
ls -1dt "$cache"/*/complete 2>/dev/null | tail -n +4 | while read -r old; do rm -rf "$(dirname "$old")"; done
echo "$root"
