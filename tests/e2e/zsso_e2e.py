# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end stack for zendesk-sso: a private web server on 127.0.0.1 (Apache
httpd, or nginx + fcgiwrap) running zendesk-sso.cgi under
pam_wrapper/pam_matrix/nss_wrapper, and a local stand-in for Zendesk that
verifies tokens with PyJWT (an independent JWT implementation). Nothing on the
machine changes; everything lives in one temporary folder and stops with the
stack.

Reused by the e2e, browser, broker, bench and hardening suites and by
scripts/demo.sh. Run with Debian's /usr/bin/python3 (python3-jwt).

    sys.path.insert(0, "<source>/tests/e2e")
    from zsso_e2e import Stack
    with Stack(build_dir="<build>", source_dir="<source>") as s:   # server="nginx" for nginx + fcgiwrap
        s.sandbox.add_user("bob", 1002, gecos="Bob", password="pw")
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}})   # deep-merged over the defaults
        s.start()
        s.login_url                  # http://127.0.0.1:PORT/zendesk/login
        s.standin.received           # tokens the stand-in accepted (claims, return_to)
        s.web.error_log()            # CGI log lines (ZENDESK_SSO_LOG_STDERR=1) and pam_syslog lines

StackTestCase: a unittest base class with one Stack per class.
Lower-level parts: ZendeskStandIn (thread HTTP server), Apache (private
httpd.conf, any number of CGI mounts and extra directives, env passed with
SetEnv, optionally syslog_socket: its own /dev/log, and bind_mounts), Nginx
(private nginx.conf + fcgiwrap with the shipped examples/nginx snippets, env
passed with fastcgi_param, the same namespace options), BasicAuthService
(auth_request's service), FakeClock (the kernel's clock status as a test sets
it; Stack.fake_clock() gives it to the CGI), free_port(), fetch() (one request
with cookies and a source address).
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


class PortBusy(RuntimeError):
    pass


def port_is_free(port, host="127.0.0.1"):
    """Nobody listens there (SO_REUSEADDR, as Apache binds: a restart's
    TIME_WAIT connections do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


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


def in_own_namespace(dir, argv, syslog_socket=None, bind_mounts=()):
    """argv run in a mount namespace of its own (root and unshare): a private
    /tmp (dir/tmp), optionally syslog_socket at /dev/log, and bind_mounts
    ((source, target) pairs). unshare execs sh, which execs argv: the pid
    stays argv[0]'s."""
    tmp = Path(dir) / "tmp"
    tmp.mkdir(exist_ok=True)
    os.chmod(tmp, 0o1777)
    setup = 'mount --bind "$0" /tmp'
    if syslog_socket:   # syslog() in the server and its CGIs lands in the test's socket
        devlog = Path(dir) / "devlog"
        devlog.mkdir(exist_ok=True)
        setup += " && " + devlog_script(devlog, syslog_socket)
    for source, target in bind_mounts:
        setup += f" && mount --bind {shlex.quote(str(source))} {shlex.quote(str(target))}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            setup + ' && exec "$@"', str(tmp)] + list(argv)


def listening(proc, port, timeout):
    """True once 127.0.0.1:port accepts; False when proc exits first (the
    port was taken: try another) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def terminate(proc, group=False):
    """SIGTERM to proc (group: to its process group), SIGKILL to the group
    after 15 s; closes its stderr pipe. None or an exited proc is fine."""
    if proc is None:
        return
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


def work_root():
    """Where stacks live: /var/tmp when Apache gets a private /tmp (it must
    still see the stack), else the usual temp folder."""
    return "/var/tmp" if private_tmp_supported() else None


def apache_user():
    """Apache drops to this user when started as root (nobody/nogroup)."""
    if os.geteuid() != 0:
        return None
    return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name


# zendesk-sso.cgi loads direct mode's PAM transaction from the module beside it
# (helper/direct): a copy of the CGI takes the module along.
DIRECT_MODULE = "zendesk-sso-direct.so"


def stage_cgi(program, cgi_bin):
    """Copies program (and the direct-mode module built beside it, if any)
    into cgi_bin, mode 0755 / 0644; returns the program's copy."""
    program = Path(program)
    target = Path(cgi_bin) / program.name
    if program.resolve() != target.resolve():
        shutil.copy2(program, target)
        module = program.parent / DIRECT_MODULE
        if module.exists():
            shutil.copy2(module, Path(cgi_bin) / DIRECT_MODULE)
            os.chmod(Path(cgi_bin) / DIRECT_MODULE, 0o644)
    os.chmod(target, 0o755)
    return target


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
            target = stage_cgi(program, cgi_bin)
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
        fixed = self.port   # a port asked for is that port or an error, never another one
        for attempt in range(3):
            self.port = fixed or free_port()
            if fixed and not port_is_free(fixed):
                raise PortBusy(f"port {fixed} on 127.0.0.1 is already in use")
            self._write_conf()
            check = subprocess.run([APACHE, "-t", "-f", str(self.conf_path)], capture_output=True, text=True)
            if check.returncode != 0:
                raise RuntimeError(f"httpd.conf rejected:\n{check.stderr}")
            argv = [APACHE, "-f", str(self.conf_path), "-DFOREGROUND"]
            if self.private_tmp:
                argv = in_own_namespace(self.dir, argv, self.syslog_socket, self.bind_mounts)
            self.proc = subprocess.Popen(argv,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            if listening(self.proc, self.port, timeout):
                return self
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            busy = "could not bind" in err or "Address already in use" in err
            if fixed and busy:
                raise PortBusy(f"port {fixed} on 127.0.0.1 is already in use:\n{err}")
            if not busy:
                raise RuntimeError(f"apache2 did not start:\n{err}\n{self.error_log()}")
        raise RuntimeError("apache2 could not bind a free port")

    def stop(self):
        # SIGTERM: the parent stops its children (and the cgid daemon) and exits.
        terminate(self.proc)
        self.proc = None

    def error_log(self):
        p = self.dir / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""


# --- nginx + fcgiwrap ------------------------------------------------------------------

NGINX = "/usr/sbin/nginx"
FCGIWRAP = "/usr/sbin/fcgiwrap"
# What the shipped snippets name on a Debian host, and what a private stack uses instead.
SNIPPET_CGI = "/usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi"
SNIPPET_SOCKET = "unix:/run/fcgiwrap.socket"
SNIPPET_CONFIG_PARAM = "fastcgi_param ZENDESK_SSO_CONFIG /etc/zendesk-sso/config.json;"
SNIPPET_AUTH_SERVICE = "http://127.0.0.1:4180/auth"


def nginx_snippets(source_dir, cgi, socket_path, env, auth_url=None):
    """examples/nginx/ as a private stack includes it: {file name: text}, with
    the CGI's path, fcgiwrap's socket and the CGI's environment (fastcgi_param
    lines in place of the ZENDESK_SSO_CONFIG one) rewritten; with auth_url, the
    commented remote-user variant switched on against that service. Fails
    loudly when a snippet no longer has what it rewrites."""
    src = Path(source_dir) / "examples" / "nginx"
    out = {}
    for name in ("zendesk-sso.conf", "zendesk-sso-fastcgi.conf"):
        out[name] = (src / name).read_text()
    fcgi = out["zendesk-sso-fastcgi.conf"]
    for needle in (SNIPPET_CGI, SNIPPET_SOCKET, SNIPPET_CONFIG_PARAM):
        if fcgi.count(needle) != 1:
            raise RuntimeError(f"zendesk-sso-fastcgi.conf: expected one {needle!r}")
    params = "\n".join(f'fastcgi_param {k} "{v}";' for k, v in env.items())
    fcgi = fcgi.replace(SNIPPET_CGI, str(cgi)).replace(SNIPPET_SOCKET, f"unix:{socket_path}")
    out["zendesk-sso-fastcgi.conf"] = fcgi.replace(SNIPPET_CONFIG_PARAM, params)
    if auth_url:
        main = out["zendesk-sso.conf"]
        m = re.search(r"^# BEGIN remote-user variant\n(.*?)^# END remote-user variant\n", main, re.S | re.M)
        if not m or SNIPPET_AUTH_SERVICE not in m.group(1):
            raise RuntimeError("zendesk-sso.conf: no remote-user variant between BEGIN and END")
        block = re.sub(r"^# ?", "", m.group(1), flags=re.M).replace(SNIPPET_AUTH_SERVICE, auth_url)
        out["zendesk-sso.conf"] = main + "\n" + block
    return out


class Nginx:
    """A private nginx (its own prefix, nginx.conf, pid, logs and temp paths in
    dir; 127.0.0.1:port only) in front of a private fcgiwrap on a Unix socket
    in dir, serving the shipped examples/nginx snippets (see nginx_snippets).
    As root, nginx's workers and fcgiwrap (so the CGI) run as nobody, as
    Apache's children do; fcgiwrap gets the same private /tmp, /dev/log and
    bind mounts as Apache. The CGI's stderr goes to dir/fcgiwrap.log.

    mounts: {"/zendesk": program} only (the snippets' path). auth_url: switch
    on the remote-user variant at /zendesk-sso against that service."""

    def __init__(self, dir, mounts, env=None, port=None, source_dir=None, auth_url=None,
                 private_tmp=None, syslog_socket=None, bind_mounts=(), workers=4):
        self.dir = Path(dir)
        if list(mounts) != ["/zendesk"]:
            raise RuntimeError("the nginx snippets serve /zendesk only")
        self.program = Path(mounts["/zendesk"])
        self.env = dict(env or {})
        self.port = port
        self.source_dir = Path(source_dir or Path(__file__).resolve().parents[2])
        self.auth_url = auth_url
        self.private_tmp = private_tmp_supported() if private_tmp is None else private_tmp
        self.syslog_socket = syslog_socket
        if syslog_socket and not (self.private_tmp and devlog_capture_supported()):
            raise RuntimeError("a private /dev/log needs root, unshare and overlayfs")
        self.bind_mounts = list(bind_mounts)
        if self.bind_mounts and not self.private_tmp:
            raise RuntimeError("bind mounts need fcgiwrap's own mount namespace (root and unshare)")
        self.workers = workers
        self.proc = None        # nginx's master
        self.fcgiwrap = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf_path(self):
        return self.dir / "nginx.conf"

    @property
    def socket_path(self):
        return self.dir / "run" / "fcgiwrap.sock"

    def _write_conf(self):
        cgi_bin = self.dir / "cgi-bin"
        cgi_bin.mkdir(parents=True, exist_ok=True)
        target = stage_cgi(self.program, cgi_bin)
        snippets = self.dir / "snippets"
        snippets.mkdir(exist_ok=True)
        for name, text in nginx_snippets(self.source_dir, target, self.socket_path, self.env, self.auth_url).items():
            (snippets / name).write_text(text)
        user = apache_user()
        lines = [
            f"user {user[0]} {user[1]};" if user else "",
            "worker_processes 1;",
            f"pid {self.dir}/nginx.pid;",
            f"lock_file {self.dir}/nginx.lock;",
            f"error_log {self.dir}/error.log warn;",
            "events { worker_connections 256; }",
            "http {",
            "  access_log off;",
            "  server_tokens off;",
        ]
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            lines.append(f"  {kind}_temp_path {self.dir}/{kind}_temp;")
        lines += [
            "  server {",
            f"    listen 127.0.0.1:{self.port};",
            "    server_name 127.0.0.1;",
            "    include snippets/zendesk-sso.conf;",
            "  }",
            "}",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def _start_fcgiwrap(self, timeout):
        run = self.socket_path.parent
        run.mkdir(exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        argv = [FCGIWRAP, "-c", str(self.workers), "-s", f"unix:{self.socket_path}"]
        user = apache_user()
        if user:   # fcgiwrap runs CGIs as itself: Debian's unit has User=www-data
            os.chown(run, pwd.getpwnam(user[0]).pw_uid, grp.getgrnam(user[1]).gr_gid)
            argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--"] + argv
        if self.private_tmp:
            argv = in_own_namespace(self.dir, argv, self.syslog_socket, self.bind_mounts)
        log = open(self.dir / "fcgiwrap.log", "ab")
        try:
            self.fcgiwrap = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fcgiwrap.poll() is not None:
                raise RuntimeError(f"fcgiwrap exited:\n{self.error_log()}")
            if self.socket_path.exists():
                return
            time.sleep(0.05)
        raise RuntimeError("fcgiwrap did not create its socket")

    def start(self, timeout=20):
        self.dir.mkdir(parents=True, exist_ok=True)
        self._start_fcgiwrap(timeout)
        for attempt in range(3):
            self.port = self.port if (self.port and attempt == 0) else free_port()
            self._write_conf()
            base = [NGINX, "-p", f"{self.dir}/", "-c", str(self.conf_path), "-e", str(self.dir / "error.log")]
            check = subprocess.run(base + ["-t", "-q"], capture_output=True, text=True)
            if check.returncode != 0:
                self.stop()
                raise RuntimeError(f"nginx.conf rejected:\n{check.stderr}")
            self.proc = subprocess.Popen(base + ["-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            if listening(self.proc, self.port, timeout):
                return self
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self._stop_nginx()
            if "Address already in use" not in err + self.error_log():
                self.stop()
                raise RuntimeError(f"nginx did not start:\n{err}\n{self.error_log()}")
        self.stop()
        raise RuntimeError("nginx could not bind a free port")

    def _stop_nginx(self):
        terminate(self.proc)   # SIGTERM: fast shutdown, the master stops its workers
        self.proc = None

    def stop(self):
        self._stop_nginx()
        terminate(self.fcgiwrap, group=True)   # the preforked children share its process group
        self.fcgiwrap = None

    def error_log(self):
        """nginx's error log, then the CGI's stderr (fcgiwrap's)."""
        out = ""
        for name in ("error.log", "fcgiwrap.log"):
            p = self.dir / name
            if p.exists():
                out += p.read_text(errors="replace")
        return out


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


class BasicAuthService:
    """The authentication service of nginx's auth_request variant, standing
    in for a Kerberos/SPNEGO or OpenID Connect gateway: GET /auth answers 200
    with X-Remote-User when the request's Basic credentials are in users
    ({name: password}), else 401 with a Basic challenge."""

    def __init__(self, users, host="127.0.0.1"):
        self.users = dict(users)
        self.host = host
        self.port = 0
        self._server = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}/auth"

    def start(self):
        users = self.users

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                import base64
                user = None
                kind, _, cred = (self.headers.get("Authorization") or "").partition(" ")
                if kind == "Basic":
                    try:
                        name, _, password = base64.b64decode(cred, validate=True).decode().partition(":")
                        if name in users and users[name] == password:
                            user = name
                    except ValueError:
                        pass
                self.send_response(200 if user else 401)
                if user:
                    self.send_header("X-Remote-User", user)
                else:
                    self.send_header("WWW-Authenticate", 'Basic realm="intranet"')
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


WEB_SERVERS = ("apache", "nginx")


class FakeClock:
    """What the kernel says about the clock's synchronisation, as a test sets
    it (tests/e2e/fake_clock.c, preloaded; issue 24.3). env(preload) gives a
    process the library after its other preloads; set(state) changes the
    answer of every process that has it, at once: "synchronised",
    "unsynchronised" or "unreadable". The library is copied into folder, so
    the web server's user reads it wherever the build tree is."""

    def __init__(self, build_dir, folder):
        self.lib = Path(folder) / "libzsso_fake_clock.so"
        shutil.copy(Path(build_dir) / "tests" / "e2e" / "libzsso_fake_clock.so", self.lib)
        os.chmod(self.lib, 0o755)
        self.state = Path(folder) / "clock-state"
        self.set("synchronised")

    def set(self, state):
        self.state.write_text(state + "\n")
        os.chmod(self.state, 0o644)

    def env(self, preload=""):
        env = {"LD_PRELOAD": f"{preload} {self.lib}".strip(), "ZSSO_FAKE_CLOCK_FILE": str(self.state)}
        # A sanitizer build (scripts/hardening.sh): its options (verify_asan_link_order=0) go along.
        env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS") if k in os.environ})
        return env


class Stack:
    """PamSandbox (tests/pam) + ZendeskStandIn + a web server running
    zendesk-sso.cgi at /zendesk: Apache (mod_cgid), or with server="nginx"
    nginx + fcgiwrap with the shipped examples/nginx snippets. The default
    server is $ZSSO_E2E_SERVER, else apache. Defaults: users alice (uid 1001,
    staff) and bob (1002, zd-agents) with passwords from self.passwords;
    config subdomain acme, claims email {user}@acme.test; a service
    "zendesk-sso" with pam_matrix (auth) and pam_zendesk.so (auth gate,
    account, setcred).

    self.web is the running server (base_url, port, error_log(): the CGI's
    stderr lines among the server's own); self.apache is the same object
    when it is Apache. web_users ({name: password}): the web server checks
    these Basic credentials and passes REMOTE_USER (Apache: mod_auth_basic;
    nginx: the snippet's auth_request variant at /zendesk-sso, then the
    stack's base_url)."""

    def __init__(self, build_dir=None, source_dir=None, keep=False, cgi=None, module=None, server=None):
        self.server = server or os.environ.get("ZSSO_E2E_SERVER") or "apache"
        if self.server not in WEB_SERVERS:
            raise ValueError(f"server must be one of {WEB_SERVERS}, not {self.server!r}")
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
            # Refusals answered at once: the failure deadline (2 s by default,
            # issue 22.3) has tests of its own (broker.RefusalDeadline,
            # broker.FailDelay, the unit tests); here it would only add 2 s to
            # every wrong password. A test about it configures it.
            "broker": {"failure_delay_ms": 0},
        }
        self.services = {"zendesk-sso": None}   # name -> stack text (None: the standard stack)
        self.cgi_env = {}
        self.apache_options = {}
        self.nginx_options = {}
        self.web_users = {}
        self.standin = None
        self.auth_service = None
        self.web = None

    @property
    def apache(self):
        """The web server when it is Apache (the suites that drive Apache itself use this)."""
        if self.web is not None and not isinstance(self.web, Apache):
            raise AttributeError(f"this stack runs {self.server}, not Apache")
        return self.web

    # configuration before (or between) starts
    def configure(self, overrides):
        self.config = deep_merge(self.config, overrides)

    def catalogues(self):
        """The build's translations (po/, the .mo files), copied beside the
        stack: the web server's user (maybe with a private /tmp) reads them
        from there, wherever the build tree is. Returns the folder, for
        helper.locale_dir."""
        locale = self.dir / "locale"
        locale.mkdir(exist_ok=True)
        for mo in (self.build_dir / "po").glob("*/LC_MESSAGES/zendesk-sso.mo"):
            target = locale / mo.relative_to(self.build_dir / "po")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(mo, target)
        for p in [locale] + list(locale.rglob("*")):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        return locale

    def fake_clock(self):
        """The CGI asks a FakeClock, not the kernel, whether the clock is
        synchronised (call before start); returns it, to set its state."""
        clock = FakeClock(self.build_dir, self.dir)
        self.cgi_env.update(clock.env(self.sandbox.env().get("LD_PRELOAD", "")))
        return clock

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

    def _web_server(self, port=None):
        mounts = {"/zendesk": self.cgi}
        if self.server == "nginx":
            options = dict(self.nginx_options)
            if self.web_users:
                if not self.auth_service:
                    self.auth_service = BasicAuthService(self.web_users).start()
                options["auth_url"] = self.auth_service.url
            if port:
                options["port"] = port
            return Nginx(self.dir / "nginx", mounts, env=self.cgi_environment(), source_dir=self.source_dir,
                         **options)
        options = dict(self.apache_options)
        if self.web_users:
            htpasswd = self.dir / "htpasswd"
            for i, (name, password) in enumerate(self.web_users.items()):
                subprocess.run(["htpasswd", "-b" + ("c" if i == 0 else ""), str(htpasswd), name, password],
                               check=True, capture_output=True)
            os.chmod(htpasswd, 0o644)
            options["modules"] = list(options.get("modules", ())) + [
                "auth_basic", "authn_core", "authn_file", "authz_user"]
            options["location_conf"] = (options.get("location_conf", "") +
                                        f'\n  AuthType Basic\n  AuthName "intranet"\n  AuthBasicProvider file\n'
                                        f'  AuthUserFile "{htpasswd}"\n  Require valid-user')
        if port:
            options["port"] = port
        return Apache(self.dir / "httpd", mounts, env=self.cgi_environment(), **options)

    def start(self):
        self._write_files()
        if not self.standin:
            self.standin = ZendeskStandIn(self.secret).start()
        self.web = self._web_server()
        self.web.start()
        return self

    def restart(self):
        """Rewrites config and services, restarts the web server (same port)."""
        port = self.web.port
        self.web.stop()
        self._write_files()
        self.web = self._web_server(port)
        self.web.start()

    def stop(self):
        if self.web:
            self.web.stop()
        if self.standin:
            self.standin.stop()
        if self.auth_service:
            self.auth_service.stop()

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
        if self.server == "nginx" and self.web_users:
            return self.web.base_url + "/zendesk-sso"   # the snippet's remote-user location
        return self.web.base_url + "/zendesk"

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

def demo(build_dir, source_dir, port=None, server="apache"):
    import secrets as pysecrets
    s = Stack(build_dir, source_dir, server=server)
    if port:
        s.apache_options = {"port": port}
        s.nginx_options = {"port": port}
    password = "".join(pysecrets.choice(DEMO_PASSWORD_ALPHABET) for _ in range(12))
    s.sandbox.add_user("demo", 1500, gecos="Demo User", password=password, groups=["staff"])
    # A sign-in session (issue 13): the key readable by Apache's CGI, as direct mode needs.
    session_key = s.dir / "session-key"
    session_key.write_text(pysecrets.token_urlsafe(32) + "\n")
    if apache_user():
        os.chown(session_key, 0, grp.getgrnam(apache_user()[1]).gr_gid)
    os.chmod(session_key, 0o640 if apache_user() else 0o600)
    # The pages in the visitor's language (Accept-Language): the build's catalogues.
    locale = s.catalogues()
    languages = sorted(p.name for p in locale.iterdir())
    s.configure({"helper": {"site_name": "zendesk-sso demo", "locale_dir": str(locale)},
                 "network": {"ip_ranges": ["127.0.0.0/8"]}, "session": {"key_file": str(session_key)}})
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if port and not port_is_free(port):
        s.cleanup()
        print(f"demo: port {port} on 127.0.0.1 is already in use. Stop that program, or pick another "
              "port: scripts/demo.sh --port N (or no --port: a free one).", file=sys.stderr)
        return 1
    try:
        try:
            s.start()
        except PortBusy as e:
            print(f"demo: {e}\nPick another port: scripts/demo.sh --port N (or no --port: a free one).",
                  file=sys.stderr)
            return 1
        except RuntimeError as e:   # Apache refused its config or died at start: its own words
            print(f"demo: {e}", file=sys.stderr)
            return 1
        print(f"""
zendesk-sso demo is running (private {"nginx + fcgiwrap" if server == "nginx" else "Apache"} {s.web.base_url}, files in {s.dir})

  Open:      {s.login_url}?return_to=/hc/en-us
  User:      demo
  Password:  {password}
  (also alice / {s.passwords['alice']} and bob / {s.passwords['bob']})

The form signs you in through PAM (pam_matrix + pam_zendesk.so); the token goes
to a local stand-in for Zendesk at {s.standin.url}/access/jwt, which verifies it
with PyJWT and shows the decoded claims. Sign-out page: {s.base_url}/logout
CGI log: {s.web.dir / ("fcgiwrap.log" if server == "nginx" else "error.log")}

Languages: English{", " + ", ".join(languages) if languages else " only (no translations built: po/)"}, as the browser asks
(Accept-Language).

Sign-in session: after signing in, open the link above again (or in a new
tab): you land on the stand-in without the form, with a fresh token
("200 signed in from session" in the log), until you visit the sign-out page.

Press Ctrl-C to stop.""", flush=True)
        while not stop.wait(0.5):
            if s.web.proc is None or s.web.proc.poll() is not None:
                # The log goes with the temp folder: show it first.
                err = (s.web.proc.stderr.read().decode(errors="replace")
                       if s.web.proc and s.web.proc.stderr else "")
                print(f"the web server exited (status {s.web.proc.returncode if s.web.proc else '?'}). "
                      f"Its error log, {s.web.dir}/error.log:\n{s.web.error_log() or '(empty)'}"
                      + (f"\nIts standard error:\n{err}" if err.strip() else ""), file=sys.stderr)
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
    ap.add_argument("--port", type=int, default=None, help="the web server's port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--server", choices=WEB_SERVERS, default="apache",
                    help="Apache httpd (default), or nginx + fcgiwrap with the shipped snippets")
    a = ap.parse_args()
    sys.exit(demo(a.build, a.source, a.port, a.server))
