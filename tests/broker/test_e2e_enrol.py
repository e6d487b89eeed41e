#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The "Security keys" page (issue 23, slice 4) through real Apache on
127.0.0.1, zendesk-sso.cgi in broker mode and zendesk-sso-authd with a
webauthn section (test_e2e_webauthn's WebauthnStack: alice has a key, the
standard password stack). GET /keys is the sign-in form under its own
heading, posting to /keys; alice proves her key on the key page, then the
registration page carries the broker's challenge, user handle and the keys
to exclude as data, and one script allowed by a CSP hash this test computes
from the script element's bytes. The software authenticator's registration
goes back through the CGI (malformed fields refused there with 400) to the
broker, which adds the key: the last page lists both keys, and no token is
made."""

import base64
import hashlib
import html
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsso_e2e import hidden_fields  # noqa: E402
from test_e2e_conversation import Browser  # noqa: E402
from test_e2e_webauthn import WebauthnStack, csp_script_hashes, key_form, scripts, unb64url  # noqa: E402
from test_webauthn import SoftKey, b64url  # noqa: E402

ENROL_FORM = re.compile(r'<form id="zsso-enrol" method="post" action="([^"]*)" data-challenge="([^"]*)" '
                        r'data-rp-id="([^"]*)" data-user-handle="([^"]*)" data-user-name="([^"]*)" '
                        r'data-user-verification="([^"]*)" data-attestation="none" data-resident-key="discouraged" '
                        r'data-exclude="([^"]*)">')


def enrol_form(page):
    """{action, challenge, rp_id, user_handle, user_name, uv, exclude} of a registration page, or None."""
    m = ENROL_FORM.search(page.body)
    if not m:
        return None
    action, challenge, rp_id, handle, name, uv, exclude = (html.unescape(g) for g in m.groups())
    return {"action": action, "challenge": unb64url(challenge), "rp_id": rp_id, "user_handle": unb64url(handle),
            "user_name": name, "uv": uv, "exclude": [unb64url(x) for x in exclude.split()]}


class KeysPage(WebauthnStack, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.keys = {"alice": [SoftKey(b"alice-key-1")]}
        type(self).keys = self.keys
        self.write_authfile()
        self.keys_url = self.s.login_url.replace("/login", "/keys")

    def registration_page(self, b):
        """GET /keys, alice's password, her key step: the registration page."""
        form = b.request("GET", self.keys_url)
        self.assertEqual(form.status, 200, form.body)
        fields = hidden_fields(form.body)
        fields.update({"user": "alice", "password": self.s.passwords["alice"]})
        page = b.request("POST", self.keys_url, fields)
        self.assertEqual(page.status, 200, page.body)
        action, challenge = key_form(page)[:2]
        self.assertEqual(action, "/zendesk/keys", "the key step posts back to the keys page")
        cred, client_data, auth_data, signature = self.keys["alice"][0].assertion(challenge, origin=self.origin,
                                                                                  rp_id="localhost")
        fields = hidden_fields(page.body)
        fields.update({"key_id": b64url(cred), "key_client_data": b64url(client_data),
                       "key_authenticator_data": b64url(auth_data), "key_signature": b64url(signature)})
        page = b.request("POST", self.keys_url, fields)
        self.assertEqual(page.status, 200, page.body)
        self.assertIsNotNone(enrol_form(page), page.body)
        return page

    def register(self, b, page, registration, **override):
        fields = hidden_fields(page.body)
        client_data, attestation = registration
        fields.update({"reg_client_data": b64url(client_data), "reg_attestation": b64url(attestation)})
        fields.update(override)
        return b.request("POST", self.keys_url, fields)

    def test_the_form_is_the_sign_in_form_under_its_own_heading(self):
        b = Browser(self.s, login_url=self.keys_url)
        form = b.request("GET", self.keys_url)
        self.assertEqual(form.status, 200, form.body)
        self.assertIn("<h2>Security keys</h2>", form.body)
        self.assertIn("Sign in again to add a security key to your account.", form.body)
        self.assertIn('action="/zendesk/keys"', form.body)
        self.assertIn("zsso_csrf-keys", b.jar, "the keys page's own CSRF cookie")
        self.assertNotIn("zsso_csrf", b.jar)
        self.assertEqual(scripts(form), [])

    def test_a_key_holder_adds_a_second_key_through_the_pages(self):
        b = Browser(self.s, login_url=self.keys_url)
        page = self.registration_page(b)
        form = enrol_form(page)
        self.assertEqual((form["action"], form["rp_id"], form["user_name"], form["uv"]),
                         ("/zendesk/keys", "localhost", "alice", "preferred"))
        self.assertEqual(len(form["challenge"]), 32)
        self.assertEqual(len(form["user_handle"]), 32)
        self.assertEqual(form["exclude"], [b"alice-key-1"])
        self.assertNotIn('name="invite_code"', page.body, "a key holder needs no invite")
        self.assertEqual(len(re.findall(r"<li><code>", page.body)), 1, "alice's one key is listed")
        hidden = hidden_fields(page.body)
        self.assertEqual((hidden["reg_client_data"], hidden["reg_attestation"]), ("", ""))
        self.assertIn("zsso_conv-keys", b.jar)
        # One script; the CSP allows it (and nothing else) by the hash of its bytes as sent.
        found = scripts(page)
        self.assertEqual(len(found), 1, page.body)
        digest = base64.b64encode(hashlib.sha256(found[0].encode()).digest()).decode()
        self.assertEqual(csp_script_hashes(page), [f"'sha256-{digest}'"])
        self.assertIn("navigator.credentials.create(", found[0])
        self.assertNotIn(b64url(form["challenge"]), found[0])
        self.assertNotIn("alice", found[0])
        # The software key's registration for the real challenge and origin.
        new_key = SoftKey(b"alice-key-2")
        done = self.register(b, page, new_key.registration(form["challenge"], origin=self.origin, rp_id="localhost"))
        self.assertEqual(done.status, 200, done.body)
        self.assertIn("Security key added", done.body)
        self.assertEqual(len(re.findall(r"<li><code>", done.body)), 2)
        self.assertNotIn("jwt", done.body)
        self.assertNotIn("zsso_conv-keys", b.jar, "the conversation is over")
        self.assertEqual(self.authfile.read_text().count(b64(b"alice-key-2")), 1)
        self.cgi_log_line(r"200 security key added user=- conversation=[0-9a-f]{8} step=2")
        self.assertRegex(self.broker_log(), r'user "alice" from 127\.0\.0\.1: ok \(security key added: es256 ')

    def test_malformed_fields_are_refused_here_and_the_step_stays_open(self):
        b = Browser(self.s, login_url=self.keys_url)
        page = self.registration_page(b)
        good = SoftKey(b"alice-key-3").registration(enrol_form(page)["challenge"], origin=self.origin,
                                                     rp_id="localhost")
        for override in ({"reg_attestation": "not base64url!"}, {"reg_client_data": ""},
                         {"invite_code": "tab\tcode"}):
            with self.subTest(override=override):
                r = self.register(b, page, good, **override)
                self.assertEqual(r.status, 400, r.body)
                self.cgi_log_line(r"400 .*malformed security key registration")
        fields = hidden_fields(page.body)
        fields["reg_client_data"] = b64url(good[0])
        del fields["reg_attestation"]
        self.assertEqual(b.request("POST", self.keys_url, fields).status, 400)
        done = self.register(b, page, good)
        self.assertEqual(done.status, 200, done.body)
        self.assertIn("Security key added", done.body)

    def test_a_key_is_removed_from_the_page(self):
        type(self).keys = self.keys = {"alice": [SoftKey(b"alice-key-1"), SoftKey(b"alice-key-2")]}
        self.write_authfile()
        b = Browser(self.s, login_url=self.keys_url)
        page = self.registration_page(b)
        ids = re.findall(r'<button type="submit" name="remove_key" value="([^"]*)">Remove ', page.body)
        self.assertEqual(len(ids), 2, page.body)
        target = next(i for i in ids if b64url(b"alice-key-2").startswith(i))
        fields = hidden_fields(page.body)
        for bad in ("a\nb", ""):
            r = b.request("POST", self.keys_url, {**fields, "remove_key": bad})
            self.assertEqual(r.status, 400, r.body)
        done = b.request("POST", self.keys_url, {**fields, "remove_key": target})
        self.assertEqual(done.status, 200, done.body)
        self.assertIn("<h2>Security key removed</h2>", done.body)
        self.assertEqual(len(re.findall(r"<li><code>", done.body)), 1)
        self.assertNotIn(b64(b"alice-key-2"), self.authfile.read_text())
        self.cgi_log_line(r"200 security key removed user=- conversation=[0-9a-f]{8} step=2")

    def test_a_registration_for_another_origin_is_refused_by_the_broker(self):
        b = Browser(self.s, login_url=self.keys_url)
        page = self.registration_page(b)
        bad = SoftKey(b"k").registration(enrol_form(page)["challenge"], origin="http://localhost:1", rp_id="localhost")
        r = self.register(b, page, bad)
        self.assertEqual(r.status, 401, r.body)
        self.assertIn('action="/zendesk/keys"', r.body, "the keys form again")
        self.assertRegex(self.broker_log(), r"security key registration refused \(origin")
        self.assertNotIn("alice-key", self.authfile.read_text().replace(b64(b"alice-key-1"), ""))


def b64(data):
    return base64.b64encode(data).decode()


if __name__ == "__main__":
    unittest.main()
