#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""tests/systemd/readme_steps.py — README.Debian's steps, extracted and run
as written (tests/systemd/setup.sh, inside the booted container).

What it reads as a step, in the file's order:
  - a command block: a line ending in ':', one blank line, then the lines
    indented deeper than that line up to the next blank line. Each line is
    one command (a trailing backslash continues it); comment-only lines are
    shown, not run. Tables and lists follow their ':' line directly (no
    blank line), so they are no command block.
  - the placeholder table of an "Edit /PATH" paragraph: lines
    "  KEY  JSON-VALUE  text" (KEY dotted, JSON-VALUE a string or a list):
    each JSON-VALUE is replaced, once, in PATH by the value the stage gives.
Each block belongs to the numbered step ("3. ...") it is in, if any.

  readme_steps.py FILE                       lists the steps (FILE may be .gz)
  readme_steps.py FILE --run [substitutions] runs them, in order, as root

Substitutions (every one must apply somewhere, or the run fails: the list
is kept true):
  --replace OLD NEW      in every command, the text OLD becomes NEW
  --stdin PREFIX FILE    a command beginning with PREFIX reads FILE on its
                         standard input (others read /dev/null)
  --placeholder KEY JSON the value for KEY in an edit table
  --skip PREFIX WHY      the block whose first command begins with PREFIX is
                         not run (WHY is printed)
Each command runs alone with bash -c, as an admin types it; the first that
fails ends the run (exit 1), naming its block, step and line, with its output.
"""
import gzip
import re
import subprocess
import sys

PLACEHOLDER_ROW = re.compile(r'^\s+([a-z_]+(?:\.[a-z_]+)+)\s+("[^"]*"|\[[^\]]*\])(?:\s{2,}.*)?$')


def indent(line):
    return len(line) - len(line.lstrip(" "))


def parse(text):
    """The steps: dicts with kind ("commands" or "edit"), line (1-based),
    step (number or None), title (its paragraph), and commands or rows."""
    lines = text.splitlines()
    steps, step, para = [], None, 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "":
            para = i + 1
        elif indent(line) == 0:
            m = re.match(r"(\d+)\.\s", line)
            step = int(m.group(1)) if m else None if i == para else step
        title = " ".join(s.strip() for s in lines[para:i + 1])
        title = title if len(title) <= 72 else title[:71] + "…"
        m = re.match(r"\d+\.\s+Edit (/[\w./-]*\w)", line)
        if m and i == para:
            rows, j = [], i + 1
            while j < len(lines) and lines[j].strip():
                row = PLACEHOLDER_ROW.match(lines[j])
                if row:
                    rows.append((row.group(1), row.group(2)))
                j += 1
            if rows:
                steps.append(dict(kind="edit", line=i + 1, step=step, title=title,
                                  path=m.group(1), rows=rows))
        if (line.rstrip().endswith(":") and i + 2 < len(lines) and lines[i + 1].strip() == ""
                and lines[i + 2].strip() and indent(lines[i + 2]) > indent(line)):
            j, block = i + 2, []
            while j < len(lines) and lines[j].strip() and indent(lines[j]) > indent(line):
                block.append(lines[j].strip())
                j += 1
            commands = []
            for b in block:
                if commands and commands[-1].endswith("\\"):
                    commands[-1] = commands[-1][:-1].rstrip() + " " + b
                else:
                    commands.append(b)
            steps.append(dict(kind="commands", line=i + 3, step=step, title=title, commands=commands))
            i = j
            continue
        i += 1
    return steps


def where(s):
    return f"README.Debian line {s['line']}" + (f", step {s['step']}" if s["step"] else "") + f" (\"{s['title']}\")"


def show(steps):
    for s in steps:
        print("== " + where(s))
        if s["kind"] == "edit":
            print(f"   edit {s['path']}: " + ", ".join(f"{k} {v}" for k, v in s["rows"]))
        else:
            print("\n".join("   " + c for c in s["commands"]))


def run(steps, replace, stdin, placeholders, skip):
    used = set()

    def fail(what, out=""):
        print("FAIL: " + what, flush=True)
        if out.strip():
            print("\n".join("    | " + o for o in out.rstrip().splitlines()), flush=True)
        sys.exit(1)

    for s in steps:
        if s["kind"] == "edit":
            with open(s["path"]) as f:
                text = f.read()
            for key, placeholder in s["rows"]:
                if key not in placeholders:
                    fail(f"{where(s)}: the placeholder {key} {placeholder} has no value in the stage's list")
                if text.count(placeholder) != 1:
                    fail(f"{where(s)}: {placeholder} is in {s['path']} {text.count(placeholder)} times, not once")
                text = text.replace(placeholder, placeholders[key])
                used.add(("placeholder", key))
                print(f"ok: {where(s)}: {key} {placeholder} -> {placeholders[key]}", flush=True)
            with open(s["path"], "w") as f:
                f.write(text)
            continue
        runnable = [c for c in s["commands"] if not c.startswith("#")]
        why = [(p, w) for p, w in skip if runnable and runnable[0].startswith(p)]
        if why:
            used.add(("skip", why[0][0]))
            print(f"skipped: {where(s)}: {why[0][1]}", flush=True)
            continue
        for command in runnable:
            for old, new in replace:
                if old in command:
                    command = command.replace(old, new)
                    used.add(("replace", old))
            source = [f for p, f in stdin if command.startswith(p)]
            used.update(("stdin", p) for p, f in stdin if command.startswith(p))
            with open(source[0] if source else "/dev/null") as inp:
                try:
                    r = subprocess.run(["bash", "-c", command], stdin=inp, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, timeout=300)
                except subprocess.TimeoutExpired as e:
                    fail(f"{where(s)}: `{command}` did not end within 300 s", e.output or "")
            if r.returncode != 0:
                fail(f"{where(s)}: `{command}` exited {r.returncode}", r.stdout)
            print(f"ok: {where(s)}: {command}", flush=True)
    unused = ([f"--replace {o!r}" for o, _ in replace if ("replace", o) not in used]
              + [f"--stdin {p!r}" for p, _ in stdin if ("stdin", p) not in used]
              + [f"--placeholder {k}" for k in placeholders if ("placeholder", k) not in used]
              + [f"--skip {p!r}" for p, _ in skip if ("skip", p) not in used])
    if unused:
        fail("README.Debian has nothing for the stage's " + ", ".join(unused) + ": update the list in setup.sh")


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    path, args = argv[0], argv[1:]
    with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as f:
        steps = parse(f.read())
    if not args:
        show(steps)
        return
    if args[0] != "--run":
        sys.exit(__doc__)
    opts = {"--replace": [], "--stdin": [], "--placeholder": [], "--skip": []}
    args = args[1:]
    while args:
        if args[0] not in opts or len(args) < 3:
            sys.exit(f"readme_steps.py: bad option at {args[0]!r}\n" + __doc__)
        opts[args[0]].append((args[1], args[2]))
        args = args[3:]
    run(steps, opts["--replace"], opts["--stdin"], dict(opts["--placeholder"]), opts["--skip"])


if __name__ == "__main__":
    main(sys.argv[1:])
