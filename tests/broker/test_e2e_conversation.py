#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-step sign-ins through the pages: real Apache on 127.0.0.1 runs
zendesk-sso.cgi in broker mode, zendesk-sso-authd holds the conversation, a
real second factor (Debian's pam_oath, codes from oathtool), tokens checked
by PyJWT. A small cookie jar plays the browser (two jars: two browsers).

Pages: the pam_wrapper sandbox of tests/e2e (any uid).
RealAccount (root only, as CI): a throwaway local account (useradd +
chpasswd, removed after) through the real pam_unix, pam_faillock and
pam_oath, with the broker as root; an expired password (chage -d 0) changed
through the pages, and the helper.password_change_url alternative."""

import atexit
import html
import os
import pwd
import re
import secrets
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse
from pathlib import Path

import jwt  # python3-jwt

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsso_e2e import Stack, apache_user, assert_alice_token, fetch, form_action, hidden_fields  # noqa: E402
import broker_wire as wire  # noqa: E402
from test_conversation import OATH_PROMPT, oath_key, totp, wrong_code  # noqa: E402

AUTHD = os.environ["ZSSO_AUTHD"]
WAIT = 60
IS_ROOT = os.geteuid() == 0
PROMPT_FIELD = re.compile(r'<label for="(answer\d+)">(.*?)</label>\n'
                          r'<input id="\1" name="\1" type="(\w+)"([^>]*)>', re.S)


class Browser:
    """A cookie jar and the form fields of the last page."""

    def __init__(self, stack, headers=None, login_url=None):
        self.s = stack
        self.headers = dict(headers or {})   # sent with every request (a proxy's, say)
        self.login_url = login_url or stack.login_url
        self.jar = {}
        self.set_cookies = []   # every Set-Cookie header seen, in order

    def request(self, method, url, fields=None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        r = fetch(method, url, body=fields, headers={**self.headers, **({"Cookie": cookie} if cookie else {})})
        for header in r.all("Set-Cookie"):
            self.set_cookies.append(header)
            name, rest = header.split("=", 1)
            value = rest.split(";", 1)[0]
            if re.search(r"Max-Age=0(;|$)", header):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return r

    def start(self, user, password, query=""):
        form = self.request("GET", self.login_url + query)
        assert form.status == 200, form.body
        fields = hidden_fields(form.body)
        fields.update({"user": user, "password": password})
        return self.request("POST", self.login_url, fields)

    def answer(self, page, *answers, fields=None):
        f = dict(fields if fields is not None else hidden_fields(page.body))
        for i, a in enumerate(answers):
            f[f"answer{i}"] = a
        return self.request("POST", self.login_url, f)


def prompts(page):
    """[(label text, input type, attributes)] of a prompt page; labels unescaped."""
    return [(html.unescape(label), kind, attrs) for _, label, kind, attrs in PROMPT_FIELD.findall(page.body)]


def notes(page):
    """The PAM messages above the prompts / the button, as sent (escaped)."""
    return re.findall(r'<p class="(?:note|alert) pam"[^>]*>(.*?)</p>', page.body, re.S)


def start_broker(owner, argv_prefix, env, extra=()):
    """zendesk-sso-authd --listen on owner.socket, log in owner.dir."""
    log_path = Path(owner.s.dir) / f"authd-{time.monotonic_ns()}.log"
    log = open(log_path, "w")
    argv = [*argv_prefix, wire.stage(AUTHD, Path(owner.s.dir) / "bin"), "--config",
            str(owner.s.sandbox.config_path), "--listen", owner.socket, "--log-stderr", *extra]
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            preexec_fn=wire.die_with_parent)
    end = time.monotonic() + WAIT
    while "listening on" not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > end:
            raise AssertionError("broker did not start: " + log_path.read_text())
        time.sleep(0.02)
    return proc, log, log_path


def stop_broker(proc, log):
    if proc and proc.poll() is None:
        # Children holding a conversation wait for their browser: end them too.
        try:
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except FileNotFoundError:
            kids = []
        for pid in kids:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
        proc.send_signal(signal.SIGTERM)
        proc.wait(WAIT)
    if log:
        log.close()


class BrokerStack:
    """tests/e2e's Stack in broker mode (the CGI holds no key: its CSRF token
    is random), the broker on s.dir/authd.sock. Subclasses set services and users."""

    @classmethod
    def make(cls):
        s = Stack()
        cls.s = s
        cls.broker = cls.log = None
        cls.web_user = apache_user()[0] if apache_user() else pwd.getpwuid(os.geteuid()).pw_name
        web = pwd.getpwnam(cls.web_user)
        s.sandbox.add_group(apache_user()[1] if apache_user() else cls.web_user, web.pw_gid)
        s.sandbox.add_user(cls.web_user, web.pw_uid, gid=web.pw_gid, gecos="web server")
        cls.socket = str(s.dir / "authd.sock")
        # Every browser here comes from 127.0.0.1 and many leave their
        # conversation open: the shares (issue 22.1) are the Shares tests' job.
        s.configure({"broker": {"socket": cls.socket, "allowed_peers": [cls.web_user],
                                "limits_exempt": ["127.0.0.0/8"], "max_conversations_per_account": 64}})
        return s

    @classmethod
    def restart_broker(cls, *extra):
        stop_broker(cls.broker, cls.log)
        cls.broker, cls.log, cls.log_path = cls.launch(*extra)

    @classmethod
    def tearDownClass(cls):
        stop_broker(cls.broker, cls.log)
        cls.s.cleanup()

    def broker_log(self):
        return self.log_path.read_text(errors="replace")

    def cgi_log_line(self, pattern):
        for _ in range(100):  # the CGI's stderr reaches the error log right after the response
            found = list(re.finditer(pattern, self.s.apache.error_log()))
            if found:
                return found[-1]
            time.sleep(0.05)
        self.fail(f"no CGI log line matching {pattern}:\n{self.s.apache.error_log()[-2000:]}")

    def walk(self, browser, page, answer_for):
        """Answers prompt pages until something else comes; returns (last page, prompts asked)."""
        asked = []
        while page.status == 200 and 'name="conversation"' in page.body:
            fields = prompts(page)
            asked.append(fields)
            page = browser.answer(page, *[answer_for(label) for label, _, _ in fields])
        return page, asked

    def delivered_token(self, page):
        self.assertEqual(page.status, 200, page.body)
        self.assertEqual(form_action(page.body, "zendesk-sso"), self.s.standin.url + "/access/jwt", page.body)
        return hidden_fields(page.body, "zendesk-sso")["jwt"]


TWO_STEP = ("auth     requisite  {module} config={config}\n"
            "auth     requisite  {matrix} passdb={passdb}\n"
            "auth     optional   {sysdir}/pam_echo.so Enter the code from your <b>phone</b> & press Continue.\n"
            "auth     required   {sysdir}/pam_oath.so usersfile={dir}/oath/${{USER}}.users window=6 digits=6\n"
            "account  optional   {sysdir}/pam_echo.so Your password will expire in 3 days <script>x</script>\n"
            "account  required   {module} config={config}\n")


class OathStack(BrokerStack):
    """The sandbox's alice and bob (and eve<b>) with a pam_oath code after the
    password (TWO_STEP), the broker under pam_wrapper. Also used by
    tests/browser."""
    EVE = "eve<b>"

    @classmethod
    def setUpClass(cls):
        s = cls.make()
        try:
            s.sandbox.add_user(cls.EVE, 1003, gecos="Eve", password="eve password")
            s.add_service("zendesk-sso", TWO_STEP)
            oath = s.sandbox.dir / "oath"
            oath.mkdir()
            cls.keys = {}
            for u in ("alice", "bob", cls.EVE):
                cls.keys[u] = oath_key(u)
                (oath / f"{u}.users").write_text(f"HOTP/T30/6 {u} - {cls.keys[u]}\n")
                os.chmod(oath / f"{u}.users", 0o600)
            s.start()
            if IS_ROOT:   # broker mode: the web server may not read the secret
                os.chown(s.sandbox.secret_path, 0, 0)
                os.chmod(s.sandbox.secret_path, 0o600)
            cls.restart_broker()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def launch(cls, *extra):
        return start_broker(cls, wire.with_private_tmp([], cls.s.dir / "broker-tmp"),
                            cls.s.sandbox.env(), extra)

    def setUp(self):
        if self.broker.poll() is not None:
            self.restart_broker()

    # pam_oath takes each code once (and none older than the last): every
    # code asked comes from a later time step, within its window.
    next_offset = {}

    def code(self, user):
        offset = self.next_offset.get(user, 0)
        self.next_offset[user] = offset + 1
        return totp(self.keys[user], offset)


class Pages(OathStack, unittest.TestCase):

    def test_two_steps_through_the_pages_give_a_token(self):
        b = Browser(self.s)
        return_to = "https://acme.zendesk.com/hc/en-us"
        page = b.start("alice", self.s.passwords["alice"], "?return_to=" + urllib.parse.quote(return_to))
        self.assertEqual(page.status, 200, page.body)
        fields = prompts(page)
        # pam_oath's prompt, known: a translated label and a field that
        # shows what is typed (issue 25.11), with the one-time-code hints.
        self.assertEqual([(label, kind) for label, kind, _ in fields], [("One-time code", "text")])
        self.assertIn('autocomplete="one-time-code" inputmode="numeric"', fields[0][2])
        # The message above it, escaped.
        self.assertEqual(notes(page), ["Enter the code from your &lt;b&gt;phone&lt;/b&gt; &amp; press Continue."])
        hidden = hidden_fields(page.body)
        self.assertRegex(hidden["conversation"], r"^[0-9a-f]{32}$")
        self.assertEqual((hidden["step"], hidden["return_to"]), ("1", return_to))
        self.assertTrue(hidden["csrf"])
        # The conversation cookie: HttpOnly, SameSite=Strict, the login URL's path; a fresh CSRF cookie.
        conv = [c for c in page.all("Set-Cookie") if c.startswith("zsso_conv=")]
        self.assertEqual(len(conv), 1, page.all("Set-Cookie"))
        self.assertRegex(conv[0], r"^zsso_conv=[0-9a-f]{16,64}; Path=/zendesk/login; Max-Age=\d+; "
                                  r"HttpOnly; SameSite=Strict$")
        self.assertEqual(len([c for c in page.all("Set-Cookie") if not c.startswith("zsso_conv=")]), 1)
        self.assertNotIn(hidden["conversation"], conv[0], "the id and the binding are different secrets")
        done = b.answer(page, self.code("alice"))
        token = self.delivered_token(done)
        assert_alice_token(self, token, self.s.secret)
        self.assertEqual(hidden_fields(done.body, "zendesk-sso")["return_to"], return_to)
        # The account stage's message is on the delivery page, escaped, and
        # the page waits for the button (no auto-submit script).
        self.assertEqual(notes(done), ["Your password will expire in 3 days &lt;script&gt;x&lt;/script&gt;"])
        self.assertNotIn("<script", done.body)
        self.assertRegex(done.body, r'<button type="submit"')
        self.assertNotIn("'sha256-", done.header("Content-Security-Policy").split("script-src")[1]
                         if "script-src" in done.header("Content-Security-Policy") else "")
        # The conversation cookie is cleared with the delivery.
        self.assertNotIn("zsso_conv", b.jar)
        # One line per step in the CGI's log and the broker's, with the same tag.
        tag = self.cgi_log_line(r'200 asked user="alice": broker: prompt conversation=([0-9a-f]{8}) step=1').group(1)
        self.cgi_log_line(r'200 signed in user=- conversation=%s step=1' % tag)
        self.assertRegex(self.broker_log(), r'conversation %s step 1: user "alice": asked 1 prompt' % tag)
        self.assertRegex(self.broker_log(), r'conversation %s step 1: answered' % tag)
        for log in (self.broker_log(), self.s.apache.error_log()):
            self.assertNotIn(self.s.passwords["alice"], log)

    def test_over_https_the_conversation_cookie_is_host_prefixed(self):
        # Issue 22.8: behind a trusted TLS-terminating proxy the conversation
        # cookie, like the CSRF cookie, is __Host-, Secure, Path=/, so a
        # sibling host can neither set nor shadow it; a profile's keeps its
        # suffix. The bare name (what another host could plant) does not count.
        self.s.configure({"network": {"trusted_proxies": ["127.0.0.1/32"]}, "profiles": {"agents": {}}})
        self.s.sandbox.write_config(self.s.config)
        self.restart_broker()
        try:
            for path, name in (("", "__Host-zsso_conv"), ("/agents", "__Host-zsso_conv_agents")):
                with self.subTest(name=name):
                    b = Browser(self.s, headers={"X-Forwarded-Proto": "https"}, login_url=self.s.login_url + path)
                    page = b.start("alice", self.s.passwords["alice"])
                    self.assertEqual(page.status, 200, page.body)
                    conv = [c for c in page.all("Set-Cookie") if "zsso_conv" in c]
                    self.assertEqual(len(conv), 1, page.all("Set-Cookie"))
                    self.assertRegex(conv[0], "^" + re.escape(name) + r"=[0-9a-f]{16,64}; Path=/; Max-Age=\d+; "
                                              r"HttpOnly; SameSite=Strict; Secure$")
            # The base route's conversation: the bare name is refused, the prefixed one completes.
            b = Browser(self.s, headers={"X-Forwarded-Proto": "https"})
            page = b.start("alice", self.s.passwords["alice"])
            binding = b.jar.pop("__Host-zsso_conv")
            b.jar["zsso_conv"] = binding
            r = b.answer(page, self.code("alice"))
            self.assertEqual(r.status, 410, r.body)
            self.cgi_log_line(r"410 continue request without this browser's conversation cookie")
            del b.jar["zsso_conv"]
            b.jar["__Host-zsso_conv"] = binding
            assert_alice_token(self, self.delivered_token(b.answer(page, self.code("alice"))), self.s.secret)
        finally:
            self.s.config["network"].pop("trusted_proxies", None)
            self.s.config.pop("profiles", None)
            self.s.sandbox.write_config(self.s.config)
            self.restart_broker()

    def test_a_known_prompt_shows_its_label_not_the_modules_text(self):
        # pam_oath puts the user name (here with markup) in its prompt; the
        # page shows its own label instead (translations and unknown
        # prompts: tests/unit/cgi_pages_test.cpp).
        page = Browser(self.s).start(self.EVE, "eve password")
        self.assertEqual(page.status, 200, page.body)
        self.assertNotIn("eve<b>", page.body)
        self.assertNotIn("OATH", page.body)
        self.assertEqual(prompts(page)[0][:2], ("One-time code", "text"))

    def test_wrong_code_shows_the_form_again(self):
        b = Browser(self.s)
        page = b.start("bob", self.s.passwords["bob"])
        done = b.answer(page, wrong_code(self.keys["bob"]))
        self.assertEqual(done.status, 401, done.body)
        # Issue 25.10: the refusal names the code too, and keeps the user name.
        self.assertIn("The user name, password or code is incorrect.", done.body)
        self.assertIn('name="user" type="text" autocomplete="username" autocapitalize="none" '
                      'spellcheck="false" required value="bob">', done.body)
        self.cgi_log_line(r"401 bad login user=- conversation=[0-9a-f]{8} step=1: broker: bad_login")

    def test_stolen_conversation_id_from_another_cookie_jar_is_410(self):
        owner = Browser(self.s)
        page = owner.start("alice", self.s.passwords["alice"])
        self.assertEqual(page.status, 200)
        stolen = hidden_fields(page.body)
        code = self.code("alice")
        thief = Browser(self.s)
        # The thief's own form (own CSRF token and cookie), the owner's conversation id.
        form = thief.request("GET", self.s.login_url)
        fields = hidden_fields(form.body)
        fields.update({"conversation": stolen["conversation"], "step": stolen["step"], "answer0": code})
        r = thief.request("POST", self.s.login_url, fields)
        self.assertEqual(r.status, 410, r.body)
        self.assertIn("Sign-in expired", r.body)
        self.cgi_log_line(r"410 continue request without this browser's conversation cookie")
        # With a conversation cookie of its own making: the broker refuses the binding.
        thief.jar["zsso_conv"] = secrets.token_hex(16)
        form = thief.request("GET", self.s.login_url)
        fields.update({"csrf": hidden_fields(form.body)["csrf"]})
        r = thief.request("POST", self.s.login_url, fields)
        self.assertEqual(r.status, 410, r.body)
        self.assertIn("does not belong to this browser's conversation", self.broker_log())
        self.assertNotIn("jwt", r.body)
        # The owner still completes.
        done = owner.answer(page, code)
        assert_alice_token(self, self.delivered_token(done), self.s.secret)
        # And a replay of the owner's last step, cookie and all, is over.
        again = owner.request("POST", self.s.login_url, {**stolen, "answer0": code,
                                                         "csrf": hidden_fields(page.body)["csrf"]})
        self.assertIn(again.status, (403, 410), again.body)

    def test_replay_after_success_with_the_cookie_is_410(self):
        b = Browser(self.s)
        page = b.start("alice", self.s.passwords["alice"])
        binding = b.jar["zsso_conv"]
        code = self.code("alice")
        self.delivered_token(b.answer(page, code))
        # The same POST again, with the conversation cookie put back and a fresh CSRF pair.
        form = b.request("GET", self.s.login_url)
        b.jar["zsso_conv"] = binding
        fields = {**hidden_fields(page.body), "csrf": hidden_fields(form.body)["csrf"], "answer0": code}
        r = b.request("POST", self.s.login_url, fields)
        self.assertEqual(r.status, 410, r.body)
        self.assertIn("Start again", r.body)
        self.cgi_log_line(r"410 conversation over user=- conversation=[0-9a-f]{8} step=1: broker .*"
                          r"the conversation has ended")

    def test_no_form_while_the_broker_is_down(self):
        # Issue 25.11: nobody types a password for a sign-in that cannot work.
        stop_broker(self.broker, None)
        try:
            r = fetch("GET", self.s.login_url)
            self.assertEqual(r.status, 503, r.body)
            self.assertIn("Sign-in unavailable", r.body)
            self.assertNotIn('name="password"', r.body)
            self.cgi_log_line(r"503 sign-in form not shown: broker %s" % re.escape(self.socket))
        finally:
            self.restart_broker()
        self.assertEqual(fetch("GET", self.s.login_url).status, 200)

    def test_an_unusable_secret_is_found_before_the_password_and_the_code(self):
        # Issue 25.7: the broker checks the secret before PAM asks anything,
        # and the CGI's line, found by the request id, names the cause.
        b = Browser(self.s)
        form = b.request("GET", self.s.login_url)
        self.assertEqual(form.status, 200, form.body)
        p = self.s.sandbox.secret_path
        mode = os.stat(p).st_mode
        os.chmod(p, 0o644)   # world-readable: refused
        try:
            fields = {**hidden_fields(form.body), "user": "alice", "password": self.s.passwords["alice"]}
            r = b.request("POST", self.s.login_url, fields)
            self.assertEqual(r.status, 503, r.body)
            self.assertNotIn('name="conversation"', r.body)
            rid = re.search(r"Request id: <code>([A-Za-z0-9_@-]+)</code>", r.body).group(1)
            line = self.cgi_log_line(r".*req=%s .*" % re.escape(rid)).group(0)
            self.assertIn("world-readable", line)
            self.assertIn("(no password asked)", line)
            self.assertNotIn("asked 1 prompt", self.broker_log().split(rid)[-1])
            # And the form is not shown until it is fixed (the ping checks the secret).
            r = b.request("GET", self.s.login_url)
            self.assertEqual(r.status, 503, r.body)
            self.assertIn("world-readable", self.cgi_log_line(r"503 sign-in form not shown: .*").group(0))
        finally:
            os.chmod(p, mode)
        self.assertEqual(b.request("GET", self.s.login_url).status, 200)

    def test_at_the_cap_a_new_sign_in_is_503_busy(self):
        self.restart_broker("--max-children", "1")
        try:
            held = Browser(self.s).start("alice", self.s.passwords["alice"])
            self.assertEqual(held.status, 200, held.body)
            r = Browser(self.s).start("bob", self.s.passwords["bob"])
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.header("Retry-After"), "30")
            self.assertIn("Too many sign-ins", r.body)
            self.cgi_log_line(r'503 busy user="bob"')
        finally:
            self.restart_broker()


    def probe(self, user, *lines):
        cli = Path(os.environ["ZSSO_BUILD_DIR"]) / "tools" / "zendesk-sso"
        return subprocess.run([str(cli), "--config", str(self.s.sandbox.config_path), "probe", self.s.login_url,
                               "--user", user], input="".join(line + "\n" for line in lines),
                              capture_output=True, text=True, timeout=120)

    def test_probe_answers_each_question_from_the_next_stdin_line(self):
        # zendesk-sso probe on a two-step stack (issue 25.4): the password,
        # then the code on the next line; with no line left it names the question.
        r = self.probe("bob", self.s.passwords["bob"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("[2] POST 200: password taken, the stack asks more", r.stdout)
        self.assertRegex(r.stdout, r'FAILED: the PAM stack asked "[^"]*(OATH|code)[^"]*" after the password, and '
                                   r"stdin has no line 2: give each further answer on its own line")
        self.assertNotIn("no token form", r.stdout)
        code = self.code("bob")
        r = self.probe("bob", self.s.passwords["bob"], code)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'\[3\] POST 200: the stack asked "[^"]*(OATH|code)[^"]*", answered from stdin')
        self.assertIn(f"[4] delivery by auto-submitting POST form to {self.s.standin.url}/access/jwt", r.stdout)
        self.assertIn("[5] token verifies with", r.stdout)
        self.assertIn("ok: sign-in works", r.stdout)
        for secret in (self.s.passwords["bob"], code):
            self.assertNotIn(secret, r.stdout + r.stderr)
        r = self.probe("bob", self.s.passwords["bob"], wrong_code(self.keys["bob"]))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'FAILED: POST 401 after the stack asked "[^"]*": refused \(a wrong or already used code')


class DirectMode(BrokerStack, unittest.TestCase):
    """No broker.socket: the CGI runs PAM itself and cannot hold a
    conversation. Its answers every password prompt with the form's password
    (the glued password+code fallback); a code asked in clear text
    (pam_google_authenticator's echo_verification_code) gets the 503."""

    @classmethod
    def setUpClass(cls):
        s = Stack()
        cls.s = s
        cls.broker = cls.log = None
        try:
            web = apache_user()[0] if apache_user() else pwd.getpwuid(os.geteuid()).pw_name
            ga = s.sandbox.dir / "ga"
            ga.mkdir()
            (ga / "alice").write_text("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n")
            os.chmod(ga / "alice", 0o600)
            w = pwd.getpwnam(web)
            if apache_user():   # the module runs inside the CGI: its file is the web server's
                for p in (ga, ga / "alice"):
                    os.chown(p, w.pw_uid, w.pw_gid)
            # Its user= is looked up through the sandbox's NSS.
            s.sandbox.add_group(apache_user()[1] if apache_user() else web, w.pw_gid)
            s.sandbox.add_user(web, w.pw_uid, gid=w.pw_gid, gecos="web server")
            s.add_service("zendesk-sso",
                          "auth     requisite  {module} config={config}\n"
                          "auth     requisite  {matrix} passdb={passdb}\n"
                          "auth     required   {sysdir}/pam_google_authenticator.so secret={dir}/ga/${{USER}} "
                          f"user={web} echo_verification_code\n"
                          "account  required   {module} config={config}\n")
            s.start()
        except BaseException:
            s.cleanup()
            raise

    def test_a_second_prompt_is_503(self):
        r = Browser(self.s).start("alice", self.s.passwords["alice"])
        self.assertEqual(r.status, 503, r.body)
        self.assertIn("Sign-in unavailable", r.body)
        self.assertNotIn('name="conversation"', r.body)
        self.assertNotIn("incorrect", r.body)
        # (The CGI's line goes to syslog here, not Apache's error log:
        # pam_google_authenticator's own openlog/closelog drops LOG_PERROR.)


RC_PREFIX = "zsso-rc-"   # zsso-rc-<pid>-u: this suite's throwaway account
REAL_PASSWORD = "c0rrect-Horse-battery"
NEW_PASSWORD = "N3w-staple-Horse-9"


def remove_leftover_accounts():
    """Accounts and services of earlier runs killed before cleaning up."""
    for entry in pwd.getpwall():
        m = re.match(r"^zsso-rc-(\d+)-u$", entry.pw_name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            subprocess.run(["userdel", entry.pw_name], capture_output=True)
    for path in Path("/etc/pam.d").glob(RC_PREFIX + "*"):
        m = re.match(r"^zsso-rc-(\d+)-", path.name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            path.unlink(missing_ok=True)


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=WAIT)
    if p.returncode != 0:
        raise AssertionError(f"{argv[0]} failed: {p.stderr}")
    return p.stdout


class RealAccountStack(BrokerStack):
    """A real account through Apache -> CGI -> broker (root) -> pam_unix,
    pam_faillock and pam_oath from /etc/pam.d (root only). Also used by
    tests/browser."""

    @classmethod
    def setUpClass(cls):
        remove_leftover_accounts()
        tag = f"{RC_PREFIX}{os.getpid()}"
        cls.user = f"{tag}-u"
        cls.services = []
        cls.done = False
        atexit.register(cls.remove_account)
        s = cls.make()
        try:
            run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 "--comment", "Real Tester,,,", cls.user])
            run(["chpasswd"], stdin=f"{cls.user}:{REAL_PASSWORD}\n")
            cls.entry = pwd.getpwnam(cls.user)
            cls.faillock = s.dir / "faillock"
            cls.faillock.mkdir(mode=0o700)
            cls.key = oath_key(cls.user)
            cls.oath_users = s.dir / "oath.users"
            cls.oath_users.write_text(f"HOTP/T30/6 {cls.user} - {cls.key}\n")
            os.chmod(cls.oath_users, 0o600)
            module, config = s.dir / "lib" / "pam_zendesk.so", s.sandbox.config_path
            fl = f"dir={cls.faillock}"
            cls.two_factor = cls.add_pam_service(
                f"{tag}-2fa",
                f"auth     requisite                 {module} config={config}\n"
                f"auth     requisite                 pam_faillock.so preauth {fl}\n"
                "auth     [success=1 default=bad]   pam_unix.so\n"
                f"auth     [default=die]             pam_faillock.so authfail {fl}\n"
                f"auth     [success=1 default=bad]   pam_oath.so usersfile={cls.oath_users} window=6 digits=6\n"
                f"auth     [default=die]             pam_faillock.so authfail {fl}\n"
                f"auth     sufficient                pam_faillock.so authsucc {fl}\n"
                "auth     required                  pam_deny.so\n"
                f"account  required                  pam_faillock.so {fl}\n"
                "account  required                  pam_unix.so\n"
                f"account  required                  {module} config={config}\n"
                "password required                  pam_deny.so\n")
            cls.password_change = cls.add_pam_service(
                f"{tag}-exp",
                f"auth     requisite  {module} config={config}\n"
                "auth     required   pam_unix.so\n"
                "account  required   pam_unix.so\n"
                f"account  required   {module} config={config}\n"
                "password required   pam_unix.so yescrypt\n")
            # The shipped stack's shape: a password stack that changes nothing.
            cls.password_denied = cls.add_pam_service(
                f"{tag}-deny",
                f"auth     requisite  {module} config={config}\n"
                "auth     required   pam_unix.so\n"
                "account  required   pam_unix.so\n"
                f"account  required   {module} config={config}\n"
                "password required   pam_deny.so\n")
            s.configure({"pam": {"service": cls.two_factor},
                         "claims": {"email": "{user}@example.test", "tags_from_groups": []}})
            s.start()
            os.chown(s.sandbox.secret_path, 0, 0)
            os.chmod(s.sandbox.secret_path, 0o600)
            cls.restart_broker()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def add_pam_service(cls, name, text):
        path = Path("/etc/pam.d") / name
        path.write_text(text)
        cls.services.append(path)
        return name

    @classmethod
    def remove_account(cls):
        if cls.done:
            return
        cls.done = True
        subprocess.run(["userdel", cls.user], capture_output=True)
        for path in cls.services:
            path.unlink(missing_ok=True)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.remove_account()

    @classmethod
    def launch(cls, *extra):
        # The system's libpam and NSS (no wrappers), as root: pam_unix reads and writes /etc/shadow.
        return start_broker(cls, [], {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, extra)

    def setUp(self):
        if self.broker.poll() is not None:
            self.restart_broker()
        # The known password, changed today (not expired), no failures counted.
        run(["chpasswd"], stdin=f"{self.user}:{REAL_PASSWORD}\n")
        run(["faillock", "--dir", str(self.faillock), "--user", self.user, "--reset"])
        self.use_service(self.two_factor)

    def use_service(self, service, change_expired_passwords=False, **helper):
        self.s.configure({"pam": {"service": service},
                          "broker": {"change_expired_passwords": change_expired_passwords}})
        for key in ("password_change_url", "help_contact"):
            self.s.config["helper"].pop(key, None)
        self.s.configure({"helper": helper})
        self.s.sandbox.write_config(self.s.config)   # read anew by the CGI and the broker per request

    next_offset = 0

    def code(self):
        RealAccount.next_offset += 1
        return totp(self.key, RealAccount.next_offset - 1)

    def failures(self):
        out = run(["faillock", "--dir", str(self.faillock), "--user", self.user])
        return [line for line in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", line)]

    def assert_real_token(self, page):
        claims = jwt.decode(self.delivered_token(page), self.s.secret, algorithms=["HS256"],
                            options={"require": ["iat", "jti"]})
        self.assertEqual(claims["email"], f"{self.user}@example.test")
        self.assertEqual(claims["name"], "Real Tester")
        self.assertEqual(claims["external_id"], str(self.entry.pw_uid))
        return claims



@unittest.skipUnless(IS_ROOT, "skipped: needs root to create a local account and PAM services in "
                               "/etc/pam.d, and a broker that may write /etc/shadow (CI runs as root)")
class RealAccount(RealAccountStack, unittest.TestCase):
    def test_right_password_and_right_code(self):
        b = Browser(self.s)
        page = b.start(self.user, REAL_PASSWORD)
        self.assertEqual([label for label, _, _ in prompts(page)], ["One-time code"], page.body)
        self.assert_real_token(b.answer(page, self.code()))
        self.assertEqual(self.failures(), [])
        for log in (self.broker_log(), self.s.apache.error_log()):
            self.assertNotIn(REAL_PASSWORD, log)

    def test_right_password_wrong_code_is_refused_and_counted_by_faillock(self):
        b = Browser(self.s)
        page = b.start(self.user, REAL_PASSWORD)
        self.assertEqual(len(prompts(page)), 1, page.body)
        r = b.answer(page, wrong_code(self.key))
        self.assertEqual(r.status, 401, r.body)
        self.assertNotIn('name="jwt"', r.body)
        self.assertEqual(len(self.failures()), 1, run(["faillock", "--dir", str(self.faillock), "--user", self.user]))

    def test_wrong_code_keeps_the_user_name_and_names_the_code(self):
        b = Browser(self.s)
        page = b.start(self.user, REAL_PASSWORD)
        r = b.answer(page, wrong_code(self.key))
        self.assertEqual(r.status, 401, r.body)
        self.assertIn("The user name, password or code is incorrect.", r.body)
        self.assertIn(f'required value="{self.user}">', r.body)

    def test_expired_password_after_a_code_sent_to_password_change_url_with_the_user(self):
        # Issue 25.2: the page after the code knows the user only from the broker.
        self.use_service(self.two_factor, password_change_url="https://passwords.acme.test/change?user=%u&x=1")
        run(["chage", "-d", "0", self.user])
        b = Browser(self.s)
        page = b.start(self.user, REAL_PASSWORD)
        self.assertEqual(len(prompts(page)), 1, page.body)   # the code
        r = b.answer(page, self.code())
        self.assertEqual(r.status, 302, r.body)
        self.assertEqual(r.header("Location"),
                         f"https://passwords.acme.test/change?user={urllib.parse.quote(self.user)}&x=1")

    def test_wrong_password_is_refused_without_asking_the_code(self):
        r = Browser(self.s).start(self.user, "not-the-password")
        self.assertEqual(r.status, 401, r.body)
        self.assertNotIn('name="conversation"', r.body)
        self.assertEqual(len(self.failures()), 1)

    def walk_password_change(self, b, old, new):
        page = b.start(self.user, old)
        seen = []

        def answer(label):
            seen.append(label)
            return old if re.search(r"current", label, re.I) else new
        return self.walk(b, page, answer), seen

    def test_expired_password_is_changed_through_the_pages(self):
        self.use_service(self.password_change, change_expired_passwords=True)
        run(["chage", "-d", "0", self.user])
        b = Browser(self.s)
        (done, asked), labels = self.walk_password_change(b, REAL_PASSWORD, NEW_PASSWORD)
        self.assertTrue(asked, "the change was asked through the pages")
        self.assertTrue(any(re.search(r"new", label, re.I) for label in labels), labels)
        self.assertTrue(any(re.search(r"retype|again", label, re.I) for label in labels), labels)
        # The new-password inputs carry the browser's hint.
        hints = [attrs for page in asked for label, _, attrs in page if re.search("new", label, re.I)]
        self.assertTrue(all('autocomplete="new-password"' in h for h in hints), hints)
        self.assert_real_token(done)
        self.cgi_log_line(r"200 signed in user=- conversation=[0-9a-f]{8} step=\d+")
        self.assertIn("password changed, token minted", self.broker_log())
        # Only the new password works now, and it is not expired any more.
        self.assertEqual(Browser(self.s).start(self.user, REAL_PASSWORD).status, 401)
        self.assert_real_token(Browser(self.s).start(self.user, NEW_PASSWORD))
        for log in (self.broker_log(), self.s.apache.error_log()):
            self.assertNotIn(NEW_PASSWORD, log)
            self.assertNotIn(REAL_PASSWORD, log)

    def assert_told_password_expired(self, r, help_shown):
        # An honest page: the password expired, where to get help; never the
        # "may not sign in" of a refused account, and no token.
        self.assertEqual(r.status, 403, r.body)
        self.assertIn("Your password has expired and must be changed before you can sign in.", r.body)
        self.assertNotIn("may not sign in", r.body)
        self.assertNotIn('name="jwt"', r.body)
        self.assertNotIn('name="conversation"', r.body)
        if help_shown:
            self.assertIn("The contact below can help you.", r.body)
            self.assertIn("IT service desk, extension 4711", r.body)
        else:
            self.assertIn("Ask your IT support how to change it.", r.body)
        self.cgi_log_line(r"403 password expired user=(\"%s\"|unknown\(%d bytes\)), told to change it elsewhere: "
                          % (re.escape(self.user), len(self.user)))
        # Nothing was changed, and nothing counted against the account.
        self.assertIn("password must be changed", run(["chage", "-l", self.user]))
        self.assertEqual(self.failures(), [])

    def test_expired_password_shipped_default_says_so_and_names_the_help_contact(self):
        self.use_service(self.password_denied, help_contact="IT service desk, extension 4711")
        run(["chage", "-d", "0", self.user])
        self.assert_told_password_expired(Browser(self.s).start(self.user, REAL_PASSWORD), help_shown=True)
        self.assertIn("pam_acct_mgmt: password expired; told to change it elsewhere (broker.change_expired_passwords "
                      "is off, helper.password_change_url empty)", self.broker_log())
        # The page only after the right password: a wrong one is a wrong password.
        self.assertEqual(Browser(self.s).start(self.user, "not-the-password").status, 401)

    def test_expired_password_shipped_default_without_help_contact(self):
        self.use_service(self.password_denied)
        run(["chage", "-d", "0", self.user])
        self.assert_told_password_expired(Browser(self.s).start(self.user, REAL_PASSWORD), help_shown=False)

    def test_expired_password_a_stack_that_cannot_change_it_says_so(self):
        # Opted in, but the stack's password lines change nothing (pam_deny):
        # still the honest page, and the log says why.
        self.use_service(self.password_denied, change_expired_passwords=True)
        run(["chage", "-d", "0", self.user])
        self.assert_told_password_expired(Browser(self.s).start(self.user, REAL_PASSWORD), help_shown=False)
        self.assertIn("pam_acct_mgmt: password expired; not changed: PAM service", self.broker_log())

    def test_expired_password_sent_to_password_change_url(self):
        self.use_service(self.password_change, password_change_url="https://passwords.acme.test/change?user=%u&x=1")
        run(["chage", "-d", "0", self.user])
        r = Browser(self.s).start(self.user, REAL_PASSWORD)
        self.assertEqual(r.status, 302, r.body)
        self.assertEqual(r.header("Location"),
                         f"https://passwords.acme.test/change?user={urllib.parse.quote(self.user)}&x=1")
        self.assertNotIn('name="jwt"', r.body)
        # The CGI names the user only when its NSS knows the account (this
        # Apache runs under nss_wrapper, which does not): else by length.
        self.cgi_log_line(r"302 password expired user=(\"%s\"|unknown\(%d bytes\)), sent to helper.password_change_url"
                          % (re.escape(self.user), len(self.user)))
        # Nothing was changed.
        self.assertIn("password must be changed", run(["chage", "-l", self.user]))


if __name__ == "__main__":
    unittest.main()
