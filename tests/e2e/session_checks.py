# SPDX-License-Identifier: BSD-3-Clause
"""Sign-in sessions (issue 13) through Apache: the checks both modes share.

SessionChecks is a mixin for a unittest class whose setUpClass started a
Stack (self.s) with a session key the signer of cookies (the CGI in direct
mode, the broker in broker mode) can read, and a profile "team". The class
sets KEY (the key file's path) and may override apply_config() (how a config
change takes effect) and mode_checks().

Cookies this suite forges itself are made by an independent implementation
of the format (make_cookie below, Python's hmac), so the format in
core/include/zsso/session_cookie.hpp is checked from outside too.
"""

import base64
import hashlib
import hmac
import os
import re
import secrets
import subprocess
import time
import urllib.parse

from zsso_e2e import assert_alice_token, fetch, hidden_fields

COOKIE = "__Host-zsso_session"
RETURN_TO = "https://acme.zendesk.com/agent/tickets/7"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_cookie(key, user, profile="", issued=None, last=None, password_hash=None, version=2):
    """A session cookie value signed with key (the key file's bytes), bound
    to password_hash (the account's shadow hash) or, when None, to nothing
    (the test users live in nss_wrapper, with no shadow entry). version=1:
    the older format, without the binding."""
    key = key.encode() if isinstance(key, str) else key
    issued = int(time.time()) if issued is None else issued
    last = issued if last is None else last
    mac_key = hmac.new(key, b"zendesk-sso session v1", hashlib.sha256).digest()
    kid = hmac.new(key, b"zendesk-sso session key id v1", hashlib.sha256).digest()[:4].hex()
    value = f"{version}.{kid}.{issued}.{last}.{b64(profile.encode())}.{b64(user.encode())}"
    if version >= 2:
        if password_hash is None:
            value += ".n"
        else:
            digest = hmac.new(mac_key, b"zendesk-sso session password v2\0" + user.encode() + b"\0"
                              + password_hash.encode(), hashlib.sha256).digest()
            value += ".p" + b64(digest[:16])
    return value + "." + b64(hmac.new(mac_key, value.encode(), hashlib.sha256).digest())


def write_key(path, owner_gid=None, text=None):
    """A key file as `zendesk-sso session revoke-all` makes one; readable by owner_gid's group when given."""
    text = text or secrets.token_urlsafe(32)
    with open(path, "w") as f:
        f.write(text + "\n")
    if os.geteuid() == 0 and owner_gid is not None:
        os.chown(path, 0, owner_gid)
        os.chmod(path, 0o640)
    else:
        os.chmod(path, 0o600)
    return text


def session_cookie_of(reply, name=COOKIE):
    """(value, attributes) of the Set-Cookie for name, or None."""
    for v in reply.all("Set-Cookie"):
        if v.startswith(name + "="):
            value, _, rest = v.partition(";")
            attrs = {}
            for a in rest.split(";"):
                k, _, val = a.strip().partition("=")
                attrs[k.lower()] = val
            return value[len(name) + 1:], attrs
    return None


class SessionChecks:
    KEY = None          # path of session.key_file
    CLI = None          # the zendesk-sso CLI
    base_session = {}   # the class's session section

    def write_class_key(self):
        """Writes a fresh key at KEY, readable by whoever signs cookies; returns it."""
        raise NotImplementedError

    # --- helpers ---------------------------------------------------------------------
    def apply_config(self):
        self.s.sandbox.write_config(self.s.config)

    def key_text(self):
        with open(self.KEY) as f:
            return f.read().strip()

    def sign_in(self, path="/login", source=None, user="alice"):
        r = self.s.sign_in(user, self.s.passwords[user], path=path, return_to=RETURN_TO, source=source)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('name="jwt"', r.body)
        name = COOKIE + ("_" + path.rsplit("/", 1)[1] if path != "/login" else "")
        got = session_cookie_of(r, name)
        self.assertIsNotNone(got, f"no {name} cookie after a password sign-in: {r.headers}")
        return got[0], hidden_fields(r.body, "zendesk-sso")["jwt"]

    def again(self, value, path="/login", source=None, name=COOKIE, return_to=RETURN_TO):
        q = "?" + urllib.parse.urlencode({"return_to": return_to}) if return_to else ""
        headers = {"Cookie": f"{name}={value}"} if value is not None else {}
        return fetch("GET", self.s.base_url + path + q, headers=headers, source=source)

    def assert_token_from_session(self, r, first_token=None):
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn('name="password"', r.body, "a session sign-in shows no form")
        fields = hidden_fields(r.body, "zendesk-sso")
        self.assertEqual(fields["return_to"], RETURN_TO)
        claims = assert_alice_token(self, fields["jwt"], self.s.secret)
        if first_token:
            import jwt as pyjwt
            first = pyjwt.decode(first_token, self.s.secret, algorithms=["HS256"])
            self.assertNotEqual(claims["jti"], first["jti"], "a fresh token, not the old one again")
            self.assertEqual(claims["email"], first["email"])
        return claims

    def assert_form(self, r, cleared=True):
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('name="password"', r.body)
        self.assertNotIn('name="jwt"', r.body)
        if cleared:
            got = session_cookie_of(r)
            self.assertIsNotNone(got, "a cookie that will not work again is cleared")
            self.assertEqual((got[0], got[1].get("max-age")), ("", "0"))

    def log_line(self, pattern):
        for _ in range(100):
            m = re.search(pattern, self.s.apache.error_log())
            if m:
                return m
            time.sleep(0.05)
        self.fail(f"no CGI log line matching {pattern}:\n{self.s.apache.error_log()[-3000:]}")

    def set_session_config(self, **kw):
        self.s.configure({"session": kw})
        self.apply_config()

    def tearDown(self):
        # Every test starts from the class's session settings.
        self.s.config["session"] = dict(self.base_session)
        self.s.config["network"]["ip_ranges"] = []
        self.s.config["access"].pop("allowed_groups", None)
        self.apply_config()

    # --- the checks ---------------------------------------------------------------------
    def test_session_signs_in_again_without_the_form(self):
        value, first = self.sign_in()
        attrs = session_cookie_of(self.s.sign_in("alice", self.s.passwords["alice"]))[1]
        for flag in ("secure", "httponly"):
            self.assertIn(flag, attrs)
        self.assertEqual(attrs["path"], "/")
        self.assertEqual(attrs["samesite"], "Lax")
        self.assertNotIn("domain", attrs)
        self.assertLessEqual(int(attrs["max-age"]), self.base_session["max_seconds"])
        self.assertGreater(int(attrs["max-age"]), self.base_session["max_seconds"] - 60)
        r = self.again(value)
        self.assert_token_from_session(r, first)
        # Refreshed: a new value for the same sign-in.
        refreshed = session_cookie_of(r)
        self.assertIsNotNone(refreshed)
        self.assertNotEqual(refreshed[0], "")
        self.assert_token_from_session(self.again(refreshed[0]), first)
        self.log_line(r'"GET" "/zendesk/login": 200 signed in from session user="alice" age=\d+s')
        self.assertNotIn(self.key_text(), self.s.apache.error_log())

    def test_token_reaches_the_standin(self):
        value, _ = self.sign_in()
        fields = hidden_fields(self.again(value).body, "zendesk-sso")
        z = fetch("POST", self.s.standin.url + "/access/jwt", body=fields)
        self.assertEqual(z.status, 200, z.body)
        self.assertEqual(self.s.standin.received[-1]["claims"]["email"], "alice@acme.test")

    def test_without_cookie_the_form(self):
        self.assert_form(self.again(None), cleared=False)

    def test_logout_clears_the_cookie(self):
        value, _ = self.sign_in()
        out = fetch("GET", self.s.base_url + "/logout", headers={"Cookie": f"{COOKIE}={value}"})
        self.assertEqual(out.status, 200)
        got = session_cookie_of(out)
        self.assertEqual((got[0], got[1].get("max-age"), got[1].get("path")), ("", "0", "/"))
        self.assertIn("secure", got[1])
        # The browser drops the cookie: the next visit is the form.
        self.assert_form(self.again(None), cleared=False)

    def test_tampered_truncated_and_foreign_cookies_get_the_form(self):
        value, _ = self.sign_in()
        parts = value.split(".")
        bob = parts[:]
        bob[5] = b64(b"bob")
        key = self.key_text()
        now = int(time.time())
        cases = {
            "tampered user": ".".join(bob),
            "tampered time": value.replace(f".{parts[2]}.", f".{int(parts[2]) + 1}.", 1),
            "truncated": value[:-3],
            "cut at a dot": ".".join(parts[:-1]),
            "other key": make_cookie(secrets.token_urlsafe(32), "alice"),
            "other profile": make_cookie(key, "alice", profile="team"),
            "expired": make_cookie(key, "alice", issued=now - self.base_session["max_seconds"] - 5, last=now - 10),
            "idle": make_cookie(key, "alice", issued=now - 100, last=now - self.base_session["idle_seconds"] - 5),
            "garbage": "%00<script>",
            # The format before sessions were bound to the password (issue 22): sign in again.
            "older format": make_cookie(key, "alice", version=1),
        }
        for what, bad in cases.items():
            with self.subTest(what):
                self.assert_form(self.again(bad))
        self.log_line(r'200 form, session not used: .*bad signature')
        self.log_line(r'200 form, session not used: .*issued for another profile')
        self.log_line(r'200 form, session not used: .*made by an older version \(sign in again\)')
        # The independent implementation's cookie with the right key works: the format is as documented.
        self.assert_token_from_session(self.again(make_cookie(key, "alice")))

    def test_profile_sessions_are_separate(self):
        team, _ = self.sign_in(path="/login/team")
        self.assert_form(self.again(team))                               # a team session is not a base one
        r = self.again(team, path="/login/team", name=COOKIE + "_team")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('name="jwt"', r.body)

    def test_group_removed_gets_no_token(self):
        self.s.configure({"access": {"allowed_groups": ["staff"]}})
        self.apply_config()
        value, _ = self.sign_in()
        self.assert_token_from_session(self.again(value))
        staff = self.s.sandbox.groups["staff"]

        def flush_group_file():
            before = os.stat(self.s.sandbox.group_path).st_mtime
            self.s.sandbox._flush()
            # nss_wrapper reloads a file whose mtime changed, in whole seconds:
            # a change within the second it was last read would go unseen.
            later = max(time.time(), before) + 2
            os.utime(self.s.sandbox.group_path, (later, later))
        staff[1].remove("alice")
        flush_group_file()
        try:
            r = self.again(value)
            self.assertNotIn('name="jwt"', r.body)
            self.assert_form(r)
            self.log_line(r'200 form, session not used: .*pam_acct_mgmt')
        finally:
            staff[1].append("alice")
            flush_group_file()

    def test_outside_the_ranges_gets_no_token(self):
        self.s.configure({"network": {"ip_ranges": ["127.0.0.2/32"]}})
        self.apply_config()
        value, _ = self.sign_in(source="127.0.0.2")
        self.assert_token_from_session(self.again(value, source="127.0.0.2"))
        r = self.again(value, source="127.0.0.3")
        self.assertEqual(r.status, 403, r.body)
        self.assertNotIn('name="jwt"', r.body)

    def test_max_seconds(self):
        self.set_session_config(max_seconds=3, idle_seconds=0)
        value, _ = self.sign_in()
        self.assert_token_from_session(self.again(value))
        time.sleep(3.5)
        self.assert_form(self.again(value))
        self.log_line(r'session not used: .*past session.max_seconds')

    def test_idle_seconds_and_refresh(self):
        self.set_session_config(max_seconds=600, idle_seconds=4)
        value, _ = self.sign_in()
        time.sleep(2.5)
        r = self.again(value)
        self.assert_token_from_session(r)
        refreshed = session_cookie_of(r)[0]
        time.sleep(2.5)
        self.assert_token_from_session(self.again(refreshed))        # used 2-3 s ago
        self.assert_form(self.again(value))                          # last used 5-6 s ago
        self.log_line(r'session not used: .*unused for longer than session.idle_seconds')

    def test_sessions_off_ignores_the_cookie(self):
        value, _ = self.sign_in()
        self.set_session_config(max_seconds=0)
        r = self.again(value)
        self.assertEqual(r.status, 200)
        self.assertIn('name="password"', r.body)
        self.assertIsNone(session_cookie_of(self.s.sign_in("alice", self.s.passwords["alice"])),
                          "no session cookie when sessions are off")

    def cli(self, *args):
        p = subprocess.run([self.CLI, "--config", str(self.s.sandbox.config_path), "session", *args],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_rotation_with_grace_then_revoke_all(self):
        value, _ = self.sign_in()
        old = self.KEY + ".previous"
        before = os.stat(self.KEY)
        first_key = self.key_text()
        self.set_session_config(previous_key_file=old)
        try:
            self.assertIn("sessions go on until you remove it", self.cli("rotate"))
            with open(old) as f:
                self.assertEqual(f.read().strip(), first_key, "the old key kept as the previous one")
            r = self.again(value)
            self.assert_token_from_session(r)                           # grace: the old key still verifies
            renewed = session_cookie_of(r)[0]
            self.assertNotEqual(renewed.split(".")[1], value.split(".")[1], "refreshed under the new key")
            # revoke-all: a fresh key_file, the previous one removed: every session ends.
            self.assertIn("every sign-in session has ended", self.cli("revoke-all"))
            self.assertFalse(os.path.exists(old))
            after = os.stat(self.KEY)
            self.assertEqual((after.st_mode & 0o777, after.st_uid, after.st_gid),
                             (before.st_mode & 0o777, before.st_uid, before.st_gid), "mode and owner kept")
            self.assert_form(self.again(value))
            self.assert_form(self.again(renewed))
            value2, _ = self.sign_in()
            self.assert_token_from_session(self.again(value2))
        finally:
            if os.path.exists(old):
                os.unlink(old)
