#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/build-deb.sh [--reuse] BUILD_DIR — the .deb as dpkg-buildpackage
# would build it (prefix /usr, Debian's hardening flags, RelWithDebInfo, no
# tests or benchmarks) -> cpack -G DEB; prints the .deb's path on stdout.
# scripts/package-test.sh and scripts/systemd-test.sh both build with it.
#
# Every build records what it was built from in BUILD_DIR/deb-source-id:
# the commit (git rev-parse HEAD) and a hash of the uncommitted changes
# (git diff HEAD, and the untracked files' contents). With --reuse, an
# existing .deb whose recorded id equals the tree's id now is used as it is
# (scripts/test.sh: package-test.sh builds it, systemd-test.sh reuses it).
# Outside a git checkout there is no id and it always builds.
# Build logs: BUILD_DIR/build-deb.{configure,build,cpack}.log (their tails on
# stderr when a step fails).
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=zendesk-sso
reuse=0
[ "${1:-}" = --reuse ] && { reuse=1; shift; }
BUILD=${1:?usage: build-deb.sh [--reuse] BUILD_DIR}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)   # absolute: cpack runs from inside it
# One build per directory at a time (package-test.sh and systemd-test.sh
# may run at once on one tree): the second waits, then reuses or rebuilds.
exec 9>"$BUILD/.build-deb.lock"
flock 9

source_id() {
	git -C "$SRC" rev-parse --verify -q HEAD >/dev/null 2>&1 || return 1
	{
		git -C "$SRC" rev-parse HEAD
		git -C "$SRC" diff HEAD --binary
		git -C "$SRC" ls-files -z -o --exclude-standard | (cd "$SRC" && xargs -0 -r sha256sum)
	} | sha256sum | cut -d' ' -f1
}
id=$(source_id) || id=
debs=("$BUILD/${PKG}"_*.deb)
if [ $reuse -eq 1 ] && [ -n "$id" ] && [ -f "${debs[0]}" ] && [ ${#debs[@]} -eq 1 ] &&
	[ "$(cat "$BUILD/deb-source-id" 2>/dev/null)" = "$id" ]; then
	echo "build-deb: reusing ${debs[0]} (built from this tree: $(git -C "$SRC" rev-parse --short HEAD), same changes)" >&2
	echo "${debs[0]}"
	exit 0
fi

rm -f "$BUILD/deb-source-id"
# What dpkg-buildpackage would pass: Debian's hardening flags. CMake reads
# no CPPFLAGS, so they go with the compiler flags.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
eval "$(dpkg-buildflags --export=sh)"
log=$BUILD/build-deb
if ! { cmake -S "$SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DZSSO_TESTS=OFF -DZSSO_BENCH=OFF \
		-DCMAKE_C_FLAGS="$CFLAGS $CPPFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS $CPPFLAGS" \
		-DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" -DCMAKE_SHARED_LINKER_FLAGS="$LDFLAGS" \
		-DCMAKE_MODULE_LINKER_FLAGS="$LDFLAGS" >"$log.configure.log" 2>&1 &&
	cmake --build "$BUILD" -j"$(nproc)" >"$log.build.log" 2>&1 &&
	rm -f "$BUILD"/${PKG}_*.deb &&
	(cd "$BUILD" && cpack -G DEB >"$log.cpack.log" 2>&1); }; then
	tail -n 30 "$log".{configure,build,cpack}.log >&2 2>/dev/null
	exit 1
fi
debs=("$BUILD/${PKG}"_*.deb)
[ -f "${debs[0]}" ] && [ ${#debs[@]} -eq 1 ] || { echo "build-deb: cpack made no single ${PKG}_*.deb in $BUILD" >&2; exit 1; }
[ -n "$id" ] && echo "$id" >"$BUILD/deb-source-id"
echo "${debs[0]}"
