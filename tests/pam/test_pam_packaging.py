# SPDX-License-Identifier: BSD-3-Clause
"""pam_zendesk.so as a deliverable: what it exports, its man page, the
example PAM stacks (run for real where their modules exist), installation,
and memcheck over the pamtester and pam_flow cases.

Run one group:  /usr/bin/python3 test_pam_packaging.py Valgrind"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pam_sandbox import PAM_MATRIX, SYSTEM_MODULE_DIR  # noqa: E402
from test_pam_module import (AUTH_ERR, DEFAULT_SECRET, FLOW, MODULE, PERM_DENIED,  # noqa: E402
                             SERVICE_ERR, SOURCE_DIR, PamCase)

import jwt  # noqa: E402  python3-jwt

EXAMPLES = SOURCE_DIR / "examples" / "pam.d"
MAN_PAGE = SOURCE_DIR / "pam_module" / "pam_zendesk.8"
ENTRY_POINTS = {"pam_sm_authenticate", "pam_sm_acct_mgmt", "pam_sm_setcred"}


class Exports(unittest.TestCase):
    def test_only_pam_entry_points_are_exported(self):
        out = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True,
                             text=True, check=True).stdout
        names = {line.split()[-1] for line in out.splitlines() if line.strip()}
        self.assertEqual(names, ENTRY_POINTS)

    def test_named_for_pam_and_hardened(self):
        self.assertEqual(Path(MODULE).name, "pam_zendesk.so")
        dyn = subprocess.run(["readelf", "-d", "-W", MODULE], capture_output=True, text=True,
                             check=True).stdout
        self.assertRegex(dyn, r"FLAGS.*BIND_NOW")
        needed = set(re.findall(r"\(NEEDED\).*\[(.+?)\]", dyn))
        self.assertIn("libpam.so.0", needed)
        self.assertIn("libcrypto.so.3", needed)
        self.assertFalse([n for n in needed if "zsso" in n], "core is linked in statically")
        seg = subprocess.run(["readelf", "-l", "-W", MODULE], capture_output=True, text=True,
                             check=True).stdout
        self.assertIn("GNU_RELRO", seg)

    def test_install_puts_module_and_man_page_in_place(self):
        binary_dir = Path(os.environ["ZSSO_BINARY_DIR"])
        module_dir = os.environ["ZSSO_PAM_MODULE_DIR"]
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(["cmake", f"-DCMAKE_INSTALL_PREFIX={prefix}", "-P",
                            str(binary_dir / "pam_module" / "cmake_install.cmake")],
                           check=True, capture_output=True)
            target = Path(module_dir if os.path.isabs(module_dir) else Path(prefix) / module_dir)
            self.assertTrue((target / "pam_zendesk.so").is_file(), list(Path(prefix).rglob("*")))
            self.assertTrue(list(Path(prefix).rglob("man8/pam_zendesk.8")))


class ManPage(unittest.TestCase):
    def render(self):
        r = subprocess.run(["man", "--warnings", "-l", str(MAN_PAGE)], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0",
                                "LANG": "C.UTF-8"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "groff warnings")
        return re.sub(r".\x08", "", r.stdout)

    def test_renders_with_every_section(self):
        text = self.render()
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "MODULE TYPES PROVIDED",
                        "RETURN VALUES", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]:
            self.assertRegex(text, rf"(?m)^{section}$")

    def test_documents_every_argument_and_return_code(self):
        text = self.render()
        for arg in ["config=PATH", "profile=NAME", "debug", "silent"]:
            self.assertIn(arg, text)
        source = "".join(p.read_text() for p in (SOURCE_DIR / "pam_module").glob("*.cpp"))
        codes = set(re.findall(r"\bPAM_[A-Z_]+(?:_ERR|_DENIED|_UNKNOWN|_UNAVAIL|SUCCESS|INCOMPLETE)\b",
                               source))
        self.assertIn("PAM_PERM_DENIED", codes)
        for code in codes:
            self.assertIn(code, text)


def example_lines(name):
    for line in (EXAMPLES / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


class ExampleStacks(PamCase):
    def test_every_example_gates_first_and_never_sufficient(self):
        names = sorted(p.name for p in EXAMPLES.iterdir())
        self.assertEqual(names, ["zendesk-sso", "zendesk-sso-krb5", "zendesk-sso-otp",
                                 "zendesk-sso-otp-glued", "zendesk-sso-sssd", "zendesk-sso-sssd-2fa",
                                 "zendesk-sso-webauthn"])
        for name in names:
            with self.subTest(example=name):
                lines = [re.split(r"\s+(?![^\[]*\])", l) for l in example_lines(name)]
                for f in lines:
                    self.assertIn(f[0], {"auth", "account", "password", "session"})
                    self.assertTrue(f[2].endswith(".so"), f)
                auth = [f for f in lines if f[0] == "auth"]
                self.assertEqual(auth[0][2], "pam_zendesk.so", "the gate is the first auth line")
                self.assertEqual(auth[0][1], "requisite")
                self.assertIn(["account", "required", "pam_zendesk.so"], [f[:3] for f in lines])
                self.assertFalse([f for f in lines if f[2] == "pam_zendesk.so" and f[1] == "sufficient"])
                self.assertRegex((EXAMPLES / name).read_text(), r"(?m)^# .*\S")  # commented

    def install_local_example(self):
        """examples/pam.d/zendesk-sso with test stand-ins: pam_matrix for
        pam_unix (no /etc/shadow), faillock's tally dir in the sandbox."""
        text = "\n".join(example_lines("zendesk-sso")) + "\n"
        text = re.sub(r"pam_unix\.so\S*( \S+)*$", "{matrix} passdb={passdb}", text, flags=re.M)
        text = text.replace("pam_zendesk.so", "{module} config={config} debug")
        text = re.sub(r" (dir=/|deny=)\S+", "", text)   # the broker's tally dir and deny, as below
        text = re.sub(r"pam_faillock\.so", "{sysdir}/pam_faillock.so dir={dir}/faillock deny=3", text)
        text = re.sub(r"(?<![/\w])(pam_deny|pam_permit)\.so", r"{sysdir}/\1.so", text)
        os.makedirs(self.sb.dir / "faillock", exist_ok=True)
        self.sb.write_service("zendesk-sso", text)
        self.assertIn(PAM_MATRIX, (self.sb.service_dir / "zendesk-sso").read_text())

    def test_local_example_mints_a_token(self):
        self.install_local_example()
        r = self.flow("alice")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        token = re.search(r"^ZENDESK_JWT=(\S+)$", r.stdout, re.M).group(1)
        self.assertEqual(jwt.decode(token, DEFAULT_SECRET, algorithms=["HS256"])["email"], "alice@acme.com")

    def test_local_example_remote_user_mode_mints_a_token(self):
        self.install_local_example()
        r = self.flow("alice", opts=["--no-auth"], password="")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_local_example_refuses_outside_ranges_without_a_password_prompt(self):
        self.install_local_example()
        r = self.try_login("alice", rhost="203.0.113.9")
        self.assertFails(r, AUTH_ERR)
        self.assertNotIn("Password:", r.stdout)

    def test_local_example_wrong_password_then_lockout(self):
        self.install_local_example()
        for _ in range(3):
            self.assertFails(self.try_login("alice", password="wrong"), AUTH_ERR)
        r = self.try_login("alice")   # right password, but faillock now refuses
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_local_example_policy_refusal(self):
        self.install_local_example()
        self.assertFails(self.try_login("bob", "acct_mgmt"), PERM_DENIED)


MEMCHECK = ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--error-exitcode=99", "--keep-debuginfo=yes", "--num-callers=30"]


class Valgrind(PamCase):
    """Zero memcheck errors and leaks over the pamtester cases and pam_flow.
    --keep-debuginfo keeps pam_zendesk.so's symbols after pam_end dlclose()s
    it, so anything of ours would be named in the log."""

    def memcheck(self, argv, stdin, expect_rc, expect_text):
        log = self.sb.dir / f"memcheck-{len(self.summaries)}.log"
        r = self.sb.run(MEMCHECK + [f"--log-file={log}"] + argv, stdin=stdin, for_valgrind=True,
                        timeout=600)
        text = log.read_text()
        summary = re.search(r"ERROR SUMMARY: .*", text).group(0)
        self.summaries.append(f"{' '.join(argv[-4:])}: {summary}")
        self.assertNotEqual(r.returncode, 99, text)
        self.assertIn("ERROR SUMMARY: 0 errors", text)
        self.assertNotIn("pam_zendesk", text)
        self.assertNotIn("definitely lost: ", text.replace("definitely lost: 0 bytes", ""))
        self.assertEqual(r.returncode, expect_rc, r.stdout + r.stderr)
        self.assertIn(expect_text, r.stdout + r.stderr)

    def setUp(self):
        super().setUp()
        self.summaries = []

    def tearDown(self):
        print("\n".join(self.summaries))

    def test_pamtester_cases(self):
        cases = [
            (["-I", "rhost=10.1.2.3", "zendesk-sso", "alice", "authenticate", "acct_mgmt"], "alice-pw", 0,
             "account management done"),
            (["-I", "rhost=::ffff:10.1.2.3", "zendesk-sso", "alice", "authenticate", "acct_mgmt"], "alice-pw",
             0, "account management done"),
            (["-I", "rhost=203.0.113.9", "zendesk-sso", "alice", "authenticate"], "alice-pw", 1, AUTH_ERR),
            (["-I", "rhost=garbage", "zendesk-sso", "alice", "acct_mgmt"], "", 1, PERM_DENIED),
            (["zendesk-sso", "alice", "acct_mgmt"], "", 1, PERM_DENIED),
            (["-I", "rhost=10.1.2.3", "zendesk-sso", "alice", "authenticate"], "wrong", 1, AUTH_ERR),
            (["-I", "rhost=10.1.2.3", "zendesk-sso", "bob", "acct_mgmt"], "", 1, PERM_DENIED),
            (["-I", "rhost=10.1.2.3", "zendesk-sso", "root", "acct_mgmt"], "", 1, PERM_DENIED),
            (["-I", "rhost=10.1.2.3", "zendesk-sso", "nobody-here", "acct_mgmt"], "", 1,
             "User not known"),
            (["-I", "rhost=10.1.2.3", "bad-arg", "alice", "acct_mgmt"], "", 1, SERVICE_ERR),
            (["-I", "rhost=10.1.2.3", "bad-config", "alice", "acct_mgmt"], "", 1, SERVICE_ERR),
        ]
        self.sb.write_service("bad-arg", "account required {module} config={config} no-such-option\n")
        broken = self.sb.dir / "broken.json"
        broken.write_text('{"zendesk": [')
        self.sb.write_service("bad-config", f"account required {{module}} config={broken}\n")
        for argv, password, rc, text in cases:
            with self.subTest(argv=argv):
                self.memcheck(["pamtester", "-v"] + argv, password + "\n", rc, text)

    def test_pam_flow_cases(self):
        self.memcheck([FLOW, "zendesk-sso", "alice", "10.1.2.3"], "alice-pw\n", 0, "after delete: unset")
        self.memcheck([FLOW, "--no-auth", "zendesk-sso", "bob", "10.1.2.3"], "\n", 1, PERM_DENIED)
        os.chmod(self.sb.secret_path, 0o644)
        self.memcheck([FLOW, "zendesk-sso", "alice", "10.1.2.3"], "alice-pw\n", 1, f"setcred: {SERVICE_ERR}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
