#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso sync against a loopback stand-in for Zendesk's users API
(zendesk_users_standin.py), with accounts from nss_wrapper: what a dry run
lists, what --apply changes (checked on the stand-in's state), a second run,
the safety brake, 429 + Retry-After, a transient 500, and the failures that
must change nothing (token file permissions, 401, unreachable API)."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zendesk_users_standin import Standin  # noqa: E402

CLI = sys.argv[1]
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
TOKEN = "zd-api-token-0123456789abcdef0123456789abcdef"
ADMIN = "sync-admin@acme.com"

PASSWD = """root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/bash
dave:x:1003:1003:Dave:/home/dave:/bin/bash
sys:x:500:500:System:/:/usr/sbin/nologin
erin:x:1004:1004:Erin:/home/erin:/bin/bash
frank:x:1005:1005:Frank:/home/frank:/bin/bash
gina:x:1006:1006:Gina:/home/gina:/bin/bash
zoe:x:1007:1007:Zoe:/home/zoe:/bin/bash
"""
GROUP = """root:x:0:
alice:x:1000:
bob:x:1001:
dave:x:1003:
sys:x:500:
erin:x:1004:
frank:x:1005:
gina:x:1006:
zoe:x:1007:
zd-agents:x:2001:alice
zd-admins:x:2002:zoe
zd-denied:x:2003:dave
"""
# frank is locked (usermod -L), gina expired (chage -E 1).
SHADOW = """alice:$6$x$y:19000:0:99999:7:::
bob:$6$x$y:19000:0:99999:7:::
dave:$6$x$y:19000:0:99999:7:::
erin:$6$x$y:19000:0:99999:7:::
frank:!$6$x$y:19000:0:99999:7:::
gina:$6$x$y:19000:0:99999:7::1:
zoe:$6$x$y:19000:0:99999:7:::
"""


def zd(uid, email, external_id, role="end-user", suspended=False, active=True):
    return {"id": uid, "email": email, "external_id": external_id, "role": role,
            "suspended": suspended, "active": active, "name": email.split("@")[0]}


USERS = [
    zd(1, "alice@acme.com", "alice", "agent"),           # present, agent group: kept
    zd(2, "bob@acme.com", "bob"),                        # present: kept
    zd(3, "carol@acme.com", "carol"),                    # account deleted: suspend
    zd(4, "dave@acme.com", "dave", "agent"),             # denied group: suspend + end-user
    zd(5, "sys@acme.com", "sys"),                        # below min_uid: suspend
    zd(6, "erin@acme.com", "erin", "agent"),             # lost zd-agents: end-user
    zd(7, "frank@acme.com", "frank"),                    # locked: suspend
    zd(8, "gina@acme.com", "gina"),                      # expired: suspend
    zd(9, "zoe@acme.com", "zoe", "admin"),               # admin: left alone
    zd(10, "olga@acme.com", "olga", "admin"),            # admin, account gone: left alone
    zd(11, "vendor@partner.com", "vendor"),              # other domain: not ours
    zd(12, "crm-guy@acme.com", "crm-42"),                # another system's external_id: not ours
    zd(13, "nobody@acme.com", None),                     # no external_id: not ours
    zd(14, "old@acme.com", "old", suspended=True),       # already suspended: nothing to do
    zd(15, "hank@acme.com", "hank", active=False),       # deleted in Zendesk: skipped
    zd(16, "ext-agent@partner.com", "extagent", "agent"),  # not ours
]
# id -> (suspended, role) after --apply
EXPECTED = {3: (True, "end-user"), 4: (True, "end-user"), 5: (True, "end-user"), 6: (False, "end-user"),
            7: (True, "end-user"), 8: (True, "end-user")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fixture:
    def __init__(self, passwd=PASSWD, api=None, external_id="{user}"):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.write("secret", "s3cr3tZ9" * 6 + "\n", 0o600)
        self.write("api-token", TOKEN + "\n", 0o600)
        self.passwd = self.write("passwd", passwd, 0o644)
        self.group = self.write("group", GROUP, 0o644)
        self.shadow = self.write("shadow", SHADOW, 0o600)
        cfg = {
            "zendesk": {"subdomain": "acme", "secret_file": "secret"},
            "access": {"min_uid": 1000, "denied_groups": ["zd-denied"]},
            "claims": {"email": "{user}@acme.com", "external_id": external_id, "role": "end_user",
                       "role_by_group": {"zd-admins": "admin", "zd-agents": "agent"}},
            "api": api or {"token_file": "api-token", "email": ADMIN, "email_domains": ["acme.com"],
                           "max_change_fraction": 0.8},
        }
        self.config = self.write("config.json", json.dumps(cfg, indent=2), 0o644)

    def write(self, name, text, mode):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run(self, *args, origin):
        env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=self.passwd,
                   NSS_WRAPPER_GROUP=self.group, NSS_WRAPPER_SHADOW=self.shadow,
                   ZENDESK_SSO_ENDPOINT_OVERRIDE=origin, ZENDESK_SSO_LOG_STDERR="1")
        env.pop("ZENDESK_SSO_CONFIG", None)
        p = subprocess.run([CLI, "--config", self.config, "sync", *args], env=env,
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr


def state(standin):
    return {i: (u["suspended"], u["role"]) for i, u in standin.users.items()}


class Sync(unittest.TestCase):
    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)
        self.s = Standin(USERS, email=ADMIN, token=TOKEN)
        self.s.__enter__()
        self.addCleanup(self.s.__exit__)

    def sync(self, *args, origin=None):
        return self.f.run(*args, origin=origin or self.s.origin)

    def changes(self, out):
        j = json.loads(out)
        return {c["id"]: (c["suspend"], c["role_to"]) for c in j["changes"]}, j

    def test_dry_run_lists_exactly_the_changes_and_changes_nothing(self):
        before = state(self.s)
        rc, out, err = self.sync("--json")
        self.assertEqual(rc, 0, err)
        got, j = self.changes(out)
        self.assertEqual(got, {3: (True, None), 4: (True, "end-user"), 5: (True, None), 6: (False, "end-user"),
                               7: (True, None), 8: (True, None)})
        self.assertEqual(j["mode"], "dry-run")
        self.assertEqual((j["listed"], j["ours"], j["admins_left_alone"]), (16, 11, 2))
        self.assertTrue(all(c["result"] == "would" for c in j["changes"]))
        reasons = {c["id"]: c["reason"] for c in j["changes"]}
        self.assertIn("no account", reasons[3])
        self.assertIn("denied group", reasons[4])
        self.assertIn("min_uid", reasons[5])
        self.assertIn("role_by_group", reasons[6])
        self.assertIn("locked", reasons[7])
        self.assertIn("expired", reasons[8])
        self.assertEqual(state(self.s), before)
        self.assertEqual(self.s.puts(), [])
        # Several pages, all through the cursor (page[size] and links.next).
        gets = [p for (m, p, _) in self.s.requests if m == "GET"]
        self.assertGreaterEqual(len(gets), 6)
        self.assertTrue(all("page%5Bsize%5D=" in p for p in gets), gets)
        self.assertTrue(any("page%5Bafter%5D=" in p for p in gets), gets)
        self.assertIn("dry run", err)   # the summary syslog line

    def test_dry_run_table(self):
        rc, out, err = self.sync()
        self.assertEqual(rc, 0, err)
        lines = out.strip().splitlines()
        self.assertTrue(lines[0].startswith("ACTION"), out)
        self.assertEqual(len(lines), 1 + 6 + 1, out)
        self.assertIn("suspend+end-user", out)
        self.assertRegex(lines[-1], r"16 Zendesk users listed, 11 ours, 6 would change")

    def test_apply_then_second_run_changes_nothing(self):
        # A 429 with Retry-After on the second page and a transient 500 on the first update.
        self.s.faults[("GET", 2)] = (429, [("Retry-After", "1")])
        self.s.faults[("PUT", 1)] = (500, [])
        before = state(self.s)
        rc, out, err = self.sync("--apply", "--json")
        self.assertEqual(rc, 0, err + out)
        got, j = self.changes(out)
        self.assertEqual(set(got), set(EXPECTED))
        self.assertEqual((j["changed"], j["failed"]), (6, 0))
        self.assertGreaterEqual(j["retries"], 2)
        after = state(self.s)
        for uid, st in after.items():
            self.assertEqual(st, EXPECTED.get(uid, before[uid]), f"user {uid}")
        statuses = [s for (_, _, s) in self.s.requests]
        self.assertIn(429, statuses)
        self.assertIn(500, statuses)
        # One syslog line per change, and a summary.
        change_lines = [l for l in err.splitlines() if ": sync: suspended" in l or ": sync: made end-user" in l]
        self.assertEqual(len(change_lines), 6, err)
        self.assertTrue(any("sync (apply): 16 Zendesk users listed, 11 ours, 6 to change, 6 changed, 0 failed" in l
                            for l in err.splitlines()), err)
        self.assertNotIn(TOKEN, err + out)

        puts = len(self.s.puts())
        rc, out, err = self.sync("--apply", "--json")
        self.assertEqual(rc, 0, err)
        got, j = self.changes(out)
        self.assertEqual(got, {})
        self.assertEqual(len(self.s.puts()), puts)
        self.assertEqual(state(self.s), after)

    def test_failed_update_exits_non_zero_and_a_rerun_finishes(self):
        for n in range(1, 7):   # every attempt at the first update fails
            self.s.faults[("PUT", n)] = (500, [])
        rc, out, err = self.sync("--apply", "--json")
        self.assertEqual(rc, 1, err)
        _, j = self.changes(out)
        self.assertEqual((j["changed"], j["failed"]), (5, 1))
        self.assertIn("could not change", err)
        rc, out, err = self.sync("--apply", "--json")
        self.assertEqual(rc, 0, err)
        got, j = self.changes(out)
        self.assertEqual(len(got), 1)
        for uid, st in state(self.s).items():
            if uid in EXPECTED:
                self.assertEqual(st, EXPECTED[uid])

    def test_safety_brake_when_most_look_departed(self):
        # NSS answers for nobody (a broken SSSD): everyone looks departed.
        f = Fixture(passwd="root:x:0:0:root:/root:/bin/bash\n",
                    api={"token_file": "api-token", "email": ADMIN, "email_domains": ["acme.com"]})
        self.addCleanup(f.tmp.cleanup)
        before = state(self.s)
        rc, out, err = f.run("--apply", origin=self.s.origin)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("safety brake", err)
        self.assertIn("nothing was changed", err)
        self.assertEqual(self.s.puts(), [])
        self.assertEqual(state(self.s), before)
        # The same with a one-off larger fraction goes through.
        rc, out, err = f.run("--json", "--max-fraction", "1", origin=self.s.origin)
        self.assertEqual(rc, 0, err)

    def test_bearer_token(self):
        f = Fixture(api={"oauth_token_file": "api-token", "email_domains": ["acme.com"], "max_change_fraction": 1})
        self.addCleanup(f.tmp.cleanup)
        s = Standin(USERS, bearer=TOKEN)
        with s:
            rc, out, err = f.run("--json", origin=s.origin)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(json.loads(out)["changes"]), 6)

    def test_token_file_permissions(self):
        os.chmod(os.path.join(self.f.dir, "api-token"), 0o644)
        rc, out, err = self.sync("--apply")
        self.assertEqual(rc, 2)
        self.assertIn("api.token_file", err)
        self.assertIn("world-readable", err)
        self.assertEqual(self.s.requests, [])

    def test_wrong_token_is_401_and_changes_nothing(self):
        self.f.write("api-token", "wrong-token\n", 0o600)
        before = state(self.s)
        rc, out, err = self.sync("--apply")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401", err)
        self.assertIn("nothing was changed", err)
        self.assertEqual(self.s.puts(), [])
        self.assertEqual(state(self.s), before)
        self.assertNotIn("wrong-token", err + out)

    def test_unreachable_api(self):
        rc, out, err = self.sync("--apply", origin=f"http://127.0.0.1:{free_port()}")
        self.assertEqual(rc, 1)
        self.assertIn("cannot list Zendesk users", err)
        self.assertIn("nothing was changed", err)

    def test_override_must_be_loopback(self):
        rc, out, err = self.sync(origin="https://acme.zendesk.com.evil.example")
        self.assertEqual(rc, 2)
        self.assertIn("not a loopback address", err)

    def test_needs_api_section_and_email_domains(self):
        f = Fixture(api={"token_file": "api-token", "email": ADMIN})
        self.addCleanup(f.tmp.cleanup)
        rc, out, err = f.run(origin=self.s.origin)
        self.assertEqual(rc, 2)
        self.assertIn("api.email_domains", err)
        self.assertEqual(self.s.requests, [])

    def test_links_next_on_another_origin_is_not_followed(self):
        # The token must never leave for a host the reply names.
        self.s.next_origin = "http://127.0.0.2:9"
        rc, out, err = self.sync("--apply")
        self.assertEqual(rc, 1)
        self.assertIn("is not on " + self.s.origin, err)
        self.assertIn("nothing was changed", err)
        self.assertEqual(len([r for r in self.s.requests if r[0] == "GET"]), 1)
        self.assertEqual(self.s.puts(), [])

    def test_uid_template(self):
        # external_id "linux-{uid}": the account is found by uid, and must make the same email.
        f = Fixture(external_id="linux-{uid}")
        self.addCleanup(f.tmp.cleanup)
        users = [zd(1, "alice@acme.com", "linux-1000", "agent"),   # uid 1000 is alice: kept
                 zd(2, "carol@acme.com", "linux-1002"),            # no uid 1002: suspend
                 zd(3, "mallory@acme.com", "linux-1001"),          # uid 1001 is bob, not mallory: not ours
                 zd(4, "bob@acme.com", "bob")]                     # not the template's shape: not ours
        with Standin(users, email=ADMIN, token=TOKEN) as s:
            rc, out, err = f.run("--json", "--max-fraction", "1", origin=s.origin)
        self.assertEqual(rc, 0, err)
        got, j = self.changes(out)
        self.assertEqual(got, {2: (True, None)})
        self.assertEqual(j["ours"], 2)

    def test_check_names_an_unusable_token_file(self):
        os.chmod(os.path.join(self.f.dir, "api-token"), 0o644)
        env = dict(os.environ)
        env.pop("ZENDESK_SSO_CONFIG", None)
        p = subprocess.run([CLI, "--config", self.f.config, "check"], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("api.token_file: ", p.stderr)
        self.assertIn("world-readable", p.stderr)


class LastRun(unittest.TestCase):
    """Issue 24.1: `sync --apply` records its last run in metrics.sync_file,
    a file the package makes (the unit may write it, not create it), and
    the CGI's GET /metrics shows it. A dry run is not recorded."""

    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)
        self.sync_file = os.path.join(self.f.dir, "sync-last-run")
        with open(self.f.config) as f:
            cfg = json.load(f)
        cfg["network"] = {"ip_ranges": ["127.0.0.0/8"]}
        cfg["metrics"] = {"enabled": True, "cgi_file": "", "sync_file": self.sync_file}
        self.f.write("config.json", json.dumps(cfg), 0o644)
        self.s = Standin(USERS, email=ADMIN, token=TOKEN)
        self.s.__enter__()
        self.addCleanup(self.s.__exit__)

    def scrape(self):
        env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "SCRIPT_NAME": "/zendesk",
               "REMOTE_ADDR": "127.0.0.1", "ZENDESK_SSO_CONFIG": self.f.config}
        p = subprocess.run([os.environ["ZSSO_CGI"]], env=env, capture_output=True, text=True, timeout=30)
        head, _, body = p.stdout.partition("\n\n")   # text=True: CRLF read as LF
        self.assertIn("Status: 200", head, p.stdout + p.stderr)
        check = subprocess.run(["promtool", "check", "metrics"], input=body,
                               text=True, capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        return {m[0]: int(m[1]) for m in re.findall(r"^zendesk_sso_sync_last_run_(\w+) (\d+)$", p.stdout, re.M)}

    def test_applied_runs_are_recorded_and_dry_runs_are_not(self):
        with Standin(USERS, email=ADMIN, token=TOKEN) as first:
            rc, _, err = self.f.run("--apply", origin=first.origin)
        self.assertIn("not recorded", err, "no file: the run says so, and still works")
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.sync_file), "the sync never creates it: the package does")
        self.f.write("sync-last-run", "", 0o664)
        self.assertEqual(self.scrape(), {}, "no run recorded yet")
        # Every try of the first update fails: of 6 changes, 5 are made, 1 fails.
        for n in range(1, 7):
            self.s.faults[("PUT", n)] = (500, [])
        started = int(time.time())
        rc, out, err = self.f.run("--apply", origin=self.s.origin)
        self.assertEqual(rc, 1, out + err)
        got = self.scrape()
        self.assertEqual({k: v for k, v in got.items() if k != "timestamp_seconds"},
                         {"changes": 5, "failures": 1, "braked": 0}, got)
        self.assertGreaterEqual(got["timestamp_seconds"], started)
        # A dry run changes nothing in Zendesk, nor the record.
        rc, _, err = self.f.run(origin=self.s.origin)
        self.assertEqual(self.scrape(), got)
        # The brake: recorded, nothing changed.
        rc, _, err = self.f.run("--apply", "--max-fraction", "0.01", origin=self.s.origin)
        self.assertIn("safety brake", err)
        got = self.scrape()
        self.assertEqual((got["changes"], got["failures"], got["braked"]), (0, 0, 1), got)
        self.assertEqual(os.stat(self.sync_file).st_mode & 0o7777, 0o664, "still the package's mode")
        # A list Zendesk refuses (a wrong token): nothing changed, one failure.
        with Standin(USERS, email=ADMIN, token=TOKEN + "-other") as refusing:
            rc, _, err = self.f.run("--apply", origin=refusing.origin)
        self.assertEqual(rc, 1, err)
        got = self.scrape()
        self.assertEqual((got["changes"], got["failures"], got["braked"]), (0, 1, 0), got)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
