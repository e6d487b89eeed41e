#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sign-in sessions in broker mode: the broker holds session.key_file (the
web server can read neither it nor the Zendesk secret), verifies the cookie
a "session" request carries and runs the account checks; the CGI only passes
cookies on. BrokerSessions runs tests/e2e/session_checks.py's checks;
RealAccountSessions (root only) shows a real local account locked with
`usermod -L` gets no token from its session, that changing its password
ends its sessions, and that an expired account's right password looks like
a wrong one (issue 22, points 4 and 6)."""

import atexit
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_checks import COOKIE, RETURN_TO, make_cookie, session_cookie_of, write_key  # noqa: E402
from session_checks import SessionChecks  # noqa: E402
from test_e2e_broker import BrokerStackCase  # noqa: E402
from zsso_e2e import Stack, apache_user, fetch, hidden_fields  # noqa: E402
import broker_wire as wire  # noqa: E402

WAIT = 60


class BrokerSessions(SessionChecks, BrokerStackCase):
    base_session = {"max_seconds": 3600, "idle_seconds": 600}

    @classmethod
    def prepare(cls, s):
        cls.KEY = str(s.dir / "session-key")
        cls.CLI = os.path.join(os.environ["ZSSO_BUILD_DIR"], "tools", "zendesk-sso")
        cls.write_class_key(cls)
        cls.base_session = dict(cls.base_session, key_file=cls.KEY)
        s.configure({"session": cls.base_session, "profiles": {"team": {}}})

    def write_class_key(self):
        # Broker mode: only the broker (root here, its own user in production) reads the key.
        return write_key(self.KEY)

    @unittest.skipUnless(os.geteuid() == 0, "needs root: Apache runs as nobody only when started as root")
    def test_web_server_cannot_read_the_session_key(self):
        st = os.stat(self.KEY)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        probe = subprocess.run(["setpriv", "--reuid=nobody", f"--regid={apache_user()[1]}", "--clear-groups",
                                "cat", self.KEY], capture_output=True, text=True, timeout=WAIT)
        self.assertNotEqual(probe.returncode, 0)
        value, _ = self.sign_in()
        self.assert_token_from_session(self.again(value))

    def test_broker_logs_the_session_sign_in(self):
        value, _ = self.sign_in()
        self.assert_token_from_session(self.again(value))
        log = self.broker_log()
        self.assertRegex(log, r'session sign-in from 127\.0\.0\.1: ok \(token minted, from a session \d+ s old\)')
        self.assertNotIn(value.rsplit(".", 1)[1], log, "the cookie's MAC stays out of the log")


@unittest.skipUnless(os.geteuid() == 0, "skipped: needs root to create a local account, a PAM service "
                                        "in /etc/pam.d and run the broker with access to /etc/shadow")
class RealAccountSessions(unittest.TestCase):
    """A throwaway local account through the real pam_unix, the broker as
    root (as with SupplementaryGroups=shadow), Apache's CGI as nobody."""

    @classmethod
    def setUpClass(cls):
        from test_real_accounts import PASSWORD, Machine, remove_leftovers
        remove_leftovers()
        cls.password = PASSWORD
        cls.m = Machine()
        atexit.register(cls.m.cleanup)
        cls.s = Stack()
        cls.broker = None
        try:
            cls.m.create()
            s = cls.s
            cls.socket = str(s.dir / "authd.sock")
            key = str(s.dir / "session-key")
            cls.key_text = write_key(key)
            s.configure({"broker": {"socket": cls.socket, "allowed_peers": ["nobody"]},
                         "network": {"ip_ranges": ["127.0.0.0/8"]},
                         "pam": {"service": cls.m.service},
                         "session": {"key_file": key}})
            s.start()
            cls.m.write_service(str(s.sandbox.config_path))
            os.chown(s.sandbox.secret_path, 0, 0)
            os.chmod(s.sandbox.secret_path, 0o600)
            cls.log_path = s.dir / "authd.log"
            cls.log = open(cls.log_path, "w")
            # Real NSS and PAM: no sandbox environment for the broker.
            cls.broker = subprocess.Popen([cls.m.authd, "--config", str(s.sandbox.config_path), "--listen",
                                           cls.socket, "--log-stderr"], stdout=cls.log, stderr=cls.log,
                                          stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
                                          preexec_fn=wire.die_with_parent)
            end = time.monotonic() + WAIT
            while "listening on" not in cls.log_path.read_text():
                if cls.broker.poll() is not None or time.monotonic() > end:
                    raise AssertionError("broker did not start: " + cls.log_path.read_text())
                time.sleep(0.02)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.broker and cls.broker.poll() is None:
            cls.broker.terminate()
            cls.broker.wait(WAIT)
        cls.s.cleanup()
        cls.m.cleanup()

    def again(self, value):
        return fetch("GET", self.s.login_url + "?return_to=" + RETURN_TO, headers={"Cookie": f"{COOKIE}={value}"})

    def assert_token(self, r):
        import jwt as pyjwt
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('name="jwt"', r.body, r.body)
        claims = pyjwt.decode(hidden_fields(r.body, "zendesk-sso")["jwt"], self.s.secret, algorithms=["HS256"])
        self.assertEqual(claims["email"], f"{self.m.user}@acme.test")
        return claims

    def test_locked_account_gets_no_token_from_its_session(self):
        r = self.s.sign_in(self.m.user, self.password)
        first = self.assert_token(r)
        value = session_cookie_of(r)[0]
        self.assertNotEqual(self.assert_token(self.again(value))["jti"], first["jti"])
        subprocess.run(["usermod", "-L", self.m.user], check=True, capture_output=True, timeout=WAIT)
        try:
            locked = self.again(value)
            self.assertNotIn('name="jwt"', locked.body)
            self.assertIn('name="password"', locked.body)
            self.assertIn("is locked", self.log_path.read_text())
        finally:
            subprocess.run(["usermod", "-U", self.m.user], check=True, capture_output=True, timeout=WAIT)
        # The same cookie works again once unlocked: the lock was the reason.
        self.assert_token(self.again(value))

    def assert_form_only(self, r):
        self.assertNotIn('name="jwt"', r.body)
        self.assertIn('name="password"', r.body, "the form again")

    def set_password(self, password):
        subprocess.run(["chpasswd"], input=f"{self.m.user}:{password}\n", text=True, check=True,
                       capture_output=True, timeout=WAIT)

    def test_password_change_ends_its_sessions(self):
        # Issue 22, point 6: a copied session cookie must not outlive the password.
        r = self.s.sign_in(self.m.user, self.password)
        self.assert_token(r)
        value = session_cookie_of(r)[0]
        self.assert_token(self.again(value))
        # Reset to the very same password: a new salt, so a new hash, and a reset counts.
        self.set_password(self.password)
        refused = self.again(value)
        self.assertNotIn('name="jwt"', refused.body)
        self.assertIn('name="password"', refused.body, "the form again")
        self.assertIn("the password changed since the sign-in", self.log_path.read_text())
        # The binding is as documented: an independent implementation's cookie
        # bound to today's hash works, one bound to yesterday's does not.
        with open("/etc/shadow") as shadow:
            today = next(line.split(":")[1] for line in shadow if line.split(":")[0] == self.m.user)
        self.assert_token(self.again(make_cookie(self.key_text, self.m.user, password_hash=today)))
        self.assert_form_only(self.again(make_cookie(self.key_text, self.m.user, password_hash=today + "x")))
        # The password works, and the new session it makes does too.
        r = self.s.sign_in(self.m.user, self.password)
        self.assert_token(r)
        self.assert_token(self.again(session_cookie_of(r)[0]))

    def test_expired_account_with_its_right_password_looks_like_a_wrong_one(self):
        # Issue 22, point 4: chage -E 0 must not confirm the password (status,
        # page and the failure deadline alike); the log keeps the reason.
        subprocess.run(["chage", "-E", "0", self.m.user], check=True, capture_output=True, timeout=WAIT)
        try:
            right = self.s.sign_in(self.m.user, self.password)
            wrong = self.s.sign_in(self.m.user, "not-" + self.password)
        finally:
            subprocess.run(["chage", "-E", "-1", self.m.user], check=True, capture_output=True, timeout=WAIT)
        self.assertEqual((right.status, wrong.status), (401, 401), right.body)
        self.assertIn("The user name or password is incorrect.", right.body)
        self.assertNotIn("may not sign in", right.body)
        log = self.log_path.read_text()
        self.assertRegex(log, r"bad_login \(refused after a correct password \(answered as a bad login\): "
                              r"[^\n]*pam_acct_mgmt[^\n]*\); answered (at the failure deadline|\d+ ms after)")

    def test_expired_account_gets_no_token_from_its_session(self):
        r = self.s.sign_in(self.m.user, self.password)
        value = session_cookie_of(r)[0]
        subprocess.run(["chage", "-E", "0", self.m.user], check=True, capture_output=True, timeout=WAIT)
        try:
            refused = self.again(value)
            self.assertNotIn('name="jwt"', refused.body)
            self.assertIn("pam_acct_mgmt", self.log_path.read_text())
        finally:
            subprocess.run(["chage", "-E", "-1", self.m.user], check=True, capture_output=True, timeout=WAIT)


if __name__ == "__main__":
    unittest.main()
