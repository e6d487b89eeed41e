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
# The opt-in drop-ins, installed under /usr/share/zendesk-sso/systemd/ for
# the admin to link into /etc/systemd/system/zendesk-sso-authd.service.d/.
DROP_INS = sorted((UNITS / "zendesk-sso-authd.service.d").glob("*.conf"))
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
        # A copy alone: beside the original, systemd-analyze would add the
        # opt-in drop-ins of zendesk-sso-authd.service.d/ to it.
        with tempfile.TemporaryDirectory() as d:
            unit = Path(shutil.copy(SERVICE, d))
            p = subprocess.run([ANALYZE, "security", "--offline=true", "--threshold=10", str(unit)],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr)
        m = re.search(r"Overall exposure level for .*: (\d+\.\d+) (\w+)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-500:])
        print(f"\nsystemd-analyze security: exposure {m.group(1)} {m.group(2)}")
        self.assertLessEqual(float(m.group(1)), 1.0)

    def test_drop_ins_each_widen_one_thing(self):
        names = {p.name: settings(p) for p in DROP_INS}
        self.assertEqual(sorted(names), ["network.conf", "otp-glued.conf", "otp.conf", "password-change.conf",
                                         "webauthn.conf"])
        # The default stays closed: no state, no chown, no network.
        s = settings(SERVICE)
        self.assertNotIn("StateDirectory", s)
        self.assertEqual(s["SystemCallFilter"], ["@system-service", "~@privileged @resources"])
        self.assertEqual(s["IPAddressDeny"], ["any"])
        # pam_oath: state under /var/lib and fchown only (not the whole @chown group).
        # The inner folder only: /var/lib/zendesk-sso (metrics/ in it) stays root's.
        otp = names["otp.conf"]
        self.assertEqual(otp["StateDirectory"], ["zendesk-sso/otp"])
        self.assertEqual(otp["StateDirectoryMode"], ["0700"])
        self.assertEqual(otp["SystemCallFilter"], ["fchown"])
        glued = names["otp-glued.conf"]
        self.assertEqual(glued["StateDirectory"], ["zendesk-sso/otp"])
        self.assertEqual(glued["SystemCallFilter"], ["setfsuid"])
        net = names["network.conf"]
        self.assertEqual(net["PrivateNetwork"], ["no"])
        self.assertEqual(net["RestrictAddressFamilies"], ["AF_UNIX AF_INET AF_INET6"])
        self.assertEqual(net["IPAddressAllow"], ["localhost"])
        self.assertNotIn("IPAddressDeny", net)   # the unit's "any" stays: only what is allowed gets through
        pw = names["password-change.conf"]
        self.assertEqual(pw["User"], ["root"])
        self.assertEqual(pw["ReadWritePaths"], ["/etc"])
        # Security keys: the side file's state under /var/lib, no new call.
        keys = names["webauthn.conf"]
        self.assertEqual(keys["StateDirectory"], ["zendesk-sso/webauthn"])
        self.assertEqual(keys["StateDirectoryMode"], ["0700"])
        self.assertNotIn("SystemCallFilter", keys)
        for name, d in names.items():
            # None hands back a capability, the thing the exposure score weighs most.
            for key in ("CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges", "ProtectSystem"):
                self.assertNotIn(key, d, name)

    @unittest.skipUnless(ANALYZE, "systemd-analyze not installed")
    def test_drop_ins_say_their_measured_exposure(self):
        # Each drop-in's comment names the exposure of the shipped unit with it,
        # measured as an admin would after linking it in (an offline root).
        def exposure(drop_in):
            with tempfile.TemporaryDirectory() as root:
                lib = Path(root) / "usr/lib/systemd/system"
                lib.mkdir(parents=True)
                for unit in (SOCKET, SERVICE):
                    shutil.copy(unit, lib / unit.name)
                if drop_in:
                    d = Path(root) / "etc/systemd/system" / (SERVICE.name + ".d")
                    d.mkdir(parents=True)
                    shutil.copy(drop_in, d / drop_in.name)
                p = subprocess.run([ANALYZE, "security", "--offline=true", f"--root={root}", SERVICE.name],
                                   capture_output=True, text=True, timeout=120)
                m = re.search(r"Overall exposure level for .*: (\d+\.\d+) (\w+)", p.stdout)
                self.assertIsNotNone(m, p.stdout[-500:] + p.stderr)
                return f"{m.group(1)} {m.group(2)}"
        alone = exposure(None)
        for drop_in in DROP_INS:
            text = drop_in.read_text()
            said = re.search(r"the shipped unit with this file: (\d+\.\d+ \w+)\s*# \(the shipped unit alone: "
                             r"(\d+\.\d+ \w+)\)", text)
            self.assertIsNotNone(said, f"{drop_in.name}: no measured exposure in its comment")
            measured = exposure(drop_in)
            print(f"\n{drop_in.name}: exposure {measured} (the unit alone: {alone})")
            self.assertEqual(said.groups(), (measured, alone), drop_in.name)
            # Opt-ins for some stacks, not a licence to open up: at most systemd's "OK" band's middle.
            self.assertLessEqual(float(measured.split()[0]), 2.0, drop_in.name)

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
