# SPDX-License-Identifier: BSD-3-Clause
"""pam_zendesk.so through real libpam: pamtester and pam_flow under
pam_wrapper, pam_matrix passwords and nss_wrapper accounts. Tokens are
checked with python3-jwt, an implementation independent of ours.

Run one group:  /usr/bin/python3 test_pam_module.py AddressGate
Needs ZSSO_PAM_MODULE (the built pam_zendesk.so) and ZSSO_PAM_FLOW (pam_flow)."""

import os
import re
import subprocess
import sys
import time
import unittest
from pathlib import Path

import jwt  # python3-jwt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pam_sandbox import DEFAULT_SECRET, PamSandbox, syslog_lines  # noqa: E402

MODULE = os.environ.get("ZSSO_PAM_MODULE", "")
FLOW = os.environ.get("ZSSO_PAM_FLOW", "")
SOURCE_DIR = Path(os.environ.get("ZSSO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
AGENTS_SECRET = "AgentsSecretAgentsSecretAgentsSecretAgentsSecret"

# pam_strerror texts, as pamtester and pam_flow print them.
SUCCESS = "Success"
AUTH_ERR = "Authentication failure"
PERM_DENIED = "Permission denied"
USER_UNKNOWN = "User not known to the underlying authentication module"
SERVICE_ERR = "Error in service module"
CRED_ERR = "Failure setting user credentials"


def base_config(sb):
    return {
        "zendesk": {"subdomain": "acme", "secret_file": str(sb.secret_path)},
        "network": {"ip_ranges": ["10.0.0.0/8", "2001:db8::/32", "192.168.*.*"]},
        "access": {"min_uid": 1000, "allow_root": False,
                   "allowed_groups": [], "denied_groups": ["zd-denied"]},
        "claims": {"email": "{user}@acme.com", "name": "{gecos}", "external_id": "{uid}",
                   "organization": "Acme", "tags_from_groups": ["staff", "it"],
                   "role_by_group": {"zd-admins": "admin", "zd-agents": "agent"}},
        "pam": {"service": "zendesk-sso"},
        "profiles": {
            "agents": {
                "zendesk": {"secret_file": str(sb.dir / "secret-agents")},
                "access": {"allowed_groups": ["zd-agents", "zd-admins"]},
                "pam": {"service": "zendesk-sso-agents"},
            }
        },
    }


class PamCase(unittest.TestCase):
    """A sandbox with the usual cast, the base config and the standard stack."""

    def setUp(self):
        self.assertTrue(MODULE and Path(MODULE).is_file(), "ZSSO_PAM_MODULE must name pam_zendesk.so")
        self.sb = PamSandbox(module=MODULE)
        self.addCleanup(self.sb.cleanup)
        sb = self.sb
        sb.add_group("staff", 2000)
        sb.add_group("zd-agents", 2001)
        sb.add_group("zd-denied", 2002)
        sb.add_group("it", 2003)
        sb.add_user("alice", 1001, gecos="Alice Liddell,Room 101,,", password="alice-pw",
                    groups=["staff", "zd-agents"])
        sb.add_user("bob", 1002, gecos="Bob", password="bob-pw", groups=["zd-denied", "staff"])
        sb.add_user("carol", 999, gecos="Carol", password="carol-pw")
        sb.add_user("dave", 1003, gecos="", password="dave-pw")
        sb.add_user("root", 0, gid=0, gecos="root", home="/root", password="root-pw")
        sb.add_group("root", 0)
        sb.write_secret()
        sb.write_secret(AGENTS_SECRET, path=sb.dir / "secret-agents")
        sb.write_config(base_config(sb))
        sb.write_service("zendesk-sso", sb.standard_stack())

    # helpers
    def try_login(self, user, *ops, rhost="10.1.2.3", password=None, service="zendesk-sso"):
        if password is None:
            password = self.sb.passwords.get(user, "x")
        return self.sb.pamtester(service, user, *ops, rhost=rhost, password=password)

    def assertPasses(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("successfully authenticated", r.stdout + r.stderr)
        self.assertIn("account management done", r.stdout + r.stderr)

    def assertFails(self, r, error):
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"pamtester: {error}", r.stdout + r.stderr)

    def assertLogged(self, r, pattern, priority=None):
        lines = syslog_lines(r.stderr)
        hits = [t for p, t in lines if re.search(pattern, t) and (priority is None or p == priority)]
        self.assertTrue(hits, f"no syslog line matching {pattern!r} in {lines}")

    def flow(self, user, rhost="10.1.2.3", password=None, service="zendesk-sso", opts=(), **kw):
        self.assertTrue(FLOW and Path(FLOW).is_file(), "ZSSO_PAM_FLOW must name pam_flow")
        if password is None:
            password = self.sb.passwords.get(user, "x")
        argv = [FLOW, *opts, service, user] + ([rhost] if rhost is not None else [])
        return self.sb.run(argv, stdin=password + "\n", **kw)


class AddressGate(PamCase):
    def test_ipv4_in_range_passes(self):
        r = self.try_login("alice", "authenticate", "acct_mgmt", rhost="10.1.2.3")
        self.assertPasses(r)
        self.assertLogged(r, r'allowed "alice" \(uid 1001, rhost "10\.1\.2\.3"\)', priority=6)

    def test_ipv6_in_range_passes(self):
        self.assertPasses(self.try_login("alice", rhost="2001:db8::42"))

    def test_ipv4_mapped_ipv6_matches_ipv4_range(self):
        self.assertPasses(self.try_login("alice", rhost="::ffff:10.9.8.7"))

    def test_zendesk_star_pattern_range(self):
        self.assertPasses(self.try_login("alice", rhost="192.168.44.5"))

    def test_ipv4_out_of_range_fails_before_any_password_prompt(self):
        r = self.try_login("alice", rhost="203.0.113.9")
        self.assertFails(r, AUTH_ERR)
        self.assertNotIn("Password:", r.stdout + r.stderr)  # the gate is requisite, before pam_matrix
        self.assertLogged(r, r"client address 203\.0\.113\.9 is outside ip_ranges", priority=5)

    def test_ipv6_out_of_range_fails(self):
        r = self.try_login("alice", rhost="2001:db9::1")
        self.assertFails(r, AUTH_ERR)
        self.assertLogged(r, r"2001:db9::1 is outside ip_ranges")

    def test_ipv4_mapped_out_of_range_fails(self):
        self.assertFails(self.try_login("alice", rhost="::ffff:203.0.113.9"), AUTH_ERR)

    def test_missing_rhost_fails(self):
        r = self.try_login("alice", rhost=None)
        self.assertFails(r, AUTH_ERR)
        self.assertLogged(r, r"no client address \(PAM_RHOST unset\)")

    def test_garbage_rhost_fails(self):
        for junk in ["not-an-ip", "10.1.2.3.4", "10.1.2.3/8", "", "10.1.2.3\x1b[31m"]:
            with self.subTest(rhost=junk):
                r = self.try_login("alice", rhost=junk)
                self.assertFails(r, AUTH_ERR)
                self.assertLogged(r, r"is not an IP address|PAM_RHOST unset")

    def test_account_alone_refuses_out_of_range(self):
        r = self.try_login("alice", "acct_mgmt", rhost="203.0.113.9")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r"outside ip_ranges")

    def test_unknown_user_outside_ranges_looks_like_any_refusal(self):
        known = self.try_login("alice", rhost="203.0.113.9")
        unknown = self.try_login("nobody-here", rhost="203.0.113.9")
        self.assertFails(known, AUTH_ERR)
        self.assertFails(unknown, AUTH_ERR)

    def test_wrong_password_fails(self):
        r = self.try_login("alice", rhost="10.1.2.3", password="not-alices")
        self.assertFails(r, AUTH_ERR)
        self.assertLogged(r, r'allowed "alice"')  # the gate passed; pam_matrix refused

    def test_empty_ranges_let_everyone_in(self):
        cfg = base_config(self.sb)
        cfg["network"]["ip_ranges"] = []
        self.sb.write_config(cfg)
        self.assertPasses(self.try_login("alice", rhost=None))


class AccountPolicy(PamCase):
    def test_denied_group_refused(self):
        r = self.try_login("bob", "acct_mgmt")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r'refused "bob" .*member of denied group "zd-denied"', priority=5)

    def test_denied_group_refused_in_auth_too(self):
        self.assertFails(self.try_login("bob", "authenticate"), AUTH_ERR)

    def test_allowed_groups(self):
        cfg = base_config(self.sb)
        cfg["access"]["allowed_groups"] = ["staff"]
        self.sb.write_config(cfg)
        self.assertPasses(self.try_login("alice"))
        r = self.try_login("dave", "acct_mgmt")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r"not a member of any access.allowed_groups")

    def test_primary_group_counts_for_allowed_groups(self):
        cfg = base_config(self.sb)
        cfg["access"]["allowed_groups"] = ["dave"]
        self.sb.write_config(cfg)
        self.assertPasses(self.try_login("dave"))

    def test_min_uid(self):
        r = self.try_login("carol", "acct_mgmt")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r"uid 999 is below access.min_uid 1000")
        cfg = base_config(self.sb)
        cfg["access"]["min_uid"] = 900
        self.sb.write_config(cfg)
        self.assertPasses(self.try_login("carol"))

    def test_root_denied_by_default(self):
        r = self.try_login("root", "acct_mgmt")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r"root is not allowed")

    def test_root_allowed_when_configured(self):
        cfg = base_config(self.sb)
        cfg["access"]["allow_root"] = True
        self.sb.write_config(cfg)
        self.assertPasses(self.try_login("root"))

    def test_unknown_user(self):
        r = self.try_login("nobody-here", "acct_mgmt")
        self.assertFails(r, USER_UNKNOWN)
        self.assertLogged(r, r"unknown user")
        self.assertFalse([t for _, t in syslog_lines(r.stderr) if "nobody-here" in t and "checking" not in t],
                         "an unknown name is not logged in decision lines")

    def test_profile_argument_selects_the_profile(self):
        self.sb.write_service("zendesk-sso-agents", self.sb.standard_stack("profile=agents"))
        self.assertPasses(self.try_login("alice", service="zendesk-sso-agents"))
        r = self.try_login("dave", "acct_mgmt", service="zendesk-sso-agents")
        self.assertFails(r, PERM_DENIED)
        self.assertLogged(r, r"not a member of any access.allowed_groups")

    def test_silent_drops_allowed_lines_only(self):
        self.sb.write_service("zendesk-sso", self.sb.standard_stack("silent"))
        r = self.try_login("alice", "acct_mgmt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse([t for _, t in syslog_lines(r.stderr) if t.startswith("allowed")])
        r = self.try_login("bob", "acct_mgmt")
        self.assertLogged(r, r"denied group")


class SetupErrors(PamCase):
    def service_with(self, args):
        self.sb.write_service("zendesk-sso",
                              f"auth requisite {{module}} {args}\n"
                              "auth required {matrix} passdb={passdb}\n"
                              f"account required {{module}} {args}\n")

    def test_unknown_argument(self):
        self.service_with("config={config} debgu")
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r'unknown module argument "debgu"', priority=3)
        self.assertFails(self.try_login("alice", "authenticate"), SERVICE_ERR)

    def test_relative_config_path(self):
        self.service_with("config=config.json")
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"config= needs an absolute path")

    def test_repeated_argument(self):
        self.service_with("config={config} profile=agents profile=agents")
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"profile= given more than once")

    def test_broken_config(self):
        self.sb.write_config('{"zendesk": {"subdomain": "acme", ')
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"cannot use config: .*config\.json: .*parse error", priority=3)

    def test_config_with_unknown_key(self):
        cfg = base_config(self.sb)
        cfg["access"]["min_uidd"] = 5
        self.sb.write_config(cfg)
        r = self.try_login("alice", "authenticate")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"access\.min_uidd")

    def test_missing_config(self):
        self.service_with(f"config={self.sb.dir}/absent.json")
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"absent\.json: No such file or directory")

    def test_group_writable_config(self):
        self.sb.write_config(base_config(self.sb), mode=0o664)
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r"group- or world-writable")

    def test_unknown_profile(self):
        self.service_with("config={config} profile=nope")
        r = self.try_login("alice", "acct_mgmt")
        self.assertFails(r, SERVICE_ERR)
        self.assertLogged(r, r'profile "nope" is not defined')

    def test_missing_secret_file(self):
        os.unlink(self.sb.secret_path)
        r = self.flow("alice")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"setcred: {SERVICE_ERR}", r.stdout)
        self.assertLogged(r, r"cannot use the secret: .*secret: No such file or directory", priority=3)

    def test_world_readable_secret_file(self):
        os.chmod(self.sb.secret_path, 0o644)
        r = self.flow("alice")
        self.assertIn(f"setcred: {SERVICE_ERR}", r.stdout)
        self.assertLogged(r, r"secret: world-readable")

    def test_secret_never_logged(self):
        os.chmod(self.sb.secret_path, 0o666)
        r = self.flow("alice")
        self.assertIn(f"setcred: {SERVICE_ERR}", r.stdout)
        self.assertLogged(r, r"secret: group- or world-writable")
        self.assertNotIn(DEFAULT_SECRET, r.stdout + r.stderr)


class SetCred(PamCase):
    def token_from(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"^ZENDESK_JWT=(\S+)$", r.stdout, re.M)
        self.assertTrue(m, r.stdout)
        return m.group(1)

    def test_full_flow_token_verified_independently(self):
        before = int(time.time())
        r = self.flow("alice")
        token = self.token_from(r)
        self.assertIn(f"authenticate: {SUCCESS}", r.stdout)
        self.assertIn(f"acct_mgmt: {SUCCESS}", r.stdout)
        self.assertIn(f"setcred: {SUCCESS}", r.stdout)
        self.assertIn("after delete: unset", r.stdout)
        header = jwt.get_unverified_header(token)
        self.assertEqual(header, {"typ": "JWT", "alg": "HS256"})
        claims = jwt.decode(token, DEFAULT_SECRET, algorithms=["HS256"])
        self.assertEqual(claims["email"], "alice@acme.com")
        self.assertEqual(claims["name"], "Alice Liddell")          # GECOS up to the first comma
        self.assertEqual(claims["external_id"], "1001")
        self.assertEqual(claims["organization"], "Acme")
        self.assertEqual(claims["tags"], ["staff"])                # only listed groups become tags
        self.assertEqual(claims["role"], "agent")                  # from zd-agents
        self.assertIsInstance(claims["iat"], int)
        self.assertLessEqual(before, claims["iat"])
        self.assertLessEqual(claims["iat"], int(time.time()))
        self.assertRegex(claims["jti"], r"^[A-Za-z0-9_-]{22,}$")
        self.assertNotIn("exp", claims)
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(token, "some other secret", algorithms=["HS256"])
        # The jti is logged (to match Zendesk's view), the token never is.
        self.assertLogged(r, r'issued a token for "alice" \(jti ' + re.escape(claims["jti"]) + r"\)")
        self.assertNotIn(token, r.stderr)
        self.assertNotIn(token.split(".")[2], r.stderr)

    def test_each_token_has_its_own_jti(self):
        a = jwt.decode(self.token_from(self.flow("alice")), DEFAULT_SECRET, algorithms=["HS256"])
        b = jwt.decode(self.token_from(self.flow("alice")), DEFAULT_SECRET, algorithms=["HS256"])
        self.assertNotEqual(a["jti"], b["jti"])

    def test_ipv6_client(self):
        self.token_from(self.flow("alice", rhost="2001:db8::7"))

    def test_remote_user_mode_without_authenticate(self):
        token = self.token_from(self.flow("alice", opts=["--no-auth"], password=""))
        self.assertEqual(jwt.decode(token, DEFAULT_SECRET, algorithms=["HS256"])["email"], "alice@acme.com")

    def test_reinitialize_mints_too(self):
        PAM_REINITIALIZE_CRED = 0x0008
        self.token_from(self.flow("alice", opts=[f"--flags={PAM_REINITIALIZE_CRED}"]))

    def test_profile_uses_its_own_secret(self):
        self.sb.write_service("zendesk-sso-agents", self.sb.standard_stack("profile=agents"))
        token = self.token_from(self.flow("alice", service="zendesk-sso-agents"))
        jwt.decode(token, AGENTS_SECRET, algorithms=["HS256"])
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(token, DEFAULT_SECRET, algorithms=["HS256"])

    def test_profile_is_not_taken_from_the_pam_environment(self):
        # Variables users can set (pam_env, pamtester -E) never choose a profile.
        r = self.sb.run([FLOW, "zendesk-sso", "alice", "10.1.2.3"], stdin="alice-pw\n",
                        extra_env={"ZENDESK_SSO_PROFILE": "agents", "ZENDESK_SSO_CONFIG": "/nonexistent"})
        jwt.decode(self.token_from(r), DEFAULT_SECRET, algorithms=["HS256"])

    def test_no_token_in_a_service_the_config_does_not_name(self):
        # su, login or sshd with pam_zendesk in their auth stack: a valid
        # bearer token must not land in the session environment (issue 14, point 4).
        self.sb.write_service("login", self.sb.standard_stack())
        r = self.flow("alice", service="login")
        self.assertIn(f"authenticate: {SUCCESS}", r.stdout)
        self.assertIn("ZENDESK_JWT=\n", r.stdout)
        self.assertNotRegex(r.stdout, r"ZENDESK_JWT=\S")
        self.assertLogged(r, r'no token for "alice": PAM service "login" is not the config\'s pam.service "zendesk-sso"')
        # The profile's service is its own: the base service name is not enough there.
        self.sb.write_service("zendesk-sso", self.sb.standard_stack("profile=agents"))
        r = self.flow("alice", service="zendesk-sso")
        self.assertNotRegex(r.stdout, r"ZENDESK_JWT=\S")

    def test_one_handle_reads_the_config_once(self):
        # authenticate, acct_mgmt and setcred on one handle: the config is
        # parsed at the first call and kept with the handle (pam_set_data);
        # debug logs each parse.
        r = self.flow("alice")
        self.token_from(r)
        loads = [t for _, t in syslog_lines(r.stderr) if t.startswith("config " + str(self.sb.config_path) + " profile")]
        self.assertEqual(len(loads), 1, syslog_lines(r.stderr))
        # The next handle reads the file again: a change applies to it.
        cfg = base_config(self.sb)
        cfg["claims"]["organization"] = "Acme Two"
        self.sb.write_config(cfg)
        claims = jwt.decode(self.token_from(self.flow("alice")), DEFAULT_SECRET, algorithms=["HS256"])
        self.assertEqual(claims["organization"], "Acme Two")

    def test_setcred_rechecks_the_policy(self):
        # A stack whose account phase forgot pam_zendesk still gets no token
        # for someone the policy refuses.
        self.sb.write_service("no-account-line",
                              "auth requisite {module} config={config}\n"
                              "auth required {matrix} passdb={passdb}\n"
                              "account required {permit}\n")
        r = self.flow("bob", service="no-account-line", opts=["--no-auth"])
        self.assertIn(f"setcred: {CRED_ERR}", r.stdout)
        self.assertNotIn("ZENDESK_JWT=", r.stdout)
        self.assertLogged(r, r"denied group")

    def test_setcred_for_unknown_user(self):
        self.sb.write_service("setcred-only",
                              "auth required {module} config={config}\n"
                              "account required {permit}\n")
        r = self.flow("ghost", service="setcred-only", opts=["--no-auth"])
        self.assertIn(f"setcred: {USER_UNKNOWN}", r.stdout)

    def test_bad_claim_template_gives_cred_err(self):
        cfg = base_config(self.sb)
        cfg["claims"]["email"] = "{user}"   # no '@': not an email address
        self.sb.write_config(cfg)
        r = self.flow("alice")
        self.assertIn(f"setcred: {CRED_ERR}", r.stdout)
        self.assertLogged(r, r"claim email")


class NoOutput(PamCase):
    """The module writes nothing to stdout or stderr. pam_wrapper copies
    pam_syslog lines to stderr unless PAM_WRAPPER_USE_SYSLOG=1 hands them to
    syslog(3), so with it everything on the streams comes from the application."""
    QUIET = {"PAM_WRAPPER_DEBUGLEVEL": None, "PAM_WRAPPER_USE_SYSLOG": "1"}

    def test_pamtester_streams_hold_only_pamtester_lines(self):
        self.sb.write_service("bad-config", "account required {module} config=/nonexistent debug\n")
        runs = [
            self.sb.pamtester("zendesk-sso", "alice", rhost="10.1.2.3", password="alice-pw", extra_env=self.QUIET),
            self.sb.pamtester("zendesk-sso", "bob", rhost="10.1.2.3", password="bob-pw", extra_env=self.QUIET),
            self.sb.pamtester("bad-config", "alice", "acct_mgmt", extra_env=self.QUIET),
        ]
        for r in runs:
            lines = (r.stdout + r.stderr).replace("Password: ", "").splitlines()
            self.assertTrue(lines)
            # pam_wrapper's own errors are the harness's, not the module's: at
            # start it sweeps other runs' /tmp/pam.* folders and, when a
            # parallel test has just made one, says "Failed to parse pid".
            self.assertEqual([l for l in lines if not l.startswith(("pamtester: ", "PWRAP_ERROR["))], [],
                             r.stdout + r.stderr)

    def test_pam_flow_streams_hold_only_its_own_lines(self):
        r = self.sb.run([FLOW, "zendesk-sso", "alice", "10.1.2.3"], stdin="alice-pw\n", extra_env=self.QUIET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([l for l in r.stderr.splitlines() if not l.startswith("PWRAP_ERROR[")], [])   # as above
        self.assertEqual([l.split(":")[0].split("=")[0] for l in r.stdout.splitlines()],
                         ["set_item", "authenticate", "acct_mgmt", "setcred", "ZENDESK_JWT", "delete",
                          "after delete"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
