#!/usr/bin/env bash
# Demo (interim, until the CGI lands): builds, writes a demo config with a
# fake user (nss_wrapper), mints a token for it and verifies it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build=${ZSSO_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target zendesk-sso
demo="$build/demo"
mkdir -p "$demo"
sed -e 's|"/etc/zendesk-sso/secret"|"secret"|' -e 's|"/etc/zendesk-sso/secret-agents"|"secret"|' \
  "$root/examples/config.json" > "$demo/config.json"
( umask 077; head -c 36 /dev/urandom | base64 | tr -d '/+=\n' > "$demo/secret" )
echo "demo:x:1000:1000:Demo User:/home/demo:/bin/bash" > "$demo/passwd"
printf 'demo:x:1000:\nstaff:x:2000:demo\nzd-agents:x:2001:demo\n' > "$demo/group"
cli() {
  LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$demo/passwd" NSS_WRAPPER_GROUP="$demo/group" \
    "$build/tools/zendesk-sso" --config "$demo/config.json" "$@"
}
cli check
token=$(cli mint demo --rhost 10.1.2.3)
echo "token for demo (from 10.1.2.3): $token"
cli verify "$token"
