#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Docs test: every man page renders cleanly with `man -l`, zendesk-sso.json(5)
documents every key config.cpp accepts, and zendesk-sso(1) every command and
option `zendesk-sso --help` lists.

usage: check_man_pages.py --config-source core/src/config.cpp --cli PATH PAGE...
"""
import argparse
import os
import re
import subprocess
import sys

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def roff_text(path):
    """The page's source with the escapes our pages use turned into text."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    for esc, plain in (("\\-", "-"), ("\\(dq", '"'), ("\\(aq", "'"), ("\\(em", "-"), ("\\&", "")):
        src = src.replace(esc, plain)
    return re.sub(r"\\f[BIRP]", "", src)


def check_renders(path):
    name = os.path.basename(path)
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    r = subprocess.run(["man", "--warnings", "-l", path], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{name}: man -l exited {r.returncode}: {r.stderr.strip()}")
        return
    if r.stderr.strip():
        fail(f"{name}: groff warnings:\n{r.stderr.rstrip()}")
    out = r.stdout
    for section in ("NAME", "DESCRIPTION", "SEE ALSO"):
        if not re.search(rf"^{section}$", out, re.M):
            fail(f"{name}: rendered page has no {section} section")
    # Leftover escapes or requests mean a roff typo that groff did not flag.
    for bad in ("\\f", "\\(", "\\-"):
        if bad in out:
            fail(f"{name}: rendered text still contains {bad!r}")
    if re.search(r"^\s*\.[A-Z]{1,2}\b", out, re.M):
        fail(f"{name}: a roff request was printed as text")
    # .TH NAME SECTION must match the file name (zendesk-sso.json.5 -> ZENDESK-SSO.JSON 5).
    th = re.search(r"^\.TH\s+(\S+)\s+(\S+)", roff_text(path), re.M)
    stem, _, sect = name.rpartition(".")
    if not th or th.group(1).lower() != stem.lower() or th.group(2) != sect:
        fail(f"{name}: .TH does not name {stem}({sect})")


def config_keys(config_cpp):
    """Every key path config.cpp's Reader accepts, e.g. zendesk.subdomain."""
    with open(config_cpp, encoding="utf-8") as f:
        src = f.read()
    keys = set()
    for m in re.finditer(r'rd\.object\(\s*j\s*,\s*([^,]+?)\s*,\s*\{([^}]*)\}', src, re.S):
        where, body = m.group(1), m.group(2)
        if where.startswith('"'):
            section = where.strip('"')
        else:  # a variable: its `const std::string p = "..."` comes just before
            decl = list(re.finditer(r'const std::string ' + re.escape(where) + r'\s*=\s*"(\w*)"', src[:m.start()]))
            if not decl:
                fail(f"config.cpp: cannot resolve the section variable {where!r}")
                continue
            section = decl[-1].group(1)
        for key in re.findall(r'"(\w+)"', body):
            keys.add(f"{section}.{key}" if section else key)
    return keys


def check_config_page(page, config_cpp):
    keys = config_keys(config_cpp)
    # A parser that finds nothing would make this test pass vacuously.
    if len(keys) < 30 or "zendesk.subdomain" not in keys or "profiles" not in keys:
        fail(f"could not read the config keys from {config_cpp} (found {len(keys)})")
        return
    text = roff_text(page)
    tagged = "\n".join(l for l in text.splitlines() if re.match(r"\.(B|BR|BI|I|IR)\s", l))
    for key in sorted(keys):
        if not re.search(r"(?<![\w.])" + re.escape(key) + r"(?![\w])", tagged):
            fail(f"{os.path.basename(page)}: config key {key} is not documented (as a .B entry)")
    print(f"ok: {len(keys)} config keys documented")


def check_cli_page(page, cli):
    r = subprocess.run([cli, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{cli} --help exited {r.returncode}")
        return
    help_text = r.stdout
    commands = re.findall(r"^  ([a-z][a-z-]+) ", help_text.split("Commands:")[1].split("Options:")[0], re.M)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text))
    if len(commands) < 4 or len(options) < 5:
        fail(f"could not read commands/options from {cli} --help")
        return
    text = roff_text(page)
    for c in commands:
        if not re.search(r"^\.B[I]?\s+\"?" + re.escape(c) + r"\b", text, re.M):
            fail(f"zendesk-sso.1: command {c} has no entry")
    for o in sorted(options):
        if o not in text:
            fail(f"zendesk-sso.1: option {o} is not documented")
    print(f"ok: {len(commands)} commands, {len(options)} options documented")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config-source", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("pages", nargs="+")
    a = ap.parse_args()
    for page in a.pages:
        check_renders(page)
        base = os.path.basename(page)
        if base == "zendesk-sso.json.5":
            check_config_page(page, a.config_source)
        elif base == "zendesk-sso.1":
            check_cli_page(page, a.cli)
    names = {os.path.basename(p) for p in a.pages}
    for required in ("zendesk-sso.1", "zendesk-sso.json.5"):
        if required not in names:
            fail(f"{required} was not given")
    if failures:
        print(f"{len(failures)} problem(s)")
        return 1
    print(f"ok: {len(a.pages)} man pages render cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
