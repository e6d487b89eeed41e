#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""No file the project installs carries a setuid or setgid bit: the broker
is how local accounts are served, never a privileged binary. Installs the
build tree into a temporary DESTDIR and looks with find(1)."""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

BUILD = os.environ["ZSSO_BUILD_DIR"]


class InstallTree(unittest.TestCase):
    def test_nothing_installed_is_setuid_or_setgid(self):
        with tempfile.TemporaryDirectory(prefix="zsso-destdir-") as dest:
            p = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"],
                               env=dict(os.environ, DESTDIR=dest), capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            files = [f for f in Path(dest).rglob("*") if f.is_file()]
            names = {f.name for f in files}
            # The search covers what matters: the programs and the module are there.
            for expected in ("zendesk-sso-authd", "zendesk-sso", "pam_zendesk.so"):
                self.assertIn(expected, names, f"{expected} was not installed")
            self.assertTrue((Path(dest) / "usr/sbin/zendesk-sso-authd").is_file())
            found = subprocess.run(["find", dest, "-perm", "/6000"], capture_output=True,
                                   text=True, check=True).stdout.split()
            self.assertEqual(found, [], "setuid/setgid in the install tree")
            # find itself sees such a bit (so an empty answer means something).
            probe = Path(dest) / "probe"
            probe.write_text("")
            os.chmod(probe, 0o2755)
            found = subprocess.run(["find", dest, "-perm", "/6000"], capture_output=True,
                                   text=True, check=True).stdout.split()
            self.assertEqual(found, [str(probe)])


if __name__ == "__main__":
    unittest.main()
