#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sign-in sessions set up as the admin guide says (broker mode):
session.key_file in the config, the key root:zendesk-sso 0640, written by
`zendesk-sso session revoke-all`. A second visit from the same browser goes
straight on to Zendesk with a fresh token, no form; the broker signs and
checks the cookie (the web server still reads no secret)."""
import os
import zsso_systemd as t

KEY = "/etc/zendesk-sso/session-key"
user, pw = t.TEST_USER, t.password()
t.run(["install", "-m", "0640", "-o", "root", "-g", "zendesk-sso", "/dev/null", KEY])
# revoke-all reads session.key_file from the config: before the config
# names it, it refuses (the guide showed that order until this stage ran it).
r = t.run(["zendesk-sso", "session", "revoke-all"])
t.check(r.returncode == 2 and "session.key_file is not set" in r.stderr,
        f"revoke-all before the config names the key refuses, saying why (exit {r.returncode})")
t.edit_config(lambda c: c.setdefault("session", {}).update(key_file=KEY))
r = t.run(["zendesk-sso", "session", "revoke-all"])
print(r.stdout + r.stderr, end="")
t.check(r.returncode == 0 and os.path.getsize(KEY) > 0, "`zendesk-sso session revoke-all` writes the first key")
st = os.stat(KEY)
t.check((st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 0, __import__("grp").getgrnam("zendesk-sso").gr_gid),
        "the key keeps root:zendesk-sso 0640")
t.check(t.run(["runuser", "-u", "www-data", "--", "test", "-r", KEY]).returncode != 0, "www-data cannot read the key")
check = t.run(["zendesk-sso", "check"])
t.check(check.returncode == 0, "`zendesk-sso check` passes with sessions on")
with t.standin() as z:
    b = t.Browser()
    first = b.sign_in(user, pw)
    t.check(t.accepted(z, first) is not None, f"the password sign-in gets a token ({first.status})")
    t.check(any(k.startswith("__Host-zsso_session") for k in b.jar), f"... and a session cookie ({sorted(b.jar)})")
    again = b.form("/login?return_to=" + t.RETURN_TO)
    t.check('name="password"' not in again.body, "the second visit shows no password form")
    claims = t.accepted(z, again)
    t.check(claims is not None, f"... and goes on to Zendesk with a token the stand-in accepts ({again.status})")
    if len(z.received) >= 2:
        t.check(z.received[0]["claims"]["jti"] != z.received[1]["claims"]["jti"], "a fresh token (new jti)")
    stranger = t.Browser().form("/login")
    t.check('name="password"' in stranger.body, "a browser without the cookie gets the form")
t.finish()
