#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The full demo on this machine, nothing installed system-wide:
#   installs the missing Debian packages the demo needs
#   (scripts/demo-packages.txt; scripts/test.sh installs the rest), builds the
#   CGI, the PAM module and the CLI, starts a private Apache httpd on
#   127.0.0.1 (its own config under a temp folder) running zendesk-sso.cgi with
#   pam_wrapper + pam_matrix (a demo user with a printed password), and a local
#   stand-in for Zendesk that verifies the token and shows its claims.
#   Prints the URL to open; Ctrl-C stops everything it started.
#
#   scripts/demo.sh [--port N] [--server nginx]   (ZSSO_BUILD_DIR picks the build folder, default build-demo/)
#   --server nginx: nginx + fcgiwrap with examples/nginx instead of Apache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# A busy port is found before anything is installed or built.
port=
server=apache
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --port) port=${args[i + 1]:-} ;;
    --port=*) port=${args[i]#--port=} ;;
    --server) server=${args[i + 1]:-} ;;
    --server=*) server=${args[i]#--server=} ;;
  esac
done
if [ -n "$port" ]; then
  if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "demo: --port takes a port number (1-65535), not '$port'" >&2
    exit 2
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    who=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(([^)]*' | head -1 | sed 's/users:((//')
    echo "demo: port $port on 127.0.0.1 is already in use${who:+ (by $who)}." >&2
    echo "      Stop that program, or pick another port: scripts/demo.sh --port N (or no --port: a free one)." >&2
    exit 1
  fi
fi

"$root/scripts/install-deps.sh" "$root/scripts/demo-packages.txt"
if [ "$server" = nginx ]; then "$root/scripts/install-deps.sh" "$root/scripts/demo-nginx-packages.txt"; fi
build=${ZSSO_BUILD_DIR:-$root/build-demo}
# A new build folder goes without the test suites and benchmarks (and their
# packages); an existing one (e.g. ZSSO_BUILD_DIR=build) keeps its settings.
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" >/dev/null
else
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZSSO_TESTS=OFF -DZSSO_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target zendesk-sso-cgi pam_zendesk zendesk-sso zsso_translations
# Debian's python3 (python3-jwt), not whatever python3 comes first on PATH.
exec /usr/bin/python3 "$root/tests/e2e/zsso_e2e.py" demo --build "$build" --source "$root" "$@"
