#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Local /etc/shadow accounts through the real pam_unix, the reason the broker
exists. Runs only as root (CI): creates a throwaway user with a known
password, a broker system user, and a PAM service in /etc/pam.d, and removes
all of them afterwards, even when a test fails or the run is interrupted.

What it shows:
- direct mode (libpam inside a process running as nobody, like a CGI under
  www-data) cannot check the user's password;
- the broker, as root or as a dedicated user in group shadow (the systemd
  unit's setup), signs the same user in for a client running as nobody;
- the token's claims are the account's passwd entry.
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

import jwt  # python3-jwt: the independent JWT implementation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broker_wire as wire  # noqa: E402

AUTHD = os.environ["ZSSO_AUTHD"]
TOOL = os.environ["ZSSO_BROKER_TOOL"]
MODULE = os.environ["ZSSO_PAM_MODULE"]
CLI = os.environ["ZSSO_CLI"]
SOURCE = Path(os.environ["ZSSO_SOURCE_DIR"])
IS_ROOT = os.geteuid() == 0
WAIT = 60
PASSWORD = "c0rrect-Horse-battery"
SECRET = "Rl8kQ2wX9vT4mN7bJ3hF6dS1aG5yP0cE2uI8oV4nM7rT1kZq"
PREFIX = "zsso-rt-"        # zsso-rt-<pid>-u (sign-in user), zsso-rt-<pid>-b (broker user)
NAME = re.compile(r"^zsso-rt-(\d+)-[ub]$")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_leftovers():
    """Users and services of earlier runs that were killed before cleaning up."""
    for entry in pwd.getpwall():
        m = NAME.match(entry.pw_name)
        if m and not pid_alive(int(m.group(1))):
            subprocess.run(["userdel", entry.pw_name], capture_output=True)
    for path in Path("/etc/pam.d").glob(PREFIX + "*"):
        m = re.match(r"^zsso-rt-(\d+)$", path.name)
        if m and not pid_alive(int(m.group(1))):
            path.unlink(missing_ok=True)


class Machine:
    """The throwaway accounts and PAM service; undone by cleanup()."""

    def __init__(self):
        tag = f"{PREFIX}{os.getpid()}"
        self.user = f"{tag}-u"
        self.broker_user = f"{tag}-b"
        self.service = tag
        self.service_path = Path("/etc/pam.d") / self.service
        self.dir = Path(tempfile.mkdtemp(prefix="zsso-real-"))
        self.done = False

    def create(self):
        os.chmod(self.dir, 0o755)
        # A regular account (uid >= 1000) with a full GECOS field and a password.
        self.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                  "--comment", "Real Tester,Room 7,,", self.user])
        self.run(["chpasswd"], stdin=f"{self.user}:{PASSWORD}\n")
        self.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                  self.broker_user])
        # Programs and the module where every uid can read them (the build tree may not be).
        self.module = wire.stage(MODULE, self.dir)
        self.authd = wire.stage(AUTHD, self.dir)
        self.tool = wire.stage(TOOL, self.dir)

    def write_service(self, config):
        self.service_path.write_text(
            f"auth     requisite  {self.module} config={config}\n"
            "auth     required   pam_unix.so\n"
            "account  required   pam_unix.so\n"
            f"account  required   {self.module} config={config}\n")

    def cleanup(self):
        if self.done:
            return
        self.done = True
        for u in (self.user, self.broker_user):
            subprocess.run(["userdel", u], capture_output=True)
        self.service_path.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def run(argv, stdin=None):
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError(f"{argv[0]} failed: {p.stderr}")
        return p


@unittest.skipUnless(IS_ROOT, "skipped: needs root to create a local account, a PAM service "
                               "in /etc/pam.d and a broker user (CI runs as root)")
class RealLocalAccounts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        remove_leftovers()
        cls.m = Machine()
        cls.brokers = []
        # Removed however the run ends: normal exit, failure, SIGTERM/SIGINT/SIGHUP.
        atexit.register(cls.m.cleanup)

        def interrupted(*_):
            for proc in cls.brokers:
                proc.kill()
            cls.m.cleanup()
            os._exit(1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, interrupted)
        try:
            cls.m.create()
        except BaseException:
            cls.m.cleanup()
            raise
        cls.entry = pwd.getpwnam(cls.m.user)

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(dir=self.m.dir))
        os.chmod(self.dir, 0o755)
        self.socket = str(self.dir / "authd.sock")

    def write_config(self, secret_owner, secret_group=None):
        """Config (root-owned, readable by all) and a secret the broker's user can read."""
        secret = self.dir / "secret"
        secret.write_text(SECRET + "\n")
        os.chmod(secret, 0o640 if secret_group else 0o600)
        os.chown(secret, pwd.getpwnam(secret_owner).pw_uid,
                 grp.getgrnam(secret_group).gr_gid if secret_group else -1)
        config = self.dir / "config.json"
        config.write_text(json.dumps({
            "zendesk": {"subdomain": "acme", "secret_file": str(secret)},
            "network": {"ip_ranges": ["127.0.0.0/8"]},
            "access": {"min_uid": 1000},
            "claims": {"email": "{user}@example.test", "name": "{gecos}", "external_id": "{uid}"},
            "pam": {"service": self.m.service},
            "broker": {"socket": self.socket, "allowed_peers": ["nobody"]},
        }))
        os.chmod(config, 0o644)
        self.m.write_service(config)
        return str(config)

    def start_broker(self, config, prefix=(), extra=()):
        log_path = self.dir / "authd.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([*prefix, self.m.authd, "--config", config, "--listen", self.socket,
                                 "--log-stderr", *extra], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
                                preexec_fn=wire.die_with_parent)
        self.brokers.append(proc)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(WAIT)
            log.close()
        self.addCleanup(stop)
        end = time.monotonic() + WAIT
        while "listening on" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"broker did not start: {log_path.read_text()}")
            time.sleep(0.02)
        self.log_path = log_path
        return proc

    def login_as_nobody(self, config, password, direct=False, address="127.0.0.1"):
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                self.m.tool, "--config", config, "--user", self.m.user, "--address", address]
        if direct:
            argv.append("--direct")
        p = subprocess.run(argv, input=password + "\n", capture_output=True, text=True,
                           timeout=WAIT, env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def assert_claims_match_passwd(self, token):
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["iat", "jti"]})
        self.assertEqual(claims["email"], f"{self.entry.pw_name}@example.test")
        self.assertEqual(claims["name"], self.entry.pw_gecos.split(",")[0])
        self.assertEqual(claims["name"], "Real Tester")
        self.assertEqual(claims["external_id"], str(self.entry.pw_uid))

    def test_direct_mode_as_nobody_cannot_check_the_password(self):
        config = self.write_config("nobody")   # the secret is readable: only the password check can fail
        out = self.login_as_nobody(config, PASSWORD, direct=True)
        self.assertNotEqual(out["status"], "ok")
        self.assertEqual(out["token"], "")
        # pam_unix's unix_chkpwd refuses to check another user's password.
        self.assertEqual(out["status"], "unavailable", out)
        self.assertIn("pam_authenticate", out["detail"])

    def test_direct_mode_as_root_works(self):
        # The control: the same service and password succeed with privilege, so
        # the failure above is the missing privilege and nothing else.
        config = self.write_config("root")
        p = subprocess.run([self.m.tool, "--config", config, "--user", self.m.user, "--address",
                            "127.0.0.1", "--direct"], input=PASSWORD + "\n", capture_output=True,
                           text=True, timeout=WAIT)
        out = json.loads(p.stdout)
        self.assertEqual(out["status"], "ok", out)
        self.assert_claims_match_passwd(out["token"])

    def test_broker_as_root_signs_in_for_nobody(self):
        config = self.write_config("root")
        self.start_broker(config)
        # Default socket rights: 0660, group of the first allowed peer (nobody -> nogroup).
        st = os.stat(self.socket)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.assertEqual(st.st_gid, grp.getgrnam("nogroup").gr_gid)
        out = self.login_as_nobody(config, PASSWORD)
        self.assertEqual(out["status"], "ok", out)
        self.assert_claims_match_passwd(out["token"])
        wrong = self.login_as_nobody(config, "not-the-password")
        self.assertEqual(wrong["status"], "bad_login", wrong)
        self.assertNotIn(PASSWORD, self.log_path.read_text())

    def test_broker_as_dedicated_user_in_group_shadow(self):
        # The systemd unit's setup: its own user, SupplementaryGroups=shadow.
        # A non-root broker cannot give its socket nobody's group, so it is
        # world-connectable here and SO_PEERCRED alone decides.
        config = self.write_config(self.m.broker_user)
        os.chown(self.dir, pwd.getpwnam(self.m.broker_user).pw_uid, -1)
        shadow = grp.getgrnam("shadow").gr_gid
        self.start_broker(config, prefix=["setpriv", "--pdeathsig", "TERM", "--no-new-privs", f"--reuid={self.m.broker_user}",
                                          f"--regid={self.m.broker_user}", f"--groups={shadow}",
                                          "--"],
                          extra=["--socket-mode", "0666", "--socket-group", self.m.broker_user])
        out = self.login_as_nobody(config, PASSWORD)
        self.assertEqual(out["status"], "ok", out)
        self.assert_claims_match_passwd(out["token"])
        self.assertEqual(self.login_as_nobody(config, "wrong")["status"], "bad_login")
        # A peer other than nobody (root here) is refused by the broker itself.
        resp = wire.exchange(self.socket, wire.request(self.m.user, PASSWORD, address="127.0.0.1"))
        self.assertEqual((resp["status"], resp["detail"]), ("unavailable", "peer_refused"))

    def test_the_units_command_under_socket_activation(self):
        # As zendesk-sso-authd.socket + zendesk-sso-authd.service run it: the
        # unit's ExecStart, the listening socket on fd 3 (Accept=no), the
        # broker's user with group shadow and no_new_privs, the secret
        # root:<broker> 0640, and conv/ and throttle/ made for it as RuntimeDirectory= does.
        units = Path(os.environ["ZSSO_SOURCE_DIR"]) / "examples" / "systemd"
        exec_start = re.search(r"^ExecStart=(.*)$", (units / "zendesk-sso-authd.service").read_text(),
                               re.M).group(1).split()
        for name in ("conv", "throttle"):
            state = Path(self.socket).parent / name
            state.mkdir(mode=0o700, exist_ok=True)
            os.chown(state, pwd.getpwnam(self.m.broker_user).pw_uid, grp.getgrnam(self.m.broker_user).gr_gid)
        config = self.write_config("root", secret_group=self.m.broker_user)
        self.assertEqual(exec_start[:3], ["/usr/sbin/zendesk-sso-authd", "--config",
                                          "/etc/zendesk-sso/config.json"])
        command = [self.m.authd, "--config", config, *exec_start[3:]]
        shadow = grp.getgrnam("shadow").gr_gid
        proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", self.socket,
             "setpriv", "--no-new-privs", f"--reuid={self.m.broker_user}",
             f"--regid={self.m.broker_user}", f"--groups={shadow}", "--", *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=wire.die_with_parent)
        self.brokers.append(proc)

        def stop():
            proc.terminate()
            proc.wait(WAIT)
        self.addCleanup(stop)
        end = time.monotonic() + WAIT
        while not os.path.exists(self.socket):
            self.assertLess(time.monotonic(), end, "no socket from systemd-socket-activate")
            time.sleep(0.02)
        # SocketGroup/SocketMode of the .socket unit, with nobody's group for www-data's.
        os.chown(self.socket, -1, grp.getgrnam("nogroup").gr_gid)
        os.chmod(self.socket, 0o660)
        out = self.login_as_nobody(config, PASSWORD)
        self.assertEqual(out["status"], "ok", out)
        self.assert_claims_match_passwd(out["token"])
        self.assertEqual(self.login_as_nobody(config, "wrong")["status"], "bad_login")

    def test_shipped_stack_one_address_cannot_lock_the_account(self):
        # Issue 22.5: examples/pam.d/zendesk-sso itself (this build's module,
        # its config, the faillock folder beside the socket), the broker's
        # default throttle, a real account. With deny=3 (Debian's default)
        # five wrong guesses from 127.0.0.2 locked the account at 127.0.0.1.
        config = self.write_config("root")
        faillock = self.dir / "faillock"
        faillock.mkdir(mode=0o700)
        text = (SOURCE / "examples" / "pam.d" / "zendesk-sso").read_text()
        text = re.sub(r"^(\S+\s+\S+\s+)pam_zendesk\.so\b", rf"\g<1>{self.m.module} config={config}", text,
                      flags=re.M)
        text = text.replace("dir=/run/zendesk-sso/faillock", f"dir={faillock}")
        self.assertEqual(text.count(f"dir={faillock}"), 4, text)
        self.m.service_path.write_text(text)
        self.start_broker(config)
        attacker, owner = "127.0.0.2", "127.0.0.1"
        for _ in range(12):
            self.assertEqual(self.login_as_nobody(config, "a wrong guess", address=attacker)["status"], "bad_login")
        throttled = self.log_path.read_text().count("throttled: too many failed sign-ins of this account")
        self.assertEqual(throttled, 7, "5 reached PAM, the rest were refused by the broker")
        records = [l for l in subprocess.run(["faillock", "--dir", str(faillock), "--user", self.m.user],
                                             capture_output=True, text=True, timeout=WAIT).stdout.splitlines()
                   if re.search(r"\sV$", l)]
        self.assertEqual(len(records), 5, records)
        # zendesk-sso unlock against this broker's store: the attacker's
        # address is lifted, and pam_faillock's count is described, not touched.
        p = subprocess.run([CLI, "--config", config, "unlock", self.m.user, "--from", attacker],
                           capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rf"lifted {self.m.user}: 127\.0\.0\.2 \(banned, \d+ s left\)")
        self.assertIn(f"pam_faillock ({faillock}, from {self.m.service_path}): 5 failures of {self.m.user} "
                      f"recorded, the last from \"127.0.0.2\" at ", p.stdout)
        self.assertIn("(it locks the account at deny=30)", p.stdout)
        self.assertIn(f"reset it with: faillock --dir {faillock} --user {self.m.user} --reset", p.stdout)
        # The owner, from their own address, was never locked out; nor is the
        # attacker's address now (5 more would ban it again).
        out = self.login_as_nobody(config, PASSWORD, address=owner)
        self.assertEqual(out["status"], "ok", out)
        self.assert_claims_match_passwd(out["token"])
        self.assertEqual(self.login_as_nobody(config, PASSWORD, address=attacker)["status"], "ok")

    def test_the_shipped_stacks_give_faillock_one_ceiling(self):
        # Both shipped stacks: the same deny= on every pam_faillock auth line,
        # far above the broker's per-address ban (broker.max_failures, 5).
        for name in ("zendesk-sso", "zendesk-sso-otp"):
            lines = [l for l in (SOURCE / "examples" / "pam.d" / name).read_text().splitlines()
                     if re.match(r"auth\s.*pam_faillock\.so", l)]
            self.assertTrue(lines, name)
            self.assertEqual({re.search(r"\bdeny=(\d+)", l).group(1) if "deny=" in l else None
                              for l in lines}, {"30"}, name)

    def test_broker_user_without_group_shadow_cannot(self):
        config = self.write_config(self.m.broker_user)
        os.chown(self.dir, pwd.getpwnam(self.m.broker_user).pw_uid, -1)
        self.start_broker(config, prefix=["setpriv", "--pdeathsig", "TERM", "--no-new-privs", f"--reuid={self.m.broker_user}",
                                          f"--regid={self.m.broker_user}", "--clear-groups", "--"],
                          extra=["--socket-mode", "0666", "--socket-group", self.m.broker_user])
        out = self.login_as_nobody(config, PASSWORD)
        self.assertEqual(out["status"], "unavailable", out)


if __name__ == "__main__":
    unittest.main()
