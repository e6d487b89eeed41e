#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/demo.sh: a busy port is named before anything is installed or
built, the demo's package list is a subset of the full one, and the running
demo answers a German browser in German (issue 24.4)."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(os.environ["ZSSO_SOURCE_DIR"])
BUILD = Path(os.environ["ZSSO_BUILD_DIR"])
sys.path.insert(0, str(SOURCE / "tests" / "e2e"))
from zsso_e2e import fetch  # noqa: E402


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


class Running(unittest.TestCase):
    """The demo itself (the Python half demo.sh ends in, on this build):
    the printed URL serves each browser in its language (issue 24.4)."""

    @classmethod
    def setUpClass(cls):
        # No --port: the demo takes a free one itself, so no other program can hold it.
        cls.proc = subprocess.Popen(["/usr/bin/python3", str(SOURCE / "tests" / "e2e" / "zsso_e2e.py"), "demo",
                                     "--build", str(BUILD), "--source", str(SOURCE)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.banner = ""
        for line in cls.proc.stdout:   # ends when the demo exits
            cls.banner += line
            if line.startswith("Press Ctrl-C"):
                break
        m = re.search(r"^  Open: +(\S+)$", cls.banner, re.M)
        if not m:
            cls.stop()
            raise AssertionError(f"the demo printed no URL:\n{cls.banner}{cls.proc.stderr.read()}")
        cls.url = m.group(1)

    @classmethod
    def stop(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGINT)   # what Ctrl-C sends
        cls.tail, cls.err = cls.proc.communicate(timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.stop()

    def test_a_german_browser_gets_the_german_page(self):
        r = fetch("GET", self.url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('<html lang="de">', r.body)
        for text in ('<label for="user">Benutzername</label>', '<label for="password">Passwort</label>',
                     '<button type="submit">Anmelden</button>',
                     "Melden Sie sich mit Ihrem Konto für zendesk-sso demo bei Zendesk an."):
            self.assertIn(text, r.body)

    def test_a_browser_that_asks_nothing_gets_english(self):
        r = fetch("GET", self.url)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn('<html lang="en">', r.body)
        self.assertIn('<label for="user">', r.body)
        self.assertNotIn("Benutzername", r.body)

    def test_the_banner_names_the_languages(self):
        self.assertRegex(self.banner, r"Languages: English, .*\bde\b.*, as the browser asks")

    def test_demo_sh_builds_the_catalogues(self):
        # A new build-demo/ has only what demo.sh's cmake --build names.
        line = next(l for l in (SOURCE / "scripts" / "demo.sh").read_text().splitlines()
                    if l.startswith("cmake --build"))
        self.assertIn("zsso_translations", line.split("--target", 1)[1].split())
        self.assertTrue((BUILD / "po" / "de" / "LC_MESSAGES" / "zendesk-sso.mo").is_file(),
                        "zsso_translations makes the catalogues the demo copies")


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
