#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite, as CI runs it:
#   1. build + every ctest suite (unit cli pam e2e browser broker fuzz-replay docs ...),
#      then a Release build with clang (gcc's packager build is the .deb's, stage 3)
#   2. hardening: the suites again under ASan+UBSan, and the libFuzzer smoke runs
#   3. the .deb: built, linted, installed, tested against the installed files, purged (root only)
#   4. booted systemd: that .deb installed in a Debian 12 booted with systemd-nspawn, set up as
#      README.Debian says, every scenario of tests/systemd/ through Apache -> CGI -> the socket-
#      activated broker under its real unit (root only; scripts/systemd-test.sh). The root
#      filesystem is built once (mmdebstrap, 1-5 minutes) and cached in /var/tmp; with it
#      cached the stage takes 1-3 minutes
# Usage:
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      stage 1 only, with these ctest arguments
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" || exit 1
build=${ZSSO_BUILD_DIR:-$root/build}
log=$(mktemp)
stage_log=$(mktemp)
failures=$(mktemp)
trap 'rm -f "$log" "$stage_log" "$failures"' EXIT
status=0
stages=()

stage() {   # stage NAME COMMAND...: runs it, output also kept for the totals
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@" 2>&1 | tee "$stage_log" | tee -a "$log"; then
    stages+=("$name: ok ($((SECONDS - start)) s)")
  else
    stages+=("$name: FAILED ($((SECONDS - start)) s)")
    status=1
    # A later stage's output buries this one's reason; say it again at the end.
    { echo "--- why \"$name\" failed (its failing lines, then its last lines):"
      grep -E 'FAILED|\*\*\*|Failed|ERROR|error:|sanitizer report|SUMMARY:|FAIL ' "$stage_log" | head -n 40
      echo "..."
      tail -n 25 "$stage_log"; } >>"$failures"
  fi
}

build_and_ctest() {
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$build" -j"$(nproc)" &&
    (cd "$build" && ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@")
}

# What packagers build, with the other compiler: Release (-O3) with clang,
# -Werror on, so that a warning only clang's optimiser finds fails here, not in
# a package. gcc's packager build is the .deb's (scripts/build-deb.sh: Debian's
# dpkg-buildflags, -Werror on) in the package stage, so it is not built twice.
release_builds() {
  local dir="$build-release-clang-14"
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DZSSO_WERROR=ON \
    -DZSSO_TESTS=OFF -DZSSO_BENCH=OFF >/dev/null &&
    cmake --build "$dir" -j"$(nproc)"
}

stage "build + ctest" build_and_ctest "$@"
if [ $# -eq 0 ]; then
  stage "Release build (clang)" release_builds
  [ -x "$root/scripts/hardening.sh" ] && stage "hardening (sanitizers, fuzzers)" "$root/scripts/hardening.sh"
  [ -x "$root/scripts/package-test.sh" ] && stage "package (.deb installed and purged)" "$root/scripts/package-test.sh"
  [ -x "$root/scripts/systemd-test.sh" ] && stage "booted systemd (.deb under systemd-nspawn)" "$root/scripts/systemd-test.sh"
fi

# One closing line over every ctest run above.
read -r passed failed < <(awk '/tests passed, [0-9]+ tests failed out of/ {
    f += $4; t += $NF } END { printf "%d %d\n", t - f, f }' "$log")
echo
printf '  %s\n' "${stages[@]}"
echo "total: $passed passed, $failed failed"
[ -s "$failures" ] && { echo; cat "$failures"; }
[ "$failed" -eq 0 ] || status=1
exit $status
