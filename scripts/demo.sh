#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The full demo on this machine, nothing installed system-wide:
#   installs missing Debian packages, builds, starts a private Apache httpd on
#   127.0.0.1 (its own config under a temp folder) running zendesk-sso.cgi with
#   pam_wrapper + pam_matrix (a demo user with a printed password), and a local
#   stand-in for Zendesk that verifies the token and shows its claims.
#   Prints the URL to open; Ctrl-C stops everything it started.
#
#   scripts/demo.sh [--port N] [--server nginx]   (ZSSO_BUILD_DIR picks the build folder)
#   --server nginx: nginx + fcgiwrap with examples/nginx instead of Apache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build=${ZSSO_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target zendesk-sso-cgi pam_zendesk zendesk-sso
# Debian's python3 (python3-jwt), not whatever python3 comes first on PATH.
exec /usr/bin/python3 "$root/tests/e2e/zsso_e2e.py" demo --build "$build" --source "$root" "$@"
