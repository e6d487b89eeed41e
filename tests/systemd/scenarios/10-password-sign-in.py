#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Password sign-in through Apache -> CGI -> the socket-activated broker
under its shipped unit; the stand-in verifies the token with PyJWT."""
import re
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
with t.standin() as z:
    t.check(t.show(t.BROKER, "ActiveState")["ActiveState"] == "inactive",
            "before the first sign-in the broker is not running (socket activation)")
    reply = t.sign_in(user, pw)
    claims = t.accepted(z, reply)
    if t.check(claims is not None, f"the right password gets a token the stand-in accepts ({reply.status})"):
        t.check(claims.get("email") == f"{user}@{t.EMAIL_DOMAIN}", f"email claim {claims.get('email')}")
        t.check(claims.get("name") == "Systemd Test", f"name claim {claims.get('name')!r} (GECOS)")
        v = t.run(["zendesk-sso", "verify", "-"], input=t.delivered(reply))
        t.check(v.returncode == 0 and user in v.stdout, "the installed `zendesk-sso verify` accepts it")
    s = t.show(t.BROKER, "ActiveState", "MainPID", "User", "TriggeredBy")
    t.check(s["ActiveState"] == "active" and "zendesk-sso-authd.socket" in s["TriggeredBy"],
            f"the socket started the broker under its unit ({s})")
    who = t.credentials(s["MainPID"])
    t.check(who[:2] == ("zendesk-sso", "zendesk-sso") and "shadow" in who[2],
            f"it runs as zendesk-sso, group zendesk-sso, with shadow ({who})")
    t.check(re.search(f'user "{user}" from 127.0.0.1: ', t.journal_wait(f'user "{user}" from', t.BROKER)),
            "the broker logged the sign-in to the journal")
t.finish()
