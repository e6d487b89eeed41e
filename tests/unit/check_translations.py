# SPDX-License-Identifier: BSD-3-Clause
"""Every translation of the pages is complete and sound (issue 17.2):

- po/zendesk-sso.pot holds exactly the msgids xgettext finds in the CGI's
  sources (tr(lang, "…"), t("…"), N_("…")): a new string without a pot entry fails;
- every po/LANG.po has every msgid, a non-empty msgstr, no fuzzy flag and
  no entry the sources no longer use;
- every {placeholder} of a msgid appears in its msgstr, and no other;
- msgfmt --check accepts the file (format, header, charset UTF-8).

usage: check_translations.py SOURCE_DIR [PO_FILE …]   (default: every po/*.po)
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Every source of the CGI: a page in a new file is checked without a change here.
SOURCES = "helper/cgi/*.cpp"
XGETTEXT = ["xgettext", "--from-code=UTF-8", "--language=C++", "--keyword=", "--keyword=tr:2",
            "--keyword=N_", "--keyword=t", "--no-location", "--sort-output", "--omit-header"]


def unquote(parts):
    s = "".join(parts)
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def entries(path):
    """[(msgid, msgstr, flags)] of a .po/.pot file, header included."""
    result, cur, field, flags = [], None, None, set()
    def flush():
        nonlocal cur
        if cur is not None:
            result.append((unquote(cur["msgid"]), unquote(cur["msgstr"]), frozenset(flags)))
        cur = None
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            flags = set()
            continue
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        m = re.match(r'(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d+\])\s+"(.*)"$', line)
        if m:
            if m.group(1) == "msgid":
                flush()
                cur = {"msgid": [], "msgstr": []}
            field = "msgstr" if m.group(1).startswith("msgstr") else m.group(1)
            if cur is not None and field in cur:
                cur[field].append(m.group(2))
            continue
        m = re.match(r'"(.*)"$', line)
        if m and cur is not None and field in cur:
            cur[field].append(m.group(1))
    flush()
    return result


def placeholders(s):
    return sorted(re.findall(r"\{[a-z_]+\}", s))


def main():
    src = Path(sys.argv[1])
    po_files = [Path(p) for p in sys.argv[2:]] or sorted((src / "po").glob("*.po"))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.pot"
        subprocess.run(XGETTEXT + ["-o", str(fresh)] + [str(p) for p in sorted(src.glob(SOURCES))], check=True)
        wanted = {i for i, _, _ in entries(fresh) if i}
    pot = {i for i, _, _ in entries(src / "po" / "zendesk-sso.pot") if i}
    for i in sorted(wanted - pot):
        problems.append(f"po/zendesk-sso.pot: missing {i!r} (regenerate it; see po/CMakeLists.txt)")
    for i in sorted(pot - wanted):
        problems.append(f"po/zendesk-sso.pot: {i!r} is no longer in the sources")
    if len(po_files) < 7:
        problems.append(f"only {len(po_files)} translations; de es fr it ja nl pt_BR are promised")
    for po in po_files:
        got = {}
        for msgid, msgstr, flags in entries(po):
            if not msgid:
                if "charset=UTF-8" not in msgstr:
                    problems.append(f"{po.name}: header does not declare charset=UTF-8")
                continue
            got[msgid] = msgstr
            if "fuzzy" in flags:
                problems.append(f"{po.name}: fuzzy translation of {msgid!r}")
            if not msgstr.strip():
                problems.append(f"{po.name}: no translation of {msgid!r}")
            elif placeholders(msgid) != placeholders(msgstr):
                problems.append(f"{po.name}: placeholders {placeholders(msgid)} of {msgid!r} became {placeholders(msgstr)}")
        for i in sorted(wanted - set(got)):
            problems.append(f"{po.name}: missing {i!r}")
        for i in sorted(set(got) - wanted):
            problems.append(f"{po.name}: {i!r} is no longer in the sources")
        r = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"{po.name}: msgfmt --check: {r.stderr.strip()}")
    for p in problems:
        print("FAIL:", p)
    print(f"{len(po_files)} translations, {len(wanted)} messages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
