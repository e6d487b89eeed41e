#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso CLI: check, mint, verify, ip-test against the full example
config (examples/config-full.json), with fake users from nss_wrapper and
tokens checked by PyJWT; check refusing the shipped config's placeholders
(examples/config.json)."""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import jwt  # python3-jwt: the independent implementation

CLI = sys.argv[1]
EXAMPLE = sys.argv[2]
SHIPPED = sys.argv[3]
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
SECRET = "s3cr3tZ9" * 6  # 48 alphanumerics, like Zendesk's


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Fixture:
    """A temp dir with the example config (secret paths pointed inside it),
    those files and nss_wrapper users."""

    def __init__(self, example=EXAMPLE):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        with open(example) as f:
            text = f.read()
        text = text.replace('"/etc/zendesk-sso/secret"', '"secret"')
        text = text.replace('"/etc/zendesk-sso/secret-agents"', '"secret-agents"')
        self.config = self.write("config.json", text, 0o644)
        self.write("secret", SECRET + "\n", 0o600)
        self.write("secret-agents", "agents" + SECRET + "\n", 0o640)
        self.passwd = self.write("passwd", "\n".join([
            "root:x:0:0:root:/root:/bin/bash",
            "alice:x:1000:1000:Alice Liddell,Room 1,,:/home/alice:/bin/bash",
            "bob:x:1001:1001::/home/bob:/bin/bash",
            "sys:x:500:500:System:/:/usr/sbin/nologin",
            "mallory:x:1002:1002:Mallory:/home/mallory:/bin/bash",
            "zoe:x:1003:1003:Zo\u00eb \u00d1and\u00fa \u674e:/home/zoe:/bin/bash",
        ]) + "\n", 0o644)
        self.group = self.write("group", "\n".join([
            "root:x:0:", "alice:x:1000:", "bob:x:1001:", "sys:x:500:", "mallory:x:1002:",
            "zoe:x:1003:",
            "staff:x:2000:alice,zoe", "zd-agents:x:2001:alice", "zd-admins:x:2002:zoe",
            "zd-denied:x:2003:mallory",
        ]) + "\n", 0o644)

    def write(self, name, text, mode):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run(self, *args, config=None, stdin=None, env=None):
        env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=self.passwd,
                   NSS_WRAPPER_GROUP=self.group, **(env or {}))
        env.pop("ZENDESK_SSO_CONFIG", None)
        # The config half of check; the deployment half (as the web server's
        # and the broker's users) is test_deployment.py's.
        if args and args[0] == "check":
            args = ("check", "--config-only", *args[1:])
        p = subprocess.run([CLI, "--config", config or self.config, *args], env=env,
                           input=stdin, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr


class Shipped(unittest.TestCase):
    """The shipped conffile: check refuses each placeholder, saying what to
    edit, until it is replaced; then it passes."""

    def setUp(self):
        self.f = Fixture(SHIPPED)
        self.addCleanup(self.f.tmp.cleanup)

    def test_placeholders_are_refused_with_what_to_edit(self):
        rc, out, err = self.f.run("check")
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "")
        self.assertIn(f'zendesk.subdomain: "YOUR-SUBDOMAIN" is the shipped placeholder: edit {self.f.config} '
                      "and set your SUBDOMAIN of SUBDOMAIN.zendesk.com", err)
        self.assertIn('claims.email: "{user}@example.invalid" is the shipped placeholder', err)
        self.assertIn('network.ip_ranges[0]: "192.0.2.0/24" is a documentation range (the shipped placeholder)', err)
        self.assertNotIn("profile", err, "no example profile to remove")

    def test_each_placeholder_alone_still_fails(self):
        with open(self.f.config) as fh:
            text = fh.read()
        edits = {"subdomain": ('"YOUR-SUBDOMAIN"', '"acme"'),
                 "email": ('"{user}@example.invalid"', '"{user}@acme.test"'),
                 "ranges": ('"192.0.2.0/24"', '"10.0.0.0/8"')}
        for left in edits:
            t = text
            for name, (old, new) in edits.items():
                if name != left:
                    t = t.replace(old, new)
            cfg = self.f.write(f"{left}.json", t, 0o644)
            with self.subTest(left=left):
                rc, out, err = self.f.run("check", config=cfg)
                self.assertEqual(rc, 1, out)
                self.assertEqual(len([l for l in err.splitlines() if "placeholder" in l]), 1, err)
        for old, new in edits.values():
            text = text.replace(old, new)
        rc, out, err = self.f.run("check", config=self.f.write("edited.json", text, 0o644))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^ok: .*https://acme\.zendesk\.com/access/jwt, 1 ip_ranges entry")

    def test_minted_claims_are_email_and_name_only(self):
        with open(self.f.config) as fh:
            text = fh.read().replace('"YOUR-SUBDOMAIN"', '"acme"')
        cfg = self.f.write("minted.json", text, 0o644)
        rc, out, err = self.f.run("mint", "alice", config=cfg)
        self.assertEqual(rc, 0, err)
        claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
        self.assertEqual(set(claims) - {"iat", "jti"}, {"email", "name"})


class CheckWebauthn(unittest.TestCase):
    """check with a webauthn section (issue 23.6), the config half: rp_id a
    name browsers accept, the origins' rules (the parser's), direct mode,
    user_verification, the PAM stack's skip line for key holders. Each
    finding names its key and the fix; the sound section passes."""

    PUBLIC_SUFFIXES = "/usr/share/publicsuffix/public_suffix_list.dat"

    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)
        self.pam_dir = os.path.join(self.f.dir, "pam.d")
        os.mkdir(self.pam_dir)

    def config(self, socket=None, **webauthn):
        section = {"rp_id": "example.com", "origins": ["https://sso.example.com"], **webauthn}
        with open(self.f.config) as fh:
            text = fh.read()
        text = text.replace('"version": 1,', '"version": 1, "webauthn": ' + json.dumps(section) + ",", 1)
        if socket is not None:
            old = '"socket": "/run/zendesk-sso/authd.sock"'
            self.assertIn(old, text)
            text = text.replace(old, f'"socket": {json.dumps(socket)}')
        return self.f.write("webauthn.json", text, 0o644)

    def check(self, config):
        return self.f.run("check", config=config, env={"PAM_WRAPPER_SERVICE_DIR": self.pam_dir})

    def assert_fails(self, config, *needles):
        rc, out, err = self.check(config)
        self.assertEqual((rc, out), (1, ""), f"check passed a broken section: {out}{err}")
        for n in needles:
            self.assertIn(n, err)
        return err

    def test_a_sound_section_passes_and_is_summed_up(self):
        rc, out, err = self.check(self.config(user_verification="required"))
        self.assertEqual(rc, 0, err)
        self.assertIn("ok: security keys: rp_id example.com, origins https://sso.example.com, user verification "
                      "required, store /var/lib/zendesk-sso/webauthn/authfile, enrolment takes any key model\n", out)
        self.assertNotIn("webauthn", err)
        rc, out, err = self.check(self.config(aaguids=["CB69481E-8FF7-4039-93EC-0A2729A154A8"]))
        self.assertEqual(rc, 0, err)
        self.assertIn(", enrolment takes 1 key model(s) (webauthn.aaguids)\n", out)
        err = self.assert_fails(self.config(aaguids=["cb69481e8ff7403993ec0a2729a154a8"]))
        self.assertIn('webauthn.aaguids[0]: "cb69481e8ff7403993ec0a2729a154a8" is not an AAGUID', err)
        # A parent domain of the origins' hosts, and a name under a public suffix, are rp_ids too.
        rc, out, err = self.check(self.config(rp_id="acme.co.uk", origins=["https://sso.eu.acme.co.uk"]))
        self.assertEqual(rc, 0, err)

    def test_a_top_level_domain_is_refused_naming_the_fix(self):
        err = self.assert_fails(self.config(rp_id="com", origins=["https://sso.example.com"]))
        self.assertIn('webauthn.rp_id: "com" is a top-level domain: browsers refuse a key for it\n'
                      f'  fix: edit {self.f.config.replace("config.json", "webauthn.json")}: "rp_id": '
                      '"sso.example.com" (the sign-in page\'s host, or a parent domain of it that is yours)', err)
        self.assertEqual(err.count("top-level domain"), 1, "one message, not one per profile")

    def test_a_public_suffix_is_refused(self):
        if not os.path.exists(self.PUBLIC_SUFFIXES):
            self.skipTest("Debian's publicsuffix is not installed")
        for rp_id, origin in (("co.uk", "https://sso.acme.co.uk"), ("github.io", "https://acme.github.io"),
                              ("anything.ck", "https://sso.anything.ck")):   # *.ck: a wildcard rule
            with self.subTest(rp_id=rp_id):
                self.assert_fails(self.config(rp_id=rp_id, origins=[origin]),
                                  f'webauthn.rp_id: "{rp_id}" is a public suffix ({self.PUBLIC_SUFFIXES}), a name '
                                  "anyone may register under: browsers refuse a key for it",
                                  f'"rp_id": "{origin[8:]}"')
        # !www.ck: the exception to *.ck is a registrable name.
        rc, out, err = self.check(self.config(rp_id="www.ck", origins=["https://www.ck"]))
        self.assertEqual(rc, 0, err)

    def test_origins_must_be_https_and_on_rp_id(self):
        # The parser's rules, through check: the key is named, nothing else is checked.
        self.assert_fails(self.config(origins=["http://sso.example.com"]),
                          'webauthn.origins[0]: "http://sso.example.com" is not an origin like https://sso.example.com '
                          "(http only for localhost")
        self.assert_fails(self.config(origins=["https://sso.example.com", "https://sso.example.org"]),
                          'webauthn.origins[1]: "https://sso.example.org" is not on webauthn.rp_id "example.com"')
        self.assert_fails(self.config(origins=["https://sso.example.com/login"]), 'webauthn.origins[0]: ')

    def test_localhost_is_a_warning_for_tests_only(self):
        rc, out, err = self.check(self.config(rp_id="localhost", origins=["http://localhost:8080"]))
        self.assertEqual(rc, 0, err)
        self.assertIn('warning: webauthn.rp_id: "localhost" is for tests and demos: only a browser on the broker\'s '
                      "own machine can use a key", err)
        self.assertIn("fix: edit ", err)

    def test_direct_mode_is_refused(self):
        self.assert_fails(self.config(socket=""),
                          "webauthn: direct mode (broker.socket is empty) cannot ask for a key, so it refuses every "
                          "password sign-in while webauthn.rp_id is set\n  fix: run zendesk-sso-authd")

    def test_user_verification_discouraged_is_a_warning(self):
        rc, out, err = self.check(self.config(user_verification="discouraged"))
        self.assertEqual(rc, 0, err)
        self.assertIn('warning: webauthn.user_verification: "discouraged": keys are asked not to check their PIN', err)
        self.assertIn('fix: edit ', err)
        self.assertIn('"user_verification": "preferred"', err)
        rc, out, err = self.check(self.config(user_verification="preferred"))
        self.assertNotIn("user_verification", err)

    def test_a_code_stack_without_the_key_holders_skip_line(self):
        examples = os.path.join(os.path.dirname(os.path.abspath(SHIPPED)), "pam.d")
        with open(os.path.join(examples, "zendesk-sso-otp")) as fh:
            otp = fh.read()
        with open(os.path.join(examples, "zendesk-sso-webauthn")) as fh:
            keys = fh.read()
        self.assertNotIn("ZSSO_WEBAUTHN", otp)
        service = os.path.join(self.pam_dir, "zendesk-sso")
        with open(service, "w") as fh:
            fh.write(otp)
        rc, out, err = self.check(self.config())
        self.assertEqual(rc, 0, err)
        self.assertIn(f"warning: pam.service: {service} asks a one-time code (pam_oath.so) and never tests "
                      "ZSSO_WEBAUTHN: a key holder is asked for the code, then for the key\n  fix: before "
                      "pam_oath.so's line, one that skips the code's lines for key holders, e.g. auth "
                      "[success=2 default=ignore] pam_exec.so quiet /usr/bin/printenv ZSSO_WEBAUTHN (the whole "
                      "stack: /usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-webauthn)", err)
        with open(service, "w") as fh:
            fh.write(keys)
        rc, out, err = self.check(self.config())
        self.assertEqual(rc, 0, err)
        self.assertNotIn("ZSSO_WEBAUTHN", err)
        # Without the section the OTP stack is right as it is.
        with open(service, "w") as fh:
            fh.write(otp)
        rc, out, err = self.f.run("check", env={"PAM_WRAPPER_SERVICE_DIR": self.pam_dir})
        self.assertEqual(rc, 0, err)
        self.assertNotIn("ZSSO_WEBAUTHN", err)
        self.assertNotIn("security keys", out)


class Check(unittest.TestCase):
    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)

    def variant(self, old, new):
        with open(self.f.config) as fh:
            text = fh.read()
        self.assertIn(old, text)
        return self.f.write("variant.json", text.replace(old, new, 1), 0o644)

    def test_shipped_example_passes(self):
        rc, out, err = self.f.run("check")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^ok: .*acme\.zendesk\.com/access/jwt.*3 ip_ranges")
        self.assertIn("1 profile(s) checked", out)

    def test_log_format_is_checked_and_reported(self):
        rc, out, err = self.f.run("check", config=self.variant('"version": 1,', '"version": 1, "log": {"format": "json"},'))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^ok: .*, log json")
        self.assert_check_fails(self.variant('"version": 1,', '"version": 1, "log": {"format": "xml"},'),
                                'log.format: "xml" must be "text"')
        self.assert_check_fails(self.variant('"version": 1,', '"version": 1, "metrics": {"scrapers": ["10.1/8"]},'),
                                "metrics.scrapers[0]")

    def assert_check_fails(self, config, *needles):
        rc, out, err = self.f.run("check", config=config)
        self.assertEqual(rc, 1, f"check passed a broken config: {out}{err}")
        self.assertEqual(out, "")
        for n in needles:
            self.assertIn(n, err)
        return err

    def test_broken_variants_name_the_reason(self):
        cases = [
            ('"10.0.0.0/8"', '"10.0.0.0/33"', 'network.ip_ranges[0]: "10.0.0.0/33"'),
            ('"10.0.0.0/8"', '"1.2.3"', 'network.ip_ranges[0]: "1.2.3"'),
            ('"fd00::/8"', '"::g"', 'network.ip_ranges[2]: "::g"'),
            ('"10.0.0.0/8"', '"0.0.0.0/0"', "leave ip_ranges empty"),
            ('"subdomain": "acme"', '"subdomain": "acme.zendesk.com"', "zendesk.subdomain"),
            ('"subdomain": "acme"', '"subdomian": "acme"', "zendesk.subdomian: unknown key"),
            ('"delivery": "post"', '"delivery": "redirect"', "zendesk.delivery"),
            ('"min_uid": 1000', '"min_uid": "1000"', "access.min_uid: must be an integer"),
            ('"allow_root": false', '"allow_root": 0', "access.allow_root: must be true or false"),
            ('"email": "{user}@acme.com"', '"email": "{usr}@acme.com"', "claims.email"),
            ('"zd-admins": "admin"', '"zd-admins": "superuser"', "claims.role_by_group.zd-admins"),
            ('"return_to_hosts": ["help.acme.com"]', '"return_to_hosts": ["https://help.acme.com/"]',
             "zendesk.return_to_hosts[0]"),
            ('"allowed_groups": ["zd-agents", "zd-admins"]', '"allowed_groups": "zd-agents"',
             "profiles.agents.access.allowed_groups: must be a list of strings"),
            ('"service": "zendesk-sso"', '"service": "../evil"', "pam.service"),
            ('"version": 1,', '"version": 2,', "version: only version 1"),
            ('"version": 1,', '"version": 1,,', "parse error"),
            ('"min_uid": 1000', '"min_uid": 1000, "min_uid": 0',
             "access.min_uid: given twice in one object"),
        ]
        for old, new, needle in cases:
            with self.subTest(new=new):
                self.assert_check_fails(self.variant(old, new), needle)

    def test_documentation_ranges_are_refused(self):
        for doc in ("192.0.2.0/24", "198.51.100.7", "203.0.113.0/25", "2001:db8::/32", "2001:db8:1::/48"):
            with self.subTest(doc=doc):
                self.assert_check_fails(self.variant('"fd00::/8"', json.dumps(doc)),
                                        f'network.ip_ranges[2]: "{doc}" is a documentation range')
        # A wider range that merely contains one is somebody's network.
        rc, out, err = self.f.run("check", config=self.variant('"fd00::/8"', '"2001:d00::/24"'))
        self.assertEqual(rc, 0, err)

    def test_every_problem_is_named_at_once(self):
        with open(self.f.config) as fh:
            text = fh.read()
        text = text.replace('"10.0.0.0/8"', '"10.0.0.0/33"').replace('"min_uid": 1000', '"min_uid": -1')
        cfg = self.f.write("two.json", text, 0o644)
        err = self.assert_check_fails(cfg, "network.ip_ranges[0]", "access.min_uid")
        self.assertGreaterEqual(len(err.strip().splitlines()), 2)

    def test_secret_file_problems(self):
        # Each refusal states the rule in the one wording and is followed by
        # the command that fixes it (issue 25.6). The example is in broker
        # mode: the broker's group (zendesk-sso) reads the secret.
        secret = os.path.join(self.f.dir, "secret")
        own = f"fix: chown root:zendesk-sso {secret} && chmod 0640 {secret}"
        os.chmod(secret, 0o644)
        err = self.assert_check_fails(self.f.config, "zendesk.secret_file",
                                      "world-readable (mode 0644); a secret is for its one reader: root:GROUP 0640",
                                      own)
        self.assertNotIn("check says which", err)
        os.chmod(secret, 0o620)
        self.assert_check_fails(self.f.config, "group- or world-writable", own)
        os.chmod(secret, 0o600)
        with open(secret, "w"):
            pass
        self.assert_check_fails(self.f.config, "empty; it must hold the shared secret from Zendesk's admin page",
                                f"fix: cat > {secret}   # paste the shared secret from Zendesk, Enter, Ctrl-D")
        os.remove(secret)
        self.assert_check_fails(self.f.config, "No such file",
                                f"fix: install -m 0640 -o root -g zendesk-sso /dev/null {secret} && cat > {secret}")
        os.symlink(os.path.join(self.f.dir, "secret-agents"), secret)
        self.assert_check_fails(self.f.config, "symbolic link",
                                f'fix: put the file itself there: cp --remove-destination "$(readlink -f {secret})"')
        os.remove(secret)
        self.f.write("secret", SECRET, 0o600)
        if os.geteuid() == 0:
            os.chown(secret, 65534, 65534)
            err = self.assert_check_fails(self.f.config, "owned by uid 65534, read here by root (uid 0); "
                                          "it must be owned by root or by the user that reads it", own)
            self.assertNotIn("must be owned by root or uid 0", err)
        # Every problem line has its fix line.
        for line in err.splitlines():
            if "zendesk.secret_file" in line:
                self.assertIn("\n" + line + "\n  fix: ", "\n" + err, err)

    def test_email_template_without_at_is_a_warning(self):
        cfg = self.variant('"email": "{user}@acme.com"', '"email": "{user}"')
        rc, out, err = self.f.run("check", config=cfg)
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: claims.email", err)

    def test_profile_on_the_base_service_with_its_own_secret_fails(self):
        cfg = self.variant('"pam": { "service": "zendesk-sso-agents" }', '"helper": {}')
        self.assert_check_fails(cfg, "profile agents: pam.service", "profile=agents")

    def test_retired_csrf_key_file_is_a_warning_and_not_opened(self):
        # Retired in issue 16: an old config still passes; check names the
        # key and never opens the file (here it does not even exist).
        with open(self.f.config) as fh:
            self.assertNotIn("csrf", fh.read(), "the shipped example no longer has the key")
        rc, out, err = self.f.run("check")
        self.assertNotIn("csrf", err)
        missing = os.path.join(self.f.dir, "no-such-csrf-key")
        cfg = self.variant('"helper": {', '"helper": { "csrf_key_file": ' + json.dumps(missing) + ",")
        rc, out, err = self.f.run("check", config=cfg)
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: helper.csrf_key_file: no longer used", err)
        self.assertIn("remove it", err)
        self.assertNotIn("No such file", err)

    def test_profile_secret_is_checked_too(self):
        os.remove(os.path.join(self.f.dir, "secret-agents"))
        self.assert_check_fails(self.f.config, "profile agents: zendesk.secret_file",
                                "or delete the profiles.agents block if Zendesk has no second JWT configuration")

    def test_world_writable_config_refused(self):
        os.chmod(self.f.config, 0o666)
        self.assert_check_fails(self.f.config, "group- or world-writable")

    def test_missing_config(self):
        self.assert_check_fails(os.path.join(self.f.dir, "nope.json"), "No such file")


class Mint(unittest.TestCase):
    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)

    def mint(self, *args):
        rc, out, err = self.f.run("mint", *args)
        return rc, out.strip(), err

    def test_token_verifies_with_pyjwt_and_claims_match(self):
        before = int(time.time())
        rc, token, err = self.mint("alice", "--rhost", "10.9.8.7")
        self.assertEqual(rc, 0, err)
        header = jwt.get_unverified_header(token)
        self.assertEqual(header, {"typ": "JWT", "alg": "HS256"})
        self.assertEqual(token.split(".")[0], b64url(b'{"typ":"JWT","alg":"HS256"}'))
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        self.assertTrue(before <= claims["iat"] <= int(time.time()))
        self.assertIsInstance(claims["iat"], int)
        self.assertRegex(claims["jti"], r"^[A-Za-z0-9_-]{22}$")
        self.assertEqual(claims["email"], "alice@acme.com")
        self.assertEqual(claims["name"], "Alice Liddell")
        self.assertEqual(claims["external_id"], "alice")
        self.assertEqual(claims["organization"], "Acme")
        self.assertEqual(claims["tags"], ["staff"])
        self.assertEqual(claims["role"], "agent")
        self.assertNotIn("user_fields", claims)  # empty in the example: not sent
        self.assertNotIn("exp", claims)
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(token, SECRET + "x", algorithms=["HS256"])

    def test_utf8_name_and_admin_role(self):
        rc, token, err = self.mint("zoe")
        self.assertEqual(rc, 0, err)
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        self.assertEqual(claims["name"], "Zo\u00eb \u00d1and\u00fa \u674e")
        self.assertEqual(claims["role"], "admin")

    def test_jti_unique(self):
        seen = set()
        for _ in range(5):
            rc, token, err = self.mint("bob")
            self.assertEqual(rc, 0, err)
            seen.add(jwt.decode(token, SECRET, algorithms=["HS256"])["jti"])
        self.assertEqual(len(seen), 5)

    def test_name_falls_back_to_user(self):
        rc, token, _ = self.mint("bob")
        self.assertEqual(jwt.decode(token, SECRET, algorithms=["HS256"])["name"], "bob")

    def test_policy_denials(self):
        for args, reason in [(["root"], "root is not allowed"),
                             (["sys"], "below access.min_uid"),
                             (["mallory"], "denied group"),
                             (["alice", "--rhost", "8.8.8.8"], "outside ip_ranges"),
                             (["alice", "--rhost", "garbage"], "not an IP address")]:
            with self.subTest(args=args):
                rc, out, err = self.mint(*args)
                self.assertEqual(rc, 1)
                self.assertEqual(out, "")
                self.assertIn(reason, err)

    def test_unknown_user(self):
        rc, out, err = self.mint("nosuchuser")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("unknown user", err)

    def test_profile_uses_its_own_secret_and_policy(self):
        p = subprocess.run([CLI, "--config", self.f.config, "--profile", "agents", "mint", "alice"],
                           env=dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=self.f.passwd,
                                    NSS_WRAPPER_GROUP=self.f.group), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        jwt.decode(p.stdout.strip(), "agents" + SECRET, algorithms=["HS256"])
        p = subprocess.run([CLI, "--config", self.f.config, "--profile", "agents", "mint", "bob"],
                           env=dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=self.f.passwd,
                                    NSS_WRAPPER_GROUP=self.f.group), capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("allowed_groups", p.stderr)

    def test_url_mode(self):
        rc, url, err = self.mint("alice", "--url")
        self.assertEqual(rc, 0, err)
        self.assertTrue(url.startswith("https://acme.zendesk.com/access/jwt?jwt="))


class Verify(unittest.TestCase):
    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)
        rc, out, err = self.f.run("mint", "alice")
        self.assertEqual(rc, 0, err)
        self.token = out.strip()

    def verify(self, token, *args):
        return self.f.run("verify", token, *args)

    def test_own_token_verifies_and_prints_claims(self):
        rc, out, err = self.verify(self.token)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["email"], "alice@acme.com")

    def test_stdin(self):
        rc, out, err = self.f.run("verify", "-", stdin=self.token + "\n")
        self.assertEqual(rc, 0, err)

    def test_pyjwt_token_verifies(self):
        now = int(time.time())
        token = jwt.encode({"iat": now, "jti": "x" * 22, "email": "a@b.c", "name": "N"}, SECRET,
                           algorithm="HS256")
        rc, out, err = self.verify(token)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["iat"], now)

    def assert_invalid(self, token, needle=""):
        rc, out, err = self.verify(token)
        self.assertEqual(rc, 1, f"accepted: {token}")
        self.assertEqual(out, "")
        self.assertIn("invalid", err)
        self.assertIn(needle, err)

    def test_one_changed_byte_anywhere(self):
        t = self.token
        for i in range(0, len(t)):
            if t[i] == ".":
                continue
            c = "A" if t[i] != "A" else "B"
            with self.subTest(i=i):
                self.assert_invalid(t[:i] + c + t[i + 1:])

    def test_wrong_secret(self):
        token = jwt.encode({"iat": int(time.time()), "jti": "j", "email": "a@b.c", "name": "N"},
                           "wrong" + SECRET, algorithm="HS256")
        self.assert_invalid(token, "signature")

    def test_alg_none(self):
        h, p, _ = self.token.split(".")
        none_header = b64url(b'{"typ":"JWT","alg":"none"}')
        self.assert_invalid(f"{none_header}.{p}.", "algorithm")
        self.assert_invalid(f"{none_header}.{p}.{self.token.split('.')[2]}", "algorithm")

    def test_hs512_refused(self):
        token = jwt.encode({"iat": int(time.time())}, SECRET, algorithm="HS512")
        self.assert_invalid(token, "algorithm")

    def test_truncated(self):
        for cut in (1, 10, 43, 44, len(self.token) // 2):
            with self.subTest(cut=cut):
                self.assert_invalid(self.token[:-cut])

    def test_old_iat(self):
        token = jwt.encode({"iat": int(time.time()) - 600, "jti": "j"}, SECRET, algorithm="HS256")
        self.assert_invalid(token, "iat")
        rc, _, err = self.verify(token, "--ignore-iat")
        self.assertEqual(rc, 0, err)
        rc, _, err = self.verify(token, "--skew", "900")
        self.assertEqual(rc, 0, err)

    def test_garbage(self):
        for t in ["", "a", "a.b", "a.b.c.d", "...", "\u00e9.\u00e9.\u00e9"]:
            with self.subTest(t=t):
                rc, out, err = self.verify(t)
                self.assertEqual(rc, 1)


class IpTest(unittest.TestCase):
    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)

    def test_ranges(self):
        for addr, want in [("10.1.2.3", 0), ("192.168.44.1", 0), ("fd12:3456::1", 0),
                           ("::ffff:10.0.0.1", 0), ("11.0.0.1", 1), ("2001:db9::1", 1),
                           ("127.0.0.1", 1)]:
            with self.subTest(addr=addr):
                rc, out, _ = self.f.run("ip-test", addr)
                self.assertEqual(rc, want, out)

    def test_bad_address_is_usage_error(self):
        rc, out, err = self.f.run("ip-test", "10.1.2")
        self.assertEqual(rc, 2)
        self.assertIn("not an IPv4 or IPv6 address", err)


class Session(unittest.TestCase):
    """session revoke-all / rotate on a config with a session section."""

    def setUp(self):
        self.f = Fixture()
        self.addCleanup(self.f.tmp.cleanup)
        self.key = os.path.join(self.f.dir, "session-key")
        self.previous = os.path.join(self.f.dir, "session-key.previous")
        with open(self.f.config) as fh:
            cfg = json.loads(re.sub(r"^\s*//.*$", "", fh.read(), flags=re.M))
        cfg["session"] = {"key_file": self.key, "previous_key_file": self.previous}
        self.config = self.f.write("session.json", json.dumps(cfg), 0o644)

    def key_text(self, path=None):
        with open(path or self.key) as fh:
            return fh.read()

    def test_revoke_all_makes_the_first_key_then_replaces_it(self):
        rc, out, err = self.f.run("session", "revoke-all", config=self.config)
        self.assertEqual(rc, 0, err)
        self.assertIn("every sign-in session has ended", out)
        first = self.key_text()
        self.assertRegex(first, r"^[A-Za-z0-9_-]{43}\n$")
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o640)
        os.chmod(self.key, 0o600)
        self.f.write("session-key.previous", "p" * 40 + "\n", 0o600)
        rc, out, err = self.f.run("session", "revoke-all", config=self.config)
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(self.key_text(), first)
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600, "the key file's mode is kept")
        self.assertFalse(os.path.exists(self.previous), "revoke-all drops the previous key")
        self.assertEqual(self.f.run("check", config=self.config)[0], 0)

    def test_rotate_keeps_the_old_key_as_previous(self):
        self.assertEqual(self.f.run("session", "revoke-all", config=self.config)[0], 0)
        old = self.key_text()
        rc, out, err = self.f.run("session", "rotate", config=self.config)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.key_text(self.previous), old)
        self.assertNotEqual(self.key_text(), old)
        self.assertIn("sessions go on until you remove it", out)

    def test_refusals_change_nothing(self):
        # rotate with no key yet, and without previous_key_file in the config
        rc, _, err = self.f.run("session", "rotate", config=self.config)
        self.assertEqual(rc, 1)
        self.assertFalse(os.path.exists(self.key))
        self.assertEqual(self.f.run("session", "revoke-all", config=self.config)[0], 0)
        key = self.key_text()
        with open(self.config) as fh:
            cfg = json.load(fh)
        del cfg["session"]["previous_key_file"]
        no_prev = self.f.write("no-prev.json", json.dumps(cfg), 0o644)
        rc, _, err = self.f.run("session", "rotate", config=no_prev)
        self.assertEqual(rc, 2)
        self.assertIn("session.previous_key_file is not set", err)
        self.assertEqual(self.key_text(), key)
        # sessions off: nothing to do
        rc, _, err = self.f.run("session", "revoke-all")
        self.assertEqual(rc, 2)
        self.assertIn("session.key_file is not set", err)
        for args in (["session"], ["session", "revoke"], ["session", "revoke-all", "x"]):
            self.assertEqual(self.f.run(*args, config=self.config)[0], 2)

    def test_check_advises_revoke_all_for_an_empty_session_key(self):
        # The guide's order: the config line, the empty file, then revoke-all.
        # Between the last two, check names the key and the command that
        # writes it, never "the shared secret from Zendesk" (issue 25.5).
        self.f.write("session-key", "", 0o640)
        rc, out, err = self.f.run("check", config=self.config)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"session: {self.key}: empty; it must hold a key: zendesk-sso session revoke-all writes one\n"
                      "  fix: zendesk-sso session revoke-all", err)
        self.assertNotIn("Zendesk's admin page", err)
        self.assertNotIn("paste", err)
        os.remove(self.key)
        rc, out, err = self.f.run("check", config=self.config)
        self.assertIn("  fix: zendesk-sso session revoke-all", err)
        self.assertEqual(self.f.run("session", "revoke-all", config=self.config)[0], 0)
        self.assertEqual(self.f.run("check", config=self.config)[0], 0)

    def test_check_names_a_bad_session_key(self):
        self.f.write("session-key", "short\n", 0o600)
        rc, out, err = self.f.run("check", config=self.config)
        self.assertEqual(rc, 1)
        self.assertIn("session: ", err)
        self.assertIn("shorter than 32 bytes", err)
        self.assertIn("  fix: zendesk-sso session revoke-all", err)


class Keys(unittest.TestCase):
    """keys list|remove|invite against a real store in a 0700 folder, with a
    line written by hand as pamu2fcfg writes it."""

    # pam_u2f's tests/credentials/new_ (pamu2fcfg), for the nss_wrapper user alice
    PAMU2FCFG = ("alice:vlcWFQFik8gJySuxMTlRwSDvnq9u/mlMXRIqv4rd7Kq2CJj1V9Uh9PqbTF8UkY3EcQfHeS0G3nY0ibyxXE0pdw==,"
                 "CTTRrHrqQmqfyI7/bhtAknx9TGCqhd936JdcoekUxUa6PNA6uYzsvFN0qaE+j2LchLPU4vajQPdAOcvvvNfWCA==,"
                 "es256,+presence")

    def setUp(self):
        self.f = Fixture()
        self.store = os.path.join(self.f.dir, "webauthn")
        os.mkdir(self.store, 0o700)
        self.authfile = os.path.join(self.store, "authfile")
        with open(self.f.config) as fh:
            cfg = json.loads(re.sub(r"^\s*//.*$", "", fh.read(), flags=re.M))
        cfg["webauthn"] = {"rp_id": "localhost", "origins": ["http://localhost:8080"], "authfile": self.authfile}
        self.config = self.f.write("keys.json", json.dumps(cfg), 0o644)

    def keys(self, *args):
        return self.f.run("keys", *args, config=self.config)

    def write_store(self, lines, side=None):
        self.f.write("webauthn/authfile", "".join(line + "\n" for line in lines), 0o600)
        if side is not None:
            self.f.write("webauthn/authfile.json", json.dumps({"version": 1, "credentials": side}), 0o600)

    @staticmethod
    def line(user, handle: bytes, key: bytes, options="+presence"):
        b64 = lambda b: base64.b64encode(b).decode()
        return f"{user}:{'*' if not handle else b64(handle)},{b64(key)},es256,{options}"

    def text(self, name):
        with open(os.path.join(self.store, name)) as fh:
            return fh.read()

    def test_list_shows_a_pamu2fcfg_line_and_the_side_files_count_never_the_key(self):
        pk = "CTTRrHrqQmqfyI7/bhtAknx9TGCqhd936JdcoekUxUa6PNA6uYzsvFN0qaE+j2LchLPU4vajQPdAOcvvvNfWCA=="
        resident_key = bytes(range(64))
        self.write_store([self.PAMU2FCFG, self.line("bob", b"", resident_key, "+verification")],
                         {pk: {"user": "alice", "sign_count": 41, "added": 1796630400}})
        rc, out, err = self.keys("list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["USER", "ID", "TYPE", "OPTIONS", "RESIDENT", "SIGN-COUNT", "ADDED"])
        self.assertEqual(lines[1].split(), ["alice", "vlcWFQFik8gJ", "es256", "+presence", "no", "41",
                                            "2026-12-07", "08:00", "UTC"])
        bob = lines[2].split()
        self.assertEqual(bob[0], "bob")
        self.assertTrue(bob[1].startswith("*") and len(bob[1]) < 20, bob)
        self.assertEqual(bob[3:7], ["+verification", "yes", "0", "-"])
        self.assertNotIn(pk, out)
        self.assertNotIn(b64url(resident_key), out)
        self.assertNotIn(base64.b64encode(resident_key).decode(), out)
        rc, out, err = self.keys("list", "bob")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 2)
        rc, out, err = self.keys("list", "zoe")
        self.assertEqual((rc, out), (0, f"no security keys of zoe in {self.authfile}\n"))

    def test_remove_takes_the_printed_id_and_keeps_the_rest(self):
        other = self.line("alice", b"\x01" * 40, bytes(64))
        self.write_store([self.PAMU2FCFG + ":" + other.split(":", 1)[1], self.line("bob", b"\x02" * 40, bytes([2]) * 64)])
        before = self.text("authfile")
        rc, out, err = self.keys("remove", "alice", "vlcWFQFik8gJ")
        self.assertEqual(rc, 0, err)
        self.assertIn("removed alice's es256 key vlcWFQFik8gJ", out)
        self.assertIn("sign-in sessions", out)
        after = self.text("authfile")
        self.assertNotIn("vlcWFQFik8gJ", after)
        self.assertIn(base64.b64encode(b"\x01" * 40).decode(), after)
        self.assertEqual(after.splitlines()[1], before.splitlines()[1], "bob's line is untouched")
        self.assertEqual(os.stat(self.authfile).st_mode & 0o777, 0o600, "the file's mode is kept")
        rc, out, err = self.keys("remove", "alice", "--all")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("alice", self.text("authfile"))
        rc, out, err = self.keys("remove", "alice", "--all")
        self.assertEqual(rc, 2)
        self.assertIn('no security key is enrolled for "alice"', err)

    def test_an_ambiguous_or_unknown_prefix_changes_nothing(self):
        one, two = b"\xfb" * 30 + b"one", b"\xfb" * 30 + b"two"
        self.write_store([self.line("alice", one, bytes([1]) * 64) + ":" + self.line("x", two, bytes([2]) * 64).split(":", 1)[1]])
        before = self.text("authfile")
        rc, out, err = self.keys("list")
        ids = [line.split()[1] for line in out.splitlines()[1:]]
        # the printed ids grow until they differ
        self.assertTrue(b64url(one).startswith(ids[0]) and b64url(two).startswith(ids[1]), ids)
        self.assertGreater(len(ids[0]), 40)
        self.assertNotEqual(ids[0], ids[1])
        rc, out, err = self.keys("remove", "alice", "-_v7")
        self.assertEqual(rc, 2)
        self.assertIn('"-_v7" names 2 keys of "alice"', err)
        for i in ids:
            self.assertIn(i, err)
        rc, out, err = self.keys("remove", "alice", "AAAA")
        self.assertEqual(rc, 2)
        self.assertIn('starting with "AAAA"', err)
        self.assertEqual(self.text("authfile"), before)
        rc, out, err = self.keys("remove", "alice", ids[1])
        self.assertEqual(rc, 0, err)

    def test_invite_prints_a_code_and_stores_only_its_hash(self):
        rc, out, err = self.keys("invite", "alice", "--minutes", "30")
        self.assertEqual(rc, 0, err)
        m = re.match(r"enrolment code for alice: ([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\n"
                     r"valid once, until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(30 minutes\)", out)
        self.assertTrue(m, out)
        code = m.group(1)
        stored = json.loads(self.text("authfile.invites.json"))
        self.assertEqual(list(stored["invites"]), ["alice"])
        self.assertNotIn(code.replace("-", ""), json.dumps(stored))
        self.assertEqual(os.stat(os.path.join(self.store, "authfile.invites.json")).st_mode & 0o777, 0o600)
        rc, out2, err = self.keys("invite", "alice")
        self.assertEqual(rc, 0, err)
        self.assertIn("(15 minutes)", out2)
        self.assertNotEqual(json.loads(self.text("authfile.invites.json"))["invites"]["alice"]["sha256"],
                            stored["invites"]["alice"]["sha256"], "a new invite replaces the old")

    def test_bad_arguments_name_themselves(self):
        for args, words in ((["invite", "alice", "--minutes", "0"], '--minutes "0"'),
                            (["invite", "alice", "--minutes", "1441"], '--minutes "1441"'),
                            (["invite", "alice", "--minutes", "ten"], '--minutes "ten"'),
                            (["invite", "nobody-here"], 'no account "nobody-here"'),
                            (["frob"], 'unknown subcommand "frob"'),
                            (["remove", "alice"], "usage: keys"),
                            (["remove", "alice", "x", "--all"], "usage: keys"),
                            (["list", "a", "b"], "usage: keys"),
                            (["list", "--bogus"], "--bogus"),
                            ([], "usage: keys")):
            with self.subTest(args=args):
                rc, out, err = self.keys(*args)
                self.assertEqual(rc, 2, err)
                self.assertIn(words, err)
        self.assertFalse(os.path.exists(os.path.join(self.store, "authfile.invites.json")))

    def test_a_store_others_may_write_is_refused(self):
        self.write_store([self.PAMU2FCFG])
        os.chmod(self.authfile, 0o620)
        rc, out, err = self.keys("list")
        self.assertEqual(rc, 1)
        self.assertIn("group- or world-writable", err)
        rc, out, err = self.keys("remove", "alice", "--all")
        self.assertEqual(rc, 2)
        self.assertIn(self.PAMU2FCFG, self.text("authfile"))


class Usage(unittest.TestCase):
    def test_help_and_errors(self):
        p = subprocess.run([CLI, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for cmd in ("check", "mint", "verify", "ip-test", "session revoke-all", "session rotate", "keys list",
                    "keys remove", "keys invite"):
            self.assertIn(cmd, p.stdout)
        for args in ([], ["frobnicate"], ["--bogus", "check"], ["mint"], ["verify"],
                     ["mint", "alice", "--rhost"]):
            with self.subTest(args=args):
                p = subprocess.run([CLI, "--config", "/nonexistent", *args], capture_output=True,
                                   text=True)
                self.assertEqual(p.returncode, 2, p.stderr)


    def test_check_options(self):
        for args in (["check", "extra"], ["check", "--web-user"], ["check", "--config-only", "--web-user", "x"]):
            with self.subTest(args=args):
                p = subprocess.run([CLI, "--config", EXAMPLE, *args], capture_output=True, text=True)
                self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
