#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Shares of the broker (issue 22.1), with the shipped OTP stack and the
default numbers: one address holds every conversation it is allowed (two
accounts it knows the passwords of, two conversations each, never answered)
and floods failing sign-ins as fast as it can; meanwhile a second address
signs in with password and code, and a session sign-in from a third goes
through. The excess from the first address is refused at once with the
"Too many sign-ins from here" page (429)."""
import os
import pwd
import subprocess
import threading
from pathlib import Path
import zsso_systemd as t

e2e = t.e2e   # the stand-in, fetch(), hidden_fields() (on the path zsso_systemd sets)

otp_dir = Path("/var/lib/zendesk-sso/otp")
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-otp")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/otp.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
KEY = "/etc/zendesk-sso/session-key"
HOLDER, OTHER, SESSION = "127.0.0.2", "127.0.0.3", "127.0.0.4"
broker = pwd.getpwnam("zendesk-sso")

# Sessions as the admin guide says (40-session).
t.run(["install", "-m", "0640", "-o", "root", "-g", "zendesk-sso", "/dev/null", KEY])
# The shares' keys as the admin guide's table gives them (the defaults), and
# an exempt range nobody here uses: `zendesk-sso check` accepts them.
t.edit_config(lambda c: (c.setdefault("session", {}).update(key_file=KEY),
                         c.setdefault("broker", {}).update(max_sign_ins=64, max_sign_ins_per_address=6,
                                                           max_conversations_per_address=4,
                                                           max_conversations_per_account=2,
                                                           limits_exempt=["192.0.2.0/24"])))
t.run(["zendesk-sso", "session", "revoke-all"])
check = t.run(["zendesk-sso", "check"])
t.check(check.returncode == 0, f"`zendesk-sso check` accepts the shares' keys (exit {check.returncode}): {check.stdout[-300:]}{check.stderr[-300:]}")
# Then the OTP stack as its comments say (90-otp-pam-oath).
t.run(["install", "-d", "-o", "zendesk-sso", "-g", "zendesk-sso", "-m", "0700", "/var/lib/zendesk-sso", str(otp_dir)])
dropins.mkdir(parents=True, exist_ok=True)
(dropins / "otp.conf").symlink_to(shipped)
t.systemctl("daemon-reload")
t.write_pam_service(example.read_text())

keys = {}


def otp_user(name):
    pw = t.password() if name == t.TEST_USER else t.make_user(name, f"Shares {name}")
    keys[name] = (name.encode() * 20)[:20].hex()
    f = otp_dir / f"{name}.oath"
    f.write_text(f"HOTP/T30/6 {name} - {keys[name]}\n")
    os.chown(f, broker.pw_uid, broker.pw_gid)
    os.chmod(f, 0o600)
    return pw


def code(name):
    return subprocess.run(["oathtool", "--totp", keys[name]], capture_output=True, text=True).stdout.strip()


victim, pw = t.TEST_USER, otp_user(t.TEST_USER)
regular = "zsso-regular"
regular_pw = otp_user(regular)
holders = {name: otp_user(name) for name in ("zsso-hold1", "zsso-hold2")}

with t.standin() as z:
    # A session from the third address first (its own account and code).
    b3 = t.Browser(source=SESSION)
    page = b3.sign_in(regular, regular_pw)
    t.check(t.Browser.prompts(page) == ["One-time code"], f"the session's sign-in asks the code ({page.status})")
    t.check(t.accepted(z, b3.answer(page, code(regular))) is not None, "... and gets a token and a session cookie")

    # The first address holds every conversation it is allowed: 2 per account, 4 per address.
    held = []
    for name in ("zsso-hold1", "zsso-hold1", "zsso-hold2", "zsso-hold2"):
        b = t.Browser(source=HOLDER)
        page = b.sign_in(name, holders[name])
        t.check(t.Browser.prompts(page) == ["One-time code"], f"{name} from {HOLDER} holds a code page ({page.status})")
        held.append((b, page))
    third = t.Browser(source="127.0.0.5").sign_in("zsso-hold1", holders["zsso-hold1"])
    t.check(third.status == 429 and "Too many sign-ins from here" in third.body,
            f"a third conversation of one account, from anywhere: 429, wait ({third.status})")
    fifth = t.Browser(source=HOLDER).sign_in("zsso-hold2", holders["zsso-hold2"])
    t.check(fifth.status == 429 and "Too many sign-ins from here" in fifth.body,
            f"a fifth from {HOLDER}: 429, wait ({fifth.status})")
    t.check(fifth.header("Retry-After") == "60", "... with Retry-After: 60")

    # Then it floods failing sign-ins as fast as it can, while the others sign in.
    c = t.cursor()
    stop = threading.Event()
    statuses = []

    def flood(n):
        b = t.Browser(source=HOLDER)
        fields = dict(e2e.hidden_fields(b.form().body))
        i = 0
        while not stop.is_set():
            r = b.request("POST", t.BASE + "/login", dict(fields, user=f"ghost{n}-{i}", password="wrong"))
            statuses.append(r.status)
            i += 1

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    try:
        t.wait_until(lambda: statuses.count(429) >= 20, 120)
        b2 = t.Browser(source=OTHER)
        page = b2.sign_in(victim, pw)
        t.check(t.Browser.prompts(page) == ["One-time code"], f"from {OTHER}, during the flood: the code page ({page.status})")
        t.check(t.accepted(z, b2.answer(page, code(victim))) is not None, f"... and the code signs {victim} in")
        again = b3.form("/login?return_to=" + t.RETURN_TO)
        t.check(t.accepted(z, again) is not None, f"a session sign-in from {SESSION}, during the flood ({again.status})")
        health = e2e.fetch("GET", t.BASE + "/health", source=OTHER)
        t.check(health.status == 200, f"/health during the flood: 200 ({health.status})")
    finally:
        stop.set()
        for th in threads:
            th.join()
    t.note(f"the flood: {len(statuses)} POSTs, {statuses.count(429)} refused at once (429), "
           f"{statuses.count(401)} answered as failures (401), others {sorted(set(statuses) - {401, 429})}")
    t.check(statuses.count(429) > 0 and set(statuses) <= {401, 429},
            "every flooding POST is a failure or a 429, never a 503")
    log = t.journal(t.BROKER, since=c)
    t.check(f"sign-ins from {HOLDER} running (broker.max_sign_ins_per_address)" in log or
            f"conversations held from {HOLDER} (broker.max_conversations_per_address)" in log,
            "the broker says which share refused them")
    # The held conversations are still there to finish.
    b, page = held[0]
    t.check(t.accepted(z, b.answer(page, code("zsso-hold1"))) is not None, "a held conversation still completes")
t.finish()
