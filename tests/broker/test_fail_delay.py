#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every refused sign-in takes the same time from outside (issue 14, point 1;
issue 22, points 3 and 4).

Root only (CI): a throwaway local account with a password, a system account
(refused by the access policy: uid below min_uid), the shipped local-accounts
PAM stack (examples/pam.d/zendesk-sso, with this build's pam_zendesk.so and
its own faillock folder) in /etc/pam.d, zendesk-sso-authd as root, and the
CGI under a private Apache in broker mode: browser -> Apache -> CGI -> broker
-> real libpam and pam_unix. All removed afterwards.

It posts the form for an unknown user, the policy-refused system account,
the eligible account with a wrong password and, expired with `chage -E 0`,
the eligible account with its right password, and checks that each got the
same 401 page and that the broker answered each at its failure deadline
(its line for the request says so, and that libpam's own delay was skipped
where PAM asked for one). Deterministic: it proves the path each refusal
took, never compares times (a statistical rule would fail an honest fix by
chance); the deadline itself is proven under an injected clock
(broker.failure_deadline.*) and measured by bench/timing/refusal_pairs.py.
"""

import atexit
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))
import broker_wire as wire  # noqa: E402
from zsso_e2e import Apache, apache_user, fetch, hidden_fields, work_root  # noqa: E402

AUTHD = os.environ["ZSSO_AUTHD"]
MODULE = os.environ["ZSSO_PAM_MODULE"]
BUILD = Path(os.environ["ZSSO_BUILD_DIR"])
SOURCE = Path(os.environ["ZSSO_SOURCE_DIR"])
IS_ROOT = os.geteuid() == 0
WAIT = 60
PACED = r"; (answered at the failure deadline, \d+ ms after the request|answered \d+ ms after the request, " \
        r"\d+ ms past the failure deadline)"
PASSWORD = "Fd-c0rrect-Horse-9"
SECRET = "Qw8eR7tY6uI5oP4aS3dF2gH1jK0lZ9xC8vB7nM6qW5eR4tY3"
PREFIX = "zsso-fd-"    # zsso-fd-<pid>-u (eligible), -s (system account), PAM service zsso-fd-<pid>
NAME = re.compile(r"^zsso-fd-(\d+)-[us]$")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_leftovers():
    """Accounts and services of earlier runs that were killed before cleaning up."""
    for entry in pwd.getpwall():
        m = NAME.match(entry.pw_name)
        if m and not pid_alive(int(m.group(1))):
            subprocess.run(["userdel", entry.pw_name], capture_output=True)
    for path in Path("/etc/pam.d").glob(PREFIX + "*"):
        m = re.match(r"^zsso-fd-(\d+)$", path.name)
        if m and not pid_alive(int(m.group(1))):
            path.unlink(missing_ok=True)


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=WAIT)
    if p.returncode != 0:
        raise AssertionError(f"{argv[0]} failed: {p.stderr}")
    return p


def shipped_stack(module, config, tally):
    """examples/pam.d/zendesk-sso with this build's module, its config, a
    private faillock folder, and a lock threshold the samples never reach."""
    text = (SOURCE / "examples" / "pam.d" / "zendesk-sso").read_text()
    text = re.sub(r"^(\S+\s+\S+\s+)pam_zendesk\.so\b", rf"\g<1>{module} config={config}", text, flags=re.M)
    text = text.replace("dir=/run/zendesk-sso/faillock", f"dir={tally} deny=1000")
    assert text.count(str(module)) == 2 and text.count(f"dir={tally}") == 4, text
    return text


@unittest.skipUnless(IS_ROOT, "skipped: needs root to create local accounts, a PAM service in /etc/pam.d "
                               "and a broker reading /etc/shadow (CI runs as root)")
class FailureDelay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        remove_leftovers()
        tag = f"{PREFIX}{os.getpid()}"
        cls.user, cls.system_user, cls.service = f"{tag}-u", f"{tag}-s", tag
        cls.service_path = Path("/etc/pam.d") / cls.service
        cls.dir = Path(tempfile.mkdtemp(prefix="zsso-fd-", dir=work_root()))
        cls.procs = []
        cls.apache = None
        cls.done = False
        atexit.register(cls.cleanup)

        def interrupted(*_):
            cls.cleanup()
            os._exit(1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, interrupted)
        try:
            cls.build()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def build(cls):
        os.chmod(cls.dir, 0o755)   # Apache's user reaches the socket, config and key in here
        run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Delay Tester", cls.user])
        run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", cls.system_user])
        run(["chpasswd"], stdin=f"{cls.user}:{PASSWORD}\n{cls.system_user}:{PASSWORD}\n")
        module = wire.stage(MODULE, cls.dir / "lib")
        authd = wire.stage(AUTHD, cls.dir / "bin")
        tally = cls.dir / "faillock"
        tally.mkdir(mode=0o700)

        web = apache_user()
        web_user, web_group = web if web else (pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name)
        secret = cls.dir / "secret"
        secret.write_text(SECRET + "\n")
        os.chmod(secret, 0o600)
        cls.socket = cls.dir / "authd.sock"
        config = cls.dir / "config.json"
        config.write_text(json.dumps({
            "zendesk": {"subdomain": "acme", "secret_file": str(secret)},
            "network": {"ip_ranges": ["127.0.0.0/8"]},
            "access": {"min_uid": 1000},
            "claims": {"email": "{user}@example.test", "name": "{gecos}"},
            "pam": {"service": cls.service},
            "broker": {"socket": str(cls.socket), "allowed_peers": [web_user]},
        }))
        os.chmod(config, 0o644)
        cls.service_path.write_text(shipped_stack(module, config, tally))

        cls.broker_log = cls.dir / "authd.log"
        cls.log = open(cls.broker_log, "w")
        cls.procs.append(subprocess.Popen(
            [authd, "--config", str(config), "--listen", str(cls.socket), "--log-stderr"],
            stdout=cls.log, stderr=cls.log, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
            preexec_fn=wire.die_with_parent))
        end = time.monotonic() + WAIT
        while "listening on" not in cls.broker_log.read_text():
            if cls.procs[0].poll() is not None or time.monotonic() > end:
                raise AssertionError("broker did not start: " + cls.broker_log.read_text())
            time.sleep(0.02)

        cgi = BUILD / "helper" / "cgi" / "zendesk-sso.cgi"
        cls.apache = Apache(cls.dir / "httpd", {"/zendesk": cgi},
                            env={"ZENDESK_SSO_CONFIG": str(config), "ZENDESK_SSO_LOG_STDERR": "1"})
        cls.apache.start()
        cls.login_url = cls.apache.base_url + "/zendesk/login"

    @classmethod
    def cleanup(cls):
        if cls.done:
            return
        cls.done = True
        if cls.apache:
            cls.apache.stop()
        for p in cls.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(WAIT)
        if getattr(cls, "log", None):
            cls.log.close()
        for u in (cls.user, cls.system_user):
            subprocess.run(["userdel", u], capture_output=True)
        cls.service_path.unlink(missing_ok=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    def post(self, user, password):
        """One sign-in through the form; returns (response, seconds the POST took)."""
        form = fetch("GET", self.login_url)
        self.assertEqual(form.status, 200, form.body)
        name, morsel = next(iter(form.cookies().items()))
        fields = hidden_fields(form.body)
        fields.update({"user": user, "password": password})
        start = time.monotonic()
        r = fetch("POST", self.login_url, body=fields, headers={"Cookie": f"{name}={morsel.value}"})
        return r, time.monotonic() - start

    def test_refusals_take_the_same_time(self):
        # The control: the eligible account with its password signs in, so
        # the three refusals below are the stack's answers, not a broken setup.
        ok, _ = self.post(self.user, PASSWORD)
        self.assertEqual(ok.status, 200, ok.body + self.apache.error_log()[-2000:] + self.broker_log.read_text())
        self.assertIn("jwt", ok.body)

        kinds = {"unknown user": (f"{PREFIX}{os.getpid()}-x", PASSWORD, True),
                 "policy-refused system account": (self.system_user, PASSWORD, True),
                 "eligible account, wrong password": (self.user, "not-" + PASSWORD, True),
                 "expired account, right password": (self.user, PASSWORD, False)}
        report = []
        for kind, (user, password, pam_delay) in kinds.items():
            expired = kind.startswith("expired")
            if expired:
                run(["chage", "-E", "0", self.user])
            try:
                r, seconds = self.post(user, password)
            finally:
                if expired:
                    run(["chage", "-E", "-1", self.user])
            report.append(f"{kind}: {seconds * 1000:.0f} ms")
            self.assertEqual(r.status, 401, f"{kind}: {r.body}")
            self.assertIn("The user name or password is incorrect.", r.body)
            rid = re.search(r"Request id: <code>([A-Za-z0-9_-]+)</code>", r.body).group(1)
            skipped = r"; libpam's failure delay \(\d+ ms\) skipped" if pam_delay else ""
            self.assertRegex(self.broker_log.read_text(), rf'request "{rid}": [^\n]*: bad_login \([^\n]*\)'
                                                          rf'{skipped}{PACED}', kind)
        print(", ".join(report))   # for the reader; not a pass rule


if __name__ == "__main__":
    unittest.main()
