#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The security key step through the pages (issue 23, slice 3): real Apache
on 127.0.0.1 runs zendesk-sso.cgi in broker mode, zendesk-sso-authd holds the
conversation with a webauthn section (rp_id localhost, the origin
http://localhost:PORT). The key page must carry the broker's challenge, rp
id and credential ids as data, and one script allowed by a CSP hash that
this test computes itself from the script element's bytes. test_webauthn's
software ES256 authenticator signs the real challenge; the posted answer
reaches the broker, which verifies it, and the token is checked by PyJWT.
tests/browser's browser.Webauthn does the same with Chromium's virtual
authenticator."""

import base64
import hashlib
import html
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsso_e2e import assert_alice_token, hidden_fields  # noqa: E402
from test_e2e_conversation import IS_ROOT, Browser, BrokerStack, start_broker  # noqa: E402
from test_webauthn import SoftKey, b64url  # noqa: E402
import broker_wire as wire  # noqa: E402

KEY_FORM = re.compile(r'<form id="zsso-key" method="post" action="([^"]*)" data-challenge="([^"]*)" '
                      r'data-rp-id="([^"]*)" data-user-verification="([^"]*)" data-credentials="([^"]*)">')


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_form(page):
    """(action, challenge bytes, rp id, user verification, [credential id bytes]) of a key page, or None."""
    m = KEY_FORM.search(page.body)
    if not m:
        return None
    action, challenge, rp_id, uv, creds = (html.unescape(g) for g in m.groups())
    return action, unb64url(challenge), rp_id, uv, [unb64url(c) for c in creds.split()]


def scripts(page):
    return re.findall(r"<script>(.*?)</script>", page.body, re.S)


def csp_script_hashes(page):
    """The script-src sources of the page's Content-Security-Policy."""
    for directive in page.header("Content-Security-Policy").split(";"):
        parts = directive.split()
        if parts and parts[0] == "script-src":
            return parts[1:]
    return []


class WebauthnStack(BrokerStack):
    """The sandbox's alice (a key) and bob (none) with the standard stack and
    a webauthn section; also used by tests/browser's browser.Webauthn, which
    enrols a key of its own with enrol()."""
    keys = {}

    @classmethod
    def setUpClass(cls):
        s = cls.make()
        try:
            s.add_service("zendesk-sso")
            s.start()
            if IS_ROOT:   # broker mode: the web server may not read the secret
                os.chown(s.sandbox.secret_path, 0, 0)
                os.chmod(s.sandbox.secret_path, 0o600)
            cls.origin = f"http://localhost:{s.web.port}"
            key_dir = s.dir / "webauthn"
            key_dir.mkdir(mode=0o700)
            cls.authfile = key_dir / "authfile"
            cls.keys = {"alice": [SoftKey(b"alice-key-1")]}
            cls.write_authfile()
            s.configure({"webauthn": {"rp_id": "localhost", "origins": [cls.origin], "authfile": str(cls.authfile)}})
            s.sandbox.write_config(s.config)
            cls.restart_broker()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def write_authfile(cls):
        """pam_u2f's authfile; each entry of keys is a SoftKey or an authfile part (KeyHandle,UserKey,CoseType,Options)."""
        cls.authfile.write_text("".join(
            f"{user}:" + ":".join(k if isinstance(k, str) else k.authfile_part() for k in ks) + "\n"
            for user, ks in cls.keys.items()))
        os.chmod(cls.authfile, 0o600)

    @classmethod
    def launch(cls, *extra):
        return start_broker(cls, wire.with_private_tmp([], cls.s.dir / "broker-tmp"), cls.s.sandbox.env(), extra)

    def setUp(self):
        if self.broker.poll() is not None:
            self.restart_broker()


class KeyPages(WebauthnStack, unittest.TestCase):

    def key_page(self, b, query=""):
        page = b.start("alice", self.s.passwords["alice"], query)
        self.assertEqual(page.status, 200, page.body)
        self.assertIsNotNone(key_form(page), page.body)
        return page

    def answer(self, b, page, assertion, **override):
        """Posts the key page's form as its script would: the four fields base64url."""
        fields = hidden_fields(page.body)
        cred, client_data, auth_data, signature = assertion
        fields.update({"key_id": b64url(cred), "key_client_data": b64url(client_data),
                       "key_authenticator_data": b64url(auth_data), "key_signature": b64url(signature)})
        fields.update(override)
        return b.request("POST", self.s.login_url, fields)

    def test_the_key_page_carries_the_challenge_and_a_hashed_script_and_signs_in(self):
        b = Browser(self.s)
        return_to = "https://acme.zendesk.com/hc/en-us"
        page = self.key_page(b, "?return_to=" + urllib.parse.quote(return_to))
        action, challenge, rp_id, uv, creds = key_form(page)
        self.assertEqual(action, "/zendesk/login")
        self.assertEqual(len(challenge), 32)
        self.assertEqual((rp_id, uv, creds), ("localhost", "preferred", [b"alice-key-1"]))
        # The conversation's fields, as on the other steps, and the four empty answer fields.
        hidden = hidden_fields(page.body)
        self.assertRegex(hidden["conversation"], r"^[0-9a-f]{32}$")
        self.assertEqual((hidden["step"], hidden["return_to"], hidden["lang"]), ("1", return_to, "en"))
        self.assertTrue(hidden["csrf"])
        for name in ("key_id", "key_client_data", "key_authenticator_data", "key_signature"):
            self.assertEqual(hidden[name], "")
        # One script; the CSP allows it (and nothing else) by the hash of its bytes as sent.
        found = scripts(page)
        self.assertEqual(len(found), 1, page.body)
        digest = base64.b64encode(hashlib.sha256(found[0].encode()).digest()).decode()
        self.assertEqual(csp_script_hashes(page), [f"'sha256-{digest}'"])
        self.assertIn("navigator.credentials.get(", found[0])
        # No value of this sign-in in the script: it reads them from the form's data.
        self.assertNotIn(b64url(challenge), found[0])
        self.assertNotIn("localhost", found[0])
        self.assertIn("default-src 'none'", page.header("Content-Security-Policy"))
        # The software key signs the real challenge for the configured origin.
        done = self.answer(b, page, self.keys["alice"][0].assertion(challenge, origin=self.origin, rp_id="localhost"))
        assert_alice_token(self, self.delivered_token(done), self.s.secret)
        self.assertEqual(hidden_fields(done.body, "zendesk-sso")["return_to"], return_to)
        self.assertNotIn("zsso_conv", b.jar)
        tag = self.cgi_log_line(r'200 asked user="alice": broker: prompt conversation=([0-9a-f]{8}) step=1').group(1)
        self.cgi_log_line(r"200 signed in user=- conversation=%s step=1" % tag)
        self.assertRegex(self.broker_log(), r"conversation %s step 1: user \"alice\": asked for a security key" % tag)

    def test_a_malformed_answer_is_refused_here_and_the_step_stays_open(self):
        # "Try again" re-runs the prompt with the same challenge: a post the
        # CGI refuses never reaches the broker, whose step still takes the right answer.
        b = Browser(self.s)
        page = self.key_page(b)
        challenge = key_form(page)[1]
        good = self.keys["alice"][0].assertion(challenge, origin=self.origin, rp_id="localhost")
        for override in ({"key_signature": "not base64url!"}, {"key_id": ""}):
            with self.subTest(override=override):
                r = self.answer(b, page, good, **override)
                self.assertEqual(r.status, 400, r.body)
                self.cgi_log_line(r"400 .*malformed security key answer")
        fields = hidden_fields(page.body)
        del fields["key_signature"]
        fields.update({"key_id": b64url(good[0]), "key_client_data": b64url(good[1]),
                       "key_authenticator_data": b64url(good[2])})
        self.assertEqual(b.request("POST", self.s.login_url, fields).status, 400)
        assert_alice_token(self, self.delivered_token(self.answer(b, page, good)), self.s.secret)

    def test_a_signature_for_another_origin_is_refused_by_the_broker(self):
        b = Browser(self.s)
        page = self.key_page(b)
        bad = self.keys["alice"][0].assertion(key_form(page)[1], origin="http://localhost:1", rp_id="localhost")
        r = self.answer(b, page, bad)
        self.assertEqual(r.status, 401, r.body)
        self.assertIn('name="password"', r.body)
        self.assertRegex(self.broker_log(), r"security key refused \(origin")
        self.assertNotIn("jwt", hidden_fields(r.body))

    def test_a_person_without_a_key_gets_no_key_page(self):
        b = Browser(self.s)
        page = b.start("bob", self.s.passwords["bob"])
        self.assertIsNone(key_form(page))
        self.assertEqual(page.status, 200, page.body)
        self.assertIn("jwt", hidden_fields(page.body, "zendesk-sso"))


if __name__ == "__main__":
    unittest.main()
