#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 24 under the shipped unit: the broker's audit events carry journal
fields (`journalctl -o json ZENDESK_SSO_OUTCOME=bad_login` finds them, as the
admin guide's section 13 says), and with "metrics": {"enabled": true} and
the CGI's file made as the guide says, GET /zendesk/metrics counts the
sign-ins this scenario caused: the broker's counter file under the unit's
RuntimeDirectory=, the CGI's under /var/lib/zendesk-sso/metrics."""
import json
import re
import urllib.request

import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
METRIC = re.compile(r'^zendesk_sso_sign_ins_total\{way="(\w+)",outcome="(\w+)"\} (\d+)$', re.M)


def events(outcome, since=()):
    """This boot's events with that outcome, but those whose cursor is in
    since (journalctl's --after-cursor with a match skips the first match
    after the cursor, so it is not used)."""
    out = t.run(["journalctl", "--no-pager", "-b", "-o", "json", f"ZENDESK_SSO_OUTCOME={outcome}"]).stdout
    found = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e for e in found if e["__CURSOR"] not in since]


def cursors(outcome):
    return {e["__CURSOR"] for e in events(outcome)}


def scrape():
    with urllib.request.urlopen(t.BASE + "/metrics", timeout=30) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def counts(text):
    return {(way, outcome): int(n) for way, outcome, n in METRIC.findall(text)}


with t.standin() as z:
    # The journal fields, with the shipped config (text lines).
    old_bad, old_good = cursors("bad_login"), cursors("signed_in")
    bad = t.sign_in(user, pw + "-wrong")
    t.check(bad.status == 401, f"a wrong password: 401 ({bad.status})")
    t.wait_until(lambda: events("bad_login", old_bad), 10)
    found = events("bad_login", old_bad)
    t.check(len(found) == 1, f"journalctl -o json ZENDESK_SSO_OUTCOME=bad_login finds the one event ({len(found)})")
    if found:
        e = found[0]
        t.check(e.get("_SYSTEMD_UNIT") == t.BROKER, f"written by the broker's unit ({e.get('_SYSTEMD_UNIT')})")
        t.check((e.get("ZENDESK_SSO_WAY"), e.get("ZENDESK_SSO_ACCOUNT"), e.get("ZENDESK_SSO_CLIENT")) ==
                ("password", user, "127.0.0.1"),
                f"way, account and client in their fields ({e.get('ZENDESK_SSO_WAY')}, "
                f"{e.get('ZENDESK_SSO_ACCOUNT')}, {e.get('ZENDESK_SSO_CLIENT')})")
        t.check(re.fullmatch(r"[A-Za-z0-9_-]{8}", e.get("ZENDESK_SSO_REQUEST_ID", "")) is not None,
                f"the request id in ZENDESK_SSO_REQUEST_ID ({e.get('ZENDESK_SSO_REQUEST_ID')!r})")
        t.check(pw not in json.dumps(e), "no password in the event")
    good = t.sign_in(user, pw)
    t.check(t.accepted(z, good) is not None, "the right password signs in")
    t.check(t.wait_until(lambda: events("signed_in", old_good), 10), "the sign-in is an event too (ZENDESK_SSO_OUTCOME=signed_in)")

    # Metrics, switched on as the admin guide says.
    r = t.run("install -o www-data -g www-data -m 0644 /dev/null /var/lib/zendesk-sso/metrics/cgi")
    t.check(r.returncode == 0, f"the CGI's counter file made as the guide says, in the package's folder ({r.stderr.strip()})")
    t.edit_config(lambda cfg: cfg.update(metrics={"enabled": True}))
    status, ctype, text = scrape()
    t.check(status == 200 and ctype.startswith("text/plain") and "version=0.0.4" in ctype,
            f"GET /zendesk/metrics: 200, text format 0.0.4 ({status}, {ctype})")
    before = counts(text)
    for _ in range(2):
        t.sign_in(user, pw + "-wrong")
    t.check(t.accepted(z, t.sign_in(user, pw)) is not None, "signed in with metrics on")
    status, _, text = scrape()
    after = counts(text)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    delta = {k: v for k, v in delta.items() if v}
    t.check(delta == {("password", "bad_login"): 2, ("password", "signed_in"): 1},
            f"the counts this scenario caused, each once ({delta})")
    t.check(re.search(r"^zendesk_sso_broker_up 1$", text, re.M) is not None, "the broker's file is read (broker_up 1)")
    t.check(re.search(r'^zendesk_sso_tokens_minted_total\{profile="default"\} [1-9]', text, re.M) is not None,
            "tokens minted are counted")
    t.check(user not in text and "127.0.0.1" not in text, "no user name or address in the exposition")
    print("\n".join(l for l in text.splitlines() if l.startswith("zendesk_sso_") and "bucket" not in l))
t.finish()
