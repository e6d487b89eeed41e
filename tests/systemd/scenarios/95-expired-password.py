# SPDX-License-Identifier: BSD-3-Clause
"""An expired password (chage -d 0) with the shipped stack, unit and config
(helper.password_change_url empty, broker.change_expired_passwords off):
an honest page — the password expired, and where to get help changing it
(helper.help_contact when set) — never "may not sign in", and no token;
the journal says "password expired" as the admin guide quotes it. Then the
documented alternative helper.password_change_url: a 302 there.
Before (issue 21): "This account may not sign in to Zendesk from here"."""
import html
import re
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()


def text_of(reply):
    body = re.sub(r"(?s)<(style|script).*?</\1>", "", reply.body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


t.run(["chage", "-d", "0", user])
with t.standin() as z:
    c = t.cursor()
    reply = t.sign_in(user, pw)
    text = text_of(reply)
    print(f"page ({reply.status}): {text[:600]}")
    t.check(not t.delivered(reply), "no token")
    t.check(reply.status == 403, f"403 ({reply.status})")
    t.check("may not sign in" not in text, "the page does not say the account may not sign in")
    t.check("Your password has expired and must be changed before you can sign in." in text,
            "the page says the password expired and must be changed")
    t.check("Ask your IT support how to change it." in text, "without a help contact: ask IT support")
    t.check(t.wait_until(lambda: "password expired; told to change it elsewhere (broker.change_expired_passwords is off, "
                                 "helper.password_change_url empty)" in t.journal(t.BROKER, since=c), 10),
            "the broker's journal line says password expired, as the admin guide quotes it")
    t.check(t.wait_until(lambda: re.search(r'403 password expired user="%s", told to change it elsewhere: ' % user,
                                           t.journal("apache2.service", since=c) + t.journal(since=c)), 10),
            "the CGI's line says 403 password expired, as the admin guide quotes it")
    print(t.journal(t.BROKER, since=c), end="")
    t.check("password must be changed" in t.run(["chage", "-l", user]).stdout, "nothing was changed")

    t.edit_config(lambda cfg: cfg["helper"].update(help_contact="IT service desk, extension 4711",
                                                   help_url="mailto:it@systemd.example"))
    text = text_of(t.sign_in(user, pw))
    t.check("The contact below can help you." in text and "IT service desk, extension 4711" in text,
            "with helper.help_contact the page names it")

    t.edit_config(lambda cfg: cfg["helper"].update(password_change_url="https://id.systemd.example/passwd?user=%u"))
    reply = t.sign_in(user, pw)
    t.check(reply.status == 302 and reply.header("Location") == f"https://id.systemd.example/passwd?user={user}",
            f"with helper.password_change_url: 302 there ({reply.status} {reply.header('Location')})")
t.finish()
