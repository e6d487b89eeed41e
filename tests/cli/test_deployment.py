#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso check, deployment half, against real users (root only): throwaway
system users for the web server and the broker, a real zendesk-sso-authd
--listen, and each broken deployment of issue 18.3. check must fail naming
the problem and print a fix; where the fix is a command, running it must
make check pass."""
import base64
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.asymmetric import ec

CLI = sys.argv[1]
AUTHD = sys.argv[2]
SHIPPED = sys.argv[3]
IS_ROOT = os.geteuid() == 0
TAG = f"{os.getpid() % 100000}"
WEB, BROKER, OTHER = f"zsso-tw{TAG}", f"zsso-tb{TAG}", f"zsso-tx{TAG}"


def unused_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def setUpModule():
    if not IS_ROOT:
        raise unittest.SkipTest("needs root to create users and run check as them (CI runs as root)")
    for name in (WEB, BROKER, OTHER):
        sh("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
           "--shell", "/usr/sbin/nologin", "--user-group", name)


def tearDownModule():
    if not IS_ROOT:
        return
    for name in (WEB, BROKER, OTHER):
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


class DeploymentCase(unittest.TestCase):
    """A deployment in a temp folder: the shipped config with its
    placeholders filled in, paths pointed inside, files with the modes the
    README's rule gives them, and the broker listening on a socket of the
    web server's group."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zsso-deploy-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.config = os.path.join(self.dir, "config.json")
        self.secret = os.path.join(self.dir, "secret")
        self.socket = os.path.join(self.dir, "authd.sock")
        self.apache = os.path.join(self.dir, "apache2")   # no Apache conf: no HTTPS warning to guess at
        os.mkdir(self.apache)
        self.nginx = os.path.join(self.dir, "nginx")     # nor an nginx one
        os.mkdir(self.nginx)
        self.write_config([WEB])
        self.write(self.secret, base64.b64encode(os.urandom(36)).decode() + "\n", BROKER, 0o640)
        self.broker = None
        self.start_broker()
        self.addCleanup(self.stop_broker)

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read()

    def write(self, path, text, group, mode):
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, 0, grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)

    def write_config(self, peers):
        with open(SHIPPED) as f:
            text = f.read()
        peers_json = "[" + ", ".join(f'"{p}"' for p in peers) + "]"
        for old, new in (('"YOUR-SUBDOMAIN"', '"acme"'), ("example.invalid", "acme.test"),
                         ('"192.0.2.0/24"', '"10.0.0.0/8"'),
                         ('"/etc/zendesk-sso/secret"', f'"{self.dir}/secret"'),
                         ('"/run/zendesk-sso/authd.sock"', f'"{self.socket}"'),
                         ('"allowed_peers": ["www-data"]', f'"allowed_peers": {peers_json}')):
            self.assertIn(old, text)
            text = text.replace(old, new)
        self.write(self.config, text, "root", 0o644)

    def start_broker(self, group=WEB):
        self.stop_broker()
        self.log = os.path.join(self.dir, f"authd-{time.monotonic_ns()}.log")
        with open(self.log, "w") as log:
            self.broker = subprocess.Popen([AUTHD, "--config", self.config, "--listen", self.socket,
                                            "--socket-group", group, "--log-stderr"],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        for _ in range(500):
            if "listening on" in self.read(self.log) or self.broker.poll() is not None:
                break
            time.sleep(0.01)
        self.assertIsNone(self.broker.poll(), self.read(self.log))

    def stop_broker(self):
        if self.broker and self.broker.poll() is None:
            self.broker.send_signal(signal.SIGTERM)
            self.broker.wait(30)
        self.broker = None

    def check(self, *extra, web=WEB):
        argv = [CLI, "--config", self.config, "check", "--apache-dir", self.apache, "--nginx-dir", self.nginx,
                "--broker-user", BROKER, *extra]
        if web:
            argv += ["--web-user", web]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        return p.returncode, p.stdout, p.stderr

    def assert_fails(self, *needles):
        rc, out, err = self.check()
        self.assertEqual(rc, 1, f"check passed a broken deployment:\n{out}{err}")
        for n in needles:
            self.assertIn(n, err)
        return err

    def assert_fixed_by_its_fix(self, *needles):
        """check fails naming each needle; its chown/chmod fixes make it pass."""
        err = self.assert_fails(*needles)
        self.run_fixes(err)
        self.assertEqual(self.check()[0], 0, "the fix did not fix it")
        return err

    def run_fixes(self, err):
        """Runs every 'fix:' that is a command (chown/chmod/systemctl ...)."""
        fixes = re.findall(r"^  fix: ((?:chown|chmod|chgrp) .*)$", err, re.M)
        self.assertTrue(fixes, f"no command to run in:\n{err}")
        for fix in fixes:
            subprocess.run(fix, shell=True, check=True)



class Deployment(DeploymentCase):
    def test_sound_deployment_passes(self):
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"ok: files open as {WEB} (web server, --web-user) and {BROKER} (broker, --broker-user)", out)
        self.assertIn(f"ok: the broker answered a ping from {WEB}", out)
        self.assertRegex(out, r"ok: .*config\.json: https://acme\.zendesk\.com/access/jwt")
        web_uid = pwd.getpwnam(WEB).pw_uid
        self.assertIn(f"ping: ok (uid {web_uid} ", self.read(self.log), "the ping came from the web user")

    def test_retired_csrf_key_file_is_not_opened(self):
        # Retired in issue 16: the web server needs no key; a leftover
        # csrf_key_file naming a file it cannot read is no problem.
        with open(self.config) as f:
            text = f.read()
        csrf = os.path.join(self.dir, "csrf-key")
        self.write(csrf, base64.b64encode(os.urandom(32)).decode() + "\n", "root", 0o600)
        with open(self.config, "w") as f:
            f.write(text.replace('"helper": {', '"helper": { "csrf_key_file": "' + csrf + '",', 1))
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("Permission denied", out + err)

    def test_allowed_peers_names_a_missing_user_and_not_the_web_server(self):
        self.write_config(["nosuchuser-zsso", OTHER])
        self.assert_fails('broker.allowed_peers: "nosuchuser-zsso" is not a user on this host',
                          f"broker.allowed_peers does not include the web server's user {WEB}",
                          f"broker: the broker refused {WEB} (the web server's user): not in broker.allowed_peers",
                          f'add "{WEB}" to broker.allowed_peers')

    def test_ping_refused_by_a_broker_with_other_peers_says_so(self):
        # check's config admits the web server; the broker reads another
        # that does not: the ping's refusal is named as what happened
        # (issue 25.11), not as "no answer … unavailable (peer not in …)".
        other = os.path.join(self.dir, "broker.json")
        with open(self.config) as f:
            text = f.read()
        self.write(other, text.replace(f'"allowed_peers": ["{WEB}"]', f'"allowed_peers": ["{OTHER}"]'), "root", 0o644)
        self.stop_broker()
        log = os.path.join(self.dir, "other.log")
        with open(log, "w") as fh:
            self.broker = subprocess.Popen([AUTHD, "--config", other, "--listen", self.socket,
                                            "--socket-group", WEB, "--log-stderr"],
                                           stdin=subprocess.DEVNULL, stdout=fh, stderr=fh)
        for _ in range(500):
            if "listening on" in self.read(log):
                break
            time.sleep(0.01)
        err = self.assert_fails(f"broker: the broker refused {WEB} (the web server's user): not in "
                                "broker.allowed_peers of the config it reads\n"
                                f'  fix: add "{WEB}" to broker.allowed_peers in the broker\'s config {self.config}')
        self.assertNotIn("no answer to a ping", err)
        self.assertNotIn("unavailable (peer not in", err)

    def test_allowed_peers_by_group(self):
        self.write_config([f"@{WEB}"])
        self.assertEqual(self.check()[0], 0)
        self.write_config(["@nosuchgroup-zsso"])
        self.assert_fails('broker.allowed_peers: "@nosuchgroup-zsso" names no group on this host')

    def test_socket_group_wrong(self):
        self.start_broker(group=OTHER)
        self.assert_fails(f"broker.socket: {self.socket} is root:{OTHER} 0660: the web server's user {WEB} "
                          "may not connect to it",
                          f"--socket-group {WEB} --socket-mode 0660")

    def test_broker_not_running(self):
        self.stop_broker()
        self.assert_fails(f"broker.socket: {self.socket}: No such file or directory: the broker is not listening",
                          f"fix: start the broker: zendesk-sso-authd --listen {self.socket}")

    def test_broker_cannot_load_its_config(self):
        # The broker reads its own copy per connection; break it after the start.
        other = os.path.join(self.dir, "broker.json")
        shutil.copy(self.config, other)
        self.stop_broker()
        with open(os.path.join(self.dir, "b.log"), "w") as log:
            self.broker = subprocess.Popen([AUTHD, "--config", other, "--listen", self.socket,
                                            "--socket-group", WEB, "--log-stderr"],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        for _ in range(500):
            if "listening on" in self.read(os.path.join(self.dir, "b.log")):
                break
            time.sleep(0.01)
        self.assertTrue(os.path.exists(self.socket))
        with open(other, "a") as f:
            f.write("{ broken")
        self.assert_fails(f"broker: no answer to a ping as the web server's user {WEB}",
                          "broker cannot load its configuration",
                          f"runuser -u {BROKER} -- zendesk-sso check --config-only")

    def test_secret_readable_by_root_only(self):
        os.chown(self.secret, 0, 0)
        os.chmod(self.secret, 0o600)
        err = self.assert_fails(f"zendesk.secret_file: as {BROKER} (broker): {self.secret}: Permission denied",
                                f"fix: chown root:{BROKER} {self.secret} && chmod 0640 {self.secret}")
        self.run_fixes(err)
        self.assertEqual(self.check()[0], 0)

    def test_secret_mode_rule(self):
        # Readable by the broker, but not by the rule: root:BROKER 0640 and nothing else.
        os.chmod(self.secret, 0o440)
        err = self.assert_fails(f"zendesk.secret_file: {self.secret} is root:{BROKER} 0440; the rule is "
                                f"root:{BROKER} 0640 (read by the broker's user {BROKER} only)")
        self.run_fixes(err)
        self.assertEqual(self.check()[0], 0)

    def test_web_server_can_read_the_secret(self):
        os.chown(self.secret, 0, grp.getgrnam(WEB).gr_gid)
        sh("usermod", "-a", "-G", WEB, BROKER)
        self.addCleanup(sh, "gpasswd", "-d", BROKER, WEB)
        self.assert_fails(f"is readable by the web server's user {WEB}; in broker mode only the broker may read it")

    def test_web_user_from_apache_envvars(self):
        with open(os.path.join(self.apache, "envvars"), "w") as f:
            f.write(f"# Debian's\nexport APACHE_RUN_USER={WEB}\nexport APACHE_RUN_GROUP={WEB}\n")
        os.mkdir(os.path.join(self.apache, "conf-enabled"))
        with open(os.path.join(self.apache, "conf-enabled", "zendesk-sso.conf"), "w") as f:
            f.write("ScriptAlias /zendesk /usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi\n")
        port = unused_port()   # no Apache runs here: asking it for /health is a warning
        with open(os.path.join(self.apache, "ports.conf"), "w") as f:
            f.write(f"Listen {port}\n")
        rc, out, err = self.check(web=None)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"files open as {WEB} (web server, {self.apache}/envvars)", out)
        self.assertIn(f"warning: web server: GET http://127.0.0.1:{port}/zendesk/health (Apache, {self.apache}/"
                      "conf-enabled/zendesk-sso.conf): ", err)
        self.assertIn("is Apache running? The CGI was not tried", err)
        # The conf is enabled, and nothing serves it over HTTPS.
        self.assertIn("warning: Apache serves /zendesk/login over plain HTTP only (mod_ssl is not enabled)", err)
        self.assertIn("a2enmod ssl && a2ensite default-ssl", err)
        os.mkdir(os.path.join(self.apache, "mods-enabled"))
        open(os.path.join(self.apache, "mods-enabled", "ssl.load"), "w").close()
        os.mkdir(os.path.join(self.apache, "sites-enabled"))
        with open(os.path.join(self.apache, "sites-enabled", "default-ssl.conf"), "w") as f:
            f.write(f"<VirtualHost _default_:{port}>\n  SSLEngine on\n</VirtualHost>\n")
        rc, out, err = self.check(web=None)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("plain HTTP", err)
        self.assertIn(f"GET https://127.0.0.1:{port}/zendesk/health", err, "the TLS site's port, over HTTPS")

    def test_direct_mode_secret_is_the_web_servers(self):
        with open(self.config) as f:
            text = f.read()
        self.write(self.config, text.replace(f'"socket": "{self.socket}"', '"socket": ""'), "root", 0o644)
        self.stop_broker()
        err = self.assert_fails(f"zendesk.secret_file: as {WEB} (web server): {self.secret}: Permission denied",
                                f"fix: chown root:{WEB} {self.secret} && chmod 0640 {self.secret}")
        self.assertNotIn("broker", err.replace("broker mode", ""), "direct mode has no broker to check")
        self.run_fixes(err)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"ok: files open as {WEB} (web server, --web-user)", out)

    def test_nginx_site_without_tls_is_a_warning(self):
        sites = os.path.join(self.nginx, "sites-enabled")
        os.mkdir(sites)
        site = os.path.join(sites, "intranet")
        port = unused_port()   # nothing listens: the /health question is a warning
        with open(site, "w") as f:
            f.write(f"server {{\n  listen {port};\n  location /zendesk/ {{ include snippets/zendesk-sso.conf; }}\n}}\n")
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f'warning: nginx: {site} serves zendesk-sso but has no "listen ... ssl"', err)
        self.assertIn(f"warning: web server: GET http://127.0.0.1:{port}/zendesk/health (nginx, {site})", err)
        with open(site, "w") as f:
            f.write(f"server {{\n  listen {port} ssl;\n  location /zendesk/ {{ include snippets/zendesk-sso.conf; }}\n}}\n")
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertNotIn("nginx:", err)
        self.assertIn(f"GET https://127.0.0.1:{port}/zendesk/health (nginx, {site})", err)

    def test_unknown_web_user(self):
        rc, out, err = self.check(web="nosuchuser-zsso")
        self.assertEqual(rc, 1)
        self.assertIn('web server: user "nosuchuser-zsso" (--web-user) does not exist', err)


class KeyStore(DeploymentCase):
    """A webauthn section (issue 23.6): the key store as the broker's user
    reads and writes it, others kept out of it, and rp_id against the
    sign-in host the web server's config names."""

    def setUp(self):
        super().setUp()
        self.keys = os.path.join(self.dir, "webauthn")
        self.authfile = os.path.join(self.keys, "authfile")
        self.side = self.authfile + ".json"
        os.mkdir(self.keys, 0o700)
        broker = pwd.getpwnam(BROKER)
        os.chown(self.keys, broker.pw_uid, broker.pw_gid)
        # A line as pamu2fcfg writes it: the key's raw x||y (a real P-256 point).
        point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        raw = point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
        self.write(self.authfile, f"alice:{base64.b64encode(b'alice-key').decode()},{base64.b64encode(raw).decode()},"
                                  "es256,+presence\n", "root", 0o644)
        with open(self.config) as f:
            text = f.read()
        section = {"rp_id": "example.com", "origins": ["https://sso.example.com"], "authfile": self.authfile}
        self.write(self.config, text.replace('"version": 1,', '"version": 1, "webauthn": ' + json.dumps(section) + ",",
                                             1), "root", 0o644)

    def nginx_site(self, name):
        sites = os.path.join(self.nginx, "sites-enabled")
        os.makedirs(sites, exist_ok=True)
        site = os.path.join(sites, "sso")
        with open(site, "w") as f:   # nothing listens there: the /health question is a warning
            f.write(f"server {{\n  listen {unused_port()} ssl;\n  server_name {name};\n"
                    "  location /zendesk/ { include snippets/zendesk-sso.conf; }\n}\n")
        return site

    def store_lines(self, err):
        return [l for l in err.splitlines() if "webauthn.authfile" in l]

    def test_a_sound_store_passes(self):
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"ok: the broker's user {BROKER} reads and writes the key store in {self.keys}", out)
        self.assertIn("ok: webauthn.rp_id example.com covers every webauthn.origins host (no ServerName or "
                      "server_name found to compare it with)", out)
        self.assertIn("ok: security keys: rp_id example.com", out)
        # No key yet, no file yet: the folder is enough.
        os.remove(self.authfile)
        self.assertEqual(self.check()[0], 0)

    def test_a_store_others_may_write_is_said_first(self):
        os.chmod(self.authfile, 0o666)
        err = self.assert_fails()
        lines = self.store_lines(err)
        self.assertTrue(lines[0].startswith(f"webauthn.authfile: {self.authfile} is root:root 0666: others may write "
                                            "it, so the broker trusts no key in it and every key holder's sign-in "
                                            "fails closed (unavailable)"), err)
        self.run_fixes(err)
        self.assertEqual(self.check()[0], 0)
        # The side file the broker wrote, taken over by another user.
        self.write(self.side, '{"credentials": {}, "version": 1}', OTHER, 0o600)
        os.chown(self.side, pwd.getpwnam(OTHER).pw_uid, -1)
        self.assert_fixed_by_its_fix(f"webauthn.authfile: {self.side} is {OTHER}:{OTHER} 0600: others may write it",
                                     f"fix: chown {BROKER}:{BROKER} {self.side} && chmod 0600 {self.side}")

    def test_a_link_in_place_of_the_authfile(self):
        target = os.path.join(self.dir, "elsewhere")
        os.rename(self.authfile, target)
        os.symlink(target, self.authfile)
        err = self.assert_fails(f"webauthn.authfile: {self.authfile} is not a regular file (a link?): the broker opens "
                                "no other kind, so every key holder's sign-in fails closed (unavailable)")
        fix = re.search(r"^  fix: put the file itself there: (cp .*)$", err, re.M)
        subprocess.run(fix.group(1), shell=True, check=True)
        self.assertFalse(os.path.islink(self.authfile))
        self.assertEqual(self.check()[0], 0)

    def test_a_folder_others_may_write(self):
        os.chmod(self.keys, 0o777)
        self.assert_fixed_by_its_fix(f"webauthn.authfile: the folder {self.keys} is {BROKER}:{BROKER} 0777: "
                                     "others may write it, so they could replace the key store or reset its sign "
                                     "counts",
                                     f"fix: chown {BROKER}:{BROKER} {self.keys} && chmod 0700 {self.keys}")

    def test_a_missing_folder_names_the_command_that_makes_it(self):
        shutil.rmtree(self.keys)
        err = self.assert_fails(f"webauthn.authfile: the folder {self.keys} does not exist: the broker cannot keep "
                                "sign counts and refuses every key sign-in")
        fix = re.search(r"^  fix: (install -d .*)$", err, re.M)
        self.assertEqual(fix.group(1), f"install -d -o {BROKER} -g {BROKER} -m 0700 {self.keys}")
        subprocess.run(fix.group(1), shell=True, check=True)
        self.assertEqual(self.check()[0], 0)

    def test_a_folder_the_broker_cannot_write(self):
        os.chown(self.keys, 0, 0)
        os.chmod(self.keys, 0o755)
        self.assert_fixed_by_its_fix(f"webauthn.authfile: as {BROKER} (broker): {self.keys}: Permission denied "
                                     "(the side file is written there): every key holder's sign-in fails closed",
                                     f"fix: chown {BROKER}:{BROKER} {self.keys} ")

    def test_an_authfile_line_the_broker_cannot_parse(self):
        with open(self.authfile, "a") as f:
            f.write("bob:not-base64!,cHVibGlj,es256,+presence\n")
        self.assert_fails(f"webauthn.authfile: {self.authfile}: ",
                          "the broker reads no key from it, so every key holder's sign-in fails closed",
                          "fix: see what is read with zendesk-sso keys list")

    def test_an_authfile_the_broker_cannot_read(self):
        os.chmod(self.authfile, 0o600)   # root's alone
        self.assert_fails(f"webauthn.authfile: as {BROKER} (broker): {self.authfile}: Permission denied")

    def test_rp_id_against_the_sign_in_host(self):
        site = self.nginx_site("sso.example.com")
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"ok: webauthn.rp_id example.com and its origins cover the sign-in host sso.example.com ({site})",
                      out)
        # Another name under rp_id, not in origins: browsers there send it.
        self.nginx_site("login.example.com")
        rc, out, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn(f"warning: webauthn.origins: none is the sign-in host login.example.com ({site}): a browser "
                      "there sends https://login.example.com and the broker refuses its key (origin)\n"
                      f'  fix: edit {self.config}: add "https://login.example.com" to webauthn.origins', err)
        # A host outside rp_id: no browser there accepts a key for it.
        self.nginx_site("sso.example.org")
        self.assert_fails(f'webauthn.rp_id: "example.com" is neither the sign-in host sso.example.org ({site}) nor a '
                          "parent domain of it: browsers there refuse every key",
                          f'fix: edit {self.config}: "rp_id": "sso.example.org"')

    def test_apache_server_name_is_the_sign_in_host(self):
        os.makedirs(os.path.join(self.apache, "conf-enabled"))
        with open(os.path.join(self.apache, "conf-enabled", "zendesk-sso.conf"), "w") as f:
            f.write("ScriptAlias /zendesk /usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi\n")
        with open(os.path.join(self.apache, "ports.conf"), "w") as f:
            f.write(f"Listen {unused_port()}\n")
        os.makedirs(os.path.join(self.apache, "sites-enabled"))
        site = os.path.join(self.apache, "sites-enabled", "sso.conf")
        with open(site, "w") as f:
            f.write("<VirtualHost *:443>\n  ServerName sso.example.net\n  SSLEngine on\n</VirtualHost>\n")
        self.assert_fails(f'webauthn.rp_id: "example.com" is neither the sign-in host sso.example.net ({site})')


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
