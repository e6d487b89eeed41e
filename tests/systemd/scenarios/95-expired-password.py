#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# known-failure: an expired password gets "may not sign in", not an honest page (issue 21 point 2)
"""An expired password (chage -d 0) with the shipped stack, unit and config
(helper.password_change_url empty): the person must get an honest page — the
password expired, and where to change it (else the help contact) — never
"may not sign in", and no token."""
import html
import re
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
t.run(["chage", "-d", "0", user])
with t.standin() as z:
    c = t.cursor()
    reply = t.sign_in(user, pw)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|script).*?</\1>", "", reply.body))))
    print(f"page ({reply.status}): {text.strip()[:600]}")
    print("journal:\n" + t.journal_wait(r"zendesk-sso\.cgi.*POST", t.BROKER, "apache2.service", since=c), end="")
    t.check(not t.delivered(reply), "no token")
    t.check("may not sign in" not in text, "the page does not say the account may not sign in")
    t.check(re.search(r"expired", text, re.I), "the page says the password expired")
t.finish()
