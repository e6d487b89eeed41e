#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/demo.sh: a busy port is named before anything is installed or
built, and the demo's package list is a subset of the full one."""
import os
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(os.environ["ZSSO_SOURCE_DIR"])
BUILD = Path(os.environ["ZSSO_BUILD_DIR"])


def packages(name):
    lines = (SOURCE / "scripts" / name).read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


class BusyPort(unittest.TestCase):
    def setUp(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.addCleanup(self.listener.close)
        self.port = self.listener.getsockname()[1]

    def test_demo_sh_names_the_busy_port_before_installing_or_building(self):
        with tempfile.TemporaryDirectory() as tmp:
            build = Path(tmp) / "never-built"
            # No sudo, no apt: were install-deps.sh reached, it would fail differently.
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ZSSO_BUILD_DIR": str(build)}
            p = subprocess.run([str(SOURCE / "scripts" / "demo.sh"), "--port", str(self.port)],
                               capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(f"demo: port {self.port} on 127.0.0.1 is already in use", p.stderr)
            self.assertIn("pick another port: scripts/demo.sh --port N", p.stderr)
            self.assertFalse(build.exists(), "nothing was configured or built")
            self.assertNotIn("installing", p.stderr)

    def test_demo_sh_refuses_a_port_that_is_not_a_number(self):
        p = subprocess.run([str(SOURCE / "scripts" / "demo.sh"), "--port", "http"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--port takes a port number", p.stderr)

    def test_the_demo_itself_never_moves_to_another_port(self):
        # The port taken between demo.sh's check and Apache's start: the
        # Python half says so and exits, instead of printing a URL to nowhere.
        p = subprocess.run(["/usr/bin/python3", str(SOURCE / "tests" / "e2e" / "zsso_e2e.py"), "demo",
                            "--build", str(BUILD), "--source", str(SOURCE), "--port", str(self.port)],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"port {self.port} on 127.0.0.1 is already in use", p.stderr)
        self.assertNotIn("Open:", p.stdout)
        self.assertNotIn("Traceback", p.stderr)


class PackageLists(unittest.TestCase):
    def test_demo_list_is_a_subset_of_the_full_list(self):
        demo, full = packages("demo-packages.txt"), packages("debian-packages.txt")
        self.assertEqual(sorted(set(demo) - set(full)), [])
        self.assertLess(len(demo), len(full) // 2, "the demo installs a small part")
        for heavy in ("chromium", "valgrind", "clang-14", "lintian", "linux-perf"):
            self.assertNotIn(heavy, demo)

    def test_demo_sh_installs_the_demo_list_and_test_sh_the_full_one(self):
        demo_sh = (SOURCE / "scripts" / "demo.sh").read_text()
        self.assertIn('install-deps.sh" "$root/scripts/demo-packages.txt"', demo_sh)
        self.assertRegex((SOURCE / "scripts" / "test.sh").read_text(), r'install-deps\.sh"\s*\|\|')
        self.assertIn("scripts/debian-packages.txt", (SOURCE / ".ci" / "run").read_text())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
