#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""examples/systemd: the units load cleanly and keep their sandbox.
(That the broker works the way the service runs it, under socket activation
as a user in group shadow, is in test_real_accounts.py.)"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

UNITS = Path(os.environ["ZSSO_SOURCE_DIR"]) / "examples" / "systemd"
SOCKET = UNITS / "zendesk-sso-authd.socket"
SERVICE = UNITS / "zendesk-sso-authd.service"
AUTHD = os.environ["ZSSO_AUTHD"]
ANALYZE = shutil.which("systemd-analyze")


def settings(path):
    """key -> [values] of a unit file (comments and sections ignored)."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


class Units(unittest.TestCase):
    def test_socket_goes_to_one_warm_broker_and_the_web_server_group_only(self):
        s = settings(SOCKET)
        # The broker gets the listening socket (fd 3) and forks a child per
        # sign-in; a child may hold a conversation across connections.
        self.assertEqual(s["Accept"], ["no"])
        self.assertEqual(s["ListenStream"], ["/run/zendesk-sso/authd.sock"])
        self.assertEqual(s["SocketMode"], ["0660"])
        self.assertEqual(s["SocketGroup"], ["www-data"])
        self.assertEqual(s["SocketUser"], ["root"])

    def test_service_runs_as_its_own_user_with_shadow_and_no_privileges(self):
        s = settings(SERVICE)
        self.assertEqual(s["User"], ["zendesk-sso"])
        self.assertEqual(s["SupplementaryGroups"], ["shadow"])
        self.assertEqual(s["CapabilityBoundingSet"], [""])
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateNetwork",
                    "MemoryDenyWriteExecute", "RestrictSUIDSGID"):
            self.assertEqual(s[key], ["yes"], key)
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertEqual(s["RestrictAddressFamilies"], ["AF_UNIX"])
        self.assertIn("@system-service", s["SystemCallFilter"])
        self.assertTrue(s["ExecStart"][0].startswith("/usr/sbin/zendesk-sso-authd --config "))
        # The conversation sockets' directory, writable under ProtectSystem=strict.
        self.assertIn("zendesk-sso/conv", s["RuntimeDirectory"][0].split())

    @unittest.skipUnless(ANALYZE, "systemd-analyze not installed")
    def test_exposure_stays_safe(self):
        # --threshold is in tenths: 10 = exposure 1.0, the top of systemd's "SAFE" band.
        p = subprocess.run([ANALYZE, "security", "--offline=true", "--threshold=10", str(SERVICE)],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr)
        m = re.search(r"Overall exposure level for .*: (\d+\.\d+) (\w+)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-500:])
        print(f"\nsystemd-analyze security: exposure {m.group(1)} {m.group(2)}")
        self.assertLessEqual(float(m.group(1)), 1.0)

    @unittest.skipUnless(ANALYZE, "systemd-analyze not installed")
    def test_units_load_without_warnings(self):
        with tempfile.TemporaryDirectory() as d:
            for unit in (SOCKET, SERVICE):
                # ExecStart must name an existing binary: the one just built.
                text = unit.read_text().replace("/usr/sbin/zendesk-sso-authd", AUTHD)
                (Path(d) / unit.name).write_text(text)
            p = subprocess.run([ANALYZE, "verify", "--man=no", str(Path(d) / SOCKET.name),
                                str(Path(d) / SERVICE.name)], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout + p.stderr, "", "systemd-analyze verify complained")


if __name__ == "__main__":
    unittest.main()
