#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso-authd under --listen (and under systemd-socket-activate) in a
pam_wrapper/pam_matrix/nss_wrapper sandbox: real libpam, real pam_zendesk.so,
tokens checked with PyJWT. Peer checks that need another uid run only as root
(CI is root) and say so when skipped."""

import concurrent.futures
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import jwt  # python3-jwt: the independent JWT implementation

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "pam"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pam_sandbox import DEFAULT_SECRET, PamSandbox  # noqa: E402
import broker_wire as wire  # noqa: E402

AUTHD = os.environ["ZSSO_AUTHD"]
TOOL = os.environ["ZSSO_BROKER_TOOL"]
CLI = os.environ.get("ZSSO_CLI", "")   # the unlock tests need it; suites importing World do not
NSS_CASEFOLD = os.environ.get("ZSSO_NSS_CASEFOLD", "")   # the spelling tests need it; suites importing World do not
MODULE = os.environ["ZSSO_PAM_MODULE"]
IS_ROOT = os.geteuid() == 0
NOBODY_UID = NOGROUP_GID = 65534
WAIT = 60  # seconds any single wait may take before the test calls it a hang


def connectable(path):
    """The socket exists and listens (it exists a moment before it listens)."""
    try:
        with wire.connect(path, timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, what):
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


class World:
    """A sandbox with users, a PAM service, a config and a running broker."""

    def __init__(self, test, config_extra=None, allowed_peers=None, broker_args=(),
                 system_pam=False, extra_env=None):
        root = tempfile.mkdtemp(prefix="zsso-broker-", dir=wire.work_root())
        test.addCleanup(shutil.rmtree, root, True)
        # The programs and the module live in the sandbox: a broker with a
        # private /tmp must still find them, and so must a client run as nobody.
        self.authd = wire.stage(AUTHD, Path(root) / "bin")
        self.tool = wire.stage(TOOL, Path(root) / "bin")
        self.sb = PamSandbox(module=wire.stage(MODULE, Path(root) / "lib"), root=root)
        os.chmod(self.sb.dir, 0o755)  # peers running as nobody must reach the socket
        me = os.geteuid()
        my_name = "root" if me == 0 else f"runner{me}"
        # The test runner itself (the allowed peer), nobody, and sign-in users.
        self.sb.add_user(my_name, me, gid=os.getegid(), gecos="Test runner")
        self.sb.add_group(my_name if me else "root", os.getegid())
        self.sb.add_group("nogroup", NOGROUP_GID)
        self.sb.add_user("nobody", NOBODY_UID, gid=NOGROUP_GID, gecos="nobody")
        self.sb.add_group("brokerclients", 5100, members=["nobody"])
        self.sb.add_user("alice", 1001, gecos="Alice Liddell", password="wonderland",
                         groups=["staff"])
        self.sb.add_user("mallory", 1002, gecos="Mallory", password="evil", groups=["zd-denied"])
        self.sb.write_secret()
        self.allowed_peers = allowed_peers if allowed_peers is not None else [my_name]
        self.socket = str(self.sb.dir / "authd.sock")
        config = {
            "zendesk": {"subdomain": "acme", "secret_file": str(self.sb.secret_path)},
            "network": {"ip_ranges": ["10.0.0.0/8", "127.0.0.0/8"]},
            "access": {"min_uid": 1000, "denied_groups": ["zd-denied"]},
            "claims": {"email": "{user}@acme.test", "name": "{gecos}", "external_id": "{uid}"},
            "pam": {"service": "zendesk-sso"},
            # Throttling is off unless a test is about it (class Throttling):
            # many suites here send wrong passwords for alice from one address.
            # So is the failure deadline (2 s per refusal by default): its own
            # tests (RefusalDeadline, FailDelay) configure it.
            "broker": {"socket": self.socket, "allowed_peers": self.allowed_peers, "max_failures": 0,
                       "failure_delay_ms": 0},
            "profiles": {"agents": {"pam": {"service": "zendesk-sso-agents"},
                                    "access": {"allowed_groups": ["staff"]}}},
        }
        for key, value in (config_extra or {}).items():
            config.setdefault(key, {}).update(value)
        self.sb.write_config(config)
        # The shipped shape: the policy gate first in auth, so refusals look like bad logins.
        self.sb.write_service("zendesk-sso", self.sb.standard_stack())
        # The agents' service leaves the policy to account (pam_zendesk stays in auth,
        # optional, for setcred): its refusals come after a correct password, and
        # look like a wrong one (issue 22, point 4).
        self.sb.write_service("zendesk-sso-agents",
                              "auth     required   {matrix} passdb={passdb}\n"
                              "auth     optional   {module} config={config} profile=agents\n"
                              "account  required   {module} config={config} profile=agents\n")
        self.system_pam = system_pam
        if system_pam:
            # Real libpam, no pam_wrapper: the service file goes to /etc/pam.d
            # under a unique name and is removed afterwards.
            service = f"zsso-broker-test-{os.getpid()}-{id(self)}"
            path = Path("/etc/pam.d") / service
            path.write_text((self.sb.service_dir / "zendesk-sso").read_text())
            test.addCleanup(path.unlink)
            config["pam"]["service"] = service
            self.sb.write_config(config)
        self.log_path = self.sb.dir / "authd.log"
        self.proc = None
        self.broker_args = list(broker_args)
        self.extra_env = dict(extra_env or {})

    def start(self, *extra):
        self.log = open(self.log_path, "w")
        argv = [self.authd, "--config", str(self.sb.config_path), "--listen", self.socket,
                "--log-stderr", "--io-timeout", "2", *self.broker_args, *extra]
        self.proc = subprocess.Popen(self.isolated(argv), env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     preexec_fn=wire.die_with_parent)
        wait_for(lambda: "listening on" in self.log_text() or self.proc.poll() is not None,
                 "the broker's socket")
        if self.proc.poll() is not None:
            raise AssertionError(f"broker exited {self.proc.returncode}: {self.log_text()}")
        return self

    def isolated(self, argv):
        return argv if self.system_pam else wire.with_private_tmp(argv, self.sb.dir / "tmp")

    def env(self):
        env = self.sb.env(self.extra_env)
        if self.system_pam:
            env["LD_PRELOAD"] = "libnss_wrapper.so"
        return env

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(WAIT)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def login(self, user, password, *extra, as_nobody=False, groups=None):
        """One sign_in() through the C++ client, as the test runner or as nobody."""
        if "--address" not in extra:
            extra = ("--address", "10.1.2.3", *extra)
        argv = [self.tool, "--config", str(self.sb.config_path), "--user", user, *extra]
        env = {"PATH": "/usr/bin:/bin"}
        if as_nobody:
            groups_arg = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
            argv = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOGROUP_GID}", *groups_arg,
                    "--"] + argv
        p = subprocess.run(argv, input=password + "\n", capture_output=True, text=True,
                           env=env, timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError(f"client failed ({p.returncode}): {p.stderr}")
        return json.loads(p.stdout)

    def ping(self, as_nobody=False):
        """broker_ping() through the C++ client, as the test runner or as nobody."""
        argv = [self.tool, "--config", str(self.sb.config_path), "--ping"]
        if as_nobody:
            argv = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOGROUP_GID}", "--clear-groups",
                    "--"] + argv
        p = subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                           timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError(f"client failed ({p.returncode}): {p.stderr}")
        return json.loads(p.stdout)

    def claims(self, token):
        return jwt.decode(token, DEFAULT_SECRET, algorithms=["HS256"],
                          options={"require": ["iat", "jti"]})


class Login(unittest.TestCase):
    def setUp(self):
        self.w = World(self).start()
        self.addCleanup(self.w.stop)

    def test_success_token_verified_by_pyjwt(self):
        out = self.w.login("alice", "wonderland", "--address", "10.9.8.7", "--request-id", "rid-ok-1")
        self.assertEqual(out["status"], "ok", out)
        header = jwt.get_unverified_header(out["token"])
        self.assertEqual(header, {"typ": "JWT", "alg": "HS256"})
        claims = self.w.claims(out["token"])
        self.assertEqual(claims["email"], "alice@acme.test")
        self.assertEqual(claims["name"], "Alice Liddell")
        self.assertEqual(claims["external_id"], "1001")
        self.assertLessEqual(abs(claims["iat"] - time.time()), 180)
        log = self.w.log_text()
        self.assertIn("request \"rid-ok-1\": user \"alice\" from 10.9.8.7: ok", log)
        self.assertNotIn("wonderland", log)

    def test_independent_client_gets_the_same_answer(self):
        resp = wire.exchange(self.w.socket, wire.request("alice", "wonderland"))
        self.assertEqual((resp["status"], resp["detail"]), ("ok", "none"))
        self.assertEqual(self.w.claims(resp["token"])["email"], "alice@acme.test")
        self.assertTrue(resp["closed_after"], "one request per connection")

    def test_wrong_password_and_unknown_user_look_the_same(self):
        wrong = self.w.login("alice", "not-it")
        unknown = self.w.login("nosuchuser", "wonderland")
        for out in (wrong, unknown):
            self.assertEqual(out["status"], "bad_login", out)
            self.assertEqual(out["token"], "")
            # The same outcome; only the cause for the CGI's log line differs.
            self.assertTrue(out["detail"].startswith("broker: bad_login (PAM): \"PAM service zendesk-sso: "
                                                     "pam_authenticate: "), out)

    def test_unknown_user_is_logged_only_by_its_length(self):
        # A password typed as the user name must not reach the log (issue 14, point 5).
        self.assertEqual(self.w.login("Tr0ub4dor&3-horse", "x")["status"], "bad_login")
        log = self.w.log_text()
        self.assertIn("user unknown(17 bytes) from 10.1.2.3: bad_login", log)
        self.assertNotIn("Tr0ub4dor", log)

    def test_request_id_is_quoted_like_every_logged_field(self):
        # Line/paragraph separators, NEL and bidi controls are escaped (issue 14, point 8).
        odd = ["\u2028", "\u2029", "\u0085", "\u202e", "\u2066", "\u200f", "\u061c"]
        resp = wire.exchange(self.w.socket, wire.request("alice", "wonderland", request_id="r" + "".join(odd) + "x"))
        self.assertEqual(resp["status"], "ok", resp)
        log = self.w.log_text()
        for ch in odd:
            self.assertNotIn(ch, log)
        self.assertIn('request "r\\xe2\\x80\\xa8\\xe2\\x80\\xa9\\xc2\\x85', log)

    def test_policy_gate_in_auth_refuses_like_a_bad_login(self):
        self.assertEqual(self.w.login("mallory", "evil")["status"], "bad_login")
        self.assertEqual(self.w.login("alice", "wonderland", "--address", "192.0.2.1")["status"],
                         "bad_login")

    def test_account_refusal_after_a_correct_password_looks_like_a_bad_login(self):
        # Issue 22, point 4: "not allowed" here would confirm mallory's password.
        out = self.w.login("mallory", "evil", "--profile", "agents", "--request-id", "rid-acct")
        self.assertEqual(out["status"], "bad_login", out)
        self.assertEqual(out["token"], "")
        # The log keeps the real reason.
        self.assertRegex(self.w.log_text(), r'request "rid-acct": user "mallory" from 10\.1\.2\.3 profile agents: '
                                            r'bad_login \(refused after a correct password \(answered as a bad login\): '
                                            r'PAM service zendesk-sso-agents: pam_acct_mgmt')

    def test_profile_uses_the_profiles_pam_service(self):
        out = self.w.login("alice", "wonderland", "--profile", "agents")
        self.assertEqual(out["status"], "ok", out)
        self.assertIn("profile agents: ok", self.w.log_text())

    def test_unknown_profile_is_refused_by_the_broker(self):
        resp = wire.exchange(self.w.socket, wire.request("alice", "wonderland", profile="nope"))
        self.assertEqual((resp["status"], resp["detail"]), ("error", "unknown_profile"))

    def test_remote_user_mode_needs_the_brokers_own_consent(self):
        resp = wire.exchange(self.w.socket, wire.request("alice", "", remote_user=True))
        self.assertEqual((resp["status"], resp["detail"]), ("error", "remote_user_disabled"))
        self.assertIn("helper.trust_remote_user is off", self.w.log_text())

    def test_remote_user_mode_when_trusted(self):
        w = World(self, config_extra={"helper": {"trust_remote_user": True}})
        w.start()
        self.addCleanup(w.stop)
        out = w.login("alice", "", "--remote-user")
        self.assertEqual(out["status"], "ok", out)
        self.assertEqual(w.claims(out["token"])["email"], "alice@acme.test")


class Ping(unittest.TestCase):
    def test_ping_is_answered_without_pam(self):
        w = World(self).start()
        self.addCleanup(w.stop)
        self.assertEqual(w.ping(), {"status": "ok", "detail": ""})
        wait_for(lambda: "ping: ok" in w.log_text(), "the ping in the broker's log")
        # No PAM transaction: pam_matrix and pam_zendesk log nothing, no user line.
        self.assertNotIn('user "', w.log_text())
        self.assertNotIn("pam_zendesk", w.log_text())
        self.assertNotIn("pam_matrix", w.log_text())

    def test_ping_when_the_broker_is_down(self):
        w = World(self)
        out = w.ping()
        self.assertEqual(out["status"], "error")
        self.assertIn("connect: No such file or directory", out["detail"])

    def test_ping_when_the_broker_cannot_load_its_config(self):
        w = World(self).start()
        self.addCleanup(w.stop)
        # The client keeps a good copy; the broker reads its own per connection.
        client_config = w.sb.dir / "client.json"
        client_config.write_text(w.sb.config_path.read_text())
        w.sb.config_path.write_text(w.sb.config_path.read_text().replace("{", '{"bogus": 1, ', 1))
        p = subprocess.run([w.tool, "--config", str(client_config), "--ping"], capture_output=True,
                           text=True, env={"PATH": "/usr/bin:/bin"}, timeout=WAIT)
        out = json.loads(p.stdout)
        self.assertEqual(out["status"], "error")
        self.assertIn("broker cannot load its configuration", out["detail"])

    def test_ping_when_the_broker_cannot_use_the_secret(self):
        # Issue 25.7: the ping that decides whether the form is shown finds
        # a secret no token could be signed with, and says why.
        w = World(self).start()
        self.addCleanup(w.stop)
        secret = w.sb.secret_path
        mode = os.stat(secret).st_mode
        os.chmod(secret, 0o644)   # world-readable: refused
        try:
            out = w.ping()
        finally:
            os.chmod(secret, mode)
        self.assertEqual(out["status"], "error")
        self.assertIn("broker cannot load its configuration", out["detail"])
        self.assertIn("zendesk.secret_file", out["detail"])
        self.assertIn("world-readable", out["detail"])
        self.assertEqual(w.ping(), {"status": "ok", "detail": ""})

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_ping_from_a_peer_not_allowed_is_refused(self):
        w = World(self, broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w.stop)
        out = w.ping(as_nobody=True)
        self.assertEqual(out["status"], "error")
        self.assertIn("peer not in broker.allowed_peers", out["detail"])


class Peers(unittest.TestCase):
    def test_socket_gets_0660_and_the_first_peers_primary_group(self):
        w = World(self).start()
        self.addCleanup(w.stop)
        st = os.stat(w.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, os.getegid())

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_socket_group_from_an_at_group_entry(self):
        w = World(self, allowed_peers=["@brokerclients", "root"]).start()
        self.addCleanup(w.stop)
        self.assertEqual(os.stat(w.socket).st_gid, 5100)

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_peer_not_in_allowed_peers_is_refused_and_logged(self):
        # Mode 0666 so the file system lets nobody in: the refusal must be the broker's own.
        w = World(self, broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w.stop)
        out = w.login("alice", "wonderland", as_nobody=True)
        self.assertEqual(out["status"], "unavailable", out)
        self.assertEqual(out["token"], "")
        self.assertIn("peer not in broker.allowed_peers", out["detail"])
        wait_for(lambda: "refused: peer is not in broker.allowed_peers (uid 65534 gid 65534"
                 in w.log_text(), "the refusal in the broker's log")
        self.assertNotIn("alice", w.log_text(), "a refused peer's request is never read")
        # The file system's own guard: with the default 0660, nobody cannot even connect.
        w2 = World(self).start()
        self.addCleanup(w2.stop)
        out = w2.login("alice", "wonderland", as_nobody=True)
        self.assertEqual(out["status"], "unavailable")
        self.assertIn("Permission denied", out["detail"])

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_peer_allowed_by_user_name(self):
        w = World(self, allowed_peers=["root", "nobody"], broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w.stop)
        out = w.login("alice", "wonderland", as_nobody=True)
        self.assertEqual(out["status"], "ok", out)

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_peer_allowed_by_group_membership(self):
        # nobody's process gid is nogroup; brokerclients counts through NSS membership.
        w = World(self, allowed_peers=["root", "@brokerclients"],
                  broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w.stop)
        out = w.login("alice", "wonderland", as_nobody=True)
        self.assertEqual(out["status"], "ok", out)
        # A group the peer is not in lets nothing through.
        w2 = World(self, allowed_peers=["root", "@staff"], broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w2.stop)
        self.assertEqual(w2.login("alice", "wonderland", as_nobody=True)["status"], "unavailable")

    @unittest.skipUnless(IS_ROOT, "needs root to run a client as another uid (CI runs as root)")
    def test_peer_allowed_by_process_gid(self):
        w = World(self, allowed_peers=["root", "@nogroup"], broker_args=["--socket-mode", "0666"]).start()
        self.addCleanup(w.stop)
        self.assertEqual(w.login("alice", "wonderland", as_nobody=True)["status"], "ok")


class Protocol(unittest.TestCase):
    def setUp(self):
        self.w = World(self).start()
        self.addCleanup(self.w.stop)

    def assert_refused(self, data, detail, half_close=False):
        resp = wire.exchange(self.w.socket, data, half_close=half_close)
        self.assertEqual((resp["status"], resp["detail"]), ("error", detail), data[:64])
        self.assertIsNone(resp["token"])
        self.assertTrue(resp["closed_after"])

    def assert_still_serving(self):
        resp = wire.exchange(self.w.socket, wire.request("alice", "wonderland"))
        self.assertEqual(resp["status"], "ok", "the broker stopped serving")
        self.assertIsNone(self.w.proc.poll())

    def test_oversized_frame_is_refused_unread(self):
        self.assert_refused(wire.MAGIC + (1 << 20).to_bytes(4, "big"), "too_large")
        self.assert_refused(wire.MAGIC + (0xFFFFFFFF).to_bytes(4, "big"), "too_large")
        # Announced within the limit but one byte over it.
        body = wire.request_body("alice", "wonderland")
        body += b"\x00" * (wire.MAX_REQUEST - 8 - len(body) + 1)
        self.assert_refused(wire.frame(body), "too_large")
        self.assert_still_serving()

    def test_oversized_fields(self):
        self.assert_refused(wire.request("a" * 257, "pw"), "too_large")
        self.assert_refused(wire.request("alice", "p" * 1025), "too_large")
        self.assert_refused(wire.request("alice", "pw", address="1" * 65), "too_large")
        self.assert_refused(wire.request("alice", "pw", profile="p" * 65), "too_large")
        self.assert_refused(wire.request("alice", "pw", request_id="r" * 65), "too_large")
        # At the limits exactly: a well-formed request (an unknown user, so a failed login).
        resp = wire.exchange(self.w.socket, wire.request("a" * 256, "p" * 1024))
        self.assertEqual(resp["status"], "bad_login")
        self.assert_still_serving()

    def test_truncated_messages(self):
        full = wire.request("alice", "wonderland")
        for cut in (3, 7, 8, 12, len(full) - 1):
            with self.subTest(cut=cut):
                self.assert_refused(full[:cut], "malformed", half_close=True)
        self.assert_still_serving()

    def test_malformed_requests(self):
        f = wire.field
        cases = {
            "bad magic": b"GET / HTTP/1.0\r\n\r\n",
            "old version": b"ZSB0" + wire.request("alice", "pw")[4:],
            "empty body": wire.frame(b""),
            "missing password": wire.frame(f(1, "alice") + f(3, "10.1.2.3") + f(6, b"\0")),
            "missing flags": wire.frame(f(1, "alice") + f(2, "pw") + f(3, "10.1.2.3")),
            "duplicate user": wire.frame(wire.request_body("alice", "pw") + f(1, "bob")),
            "unknown field": wire.frame(wire.request_body("alice", "pw") + f(9, "x")),
            "field past the end": wire.frame(wire.request_body("alice", "pw") + b"\x05\x00\x10ab"),
            "empty user": wire.request("", "pw"),
            "NUL in password": wire.request("alice", "pw\0extra"),
            "control char in user": wire.request("al\nice", "pw"),
            "invalid UTF-8 user": wire.request(b"al\xffice", "pw"),
            "unknown flag": wire.frame(f(1, "alice") + f(2, "pw") + f(3, "10.1.2.3") + f(6, b"\x02")),
            "password in REMOTE_USER mode": wire.request("alice", "pw", remote_user=True),
            "address not an IP": wire.request("alice", "pw", address="evil.example"),
        }
        for name, data in cases.items():
            with self.subTest(name):
                self.assert_refused(data, "malformed", half_close=True)
        self.assertIn("protocol error", self.w.log_text())
        self.assert_still_serving()

    def test_random_bytes_never_crash_or_hang_the_broker(self):
        rng = random.Random(20240601)
        valid = wire.request("alice", "wonderland")
        for i in range(150):
            if i % 2:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            else:  # mutate a valid request, keeping the magic so the decoder is reached
                data = bytearray(valid)
                for _ in range(rng.randrange(1, 6)):
                    data[rng.randrange(4, len(data))] = rng.randrange(256)
                data = bytes(data)
            resp = wire.exchange(self.w.socket, data, half_close=True)
            self.assertIn(resp["status"], wire.STATUS)  # answered, whatever it says
        self.assert_still_serving()
        self.assertNotIn("ended by signal", self.w.log_text())

    def test_slow_client_hits_the_timeout(self):
        full = wire.request("alice", "wonderland")
        with wire.connect(self.w.socket) as s:
            s.sendall(full[:10])  # then nothing: the connection stays open
            resp = wire.read_response(s)
        self.assertEqual((resp["status"], resp["detail"]), ("error", "timeout"))
        self.assertIn("no complete request within 2 s", self.w.log_text())
        # A client that connects and never sends a byte.
        with wire.connect(self.w.socket) as s:
            resp = wire.read_response(s)
        self.assertEqual(resp["detail"], "timeout")
        self.assert_still_serving()

    def test_only_one_request_per_connection(self):
        two = wire.request("alice", "wonderland") + wire.request("alice", "wonderland")
        with wire.connect(self.w.socket) as s:
            s.sendall(two)
            first = wire.read_response(s)
            self.assertEqual(first["status"], "ok")
            self.assertEqual(s.recv(1), b"", "a second answer on the same connection")

    def test_client_that_leaves_early_does_not_hurt(self):
        for _ in range(5):
            with wire.connect(self.w.socket) as s:
                s.sendall(wire.request("alice", "wonderland")[:20])
        self.assert_still_serving()


def casefold_env(w):
    """nss_wrapper with tests/broker/nss_casefold.c after its files: getpwnam
    finds the sandbox's accounts whatever the case of the name, and answers
    with the entry's own spelling (as SSSD with AD does)."""
    return {"NSS_WRAPPER_MODULE_SO_PATH": NSS_CASEFOLD, "NSS_WRAPPER_MODULE_FN_PREFIX": "zssocase",
            "ZSSO_CASEFOLD_PASSWD": str(w.sb.passwd_path)}


def throttling_world(test, broker=None, extra_env=None, ranges=None):
    config = {"broker": {"max_failures": 3, "failure_window": 600, "ban_seconds": 60,
                         "max_failures_per_address": 6, **(broker or {})}}
    if ranges:
        config["network"] = {"ip_ranges": ranges}
    w = World(test, config_extra=config, extra_env=extra_env)
    w.extra_env.update(casefold_env(w))
    w.start()
    test.addCleanup(w.stop)
    return w


def tallies(w):
    """The tally files' contents, by file name."""
    folder = w.sb.dir / "throttle"
    return {p.name: p.read_text() for p in folder.iterdir()}


class Throttling(unittest.TestCase):
    """Issue 14.2: guessing from one address is throttled per (account,
    address); the account's owner at another address still signs in, so one
    script cannot keep a colleague out of Zendesk. Issue 22.2 and 22.9: a
    spray of names from one address bans the address, an IPv6 /64 is one
    address, and every spelling of one account shares its tallies."""

    def setUp(self):
        self.w = throttling_world(self, ranges=["10.0.0.0/8", "127.0.0.0/8", "2001:db8::/32"])

    def test_attackers_address_is_throttled_while_the_victim_signs_in(self):
        attacker, victim = "10.66.6.6", "10.1.2.3"
        for _ in range(3):
            self.assertEqual(self.w.login("alice", "guess", "--address", attacker)["status"], "bad_login")
        # Banned now: even the right password from the attacker's address fails, without PAM.
        banned = self.w.login("alice", "wonderland", "--address", attacker, "--request-id", "rid-banned")
        self.assertEqual(banned["status"], "bad_login", banned)
        self.assertIn("throttled", banned["detail"])
        log = self.w.log_text()
        self.assertRegex(log, r'request "rid-banned": user "alice": bad_login \(throttled: too many failed '
                              r'sign-ins of this account from 10\.66\.6\.6')
        # The victim, from their own address, is not locked out.
        self.assertEqual(self.w.login("alice", "wonderland", "--address", victim)["status"], "ok")
        # Another account from the attacker's address is a different pair.
        self.assertEqual(self.w.login("mallory", "evil", "--address", attacker)["detail"].count("throttled"), 0)
        # The tallies' file names name no account.
        names = os.listdir(self.w.sb.dir / "throttle")
        self.assertTrue(names)
        self.assertFalse([n for n in names if "alice" in n])

    def test_success_clears_the_pairs_failures(self):
        addr = "10.7.7.7"
        for _ in range(2):
            self.w.login("alice", "guess", "--address", addr)
        self.assertEqual(self.w.login("alice", "wonderland", "--address", addr)["status"], "ok")
        for _ in range(2):
            self.w.login("alice", "guess", "--address", addr)
        self.assertEqual(self.w.login("alice", "wonderland", "--address", addr)["status"], "ok",
                         "2 + 2 failures with a success between never reach 3")

    def test_every_spelling_of_one_account_shares_its_tally(self):
        # Issue 22.9: where names are case-insensitive (the NSS stand-in here,
        # SSSD with AD in life), three spellings are three failures of alice.
        addr = "10.8.8.8"
        for spelling in ("ALICE", "Alice", "aLiCe"):
            self.assertEqual(self.w.login(spelling, "guess", "--address", addr)["status"], "bad_login")
        banned = self.w.login("alice", "wonderland", "--address", addr)
        self.assertEqual(banned["status"], "bad_login", banned)
        self.assertIn("too many failed sign-ins of this account", banned["detail"])
        self.assertEqual(self.w.login("alice", "wonderland", "--address", "10.1.2.3")["status"], "ok")

    def test_a_spray_of_names_bans_the_address(self):
        # Issue 22.2: made-up names, one failure each, from one address: after
        # broker.max_failures_per_address (6 here) the address is refused for
        # every account, the right password included; elsewhere nothing changes.
        sprayer = "10.55.5.5"
        for i in range(6):
            self.assertEqual(self.w.login(f"made-up-{i}", "x", "--address", sprayer)["status"], "bad_login")
        refused = self.w.login("alice", "wonderland", "--address", sprayer, "--request-id", "rid-spray")
        self.assertEqual(refused["status"], "bad_login", refused)
        self.assertRegex(self.w.log_text(), r'request "rid-spray": user "alice": bad_login \(throttled: too many '
                                            r'failed sign-ins from 10\.55\.5\.5, any account')
        self.assertEqual(self.w.login("alice", "wonderland", "--address", "10.1.2.3")["status"], "ok")

    def test_one_ipv6_64_is_one_address(self):
        for host in ("1", "2", "3"):
            self.w.login("alice", "guess", "--address", f"2001:db8:1:2::{host}")
        banned = self.w.login("alice", "wonderland", "--address", "2001:db8:1:2:ffff::99")
        self.assertEqual(banned["status"], "bad_login", banned)
        self.assertIn("from 2001:db8:1:2::/64", banned["detail"])
        self.assertEqual(self.w.login("alice", "wonderland", "--address", "2001:db8:1:3::1")["status"], "ok")

    def test_tallies_say_whose_they_are_and_keep_no_unknown_name(self):
        self.w.login("alice", "guess", "--address", "10.66.6.7")
        self.w.login("Tr0ub4dor&3-horse", "x", "--address", "10.66.6.7")
        texts = list(tallies(self.w).values())
        self.assertIn(1, [t.count("account alice\naddress 10.66.6.7\n") + t.count("address 10.66.6.7\naccount alice\n")
                          for t in texts], texts)
        self.assertEqual(len([t for t in texts if "address-wide" in t]), 1, texts)
        # A name NSS does not know may be a password: only its hash is kept.
        self.assertFalse([t for t in texts if "Tr0ub4dor" in t], texts)
        self.assertEqual(len([t for t in texts if "account-sha256 " in t]), 1, texts)


class FullStore(unittest.TestCase):
    """Issue 22.2: a full store never fails open. The old store stopped
    counting at 10,000 tallies: 12 wrong guesses from a fresh address, then
    the right password, signed in."""

    def test_a_full_store_forgets_unbanned_tallies_and_still_counts(self):
        w = throttling_world(self, broker={"max_failures_per_address": 0})
        folder = w.sb.dir / "throttle"
        # The real cap: 10,000 tallies with no ban running, as a spray leaves them.
        for i in range(10000):
            (folder / f"{i:032x}").write_text(f"failures 1\nwindow_start {int(time.time())}\nbans 0\n"
                                              f"banned_until 0\naddress 10.200.{i // 250}.{i % 250}\n"
                                              f"account-sha256 {i:064x}\n")
        fresh = "10.12.12.12"
        for _ in range(3):
            self.assertEqual(w.login("alice", "guess", "--address", fresh)["status"], "bad_login")
        banned = w.login("alice", "wonderland", "--address", fresh)
        self.assertEqual(banned["status"], "bad_login", banned)
        self.assertIn("too many failed sign-ins of this account", banned["detail"])
        self.assertLessEqual(len(os.listdir(folder)), 10000)
        self.assertIn("forgot the", w.log_text())

    def test_a_store_full_of_bans_refuses_what_it_cannot_count(self):
        # ZSSO_TEST_THROTTLE_CAP: a hidden test knob (throttle.cpp) that lowers
        # the store's cap from 10,000, so the broker fills it in a few sign-ins.
        w = throttling_world(self, broker={"max_failures": 1, "max_failures_per_address": 1},
                             extra_env={"ZSSO_TEST_THROTTLE_CAP": "6"})
        for i in range(3):  # each failure bans its pair and its address: 6 bans
            self.assertEqual(w.login(f"made-up-{i}", "x", "--address", f"10.60.0.{i}")["status"], "bad_login")
        self.assertEqual(len(tallies(w)), 6)
        refused = w.login("alice", "wonderland", "--address", "10.9.9.9", "--request-id", "rid-full")
        self.assertEqual(refused["status"], "bad_login", refused)
        self.assertRegex(w.log_text(), r'request "rid-full": user "alice": bad_login \(throttled: the failure '
                                       r'store holds 6 tallies, every one with a ban running')


class Unlock(unittest.TestCase):
    """Issue 25.3: `zendesk-sso unlock USER [--from ADDR]` lifts the broker's
    bans of one person, against a running broker's store."""

    def unlock(self, *args):
        p = subprocess.run([CLI, "--config", str(self.w.sb.config_path), "unlock", *args], capture_output=True,
                           text=True, env=self.w.env(), timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def signs_in_from(self, addr):
        return self.w.login("alice", "wonderland", "--address", addr)["status"] == "ok"

    def test_lifts_one_address_then_all(self):
        self.w = throttling_world(self)
        a, b, sprayer = "10.66.6.1", "10.66.6.2", "10.55.5.5"
        for addr in (a, b):
            for _ in range(3):
                self.w.login("alice", "guess", "--address", addr)
        for i in range(6):
            self.w.login(f"made-up-{i}", "x", "--address", sprayer)
        self.w.login("mallory", "guess", "--address", b)
        self.assertFalse(self.signs_in_from(a))

        out = self.unlock("alice", "--from", a)
        self.assertRegex(out, r"lifted alice: 10\.66\.6\.1 \(banned, \d+ s left\)")
        self.assertNotIn("10.66.6.2 (", out)
        # The sandbox's stack has no pam_faillock (the root-only RealLocalAccounts
        # test reads the shipped stack's).
        self.assertIn(f"pam_faillock: the PAM service {self.w.sb.service_dir}/zendesk-sso does not use it", out)
        self.assertTrue(self.signs_in_from(a))
        self.assertFalse(self.signs_in_from(b), "--from lifts one address only")

        # Any spelling NSS resolves to alice; the sprayer's ban is named, not lifted.
        out = self.unlock("ALICE")
        self.assertRegex(out, r"lifted alice: 10\.66\.6\.2 \(banned")
        self.assertRegex(out, r"10\.55\.5\.5 refuses every account .*zendesk-sso unlock alice --from 10\.55\.5\.5")
        self.assertTrue(self.signs_in_from(b))
        self.assertIn("mallory", [t.split("account ")[1].split("\n")[0] for t in tallies(self.w).values()
                                  if "account " in t], "another person's tally stays")
        self.assertFalse(self.signs_in_from(sprayer))
        out = self.unlock("alice", "--from", sprayer)
        self.assertIn("lifted alice: every account from 10.55.5.5 (banned", out)
        self.assertTrue(self.signs_in_from(sprayer))
        self.assertIn("no failures of alice: it refuses alice nowhere", self.unlock("alice"))

    def test_bad_address_is_a_usage_error(self):
        self.w = World(self)
        p = subprocess.run([CLI, "--config", str(self.w.sb.config_path), "unlock", "alice", "--from", "nowhere"],
                           capture_output=True, text=True, env=self.w.env(), timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not an IPv4 or IPv6 address", p.stderr)


class StateDirs(unittest.TestCase):
    """Issue 22.10: every state folder beside the socket (conv/, throttle/,
    faillock/) must be the broker's own and writable by nobody else, or the
    broker refuses to start with one line naming the folder and the fix."""

    def refused_start(self, name, prepare):
        w = World(self, config_extra={"broker": {"max_failures": 5}})
        prepare(w.sb.dir / name)
        # It logs "listening on" before it checks (the folders are made as the
        # broker's user, after binding), so wait for it to end.
        with open(w.log_path, "w") as log:
            proc = subprocess.Popen(w.isolated([w.authd, "--config", str(w.sb.config_path), "--listen", w.socket,
                                                "--log-stderr"]),
                                    env=w.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    preexec_fn=wire.die_with_parent)
            try:
                self.assertEqual(proc.wait(WAIT), 1, w.log_text())
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        lines = [l for l in w.log_text().splitlines() if "refusing to start" in l]
        self.assertEqual(len(lines), 1, w.log_text())
        self.assertIn(str(w.sb.dir / name), lines[0])
        self.assertFalse(os.path.exists(w.socket), "the socket is removed")
        return lines[0]

    def test_a_folder_others_may_write_is_refused(self):
        def loose(path):
            path.mkdir()
            os.chmod(path, 0o777)
        for name in ("throttle", "conv", "faillock"):
            with self.subTest(name=name):
                line = self.refused_start(name, loose)
                self.assertIn("mode 0777", line)
                self.assertIn("writable by nobody else", line)

    def test_a_symlink_is_refused(self):
        def link(path):
            target = path.parent / "elsewhere"
            target.mkdir(mode=0o700)
            path.symlink_to(target)
        line = self.refused_start("throttle", link)
        self.assertIn("is not a directory", line)

    @unittest.skipUnless(IS_ROOT, "needs root to give the folder another owner (CI runs as root)")
    def test_a_folder_of_another_user_is_refused(self):
        def others(path):
            path.mkdir(mode=0o700)
            os.chown(path, NOBODY_UID, NOGROUP_GID)
        line = self.refused_start("throttle", others)
        self.assertIn(f"owned by uid {NOBODY_UID}", line)

    def test_its_own_folders_are_made_and_narrowed(self):
        w = World(self, config_extra={"broker": {"max_failures": 5}})
        (w.sb.dir / "throttle").mkdir(mode=0o750)
        os.chmod(w.sb.dir / "throttle", 0o750)
        w.start()
        self.addCleanup(w.stop)
        self.assertEqual(stat.S_IMODE((w.sb.dir / "throttle").stat().st_mode), 0o700)
        self.assertEqual(stat.S_IMODE((w.sb.dir / "conv").stat().st_mode), 0o711)


class RefusalDeadline(unittest.TestCase):
    """Issue 22, points 3, 4 and 11: every kind of refused password sign-in
    is answered at the broker's failure deadline (from the request's start,
    one jitter distribution for all), with libpam's own failure delay
    skipped. Deterministic: it checks that each refusal took that path (the
    broker's line for it), never how long anything took; the deadline itself
    is proven under an injected clock (broker.failure_deadline.*)."""

    PACED = r"; (answered at the failure deadline, \d+ ms after the request|answered \d+ ms after the request, " \
            r"\d+ ms past the failure deadline)"

    def setUp(self):
        self.w = World(self, config_extra={"broker": {"max_failures": 2, "failure_window": 600,
                                                      "ban_seconds": 60, "failure_delay_ms": 2000}}).start()
        self.addCleanup(self.w.stop)

    def refused(self, rid, user, password, *extra):
        out = self.w.login(user, password, "--request-id", rid, *extra)
        self.assertEqual(out["status"], "bad_login", out)
        return out

    def test_every_refusal_kind_is_answered_at_the_failure_deadline(self):
        pam_kinds = {"rid-unknown": ("nosuchuser", "wonderland"),
                     "rid-gate": ("mallory", "evil"),              # denied group: the auth gate refuses
                     "rid-wrong": ("alice", "not-wonderland")}
        for rid, (user, password) in pam_kinds.items():
            self.refused(rid, user, password)
        # The right password, then the account stack refuses (issue 22, point 4).
        self.refused("rid-acct", "mallory", "evil", "--profile", "agents")
        # A throttled pair, refused without PAM (point 11).
        for i in range(2):
            self.refused(f"rid-guess{i}", "alice", "guess", "--address", "10.66.6.6")
        self.refused("rid-banned", "alice", "wonderland", "--address", "10.66.6.6")
        log = self.w.log_text()
        for rid in [*pam_kinds, "rid-guess0", "rid-guess1"]:
            # libpam asked for its delay (pam_zendesk's 2 s) and the broker skipped it.
            self.assertRegex(log, rf'request "{rid}": [^\n]*: bad_login \([^\n]*\); libpam\'s failure delay '
                                  rf'\(\d+ ms\) skipped{self.PACED}')
        self.assertRegex(log, rf'request "rid-acct": [^\n]*: bad_login \(refused after a correct password[^\n]*\)'
                              rf'{self.PACED}')
        self.assertRegex(log, rf'request "rid-banned": user "alice": bad_login \(throttled: [^\n]*\){self.PACED}')
        # Successes are not held back.
        self.assertEqual(self.w.login("alice", "wonderland", "--request-id", "rid-ok")["status"], "ok")
        self.assertNotRegex(log + self.w.log_text(), r'request "rid-ok": [^\n]*failure deadline')


class Concurrency(unittest.TestCase):
    def fifty_at_once(self, w):
        n = 50
        # All connections open at once before any request is sent.
        socks = [wire.connect(w.socket) for _ in range(n)]
        try:
            for i, s in enumerate(socks):
                # Each from its own address: one address runs only its share (broker.max_sign_ins_per_address).
                s.sendall(wire.request("alice", "wonderland", request_id=f"c{i}", address=f"10.1.3.{i}"))
            with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
                answers = list(pool.map(wire.read_response, socks))
        finally:
            for s in socks:
                s.close()
        self.assertEqual([a["status"] for a in answers], ["ok"] * n)
        jtis = {w.claims(a["token"])["jti"] for a in answers}
        self.assertEqual(len(jtis), n, "every answer carries its own token")
        log = w.log_text()
        for i in range(n):
            self.assertIn(f"request \"c{i}\": user \"alice\"", log)

    # The waiting requests are answered busy when no sign-in has ended for
    # broker.busy_after_seconds (3 s by default). These tests queue on purpose;
    # at its most, 20 s, a slow sign-in (the sanitizer build under load) is
    # still waited for, so their answers do not depend on the machine's speed.
    # test_conversation.py's held conversation proves the busy answer itself.
    QUEUE = {"broker": {"busy_after_seconds": 20}}

    def test_fifty_simultaneous_connections_all_answered(self):
        # One child at a time: pam_wrapper hands each PAM process a machine-wide
        # /tmp/pam.X dir chosen without locking, so PAM processes started
        # together under it can break each other. The 50 connections are still
        # open at once; the rest wait in the backlog.
        w = World(self, config_extra=self.QUEUE, broker_args=["--max-children", "1"]).start()
        self.addCleanup(w.stop)
        self.fifty_at_once(w)

    @unittest.skipUnless(IS_ROOT, "needs root to add a service to /etc/pam.d (CI runs as root)")
    def test_fifty_children_at_once_with_system_libpam(self):
        # The same with up to 50 PAM transactions in parallel, through real
        # libpam (no pam_wrapper) and a temporary /etc/pam.d service.
        w = World(self, config_extra=self.QUEUE, system_pam=True).start()
        self.addCleanup(w.stop)
        self.fifty_at_once(w)

    def test_more_clients_than_children(self):
        w = World(self, config_extra=self.QUEUE, broker_args=["--max-children", "2"]).start()
        self.addCleanup(w.stop)
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(
                lambda i: wire.exchange(w.socket, wire.request("alice", "wonderland")), range(12)))
        self.assertEqual([a["status"] for a in answers], ["ok"] * 12)


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.split()
    return fields


def open_files(pid):
    """What a process's descriptors point at. The broker opens and closes
    descriptors of its own while we look (its PAM modules, a config read), so
    an entry listed and gone before readlink is skipped: it was not inherited
    (an inherited descriptor stays open for the process's whole life)."""
    targets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return targets


class WithoutSystemd(unittest.TestCase):
    """--listen gives what the unit gives where it can: the runtime
    directory, the user and supplementary groups after binding, no new
    privileges, no inherited descriptors; each failure says what to do."""

    @unittest.skipUnless(IS_ROOT, "needs root to switch users (CI runs as root)")
    def test_drops_to_the_user_and_groups_after_binding(self):
        w = World(self)
        # The broker reads the secret as the user it drops to (the ping checks it), as the unit's user does.
        os.chown(w.sb.secret_path, NOBODY_UID, -1)
        w.sb.add_group("brokerextra", 5200)
        rundir = w.sb.dir / "run"
        sock = str(rundir / "authd.sock")
        inherited = open(w.sb.dir / "leak", "w")   # a launcher's open file
        self.addCleanup(inherited.close)
        w.socket = sock
        w.start("--listen", sock, "--user", "nobody", "--groups", "brokerextra",
                "--socket-mode", "0666")
        self.addCleanup(w.stop)
        wait_for(lambda: "running as nobody" in w.log_text(), "the drop in the log")
        st = proc_status(w.proc.pid)
        self.assertEqual(st["Uid"], ["65534"] * 4)
        self.assertEqual(st["Gid"], ["65534"] * 4)
        self.assertEqual(sorted(st["Groups"]), ["5200", "65534"])
        self.assertEqual(st["NoNewPrivs"], ["1"])
        self.assertEqual(st["CapEff"], ["0000000000000000"])
        self.assertNotIn(str(w.sb.dir / "leak"), open_files(w.proc.pid))
        # The directory was made for it, with faillock/ as the unit's RuntimeDirectory.
        for d, mode in ((rundir, 0o755), (rundir / "faillock", 0o700)):
            s = os.stat(d)
            self.assertEqual((s.st_uid, stat.S_IMODE(s.st_mode)), (NOBODY_UID, mode), d)
        # The socket was bound as root (its group is the one asked for), and
        # a connection is served by a child that runs as nobody.
        p = subprocess.run([w.tool, "--config", str(w.sb.config_path), "--socket", sock, "--ping"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=WAIT)
        self.assertEqual(json.loads(p.stdout)["status"], "ok", p.stdout)
        self.assertIn("ping: ok", w.log_text())

    @unittest.skipUnless(IS_ROOT and shutil.which("start-stop-daemon"), "needs root and start-stop-daemon")
    def test_the_sysvinit_example_starts_status_and_stops(self):
        w = World(self)
        os.chown(w.sb.secret_path, NOBODY_UID, -1)   # read by the broker as nobody (the ping checks it)
        script = Path(os.environ["ZSSO_SOURCE_DIR"]) / "examples" / "sysvinit" / "zendesk-sso-authd"
        sock = w.sb.dir / "initd" / "authd.sock"
        pidfile = w.sb.dir / "authd.pid"
        defaults = w.sb.dir / "defaults"
        defaults.write_text(f"DAEMON={w.authd}\nCONFIG={w.sb.config_path}\nSOCKET={sock}\n"
                            f"SOCKET_GROUP=root\nRUN_USER=nobody\nRUN_GROUPS=nogroup\nPIDFILE={pidfile}\n")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ZSSO_AUTHD_DEFAULTS": str(defaults)}

        def init(action):
            return subprocess.run(["sh", str(script), action], env=env, capture_output=True, text=True,
                                  timeout=WAIT)
        self.addCleanup(init, "stop")
        self.assertEqual(init("start").returncode, 0)
        wait_for(lambda: sock.exists() and pidfile.exists(), "the socket and the pid file")
        pid = int(pidfile.read_text())
        wait_for(lambda: proc_status(pid)["Uid"][0] == str(NOBODY_UID), "the drop to nobody")
        self.assertEqual(proc_status(pid)["NoNewPrivs"], ["1"])
        st = init("status")
        self.assertEqual(st.returncode, 0, st.stdout + st.stderr)
        p = subprocess.run([w.tool, "--config", str(w.sb.config_path), "--socket", str(sock), "--ping"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=WAIT)
        self.assertEqual(json.loads(p.stdout)["status"], "ok", p.stdout)
        self.assertEqual(init("stop").returncode, 0)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), "the broker to end")
        self.assertNotEqual(init("status").returncode, 0)

    @unittest.skipUnless(IS_ROOT, "needs root to see the warning's opposite")
    def test_root_without_user_is_warned(self):
        w = World(self).start()
        self.addCleanup(w.stop)
        self.assertIn("running PAM as root: give --user zendesk-sso --groups shadow", w.log_text())
        self.assertEqual(proc_status(w.proc.pid)["NoNewPrivs"], ["1"])

    def test_each_failure_is_named(self):
        w = World(self)
        base = [w.authd, "--config", str(w.sb.config_path), "--log-stderr"]
        cases = [
            (["--listen", w.socket, "--user", "no-such-user-zsso"], 2, '--user "no-such-user-zsso": no such user'),
            (["--listen", w.socket, "--user", "nobody", "--groups", "no-such-group-zsso"], 2,
             '--groups "no-such-group-zsso": no such group'),
            (["--listen", w.socket, "--groups", "nogroup"], 2, "--groups goes with --user"),
            (["--user", "nobody"], 2, "go with --listen"),
            (["--listen", w.socket, "--user", "root"], 2, "is root: name the broker's own user"),
        ]
        for extra, rc, needle in cases:
            with self.subTest(extra=extra):
                p = subprocess.run(base + extra, env=w.sb.env(), capture_output=True, text=True, timeout=WAIT)
                self.assertEqual(p.returncode, rc, p.stderr)
                self.assertIn(needle, p.stderr)

    @unittest.skipUnless(IS_ROOT, "needs root to run the broker as another uid (CI runs as root)")
    def test_not_root_gets_a_clear_error(self):
        w = World(self)
        locked = w.sb.dir / "locked"
        locked.mkdir(mode=0o755)
        sock = str(locked / "sub" / "authd.sock")
        asnobody = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOGROUP_GID}", "--clear-groups", "--"]
        p = subprocess.run(asnobody + [w.authd, "--config", str(w.sb.config_path), "--listen", sock,
                                       "--log-stderr"],
                           env=w.sb.env(), capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"cannot create {locked}/sub: Permission denied (start as root, or create it: "
                      f"install -d -m 0755 {locked}/sub)", p.stderr)
        self.assertNotIn("bind:", p.stderr)
        p = subprocess.run(asnobody + [w.authd, "--config", str(w.sb.config_path), "--listen", sock,
                                       "--user", "nobody", "--log-stderr"],
                           env=w.sb.env(), capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("only root can switch to another user", p.stderr)


class Lifecycle(unittest.TestCase):
    def test_sigterm_stops_cleanly_and_removes_the_socket(self):
        w = World(self).start()
        self.assertEqual(wire.exchange(w.socket, wire.request("alice", "wonderland"))["status"], "ok")
        self.assertEqual(w.stop(), 0)
        self.assertFalse(os.path.exists(w.socket))

    def test_stale_socket_replaced_other_files_never(self):
        w = World(self)
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(w.socket)
        stale.close()
        w.start()
        self.assertEqual(wire.exchange(w.socket, wire.request("alice", "wonderland"))["status"], "ok")
        w.stop()
        Path(w.socket).write_text("precious")
        p = subprocess.run([AUTHD, "--config", str(w.sb.config_path), "--listen", w.socket,
                            "--log-stderr"], env=w.sb.env(), capture_output=True, text=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists and is not a socket", p.stderr)
        self.assertEqual(Path(w.socket).read_text(), "precious")

    def test_refuses_to_start_without_allowed_peers(self):
        w = World(self, allowed_peers=[])
        p = subprocess.run([AUTHD, "--config", str(w.sb.config_path), "--listen", w.socket,
                            "--log-stderr"], env=w.sb.env(), capture_output=True, text=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("broker.allowed_peers is empty", p.stderr)

    def test_bad_config_is_named_at_start(self):
        w = World(self)
        w.sb.write_config('{"zendesk": {"subdomian": "acme"}}')
        p = subprocess.run([AUTHD, "--config", str(w.sb.config_path), "--listen", w.socket,
                            "--log-stderr"], env=w.sb.env(), capture_output=True, text=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("zendesk.subdomian", p.stderr)

    def test_usage_errors(self):
        for argv in (["--bogus"], ["--listen"], ["--io-timeout", "0"], ["--socket-mode", "999"],
                     ["--socket-mode", "0660"], ["--socket-group", "root"],
                     ["--io-timeout", "30", "--deadline", "30"]):
            with self.subTest(argv=argv):
                p = subprocess.run([AUTHD, *argv], capture_output=True, text=True, timeout=WAIT)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("usage:", p.stderr)

    def test_without_listen_stdin_must_be_a_connection(self):
        w = World(self)
        p = subprocess.run([AUTHD, "--config", str(w.sb.config_path)], env=w.sb.env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a socket", p.stderr)
        self.assertIn("Accept=yes", p.stderr)

    def test_connection_on_stdin(self):
        w = World(self)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours:
            proc = subprocess.Popen(w.isolated([w.authd, "--config", str(w.sb.config_path)]), env=w.sb.env(),
                                    stdin=theirs, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            theirs.close()
            ours.settimeout(WAIT)
            ours.sendall(wire.request("alice", "wonderland"))
            resp = wire.read_response(ours)
        _, err = proc.communicate(timeout=WAIT)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(resp["status"], "ok")
        self.assertEqual(w.claims(resp["token"])["email"], "alice@acme.test")

    def test_systemd_socket_activation_accept_no_keeps_one_warm_broker(self):
        # The shipped units: the listening socket on fd 3, one broker process
        # that forks a child per sign-in and makes conv/ beside the socket.
        w = World(self)
        env = w.sb.env()
        path = str(w.sb.dir / "activated-warm.sock")
        argv = ["systemd-socket-activate", "-l", path]
        for k, v in env.items():
            argv += ["-E", f"{k}={v}"]
        argv += [w.authd, "--config", str(w.sb.config_path), "--max-children", "1", "--log-stderr"]
        proc = subprocess.Popen(w.isolated(argv), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            wait_for(lambda: connectable(path), "systemd-socket-activate's socket")
            for _ in range(3):
                resp = wire.exchange(path, wire.request("alice", "wonderland"))
                self.assertEqual(resp["status"], "ok", resp)
            self.assertEqual(wire.exchange(path, wire.request("alice", "wrong"))["status"], "bad_login")
            conv = w.sb.dir / "conv"
            self.assertTrue(conv.is_dir())
            self.assertEqual(stat.S_IMODE(conv.stat().st_mode), 0o711, "searchable, not listable")
            # systemd-socket-activate execs the broker: one process served every sign-in.
            self.assertIsNone(proc.poll(), "the broker stays up between sign-ins")
        finally:
            proc.terminate()
            err = proc.communicate(timeout=WAIT)[1].decode(errors="replace")
        self.assertIn("socket from systemd", err)

    def test_systemd_socket_activation_accept_yes(self):
        # systemd-socket-activate speaks the LISTEN_FDS protocol a .socket unit does.
        w = World(self)
        env = w.sb.env()
        for inetd in (False, True):
            with self.subTest(inetd=inetd):
                path = str(w.sb.dir / f"activated-{int(inetd)}.sock")
                argv = ["systemd-socket-activate", "--accept", "-l", path]
                if inetd:
                    argv.append("--inetd")
                for k, v in env.items():
                    argv += ["-E", f"{k}={v}"]
                argv += [w.authd, "--config", str(w.sb.config_path)]
                proc = subprocess.Popen(w.isolated(argv), env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
                try:
                    wait_for(lambda: connectable(path), "systemd-socket-activate's socket")
                    for _ in range(2):  # one process per connection, each answered
                        resp = wire.exchange(path, wire.request("alice", "wonderland"))
                        self.assertEqual(resp["status"], "ok")
                    wrong = wire.exchange(path, wire.request("alice", "wrong"))
                    self.assertEqual(wrong["status"], "bad_login")
                finally:
                    proc.terminate()
                    proc.communicate(timeout=WAIT)


if __name__ == "__main__":
    unittest.main()
