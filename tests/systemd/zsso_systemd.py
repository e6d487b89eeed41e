# SPDX-License-Identifier: BSD-3-Clause
"""tests/systemd/zsso_systemd.py — helpers for the scenarios of
scripts/systemd-test.sh, imported INSIDE the booted container (PYTHONPATH
has tests/systemd; the source tree is mounted read-only at /src).

A scenario is a script that prints "ok: ..." / "FAIL: ..." lines through
check() and ends with finish(), which prints "N passed, N failed" and exits
1 if anything failed. What it may use (tests/systemd/README.md has more):

  check(ok, what) -> ok        note(text)            finish()
  run(argv | "shell", input=None) -> CompletedProcess (text, never raises)
  systemctl(*args)             show(unit, *props) -> {prop: value}
  wait_until(predicate, timeout) -> bool   (polls state; never a fixed sleep)
  cursor() / journal(*units, since=cursor) -> text
  journal_wait(regex, *units, since=cursor) -> text, once a line matches
  password(user) -> the test account's password   make_user(name, gecos) -> password
  edit_config(fn)              fn(dict) edits /etc/zendesk-sso/config.json; the
                               broker is stopped, so the next sign-in starts one with it
  write_pam_service(text)      /etc/pam.d/zendesk-sso
  with standin() as z:         the Zendesk stand-in (PyJWT) on STANDIN_URL
  sign_in(user, pw, ...)       GET the form, POST it -> Reply
  delivered(reply) -> jwt | None     accepted(z, reply) -> claims | None
  Browser()                    a cookie jar, for multi-page sign-ins and sessions
  kerberos_realm(extra) -> host principal   kadmin(query)   a real MIT KDC (REALM)

Everything a scenario changes under /etc, /var/lib/zendesk-sso and the
KDC's state is undone after it by reset() (tests/systemd/reset.sh), and
units it started are stopped: a scenario needs no cleanup of its own.
"""
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, "/src/tests/e2e")
sys.path.insert(0, "/src/packaging/tests")
import zsso_e2e as e2e   # noqa: E402  the stand-in, fetch(), hidden_fields()
import installed_e2e     # noqa: E402  sign_in(), delivered_jwt(), faillock_dir()

ENV = dict(line.split("=", 1) for line in Path("/src/tests/systemd/test-env").read_text().splitlines()
           if line and not line.startswith("#"))
BASE = ENV["BASE"]
STANDIN_PORT = int(ENV["STANDIN_PORT"])
STANDIN_URL = ENV["STANDIN_URL"]
SUBDOMAIN = ENV["SUBDOMAIN"]
EMAIL_DOMAIN = ENV["EMAIL_DOMAIN"]
TEST_USER = ENV["TEST_USER"]
TEST_STATE = Path(ENV["TEST_STATE"])
CONFIG = Path("/etc/zendesk-sso/config.json")
SECRET = Path("/etc/zendesk-sso/secret")
PAM_SERVICE = Path("/etc/pam.d/zendesk-sso")
BROKER = "zendesk-sso-authd.service"
BROKER_SOCKET = "zendesk-sso-authd.socket"
RETURN_TO = f"https://{SUBDOMAIN}.zendesk.com/hc"

_counts = {"ok": 0, "failed": 0}


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    _counts["ok" if ok else "failed"] += 1
    return bool(ok)


def note(text):
    print("note: " + text, flush=True)


def finish():
    print(f"{_counts['ok']} passed, {_counts['failed']} failed", flush=True)
    sys.exit(1 if _counts["failed"] or not _counts["ok"] else 0)


def run(argv, input=None, timeout=120):
    """The command's CompletedProcess (text); a shell line when argv is a str."""
    try:
        return subprocess.run(argv, shell=isinstance(argv, str), input=input, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(argv, 124, e.stdout or "", f"timed out after {timeout} s")


def systemctl(*args):
    return run(["systemctl", "--no-pager", *args])


def show(unit, *props):
    out = systemctl("show", unit, *(f"--property={p}" for p in props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_until(predicate, timeout=60):
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.1)


def cursor():
    out = run(["journalctl", "-q", "-n", "0", "--show-cursor"]).stdout
    return out.split("-- cursor: ", 1)[1].strip() if "-- cursor: " in out else None


def journal(*units, since=None, grep=None):
    """Journal lines (of these units, after the cursor since); journald may
    take a moment to store a line, so poll with wait_until for one you expect."""
    argv = ["journalctl", "--no-pager", "-q", "-o", "short-monotonic"]
    argv += [f"--after-cursor={since}"] if since else ["-b"]
    for u in units:
        argv += ["-u", u]
    if grep:
        argv += ["--grep", grep]
    return run(argv).stdout


def journal_wait(pattern, *units, since=None, timeout=30):
    """journal(*units, since=since) once a line matches the regex pattern
    (journald stores lines a moment after they are logged), else as it is at
    the timeout."""
    wait_until(lambda: re.search(pattern, journal(*units, since=since)), timeout)
    return journal(*units, since=since)


def password(user=TEST_USER):
    return (TEST_STATE / f"{user}.password").read_text().strip()


def make_user(name, gecos):
    """A local account with a random password (kept for password())."""
    if run(["getent", "passwd", name]).returncode != 0:
        run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", gecos, name])
    pw = os.urandom(24).hex()
    # -c: chpasswd hashes itself, without PAM's password stack (which has
    # pam_krb5 first here: libpam-krb5 is installed, no realm is).
    run(["chpasswd", "-c", "YESCRYPT"], input=f"{name}:{pw}\n")
    p = TEST_STATE / f"{name}.password"
    p.write_text(pw + "\n")
    os.chmod(p, 0o600)
    return pw


def stop_broker():
    """The broker reads its config and PAM service as it starts: stopped, the
    next connection to the socket starts a fresh one."""
    systemctl("stop", BROKER)


def edit_config(fn):
    """The config is JSON with whole-line // comments; the edited file keeps none."""
    cfg = json.loads("".join(l for l in CONFIG.read_text().splitlines(True) if not l.lstrip().startswith("//")))
    fn(cfg)
    CONFIG.write_text(json.dumps(cfg, indent=2) + "\n")
    stop_broker()
    return cfg


def write_pam_service(text, name="zendesk-sso"):
    Path("/etc/pam.d", name).write_text(text)
    stop_broker()


@contextlib.contextmanager
def standin():
    z = e2e.ZendeskStandIn(SECRET.read_text().strip(), port=STANDIN_PORT).start()
    try:
        yield z
    finally:
        z.stop()


def sign_in(user, pw, path="/login", source=None, base=BASE):
    """The form, then the POST with user and password (from source, an address on lo)."""
    return installed_e2e.sign_in(base, user, pw, path, source=source)


def delivered(reply):
    return installed_e2e.delivered_jwt(reply)


def accepted(z, reply):
    """Posts the delivery page's form to the stand-in as a browser would; the
    claims PyJWT verified, or None."""
    token = delivered(reply)
    if reply.status != 200 or not token:
        return None
    action = e2e.form_action(reply.body, "zendesk-sso")
    if action != z.url + "/access/jwt":
        print(f"the delivery page posts to {action}, not the stand-in", flush=True)
        return None
    before = len(z.received)
    answer = e2e.fetch("POST", action, body=e2e.hidden_fields(reply.body, "zendesk-sso"))
    if answer.status != 200 or len(z.received) != before + 1:
        print(f"the stand-in refused it ({answer.status}): {z.rejected[-1:]}", flush=True)
        return None
    return z.received[-1]["claims"]


def faillock_dir():
    """pam_faillock's dir= in /etc/pam.d/zendesk-sso (else faillock.conf's)."""
    return installed_e2e.faillock_dir()


def faillock_deny():
    return installed_e2e.faillock_deny()


def credentials(pid):
    """(user, group, [supplementary group names]) of a process."""
    import grp
    import pwd
    status = dict(l.split(":", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in l)
    uid, gid = int(status["Uid"].split()[0]), int(status["Gid"].split()[0])
    return (pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name,
            sorted(grp.getgrgid(int(g)).gr_name for g in status["Groups"].split()))


def faillock_failures(user, tally_dir=None):
    """How many failures pam_faillock holds for user in the stack's dir=."""
    r = run(["faillock", "--dir", tally_dir or faillock_dir(), "--user", user])
    return len([l for l in r.stdout.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", l)])


REALM = "ZSSO.TEST"


def kerberos_realm(kdc_conf_extra=""):
    """A real MIT realm REALM in the container: /etc/krb5.conf and kdc.conf
    (plus kdc_conf_extra, e.g. an [otp] section) for a KDC on 127.0.0.1,
    the database, host/<hostname> in /etc/krb5.keytab (root:root 0600), and
    krb5-kdc started. Returns the host principal."""
    import secrets
    import socket
    Path("/etc/krb5.conf").write_text(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
[realms]
    {REALM} = {{
        kdc = 127.0.0.1
        admin_server = 127.0.0.1
    }}
""")
    Path("/etc/krb5kdc").mkdir(exist_ok=True)
    Path("/etc/krb5kdc/kdc.conf").write_text(f"""[kdcdefaults]
    kdc_ports = 88
[realms]
    {REALM} = {{
        database_name = /var/lib/krb5kdc/principal
        key_stash_file = /etc/krb5kdc/stash
        acl_file = /etc/krb5kdc/kadm5.acl
    }}
""" + kdc_conf_extra)
    r = run(["kdb5_util", "create", "-r", REALM, "-s", "-P", secrets.token_hex(16)])
    check(r.returncode == 0, "kdb5_util create: the realm's database" + ("" if r.returncode == 0 else ": " + r.stderr))
    host = f"host/{socket.gethostname()}"
    kadmin(f"addprinc -randkey {host}")
    kadmin(f"ktadd -k /etc/krb5.keytab {host}")
    check(systemctl("start", "krb5-kdc.service").returncode == 0, "systemctl start krb5-kdc")
    return host


def kadmin(query):
    """kadmin.local -q query, checked (a password after -pw is not printed)."""
    r = run(["kadmin.local", "-r", REALM, "-q", query])
    return check(r.returncode == 0 and "error" not in r.stderr.lower(),
                 f"kadmin.local {query.split(' -pw ')[0]}" + ("" if r.returncode == 0 else ": " + r.stderr.strip()))

PROMPT_FIELD = re.compile(r'<label for="(answer\d+)">(.*?)</label>\n'
                          r'<input id="\1" name="\1" type="(\w+)"([^>]*)>', re.S)


class Browser:
    """A cookie jar over e2e.fetch: sessions, and sign-ins of several pages
    (a prompt page has a "conversation" field and answerN inputs)."""

    def __init__(self, source=None, base=BASE):
        self.jar = {}
        self.source = source
        self.base = base

    def request(self, method, url, fields=None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        r = e2e.fetch(method, url, body=fields, headers={"Cookie": cookie} if cookie else {}, source=self.source)
        for header in r.all("Set-Cookie"):
            name, rest = header.split("=", 1)
            if re.search(r"Max-Age=0(;|$)", header):
                self.jar.pop(name, None)
            else:
                self.jar[name] = rest.split(";", 1)[0]
        return r

    def form(self, path="/login"):
        return self.request("GET", self.base + path)

    def sign_in(self, user, pw, path="/login"):
        form = self.form(path)
        return self.request("POST", self.base + path, dict(e2e.hidden_fields(form.body), user=user, password=pw))

    @staticmethod
    def prompts(page):
        """[label] of a prompt page (None when it is not one)."""
        if page.status != 200 or 'name="conversation"' not in page.body:
            return None
        import html
        return [html.unescape(label) for _, label, _, _ in PROMPT_FIELD.findall(page.body)]

    def answer(self, page, *answers, path="/login"):
        fields = dict(e2e.hidden_fields(page.body))
        for i, a in enumerate(answers):
            fields[f"answer{i}"] = a
        return self.request("POST", self.base + path, fields)


# --- the state setup.sh leaves, and the way back to it ----------------------------

SNAPSHOT = TEST_STATE / "snapshot"
SNAPSHOT_PATHS = ["/etc", "/var/lib/zendesk-sso", "/var/lib/private/zendesk-sso", "/var/lib/krb5kdc"]
UNIT_TYPES = "service,socket,timer,path"


def _mount_points():
    return {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


def _entries():
    """path -> what identifies its content and metadata, under SNAPSHOT_PATHS (mount points left out)."""
    mounts, out = _mount_points(), {}
    for top in SNAPSHOT_PATHS:
        if not os.path.lexists(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            for name in list(dirnames) + filenames:
                p = os.path.join(dirpath, name)
                if p in mounts:
                    if name in dirnames:
                        dirnames.remove(name)
                    continue
                st = os.lstat(p)
                kind = "d" if os.path.isdir(p) and not os.path.islink(p) else "l" if os.path.islink(p) else "f"
                meta = [kind, st.st_mode, st.st_uid, st.st_gid]
                if kind == "f":
                    meta.append(hashlib.sha256(Path(p).read_bytes()).hexdigest())
                elif kind == "l":
                    meta.append(os.readlink(p))
                out[p] = meta
        out[top] = ["d", os.lstat(top).st_mode, os.lstat(top).st_uid, os.lstat(top).st_gid]
    return out


def _active_units():
    out = systemctl("list-units", "--state=active", "--plain", "--no-legend", f"--type={UNIT_TYPES}").stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def snapshot():
    """setup.sh's last step: the files and the running units to come back to."""
    SNAPSHOT.mkdir(parents=True, exist_ok=True)
    entries = _entries()
    with tarfile.open(SNAPSHOT / "files.tar", "w") as tar:
        for p in sorted(entries):
            tar.add(p, arcname=p.lstrip("/"), recursive=False)
    (SNAPSHOT / "files.json").write_text(json.dumps(entries))
    (SNAPSHOT / "units.json").write_text(json.dumps(_active_units()))
    print(f"snapshot: {len(entries)} paths, {len(_active_units())} active units", flush=True)


def reset():
    """Back to the snapshot: units a scenario started are stopped, files it
    added are removed, files it changed or removed are restored, the units
    that ran are (re)started, and the broker's tallies are emptied."""
    saved_units = json.loads((SNAPSHOT / "units.json").read_text())
    stop_broker()
    extra = [u for u in _active_units() if u not in saved_units]
    if extra:
        systemctl("stop", *extra)
    saved = json.loads((SNAPSHOT / "files.json").read_text())
    now = _entries()
    for p in sorted(set(now) - set(saved), reverse=True):
        if now[p][0] == "d":
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            os.unlink(p)
    changed = [p for p in sorted(saved) if now.get(p) != saved[p]]
    with tarfile.open(SNAPSHOT / "files.tar") as tar:
        for p in changed:
            member = tar.getmember(p.lstrip("/"))
            if member.isdir():
                os.makedirs(p, exist_ok=True)
                os.chown(p, member.uid, member.gid)
                os.chmod(p, member.mode)
                continue
            if os.path.lexists(p) and not os.path.isdir(p):
                os.unlink(p)
            elif os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            tar.extract(member, "/", set_attrs=True, numeric_owner=True)
    for d in ("/run/zendesk-sso/faillock", "/run/zendesk-sso/throttle", "/run/faillock"):
        for f in Path(d).glob("*") if Path(d).is_dir() else []:
            f.unlink()
    systemctl("daemon-reload")
    systemctl("reset-failed")
    systemctl("restart", BROKER_SOCKET)
    systemctl("restart", "apache2.service")
    missing = [u for u in saved_units if u not in _active_units()]
    if missing:
        systemctl("start", *missing)
    now = _entries()
    drift = [p for p in saved if now.get(p) != saved[p] and saved[p][0] != "d"]
    health = e2e.fetch("GET", BASE + "/health")
    # Only what the scenarios control decides: a timer of the OS may start a
    # service at any moment, so a different unit list is reported, not fatal.
    ok = not drift and health.status == 200
    print(f"reset: {len(changed)} paths restored, units stopped: {extra or 'none'}; "
          f"health {health.status}" + (f"; still different: {drift[:10]}" if drift else "")
          + ("" if _active_units() == saved_units else
             f"; units differ: {sorted(set(_active_units()) ^ set(saved_units))}"), flush=True)
    sys.exit(0 if ok else 1)
