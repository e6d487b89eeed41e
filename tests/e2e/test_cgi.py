"""zendesk-sso.cgi under a real Apache httpd on 127.0.0.1, PAM through
pam_wrapper/pam_matrix/nss_wrapper and pam_zendesk.so, tokens delivered to a
local Zendesk stand-in and checked with PyJWT. One ctest per class; each
class runs its own Apache on its own port.

Run by ctest with ZSSO_BUILD_DIR and ZSSO_SOURCE_DIR set; by hand:
  ZSSO_BUILD_DIR=build /usr/bin/python3 tests/e2e/test_cgi.py -v HappyPath
"""

import base64
import hashlib
import hmac
import html
import os
import re
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zsso_e2e import StackTestCase, assert_alice_token, fetch, hidden_fields, form_action  # noqa: E402

import jwt as pyjwt  # noqa: E402

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def csrf_token(secret, issued_at, corrupt_mac=False):
    """A token made the way csrf.hpp documents, by a second implementation."""
    key = hmac.new(secret.encode(), b"zendesk-sso csrf v1", hashlib.sha256).digest()
    raw = os.urandom(16) + struct.pack(">Q", issued_at)
    mac = hmac.new(key, raw, hashlib.sha256).digest()
    if corrupt_mac:
        mac = bytes([mac[0] ^ 1]) + mac[1:]
    return b64url(raw + mac)


class StackCase(StackTestCase):
    """Assertions shared by the classes below."""

    def assertSecurityHeaders(self, r):
        for k, v in SECURITY_HEADERS.items():
            self.assertEqual(r.header(k), v, f"{k} on a {r.status} response")
        csp = r.header("Content-Security-Policy") or ""
        for part in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
            self.assertIn(part, csp)
        self.assertNotIn("unsafe-inline", csp)

    def assertNoReflection(self, body, needle):
        self.assertNotIn(needle, body)

    def request_id(self, body):
        m = re.search(r"Request id: <code>([A-Za-z0-9_-]+)</code>", body)
        self.assertIsNotNone(m, "error page without a request id")
        return m.group(1)

    def log_line(self, rid):
        for _ in range(50):   # the CGI's stderr reaches the error log right after the response
            lines = [l for l in self.s.apache.error_log().splitlines() if f"req={rid} " in l]
            if lines:
                return lines
            time.sleep(0.05)
        self.fail(f"no log line for request {rid}")

    def get_form(self, path="/login", query="", source=None):
        r = fetch("GET", self.s.base_url + path + query, source=source)
        self.assertEqual(r.status, 200, r.body)
        cookies = r.cookies()
        self.assertEqual(len(cookies), 1)
        name, morsel = next(iter(cookies.items()))
        return r, name, morsel, hidden_fields(r.body)

    def post_login(self, fields, cookie=None, path="/login", source=None):
        headers = {"Cookie": cookie} if cookie else {}
        return fetch("POST", self.s.base_url + path, body=fields, headers=headers, source=source)


class HappyPath(StackCase):
    def test_form_then_token_reaches_zendesk_and_verifies(self):
        r, name, morsel, fields = self.get_form(query="?return_to=" + urllib.parse.quote("https://acme.zendesk.com/hc/en-us")
                                                + "&brand_id=360000&locale_id=1176&timestamp=1")
        self.assertSecurityHeaders(r)
        self.assertEqual(name, "zsso_csrf")
        self.assertTrue(morsel["httponly"])
        self.assertEqual(morsel["samesite"], "Strict")
        self.assertEqual(morsel["path"], "/zendesk/login")
        self.assertFalse(morsel["secure"], "Secure only over HTTPS")
        self.assertEqual(fields["csrf"], morsel.value)
        self.assertEqual(fields["return_to"], "https://acme.zendesk.com/hc/en-us")
        # the page: language, labels, autocomplete, viewport, site name
        for piece in ('<html lang="en">', '<label for="user">', '<label for="password">',
                      'autocomplete="username"', 'autocomplete="current-password"',
                      'name="viewport"', "Acme intranet"):
            self.assertIn(piece, r.body)

        fields.update({"user": "alice", "password": self.s.passwords["alice"]})
        done = self.post_login(fields, f"{name}={morsel.value}")
        self.assertEqual(done.status, 200, done.body)
        self.assertSecurityHeaders(done)
        # the delivery page posts to the (stand-in) Zendesk endpoint by itself
        action = form_action(done.body, "zendesk-sso")
        self.assertEqual(action, self.s.standin.url + "/access/jwt")
        token_fields = hidden_fields(done.body, "zendesk-sso")
        self.assertEqual(token_fields["return_to"], "https://acme.zendesk.com/hc/en-us")
        csp = done.header("Content-Security-Policy")
        self.assertIn(f"form-action 'self' {self.s.standin.url}", csp)
        script = re.search(r"<script>(.*?)</script>", done.body, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        self.assertIn(f"script-src 'sha256-{digest}'", csp, "the inline script must be allowed by its hash")
        self.assertIn("<button type=\"submit\">", done.body, "a visible button for browsers without scripts")
        # the form token is spent
        self.assertEqual(done.cookies()["zsso_csrf"]["max-age"], "0")

        assert_alice_token(self, token_fields["jwt"], self.s.secret)

        # what the browser does next: POST jwt + return_to to Zendesk
        z = fetch("POST", action, body=token_fields)
        self.assertEqual(z.status, 200, z.body)
        self.assertIn('<strong id="email">alice@acme.test</strong>', z.body)
        got = self.s.standin.received[-1]
        self.assertEqual(got["claims"]["email"], "alice@acme.test")
        self.assertEqual(got["return_to"], "https://acme.zendesk.com/hc/en-us")
        # the same token again is a replay (jti)
        again = fetch("POST", action, body=token_fields)
        self.assertEqual(again.status, 401)

    def test_log_line_names_the_decision_and_client(self):
        r = self.s.sign_in("alice", self.s.passwords["alice"])
        self.assertEqual(r.status, 200)
        log = self.s.apache.error_log()
        self.assertRegex(log, r'req=[A-Za-z0-9_-]{8} "POST" "/zendesk/login": 200 signed in user="alice" delivery=post client=127\.0\.0\.1')
        self.assertNotIn(self.s.passwords["alice"], log, "the password must never be logged")
        self.assertNotIn(self.s.secret, log)

    def test_password_files_are_0600_in_0700_folders(self):
        # The pam_matrix passdb holds plaintext passwords (issue 14, point 11);
        # the sign-ins above read it as Apache's user all the same.
        passdb = Path(self.s.sandbox.passdb_path)
        self.assertEqual(os.stat(passdb).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(passdb.parent).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(passdb).st_uid, os.stat(passdb.parent).st_uid)
        self.assertIn(self.s.passwords["alice"], passdb.read_text())

    def test_curl_with_a_cookie_jar_signs_in(self):
        jar = self.s.dir / "cookies.txt"
        page = subprocess.run(["curl", "-sS", "-c", str(jar), self.s.login_url], capture_output=True, text=True, check=True)
        csrf = hidden_fields(page.stdout)["csrf"]
        out = subprocess.run(["curl", "-sS", "-b", str(jar), "-w", "\n%{http_code}",
                              "--data-urlencode", "user=bob", "--data-urlencode", f"password={self.s.passwords['bob']}",
                              "--data-urlencode", f"csrf={csrf}", self.s.login_url],
                             capture_output=True, text=True, check=True)
        body, status = out.stdout.rsplit("\n", 1)
        self.assertEqual(status, "200")
        claims = pyjwt.decode(hidden_fields(body, "zendesk-sso")["jwt"], self.s.secret, algorithms=["HS256"])
        self.assertEqual((claims["email"], claims["name"], claims["tags"]), ("bob@acme.test", "Bob Builder", ["zd-agents"]))


class WrongPassword(StackCase):
    def _attempt(self, user, password):
        _, name, morsel, fields = self.get_form()
        fields.update({"user": user, "password": password})
        return self.post_login(fields, f"{name}={morsel.value}")

    def _normalise(self, body):
        body = re.sub(r'name="csrf" value="[^"]*"', "", body)
        body = re.sub(r'value="[^"]*"', "", body)   # the prefilled user name
        return re.sub(r"<code>[A-Za-z0-9_-]+</code>", "", body)

    def test_wrong_password_is_401_with_the_form_again(self):
        r = self._attempt("alice", "not the password")
        self.assertEqual(r.status, 401)
        self.assertSecurityHeaders(r)
        self.assertIn("The user name or password is incorrect.", r.body)
        self.assertIn('name="password"', r.body)
        self.assertIn("zsso_csrf", r.cookies(), "a fresh form token with the form")
        self.assertNotIn("not the password", r.body)
        rid = self.request_id(r.body)
        self.assertIn("401 bad login", self.log_line(rid)[0])

    def test_unknown_user_looks_exactly_like_a_wrong_password(self):
        a = self._attempt("alice", "not the password")
        b = self._attempt("nosuchuser", "not the password")
        self.assertEqual((a.status, b.status), (401, 401))
        self.assertEqual(self._normalise(a.body), self._normalise(b.body))

    def test_a_password_typed_as_the_user_name_is_not_logged(self):
        # People type their password into the user field; an unknown name is
        # logged only by its length (issue 14, point 5).
        typed = "Tr0ub4dor&3-horse"
        r = self._attempt(typed, "x")
        self.assertEqual(r.status, 401)
        line = self.log_line(self.request_id(r.body))[0]
        self.assertIn(f"401 bad login user=unknown({len(typed)} bytes)", line)
        self.assertNotIn("Tr0ub4dor", line)
        self.assertIn('user="alice"', self.log_line(self.request_id(self._attempt("alice", "x").body))[0],
                      "an existing account is still named")

    def test_empty_fields_do_not_reach_pam(self):
        r = self._attempt("alice", "")
        self.assertEqual(r.status, 401)
        self.assertIn("Enter your user name and password.", r.body)
        self.assertIn("401 empty user name or password", self.log_line(self.request_id(r.body))[0])

    def test_user_name_is_escaped_when_prefilled(self):
        r = self._attempt('"><script>alert(1)</script>', "x")
        self.assertEqual(r.status, 401)
        self.assertNotIn("<script>alert(1)", r.body)
        self.assertIn("&quot;&gt;&lt;script&gt;", r.body)


class Csrf(StackCase):
    """Every refusal uses the right password: reaching PAM would sign in."""

    def _post(self, cookie_value, field_value, cookie_name="zsso_csrf"):
        fields = {"user": "alice", "password": self.s.passwords["alice"]}
        if field_value is not None:
            fields["csrf"] = field_value
        cookie = f"{cookie_name}={cookie_value}" if cookie_value is not None else None
        return self.post_login(fields, cookie)

    def _refused(self, r, why):
        self.assertEqual(r.status, 403, r.body)
        self.assertSecurityHeaders(r)
        self.assertIn("Open the sign-in form", r.body, "a fresh form link")
        self.assertIn('href="/zendesk/login"', r.body)
        self.assertNotIn("jwt", r.body)
        line = self.log_line(self.request_id(r.body))[0]
        self.assertIn(f"403 CSRF token {why}", line)

    def test_valid_pair_signs_in(self):
        # the positive control for the crafted tokens below
        t = csrf_token(self.s.secret, int(time.time()))
        self.assertEqual(self._post(t, t).status, 200)

    def test_missing_cookie(self):
        _, _, morsel, _ = self.get_form()
        self._refused(self._post(None, morsel.value), "missing")

    def test_missing_field(self):
        _, _, morsel, _ = self.get_form()
        self._refused(self._post(morsel.value, None), "missing")

    def test_cookie_and_field_differ(self):
        _, _, a, _ = self.get_form()
        _, _, b, _ = self.get_form()
        self._refused(self._post(a.value, b.value), "cookie and form token differ")

    def test_forged_token(self):
        for forged in ("x" * 75, b64url(os.urandom(56)), csrf_token(self.s.secret, int(time.time()), corrupt_mac=True),
                       csrf_token("another secret", int(time.time())), "", "a.b"):
            with self.subTest(forged=forged):
                if forged == "":
                    self._refused(self._post(forged, forged), "missing")
                else:
                    self._refused(self._post(forged, forged), "bad signature or format")

    def test_expired_token(self):
        t = csrf_token(self.s.secret, int(time.time()) - 3600)
        self._refused(self._post(t, t), "expired")

    def test_token_from_the_future(self):
        t = csrf_token(self.s.secret, int(time.time()) + 3600)
        self._refused(self._post(t, t), "expired")

    def test_cross_site_post_is_refused_even_with_a_valid_pair(self):
        # Sec-Fetch-Site / Origin, as Go's CrossOriginProtection (issue 14, point 10).
        t = csrf_token(self.s.secret, int(time.time()))
        fields = {"user": "alice", "password": self.s.passwords["alice"], "csrf": t}
        origin = self.s.base_url.split("/zendesk")[0]
        for headers, why in [({"Sec-Fetch-Site": "cross-site"}, 'Sec-Fetch-Site "cross-site"'),
                             ({"Sec-Fetch-Site": "same-site", "Origin": origin}, 'Sec-Fetch-Site "same-site"'),
                             ({"Origin": "http://evil.example"}, 'Origin "http://evil.example" is not Host'),
                             ({"Origin": "null"}, 'Origin "null" is not Host')]:
            with self.subTest(headers=headers):
                r = fetch("POST", self.s.login_url, body=fields, headers={"Cookie": f"zsso_csrf={t}", **headers})
                self.assertEqual(r.status, 403, r.body)
                self.assertNotIn("jwt", r.body)
                self.assertIn("Open the sign-in form", r.body)
                self.assertIn(f"403 cross-site form refused: {why}", self.log_line(self.request_id(r.body))[0])

    def test_same_origin_post_signs_in(self):
        origin = self.s.base_url.split("/zendesk")[0]
        for headers in ({"Sec-Fetch-Site": "same-origin", "Origin": origin}, {"Sec-Fetch-Site": "none"},
                        {"Origin": origin}):
            with self.subTest(headers=headers):
                t = csrf_token(self.s.secret, int(time.time()))
                fields = {"user": "alice", "password": self.s.passwords["alice"], "csrf": t}
                r = fetch("POST", self.s.login_url, body=fields, headers={"Cookie": f"zsso_csrf={t}", **headers})
                self.assertEqual(r.status, 200, r.body)

    def test_forwarded_proto_from_an_untrusted_peer_is_not_believed(self):
        r = fetch("GET", self.s.login_url, headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(list(r.cookies()), ["zsso_csrf"])
        self.assertFalse(r.cookies()["zsso_csrf"]["secure"])

    def test_refusal_names_an_unknown_user_only_by_its_length(self):
        r = self.post_login({"user": "Tr0ub4dor&3-horse", "password": "x"})
        self._refused(r, "missing")
        line = self.log_line(self.request_id(r.body))[0]
        self.assertIn("user=unknown(17 bytes)", line)
        self.assertNotIn("Tr0ub4dor", line)

    def test_other_profiles_cookie_does_not_count(self):
        t = csrf_token(self.s.secret, int(time.time()))
        self._refused(self._post(t, t, cookie_name="zsso_csrf_agents"), "missing")


class Ranges(StackCase):
    @classmethod
    def prepare(cls, s):
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}})

    def _curl(self, interface, url, *extra):
        out = subprocess.run(["curl", "-sS", "--interface", interface, "-w", "\n%{http_code}", *extra, url],
                             capture_output=True, text=True, check=True)
        body, status = out.stdout.rsplit("\n", 1)
        return int(status), body

    def test_outside_the_ranges_is_403_before_any_form(self):
        status, body = self._curl("127.0.0.2", self.s.login_url)
        self.assertEqual(status, 403)
        self.assertIn("only available from the company network", body)
        self.assertNotIn('name="password"', body)
        line = self.log_line(self.request_id(body))[0]
        self.assertIn("outside ip_ranges", line)
        self.assertIn("127.0.0.2", line)

    def test_outside_the_ranges_post_is_403_without_pam(self):
        t = csrf_token(self.s.secret, int(time.time()))
        status, body = self._curl("127.0.0.2", self.s.login_url, "-b", f"zsso_csrf={t}",
                                  "--data-urlencode", "user=alice",
                                  "--data-urlencode", f"password={self.s.passwords['alice']}",
                                  "--data-urlencode", f"csrf={t}")
        self.assertEqual(status, 403)
        self.assertNotIn("jwt", body)

    def test_inside_the_ranges_signs_in(self):
        status, body = self._curl("127.0.0.1", self.s.login_url)
        self.assertEqual(status, 200)
        self.assertEqual(self.s.sign_in("alice", self.s.passwords["alice"], source="127.0.0.1").status, 200)


class Proxies(StackCase):
    """Apache sees 127.0.0.1 (a trusted proxy) or 127.0.0.2 (not one); the
    ranges admit only 10.1.0.0/16, so a 200 proves the forwarded address
    was used, and pam_zendesk.so (same ranges on PAM_RHOST) agrees."""

    @classmethod
    def prepare(cls, s):
        s.configure({"network": {"ip_ranges": ["10.1.0.0/16"], "trusted_proxies": ["127.0.0.1/32", "10.9.0.0/16"]}})

    def _get(self, xff, source="127.0.0.1"):
        return fetch("GET", self.s.login_url, headers={"X-Forwarded-For": xff} if xff else {}, source=source)

    def test_forwarded_address_from_a_trusted_proxy_counts(self):
        self.assertEqual(self._get("10.1.2.3").status, 200)

    def test_right_most_untrusted_hop_is_the_client(self):
        # the client forged "10.1.2.3" in front; our proxies appended the real hops
        self.assertEqual(self._get("10.1.2.3, 192.0.2.7").status, 403)
        self.assertEqual(self._get("192.0.2.7, 10.1.2.3, 10.9.0.5").status, 200)
        r = self._get("10.1.2.3, 192.0.2.7, 10.9.0.5")
        self.assertEqual(r.status, 403)
        self.assertIn("192.0.2.7", self.log_line(self.request_id(r.body))[0])

    def test_untrusted_peer_cannot_forward(self):
        r = self._get("10.1.2.3", source="127.0.0.2")
        self.assertEqual(r.status, 403)
        self.assertIn("127.0.0.2", self.log_line(self.request_id(r.body))[0])

    def test_garbage_from_a_trusted_proxy_is_400(self):
        for xff in ("not-an-address", "10.1.2.3, <script>", "10.1.2.3:8080"):
            with self.subTest(xff=xff):
                r = self._get(xff)
                self.assertEqual(r.status, 400, r.body + self.s.apache.error_log()[-3000:])
                self.assertNotIn("<script>", r.body)

    def test_no_header_from_a_trusted_proxy_uses_the_proxy(self):
        self.assertEqual(self._get(None).status, 403)

    def test_sign_in_through_the_proxy_sets_pam_rhost(self):
        headers = {"X-Forwarded-For": "10.1.4.5"}
        form = fetch("GET", self.s.login_url, headers=headers)
        fields = hidden_fields(form.body)
        fields.update({"user": "alice", "password": self.s.passwords["alice"]})
        r = fetch("POST", self.s.login_url, body=fields,
                  headers={**headers, "Cookie": f"zsso_csrf={fields['csrf']}"})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('rhost "10.1.4.5"', self.s.apache.error_log(), "pam_zendesk.so saw the forwarded address")


    def test_https_at_a_trusted_proxy_gives_a_host_prefixed_secure_cookie(self):
        # __Host- needs Secure and Path=/ (issue 14, point 10).
        headers = {"X-Forwarded-For": "10.1.4.5", "X-Forwarded-Proto": "https"}
        form = fetch("GET", self.s.login_url, headers=headers)
        self.assertEqual(form.status, 200, form.body)
        self.assertRegex(form.header("Set-Cookie"), r"^__Host-zsso_csrf=[A-Za-z0-9_-]{75}; Path=/; Max-Age=600; "
                                                    r"HttpOnly; SameSite=Strict; Secure$")
        fields = hidden_fields(form.body)
        fields.update({"user": "alice", "password": self.s.passwords["alice"]})
        plain = fetch("POST", self.s.login_url, body=fields,
                      headers={**headers, "Cookie": f"zsso_csrf={fields['csrf']}"})
        self.assertEqual(plain.status, 403, "over HTTPS only the __Host- cookie counts")
        r = fetch("POST", self.s.login_url, body=fields,
                  headers={**headers, "Cookie": f"__Host-zsso_csrf={fields['csrf']}"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("Set-Cookie"), "__Host-zsso_csrf=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure")


# The foundation's open-redirect vectors (tests/unit/zendesk_test.cpp), as return_to.
OPEN_REDIRECTS = [
    "https://evil.example/", "//evil.example", "//evil.example/hc", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "\\/evil.example", "https:\\\\evil.example", "https:evil.example",
    "https://evil.example\\@acme.zendesk.com", "https://acme.zendesk.com\\@evil.example",
    "https://acme.zendesk.com@evil.example/", "https://evil.example@acme.zendesk.com/",
    "https://evil.example#acme.zendesk.com", "https://evil.example?acme.zendesk.com",
    "https://evil.example/acme.zendesk.com", "https://acme.zendesk.com.evil.example/",
    "https://evilacme.zendesk.com/", "https://other.zendesk.com/", "https://help.acme.test.evil.example/",
    "http://acme.zendesk.com/", "https://acme.zendesk.com:8443/", "https://acme.zendesk.com:443@evil.example/",
    "https://%61cme.zendesk.com/", "https://acme.zendesk.com%2F@evil.example", "/%2F%2Fevil.example",
    "/%5Cevil.example", "/%2fevil.example", "/%5c%5cevil.example", "javascript:alert(1)", "java\tscript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "https://acme.zendesk.com\t.evil.example/",
    "/hc\r\nSet-Cookie: evil=1", "https://acme.zendesk.com\u3002evil.example/", "evil.example",
    "https://evil.example/\"><script>alert(1)</script>",
]
GOOD_RETURN_TO = ["/hc/en-us", "https://acme.zendesk.com/hc/requests", "https://help.acme.test/hc/x?a=1&b=2"]


class ReturnTo(StackCase):
    def test_open_redirect_vectors_are_dropped_on_the_form(self):
        for rt in OPEN_REDIRECTS:
            with self.subTest(return_to=rt):
                r = fetch("GET", self.s.login_url + "?return_to=" + urllib.parse.quote(rt, safe=""))
                self.assertEqual(r.status, 200)
                self.assertNotIn("return_to", hidden_fields(r.body))
                self.assertNotIn("evil", r.body)
                self.assertNotIn("javascript", r.body.lower())
        self.assertIn("dropped", self.s.apache.error_log())

    def test_open_redirect_vectors_are_dropped_when_posted(self):
        for rt in OPEN_REDIRECTS[:12] + OPEN_REDIRECTS[-6:]:
            with self.subTest(return_to=rt):
                t = csrf_token(self.s.secret, int(time.time()))
                r = self.post_login({"user": "alice", "password": self.s.passwords["alice"], "csrf": t,
                                     "return_to": rt}, f"zsso_csrf={t}")
                self.assertEqual(r.status, 200)
                self.assertEqual(set(hidden_fields(r.body, "zendesk-sso")), {"jwt"})
                self.assertNotIn("evil", r.body)

    def test_good_return_to_survives_the_round_trip(self):
        for rt in GOOD_RETURN_TO:
            with self.subTest(return_to=rt):
                r = self.s.sign_in("alice", self.s.passwords["alice"], return_to=rt)
                self.assertEqual(hidden_fields(r.body, "zendesk-sso")["return_to"], rt)

    def test_repeated_return_to_is_400(self):
        r = fetch("GET", self.s.login_url + "?return_to=/a&return_to=/b")
        self.assertEqual(r.status, 400)
        self.assertSecurityHeaders(r)


class GetDelivery(StackCase):
    @classmethod
    def prepare(cls, s):
        s.configure({"zendesk": {"delivery": "get"}})

    def test_302_to_the_legacy_get_url(self):
        rt = "/hc/en-us/articles/1?x=1&y=2#top"
        r = self.s.sign_in("bob", self.s.passwords["bob"], return_to=rt)
        self.assertEqual(r.status, 302, r.body)
        self.assertSecurityHeaders(r)
        loc = r.header("Location")
        parts = urllib.parse.urlsplit(loc)
        self.assertEqual(f"{parts.scheme}://{parts.netloc}{parts.path}", self.s.standin.url + "/access/jwt")
        q = urllib.parse.parse_qs(parts.query)
        self.assertEqual(q["return_to"], [rt])
        z = fetch("GET", loc)
        self.assertEqual(z.status, 200, z.body)
        got = self.s.standin.received[-1]
        self.assertEqual((got["method"], got["claims"]["email"], got["return_to"]), ("GET", "bob@acme.test", rt))


class Logout(StackCase):
    def test_signed_out_page(self):
        r = fetch("GET", self.s.base_url + "/logout?email=alice%40acme.test&external_id=1001&brand_id=1")
        self.assertEqual(r.status, 200)
        self.assertSecurityHeaders(r)
        self.assertIn("You are signed out of Zendesk.", r.body)
        self.assertNotIn("alice@acme.test", self.s.apache.error_log(), "addresses stay out of the log")

    def _error_page(self, msg):
        r = fetch("GET", self.s.base_url + "/logout?" + urllib.parse.urlencode({"kind": "error", "message": msg}))
        self.assertEqual(r.status, 200)
        self.assertSecurityHeaders(r)
        return r

    def test_zendesk_error_message_is_escaped_quoted_and_logged(self):
        msg = 'Something broke. <script>alert("x")</script><img src=x onerror=alert(1)>'
        r = self._error_page(msg)
        self.assertNotIn("<script>alert", r.body)
        self.assertNotIn("<img", r.body)
        escaped = html.escape(msg, quote=True).replace("&#x27;", "&#39;")
        self.assertIn(f"Zendesk reported: \u201c{escaped}\u201d", r.body, "framed and quoted, never our own words")
        line = self.log_line(self.request_id(r.body))[0]
        self.assertIn("Zendesk reported a sign-in error", line)
        self.assertIn("Something broke", line)

    def test_zendesk_error_message_is_neutralised_and_cut(self):
        # Phishing under the intranet's name (issue 14, point 7): bidi overrides,
        # line separators and a long story are not shown as they were sent.
        msg = "Your password expired.\u202e moc.elpmaxe-live \u2028Call 555-0100 now." + " pad" * 200
        r = self._error_page(msg)
        for ch in ("\u202e", "\u2028"):
            self.assertNotIn(ch, r.body)
        self.assertIn("Zendesk reported: \u201cYour password expired.\ufffd moc.elpmaxe-live \ufffdCall", r.body)
        self.assertNotIn(" pad" * 60, r.body, "cut to a short excerpt")
        self.assertIn("\u2026\u201d", r.body)
        line = self.log_line(self.request_id(r.body))[0]
        self.assertIn("\\xe2\\x80\\xae", line, "the log keeps what was sent, escaped")

    def test_known_zendesk_messages_get_our_own_advice(self):
        r = self._error_page("Invalid iat parameter. The supplied iat value is more than 3 minutes off, "
                             "check your server clock.")
        self.assertIn("clock", r.body)
        self.assertNotIn("Zendesk reported:", r.body)
        self.assertNotIn("supplied iat value", r.body)

    def test_post_to_logout_is_405(self):
        r = fetch("POST", self.s.base_url + "/logout", body={"a": "b"})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")


class LogoutRedirect(StackCase):
    @classmethod
    def prepare(cls, s):
        s.configure({"helper": {"logout_redirect": "https://intranet.acme.test/bye"}})

    def test_redirects(self):
        r = fetch("GET", self.s.base_url + "/logout")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "https://intranet.acme.test/bye")
        self.assertSecurityHeaders(r)


class HttpErrors(StackCase):
    def _check(self, r, status):
        self.assertEqual(r.status, status, r.body)
        self.assertSecurityHeaders(r)
        self.request_id(r.body)

    def test_404(self):
        for path in ("", "/", "/nope", "/login/", "/login/x/y", "/login/no-such-profile", "/login/..",
                     "/logout/no-such-profile", "/LOGIN", "/login.php"):
            with self.subTest(path=path):
                self._check(fetch("GET", self.s.base_url + path), 404)

    def test_405_with_allow(self):
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                r = fetch(method, self.s.login_url)
                self._check(r, 405)
                self.assertEqual(r.header("Allow"), "GET, HEAD, POST")

    def test_head(self):
        r = fetch("HEAD", self.s.login_url)
        self.assertEqual(r.status, 200)
        self.assertSecurityHeaders(r)

    def test_413_body_too_large(self):
        r = fetch("POST", self.s.login_url, body="user=alice&password=" + "x" * 9000,
                  content_type="application/x-www-form-urlencoded")
        self._check(r, 413)

    def test_8k_body_is_not_too_large(self):
        r = fetch("POST", self.s.login_url, body="pad=" + "x" * (8192 - 4),
                  content_type="application/x-www-form-urlencoded")
        self._check(r, 403)   # reaches the CSRF check

    def test_415_wrong_content_type(self):
        for ct in ("application/json", "multipart/form-data; boundary=x", "text/plain", ""):
            with self.subTest(content_type=ct):
                r = fetch("POST", self.s.login_url, body='{"user":"alice"}', content_type=ct or None)
                self._check(r, 415)

    def test_charset_parameter_is_fine(self):
        r = fetch("POST", self.s.login_url, body="user=a", content_type="Application/X-WWW-Form-Urlencoded; charset=UTF-8")
        self._check(r, 403)

    def test_400_broken_encoding_and_repeats(self):
        for body in ("user=%zz", "user=a&user=b&csrf=x", "csrf=a&csrf=b"):
            with self.subTest(body=body):
                self._check(fetch("POST", self.s.login_url, body=body,
                                  content_type="application/x-www-form-urlencoded"), 400)
        self._check(fetch("GET", self.s.login_url + "?return_to=%"), 400)


class Profiles(StackCase):
    """/login/agents: the profile's own PAM service (which also names the
    profile to pam_zendesk.so) and its own secret."""

    AGENTS_SECRET = "Ag3ntsS3cretAg3ntsS3cretAg3ntsS3cretAg3ntsS3cret"

    @classmethod
    def prepare(cls, s):
        agents_secret = s.sandbox.dir / "secret-agents"
        s.configure({"profiles": {"agents": {
            "zendesk": {"secret_file": str(agents_secret)},
            "access": {"allowed_groups": ["zd-agents"]},
            "claims": {"role": "agent"},
            "pam": {"service": "zendesk-sso-agents"},
        }}})
        # the gate in auth only "optional" (it still mints in setcred), so the
        # account stage is what refuses: 403 rather than 401
        s.add_service("zendesk-sso-agents",
                      "auth     required   {matrix} passdb={passdb}\n"
                      "auth     optional   {module} config={config} profile=agents\n"
                      "account  required   {module} config={config} profile=agents\n")
        cls.agents_secret_path = agents_secret
        orig = s._write_files

        def write_files():
            orig()
            s.sandbox.write_secret(cls.AGENTS_SECRET, path=agents_secret)
            os.chown(agents_secret, 0, os.stat(s.sandbox.secret_path).st_gid)
            os.chmod(agents_secret, 0o640)
        s._write_files = write_files

    def test_profile_cookie_is_its_own(self):
        r = fetch("GET", self.s.base_url + "/login/agents")
        self.assertEqual(r.status, 200)
        c = r.cookies()
        self.assertIn("zsso_csrf_agents", c)
        self.assertEqual(c["zsso_csrf_agents"]["path"], "/zendesk/login/agents")
        self.assertEqual(form_action(r.body), "/zendesk/login/agents")

    def test_agent_signs_in_with_the_profiles_secret(self):
        r = self.s.sign_in("bob", self.s.passwords["bob"], path="/login/agents")
        self.assertEqual(r.status, 200, r.body)
        token = hidden_fields(r.body, "zendesk-sso")["jwt"]
        claims = pyjwt.decode(token, self.AGENTS_SECRET, algorithms=["HS256"])
        self.assertEqual(claims["role"], "agent")
        with self.assertRaises(pyjwt.InvalidSignatureError):
            pyjwt.decode(token, self.s.secret, algorithms=["HS256"])

    def test_non_agent_is_refused_by_the_profiles_account_stack(self):
        r = self.s.sign_in("alice", self.s.passwords["alice"], path="/login/agents")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn("may not sign in", r.body)
        self.assertIn('name="password"', r.body, "the form again")
        self.assertIn("403 not allowed", self.log_line(self.request_id(r.body))[0])

    def test_base_form_token_does_not_work_for_the_profile(self):
        _, _, morsel, fields = self.get_form()
        fields.update({"user": "bob", "password": self.s.passwords["bob"]})
        r = self.post_login(fields, f"zsso_csrf_agents={morsel.value}", path="/login/agents")
        self.assertEqual(r.status, 403)
        self.assertIn("CSRF", self.log_line(self.request_id(r.body))[0])

    def test_profile_logout(self):
        r = fetch("GET", self.s.base_url + "/logout/agents")
        self.assertEqual(r.status, 200)
        self.assertIn('href="/zendesk/login/agents"', r.body)


class RemoteUser(StackCase):
    """Apache authenticates (here mod_auth_basic standing in for
    mod_auth_gssapi) and sets REMOTE_USER; the CGI runs account + setcred."""

    @classmethod
    def prepare(cls, s):
        s.configure({"helper": {"trust_remote_user": True}})
        # A password file: 0600 in the sandbox's 0700 folder, given to Apache's user at start.
        htpasswd = s.sandbox.private_dir / "htpasswd"
        subprocess.run(["htpasswd", "-bc", str(htpasswd), "bob", "web-pw"], check=True, capture_output=True)
        subprocess.run(["htpasswd", "-b", str(htpasswd), "root", "web-pw"], check=True, capture_output=True)
        os.chmod(htpasswd, 0o600)
        s.apache_options = {
            "modules": ["auth_basic", "authn_core", "authn_file", "authz_user"],
            "location_conf": f'  AuthType Basic\n  AuthName "intranet"\n  AuthBasicProvider file\n'
                             f'  AuthUserFile "{htpasswd}"\n  Require valid-user',
        }

    def _auth(self, user):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:web-pw".encode()).decode()}

    def test_no_form_straight_to_zendesk(self):
        r = fetch("GET", self.s.login_url + "?return_to=/hc/x", headers=self._auth("bob"))
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn('name="password"', r.body)
        f = hidden_fields(r.body, "zendesk-sso")
        self.assertEqual(f["return_to"], "/hc/x")
        claims = pyjwt.decode(f["jwt"], self.s.secret, algorithms=["HS256"])
        self.assertEqual(claims["email"], "bob@acme.test")
        self.assertIn("REMOTE_USER", self.s.apache.error_log())

    def test_account_policy_still_applies(self):
        # root passes the web server's check but not pam_zendesk.so's account stack
        r = fetch("GET", self.s.login_url, headers=self._auth("root"))
        self.assertEqual(r.status, 403, r.body)
        self.assertNotIn("jwt", r.body)

    def test_without_credentials_apache_says_401(self):
        self.assertEqual(fetch("GET", self.s.login_url).status, 401)


class RemoteUserFromAHeader(StackCase):
    """The Apache mistake of issue 14 point 9: SetEnvIf copies a request header
    into REMOTE_USER. No auth module ran, so AUTH_TYPE is unset and the CGI
    must not believe it."""

    @classmethod
    def prepare(cls, s):
        s.configure({"helper": {"trust_remote_user": True}})
        s.apache_options = {"modules": ["setenvif"],
                            "location_conf": '  SetEnvIf X-Remote-User "(.+)" REMOTE_USER=$1'}

    def test_remote_user_without_auth_type_gets_the_form(self):
        r = fetch("GET", self.s.login_url, headers={"X-Remote-User": "bob"})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('name="password"', r.body, "the password form, not a token")
        self.assertNotIn("jwt", r.body)
        self.assertIn("REMOTE_USER without AUTH_TYPE ignored", self.s.apache.error_log())
        fields = hidden_fields(r.body)
        fields.update({"user": "alice", "password": "wrong"})
        name, morsel = next(iter(r.cookies().items()))
        p = fetch("POST", self.s.login_url, body=fields,
                  headers={"Cookie": f"{name}={morsel.value}", "X-Remote-User": "bob"})
        self.assertEqual(p.status, 401, "a POST with the header still needs the password")


class Misconfiguration(StackCase):
    def _page(self, status):
        r = fetch("GET", self.s.login_url)
        self.assertEqual(r.status, status, r.body)
        self.assertSecurityHeaders(r)
        rid = self.request_id(r.body)
        return r, self.log_line(rid)[0]

    def test_missing_config_is_500_naming_nothing_to_the_user(self):
        os.rename(self.s.sandbox.config_path, str(self.s.sandbox.config_path) + ".away")
        try:
            r, line = self._page(500)
            self.assertNotIn("config.json", r.body)
            self.assertIn("config.json", line)
        finally:
            os.rename(str(self.s.sandbox.config_path) + ".away", self.s.sandbox.config_path)

    def test_unreadable_secret_is_500(self):
        p = self.s.sandbox.secret_path
        mode = os.stat(p).st_mode
        os.chmod(p, 0o644)   # world-readable: refused
        try:
            r, line = self._page(500)
            self.assertNotIn(self.s.secret, r.body)
            self.assertIn("CSRF key", line)
        finally:
            os.chmod(p, mode)

    def test_missing_pam_service_is_503(self):
        self.s.configure({"pam": {"service": "no-such-service"}})
        self.s.sandbox.write_config(self.s.config)
        try:
            r = self.s.sign_in("alice", self.s.passwords["alice"])
            self.assertIn(r.status, (503,), r.body)
            self.assertIn("503 sign-in unavailable", self.log_line(self.request_id(r.body))[0])
        finally:
            self.s.configure({"pam": {"service": "zendesk-sso"}})
            self.s.sandbox.write_config(self.s.config)

    def test_endpoint_override_must_be_loopback(self):
        self.s.cgi_env = {"ZENDESK_SSO_ENDPOINT_OVERRIDE": "https://evil.example"}
        self.s.restart()
        try:
            r, line = self._page(500)
            self.assertIn("not a loopback address", line)
        finally:
            self.s.cgi_env = {}
            self.s.restart()


class Probe(StackCase):
    """`zendesk-sso probe` (libcurl) against the test Apache."""

    def probe(self, user, password, *extra, config=None, url=None):
        cli = Path(os.environ["ZSSO_BUILD_DIR"]) / "tools" / "zendesk-sso"
        return subprocess.run([str(cli), "--config", str(config or self.s.sandbox.config_path), "probe",
                               url or self.s.login_url, "--user", user, *extra],
                              input=password + "\n", capture_output=True, text=True, timeout=60)

    def test_reports_each_step_and_verifies_the_token(self):
        r = self.probe("alice", self.s.passwords["alice"], "--return-to", "/hc/en-us")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for piece in ("[1] GET 200: sign-in form with a CSRF token, security headers present",
                      "[2] POST 200: credentials accepted",
                      f"[3] delivery by auto-submitting POST form to {self.s.standin.url}/access/jwt",
                      "return_to /hc/en-us", "token verifies with", "email alice@acme.test",
                      "external_id 1001", "ok: sign-in works"):
            self.assertIn(piece, r.stdout)
        self.assertNotIn(self.s.passwords["alice"], r.stdout + r.stderr)
        self.assertEqual(self.s.standin.received, [], "the probe never sends the token on")

    def test_wrong_password(self):
        r = self.probe("alice", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"FAILED: POST 401: wrong user name or password .*request id [A-Za-z0-9_-]{8}")

    def test_token_signed_with_another_secret_fails(self):
        other = self.s.dir / "probe"
        other.mkdir(exist_ok=True)
        (other / "secret").write_text("a-different-secret-than-the-helper-uses-0123456\n")
        os.chmod(other / "secret", 0o600)
        cfg = dict(self.s.config)
        cfg["zendesk"] = dict(cfg["zendesk"], secret_file=str(other / "secret"))
        (other / "config.json").write_text(__import__("json").dumps(cfg))
        r = self.probe("alice", self.s.passwords["alice"], config=other / "config.json")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("the token does not verify", r.stdout)

    def test_not_a_login_page(self):
        r = self.probe("alice", "x", url=self.s.base_url + "/nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAILED: GET 404", r.stdout)

    def test_usage(self):
        cli = Path(os.environ["ZSSO_BUILD_DIR"]) / "tools" / "zendesk-sso"
        r = subprocess.run([str(cli), "--config", str(self.s.sandbox.config_path), "probe", self.s.login_url],
                           input="x\n", capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: probe URL --user USER", r.stderr)


class LeanBinary(unittest.TestCase):
    ALLOWED = {"libc.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libm.so.6", "libcrypto.so.3", "libpam.so.0"}

    def test_needed_libraries(self):
        cgi = Path(os.environ["ZSSO_BUILD_DIR"]) / "helper" / "cgi" / "zendesk-sso.cgi"
        out = subprocess.run(["readelf", "-d", str(cgi)], capture_output=True, text=True, check=True).stdout
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        self.assertIn("libpam.so.0", needed)
        self.assertIn("libcrypto.so.3", needed)
        self.assertLessEqual(needed, self.ALLOWED, f"unexpected: {needed - self.ALLOWED}")
        ldd = subprocess.run(["ldd", str(cgi)], capture_output=True, text=True, check=True).stdout
        self.assertNotIn("libcurl", ldd)
        self.assertNotIn("libssl", ldd)


if __name__ == "__main__":
    unittest.main()
