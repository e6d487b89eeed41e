# SPDX-License-Identifier: BSD-3-Clause
"""A real headless Chromium signs in with a security key (issue 23, slice 3)
through Apache -> zendesk-sso.cgi -> zendesk-sso-authd (the sandbox of
tests/broker/test_e2e_webauthn.py). The key is CDP's virtual authenticator
(WebAuthn domain: ctap2 over usb, user verification on) holding an ES256
private key that the broker's authfile holds the public half of. WebAuthn
needs a secure context: the page is browsed at http://localhost:PORT (rp_id
localhost, that origin in webauthn.origins) while Apache listens on
127.0.0.1. Also: a prompt that fails (the authenticator has no matching
credential) shows "Try again", which signs in with the same challenge once
the key is there; a browser without WebAuthn gets the page that says so.
Slice 4: a key enrolled on the "Security keys" page by the virtual
authenticator signs in. Screenshots go to <build>/tests/browser/
(webauthn-*.png).
"""

import base64
import os
import sys
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import serialization

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "broker"))
from cdp import Chromium  # noqa: E402
from test_browser_multistep import OUT, card_screenshot, desktop_again, phone_screenshot, standin_email, submit_and_wait  # noqa: E402
from test_e2e_webauthn import WebauthnStack  # noqa: E402

KEY_PAGE = "document.getElementById('zsso-key') !== null"
SHOWN = "(id => { const e = document.getElementById(id); return e && !e.hidden ? e.textContent : ''; })"


def pkcs8_b64(private_key):
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return base64.b64encode(der).decode()


class BrowserKey(WebauthnStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        super().setUpClass()
        cls.localhost_login = f"http://localhost:{cls.s.web.port}/zendesk/login"

    def authenticator(self, page, with_credential=True):
        """A virtual ctap2 security key on page's browser; with alice's credential unless told not."""
        page.send("WebAuthn.enable", {"enableUI": False})
        auth = page.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "usb", "hasResidentKey": False, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
        if with_credential:
            self.add_credential(page, auth)
        return auth

    # The broker keeps the key's sign count: each new virtual authenticator
    # starts above what the previous test's reached.
    sign_count = 0

    def add_credential(self, page, auth):
        key = self.keys["alice"][0]
        BrowserKey.sign_count += 100
        page.send("WebAuthn.addCredential", {"authenticatorId": auth, "credential": {
            "credentialId": base64.b64encode(key.credential_id).decode(), "isResidentCredential": False,
            "rpId": "localhost", "privateKey": pkcs8_b64(key.private), "signCount": BrowserKey.sign_count}})

    def password_page(self, page, user="alice"):
        page.navigate(self.localhost_login + "?return_to=/hc/en-us")
        page.wait_for("document.getElementById('user') !== null")
        page.type_into("#user", user)
        page.type_into("#password", self.s.passwords[user])
        submit_and_wait(page)

    def no_csp_violation(self, page):
        self.assertEqual([m for m in page.log_entries() if "Content Security Policy" in m], [])

    def test_a_security_key_signs_in_end_to_end(self):
        with Chromium() as browser:
            page = browser.new_page()
            self.authenticator(page)
            self.password_page(page)
            # The key page asks, the virtual key answers, the form posts, the token is delivered.
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.assertEqual(page.evaluate("document.getElementById('return_to').textContent"), "/hc/en-us")
            self.no_csp_violation(page)
        self.assertRegex(self.broker_log(), r'user "alice": asked for a security key')
        self.assertRegex(self.cgi_log_line(r"200 signed in user=- conversation=\w+ step=1").group(0), "step=1")

    def test_a_failed_prompt_offers_try_again_with_the_same_challenge(self):
        with Chromium() as browser:
            page = browser.new_page()
            auth = self.authenticator(page, with_credential=False)
            self.password_page(page)
            page.wait_for(KEY_PAGE)
            # The key has no credential for this account: the browser refuses (NotAllowedError).
            failed = page.wait_for(SHOWN + "('zsso-key-failed')", timeout=60)
            self.assertEqual(failed, "The security key did not answer: the request was cancelled or took too long.")
            self.assertEqual(page.evaluate(SHOWN + "('zsso-key-ask')"), "")
            self.assertEqual(page.evaluate("document.activeElement.id"), "zsso-key-again")
            self.assertEqual(page.evaluate("document.getElementById('zsso-key-again').textContent"), "Try again")
            challenge = page.evaluate("document.getElementById('zsso-key').dataset.challenge")
            card_screenshot(page, OUT / "webauthn-failed.png")
            page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2,
                                                             "mobile": True})
            phone_screenshot(page, OUT / "webauthn-failed-phone.png")
            desktop_again(page)
            # The key is plugged in: "Try again" asks with the same page and challenge, and signs in.
            self.add_credential(page, auth)
            self.assertEqual(page.evaluate("document.getElementById('zsso-key').dataset.challenge"), challenge)
            page.click("#zsso-key-again")
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.no_csp_violation(page)

    def test_the_page_while_the_key_is_asked(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.send("WebAuthn.enable", {"enableUI": False})
            # Presence not simulated: the prompt waits for a touch that never comes.
            auth = page.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2", "transport": "usb", "hasUserVerification": True, "isUserVerified": True,
                "automaticPresenceSimulation": False}})["authenticatorId"]
            self.add_credential(page, auth)
            self.password_page(page)
            page.wait_for(KEY_PAGE)
            self.assertTrue(page.evaluate("window.isSecureContext"))
            asked = page.wait_for(SHOWN + "('zsso-key-ask')")
            self.assertEqual(asked, "Use your security key to finish signing in: insert or touch it when your "
                                    "browser asks.")
            self.assertTrue(page.evaluate("document.getElementById('zsso-key-again').hidden"))
            card_screenshot(page, OUT / "webauthn-ask.png")
            page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2,
                                                             "mobile": True})
            phone_screenshot(page, OUT / "webauthn-ask-phone.png")
            self.no_csp_violation(page)

    def test_a_browser_without_webauthn_is_told_so(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.send("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.PublicKeyCredential;"})
            self.password_page(page)
            page.wait_for(KEY_PAGE)
            text = page.wait_for(SHOWN + "('zsso-key-unsupported')")
            self.assertEqual(text, "This browser cannot use security keys. Open the sign-in page in a current "
                                   "browser (Chrome, Edge, Firefox or Safari) and start again.")
            self.assertEqual(page.evaluate(SHOWN + "('zsso-key-ask')"), "")
            self.assertTrue(page.evaluate("document.getElementById('zsso-key-again').hidden"))
            self.assertEqual(page.evaluate("document.querySelector('.again a').textContent"), "Start again")
            card_screenshot(page, OUT / "webauthn-unsupported.png")
            self.no_csp_violation(page)

    def test_enrol_a_key_on_the_keys_page_then_sign_in_with_it(self):
        """Issue 23 slice 4: /keys, the password, the old key's step, then the
        registration page: the browser refuses to make a credential the page
        excludes; without it on the virtual key, a new credential is made, the
        broker adds it, and a sign-in with only the new credential works."""
        self.addCleanup(self.write_authfile)   # the other tests' authfile again
        with Chromium() as browser:
            page = browser.new_page()
            auth = self.authenticator(page)
            page.navigate(self.localhost_login.replace("/login", "/keys"))
            page.wait_for("document.getElementById('user') !== null")
            self.assertEqual(page.evaluate("document.querySelector('h2').textContent"), "Security keys")
            page.type_into("#user", "alice")
            page.type_into("#password", self.s.passwords["alice"])
            submit_and_wait(page)
            # The key step answers by itself (the old key), then the registration page.
            page.wait_for("document.getElementById('zsso-enrol') !== null", timeout=60)
            self.assertEqual(page.evaluate("document.querySelectorAll('ul.keys li').length"), 1)
            card_screenshot(page, OUT / "webauthn-enrol.png")
            page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2,
                                                             "mobile": True})
            phone_screenshot(page, OUT / "webauthn-enrol-phone.png")
            desktop_again(page)
            # The key holds alice's credential, which the page excludes: the browser refuses to make a second.
            page.click("#zsso-enrol-add")
            failed = page.wait_for("(e => e && !e.hidden ? e.textContent : '')"
                                   "(document.getElementById('zsso-enrol-failed'))", timeout=60)
            self.assertEqual(failed, "The security key did not answer: the request was cancelled or took too long.")
            # Another key (the old credential off this one): the same page and challenge make the new credential.
            old = base64.b64encode(self.keys["alice"][0].credential_id).decode()
            page.send("WebAuthn.removeCredential", {"authenticatorId": auth, "credentialId": old})
            page.click("#zsso-enrol-add")
            added = page.wait_for("(h => h && h.textContent === 'Security key added' ? h.textContent : '')"
                                  "(document.querySelector('h2'))", timeout=60)
            self.assertEqual(added, "Security key added")
            self.assertEqual(page.evaluate("document.querySelectorAll('ul.keys li').length"), 2)
            card_screenshot(page, OUT / "webauthn-enrol-added.png")
            page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2,
                                                             "mobile": True})
            phone_screenshot(page, OUT / "webauthn-enrol-added-phone.png")
            desktop_again(page)
            self.no_csp_violation(page)
            # Only the new credential on the key: it signs in.
            creds = page.send("WebAuthn.getCredentials", {"authenticatorId": auth})["credentials"]
            self.assertEqual(len(creds), 1, creds)
            self.assertNotEqual(creds[0]["credentialId"], old)
            self.password_page(page)
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.no_csp_violation(page)
        self.assertRegex(self.broker_log(), r'user "alice" from [0-9.]+: ok \(security key added: es256 ')
        self.assertEqual(self.authfile.read_text().count(":"), 2, "alice's line holds two keys")

if __name__ == "__main__":
    unittest.main()
