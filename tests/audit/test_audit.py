#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The audit trail: every decision of zendesk-sso.cgi is ONE syslog line
(facility authpriv, ident zendesk-sso.cgi) with the request id the page
shows, the client address, the user when the request named one, and the
reason. Read from the real syslog() calls: Apache's mount namespace gets a
private /dev/log (tests/e2e/zsso_e2e.py, syslog_socket). The stack is the
shipped local-accounts PAM service (pam_faillock, deny=3) plus a profile
whose account stage refuses, so every kind of decision happens for real.

Afterwards no password, no secret and no whole token is in any log (syslog,
Apache's error and access logs) or in any page but the delivery page.

  ZSSO_BUILD_DIR=build /usr/bin/python3 tests/audit/test_audit.py -v
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broker"))
from hostile_support import (CGI_IDENT, LOG_AUTHPRIV, HardenedTestCase, build_request,  # noqa: E402
                             crash_lines, raw_http)
from zsso_e2e import fetch, free_port, hidden_fields  # noqa: E402
from test_e2e_broker import BrokerStackCase  # noqa: E402

FORM = "application/x-www-form-urlencoded"
LOGIN = "/zendesk/login"
WRONG = ["Wr0ng-Pa55-Marker-1", "Wr0ng-Pa55-Marker-2", "Wr0ng-Pa55-Marker-3"]
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}")
SEVERITY = {"info": 6, "notice": 5, "warning": 4, "err": 3}


class Decisions(HardenedTestCase):
    # The real libpam in the CGI: the modules' own syslog lines (pam_zendesk,
    # pam_faillock, pam_matrix) reach the private /dev/log too and are searched.
    stack_options = {"real_libpam": True}

    @classmethod
    def prepare(cls, s):
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}, "access": {"denied_groups": ["zd-denied"]},
                     "broker": {"failure_delay_ms": 2000},   # paced as shipped: the lines name the deadline
                     "profiles": {"agents": {"access": {"allowed_groups": ["zd-agents"]},
                                             "pam": {"service": "zendesk-sso-agents"}}}})
        cls.tally = s.use_local_accounts_stack(deny=3)
        # The profile's account stage is what refuses (the gate in auth only
        # optional): a right password, then 403 "not allowed".
        s.add_service("zendesk-sso-agents", s.counted(
            "auth     required   {matrix} passdb={passdb}\n"
            "auth     optional   {module} config={config} profile=agents\n"
            "account  required   {module} config={config} profile=agents\n"))
        s.sandbox.add_user("dave", 1004, gecos="Dave", password="dave's 10,000th password", groups=["zd-denied"])
        s.passwords["dave"] = "dave's 10,000th password"
        cls.pages = []      # every body served
        cls.tokens = []     # every token minted

    # --- one request, its one line ---------------------------------------------------------------
    def token_pair(self, path=LOGIN):
        r = raw_http(self.s.apache.port, build_request("GET", path))
        self.pages.append(r.body)
        return hidden_fields(r.body)["csrf"]

    def decide(self, request, source=None, path=LOGIN):
        """Sends request; returns (reply, its one CGI syslog line)."""
        before = len(self.s.syslog.cgi_lines())
        r = raw_http(self.s.apache.port, request, source=source)
        self.pages.append(r.body)
        if 'id="zendesk-sso"' in r.body:
            self.tokens.append(hidden_fields(r.body, "zendesk-sso")["jwt"])
        new = self.s.syslog.cgi_lines()[before:]
        self.assertEqual(len(new), 1, f"one line per decision: {new}")
        line = new[0]
        self.assertEqual(line.facility, LOG_AUTHPRIV)
        self.assertEqual(line.ident, CGI_IDENT)
        self.assertIsNotNone(line.pid)
        self.assertNotIn(b"\n", line.raw)
        line.raw.decode("utf-8")   # strict: quote_for_log escapes what is not UTF-8
        self.assertFalse(re.search(rb"[\x00-\x1f\x7f]", line.raw), line.raw)
        rid = re.search(r"Request id: <code>([A-Za-z0-9_-]+)</code>", r.body)
        if rid:
            self.assertTrue(line.message.startswith(f"req={rid.group(1)} "), (rid.group(1), line))
        self.assertRegex(line.message, rf'^req=[A-Za-z0-9_-]{{8}} "[A-Z]+" "{re.escape(path)}": {r.status} ')
        return r, line

    def post(self, fields, token=None, source=None, path=LOGIN, cookie_name="zsso_csrf", ctype=FORM):
        token = self.token_pair(path) if token is None else token
        headers = [("Cookie", f"{cookie_name}={token}")] if token else []
        if ctype:
            headers.append(("Content-Type", ctype))
        body = urllib.parse.urlencode({**({"csrf": token} if token else {}), **fields})
        return self.decide(build_request("POST", path, headers, body), source=source, path=path)

    def assertLine(self, line, severity, pattern, client="127.0.0.1", user=None, peer=False, event=None):
        """event: (way, outcome) of the audit event this line is (issue 24.2);
        None: the line is no sign-in decision, and says none."""
        self.assertEqual(line.severity, SEVERITY[severity], line)
        if event:
            self.assertTrue(line.message.endswith(f" way={event[0]} outcome={event[1]}"), line.message)
        else:
            self.assertNotIn(" outcome=", line.message)
        self.assertRegex(line.message, pattern)
        self.assertIn(f" {'peer' if peer else 'client'}={client}", line.message)
        if user:
            self.assertIn(f'user="{user}"', line.message)

    # --- the decisions ---------------------------------------------------------------------------
    def test_decisions(self):
        s = self.s
        subprocess.run(["faillock", "--dir", str(self.tally), "--user", "alice", "--reset"], check=True)

        r, l = self.post({"user": "alice", "password": s.passwords["alice"]})
        self.assertEqual(r.status, 200)
        self.assertLine(l, "info", r'200 signed in user="alice" delivery=post', user="alice",
                        event=("password", "signed_in"))

        r, l = self.decide(build_request("GET", LOGIN), source="127.0.0.2")
        self.assertEqual(r.status, 403)
        self.assertLine(l, "notice", r"403 client address 127\.0\.0\.2 is outside ip_ranges", client="127.0.0.2",
                        event=("unknown", "outside_ranges"))

        r, l = self.post({"user": "bob", "password": s.passwords["bob"]}, token="", source="127.0.0.2")
        self.assertEqual(r.status, 403, "outside the ranges before CSRF or PAM")
        self.assertLine(l, "notice", r"403 client address 127\.0\.0\.2 is outside", client="127.0.0.2",
                        event=("unknown", "outside_ranges"))

        for i, wrong in enumerate(WRONG):
            r, l = self.post({"user": "alice", "password": wrong})
            self.assertEqual(r.status, 401)
            self.assertLine(l, "notice", r'401 bad login user="alice": PAM service zendesk-sso: pam_authenticate: '
                                         r"Authentication failure; libpam.s failure delay \(\d+ ms\) skipped; answered at the failure deadline, \d+ ms after the request client=",
                                         user="alice", event=("password", "bad_login"))

        r, l = self.post({"user": "alice", "password": s.passwords["alice"]})
        self.assertEqual(r.status, 401, "locked: the right password fails like a wrong one")
        self.assertLine(l, "notice", r'401 bad login user="alice": .*\(before the password was asked\); PAM said '
                                     r'"The account is locked due to 3 failed logins\."', user="alice", event=("password", "bad_login"))

        # The policy in pam_zendesk's auth gate: refused before the password is asked.
        r, l = self.post({"user": "dave", "password": s.passwords["dave"]})
        self.assertEqual(r.status, 401)
        self.assertLine(l, "notice", r'401 bad login user="dave": .*\(before the password was asked\)', user="dave", event=("password", "bad_login"))

        # An unknown name may be a password typed into the wrong field: only its length is logged.
        r, l = self.post({"user": "no-such-user", "password": WRONG[0]})
        self.assertEqual(r.status, 401)
        self.assertLine(l, "notice", r'401 bad login user=unknown\(12 bytes\): ', event=("password", "bad_login"))
        self.assertNotIn("no-such-user", l.message)

        r, l = self.post({"user": "alice", "password": s.passwords["alice"]}, path="/zendesk/login/agents",
                         cookie_name="zsso_csrf_agents")
        # Refused by the account phase after the right password: answered as a bad login (issue 22.4),
        # the log keeps the real reason.
        self.assertEqual(r.status, 401)
        self.assertLine(l, "notice", r'401 bad login user="alice": .*PAM service zendesk-sso-agents: '
                                     r"pam_acct_mgmt: .* profile=agents", user="alice", event=("password", "bad_login"))

        # CSRF failures, each with the claimed user.
        token = self.token_pair()
        for fields, cookie, why in [({"user": "bob"}, "", "missing"),
                                    ({"user": "bob", "csrf": token}, "zsso_csrf=" + self.token_pair(),
                                     "cookie and form token differ"),
                                    ({"user": "bob", "csrf": "x" * 75}, "zsso_csrf=" + "x" * 75,
                                     "malformed")]:
            fields["password"] = s.passwords["bob"]
            headers = [("Content-Type", FORM)] + ([("Cookie", cookie)] if cookie else [])
            r, l = self.decide(build_request("POST", LOGIN, headers, urllib.parse.urlencode(fields)))
            self.assertEqual(r.status, 403)
            self.assertLine(l, "notice", rf"403 CSRF token {why} user=", user="bob", event=("password", "csrf"))

        # Bad input: refused before PAM, still one line with who asked.
        r, l = self.post({"user": "ali\x00ce", "password": "x"})
        self.assertEqual(r.status, 401)
        self.assertLine(l, "notice", r'401 unusable user name unknown\(6 bytes\)', event=("password", "bad_login"))
        r, l = self.post({"user": "bob", "password": "p" * 2000})
        self.assertLine(l, "notice", r'401 unusable password user="bob"', user="bob", event=("password", "bad_login"))
        r, l = self.post({"user": "", "password": "x"})
        self.assertLine(l, "notice", r"401 empty user name or password", event=("password", "bad_login"))
        r, l = self.decide(build_request("POST", LOGIN, [("Content-Type", FORM)], "user=a&user=b"))
        self.assertLine(l, "notice", r"400 repeated form field user")
        r, l = self.post({"user": "bob", "password": "x"}, ctype="text/plain")
        self.assertLine(l, "notice", r'415 content type "text/plain"', peer=True)   # no decision: no event
        r, l = self.decide(build_request("POST", LOGIN, [("Content-Type", FORM)], "a" * 9000))
        self.assertLine(l, "notice", r"413 body larger than 8192 bytes", peer=True)
        r, l = self.decide(build_request("PUT", LOGIN))
        self.assertLine(l, "notice", r'405 method "PUT"', peer=True)
        r, l = self.decide(build_request("GET", "/zendesk/nowhere%ff"), path="/zendesk/nowhere\\xff")
        self.assertLine(l, "notice", r'404 no route for "/nowhere\\xff"', peer=True)
        r, l = self.decide(build_request("GET", "/zendesk/logout?kind=error&message=" +
                                         urllib.parse.quote("JWT signature invalid\r\nforged: line")),
                           path="/zendesk/logout")
        self.assertNotIn("forged", r.body, "a message with CR/LF is not shown")
        self.assertLine(l, "warning", r'200 Zendesk reported a sign-in error: cause=wrong-secret \(.*\) '
                                      r'message="JWT signature invalid\\x0d\\x0aforged: line"')

        # The lock-out ends with faillock --reset; bob, never locked, signs in.
        subprocess.run(["faillock", "--dir", str(self.tally), "--user", "alice", "--reset"], check=True)
        r, l = self.post({"user": "alice", "password": s.passwords["alice"]})
        self.assertEqual(r.status, 200)
        r, l = self.post({"user": "bob", "password": s.passwords["bob"]}, source="127.0.0.1")
        self.assertEqual(r.status, 200)
        self.assertLine(l, "info", r'200 signed in user="bob"', user="bob", event=("password", "signed_in"))

        self.check_nothing_leaked()

    def check_nothing_leaked(self):
        s = self.s
        self.assertGreaterEqual(len(self.tokens), 3)
        self.assertTrue(all(JWT_SHAPE.fullmatch(t) for t in self.tokens), "the token pattern finds tokens")
        every = s.syslog.sync()
        modules = [l.message for l in every if l.message.startswith(("pam_zendesk(", "pam_faillock("))]
        self.assertTrue([m for m in modules if m.startswith("pam_zendesk(zendesk-sso:")], "module lines captured")
        self.assertTrue([m for m in modules if "pam_faillock" in m and "locked" in m], modules)
        syslog = b"\n".join(l.raw for l in every).decode("utf-8", "replace")
        logs = {"syslog": syslog, "error log": s.apache.error_log(), "access log": s.access_log()}
        secrets = ([s.secret] + WRONG + list(s.passwords.values()) + ["p" * 2000] + self.tokens +
                   [t.split(".")[2] for t in self.tokens])   # not even a token's signature
        for name, text in logs.items():
            self.assertTrue(text, f"{name} is empty: nothing would be found")
            for secret in secrets:
                self.assertNotIn(secret, text, f"{secret[:12]}... in the {name}")
            self.assertIsNone(JWT_SHAPE.search(text), f"a token in the {name}")
        for page in self.pages:
            for secret in [s.secret] + WRONG + list(s.passwords.values()):
                self.assertNotIn(secret, page)
            if 'id="zendesk-sso"' not in page:
                self.assertIsNone(JWT_SHAPE.search(page), "a token outside the delivery page")
        self.assertEqual(crash_lines(s.apache.error_log()), [])
        self.assertEqual(s.cgi_exits(), [])
        if os.environ.get("ZSSO_AUDIT_SHOW"):
            print("\n".join(l.message for l in s.syslog.cgi_lines()))
        print(f"\naudit: {len(s.syslog.cgi_lines())} CGI syslog lines checked; {len(self.pages)} pages, "
              f"{len(secrets)} secret strings, 3 logs searched", flush=True)

    # --- log.format "json" and the metrics, on the same stack (issue 24.1, 24.2) -----------------
    def test_events_as_json_and_counted(self):
        s = self.s
        subprocess.run(["faillock", "--dir", str(self.tally), "--user", "alice", "--reset"], check=True)
        counters = s.dir / "metrics"
        counters.mkdir(exist_ok=True)
        os.chmod(counters, 0o777)   # Apache's user writes the CGI's counter file
        s.configure({"log": {"format": "json"},
                     "metrics": {"enabled": True, "cgi_file": str(counters / "cgi")}})
        s.sandbox.write_config(s.config)

        def json_lines():
            # Prometheus' scrapes below have lines of their own, no event among them.
            return [l for l in s.syslog.lines_of(CGI_IDENT)
                    if l.message.startswith("{") and '\\"/zendesk/metrics\\"' not in l.message]

        def event_of(request, source=None):
            before = len(json_lines())
            r = raw_http(s.apache.port, request, source=source)
            new = json_lines()[before:]
            self.assertEqual(len(new), 1, new)
            return r, json.loads(new[0].message)

        def form_post(fields, source=None):
            token = self.token_pair()
            body = urllib.parse.urlencode({"csrf": token, **fields})
            return event_of(build_request("POST", LOGIN, [("Cookie", f"zsso_csrf={token}"), ("Content-Type", FORM)],
                                          body), source=source)

        fields = {"time", "process", "request_id", "way", "outcome", "account", "client", "profile", "cause",
                  "message"}
        r, ev = form_post({"user": "alice", "password": s.passwords["alice"]})
        self.assertEqual(r.status, 200)
        self.assertEqual(set(ev), fields)
        self.assertEqual((ev["way"], ev["outcome"], ev["account"], ev["client"], ev["profile"]),
                         ("password", "signed_in", "alice", "127.0.0.1", ""))
        self.assertEqual(ev["process"], CGI_IDENT)
        self.assertRegex(ev["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(ev["request_id"], r"^[A-Za-z0-9_-]{8}$")
        self.tokens.append(hidden_fields(r.body, "zendesk-sso")["jwt"])
        r, ev = form_post({"user": "alice", "password": WRONG[0]})
        self.assertEqual((r.status, ev["way"], ev["outcome"], ev["account"]), (401, "password", "bad_login", "alice"))
        self.assertIn("pam_authenticate", ev["cause"])
        r, ev = form_post({"user": "no-such-user", "password": WRONG[1]})
        self.assertEqual((ev["outcome"], ev["account"]), ("bad_login", "unknown(12 bytes)"))
        r, ev = event_of(build_request("GET", LOGIN), source="127.0.0.2")
        self.assertEqual((r.status, ev["way"], ev["outcome"], ev["client"]), (403, "unknown", "outside_ranges", "127.0.0.2"))
        r, ev = event_of(build_request("POST", LOGIN, [("Content-Type", FORM)],
                                       urllib.parse.urlencode({"user": "bob", "password": s.passwords["bob"]})))
        self.assertEqual((r.status, ev["outcome"], ev["account"]), (403, "csrf", "bob"))
        # A page is no decision: its line is JSON too, without the event's fields.
        before = len(json_lines())
        self.token_pair()
        plain = json.loads(json_lines()[before].message)
        self.assertEqual(set(plain), {"time", "process", "message"})

        # The counts the requests above caused, in the exposition (promtool
        # checks its format), and through a real Prometheus scraping it.
        expected = {("password", "signed_in"): 1, ("password", "bad_login"): 2,
                    ("unknown", "outside_ranges"): 1, ("password", "csrf"): 1}
        r = raw_http(s.apache.port, build_request("GET", "/zendesk/metrics"))
        self.assertEqual(r.status, 200)
        self.assertIn("text/plain; version=0.0.4", r.header("Content-Type") or "")
        check = subprocess.run(["promtool", "check", "metrics"], input=r.body, text=True, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        counts = metric_values(r.body, "zendesk_sso_sign_ins_total")
        for (way, outcome), n in expected.items():
            self.assertEqual(counts[(way, outcome)], n, (way, outcome))
        self.assertEqual(sum(counts.values()), sum(expected.values()), counts)
        self.assertIn('zendesk_sso_tokens_minted_total{profile="default"} 1\n', r.body)
        self.assertIn('zendesk_sso_tokens_minted_total{profile="agents"} 0\n', r.body)
        self.assertNotIn("alice", r.body)
        self.assertNotIn("127.0.0", r.body)
        # Limited like /health: not from outside the ranges.
        r = raw_http(s.apache.port, build_request("GET", "/zendesk/metrics"), source="127.0.0.2")
        self.assertEqual(r.status, 403)

        with PrometheusServer(self.s.dir / "prometheus", s.apache.port) as prom:
            prom.wait_for('sum(zendesk_sso_sign_ins_total{outcome="signed_in"})', 1)
            # Sign-ins while it scrapes: its answers follow them.
            r, ev = form_post({"user": "bob", "password": s.passwords["bob"]})
            self.assertEqual(ev["outcome"], "signed_in")
            self.tokens.append(hidden_fields(r.body, "zendesk-sso")["jwt"])
            r, ev = form_post({"user": "bob", "password": WRONG[2]})
            self.assertEqual(ev["outcome"], "bad_login")
            prom.wait_for('sum(zendesk_sso_sign_ins_total{outcome="signed_in"})', 2)
            prom.wait_for('zendesk_sso_sign_ins_total{way="password",outcome="bad_login"}', 3)
            prom.wait_for('zendesk_sso_sign_ins_total{way="unknown",outcome="outside_ranges"}', 1)

        # Nothing secret in the JSON events either.
        self.check_nothing_leaked()
        for l in json_lines():
            self.assertNotIn("no-such-user", l.message)


class ThrottleGauges(BrokerStackCase):
    """The broker's throttle in the metrics (issue 24.1): the listener counts
    the tallies and the bans running from the store, and a real Prometheus
    scraping /zendesk/metrics sees the ban a test causes, and its end."""

    @classmethod
    def prepare(cls, s):
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]},
                     "broker": {"max_failures": 2, "ban_seconds": 10, "max_failures_per_address": 0,
                                "failure_delay_ms": 0},
                     "metrics": {"enabled": True, "cgi_file": ""}})

    def attempt(self, user, password):
        form = fetch("GET", self.s.login_url)
        name, morsel = next(iter(form.cookies().items()))
        fields = dict(hidden_fields(form.body), user=user, password=password)
        return fetch("POST", self.s.login_url, body=fields, headers={"Cookie": f"{name}={morsel.value}"})

    def test_a_ban_is_seen_while_it_runs(self):
        s = self.s
        banned = 'zendesk_sso_throttle_banned{tally="account_address"}'
        r = raw_http(s.apache.port, build_request("GET", "/zendesk/metrics"))
        self.assertEqual(r.status, 200)
        check = subprocess.run(["promtool", "check", "metrics"], input=r.body, text=True, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("zendesk_sso_throttle_tallies_capacity 10000\n", r.body)
        with PrometheusServer(s.dir / "prometheus", s.apache.port) as prom:
            prom.wait_for(banned, 0)
            prom.wait_for("zendesk_sso_throttle_tallies", 0)
            # broker.max_failures 2: the second wrong password bans (alice, 127.0.0.1).
            for _ in range(2):
                self.assertEqual(self.attempt("alice", WRONG[0]).status, 401)
            self.assertEqual(self.attempt("bob", WRONG[1]).status, 401)   # a tally, no ban
            # Over the last minutes: however late this asks, the 10 s ban was scraped.
            prom.wait_for(f"max_over_time({banned}[10m])", 1)
            prom.wait_for("zendesk_sso_throttle_tallies", 2)
            prom.wait_for('max_over_time(zendesk_sso_throttle_banned{tally="address"}[10m])', 0)
            self.assertEqual(self.attempt("alice", s.passwords["alice"]).status, 401, "banned: refused")
            # The ban ends by time alone (broker.ban_seconds): the gauge follows.
            prom.wait_for(banned, 0)
            prom.wait_for("zendesk_sso_throttle_tallies", 2)
        r = raw_http(s.apache.port, build_request("GET", "/zendesk/metrics"))
        check = subprocess.run(["promtool", "check", "metrics"], input=r.body, text=True, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertNotIn("alice", r.body)
        self.assertNotIn("127.0.0", r.body)


def metric_values(text, name):
    """{(way, outcome): value} of one counter in an exposition."""
    out = {}
    for m in re.finditer(rf'^{name}{{way="(\w+)",outcome="(\w+)"}} (\d+)$', text, re.M):
        out[(m.group(1), m.group(2))] = int(m.group(3))
    return out


class PrometheusServer:
    """Debian's Prometheus on loopback, scraping the CGI's /metrics every second."""

    def __init__(self, workdir, apache_port):
        self.dir = Path(workdir)
        self.dir.mkdir(exist_ok=True)
        self.port = free_port()
        (self.dir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: zendesk-sso\n"
            "    metrics_path: /zendesk/metrics\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{apache_port}']\n")
        self.proc = None

    def __enter__(self):
        self.log = open(self.dir / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"], stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()

    def query(self, expr):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                data = json.load(r)
        except OSError:
            return None
        result = data.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, expr, value, limit=120):
        """Until the query answers value (a bound on waiting, not on speed)."""
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus ended: " + (self.dir / "prometheus.log").read_text()[-2000:])
            last = self.query(expr)
            if last == value:
                return
            time.sleep(0.5)
        raise AssertionError(f"{expr}: {last}, expected {value} within {limit} s; "
                             + (self.dir / "prometheus.log").read_text()[-2000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
