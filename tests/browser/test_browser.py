# SPDX-License-Identifier: BSD-3-Clause
"""A real headless Chromium signs in through zendesk-sso.cgi under Apache (or,
with ZSSO_E2E_SERVER=nginx, nginx + fcgiwrap) and lands on the Zendesk
stand-in, which shows the verified token's email. Screenshots of the login
page (desktop and phone width) go to <build>/tests/browser/ (nginx: its
nginx/ subfolder).
"""

import os
import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "e2e"))
from cdp import Chromium  # noqa: E402
from session_checks import write_key  # noqa: E402
from zsso_e2e import StackTestCase, apache_user  # noqa: E402


class BrowserSignIn(StackTestCase):
    out = Path(os.environ.get("ZSSO_BUILD_DIR", ".")) / "tests" / "browser"
    if os.environ.get("ZSSO_E2E_SERVER") == "nginx":
        out = out / "nginx"

    @classmethod
    def prepare(cls, stack):
        cls.out.mkdir(parents=True, exist_ok=True)

    def sign_in(self, page, user, password):
        page.navigate(self.s.login_url + "?return_to=/hc/en-us")
        page.wait_for("document.getElementById('user') !== null")
        page.type_into("#user", user)
        page.type_into("#password", password)
        page.click("button[type=submit]")

    def test_sign_in_ends_on_zendesk_with_the_right_email(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.navigate(self.s.login_url + "?return_to=/hc/en-us")
            self.assertEqual(page.evaluate("document.documentElement.lang"), "en")
            self.assertEqual(page.evaluate("document.activeElement.id"), "user", "the user field has focus")
            shot = page.screenshot(str(self.out / "login.png"))
            self.assertGreater(os.path.getsize(shot), 5000)

            self.sign_in(page, "alice", self.s.passwords["alice"])
            email = page.wait_for("location.href.startsWith(%r) && document.getElementById('email') "
                                  "&& document.getElementById('email').textContent" % self.s.standin.url)
            self.assertEqual(email, "alice@acme.test")
            self.assertEqual(page.evaluate("document.getElementById('return_to').textContent"), "/hc/en-us")
            page.screenshot(str(self.out / "zendesk-standin.png"))
            got = self.s.standin.received[-1]
            self.assertEqual((got["method"], got["claims"]["email"]), ("POST", "alice@acme.test"))
            # the auto-submit script ran because CSP allowed it by hash, nothing was blocked
            blocked = [m for m in page.log_entries() if "Content Security Policy" in m]
            self.assertEqual(blocked, [])

    def test_wrong_password_shows_the_form_again(self):
        with Chromium() as browser:
            page = browser.new_page()
            self.sign_in(page, "alice", "wrong")
            alert = page.wait_for("document.querySelector('[role=alert]') && "
                                  "document.querySelector('[role=alert]').textContent")
            self.assertEqual(alert, "The user name or password is incorrect.")
            self.assertEqual(page.evaluate("document.getElementById('user').value"), "alice")
            page.screenshot(str(self.out / "login-failed.png"))
            n = len(self.s.standin.received)
            page.type_into("#password", self.s.passwords["alice"])
            page.click("button[type=submit]")
            self.assertEqual(page.wait_for("document.getElementById('email') && "
                                           "document.getElementById('email').textContent"), "alice@acme.test")
            self.assertEqual(len(self.s.standin.received), n + 1)

    def test_phone_layout(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.send("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
            page.navigate(self.s.login_url)
            # nothing wider than the screen: no sideways scrolling on a phone
            self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), 390)
            self.assertGreaterEqual(page.evaluate("document.getElementById('password').getBoundingClientRect().height"), 40)
            page.screenshot(str(self.out / "login-phone.png"))

    def test_without_javascript_the_button_delivers(self):
        with Chromium() as browser:
            page = browser.new_page()
            page.navigate(self.s.login_url)
            page.send("Emulation.setScriptExecutionDisabled", {"value": True})
            self.sign_in(page, "bob", self.s.passwords["bob"])
            page.wait_for("document.getElementById('zendesk-sso') !== null")
            self.assertFalse(page.evaluate("location.href.startsWith(%r)" % self.s.standin.url),
                             "with scripts off the page waits for the button")
            page.click("#zendesk-sso button")
            self.assertEqual(page.wait_for("document.getElementById('email') && "
                                           "document.getElementById('email').textContent"), "bob@acme.test")


ACME_LOGO = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<svg xmlns="http://www.w3.org/2000/svg" width="168" height="40" viewBox="0 0 168 40">'
             b'<rect width="40" height="40" rx="9" fill="#7a1fa2"/>'
             b'<path d="M11 31 20 9l9 22M14.5 23h11" stroke="#fff" stroke-width="4" fill="none" stroke-linejoin="round"/>'
             b'<text x="50" y="29" font-family="sans-serif" font-size="24" font-weight="700" fill="#1b1f24">Acme</text>'
             b'</svg>\n')

# Registered before any page script: collects CSP violations the page causes
# (DevTools-injected, so the page's own CSP does not apply to it).
CSP_WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


class BrandedPage(StackTestCase):
    """Issue 17.3: logo, colour, banner and help contact render under the
    strict CSP; the screenshot goes to <build>/tests/browser/branded-login.png
    (docs/images/ keeps a copy for the admin guide)."""
    out = BrowserSignIn.out

    @classmethod
    def prepare(cls, stack):
        cls.out.mkdir(parents=True, exist_ok=True)
        logo = stack.dir / "logo.svg"
        logo.write_bytes(ACME_LOGO)
        os.chmod(logo, 0o644)
        stack.configure({"helper": {
            "site_name": "Acme intranet",
            "logo_file": str(logo),
            "primary_color": "#7a1fa2",
            "banner": "Authorised use only. Sign-ins are logged; misuse is reported to <Security>.",
            "help_contact": "IT service desk, extension 4711",
            "help_url": "https://help.acme.test/it",
            "locale_dir": str(stack.catalogues()),
        }})

    def open_page(self, browser, accept_language=None):
        page = browser.new_page()
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_WATCH})
        if accept_language:
            page.send("Network.enable")
            page.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": accept_language}})
        page.navigate(self.s.login_url + "?return_to=/hc/en-us")
        page.wait_for("document.getElementById('user') !== null")
        return page

    def test_branded_form_renders_under_the_csp(self):
        with Chromium() as browser:
            page = self.open_page(browser)
            self.assertEqual(page.evaluate("window.__csp"), [], "no CSP violation")
            self.assertEqual([m for m in page.log_entries() if "Content Security Policy" in m], [])
            # the data: logo loaded (img-src data: allowed it) and has its size
            self.assertEqual(page.evaluate("(() => { const i = document.querySelector('img.logo');"
                                           " return i.complete && i.naturalWidth; })()"), 168)
            # the colour reached the button (the generated style block's hash matched)
            self.assertEqual(page.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor"),
                             "rgb(122, 31, 162)")
            self.assertEqual(page.evaluate("getComputedStyle(document.querySelector('button')).color"),
                             "rgb(255, 255, 255)")
            self.assertEqual(page.evaluate("document.querySelector('.banner').textContent"),
                             "Authorised use only. Sign-ins are logged; misuse is reported to <Security>.")
            self.assertEqual(page.evaluate("document.querySelector('.help a').href"), "https://help.acme.test/it")
            shot = page.screenshot(str(self.out / "branded-login.png"))
            self.assertGreater(os.path.getsize(shot), 5000)
            # the watcher sees a violation when there is one (so [] above means something)
            page.evaluate("(() => { const s = document.createElement('style'); s.textContent = 'p{color:red}';"
                          " document.head.appendChild(s); })()")
            self.assertTrue(page.wait_for("window.__csp.length > 0 && window.__csp[0]", timeout=5).startswith("style-src"))

    def test_german_browser_and_phone_width(self):
        with Chromium() as browser:
            page = self.open_page(browser, "de-DE,de;q=0.9,en;q=0.8")
            self.assertEqual(page.evaluate("document.documentElement.lang"), "de")
            self.assertEqual(page.evaluate("document.querySelector('label[for=password]').textContent"), "Passwort")
            self.assertEqual(page.evaluate("window.__csp"), [])
            page.screenshot(str(self.out / "branded-login-de.png"))
            page.send("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
            page.navigate(self.s.login_url)
            self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), 390)
            page.screenshot(str(self.out / "branded-login-phone.png"))


class BrowserSession(StackTestCase):
    """Sign-in sessions (issue 13): sign in, close the tab, come back through
    /login (as Zendesk sends people when its session ends): the stand-in
    again, with a fresh token and no form."""
    out = BrowserSignIn.out

    @classmethod
    def prepare(cls, stack):
        cls.out.mkdir(parents=True, exist_ok=True)
        key = stack.dir / "session-key"
        user = apache_user()
        import grp
        write_key(str(key), grp.getgrnam(user[1]).gr_gid if user else None)
        stack.configure({"session": {"key_file": str(key)}})

    def test_back_through_login_without_a_form(self):
        standin_email = ("location.href.startsWith(%r) && document.getElementById('email') "
                         "&& document.getElementById('email').textContent" % self.s.standin.url)
        with Chromium() as browser:
            page = browser.new_page()
            BrowserSignIn.sign_in(self, page, "alice", self.s.passwords["alice"])
            self.assertEqual(page.wait_for(standin_email), "alice@acme.test")
            first = self.s.standin.received[-1]["claims"]
            cookies = {c["name"]: c for c in page.send("Network.getAllCookies")["cookies"]}
            c = cookies["__Host-zsso_session"]
            self.assertEqual((c["secure"], c["httpOnly"], c["sameSite"], c["path"]), (True, True, "Lax", "/"))
            page.close()

            page = browser.new_page()
            seen_form = []
            page.navigate(self.s.login_url + "?return_to=/hc/en-us")
            seen_form.append(page.evaluate("document.getElementById('password') !== null"))
            self.assertEqual(page.wait_for(standin_email), "alice@acme.test")
            page.screenshot(str(self.out / "session-return.png"))
            again = self.s.standin.received[-1]["claims"]
            self.assertNotEqual(again["jti"], first["jti"])
            self.assertEqual(seen_form, [False], "the delivery page, not the form")
            self.assertIn('200 signed in from session user="alice"', self.s.web.error_log())

            # Zendesk's sign-out clears it: the next visit is the form.
            page.navigate(self.s.base_url + "/logout")
            page.navigate(self.s.login_url)
            self.assertTrue(page.wait_for("document.getElementById('password') !== null"))


if __name__ == "__main__":
    unittest.main()
