# SPDX-License-Identifier: BSD-3-Clause
"""A real headless Chromium signs in with a passkey, no name or password
typed (issue 23, slice 5): Apache -> zendesk-sso.cgi -> zendesk-sso-authd
with webauthn.passwordless on (tests/broker/test_e2e_passkey.py's stack, at
http://localhost:PORT). The passkey is CDP's virtual authenticator (ctap2,
resident keys and user verification on) holding alice's ES256 key as a
discoverable credential whose userHandle is the one the broker's side file
maps to her. The sign-in form's "Sign in with a passkey" button leads to the
key page, whose script asks with no allowed credentials and posts the
userHandle the authenticator returns. Screenshots go to
<build>/tests/browser/ (passkey-*.png); the form's is in docs/images.
"""

import base64
import json
import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "broker"))
from cdp import Chromium  # noqa: E402
from test_browser_multistep import OUT, card_screenshot, desktop_again, phone_screenshot, standin_email, submit_and_wait  # noqa: E402
import test_browser_webauthn as key_pages  # noqa: E402  (as a module: its tests are not this file's)
from test_browser_webauthn import pkcs8_b64  # noqa: E402
from test_browser_webauthn_refusals import ALERT, INCORRECT  # noqa: E402
from test_e2e_passkey import PasskeyStack  # noqa: E402
from test_passkeys import ALICE_HANDLE  # noqa: E402

BUTTON = "form.passkey button"


class BrowserPasskey(PasskeyStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        super().setUpClass()
        cls.localhost_login = f"http://localhost:{cls.s.web.port}/zendesk/login"

    # The broker keeps the key's sign count: each new virtual authenticator starts above the last.
    sign_count = 0

    def passkey_authenticator(self, page, presence=True):
        """A virtual platform-style passkey holder: resident keys, user verification, alice's credential."""
        page.send("WebAuthn.enable", {"enableUI": False})
        auth = page.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": presence}})["authenticatorId"]
        page.send("WebAuthn.addCredential", {"authenticatorId": auth, "credential": {
            "credentialId": base64.b64encode(self.passkey.credential_id).decode(), "isResidentCredential": True,
            "rpId": "localhost", "privateKey": pkcs8_b64(self.passkey.private),
            "userHandle": base64.b64encode(ALICE_HANDLE).decode(), "signCount": self.next_sign_count()}})
        return auth

    @classmethod
    def next_sign_count(cls):
        BrowserPasskey.sign_count += 100
        return BrowserPasskey.sign_count

    no_csp_violation = key_pages.BrowserKey.no_csp_violation

    def test_a_passkey_signs_in_without_a_name_or_password(self):
        with Chromium() as browser:
            page = browser.new_page()
            self.passkey_authenticator(page)
            page.navigate(self.localhost_login + "?return_to=/hc/en-us")
            page.wait_for(f"document.querySelector({BUTTON!r}) !== null")
            self.assertEqual(page.evaluate(f"document.querySelector({BUTTON!r}).textContent"),
                             "Sign in with a passkey")
            card_screenshot(page, OUT / "passkey-form.png")
            page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2,
                                                             "mobile": True})
            phone_screenshot(page, OUT / "passkey-form-phone.png")
            desktop_again(page)
            # Nothing typed: the button, the key page's prompt, the virtual key's answer, the token.
            self.assertEqual(page.evaluate("document.getElementById('user').value"), "")
            page.click(BUTTON)
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.assertEqual(page.evaluate("document.getElementById('return_to').textContent"), "/hc/en-us")
            self.no_csp_violation(page)
        self.assertRegex(self.broker_log(), r'passkey sign-in of user "alice" from 127\.0\.0\.1: ok')
        self.cgi_log_line(r"200 asked user=- passkey: broker: prompt conversation=\w+ step=1")

    def test_a_passkey_answer_the_broker_refuses_signs_no_one_in(self):
        # WebAuthn.setResponseOverrideBits on the passkey's answer: the form again
        # with its generic alert, no token, the broker's reason.
        for bits, reason in (({"isBogusSignature": True}, "signature"), ({"isBadUV": True}, "user_verification"),
                             ({"isBadUP": True}, "user_presence")):
            with self.subTest(reason=reason), Chromium() as browser:
                page = browser.new_page()
                auth = self.passkey_authenticator(page)
                page.send("WebAuthn.setResponseOverrideBits", {"authenticatorId": auth, **bits})
                tokens, refusals = len(self.s.standin.received), self.broker_log().count(f"refused ({reason})")
                page.navigate(self.localhost_login)
                page.wait_for(f"document.querySelector({BUTTON!r}) !== null")
                page.click(BUTTON)
                self.assertEqual(page.wait_for(ALERT, timeout=60), INCORRECT)
                self.assertEqual(len(self.s.standin.received), tokens, "no token reached the stand-in")
                self.assertEqual(self.broker_log().count(f"refused ({reason})"), refusals + 1, self.broker_log()[-2000:])

    def test_the_passkey_page_while_the_browser_asks(self):
        with Chromium() as browser:
            page = browser.new_page()
            # Presence not simulated: the prompt waits.
            self.passkey_authenticator(page, presence=False)
            page.navigate(self.localhost_login)
            page.wait_for(f"document.querySelector({BUTTON!r}) !== null")
            page.click(BUTTON)
            page.wait_for("document.getElementById('zsso-key') !== null")
            self.assertEqual(page.evaluate("document.querySelector('h2').textContent"), "Sign in with a passkey")
            asked = page.wait_for("(e => e && !e.hidden ? e.textContent : '')(document.getElementById('zsso-key-ask'))")
            self.assertEqual(asked, "Use your passkey to sign in: confirm with your fingerprint, face, PIN or "
                                    "security key when your browser asks.")
            self.assertEqual(page.evaluate("document.getElementById('zsso-key').dataset.credentials"), "")
            self.assertEqual(page.evaluate("document.getElementById('zsso-key').dataset.userVerification"),
                             "required")
            card_screenshot(page, OUT / "passkey-ask.png")
            self.no_csp_violation(page)

    def test_a_key_enrolled_on_the_keys_page_becomes_a_passkey(self):
        """With passwordless on, the "Security keys" page asks for a discoverable
        credential: the virtual key makes a resident one with the handle the
        broker gave, and the passkey button signs in with it alone."""
        self.addCleanup(self.restart_broker)
        self.addCleanup(self.write_side)
        self.addCleanup(self.write_authfile)
        with Chromium() as browser:
            page = browser.new_page()
            auth = self.passkey_authenticator(page)
            page.navigate(self.localhost_login.replace("/login", "/keys"))
            page.wait_for("document.getElementById('user') !== null")
            self.assertEqual(page.evaluate("document.querySelector('form.passkey')"), None)   # not on /keys
            page.type_into("#user", "alice")
            page.type_into("#password", self.s.passwords["alice"])
            submit_and_wait(page)
            # alice's key step answers by itself, then the registration page.
            page.wait_for("document.getElementById('zsso-enrol') !== null", timeout=60)
            self.assertEqual(page.evaluate("document.getElementById('zsso-enrol').dataset.residentKey"), "preferred")
            # The old credential off the key (the page excludes it), then a new one is made.
            old = base64.b64encode(self.passkey.credential_id).decode()
            page.send("WebAuthn.removeCredential", {"authenticatorId": auth, "credentialId": old})
            page.click("#zsso-enrol-add")
            page.wait_for("(h => h && h.textContent === 'Security key added')(document.querySelector('h2'))",
                          timeout=60)
            self.no_csp_violation(page)
            creds = page.send("WebAuthn.getCredentials", {"authenticatorId": auth})["credentials"]
            self.assertEqual(len(creds), 1, creds)
            self.assertTrue(creds[0]["isResidentCredential"], creds)
            # The handle the broker gave the new key, kept in its side file for alice.
            side = json.loads(self.side_file.read_text())["credentials"]
            handles = {r["user_handle"] for r in side.values() if r["user"] == "alice"}
            new_handle = base64.urlsafe_b64encode(base64.b64decode(creds[0]["userHandle"])).rstrip(b"=").decode()
            self.assertIn(new_handle, handles)
            self.assertNotEqual(base64.b64decode(creds[0]["userHandle"]), ALICE_HANDLE)
            # Only the new passkey on the authenticator: the button signs in with it.
            page.navigate(self.localhost_login)
            page.wait_for(f"document.querySelector({BUTTON!r}) !== null")
            page.click(BUTTON)
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.no_csp_violation(page)


if __name__ == "__main__":
    unittest.main()
