# SPDX-License-Identifier: BSD-3-Clause
"""A real headless Chromium walks multi-step sign-ins through Apache ->
zendesk-sso.cgi -> zendesk-sso-authd: a password then a pam_oath code (the
sandbox of tests/broker/test_e2e_conversation.py), and, as root only, a real
local account whose password has expired (chage -d 0) changing it through
the pages, and the "Password expired" page (desktop and 390 px phone width).
Screenshots go to <build>/tests/browser/ (multistep-*.png, password-expired*.png).
"""

import base64
import os
import re
import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "broker"))
from cdp import Chromium  # noqa: E402
import test_e2e_conversation as conv  # noqa: E402

OUT = Path(os.environ.get("ZSSO_BUILD_DIR", ".")) / "tests" / "browser"
IS_PROMPT = "document.querySelector('input[name=conversation]') !== null"
STEP = "(document.querySelector('input[name=step]') || {value: ''}).value"

# The "Password expired" page with helper.help_contact set: selector -> text.
EXPIRED_PAGE = {
    "main h2": "Password expired",
    "main h2 + p": "Your password has expired and must be changed before you can sign in.",
    ".next": "The contact below can help you.",
    "main a": "Sign in again",
    ".help": "Need help? IT service desk, extension 4711",
}


def prompt_fields(page):
    """[(id, label text, type, autocomplete)] of the prompt page on screen."""
    return page.evaluate(
        "Array.from(document.querySelectorAll('input[id^=answer]')).map(i => "
        "[i.id, document.querySelector('label[for=' + i.id + ']').textContent, i.type, "
        "i.getAttribute('autocomplete') || ''])")


def submit_and_wait(page, selector="button[type=submit]"):
    """Clicks and waits until the page on screen is another one."""
    marker = "window.__zsso_old_page"
    page.evaluate(f"{marker} = true")
    page.click(selector)
    page.wait_for(f"typeof {marker} === 'undefined' && document.readyState === 'complete'")


def card_screenshot(page, path):
    """The page's card only (what the admin guide shows), as a small PNG."""
    box = page.evaluate("(() => { const r = document.querySelector('main').getBoundingClientRect(); "
                        "return [r.x, r.y, r.width, r.height]; })()")
    m = 12
    data = page.send("Page.captureScreenshot", {"format": "png", "clip": {
        "x": max(0, box[0] - m), "y": max(0, box[1] - m), "width": box[2] + 2 * m,
        "height": box[3] + 2 * m, "scale": 1}})["data"]
    Path(path).write_bytes(base64.b64decode(data))
    return path


def phone_screenshot(page, path):
    """The phone's screen down to the card's end, at one pixel per CSS pixel
    (what the admin guide shows)."""
    box = page.evaluate("(() => { const r = document.querySelector('main').getBoundingClientRect(); "
                        "return [window.innerWidth, r.bottom]; })()")
    data = page.send("Page.captureScreenshot", {"format": "png", "clip": {
        "x": 0, "y": 0, "width": box[0], "height": box[1] + 12, "scale": 0.5}})["data"]
    Path(path).write_bytes(base64.b64decode(data))
    return path


def desktop_again(page):
    """Ends the phone's emulation and waits for the desktop width: a click
    placed from the phone's layout would land beside its target."""
    page.send("Emulation.clearDeviceMetricsOverride")
    page.wait_for("window.innerWidth > 390")


def standin_email(page, standin_url):
    """Waits for the Zendesk stand-in's page; the email of the token it verified."""
    page.wait_for(f"location.href.startsWith({standin_url!r})")
    return page.wait_for("document.getElementById('email') && document.getElementById('email').textContent")


def delivered_email(page, standin_url):
    """Waits for the stand-in's page, pressing the delivery button when the
    page shows module messages (it then waits for the person)."""
    page.wait_for(f"location.href.startsWith({standin_url!r}) || "
                  "document.getElementById('zendesk-sso') !== null")
    if not page.evaluate(f"location.href.startsWith({standin_url!r})"):
        page.wait_for("document.readyState === 'complete'")
        if not page.evaluate(f"location.href.startsWith({standin_url!r})"):
            return None
    return page.wait_for("document.getElementById('email') && document.getElementById('email').textContent")


class BrowserTwoStep(conv.OathStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        super().setUpClass()

    def test_password_then_code(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.navigate(self.s.login_url + "?return_to=/hc/en-us")
            page.wait_for("document.getElementById('user') !== null")
            page.type_into("#user", "alice")
            page.type_into("#password", self.s.passwords["alice"])
            submit_and_wait(page)
            page.wait_for(IS_PROMPT)
            fields = prompt_fields(page)
            self.assertEqual([f[1:] for f in fields],
                             [["One-time code", "text", "one-time-code"]])
            self.assertEqual(page.evaluate("document.activeElement.id"), "answer0", "the code field has focus")
            self.assertEqual(page.evaluate("document.querySelector('input#answer0').inputMode"), "numeric")
            # The module's message above the prompt, shown as text, not markup.
            note = page.evaluate("document.querySelector('.note').textContent")
            self.assertEqual(note, "Enter the code from your <b>phone</b> & press Continue.")
            self.assertEqual(page.evaluate("document.querySelectorAll('.note b').length"), 0)
            # The conversation cookie is HttpOnly: no script sees it.
            self.assertNotIn("zsso_conv", page.evaluate("document.cookie"))
            self.assertGreater(os.path.getsize(page.screenshot(str(OUT / "multistep-code.png"))), 5000)

            page.type_into("#answer0", self.code("alice"))
            submit_and_wait(page)
            # The account stage said something: the delivery page shows it and waits for the button.
            page.wait_for("document.getElementById('zendesk-sso') !== null")
            self.assertIsNone(delivered_email(page, self.s.standin.url))
            self.assertEqual(page.evaluate("document.querySelector('.note').textContent"),
                             "Your password will expire in 3 days <script>x</script>")
            page.screenshot(str(OUT / "multistep-delivery-message.png"))
            page.click("#zendesk-sso button")
            self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
            self.assertEqual(page.evaluate("document.getElementById('return_to').textContent"), "/hc/en-us")
            blocked = [m for m in page.log_entries() if "Content Security Policy" in m]
            self.assertEqual(blocked, [])

    def test_pages_for_the_admin_guide(self):
        # The shipped look without the test's markup-laden messages: a plain
        # password + pam_oath stack, the person's first and second page.
        self.s.sandbox.write_service("zendesk-sso", conv.TWO_STEP.replace(
            "auth     optional   {sysdir}/pam_echo.so Enter the code from your <b>phone</b> & press Continue.\n", ""
        ).replace("account  optional   {sysdir}/pam_echo.so Your password will expire in 3 days <script>x</script>\n",
                  "account  optional   {sysdir}/pam_echo.so Your password expires in 3 days.\n"))
        try:
            with Chromium() as browser:
                page = browser.new_page()
                page.navigate(self.s.login_url)
                page.type_into("#user", "alice")
                page.type_into("#password", self.s.passwords["alice"])
                submit_and_wait(page)
                page.wait_for(IS_PROMPT)
                self.assertEqual(page.evaluate("document.querySelectorAll('.note').length"), 0)
                card_screenshot(page, OUT / "multistep-guide-code.png")
                page.type_into("#answer0", self.code("alice"))
                submit_and_wait(page)
                page.wait_for("document.getElementById('zendesk-sso') !== null")
                self.assertEqual(page.evaluate("document.querySelector('.note').textContent"),
                                 "Your password expires in 3 days.")
                card_screenshot(page, OUT / "multistep-guide-message.png")
                page.click("#zendesk-sso button")
                self.assertEqual(standin_email(page, self.s.standin.url), "alice@acme.test")
        finally:
            self.s.sandbox.write_service("zendesk-sso", conv.TWO_STEP)

    def test_wrong_code_then_start_again(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.navigate(self.s.login_url)
            page.type_into("#user", "bob")
            page.type_into("#password", self.s.passwords["bob"])
            submit_and_wait(page)
            page.wait_for(IS_PROMPT)
            page.type_into("#answer0", conv.wrong_code(self.keys["bob"]))
            submit_and_wait(page)
            alert = page.wait_for("document.querySelector('[role=alert]') && "
                                  "document.querySelector('[role=alert]').textContent")
            # Issue 25.10: the code is named, the user name stays, the password is asked again.
            self.assertEqual(alert, "The user name, password or code is incorrect.")
            self.assertEqual(page.evaluate("document.getElementById('user').value"), "bob")
            self.assertEqual(page.evaluate("document.activeElement.id"), "password")


@unittest.skipUnless(conv.IS_ROOT, "skipped: needs root for a real local account whose password the "
                                    "broker changes in /etc/shadow (CI runs as root)")
class BrowserPasswordChange(conv.RealAccountStack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        OUT.mkdir(parents=True, exist_ok=True)
        super().setUpClass()

    def test_expired_password_is_changed_in_the_browser(self):
        self.use_service(self.password_change, change_expired_passwords=True)
        conv.run(["chage", "-d", "0", self.user])
        with Chromium() as browser:
            page = browser.new_page()
            page.navigate(self.s.login_url)
            page.type_into("#user", self.user)
            page.type_into("#password", conv.REAL_PASSWORD)
            submit_and_wait(page)
            labels = []
            for n in range(6):
                if not page.evaluate(IS_PROMPT):
                    break
                fields = prompt_fields(page)
                page.screenshot(str(OUT / f"multistep-password-change-{n + 1}.png"))
                card_screenshot(page, OUT / f"multistep-guide-password-change-{n + 1}.png")
                for ident, label, kind, autocomplete in fields:
                    labels.append(label)
                    self.assertEqual(kind, "password")
                    new = not re.search("current", label, re.I)
                    self.assertEqual(autocomplete, "new-password" if new else "current-password", label)
                    page.type_into("#" + ident, conv.NEW_PASSWORD if new else conv.REAL_PASSWORD)
                submit_and_wait(page)
            self.assertTrue(any(re.search("new", label, re.I) for label in labels), labels)
            email = delivered_email(page, self.s.standin.url)
            if email is None:   # PAM said something: the delivery page waits for the button
                page.screenshot(str(OUT / "multistep-password-changed.png"))
                page.click("#zendesk-sso button")
                email = standin_email(page, self.s.standin.url)
            self.assertEqual(email, f"{self.user}@example.test")
        # Only the new password signs in now.
        self.assertEqual(conv.Browser(self.s).start(self.user, conv.REAL_PASSWORD).status, 401)
        self.assert_real_token(conv.Browser(self.s).start(self.user, conv.NEW_PASSWORD))

    def test_expired_password_page_on_a_desktop_and_a_phone(self):
        # The shipped default (broker.change_expired_passwords off, a password
        # stack that changes nothing): after the right password, the honest
        # page of issue 21, with the help contact — at desktop and 390 px width.
        self.use_service(self.password_denied, help_contact="IT service desk, extension 4711")
        conv.run(["chage", "-d", "0", self.user])
        with Chromium() as browser:
            page = browser.new_page()
            for phone in (False, True):
                if phone:
                    page.send("Emulation.setDeviceMetricsOverride",
                              {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
                page.navigate(self.s.login_url)
                page.type_into("#user", self.user)
                page.type_into("#password", conv.REAL_PASSWORD)
                submit_and_wait(page)
                for selector, text in EXPIRED_PAGE.items():
                    self.assertEqual(page.evaluate(f"document.querySelector({selector!r}).textContent"), text)
                self.assertNotIn("may not sign in", page.evaluate("document.body.textContent"))
                self.assertEqual(page.evaluate("document.querySelectorAll('input').length"), 0, "no form, no token")
                if phone:
                    # The whole card within the phone's width and its first screen: no sideways scrolling.
                    self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), 390)
                    right, bottom = page.evaluate("(() => { const r = document.querySelector('main')"
                                                  ".getBoundingClientRect(); return [r.right, r.bottom]; })()")
                    self.assertLessEqual(right, 390)
                    self.assertLessEqual(bottom, 844)
                    page.screenshot(str(OUT / "password-expired-phone.png"))
                    phone_screenshot(page, OUT / "password-expired-guide-phone.png")
                else:
                    page.screenshot(str(OUT / "password-expired.png"))
                    card_screenshot(page, OUT / "password-expired-guide.png")
        # Nothing was changed.
        self.assertIn("password must be changed", conv.run(["chage", "-l", self.user]))


if __name__ == "__main__":
    unittest.main()
