#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds, runs ctest.
#   scripts/test.sh            # everything
#   scripts/test.sh -L unit    # extra arguments go to ctest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build=${ZSSO_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
