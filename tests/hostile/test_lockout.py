#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Brute force against the shipped local-accounts stack: examples/pam.d/
zendesk-sso (pam_faillock) through zendesk-sso.cgi under a real Apache, with
pam_matrix standing in for pam_unix and faillock's tally directory in the
test's sandbox (deny=3). The account locks after 3 failures; while locked
the right password gets the very page a wrong one gets; `faillock --reset`
unlocks it; refusals before PAM (outside ip_ranges, bad CSRF) count nothing.

  ZSSO_BUILD_DIR=build /usr/bin/python3 tests/hostile/test_lockout.py -v
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_support import HardenedTestCase, crash_lines  # noqa: E402
from zsso_e2e import fetch, hidden_fields  # noqa: E402

import jwt as pyjwt  # noqa: E402

DENY = 3
GENERIC = "The user name or password is incorrect."


def normalise(body):
    """A page without what differs between any two requests (CSRF token,
    request id) and the echoed user name."""
    return re.sub(r'value="[^"]*"|<code>[A-Za-z0-9_-]+</code>', "", body)


class Lockout(HardenedTestCase):
    @classmethod
    def prepare(cls, s):
        cls.tally = s.use_local_accounts_stack(deny=DENY)
        s.sandbox.add_user("carol", 1003, gecos="Carol", password="carol's right one")
        s.passwords["carol"] = "carol's right one"
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}})

    def tearDown(self):
        self.assertEqual(crash_lines(self.s.apache.error_log()), [])
        self.assertEqual(self.s.cgi_exits(), [], "the CGI ended with a non-zero status")

    # --- helpers -------------------------------------------------------------------------------
    def faillock(self, user, *args):
        r = subprocess.run(["faillock", "--dir", str(self.tally), "--user", user, *args],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def failures(self, user):
        """Valid failure records in user's tally."""
        return len([l for l in self.faillock(user).splitlines() if re.search(r"\sV$", l)])

    def attempt(self, user, password, source=None, csrf=True):
        form = fetch("GET", self.s.login_url, source=source)
        fields = hidden_fields(form.body)
        fields.update({"user": user, "password": password})
        headers = {}
        if csrf:
            self.assertEqual(form.status, 200, form.body)
            headers["Cookie"] = f"zsso_csrf={fields['csrf']}"
        return fetch("POST", self.s.login_url, body=fields, headers=headers, source=source)

    def last_cgi_line(self):
        lines = [l for l in self.s.cgi_log_lines() if '"POST"' in l]
        return lines[-1] if lines else ""

    def auth_calls(self, user):
        return len([c for c in self.s.pam_calls() if c[:2] == ["auth", user]])

    # --- tests ---------------------------------------------------------------------------------
    def test_locked_after_deny_failures_then_reset_unlocks(self):
        user, right = "alice", self.s.passwords["alice"]
        self.faillock(user, "--reset")
        self.assertEqual(self.attempt(user, right).status, 200, "signs in before any failure")

        wrong_pages = []
        for i in range(DENY):
            r = self.attempt(user, f"guess {i}")
            self.assertEqual(r.status, 401, r.body)
            self.assertIn(GENERIC, r.body)
            wrong_pages.append(r)
            self.assertEqual(self.failures(user), i + 1, self.faillock(user))

        # Locked: the right password gets the wrong password's page, no token.
        received = len(self.s.standin.received)
        calls = self.auth_calls(user)
        locked = self.attempt(user, right)
        self.assertEqual(locked.status, 401, locked.body)
        self.assertIn(GENERIC, locked.body)
        self.assertEqual(normalise(locked.body), normalise(wrong_pages[-1].body))
        self.assertEqual(sorted(k for k, _ in locked.headers if k not in ("Date",)),
                         sorted(k for k, _ in wrong_pages[-1].headers if k not in ("Date",)))
        self.assertNotIn('id="zendesk-sso"', locked.body, "no delivery form")
        self.assertNotIn(right, locked.body)
        self.assertEqual(self.auth_calls(user), calls + 1, "PAM was asked (and pam_faillock refused)")
        self.assertEqual(len(self.s.standin.received), received)
        self.assertEqual(self.failures(user), DENY, "a refusal while locked adds no record")
        line = self.last_cgi_line()
        self.assertRegex(line, r'401 bad login user="alice": .*pam_authenticate: Authentication failure '
                               r'\(before the password was asked\); PAM said "The account is locked due to 3 '
                               r'failed logins\."')
        self.assertIn("client=127.0.0.1", line)
        # Another account is not affected.
        self.assertEqual(self.attempt("carol", self.s.passwords["carol"]).status, 200)

        # The admin unlocks: faillock --dir D --user U --reset.
        self.faillock(user, "--reset")
        self.assertEqual(self.failures(user), 0)
        done = self.attempt(user, right)
        self.assertEqual(done.status, 200, done.body)
        token = hidden_fields(done.body, "zendesk-sso")["jwt"]
        self.assertEqual(pyjwt.decode(token, self.s.secret, algorithms=["HS256"])["email"], "alice@acme.test")

    def test_unknown_user_locks_the_same_way(self):
        """No enumeration: a name without an account fails (and is counted
        by nothing that tells it apart) exactly like a real one."""
        ghost = self.attempt("nobody-here", "x")
        real = self.attempt("carol", "wrong once")
        self.assertEqual((ghost.status, real.status), (401, 401))
        self.assertEqual(normalise(ghost.body), normalise(real.body))
        self.faillock("carol", "--reset")

    def test_refusals_before_pam_count_nothing(self):
        user = "bob"
        self.faillock(user, "--reset")
        calls = self.auth_calls(user)
        for _ in range(DENY + 2):
            outside = self.attempt(user, "wrong", source="127.0.0.2", csrf=False)
            self.assertEqual(outside.status, 403, outside.body)
            self.assertIn("only available from the company network", outside.body)
            no_csrf = self.attempt(user, "wrong", csrf=False)
            self.assertEqual(no_csrf.status, 403, no_csrf.body)
            self.assertIn("Form expired", no_csrf.body)
        self.assertEqual(self.auth_calls(user), calls, "PAM was never asked")
        self.assertEqual(self.failures(user), 0)
        self.assertFalse((self.tally / user).exists(), "no tally file was even created")
        self.assertEqual(self.attempt(user, self.s.passwords[user]).status, 200, "bob is not locked")


if __name__ == "__main__":
    unittest.main(verbosity=2)
