# SPDX-License-Identifier: BSD-3-Clause
"""What the broker refuses, proven through a real headless Chromium (issue 23
"Tests"): the stack of browser.Webauthn (Apache -> zendesk-sso.cgi ->
zendesk-sso-authd at http://localhost:PORT, rp_id localhost, CDP's virtual
ctap2 authenticator) with webauthn.user_verification "required".

Each case is a real browser flow; each asserts what the person sees (the
sign-in form again with its alert, or the key page's "Try again"), that no
token reached the Zendesk stand-in, and the broker's reason in its log:
  - WebAuthn.setResponseOverrideBits: a bogus signature, user verification
    not done, user presence not given;
  - another account's credential: only bob's on the key (the browser finds
    none of alice's), and bob's offered anyway (the broker's unknown credential);
  - a replayed assertion: the page's own post sent again after it signed in,
    and sent into a new sign-in's key step (another challenge);
  - a sign count below the stored one: "possible cloned key";
  - a first key on the "Security keys" page without the invite code
    (webauthn.first_key "invite", the default): nothing stored.
"""

import json
import re
import sys
import time
import unittest
import urllib.parse
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "broker"))
from cdp import Chromium  # noqa: E402
from test_browser_multistep import standin_email, submit_and_wait  # noqa: E402
import test_browser_webauthn as key_pages  # noqa: E402  (as a module: its tests are not this file's)
from test_e2e_webauthn import WebauthnStack  # noqa: E402
from test_webauthn import SoftKey, b64  # noqa: E402

INCORRECT = "The user name, password or code is incorrect."
# Once the key page has answered: the sign-in form's alert, or (a failure at
# once, not a wait) what came instead: a delivery, the stand-in, a key added.
ALERT = ("(() => { if (document.readyState !== 'complete' || document.querySelector('#zsso-key, #zsso-enrol')) "
         "return ''; const a = document.querySelector('p.alert:not([hidden])'); "
         "if (document.getElementById('password')) return a ? a.textContent : ''; "
         "return 'not the sign-in form: ' + location.href + ' ' + document.body.innerText.slice(0, 200); })()")


class BrowserKeyRefusals(WebauthnStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.localhost_login = f"http://localhost:{cls.s.web.port}/zendesk/login"
        cls.alice_key, cls.bob_key = SoftKey(b"alice-key-1"), SoftKey(b"bob-key-1")
        # Each refusal here is a failed sign-in of alice from 127.0.0.1: the
        # throttle (broker.max_failures) is test_broker's job, not this file's.
        cls.s.configure({"webauthn": {"user_verification": "required"}, "broker": {"max_failures": 0}})
        cls.s.sandbox.write_config(cls.s.config)
        cls.restart_broker()

    def setUp(self):
        super().setUp()
        type(self).keys = {"alice": [self.alice_key], "bob": [self.bob_key]}
        self.write_authfile()
        self.tokens_before = len(self.s.standin.received)
        self.cgi_log_start = len(self.s.apache.error_log())

    # The sign-in form as browser.Webauthn walks it; its authenticator, to which
    # add_credential puts the credential a case needs.
    password_page = key_pages.BrowserKey.password_page
    sign_count = 0   # each credential starts above what the previous one reached (the broker keeps counts)

    def authenticator(self, page, key=None):
        """browser.Webauthn's virtual ctap2 key (user verification on) with key's credential (alice's unless told)."""
        auth = key_pages.BrowserKey.authenticator(self, page, with_credential=False)
        self.add_credential(page, auth, key or self.alice_key)
        return auth

    def add_credential(self, page, auth, key):
        BrowserKeyRefusals.sign_count += 100
        page.send("WebAuthn.addCredential", {"authenticatorId": auth, "credential": {
            "credentialId": b64(key.credential_id), "isResidentCredential": False, "rpId": "localhost",
            "privateKey": key_pages.pkcs8_b64(key.private), "signCount": BrowserKeyRefusals.sign_count}})

    def new_cgi_log_line(self, pattern):
        """The last CGI log line of this test matching pattern (the page may be answered before we look at it)."""
        for _ in range(100):  # the CGI's stderr reaches the error log right after the response
            found = list(re.finditer(pattern, self.s.apache.error_log()[self.cgi_log_start:]))
            if found:
                return found[-1]
            time.sleep(0.05)
        self.fail(f"no CGI log line matching {pattern}:\n{self.s.apache.error_log()[self.cgi_log_start:][-2000:]}")

    def key_step_tag(self, user="alice"):
        """The conversation of this test's key page, as the logs shorten it."""
        return self.new_cgi_log_line(r'200 asked user="%s": broker: prompt conversation=([0-9a-f]{8}) step=1'
                                     % user).group(1)

    def assert_refused_after_the_key(self, page, tag, reason):
        """The sign-in form again with its alert, no token at the stand-in, the broker's reason for tag's step."""
        self.assertEqual(page.wait_for(ALERT, timeout=60), INCORRECT)
        self.assertTrue(page.evaluate("document.getElementById('password') !== null"))
        self.assertFalse(page.evaluate(f"location.href.startsWith({self.s.standin.url!r})"))
        line = self.new_cgi_log_line(r"401 bad login user=- conversation=%s step=1: .*" % tag).group(0)
        self.assertRegex(self.broker_log(), r"conversation %s step 1: .*security key refused \(%s\)" % (tag, reason))
        self.assertEqual(len(self.s.standin.received), self.tokens_before, "no token reached the stand-in")
        self.assertNotRegex(self.s.apache.error_log(), r"200 signed in user=- conversation=%s" % tag)
        return line

    def refused_with_override(self, bits, reason):
        """The key's answer with bits flipped (test_a_replayed_assertion's first sign-in is this flow untouched)."""
        with Chromium() as browser:
            page = browser.new_page()
            auth = self.authenticator(page)
            page.send("WebAuthn.setResponseOverrideBits", {"authenticatorId": auth, **bits})
            self.password_page(page)
            tag = self.key_step_tag()
            self.assert_refused_after_the_key(page, tag, reason)

    def test_a_bogus_signature_is_refused(self):
        self.refused_with_override({"isBogusSignature": True}, "signature")

    def test_an_answer_without_user_verification_is_refused_when_it_is_required(self):
        self.refused_with_override({"isBadUV": True}, "user_verification")

    def test_an_answer_without_user_presence_is_refused(self):
        self.refused_with_override({"isBadUP": True}, "user_presence")

    def test_another_accounts_credential_is_not_offered_and_refused_when_it_is(self):
        with Chromium() as browser:
            # Only bob's credential on the key: the browser has none of those alice's page allows.
            page = browser.new_page()
            self.authenticator(page, key=self.bob_key)
            self.password_page(page)
            failed = page.wait_for(key_pages.SHOWN + "('zsso-key-failed')", timeout=60)
            self.assertEqual(failed, "The security key did not answer: the request was cancelled or took too long.")
            tag = self.key_step_tag()
            self.assertNotRegex(self.broker_log(), r"conversation %s step 1: .*security key refused" % tag,
                                "the browser posted nothing")
            page.close()
            # A browser made to offer bob's credential anyway (a script of its own rewrites
            # allowCredentials): bob's key signs alice's challenge, and the broker refuses it.
            page = browser.new_page()
            bob_id = b64(self.bob_key.credential_id)
            page.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
                "const zssoGet = navigator.credentials.get.bind(navigator.credentials);"
                "navigator.credentials.get = o => { o.publicKey.allowCredentials = [{type: 'public-key', "
                f"id: Uint8Array.from(atob('{bob_id}'), c => c.charCodeAt(0))}}]; return zssoGet(o); }};")})
            self.authenticator(page, key=self.bob_key)
            self.password_page(page)
            self.assert_refused_after_the_key(page, self.key_step_tag(), "unknown credential")
        self.assertEqual(len(self.s.standin.received), self.tokens_before)

    def test_a_replayed_assertion_is_refused(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.send("Network.enable")
            auth = self.authenticator(page)
            self.password_page(page)
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.assertEqual(len(self.s.standin.received), self.tokens_before + 1)
            self.tokens_before += 1   # that one, and no other from here on
            signed_in = self.key_step_tag()
            # The post the key page's script made: its fields and the cookies it went with.
            posted = [p for sess, meth, p in browser.events if sess == page.session and
                      meth == "Network.requestWillBeSent" and "key_signature=" in p["request"].get("postData", "")]
            self.assertEqual(len(posted), 1, posted)
            fields = dict(urllib.parse.parse_qsl(posted[0]["request"]["postData"], keep_blank_values=True))
            sent_with = [p for sess, meth, p in browser.events if sess == page.session and
                         meth == "Network.requestWillBeSentExtraInfo" and p["requestId"] == posted[0]["requestId"]]
            cookies = dict(c.split("=", 1) for c in sent_with[0]["headers"]["Cookie"].split("; "))
            self.assertIn("zsso_conv", cookies)

            # 1. The same post again, with the same cookies: that conversation is over.
            for name, value in cookies.items():
                page.send("Network.setCookie", {"name": name, "value": value,
                                                "url": f"http://localhost:{self.s.web.port}/"})
            self.post_from_the_sign_in_site(page, fields)
            self.assertEqual(page.evaluate("document.querySelector('main h2').textContent"), "Sign-in expired")
            self.assertEqual(page.evaluate("document.querySelector('main a').textContent"), "Start again")
            self.new_cgi_log_line(r"410 conversation over user=- conversation=%s step=1: .*\(the conversation has "
                                  r"ended\)" % signed_in)
            self.assertEqual(len(self.s.standin.received), self.tokens_before, "no second token")

            # 2. The captured answer sent into a new sign-in's key step: another challenge.
            page.send("Network.clearBrowserCookies")   # the copies set above (on another path) go
            page.send("WebAuthn.removeCredential", {"authenticatorId": auth,
                                                    "credentialId": b64(self.alice_key.credential_id)})
            self.cgi_log_start = len(self.s.apache.error_log())
            self.password_page(page)
            page.wait_for(key_pages.SHOWN + "('zsso-key-failed')", timeout=60)
            tag = self.key_step_tag()
            self.assertNotEqual(tag, signed_in)
            page.evaluate("(f => { " + "".join(
                f"f.elements.{name}.value = {json.dumps(fields[name])}; "
                for name in ("key_id", "key_client_data", "key_authenticator_data", "key_signature"))
                + "f.submit(); })(document.getElementById('zsso-key'))")
            self.assert_refused_after_the_key(page, tag, "challenge")

    def post_from_the_sign_in_site(self, page, fields):
        """A form with fields posted to the sign-in page from a page of its site (no CGI page: nothing set)."""
        page.navigate(f"http://localhost:{self.s.web.port}/robots.txt")
        page.evaluate("window.__zsso_old_page = true")
        page.evaluate("(fields => { const f = document.createElement('form'); f.method = 'post'; "
                      f"f.action = {json.dumps(self.localhost_login)}; "
                      "for (const [k, v] of Object.entries(fields)) { const i = document.createElement('input'); "
                      "i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); } "
                      f"document.body.appendChild(f); f.submit(); }})({json.dumps(fields)})")
        page.wait_for("typeof window.__zsso_old_page === 'undefined' && document.readyState === 'complete'")

    def test_a_sign_count_below_the_stored_one_is_refused_as_a_possible_clone(self):
        side_file = Path(str(self.authfile) + ".json")
        before = side_file.read_text() if side_file.exists() else None
        self.addCleanup(lambda: side_file.write_text(before) if before is not None else side_file.unlink())
        stored = BrowserKeyRefusals.sign_count + 1000   # above the count of the credential put on the key below
        n = self.alice_key.private.public_key().public_numbers()
        public = b64(n.x.to_bytes(32, "big") + n.y.to_bytes(32, "big"))
        side = json.loads(before) if before else {"version": 1, "credentials": {}}
        side["credentials"][public] = {"user": "alice", "sign_count": stored}
        side_file.write_text(json.dumps(side))
        with Chromium() as browser:
            page = browser.new_page()
            self.authenticator(page)
            self.password_page(page)
            tag = self.key_step_tag()
            self.assert_refused_after_the_key(page, tag, "sign_count")
        # The virtual key counts one up from the credential's count; the warning names the clone.
        self.assertRegex(self.broker_log(), r"conversation %s step 1: user \"alice\": security key refused "
                                            r"\(sign_count\): sign count %d not above %d: possible cloned key"
                                            % (tag, BrowserKeyRefusals.sign_count + 1, stored))
        self.assertEqual(json.loads(side_file.read_text())["credentials"][public]["sign_count"], stored,
                         "the stored count stays")

    def test_a_first_key_without_the_invite_code_is_refused(self):
        """webauthn.first_key "invite" (the default): bob, who has no key, on the Security keys page."""
        type(self).keys = {"alice": [self.alice_key]}
        self.write_authfile()
        with Chromium() as browser:
            page = browser.new_page()
            auth = self.authenticator(page)
            page.send("WebAuthn.removeCredential", {"authenticatorId": auth,
                                                    "credentialId": b64(self.alice_key.credential_id)})
            page.navigate(self.localhost_login.replace("/login", "/keys"))
            page.wait_for("document.getElementById('user') !== null")
            page.type_into("#user", "bob")
            page.type_into("#password", self.s.passwords["bob"])
            submit_and_wait(page)
            page.wait_for("document.getElementById('zsso-enrol') !== null")
            self.assertEqual(page.evaluate("document.querySelector('label[for=invite_code]').textContent"),
                             "Invite code (from your IT support, for your first key)")
            tag = self.new_cgi_log_line(r"200 asked for a new security key user=\"bob\".* "
                                        r"conversation=([0-9a-f]{8}) step=\d+").group(1)
            # The empty required field: the browser itself holds the form back, no key is made.
            page.click("#zsso-enrol-add")
            self.assertTrue(page.evaluate("document.getElementById('invite_code').validity.valueMissing"))
            self.assertTrue(page.evaluate("document.getElementById('zsso-enrol') !== null"))
            self.assertEqual(page.send("WebAuthn.getCredentials", {"authenticatorId": auth})["credentials"], [])
            # A browser that does not hold it back (the field made optional): the key is made and
            # posted without a code, and the broker refuses it.
            page.evaluate("document.getElementById('invite_code').required = false")
            page.click("#zsso-enrol-add")
            self.assertEqual(page.wait_for(ALERT, timeout=60), INCORRECT)
            self.assertEqual(len(page.send("WebAuthn.getCredentials", {"authenticatorId": auth})["credentials"]), 1)
            self.assertFalse(page.evaluate("document.querySelector('h2').textContent === 'Security key added'"))
        self.new_cgi_log_line(r"401 bad login user=- conversation=%s step=\d+: " % tag)
        self.assertRegex(self.broker_log(), r"conversation %s step \d+: .*security key registration refused "
                                            r"\(invite code missing\)" % tag)
        self.assertNotIn("bob:", self.authfile.read_text(), "nothing stored")
        side_file = Path(str(self.authfile) + ".json")
        if side_file.exists():
            self.assertNotIn('"bob"', side_file.read_text())
        self.assertEqual(len(self.s.standin.received), self.tokens_before)


if __name__ == "__main__":
    unittest.main()
