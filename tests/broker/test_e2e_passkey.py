#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Passkeys without a password through the pages (issue 23, slice 5): real
Apache on 127.0.0.1 runs zendesk-sso.cgi in broker mode before
zendesk-sso-authd with webauthn.passwordless on (test_e2e_webauthn's
WebauthnStack: rp_id localhost, the origin http://localhost:PORT). The
sign-in form carries a "Sign in with a passkey" button, a form of its own
(passkey=1 and the CSRF token, no script); its POST gets the key page for a
discoverable key (no credentials offered, user verification required) with
the one script the CSP allows by the hash this test computes. A software
resident key with user verification answers with alice's user handle, which
the page posts as key_user_handle; the broker names the account from it and
the token is checked by PyJWT. Off: no button, and a forged POST is refused
by the CGI before the broker. A malformed user handle is the CGI's 400."""

import base64
import hashlib
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsso_e2e import assert_alice_token, hidden_fields  # noqa: E402
from test_e2e_conversation import Browser  # noqa: E402
from test_e2e_webauthn import WebauthnStack, csp_script_hashes, key_form, scripts  # noqa: E402
from test_passkeys import ALICE_HANDLE, raw_public_key  # noqa: E402
from test_webauthn import b64, b64url  # noqa: E402

PASSKEY_FORM = re.compile(r'<form class="passkey" method="post" action="([^"]*)">\n(.*?)</form>', re.S)
UP_UV = 0x05   # authenticatorData flags: user present, user verified


def passkey_form(page):
    """(action, hidden fields, button text) of the form's passkey button, or None."""
    m = PASSKEY_FORM.search(page.body)
    if not m:
        return None
    return m.group(1), hidden_fields(m.group(2)), re.search(r"<button[^>]*>(.*?)</button>", m.group(2)).group(1)


class PasskeyStack(WebauthnStack):
    """alice's key is also a passkey: the side file maps her user handle to her."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.passkey = cls.keys["alice"][0]
            cls.side_file = cls.authfile.with_name(cls.authfile.name + ".json")
            cls.write_side()
            cls.set_passwordless(True)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def write_side(cls):
        cls.side_file.write_text(json.dumps({"version": 1, "credentials": {
            b64(raw_public_key(cls.passkey)): {"user": "alice", "sign_count": 0,
                                               "user_handle": b64url(ALICE_HANDLE), "added": 1}}}))
        os.chmod(cls.side_file, 0o600)

    @classmethod
    def set_passwordless(cls, on):
        cls.s.configure({"webauthn": {"passwordless": on}})
        cls.s.sandbox.write_config(cls.s.config)
        cls.restart_broker()


class PasskeyPages(PasskeyStack, unittest.TestCase):

    def form(self, b, query=""):
        page = b.request("GET", self.s.login_url + query)
        self.assertEqual(page.status, 200, page.body)
        return page

    def passkey_step(self, b, query=""):
        """The form, its passkey button pressed: the key page."""
        action, fields, _ = passkey_form(self.form(b, query))
        self.assertEqual(action, "/zendesk/login")
        page = b.request("POST", self.s.login_url, fields)
        self.assertEqual(page.status, 200, page.body)
        self.assertIsNotNone(key_form(page), page.body)
        return page

    def answer(self, b, page, handle=ALICE_HANDLE, flags=UP_UV, **override):
        """Posts the key page's form as its script does with a discoverable key's answer."""
        cred, client_data, auth_data, signature = self.passkey.assertion(
            key_form(page)[1], origin=self.origin, rp_id="localhost", flags=flags)
        fields = hidden_fields(page.body)
        fields.update({"key_id": b64url(cred), "key_client_data": b64url(client_data),
                       "key_authenticator_data": b64url(auth_data), "key_signature": b64url(signature),
                       "key_user_handle": b64url(handle)})
        fields.update(override)
        return b.request("POST", self.s.login_url, fields)

    def test_the_form_has_a_passkey_button_that_needs_no_name_or_password(self):
        page = self.form(Browser(self.s), "?return_to=/hc/en-us")
        action, fields, label = passkey_form(page)
        self.assertEqual((action, label), ("/zendesk/login", "Sign in with a passkey"))
        # The form's own CSRF token, return_to and language; no name, no password, no script.
        self.assertEqual(set(fields), {"passkey", "csrf", "return_to", "lang"})
        self.assertEqual((fields["passkey"], fields["return_to"], fields["lang"]), ("1", "/hc/en-us", "en"))
        self.assertEqual(fields["csrf"], hidden_fields(page.body)["csrf"])
        self.assertEqual(scripts(page), [])
        self.assertEqual(csp_script_hashes(page), [])

    def test_a_passkey_signs_in_through_the_pages(self):
        b = Browser(self.s)
        page = self.passkey_step(b, "?return_to=/hc/en-us")
        action, challenge, rp_id, uv, creds = key_form(page)
        # A discoverable key: nothing offered, user verification required.
        self.assertEqual((action, rp_id, uv, creds), ("/zendesk/login", "localhost", "required", []))
        self.assertEqual(len(challenge), 32)
        self.assertIn("<h2>Sign in with a passkey</h2>", page.body)
        self.assertEqual(hidden_fields(page.body)["key_user_handle"], "")
        # One script, allowed by the hash of its bytes as sent; it posts the userHandle.
        found = scripts(page)
        self.assertEqual(len(found), 1, page.body)
        digest = base64.b64encode(hashlib.sha256(found[0].encode()).digest()).decode()
        self.assertEqual(csp_script_hashes(page), [f"'sha256-{digest}'"])
        self.assertIn("response.userHandle", found[0])
        done = self.answer(b, page)
        assert_alice_token(self, self.delivered_token(done), self.s.secret)
        self.assertEqual(hidden_fields(done.body, "zendesk-sso")["return_to"], "/hc/en-us")
        self.assertNotIn("zsso_conv", b.jar)
        tag = self.cgi_log_line(r"200 asked user=- passkey: broker: prompt conversation=([0-9a-f]{8}) step=1").group(1)
        self.cgi_log_line(r"200 signed in user=- conversation=%s step=1" % tag)
        self.assertRegex(self.broker_log(), r'passkey sign-in of user "alice" from 127\.0\.0\.1: ok')

    def test_a_refused_passkey_gets_the_generic_bad_login_form(self):
        for handle, flags, cause in ((bytes(32), UP_UV, "unknown user handle"),
                                     (ALICE_HANDLE, 0x01, "user_verification")):
            with self.subTest(cause=cause):
                b = Browser(self.s)
                r = self.answer(b, self.passkey_step(b), handle=handle, flags=flags)
                self.assertEqual(r.status, 401, r.body)
                self.assertIn("The user name, password or code is incorrect.", r.body)
                self.assertIn('name="password"', r.body)
                self.assertNotIn("alice", r.body)   # nothing names the account the handle may belong to
                self.assertIsNotNone(passkey_form(r))
                self.assertIn(cause, self.broker_log())

    def test_a_second_factor_key_step_takes_the_user_handle_too(self):
        # The password first, then alice's key step (her credential offered, UV
        # as configured); a resident key returns its handle there too, posted alike.
        b = Browser(self.s)
        fields = hidden_fields(self.form(b).body)
        del fields["passkey"]   # the password form's own fields (Browser.start would send the button's too)
        fields.update({"user": "alice", "password": self.s.passwords["alice"]})
        page = b.request("POST", self.s.login_url, fields)
        self.assertEqual(key_form(page)[3:], ("preferred", [self.passkey.credential_id]), page.body)
        self.assertNotIn("Sign in with a passkey", page.body)
        assert_alice_token(self, self.delivered_token(self.answer(b, page)), self.s.secret)
        self.assertRegex(self.broker_log(), r'user "alice": asked for a security key')

    def test_a_malformed_user_handle_is_refused_here_and_the_step_stays_open(self):
        b = Browser(self.s)
        page = self.passkey_step(b)
        for value in ("not base64url!", b64url(bytes(65)), "A"):
            with self.subTest(value=value):
                fields = hidden_fields(page.body)
                fields.update({"key_id": "AA", "key_client_data": "AA", "key_authenticator_data": "AA",
                               "key_signature": "AA", "key_user_handle": value})
                r = b.request("POST", self.s.login_url, fields)
                self.assertEqual(r.status, 400, r.body)
                self.cgi_log_line(r"400 .*malformed security key answer")
        # The broker saw none of them: the same page's right answer still signs in.
        assert_alice_token(self, self.delivered_token(self.answer(b, page)), self.s.secret)

    def test_a_passkey_post_without_the_forms_csrf_token_is_refused(self):
        b = Browser(self.s)
        action, fields, _ = passkey_form(self.form(b))
        fields["csrf"] = "x" * 43
        r = b.request("POST", self.s.login_url, fields)
        self.assertEqual(r.status, 403, r.body)
        self.cgi_log_line(r"403 CSRF token ")
        # With a name or password beside it the post is not the button's.
        action, fields, _ = passkey_form(self.form(b))
        fields["user"] = "alice"
        self.assertEqual(b.request("POST", self.s.login_url, fields).status, 400)
        self.cgi_log_line(r"400 passkey sign-in with a user field")

    def test_off_there_is_no_button_and_a_forged_post_is_refused_before_the_broker(self):
        b = Browser(self.s)
        fields = passkey_form(self.form(b))[1]
        self.set_passwordless(False)
        self.addCleanup(self.set_passwordless, True)
        page = self.form(b)
        self.assertIsNone(passkey_form(page))
        self.assertNotIn('name="passkey"', page.body)
        fields["csrf"] = hidden_fields(page.body)["csrf"]
        r = b.request("POST", self.s.login_url, fields)
        self.assertEqual(r.status, 403, r.body)
        self.assertIn("This site does not offer signing in with a passkey.", r.body)
        self.assertNotIn('name="conversation"', r.body)
        self.cgi_log_line(r"403 passkey sign-in refused with webauthn.passwordless off")
        self.assertNotIn("passkey sign-in", self.broker_log())


if __name__ == "__main__":
    unittest.main()
