"""End-to-end stack for zendesk-sso: a private Apache httpd on 127.0.0.1
running zendesk-sso.cgi under pam_wrapper/pam_matrix/nss_wrapper, and a local
stand-in for Zendesk that verifies tokens with PyJWT (an independent JWT
implementation). Nothing on the machine changes; everything lives in one
temporary folder and stops with the stack.

Reused by the e2e, browser, broker, bench and hardening suites and by
scripts/demo.sh. Run with Debian's /usr/bin/python3 (python3-jwt).

    sys.path.insert(0, "<source>/tests/e2e")
    from zsso_e2e import Stack
    with Stack(build_dir="<build>", source_dir="<source>") as s:
        s.sandbox.add_user("bob", 1002, gecos="Bob", password="pw")
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}})   # deep-merged over the defaults
        s.start()
        s.login_url                  # http://127.0.0.1:PORT/zendesk/login
        s.standin.received           # tokens the stand-in accepted (claims, return_to)
        s.apache.error_log()         # CGI log lines (ZENDESK_SSO_LOG_STDERR=1) and pam_syslog lines

StackTestCase: a unittest base class with one Stack per class.
Lower-level parts: ZendeskStandIn (thread HTTP server), Apache (private
httpd.conf, any number of CGI mounts and extra directives, env passed with
SetEnv, optionally syslog_socket: its own /dev/log, and bind_mounts), free_port(), fetch()
(one request with cookies and a source address).
"""

import copy
import html
import http.client
import http.cookies
import http.server
import json
import os
import pwd
import grp
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

import jwt as pyjwt   # python3-jwt: the independent implementation

APACHE = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
DEMO_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def free_port(host="127.0.0.1"):
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --- the Zendesk stand-in ----------------------------------------------------------

class ZendeskStandIn:
    """Serves /access/jwt like Zendesk: takes the token by form POST (or the
    legacy GET), verifies it with PyJWT against the shared secret (HS256
    only, header typ/alg, iat within 3 minutes, jti never reused) and shows
    the decoded claims, HTML-escaped. received/rejected record every try."""

    def __init__(self, secrets, host="127.0.0.1", port=0):
        self.secrets = [s.encode() if isinstance(s, str) else s for s in
                        (secrets if isinstance(secrets, (list, tuple)) else [secrets])]
        self.host = host
        self.port = port
        self.received = []   # dicts: claims, header, return_to, method
        self.rejected = []   # dicts: error, method
        self._jtis = set()
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def verify(self, token):
        header = pyjwt.get_unverified_header(token)
        if header.get("alg") != "HS256" or header.get("typ") != "JWT":
            raise ValueError(f"header must be typ JWT, alg HS256: {header}")
        last = None
        for secret in self.secrets:
            try:
                claims = pyjwt.decode(token, secret, algorithms=["HS256"],
                                      options={"require": ["iat", "jti"], "verify_iat": True})
                break
            except pyjwt.InvalidSignatureError as e:
                last = e
        else:
            raise last or ValueError("no secret")
        if not isinstance(claims["iat"], int) or abs(claims["iat"] - time.time()) > 180:
            raise ValueError("Invalid iat parameter")
        for key in ("email", "name"):
            if not isinstance(claims.get(key), str) or not claims[key]:
                raise ValueError(f"missing {key}")
        with self._lock:
            if claims["jti"] in self._jtis:
                raise ValueError("jti already used")
            self._jtis.add(claims["jti"])
        return header, claims

    def start(self):
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _page(self, status, title, body):
                page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                        f"<title>{html.escape(title)}</title></head><body>"
                        f"<h1>{html.escape(title)}</h1>{body}</body></html>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _take(self, fields, method):
                token = fields.get("jwt", [""])[0]
                return_to = fields.get("return_to", [""])[0]
                try:
                    header, claims = standin.verify(token)
                except Exception as e:   # any failure is shown, as Zendesk would
                    with standin._lock:
                        standin.rejected.append({"error": str(e), "method": method})
                    self._page(401, "Zendesk stand-in: token rejected",
                               f"<p id=\"error\">{html.escape(str(e))}</p>")
                    return
                with standin._lock:
                    standin.received.append({"claims": claims, "header": header,
                                             "return_to": return_to, "method": method})
                rows = "".join(f"<tr><th>{html.escape(k)}</th><td id=\"claim-{html.escape(k)}\">"
                               f"{html.escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
                               for k, v in claims.items())
                self._page(200, "Zendesk stand-in: signed in",
                           f"<p>Signed in as <strong id=\"email\">{html.escape(claims['email'])}</strong>"
                           f" ({html.escape(claims['name'])}) by {method}.</p>"
                           f"<p>return_to: <code id=\"return_to\">{html.escape(return_to)}</code></p>"
                           f"<table>{rows}</table>")

            def do_POST(self):
                path = urllib.parse.urlsplit(self.path).path
                if path != "/access/jwt":
                    return self._page(404, "not found", "")
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
                fields = urllib.parse.parse_qs(body, keep_blank_values=True)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                fields.setdefault("return_to", query.get("return_to", [""]))
                self._take(fields, "POST")

            def do_GET(self):
                parts = urllib.parse.urlsplit(self.path)
                if parts.path == "/access/jwt":
                    return self._take(urllib.parse.parse_qs(parts.query, keep_blank_values=True), "GET")
                if parts.path == "/":
                    return self._page(200, "Zendesk stand-in", "<p>Waiting for a token at /access/jwt.</p>")
                return self._page(404, "not found", "")

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- Apache --------------------------------------------------------------------------

_ISOLATION = None


def private_tmp_supported():
    """True when we may give Apache its own /tmp (root + unshare). pam_wrapper
    copies PAM services to /tmp/pam.X, one letter wide, so parallel stacks
    (and other suites' pamtester runs) collide there; a private /tmp per
    Apache ends that."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = False
        if os.geteuid() == 0 and shutil.which("unshare"):
            r = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
            _ISOLATION = r.returncode == 0
    return _ISOLATION


_DEVLOG = None


def devlog_script(devlog_dir, socket_path):
    """Shell lines that, inside Apache's mount namespace, put socket_path at
    /dev/log: an overlay on /dev (upper layer in a tmpfs of the namespace's
    own), so the machine's /dev and any real syslog stay untouched."""
    d, s = shlex.quote(str(devlog_dir)), shlex.quote(str(socket_path))
    return (f"mount -t tmpfs -o mode=0700 zsso-devlog {d} && mkdir {d}/upper {d}/work && "
            f"mount -t overlay zsso-devlog -o lowerdir=/dev,upperdir={d}/upper,workdir={d}/work /dev && "
            f"rm -f /dev/log && touch /dev/log && mount --bind {s} /dev/log")


def devlog_capture_supported():
    """True when Apache can get a private /dev/log (root, unshare, overlayfs)."""
    global _DEVLOG
    if _DEVLOG is None:
        _DEVLOG = False
        if private_tmp_supported():
            with tempfile.TemporaryDirectory(prefix="zsso-devlog-probe-", dir="/var/tmp") as d:
                sock = Path(d) / "log.sock"
                (Path(d) / "dev").mkdir()
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    s.bind(str(sock))
                    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                        devlog_script(Path(d) / "dev", sock) + " && test -S /dev/log"],
                                       capture_output=True)
                    _DEVLOG = r.returncode == 0
    return _DEVLOG


def work_root():
    """Where stacks live: /var/tmp when Apache gets a private /tmp (it must
    still see the stack), else the usual temp folder."""
    return "/var/tmp" if private_tmp_supported() else None


def apache_user():
    """Apache drops to this user when started as root (nobody/nogroup)."""
    if os.geteuid() != 0:
        return None
    return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name


class Apache:
    """A private httpd: its own httpd.conf, pid file, error log and cgid
    socket in dir, listening on 127.0.0.1:port only.

    mounts: {"/zendesk": "/path/to/program.cgi"} (copied into dir/cgi-bin so
    the unprivileged user can run it wherever the build tree is).
    env: variables the CGIs get (SetEnv). location_conf: extra directives
    inside each mount's <Location>; extra_conf: extra server-level
    directives; modules: extra module names (e.g. "auth_basic")."""

    BASE_MODULES = ["mpm_event", "authz_core", "cgid", "env", "alias"]

    def __init__(self, dir, mounts, env=None, port=None, extra_conf="", location_conf="", modules=(),
                 private_tmp=None, syslog_socket=None, bind_mounts=()):
        self.dir = Path(dir)
        self.private_tmp = private_tmp_supported() if private_tmp is None else private_tmp
        self.mounts = dict(mounts)
        self.env = dict(env or {})
        self.port = port
        self.extra_conf = extra_conf
        self.location_conf = location_conf
        self.modules = list(self.BASE_MODULES) + [m for m in modules if m not in self.BASE_MODULES]
        self.syslog_socket = syslog_socket
        if syslog_socket and not (self.private_tmp and devlog_capture_supported()):
            raise RuntimeError("a private /dev/log needs root, unshare and overlayfs")
        self.bind_mounts = list(bind_mounts)   # (source, target): seen by Apache and its CGIs only
        if self.bind_mounts and not self.private_tmp:
            raise RuntimeError("bind mounts need Apache's own mount namespace (root and unshare)")
        self.proc = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf_path(self):
        return self.dir / "httpd.conf"

    def _write_conf(self):
        cgi_bin = self.dir / "cgi-bin"
        cgi_bin.mkdir(parents=True, exist_ok=True)
        (self.dir / "htdocs").mkdir(exist_ok=True)
        lines = [
            f'ServerRoot "{self.dir}"',
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{self.dir}/httpd.pid"',
            f'ErrorLog "{self.dir}/error.log"',
            "LogLevel warn",
            f'DefaultRuntimeDir "{self.dir}"',
            f"Mutex file:{self.dir} default",
        ]
        for m in self.modules:
            lines.append(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so")
        user = apache_user()
        if user:
            lines += [f"User {user[0]}", f"Group {user[1]}"]
        lines += [
            f'ScriptSock "{self.dir}/cgid.sock"',
            f'DocumentRoot "{self.dir}/htdocs"',
            "TraceEnable off",
            "ServerTokens Prod",
            "StartServers 1",
            "<Directory />",
            "  Require all denied",
            "</Directory>",
            # PATH_TRANSLATED maps PATH_INFO under the (empty) document root.
            f'<Directory "{self.dir}/htdocs">',
            "  Require all granted",
            "</Directory>",
            f'<Directory "{cgi_bin}">',
            "  Require all granted",
            "  Options +ExecCGI",
            "</Directory>",
        ]
        for mount, program in self.mounts.items():
            target = cgi_bin / Path(program).name
            if Path(program).resolve() != target.resolve():
                shutil.copy2(program, target)
            os.chmod(target, 0o755)
            lines.append(f'ScriptAlias {mount} "{target}"')
            lines.append(f"<Location {mount}>")
            for k, v in self.env.items():
                lines.append(f'  SetEnv {k} "{v}"')
            if self.location_conf:
                lines.append(self.location_conf)
            lines.append("</Location>")
        if self.extra_conf:
            lines.append(self.extra_conf)
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout=20):
        for attempt in range(3):
            self.port = self.port if (self.port and attempt == 0) else free_port()
            self._write_conf()
            check = subprocess.run([APACHE, "-t", "-f", str(self.conf_path)], capture_output=True, text=True)
            if check.returncode != 0:
                raise RuntimeError(f"httpd.conf rejected:\n{check.stderr}")
            argv = [APACHE, "-f", str(self.conf_path), "-DFOREGROUND"]
            if self.private_tmp:
                tmp = self.dir / "tmp"
                tmp.mkdir(exist_ok=True)
                os.chmod(tmp, 0o1777)
                # unshare execs sh, which execs apache2: proc.pid stays Apache's parent.
                setup = 'mount --bind "$0" /tmp'
                if self.syslog_socket:   # syslog() in Apache and its CGIs lands in the test's socket
                    devlog = self.dir / "devlog"
                    devlog.mkdir(exist_ok=True)
                    setup += " && " + devlog_script(devlog, self.syslog_socket)
                for source, target in self.bind_mounts:
                    setup += f" && mount --bind {shlex.quote(str(source))} {shlex.quote(str(target))}"
                argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        setup + ' && exec "$@"', str(tmp)] + argv
            self.proc = subprocess.Popen(argv,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break   # exited: port taken, try another
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    time.sleep(0.05)
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            if "could not bind" not in err and "Address already in use" not in err:
                raise RuntimeError(f"apache2 did not start:\n{err}\n{self.error_log()}")
        raise RuntimeError("apache2 could not bind a free port")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # SIGTERM: the parent stops its children (and the cgid daemon) and exits.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def error_log(self):
        p = self.dir / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""


# --- HTTP client ------------------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers           # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def cookies(self):
        jar = {}
        for v in self.all("Set-Cookie"):
            c = http.cookies.SimpleCookie()
            c.load(v)
            for k, m in c.items():
                jar[k] = m
        return jar


def fetch(method, url, body=None, headers=None, source=None, content_type=None, timeout=30):
    """One request (no redirects followed); body: dict (form-encoded), str or bytes."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if content_type:
        hdrs["Content-Type"] = content_type
    if isinstance(body, str):
        body = body.encode()
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    out = Reply(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
    conn.close()
    return out


def hidden_fields(page, form_id=None):
    """name -> value of <input type="hidden"> (values unescaped)."""
    if form_id:
        m = re.search(r'<form id="%s".*?</form>' % re.escape(form_id), page, re.S)
        page = m.group(0) if m else ""
    return {html.unescape(n): html.unescape(v) for n, v in
            re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)}


def form_action(page, form_id=None):
    pat = r'<form id="%s" method="post" action="([^"]*)"' % re.escape(form_id) if form_id else \
        r'<form method="post" action="([^"]*)"'
    m = re.search(pat, page)
    return html.unescape(m.group(1)) if m else None


# --- the whole stack ------------------------------------------------------------------------

DEFAULT_SECRET = "Zx9TqL2vR8mN4bK7wH3jF6dS1aG5yP0cE2uI8oV4nM7rT1kQ"


def assert_alice_token(test, token, secret):
    """Checks a token minted for the sandbox's user alice with python3-jwt (the
    independent implementation) and returns its claims."""
    claims = pyjwt.decode(token, secret, algorithms=["HS256"])
    test.assertEqual(claims["email"], "alice@acme.test")
    test.assertEqual(claims["name"], "Alice Liddell")
    test.assertEqual(claims["external_id"], "1001")
    test.assertEqual(claims["tags"], ["staff"])
    test.assertLessEqual(abs(claims["iat"] - time.time()), 60)
    test.assertGreaterEqual(len(claims["jti"]), 22)
    return claims


class Stack:
    """PamSandbox (tests/pam) + ZendeskStandIn + Apache with zendesk-sso.cgi at
    /zendesk. Defaults: users alice (uid 1001, staff) and bob (1002,
    zd-agents) with passwords from self.passwords; config subdomain acme,
    claims email {user}@acme.test; a service "zendesk-sso" with pam_matrix
    (auth) and pam_zendesk.so (auth gate, account, setcred)."""

    def __init__(self, build_dir=None, source_dir=None, keep=False, cgi=None, module=None):
        self.build_dir = Path(build_dir or os.environ["ZSSO_BUILD_DIR"])
        self.source_dir = Path(source_dir or os.environ.get("ZSSO_SOURCE_DIR")
                               or Path(__file__).resolve().parents[2])
        sys.path.insert(0, str(self.source_dir / "tests" / "pam"))
        from pam_sandbox import PamSandbox   # the PAM suite's sandbox: users, passdb, services
        self.dir = Path(tempfile.mkdtemp(prefix="zsso-e2e-", dir=work_root()))
        os.chmod(self.dir, 0o755)   # Apache's user walks into it
        self.keep = keep
        self.cgi = Path(cgi or self.build_dir / "helper" / "cgi" / "zendesk-sso.cgi")
        module_src = Path(module or self.build_dir / "pam_module" / "pam_zendesk.so")
        libdir = self.dir / "lib"
        libdir.mkdir()
        shutil.copy2(module_src, libdir / "pam_zendesk.so")
        self.sandbox = PamSandbox(module=libdir / "pam_zendesk.so", root=self.dir / "pam")
        os.chmod(self.sandbox.dir, 0o755)
        self.passwords = {"alice": "correct horse 1", "bob": "battery staple 2"}
        self.sandbox.add_group("staff", 2000)
        self.sandbox.add_group("zd-agents", 2001)
        self.sandbox.add_user("alice", 1001, gecos="Alice Liddell,Room 1", password=self.passwords["alice"],
                              groups=["staff"])
        self.sandbox.add_user("bob", 1002, gecos="Bob Builder", password=self.passwords["bob"],
                              groups=["zd-agents"])
        self.secret = DEFAULT_SECRET
        self.config = {
            "zendesk": {"subdomain": "acme", "secret_file": str(self.sandbox.secret_path),
                        "return_to_hosts": ["help.acme.test"]},
            "network": {"ip_ranges": [], "trusted_proxies": []},
            "access": {"min_uid": 1000},
            "claims": {"email": "{user}@acme.test", "name": "{gecos}", "external_id": "{uid}",
                       "tags_from_groups": ["staff", "zd-agents"]},
            "pam": {"service": "zendesk-sso"},
            "helper": {"site_name": "Acme intranet"},
        }
        self.services = {"zendesk-sso": None}   # name -> stack text (None: the standard stack)
        self.cgi_env = {}
        self.apache_options = {}
        self.standin = None
        self.apache = None

    # configuration before (or between) starts
    def configure(self, overrides):
        self.config = deep_merge(self.config, overrides)

    def add_service(self, name, text=None):
        self.services[name] = text

    def _write_files(self):
        self.sandbox.write_secret(self.secret)
        user = apache_user()
        if user:   # root-owned, readable by Apache's group only: what load_secret_file accepts
            os.chown(self.sandbox.secret_path, 0, grp.getgrnam(user[1]).gr_gid)
            os.chmod(self.sandbox.secret_path, 0o640)
        self.sandbox.write_config(self.config)
        for name, text in self.services.items():
            self.sandbox.write_service(name, text or self.sandbox.standard_stack())
        for p in (self.sandbox.passwd_path, self.sandbox.group_path):   # no passwords in these
            os.chmod(p, 0o644)
        if user:   # the CGI runs pam_matrix as Apache's user; the passdb stays 0600 in a 0700 folder
            self.sandbox.give_passwords_to(pwd.getpwnam(user[0]).pw_uid)

    def cgi_environment(self):
        env = {k: v for k, v in self.sandbox.env().items() if k not in ("PATH", "LANG", "TMPDIR")}
        env.update({
            "ZENDESK_SSO_CONFIG": str(self.sandbox.config_path),
            "ZENDESK_SSO_ENDPOINT_OVERRIDE": self.standin.url,
            "ZENDESK_SSO_LOG_STDERR": "1",
        })
        env.update(self.cgi_env)
        return env

    def start(self):
        self._write_files()
        if not self.standin:
            self.standin = ZendeskStandIn(self.secret).start()
        self.apache = Apache(self.dir / "httpd", {"/zendesk": self.cgi}, env=self.cgi_environment(),
                             **self.apache_options)
        self.apache.start()
        return self

    def restart(self):
        """Rewrites config and services, restarts Apache (same port)."""
        port = self.apache.port
        self.apache.stop()
        self._write_files()
        self.apache = Apache(self.dir / "httpd", {"/zendesk": self.cgi}, env=self.cgi_environment(),
                             port=port, **self.apache_options)
        self.apache.start()

    def stop(self):
        if self.apache:
            self.apache.stop()
        if self.standin:
            self.standin.stop()

    def cleanup(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    @property
    def base_url(self):
        return self.apache.base_url + "/zendesk"

    @property
    def login_url(self):
        return self.base_url + "/login"

    # a browser-like sign-in with the form, for tests that only need a token
    def sign_in(self, user, password, path="/login", return_to=None, source=None):
        q = "?" + urllib.parse.urlencode({"return_to": return_to}) if return_to else ""
        form = fetch("GET", self.base_url + path + q, source=source)
        cookies = form.cookies()
        name = next(iter(cookies))
        fields = hidden_fields(form.body)
        fields.update({"user": user, "password": password})
        return fetch("POST", self.base_url + path, body=fields, source=source,
                    headers={"Cookie": f"{name}={cookies[name].value}"})


class StackTestCase(unittest.TestCase):
    """One Stack per test class: override prepare(stack) to configure it
    before it starts; self.s is the running stack."""

    @classmethod
    def prepare(cls, stack):
        pass

    @classmethod
    def make_stack(cls):
        return Stack()

    @classmethod
    def setUpClass(cls):
        cls.s = cls.make_stack()
        try:
            cls.prepare(cls.s)
            cls.s.start()
        except Exception:
            cls.s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()


# --- demo (scripts/demo.sh) --------------------------------------------------------------

def demo(build_dir, source_dir, port=None):
    import secrets as pysecrets
    s = Stack(build_dir, source_dir)
    if port:
        s.apache_options = {"port": port}
    password = "".join(pysecrets.choice(DEMO_PASSWORD_ALPHABET) for _ in range(12))
    s.sandbox.add_user("demo", 1500, gecos="Demo User", password=password, groups=["staff"])
    s.configure({"helper": {"site_name": "zendesk-sso demo"}, "network": {"ip_ranges": ["127.0.0.0/8"]}})
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        s.start()
        print(f"""
zendesk-sso demo is running (private Apache {s.apache.base_url}, files in {s.dir})

  Open:      {s.login_url}?return_to=/hc/en-us
  User:      demo
  Password:  {password}
  (also alice / {s.passwords['alice']} and bob / {s.passwords['bob']})

The form signs you in through PAM (pam_matrix + pam_zendesk.so); the token goes
to a local stand-in for Zendesk at {s.standin.url}/access/jwt, which verifies it
with PyJWT and shows the decoded claims. Sign-out page: {s.base_url}/logout
CGI log: {s.apache.dir}/error.log

Press Ctrl-C to stop.""", flush=True)
        while not stop.wait(0.5):
            if s.apache.proc is None or s.apache.proc.poll() is not None:
                print("apache2 exited; see the log above", file=sys.stderr)
                return 1
    finally:
        s.cleanup()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["demo"])
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--port", type=int, default=None, help="Apache's port on 127.0.0.1 (default: a free one)")
    a = ap.parse_args()
    sys.exit(demo(a.build, a.source, a.port))
