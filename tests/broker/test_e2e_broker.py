#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Apache's zendesk-sso.cgi signing in through zendesk-sso-authd: the e2e
suite's stack (tests/e2e/zsso_e2e.py: real Apache on 127.0.0.1, a Zendesk
stand-in checking tokens with PyJWT) with broker.socket set, and the broker
under --listen in the same pam_wrapper sandbox. The answers must be the
direct mode's; the web server never reads the Zendesk secret."""

import os
import pwd
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsso_e2e import Stack, apache_user, assert_alice_token, fetch, form_action, hidden_fields  # noqa: E402
import broker_wire as wire  # noqa: E402

AUTHD = os.environ["ZSSO_AUTHD"]
WAIT = 60


class BrokerStackCase(unittest.TestCase):
    """The stack with the broker under --listen; no tests of its own.
    prepare(stack) configures more before the start."""

    @classmethod
    def prepare(cls, s):
        pass

    @classmethod
    def setUpClass(cls):
        s = cls.s = Stack()
        try:
            cls.web_user = apache_user()[0] if apache_user() else pwd.getpwuid(os.geteuid()).pw_name
            web = pwd.getpwnam(cls.web_user)
            # The broker resolves peers through the sandbox's NSS.
            s.sandbox.add_group(apache_user()[1] if apache_user() else cls.web_user, web.pw_gid)
            s.sandbox.add_user(cls.web_user, web.pw_uid, gid=web.pw_gid, gecos="web server")
            cls.socket = str(s.dir / "authd.sock")
            # No CSRF key: the CGI's form token is random (issue 16).
            s.configure({"broker": {"socket": cls.socket, "allowed_peers": [cls.web_user]}})
            cls.prepare(s)
            s.start()
            # Broker mode: the web server may not read the Zendesk secret at all.
            if os.geteuid() == 0:
                os.chown(s.sandbox.secret_path, 0, 0)
                os.chmod(s.sandbox.secret_path, 0o600)
            cls.broker = None
            cls.start_broker()
        except BaseException:
            cls.stop_broker()
            s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_broker()
        cls.s.cleanup()

    @classmethod
    def start_broker(cls, *extra):
        cls.stop_broker()
        cls.log_path = cls.s.dir / f"authd-{time.monotonic_ns()}.log"
        cls.log = open(cls.log_path, "w")
        cls.broker = subprocess.Popen(
            wire.with_private_tmp([wire.stage(AUTHD, cls.s.dir / "bin"), "--config", str(cls.s.sandbox.config_path), "--listen", cls.socket,
                                   "--log-stderr", *extra], cls.s.dir / "broker-tmp"),
            env=cls.s.sandbox.env(), stdin=subprocess.DEVNULL, stdout=cls.log, stderr=cls.log,
            preexec_fn=wire.die_with_parent)
        end = time.monotonic() + WAIT
        while "listening on" not in cls.log_path.read_text():
            if cls.broker.poll() is not None or time.monotonic() > end:
                raise AssertionError("broker did not start: " + cls.log_path.read_text())
            time.sleep(0.02)

    @classmethod
    def stop_broker(cls):
        if getattr(cls, "broker", None) and cls.broker.poll() is None:
            cls.broker.send_signal(signal.SIGTERM)
            cls.broker.wait(WAIT)
        if getattr(cls, "log", None):
            cls.log.close()

    def setUp(self):
        if self.broker is None or self.broker.poll() is not None:
            self.start_broker()

    def broker_log(self):
        return self.log_path.read_text(errors="replace")

    def cgi_log_line(self, pattern):
        for _ in range(100):  # the CGI's stderr reaches the error log right after the response
            m = re.search(pattern, self.s.apache.error_log())
            if m:
                return m
            time.sleep(0.05)
        self.fail(f"no CGI log line matching {pattern}:\n{self.s.apache.error_log()[-2000:]}")


class BrokerE2E(BrokerStackCase):
    def attempt(self, user, password, query="", form=None):
        form = form or fetch("GET", self.s.login_url + query)
        self.assertEqual(form.status, 200, form.body)
        name, morsel = next(iter(form.cookies().items()))
        fields = hidden_fields(form.body)
        fields.update({"user": user, "password": password})
        return fetch("POST", self.s.login_url, body=fields, headers={"Cookie": f"{name}={morsel.value}"})

    def test_sign_in_through_the_broker_reaches_zendesk(self):
        return_to = "https://acme.zendesk.com/hc/en-us"
        done = self.attempt("alice", self.s.passwords["alice"],
                            "?return_to=" + urllib.parse.quote(return_to))
        self.assertEqual(done.status, 200, done.body)
        action = form_action(done.body, "zendesk-sso")
        self.assertEqual(action, self.s.standin.url + "/access/jwt")
        fields = hidden_fields(done.body, "zendesk-sso")
        self.assertEqual(fields["return_to"], return_to)
        assert_alice_token(self, fields["jwt"], self.s.secret)
        z = fetch("POST", action, body=fields)
        self.assertEqual(z.status, 200, z.body)
        self.assertEqual(self.s.standin.received[-1]["claims"]["email"], "alice@acme.test")
        self.assertEqual(fetch("POST", action, body=fields).status, 401, "a replayed jti")
        # One request id from the CGI's log line to the broker's.
        rid = self.cgi_log_line(r'req=([A-Za-z0-9_-]+) "POST" "/zendesk/login": 200 signed in user="alice"').group(1)
        self.assertIn(f'request "{rid}": user "alice" from 127.0.0.1: ok', self.broker_log())
        for log in (self.broker_log(), self.s.apache.error_log()):
            self.assertNotIn(self.s.passwords["alice"], log)

    @unittest.skipUnless(os.geteuid() == 0, "needs root: Apache runs as nobody only when started as root")
    def test_web_server_cannot_read_the_secret(self):
        st = os.stat(self.s.sandbox.secret_path)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        probe = subprocess.run(["setpriv", f"--reuid={self.web_user}", f"--regid={apache_user()[1]}",
                                "--clear-groups", "cat", str(self.s.sandbox.secret_path)],
                               capture_output=True, text=True, timeout=WAIT)
        self.assertNotEqual(probe.returncode, 0)
        self.assertIn("Permission denied", probe.stderr)
        self.assertEqual(self.attempt("bob", self.s.passwords["bob"]).status, 200)

    def test_wrong_password_is_401_with_the_form_again(self):
        r = self.attempt("alice", "not the password")
        self.assertEqual(r.status, 401)
        self.assertIn("The user name or password is incorrect.", r.body)
        self.assertIn('name="password"', r.body)
        self.assertNotIn("not the password", r.body)
        unknown = self.attempt("nosuchuser", "not the password")
        self.assertEqual(unknown.status, 401)
        normalise = lambda body: re.sub(r'value="[^"]*"|<code>[A-Za-z0-9_-]+</code>', "", body)  # noqa: E731
        self.assertEqual(normalise(r.body), normalise(unknown.body))
        # The cause is in the CGI's own line, not only in the broker's.
        self.cgi_log_line(r'401 bad login user="alice": broker: bad_login \(PAM\): '
                          r'.*pam_authenticate: Authentication failure')

    def test_broker_down_is_503(self):
        form = fetch("GET", self.s.login_url)   # shown while the broker was up
        self.stop_broker()
        r = self.attempt("alice", self.s.passwords["alice"], form=form)
        self.assertEqual(r.status, 503, r.body)
        self.assertIn("Sign-in unavailable", r.body)
        self.assertNotIn("authd.sock", r.body, "no internals on the page")
        self.cgi_log_line(r"503 sign-in unavailable user=\"alice\": broker .*authd\.sock: connect: ")
        # And no form while it is down (issue 25.11).
        r = fetch("GET", self.s.login_url)
        self.assertEqual(r.status, 503, r.body)
        self.assertNotIn('name="password"', r.body)
        self.cgi_log_line(r"503 sign-in form not shown: broker .*authd\.sock: connect: ")

    def test_health_is_200_when_the_broker_answers_the_ping(self):
        r = fetch("GET", self.s.base_url + "/health")
        self.assertEqual((r.status, r.body), (200, "ok\n"))
        self.assertIn("ping: ok", self.broker_log())

    def test_health_is_503_when_the_broker_is_down(self):
        self.stop_broker()
        r = fetch("GET", self.s.base_url + "/health")
        self.assertEqual((r.status, r.body), (503, "unavailable\n"))
        self.cgi_log_line(r"503 health: broker .*authd\.sock: connect: ")

    def test_web_server_not_in_allowed_peers_is_503(self):
        form = fetch("GET", self.s.login_url)   # shown while the peer was allowed
        self.s.configure({"broker": {"allowed_peers": ["alice"]}})
        self.s.sandbox.write_config(self.s.config)
        try:
            self.start_broker("--socket-mode", "0666")
            self.assertEqual(fetch("GET", self.s.login_url).status, 503)
            self.cgi_log_line(r"503 sign-in form not shown: .*peer not in broker.allowed_peers")
            r = self.attempt("alice", self.s.passwords["alice"], form=form)
            self.assertEqual(r.status, 503, r.body)
            self.cgi_log_line(r"503 sign-in unavailable .*peer not in broker.allowed_peers")
            h = fetch("GET", self.s.base_url + "/health")
            self.assertEqual((h.status, h.body), (503, "unavailable\n"))
            self.cgi_log_line(r"503 health: broker .*peer not in broker.allowed_peers")
            self.assertIn("refused: peer is not in broker.allowed_peers", self.broker_log())
        finally:
            self.s.configure({"broker": {"allowed_peers": [self.web_user]}})
            self.s.sandbox.write_config(self.s.config)
            self.start_broker()


if __name__ == "__main__":
    unittest.main()
