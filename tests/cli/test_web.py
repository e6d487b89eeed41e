#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso check and probe against a real Apache on 127.0.0.1 (tests/e2e's
Stack, direct mode): check asks the running web server for the CGI's /health
(the port and path from an Apache configuration folder that describes that
Apache), probe tells the web server's own 503 from the CGI's, and over TLS
(a self-signed certificate made by openssl here) names the certificate and
--cacert (issue 25.1, 25.4)."""
import os
import pwd
import re
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.join(os.environ["ZSSO_SOURCE_DIR"], "tests", "e2e"))
from zsso_e2e import FakeClock, Stack, apache_user  # noqa: E402

CLI = str(Path(os.environ["ZSSO_BUILD_DIR"]) / "tools" / "zendesk-sso")


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebCase(unittest.TestCase):
    """One Stack per class; prepare(stack) adjusts it before it starts."""

    @classmethod
    def prepare(cls, stack):
        pass

    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        try:
            cls.prepare(cls.s)
            cls.s.start()
        except BaseException:
            cls.s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def setUp(self):
        # An Apache configuration folder as Debian's, describing the running
        # Apache: the conf enabled, and where it listens.
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.apache_dir = Path(self.tmp.name) / "apache2"
        (self.apache_dir / "conf-enabled").mkdir(parents=True)
        (self.apache_dir / "conf-enabled" / "zendesk-sso.conf").write_text(
            "# as shipped\nScriptAlias /zendesk /usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi\n")
        self.listen(self.s.web.port)
        self.nginx_dir = Path(self.tmp.name) / "nginx"
        self.nginx_dir.mkdir()

    def listen(self, port):
        (self.apache_dir / "ports.conf").write_text(f"Listen {port}\n")

    def web_user(self):
        user = apache_user()
        return user[0] if user else pwd.getpwuid(os.geteuid()).pw_name

    def check(self, *extra, env=None):
        p = subprocess.run([CLI, "--config", str(self.s.sandbox.config_path), "check",
                            "--apache-dir", str(self.apache_dir), "--nginx-dir", str(self.nginx_dir),
                            "--web-user", self.web_user(), *extra],
                           capture_output=True, text=True, timeout=120,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})})
        return p.returncode, p.stdout, p.stderr

    def probe(self, url, *extra, stdin=None):
        p = subprocess.run([CLI, "--config", str(self.s.sandbox.config_path), "probe", url, "--user", "alice",
                            *extra],
                           input=stdin if stdin is not None else self.s.passwords["alice"] + "\n",
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr


class Clock(WebCase):
    """check warns when the kernel says the clock is not synchronised: Zendesk
    refuses tokens more than 3 minutes off (issue 24.3). The kernel's answer
    is tests/e2e/fake_clock.c's, preloaded into check only."""

    @classmethod
    def prepare(cls, stack):
        cls.clock = FakeClock(stack.build_dir, stack.dir)

    def check_with(self, state, *extra):
        self.clock.set(state)
        return self.check(*extra, env=self.clock.env())

    def test_a_synchronised_clock_passes(self):
        rc, out, err = self.check_with("synchronised")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ok: the system clock is synchronised (adjtimex)", out)
        self.assertNotIn("synchronised", err)

    def test_an_unsynchronised_clock_is_a_warning_naming_zendesks_window_and_the_fix(self):
        rc, out, err = self.check_with("unsynchronised")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("warning: the system clock is not synchronised (the kernel's adjtimex status: STA_UNSYNC): "
                      "Zendesk refuses a token whose iat is more than 3 minutes off its own clock (\"Invalid iat\", "
                      "cause clock-skew); turn on an NTP client: timedatectl set-ntp true (package systemd-timesyncd), "
                      "or apt install chrony\n", err)
        self.assertNotIn("synchronised", out)

    def test_a_clock_it_cannot_read_is_a_warning_too(self):
        rc, out, err = self.check_with("unreadable")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("warning: cannot tell whether the system clock is synchronised (adjtimex: Operation not "
                      "permitted): Zendesk refuses a token whose iat is more than 3 minutes off", err)
        self.assertIn("make sure an NTP client runs (timedatectl status, or chronyc tracking)", err)

    def test_config_only_leaves_the_host_alone(self):
        self.clock.set("unsynchronised")
        p = subprocess.run([CLI, "--config", str(self.s.sandbox.config_path), "check", "--config-only"],
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **self.clock.env()})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("synchronised", p.stdout + p.stderr)


class HealthAnswers(WebCase):
    """A sound Apache: check's question to it passes; nothing listening is a warning."""

    def test_check_asks_the_running_apache_for_health(self):
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn(f"ok: the web server ran the CGI: GET http://127.0.0.1:{self.s.web.port}/zendesk/health "
                      "answered 200", out)
        self.assertIn("200 health", self.s.web.error_log(), "the CGI itself answered")

    def test_loopback_outside_the_ranges_still_proves_the_cgi_runs(self):
        saved = self.s.config
        self.addCleanup(lambda: (setattr(self.s, "config", saved), self.s.sandbox.write_config(saved)))
        self.s.configure({"network": {"ip_ranges": ["10.0.0.0/8"]}})
        self.s.sandbox.write_config(self.s.config)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn(f"ok: the web server ran the CGI: GET http://127.0.0.1:{self.s.web.port}/zendesk/health "
                      "answered 403 (its own refusal: 127.0.0.1 is outside network.ip_ranges)", out)

    def test_no_web_server_listening_is_a_warning(self):
        port = unused_port()
        self.listen(port)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn(f"warning: web server: GET http://127.0.0.1:{port}/zendesk/health", err)
        self.assertIn("is Apache running? The CGI was not tried", err)
        self.assertIn("fix: systemctl status apache2", err)
        self.assertNotIn("the web server ran the CGI", out)

    def test_the_cgis_own_503_names_its_log(self):
        # The CGI runs, but its config does not load: its own 503 "unavailable".
        broken = self.s.sandbox.config_path.read_text()
        self.addCleanup(self.s.sandbox.config_path.write_text, broken)
        good = Path(self.tmp.name) / "config.json"
        good.write_text(broken)
        self.s.sandbox.config_path.write_text(broken + "{ broken")
        p = subprocess.run([CLI, "--config", str(good), "check", "--apache-dir", str(self.apache_dir),
                            "--nginx-dir", str(self.nginx_dir), "--web-user", self.web_user()],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"web server: the CGI runs, but GET http://127.0.0.1:{self.s.web.port}/zendesk/health "
                      "answered 503 \"unavailable\"", p.stderr)
        self.assertIn("fix: the cause is in the CGI's log line: journalctl -t zendesk-sso.cgi -g health", p.stderr)


class CgiNotRun(WebCase):
    """Apache's own 503 for the CGI's path, as after `a2enmod cgid` with a
    reload: the CGI never runs. Here mod_alias answers 503 before the
    ScriptAlias is reached."""

    @classmethod
    def prepare(cls, stack):
        stack.apache_options = {"extra_conf": "Redirect 503 /zendesk"}

    def test_apache_answers_503_itself(self):
        from zsso_e2e import fetch
        r = fetch("GET", self.s.login_url)
        self.assertEqual(r.status, 503)
        self.assertNotIn("req=", self.s.web.error_log(), "the CGI never ran")

    def test_probe_blames_the_web_server_not_the_sign_in(self):
        rc, out, err = self.probe(self.s.login_url)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("FAILED: GET 503 from the web server, not from the CGI: the web server could not run the CGI: "
                      "see its error log", out)
        self.assertNotIn("PAM service, broker or token minting", out)

    def test_check_reports_the_failed_health(self):
        rc, out, err = self.check()
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f"web server: the web server could not run the CGI: GET http://127.0.0.1:{self.s.web.port}"
                      "/zendesk/health answered 503 from Apache itself, not from the CGI, which then logs nothing", err)
        self.assertIn("fix: systemctl restart apache2 (mod_cgid's daemon starts only on a restart, not on a "
                      "reload); the cause is in /var/log/apache2/error.log", err)


class Tls(WebCase):
    """Apache with mod_ssl and a self-signed certificate for "localhost"
    (what default-ssl's snakeoil is to its host name)."""

    @classmethod
    def prepare(cls, stack):
        cls.cert = stack.dir / "tls.pem"
        key = stack.dir / "tls.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", str(key), "-out", str(cls.cert)], check=True, capture_output=True)
        os.chmod(key, 0o644)   # Apache reads it as its own user in this private setup
        stack.apache_options = {
            "modules": ["ssl", "socache_shmcb"],
            "extra_conf": f'SSLEngine on\nSSLCertificateFile "{cls.cert}"\nSSLCertificateKeyFile "{key}"\n'
                          f'SSLSessionCache "shmcb:{stack.dir}/ssl_scache(51200)"'}

    def https(self, host="127.0.0.1"):
        return f"https://{host}:{self.s.web.port}/zendesk/login"

    def test_wrong_name_names_the_certificate_and_the_way_out(self):
        rc, out, err = self.probe(self.https())
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"FAILED: GET https://127\.0\.0\.1:\d+/zendesk/login: ")
        self.assertRegex(out, r"the server's certificate: subject CN ?= ?localhost; names DNS:localhost; "
                              r"issuer itself \(self-signed\)")
        self.assertIn(f"fix: use the name the certificate holds: {self.https('localhost')}", out)
        self.assertIn("fix: give probe the certificate (or its CA) with --cacert FILE; for Debian's default-ssl: "
                      "--cacert /etc/ssl/certs/ssl-cert-snakeoil.pem", out)

    def test_cacert_but_wrong_name_names_the_right_one(self):
        rc, out, err = self.probe(self.https(), "--cacert", str(self.cert))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("127.0.0.1", out.splitlines()[1], "curl's reason: the name")
        self.assertIn(f"fix: use the name the certificate holds: {self.https('localhost')}", out)
        self.assertNotIn("--cacert", out.split("FAILED:")[1], "the certificate is trusted: only the name is wrong")

    def test_right_name_and_cacert_sign_in(self):
        rc, out, err = self.probe(self.https("localhost"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("--cacert FILE", out, "self-signed: --cacert is the way out")
        self.assertNotIn("use the name the certificate holds", out)
        rc, out, err = self.probe(self.https("localhost"), "--cacert", str(self.cert))
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ok: sign-in works", out)

    def test_check_asks_the_tls_site(self):
        (self.apache_dir / "mods-enabled").mkdir()
        (self.apache_dir / "mods-enabled" / "ssl.load").write_text("")
        (self.apache_dir / "sites-enabled").mkdir()
        (self.apache_dir / "sites-enabled" / "default-ssl.conf").write_text(
            f"<VirtualHost _default_:{self.s.web.port}>\n  SSLEngine on\n</VirtualHost>\n")
        self.listen(80)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn(f"ok: the web server ran the CGI: GET https://127.0.0.1:{self.s.web.port}/zendesk/health "
                      "answered 200", out)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[1:]])
