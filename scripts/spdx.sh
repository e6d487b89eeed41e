#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The licence header on every source file of ours (LICENSE: BSD-3-Clause).
#
#   scripts/spdx.sh           add "SPDX-License-Identifier: BSD-3-Clause" where
#                             it is missing, in the file's comment syntax; lists
#                             the files it changed
#   scripts/spdx.sh --check   change nothing; list the files without it and
#                             exit 1 if there are any (ctest docs.spdx)
#
# Files: git's (tracked and untracked, minus .gitignore'd), else all under the
# source tree but build*/ and .git. The header goes on line 1, or right after
# a "#!" line; it counts when it is in the first 5 lines. Which files are
# source, and their comment syntax, is the table in comment_for below; fuzz
# inputs, data files (nss passwd/group), Markdown, LICENSE, debian/copyright,
# changelog.in and conffiles.in (formats without comments) are not.
set -euo pipefail

ID="SPDX-License-Identifier: BSD-3-Clause"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

check=0
case "${1:-}" in
	--check) check=1 ;;
	"") ;;
	*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

list_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard
	else
		find . \( -path ./.git -o -path './build*' \) -prune -o -type f -print0 | sed -z 's|^\./||'
	fi
}

# The header line for a file, in its comment syntax; nothing if it is not a
# source file of ours.
comment_for() {
	case "$1" in
		tests/fuzz/corpus/*|tests/fuzz/regressions/*|tests/fuzz/open-findings/*) return ;;  # fuzz inputs: bytes
		*.c|*.h|*.map) echo "/* $ID */" ;;
		*.cpp|*.hpp) echo "// $ID" ;;
		examples/*.json) echo "// $ID" ;;          # JSON with comments, as zendesk-sso reads it
		docs/man/*.[1-8]|pam_module/*.[1-8]) echo ".\\\" $ID" ;;
		CMakeLists.txt|*/CMakeLists.txt|*.cmake|*.py|*.sh|*.conf|*.socket|*.service|*.supp|*.dict)
			echo "# $ID" ;;
		examples/pam.d/*|scripts/debian-packages.txt|packaging/debian/lintian-overrides|.ci/*)
			echo "# $ID" ;;
		*)  # any other script (packaging/debian/postinst.in …)
			if [ "$(head -c 2 "$1")" = "#!" ]; then echo "# $ID"; fi ;;
	esac
}

missing=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	header=$(comment_for "$f")
	[ -n "$header" ] || continue
	if head -n 5 "$f" | grep -qF "$ID"; then
		continue
	fi
	missing=$((missing + 1))
	if [ $check -eq 1 ]; then
		echo "no SPDX header: $f"
		continue
	fi
	tmp=$(mktemp)
	if [ "$(head -c 2 "$f")" = "#!" ]; then
		{ head -n 1 "$f"; printf '%s\n' "$header"; tail -n +2 "$f"; } >"$tmp"
	else
		{ printf '%s\n' "$header"; cat "$f"; } >"$tmp"
	fi
	cat "$tmp" >"$f"   # in place: keeps the file's mode
	rm -f "$tmp"
	echo "added: $f"
done < <(list_files)

if [ $check -eq 1 ] && [ $missing -gt 0 ]; then
	echo "$missing file(s) without \"$ID\": run scripts/spdx.sh" >&2
	exit 1
fi
exit 0
