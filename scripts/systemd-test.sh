#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/systemd-test.sh — the .deb under a booted systemd (issue 21):
#   a Debian 12 root (tests/systemd/build-root.sh, cached under /var/tmp)
#   -> the .deb (scripts/build-deb.sh, reused when package-test.sh built it
#   from this tree) -> systemd-nspawn --boot, private network, volatile
#   overlay (the cached root is never written) -> inside: the package set up
#   as README.Debian says (tests/systemd/setup.sh) -> every scenario in
#   tests/systemd/scenarios/, each through Apache -> CGI -> the socket-
#   activated broker under its real unit -> power off.
# The scenarios run inside the container, one after the other, each from
# the state setup.sh left (tests/systemd/reset.sh restores it in between).
# How to add one: tests/systemd/README.md.
#
# Root only; as anyone else it says SKIP and exits 0. Cleans up after itself
# on failure and Ctrl-C (container powered off, its cgroups and work dir
# removed). Costs: the root once (1-5 min, ~320 MB), then 1-3 min a run.
#
#   scripts/systemd-test.sh                      every scenario
#   scripts/systemd-test.sh password session     only scenarios whose file name contains a word
#   ZSSO_PKG_BUILD_DIR=/x  the .deb's build dir (default build-pkg/, as package-test.sh)
#   ZSSO_NSPAWN_CACHE=/x   where roots are cached (default /var/tmp/zendesk-sso-nspawn)
#   ZSSO_SYSTEMD_KEEP=1    leave the container running at the end (prints how to enter it)
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ZSSO_PKG_BUILD_DIR:-$SRC/build-pkg}
T=$SRC/tests/systemd

if [ "$(id -u)" -ne 0 ]; then
	echo "systemd-test: SKIP: needs root (debootstraps a root filesystem and boots it with systemd-nspawn)"
	exit 0
fi
for tool in systemd-nspawn mmdebstrap nsenter; do
	command -v "$tool" >/dev/null || { echo "systemd-test: FAIL: $tool missing (scripts/install-deps.sh installs it)"; exit 1; }
done
T_START=$SECONDS

# A run killed with SIGKILL (no trap) left its container, cgroups and work
# dir: the next run powers that container off and removes them.
for old in /var/tmp/zendesk-sso-systemd-test.*; do
	[ -f "$old/owner" ] || continue
	owner=$(cat "$old/owner")
	kill -0 "$owner" 2>/dev/null && continue   # a run in progress
	echo "systemd-test: cleaning up after a killed run ($old)"
	npid=$(cat "$old/nspawn.pid" 2>/dev/null)
	if [ -n "$npid" ] && [ "$(ps -o comm= -p "$npid" 2>/dev/null)" = systemd-nspawn ]; then
		for p in $(pgrep -P "$npid"); do kill -RTMIN+4 "$p" 2>/dev/null; done
		for _ in $(seq 300); do kill -0 "$npid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$npid" 2>/dev/null
	fi
	for cg in /sys/fs/cgroup/zendesk-sso-systemd-test."$owner" /sys/fs/cgroup/*/zendesk-sso-systemd-test."$owner"; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$old"
done

WORK=$(mktemp -d /var/tmp/zendesk-sso-systemd-test.XXXXXX)
chmod 0755 "$WORK"
echo $$ >"$WORK/owner"
NSPAWN_PID='' CT='' CGROUPS=()

# wait_until SECONDS COMMAND...: polls the command until it succeeds (state,
# never a fixed sleep); 1 when the bound is reached.
wait_until() {
	local bound=$1 end; shift
	end=$((SECONDS + bound))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# --- the container -------------------------------------------------------------
# A cgroup of its own in every hierarchy systemd uses (nspawn --keep-unit runs
# the container in the cgroup it was started in: two runs in one cgroup would
# clash). cgroup2 alone, or the hybrid layout (name=systemd v1 + unified).
make_cgroups() {
	local name=zendesk-sso-systemd-test.$$ base
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		base=(/sys/fs/cgroup)
	else
		base=()
		for d in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do mountpoint -q "$d" && base+=("$d"); done
	fi
	for d in "${base[@]}"; do
		mkdir "$d/$name" || return 1
		CGROUPS+=("$d/$name")
	done
}

# The container's PID 1 (as the host sees it): nspawn's child whose pid in its
# own namespace is 1.
container_init() {
	local p
	for p in $(pgrep -P "$NSPAWN_PID"); do
		[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = 1 ] && { echo "$p"; return 0; }
	done
	return 1
}

# in_ct COMMAND...: runs it inside the container as root, in all its
# namespaces, with a clean environment.
in_ct() {
	nsenter -t "$CT" -a -r -w env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
		PYTHONPATH=/src/tests/systemd PYTHONDONTWRITEBYTECODE=1 "$@"
}

stop_container() {
	[ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null || return 0
	# SIGRTMIN+4: systemd's "poweroff"; nspawn exits when the container has.
	[ -n "$CT" ] && kill -RTMIN+4 "$CT" 2>/dev/null
	if ! wait_until 60 eval '! kill -0 "$NSPAWN_PID" 2>/dev/null'; then
		echo "systemd-test: the container did not power off within 60 s; killing it"
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		for cg in "${CGROUPS[@]}"; do
			[ -f "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill"
			xargs -r kill -KILL <"$cg/cgroup.procs" 2>/dev/null
		done
		wait_until 10 eval '! kill -0 "$NSPAWN_PID" 2>/dev/null'
	fi
	NSPAWN_PID='' CT=''
}

# --- cleanup, also on failure and Ctrl-C --------------------------------------
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "${ZSSO_SYSTEMD_KEEP:-}" ] && [ -n "$CT" ] && kill -0 "$CT" 2>/dev/null; then
		echo "systemd-test: container kept (ZSSO_SYSTEMD_KEEP): nsenter -t $CT -a -r -w bash;  power off: kill -RTMIN+4 $CT; then rm -rf $WORK; find ${CGROUPS[*]} -depth -type d -exec rmdir {} +"
		exit $rc
	fi
	stop_container
	# The container's cgroups (payload, supervisor, its own tree), deepest first.
	for cg in "${CGROUPS[@]}"; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done
	rm -rf "$WORK"
	exit $rc
}

trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the root filesystem and the .deb -----------------------------------------
echo "=== root filesystem (tests/systemd/build-root.sh)"
t0=$SECONDS
ROOT=$("$T/build-root.sh") || { echo "systemd-test: FAIL: building the root filesystem"; exit 1; }
echo "root: $ROOT ($((SECONDS - t0)) s)"
echo "=== the .deb (scripts/build-deb.sh --reuse $BUILD)"
t0=$SECONDS
DEB=$("$SRC/scripts/build-deb.sh" --reuse "$BUILD") || { echo "systemd-test: FAIL: building the .deb"; exit 1; }
mkdir "$WORK/deb" && cp "$DEB" "$WORK/deb/"
echo "package: $DEB ($((SECONDS - t0)) s)"

# --- boot ----------------------------------------------------------------------
echo "=== boot (systemd-nspawn --boot --private-network --volatile=overlay)"
t0=$SECONDS
make_cgroups || { echo "systemd-test: FAIL: cannot make a cgroup for the container"; exit 1; }
# The launcher moves itself into those cgroups, then becomes nspawn. setsid:
# a Ctrl-C reaches this script (whose trap powers the container off), not nspawn.
CGS="${CGROUPS[*]}" PIDFILE=$WORK/nspawn.pid setsid bash -c \
	'for cg in $CGS; do echo $$ >"$cg/cgroup.procs" || exit 1; done; echo $$ >"$PIDFILE"; exec "$@"' launch \
	systemd-nspawn --quiet --boot --register=no --keep-unit --private-network --volatile=overlay \
	--console=pipe --machine="zsso-test-$$" -D "$ROOT" \
	--bind-ro="$SRC:/src" --bind-ro="$WORK/deb:/deb" \
	</dev/null >"$WORK/console.log" 2>&1 &
booted() {
	[ -s "$WORK/nspawn.pid" ] && NSPAWN_PID=$(cat "$WORK/nspawn.pid") && CT=$(container_init)
}
if ! wait_until 60 booted; then
	echo "systemd-test: FAIL: systemd-nspawn did not start a container; its output:"; cat "$WORK/console.log"
	exit 1
fi
# Booted: systemd's socket is there, then it says running (or degraded,
# with the failed units named).
if ! wait_until 60 test -S "/proc/$CT/root/run/systemd/private"; then
	echo "systemd-test: FAIL: systemd in the container opened no /run/systemd/private"; exit 1
fi
state=$(in_ct timeout 180 systemctl is-system-running --wait 2>&1)
echo "container: PID 1 is $CT on the host; systemd: $state ($((SECONDS - t0)) s)"

# --- bookkeeping ---------------------------------------------------------------
declare -a RESULTS=()
PASSED=0 FAILED=0 KNOWN=0
pass() { RESULTS+=("PASS   $1"); echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() { RESULTS+=("FAIL   $1"); echo "FAIL: $1"; FAILED=$((FAILED + 1)); }
known() { RESULTS+=("KNOWN  $1"); echo "KNOWN FAILURE: $1"; KNOWN=$((KNOWN + 1)); }

# Our units' journal lines since CURSOR (a scenario's start).
UNITS=(-u 'zendesk-sso*' -u apache2.service -u nginx.service -u 'fcgiwrap*' -u 'krb5*' -u systemd-journald.service)
journal_since() {
	echo "--- journal (our units) since the scenario started:"
	in_ct journalctl --no-pager -q -o short-monotonic --after-cursor="$1" "${UNITS[@]}" | tail -n 150
	echo "--- end of journal"
}
cursor() { in_ct journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }

if [ "$state" = running ]; then
	pass "boot: systemd in the container reaches \"running\""
else
	fail "boot: systemd in the container reaches \"running\" (it says: $state)"
	in_ct systemctl --failed --no-pager
	[ "$state" = degraded ] || exit 1
fi

# run FILE: one script inside the container (a .py with Debian's python3, a
# .sh with bash); its exit status is its verdict. A "# known-failure: WHY"
# line in its first 30 lines marks it as expected to fail today: it then
# counts as KNOWN, and as FAILED once it passes (remove the line then).
run() {
	local file=$1 rel name why c rc interp t0=$SECONDS
	rel=${file#"$SRC"/} name=$(basename "$file")
	case "$name" in *.py) interp=/usr/bin/python3 ;; *.sh) interp=/bin/bash ;; *) return 0 ;; esac
	why=$(sed -n '1,30s/^# known-failure: //p' "$file" | head -n 1)
	echo; echo "=== $rel${why:+ (known failure: $why)}"
	c=$(cursor)
	in_ct timeout 600 "$interp" "/src/$rel"; rc=$?
	if [ $rc -eq 0 ] && [ -z "$why" ]; then
		pass "$name ($((SECONDS - t0)) s)"
	elif [ $rc -eq 0 ]; then
		fail "$name passes now: remove its \"# known-failure:\" line"
	else
		journal_since "$c"
		if [ -n "$why" ]; then known "$name: $why"; else fail "$name (exit $rc, $((SECONDS - t0)) s)"; fi
	fi
	return $rc
}

# --- setup as README.Debian says, then the scenarios ------------------------------
if ! run "$T/setup.sh"; then
	echo "systemd-test: setup failed; no scenario can run"
else
	for f in "$T"/scenarios/*; do
		if [ $# -gt 0 ]; then
			hit=0; for w in "$@"; do [[ $(basename "$f") == *"$w"* ]] && hit=1; done
			[ $hit -eq 1 ] || continue
		fi
		run "$f"
		# Back to the state setup.sh left, for the next scenario.
		if ! out=$(in_ct /bin/bash /src/tests/systemd/reset.sh 2>&1); then
			echo "$out"; fail "reset after $(basename "$f")"; break
		fi
	done
fi

echo; echo "=== summary ($((SECONDS - T_START)) s)"
printf '%s\n' "${RESULTS[@]}"
[ $KNOWN -eq 0 ] || echo "$KNOWN known failures (expected today; they pass once fixed, then drop their marker)"
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
