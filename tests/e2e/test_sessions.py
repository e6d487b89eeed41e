#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sign-in sessions in direct mode: the CGI under Apache verifies and issues
session cookies itself (it may read session.key_file, as it reads the Zendesk
secret). The checks are tests/e2e/session_checks.py's."""

import grp
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_checks import SessionChecks, write_key  # noqa: E402
from zsso_e2e import Stack, apache_user  # noqa: E402


class DirectSessions(SessionChecks, unittest.TestCase):
    base_session = {"max_seconds": 3600, "idle_seconds": 600}

    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        try:
            cls.KEY = str(cls.s.dir / "session-key")
            cls.CLI = os.path.join(os.environ["ZSSO_BUILD_DIR"], "tools", "zendesk-sso")
            cls.write_class_key(cls)
            cls.base_session = dict(cls.base_session, key_file=cls.KEY)
            cls.s.configure({"session": cls.base_session, "profiles": {"team": {}}})
            cls.s.start()
        except BaseException:
            cls.s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def write_class_key(self):
        # Direct mode: the web server's group reads the key, as it reads the secret.
        user = apache_user()
        return write_key(self.KEY, grp.getgrnam(user[1]).gr_gid if user else None)


if __name__ == "__main__":
    unittest.main()
