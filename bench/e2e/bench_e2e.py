#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end benchmark of zendesk-sso.cgi: wrk against the E2E suite's
private Apache on 127.0.0.1 (tests/e2e/zsso_e2e.py), at 1 and 8 concurrent
clients, every path as a ratio to a trivial compiled CGI (the floor) under
the same Apache in the same round; then the CGI's peak RSS per path
(/usr/bin/time -v, one request run by hand as a CGI) and a burst of sign-ins
through the broker; then every target of issue 16 as met or missed.

    /usr/bin/python3 bench/e2e/bench_e2e.py --build BUILD [--baseline-build OLD]
        [--rounds 3] [--duration 5] [--json FILE]
    (or: cmake --build BUILD --target bench-e2e)

Paths (broker mode is the shipped default; direct mode runs PAM in the CGI):
  get_login           GET /login, the form page (broker mode)
  broker_post         the sign-in POST in broker mode, first step through to
                      the delivery page (CSRF cookie + token from a GET first)
  broker_remote_user  REMOTE_USER in broker mode, against the floor behind the
                      same mod_auth_basic location (Apache's password check is
                      the web server's work, not ours)
  session             GET /login with a valid session cookie from one real
                      sign-in (broker mode: the broker checks and signs it)
  direct_post, direct_remote_user   the same two in direct mode
  probe1..probe5      the start-up ladder (bench/e2e/probe.cpp), 1 client

With --baseline-build OLD, every CGI path is also measured with OLD's
zendesk-sso.cgi, zendesk-sso-authd and pam_zendesk.so in the same rounds
(interleaved), and the tables show OLD -> BUILD.

wrk fails the run on any non-2xx/3xx answer, and a Lua response() check
counts every answer that is not the page the path must give (the form, or
a delivery page with a token); one such answer fails the run too. Every path
is also checked once by hand first, its token verified with PyJWT.

The burst (--burst 200,16): 200 sign-ins (each a GET /login for a CSRF pair
of its own, then the POST; every token verified with PyJWT and counted as a
failure otherwise) from 16 client threads through the broker, while a
sampler process reads /proc every ~20 ms for the broker's process tree:
peak process count, summed RSS and summed PSS (PSS counts shared pages once).

PAM is the real libpam with pam_matrix for passwords (see BenchStack). Needs
root (Apache drops to nobody; a private mount namespace), apache2, wrk.
"""

import argparse
import base64
import json
import multiprocessing
import os
import platform
import pwd
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

WRK = shutil.which("wrk") or "/usr/bin/wrk"
TIME = "/usr/bin/time"
WEB_PASSWORD = "web-pw"   # Basic auth for the REMOTE_USER locations (htpasswd)
RETURN_TO = "%2Fhc%2Fen-us"
SESSION_COOKIE = "__Host-zsso_session"

# Issue 16's targets: (path, clients, figure, limit, matched floor).
LATENCY_TARGETS = [("get_login", 1.3), ("broker_post", 1.5), ("broker_remote_user", 1.3), ("session", 1.3)]
THROUGHPUT_TARGETS = [("get_login", 0.8)]
RSS_TARGET_KB = 3 * 1024

# bench/e2e/probe.cpp: the floor plus, level by level, what the CGI cannot avoid.
PROBE_LEVELS = {
    1: "probe1: floor + C++ runtime linked",
    2: "probe2:   + libcrypto linked",
    3: "probe3:   + RAND_bytes(16) (OpenSSL init)",
    4: "probe4:   + HMAC-SHA256 via EVP_MAC",
    5: "probe5: lean: static libstdc++ + getrandom",
}

# The paths measured for each build: name -> (label, mount, matched floor, broker mode).
PATHS = {
    "get_login": ("GET /login (form page)", "broker", "floor", True),
    "broker_post": ("sign-in POST, broker", "broker", "floor", True),
    "broker_remote_user": ("REMOTE_USER, broker", "broker-auth", "floor_auth", True),
    "session": ("session sign-in, broker", "session", "floor", True),
    "direct_post": ("sign-in POST, direct mode", "direct", "floor", False),
    "direct_remote_user": ("REMOTE_USER, direct mode", "direct-auth", "floor_auth", False),
}
MARK_FORM = 'name="password"'
MARK_TOKEN = 'name="jwt"'


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- the stack ------------------------------------------------------------------------------

def merge_db(system_text, extra_text, members_field=None):
    """/etc/passwd or /etc/group plus the sandbox's entries; a group both
    define keeps the system's gid and gains the sandbox's members."""
    lines = system_text.splitlines()
    index = {ln.split(":", 1)[0]: i for i, ln in enumerate(lines) if ln and not ln.startswith("#")}
    for ln in extra_text.splitlines():
        if not ln:
            continue
        name = ln.split(":", 1)[0]
        if name not in index:
            index[name] = len(lines)
            lines.append(ln)
        elif members_field is not None:
            old, new = lines[index[name]].split(":"), ln.split(":")
            members = [m for m in old[members_field].split(",") if m]
            members += [m for m in new[members_field].split(",") if m and m not in members]
            old[members_field] = ",".join(members)
            lines[index[name]] = ":".join(old)
    return "\n".join(lines) + "\n"


def web_user():
    """(name, uid, gid) of the user Apache's CGIs run as (the broker's allowed peer)."""
    import zsso_e2e
    user = zsso_e2e.apache_user()
    pw = pwd.getpwnam(user[0]) if user else pwd.getpwuid(os.geteuid())
    return pw.pw_name, pw.pw_uid, pw.pw_gid


class Build:
    """One build's binaries: the CGI, the broker and the PAM module. tag is
    "after" (--build) or "before" (--baseline-build)."""

    def __init__(self, tag, build):
        self.tag, self.dir = tag, build
        self.cgi = build / "helper" / "cgi" / "zendesk-sso.cgi"
        self.authd = build / "helper" / "authd" / "zendesk-sso-authd"
        self.module = build / "pam_module" / "pam_zendesk.so"
        # Direct mode's PAM transaction, dlopen()ed from beside the CGI, in builds that have it.
        module = self.cgi.parent / "zendesk-sso-direct.so"
        self.direct_module = module if module.exists() else None
        self.staged = None    # the copy Apache runs (BenchStack.start)
        for p in (self.cgi, self.authd, self.module):
            if not p.exists():
                raise SystemExit(f"bench_e2e: {p} is missing; build first (cmake --build {build})")
        self.service = "zendesk-sso" if tag == "after" else f"zendesk-sso-{tag}"
        self.configs = {}     # mount -> config path
        self.brokers = {}     # "broker" / "session" -> (Popen, socket, log path)
        self.csrf_key = True  # broker mode with helper.csrf_key_file (see BenchStack._choose_csrf_key)

    def mount(self, name):
        return f"/{self.tag}-{name}"


class BenchStack:
    """The E2E Stack (config, secret, users, Zendesk stand-in) served by one
    Apache with several mounts: the floor, the probes and, for each build, the
    CGI in broker mode (plain, behind Basic auth, with sessions on) and in
    direct mode (plain, behind Basic auth); two brokers per build (sessions
    off and on), run as root with the same config as their CGI.

    PAM here is the real libpam and NSS the real files backend, not the E2E
    suite's pam_wrapper/nss_wrapper: pam_wrapper copies the service files to
    a one-letter /tmp/pam.X per process and collides under 8 concurrent
    logins, and LD_PRELOADed doubles would not be what a deployment runs.
    This process lives in its own mount namespace, where a copy of /etc is
    bind-mounted over the real one, with one PAM service per build
    (its pam_zendesk.so + pam_matrix for passwords) and the sandbox's users
    and groups added to passwd and group. Nothing outside changes."""

    def __init__(self, source, builds, floor_build):
        sys.path.insert(0, str(source / "tests" / "e2e"))
        import zsso_e2e
        self.e2e = zsso_e2e
        self.builds = builds
        self.floor = floor_build / "bench" / "e2e" / "floor.cgi"
        self.probe = lambda level: floor_build / "bench" / "e2e" / f"probe{level}.cgi"
        if not self.floor.exists():
            raise SystemExit(f"bench_e2e: {self.floor} is missing; build first (cmake --build {floor_build})")
        self.levels = [level for level in PROBE_LEVELS if self.probe(level).exists()]
        if len(self.levels) < len(PROBE_LEVELS):
            log(f"bench_e2e: not built in {floor_build}, left out of the ladder: " +
                ", ".join(f"probe{level}" for level in PROBE_LEVELS if level not in self.levels))
        after = builds[0]
        self.s = zsso_e2e.Stack(build_dir=after.dir, source_dir=source, cgi=after.cgi, module=after.module)
        for b in builds[1:]:   # pam_matrix's passdb needs a line per service
            self.s.add_service(b.service)
        self.apache = None
        self.extra_env = {}   # --cgi-env
        self.config_extra = {}   # --config-extra

    def _private_etc(self):
        # All of /etc, not single files: a file bind mount disappears when the
        # host replaces the file (useradd renames a new /etc/passwd into place).
        s = self.s
        etc = s.dir / "etc"
        shutil.copytree("/etc", etc, symlinks=True, ignore_dangling_symlinks=True)
        sb = s.sandbox
        for b in self.builds:
            module = sb.module
            if b.tag != "after":   # a copy like the stack's own: the build tree may not be readable by nobody
                module = s.dir / "lib" / f"pam_zendesk-{b.tag}.so"
                shutil.copy2(b.module, module)
            # The production shape of the service: no 'debug'. The module's config
            # names this service (pam_zendesk mints only for its configured service).
            config = b.configs["direct"]
            (etc / "pam.d" / b.service).write_text(
                f"auth     requisite  {module} config={config}\n"
                f"auth     required   {self.e2e_matrix()} passdb={sb.passdb_path}\n"
                f"account  required   {module} config={config}\n")
        (etc / "passwd").write_text(merge_db(Path("/etc/passwd").read_text(), sb.passwd_path.read_text()))
        (etc / "group").write_text(merge_db(Path("/etc/group").read_text(), sb.group_path.read_text(), 3))
        os.chmod(etc, 0o755)
        subprocess.run(["mount", "--bind", str(etc), "/etc"], check=True)

    def e2e_matrix(self):
        sys.path.insert(0, str(self.s.source_dir / "tests" / "pam"))
        from pam_sandbox import PAM_MATRIX
        return PAM_MATRIX

    def start(self):
        s = self.s
        s.start()                       # files and the stand-in; its Apache is replaced below
        s.web.stop()
        self.csrf_key = s.dir / "csrf-key"
        self._key_file(self.csrf_key, group_readable=True)
        self.session_key = s.dir / "session-key"
        self._key_file(self.session_key, group_readable=False)   # broker mode: only the broker reads it
        for b in self.builds:
            self._write_configs(b)
        self._private_etc()
        self.htpasswd = s.dir / "htpasswd"
        subprocess.run(["htpasswd", "-bc", str(self.htpasswd), "bob", WEB_PASSWORD], check=True, capture_output=True)
        os.chmod(self.htpasswd, 0o644)

        self.cgi_env = {"ZENDESK_SSO_ENDPOINT_OVERRIDE": s.standin.url, "ZENDESK_SSO_LOG_STDERR": "1",
                        **self.extra_env}
        locations = {"/floor": {}, "/floor-auth": {}}
        mounts = {"/floor": self.floor, "/floor-auth": self.floor}
        for level in self.levels:
            locations[f"/probe{level}"] = {}
            mounts[f"/probe{level}"] = self.probe(level)
        extra = []
        for b in self.builds:
            # Each build in a folder of its own, the CGI with its direct-mode module
            # beside it (Apache's cgi-bin holds one zendesk-sso-direct.so only).
            folder = s.dir / f"cgi-{b.tag}"
            folder.mkdir()
            os.chmod(folder, 0o755)
            b.staged = folder / b.cgi.name
            shutil.copy2(b.cgi, b.staged)
            os.chmod(b.staged, 0o755)
            if b.direct_module:
                shutil.copy2(b.direct_module, folder / b.direct_module.name)
                os.chmod(folder / b.direct_module.name, 0o644)
            extra += [f'<Directory "{folder}">', "  Require all granted", "  Options +ExecCGI", "</Directory>"]
            for name, path in b.configs.items():
                locations[b.mount(name)] = {"ZENDESK_SSO_CONFIG": str(path)}
                extra.append(f'ScriptAlias {b.mount(name)} "{b.staged}"')
        auth = (f'  AuthType Basic\n  AuthName "intranet"\n  AuthBasicProvider file\n'
                f'  AuthUserFile "{self.htpasswd}"\n  Require valid-user')
        for loc, env in locations.items():
            extra.append(f"<Location {loc}>")
            extra += [f'  SetEnv {k} "{v}"' for k, v in dict(self.cgi_env, **env).items()]
            if loc.endswith("-auth"):
                extra.append(auth)
            extra.append("</Location>")
        self.apache = self.e2e.Apache(s.dir / "httpd-bench", mounts, env={}, extra_conf="\n".join(extra),
                                      modules=["auth_basic", "authn_core", "authn_file", "authz_user"])
        self.apache.start()
        for b in self.builds:
            for kind in ("broker", "session"):
                self._start_broker(b, kind)
            self._choose_csrf_key(b)
        return self

    def _key_file(self, path, group_readable):
        path.write_text(secrets.token_urlsafe(32) + "\n")
        if os.geteuid() == 0 and group_readable:
            os.chown(path, 0, web_user()[2])
            os.chmod(path, 0o640)
        else:
            os.chmod(path, 0o600)

    # Each mount has a config of its own; a broker shares its CGI's config (as
    # in tests/broker): the CGI reads broker.socket from it, the broker the rest.
    def _write_configs(self, b, csrf_key=True):
        s = self.s
        base = self.e2e.deep_merge(s.config, {"pam": {"service": b.service}})
        if b.tag == "after" and self.config_extra:   # --config-extra: the measured build only
            base = self.e2e.deep_merge(base, self.config_extra)
        broker = {"broker": {"socket": str(s.dir / f"authd-{b.tag}.sock"), "allowed_peers": [web_user()[0]]}}
        if csrf_key:   # builds whose CGI signs its CSRF token itself need a key it may read in broker mode
            broker["helper"] = {"csrf_key_file": str(self.csrf_key)}
        session_broker = self.e2e.deep_merge(broker, {
            "broker": {"socket": str(s.dir / f"authd-{b.tag}-session.sock")},
            "session": {"key_file": str(self.session_key)}})
        trust = {"helper": {"trust_remote_user": True}}
        variants = {
            "broker": self.e2e.deep_merge(base, broker),
            # The broker of the plain and Basic-auth mounts trusts REMOTE_USER (it checks its own config).
            "broker-auth": self.e2e.deep_merge(self.e2e.deep_merge(base, broker), trust),
            "session": self.e2e.deep_merge(base, session_broker),
            "direct": base,
            "direct-auth": self.e2e.deep_merge(base, trust),
        }
        for name, cfg in variants.items():
            b.configs[name] = s.dir / f"config-{b.tag}-{name}.json"
            s.sandbox.write_config(cfg, path=b.configs[name])

    def _start_broker(self, b, kind):
        config = b.configs["broker-auth" if kind == "broker" else "session"]
        socket = json.loads(config.read_text())["broker"]["socket"]
        log_path = self.s.dir / f"authd-{b.tag}-{kind}.log"
        with open(log_path, "w") as out:
            proc = subprocess.Popen(
                [str(b.authd), "--config", str(config), "--listen", socket, "--log-stderr"],
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        b.brokers[kind] = (proc, socket, log_path)
        end = time.monotonic() + 60
        while "listening on" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"bench_e2e: {b.tag}'s broker ({kind}) did not start:\n" + log_path.read_text())
            time.sleep(0.02)

    def _choose_csrf_key(self, b):
        """helper.csrf_key_file is what a CGI that signs its own CSRF token
        needs in broker mode; a CGI that needs no key may not know the
        setting. Keep it if GET /login works with it, else drop it."""
        r = self.e2e.fetch("GET", self.url(b.mount("broker"), "/login"))
        if r.status == 200 and MARK_FORM in r.body:
            b.csrf_key = True
            return
        self._write_configs(b, csrf_key=False)
        for kind, (proc, _, _) in b.brokers.items():
            stop_process(proc)
            self._start_broker(b, kind)
        b.csrf_key = False
        log(f"bench_e2e: {b.tag}: GET /login answered {r.status} with helper.csrf_key_file set; "
            f"running without it")

    def stop(self):
        for b in self.builds:
            for proc, _, _ in b.brokers.values():
                stop_process(proc)
        if self.apache:
            self.apache.stop()
        self.s.cleanup()

    def url(self, mount, path=""):
        return self.apache.base_url + mount + path

    def auth_header(self):
        return "Basic " + base64.b64encode(f"bob:{WEB_PASSWORD}".encode()).decode()

    def broker_log(self, b, kind):
        return b.brokers[kind][2].read_text(errors="replace")


def stop_process(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


# --- requests: one checked by hand, then the same under wrk --------------------------------

class Scenario:
    def __init__(self, name, label, floor, method, url, headers=None, body=None, expect=200, prepare=None,
                 ladder=False, build=None, mark=None, base_name=None):
        self.name, self.label, self.floor = name, label, floor
        self.base_name = base_name or name    # the path (get_login...) without the build's tag
        self.build = build                    # the Build, None for floors and probes
        self.ladder = ladder                  # startup ladder: measured at 1 client only
        self.method, self.url = method, url
        self.headers = dict(headers or {})
        self.body = body
        self.expect = expect
        self.mark = mark                      # every answer's body must contain this
        self.prepare = prepare                # refreshes headers/body (CSRF pair, cookie) before each run


def browser_headers(stack):
    """What a browser's same-origin form POST carries (the CGI checks them)."""
    origin = stack.apache.base_url
    return {"Origin": origin, "Sec-Fetch-Site": "same-origin"}


def csrf_pair(stack, mount):
    """A fresh cookie + form fields from GET /login (reusable within its lifetime)."""
    form = stack.e2e.fetch("GET", stack.url(mount, "/login"))
    if form.status != 200:
        raise SystemExit(f"bench_e2e: GET {mount}/login answered {form.status}:\n{form.body[:500]}")
    cookies = "; ".join(f"{name}={m.value}" for name, m in form.cookies().items())
    return cookies, stack.e2e.hidden_fields(form.body)


def sign_in_request(stack, mount, user, password):
    cookie, fields = csrf_pair(stack, mount)
    fields.update({"user": user, "password": password})
    headers = dict(browser_headers(stack), Cookie=cookie)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers, urllib.parse.urlencode(fields)


def login_post(stack, mount, user, password):
    def prepare(sc):
        sc.headers, sc.body = sign_in_request(stack, mount, user, password)
    return prepare


def session_cookie(stack, mount, user, password):
    """The session cookie of one real sign-in through mount."""
    headers, body = sign_in_request(stack, mount, user, password)
    r = stack.e2e.fetch("POST", stack.url(mount, "/login"), body=body, headers=headers)
    for v in r.all("Set-Cookie"):
        if v.startswith(SESSION_COOKIE + "="):
            return v.split(";", 1)[0]
    raise SystemExit(f"bench_e2e: no {SESSION_COOKIE} cookie from a sign-in at {mount} ({r.status}):\n"
                     f"{r.headers}\n{r.body[:800]}")


def session_get(stack, mount, user, password):
    def prepare(sc):
        sc.headers = {"Cookie": session_cookie(stack, mount, user, password)}
    return prepare


def check_token(stack, body, what):
    """The delivery page's token, verified with PyJWT; returns its claims."""
    import jwt as pyjwt
    token = stack.e2e.hidden_fields(body, "zendesk-sso").get("jwt")
    if not token:
        raise SystemExit(f"bench_e2e: {what}: no token in the answer:\n{body[:800]}")
    return pyjwt.decode(token, stack.s.secret, algorithms=["HS256"])


def check_once(stack, sc):
    """The request really does what the scenario says (the form, or a
    delivery page with a token PyJWT accepts), so wrk measures real sign-ins."""
    r = stack.e2e.fetch(sc.method, sc.url, body=sc.body, headers=sc.headers)
    if r.status != sc.expect:
        raise SystemExit(f"bench_e2e: {sc.name}: {sc.method} {sc.url} answered {r.status}, "
                         f"expected {sc.expect}:\n{r.body[:800]}\n{stack.apache.error_log()[-2000:]}")
    if sc.mark == MARK_TOKEN:
        claims = check_token(stack, r.body, sc.name)
        want = "bob" if "remote_user" in sc.name else "alice"
        if claims.get("email") != f"{want}@acme.test":
            raise SystemExit(f"bench_e2e: {sc.name}: a token for {claims.get('email')}, not {want}")
    elif sc.mark and sc.mark not in r.body:
        raise SystemExit(f"bench_e2e: {sc.name}: the answer lacks {sc.mark}:\n{r.body[:800]}")


def lua_string(s):
    return '"' + "".join(c if c.isalnum() or c in " ._-=&%+/:;," else "\\%03d" % ord(c) for c in s) + '"'


def wrk_script(sc, path):
    lines = [f"wrk.method = {lua_string(sc.method)}"]
    if sc.body is not None:
        lines.append(f"wrk.body = {lua_string(sc.body)}")
    for k, v in sc.headers.items():
        lines.append(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}")
    lines.append("""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) wrong = 0 end
""")
    if sc.mark:
        lines.append(f"""
local mark = {lua_string(sc.mark)}
function response(status, headers, body)
  if not body or not string.find(body, mark, 1, true) then wrong = wrong + 1 end
end
""")
    lines.append("""
function done(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("wrong") end
  io.write(string.format(
    'ZSSO_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"wrong_answers": %d, "mean_us": %.1f, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout, bad,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
""")
    Path(path).write_text("\n".join(lines))


class BenchError(Exception):
    pass


def run_wrk(sc, clients, duration, script_dir):
    if sc.prepare:
        sc.prepare(sc)
    script = Path(script_dir) / f"{sc.name}.lua"
    wrk_script(sc, script)
    threads = min(clients, os.cpu_count() or 1)
    cmd = [WRK, f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), sc.url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r"ZSSO_RESULT (\{.*\})", out.stdout)
    if out.returncode != 0 or not m:
        raise SystemExit(f"bench_e2e: wrk failed for {sc.name}:\n{out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    # wrk counts a response whose connection it closed at the deadline; keep-alive so that is rare.
    if r["status_errors"] or r["socket_errors"] or r["wrong_answers"] or r["requests"] == 0:
        raise BenchError(f"{sc.name} at {clients} clients: {r['status_errors']} HTTP errors, "
                         f"{r['socket_errors']} socket errors, {r['wrong_answers']} answers without "
                         f"{sc.mark!r} in {r['requests']} requests")
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


# --- peak RSS: one request, run by hand as a CGI ------------------------------------------

def run_cgi(program, env, body=None, as_web_user=False):
    """One request, run by hand as a CGI under /usr/bin/time -v: (peak RSS kB, status, stdout)."""
    full = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET"}
    full.update(env)
    if body is not None:
        full.update({"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
                     "CONTENT_LENGTH": str(len(body))})
    argv = [TIME, "-v", str(program)]
    if as_web_user and os.geteuid() == 0:   # as Apache runs it: the broker only answers the web server's user
        _, uid, gid = web_user()
        argv[2:2] = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    r = subprocess.run(argv, input=(body or "").encode(), env=full, capture_output=True, timeout=60)
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    status = re.match(rb"Status: (\d+)", r.stdout)
    if not m:
        raise SystemExit(f"bench_e2e: /usr/bin/time gave no RSS for {program}:\n{r.stderr.decode()}")
    return int(m.group(1)), int(status.group(1)) if status else None, r.stdout.decode("utf-8", "replace")


def rss_table(stack):
    """[{build, path, label, kb, status}]: the floor, the probes, and every
    path of every build, each checked to give the page it must."""
    s = stack.s
    rows = [{"build": None, "path": "floor", "label": "floor",
             "kb": run_cgi(stack.floor, {"PATH_INFO": "/login"})[0], "status": 302}]
    for level in stack.levels:
        label = PROBE_LEVELS[level]
        rows.append({"build": None, "path": f"probe{level}", "label": label,
                     "kb": run_cgi(stack.probe(level), {})[0], "status": 302})
    for b in stack.builds:
        cgi = b.staged

        def env(mount, **kw):
            return dict(stack.cgi_env, ZENDESK_SSO_CONFIG=str(b.configs[mount]), SCRIPT_NAME=b.mount(mount),
                        PATH_INFO="/login", **kw)

        def post(mount):
            headers, body = sign_in_request(stack, b.mount(mount), "alice", s.passwords["alice"])
            return env(mount, HTTP_COOKIE=headers["Cookie"], HTTP_ORIGIN=headers["Origin"],
                       HTTP_HOST=urllib.parse.urlsplit(headers["Origin"]).netloc,
                       HTTP_SEC_FETCH_SITE="same-origin"), body

        remote = {"REMOTE_USER": "bob", "AUTH_TYPE": "Basic", "QUERY_STRING": f"return_to={RETURN_TO}"}
        cases = [
            ("get_login", env("broker", QUERY_STRING=f"return_to={RETURN_TO}"), None, MARK_FORM),
            ("broker_post", *post("broker"), MARK_TOKEN),
            ("broker_remote_user", env("broker-auth", **remote), None, MARK_TOKEN),
            ("session", env("session", QUERY_STRING=f"return_to={RETURN_TO}",
                            HTTP_COOKIE=session_cookie(stack, b.mount("session"), "alice", s.passwords["alice"])),
             None, MARK_TOKEN),
            ("direct_post", *post("direct"), MARK_TOKEN),
            ("direct_remote_user", env("direct-auth", **remote), None, MARK_TOKEN),
        ]
        for path, e, body, mark in cases:
            kb, status, out = run_cgi(cgi, e, body, as_web_user=True)
            if status not in (None, 200) or mark not in out:
                raise SystemExit(f"bench_e2e: {b.tag} {path} run by hand: Status {status}, no {mark!r}:\n{out[:800]}")
            if mark == MARK_TOKEN:
                check_token(stack, out, f"{b.tag} {path} run by hand")
            rows.append({"build": b.tag, "path": path, "label": PATHS[path][0], "kb": kb, "status": status or 200})
    return rows


# --- a burst of sign-ins through the broker ----------------------------------------------------

def process_tree(root):
    """root and its descendants (pids), from /proc/PID/task/TID/children."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            pass
    return out


def memory_of(pid):
    """(RSS, PSS) of pid in kB; PSS shares each shared page among the processes
    that map it, so a sum of PSS does not count the broker's code 17 times."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def burst(stack, b, total, clients):
    """total sign-ins (GET /login for a CSRF pair of its own, then the POST)
    from `clients` threads through b's broker; every answer must be a
    delivery page whose token PyJWT verifies. /proc sampled every ~20 ms for
    the broker's processes and their summed RSS."""
    proc = b.brokers["broker"][0]
    mount = b.mount("broker")
    password = stack.s.passwords["alice"]
    lock = threading.Lock()
    todo = list(range(total))
    failures, latencies = [], []
    def sample(root, stop, conn):
        # A process of its own: in a thread, the 16 clients' GIL would stretch the 20 ms;
        # ahead of the CGIs for the CPU, or on 2 busy cores a sample takes 40 ms.
        try:
            os.nice(-10)
        except OSError:
            pass
        peak = {"procs": 0, "rss_kb": 0, "pss_kb": 0, "samples": 0}
        while not stop.is_set():
            pids = process_tree(root)
            mem = [memory_of(p) for p in pids]
            peak["procs"] = max(peak["procs"], len(pids))
            peak["rss_kb"] = max(peak["rss_kb"], sum(m[0] for m in mem))
            peak["pss_kb"] = max(peak["pss_kb"], sum(m[1] for m in mem))
            peak["samples"] += 1
            stop.wait(0.02)
        conn.send(peak)

    def client():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            t0 = time.monotonic()
            try:
                headers, body = sign_in_request(stack, mount, "alice", password)
                r = stack.e2e.fetch("POST", stack.url(mount, "/login"), body=body, headers=headers)
                if r.status != 200:
                    raise ValueError(f"status {r.status}")
                if check_token(stack, r.body, "burst").get("email") != "alice@acme.test":
                    raise ValueError("a token for someone else")
                with lock:
                    latencies.append(time.monotonic() - t0)
            except (Exception, SystemExit) as e:   # check_token raises SystemExit
                with lock:
                    failures.append(str(e)[:200])

    idle = sum(memory_of(p)[0] for p in process_tree(proc.pid))
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    receive, send = ctx.Pipe(duplex=False)
    sampler = ctx.Process(target=sample, args=(proc.pid, stop, send), daemon=True)
    sampler.start()
    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    stop.set()
    peak = receive.recv()
    sampler.join()
    return {"sign_ins": total, "clients": clients, "seconds": elapsed, "per_s": total / elapsed,
            "failures": len(failures), "failure_examples": failures[:5],
            "median_ms": statistics.median(latencies) * 1000 if latencies else None,
            "broker_idle_rss_kb": idle, "broker_peak_processes": peak["procs"],
            "broker_peak_rss_kb": peak["rss_kb"], "broker_peak_pss_kb": peak["pss_kb"],
            "samples": peak["samples"]}


# --- main -----------------------------------------------------------------------------------

def machine():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} us"


def git_head(build):
    """The commit a build was configured from (its CMakeCache's source dir), for the record."""
    try:
        cache = (build / "CMakeCache.txt").read_text()
        src = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", cache, re.M).group(1)
        out = subprocess.run(["git", "-C", src, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip()[:100] + (" (+ uncommitted changes)" if dirty else "")
    except (OSError, AttributeError):
        return "unknown"


def make_scenarios(stack, only):
    s = stack.s
    auth = {"Authorization": stack.auth_header()}
    scen = [
        Scenario("floor", "floor: trivial C CGI", None, "GET", stack.url("/floor"), expect=302),
        Scenario("floor_auth", "floor behind Basic auth", None, "GET", stack.url("/floor-auth"),
                 headers=auth, expect=302),
    ]
    scen += [Scenario(f"probe{level}", label, "floor", "GET", stack.url(f"/probe{level}"), expect=302, ladder=True)
             for level, label in PROBE_LEVELS.items() if level in stack.levels]
    alice = ("alice", s.passwords["alice"])
    for path, (label, mount_name, floor, _) in PATHS.items():
        for b in stack.builds:
            mount = b.mount(mount_name)
            query = f"/login?return_to={RETURN_TO}"
            kw = {"name": f"{path}@{b.tag}", "label": label, "floor": floor, "build": b, "base_name": path}
            if path == "get_login":
                sc = Scenario(method="GET", url=stack.url(mount, query), mark=MARK_FORM, **kw)
            elif path.endswith("_post"):
                sc = Scenario(method="POST", url=stack.url(mount, "/login"), mark=MARK_TOKEN,
                              prepare=login_post(stack, mount, *alice), **kw)
            elif path.endswith("remote_user"):
                sc = Scenario(method="GET", url=stack.url(mount, query), headers=auth, mark=MARK_TOKEN, **kw)
            else:
                sc = Scenario(method="GET", url=stack.url(mount, query), mark=MARK_TOKEN,
                              prepare=session_get(stack, mount, *alice), **kw)
            scen.append(sc)
    if only:
        keep = set(only)
        keep |= {sc.floor for sc in scen if (sc.name in keep or sc.base_name in keep) and sc.floor} | {"floor"}
        scen = [sc for sc in scen if sc.name in keep or sc.base_name in keep]
    return scen


def summarise(scen, results):
    """Ratios per round (against the floors of the same round), then medians."""
    summary = {}
    for sc in scen:
        summary[sc.name] = {}
        for c, runs in results[sc.name].items():
            row = {"rps": statistics.median(r["rps"] for r in runs),
                   "mean_us": statistics.median(r["mean_us"] for r in runs),
                   "p99_us": statistics.median(r["p99_us"] for r in runs)}
            for base_name in ("floor", sc.floor):
                if not base_name or base_name == sc.name or base_name not in results:
                    continue
                base = results[base_name][c]
                row[f"latency_vs_{base_name}"] = statistics.median(
                    r["mean_us"] / f["mean_us"] for r, f in zip(runs, base))
                row[f"rps_vs_{base_name}"] = statistics.median(r["rps"] / f["rps"] for r, f in zip(runs, base))
            if sc.floor:
                row["latency_vs_matched"] = row[f"latency_vs_{sc.floor}"]
                row["rps_vs_matched"] = row[f"rps_vs_{sc.floor}"]
            summary[sc.name][c] = row
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve()
    ap.add_argument("--build", required=True, type=Path, help="the CMake build folder (the build measured)")
    ap.add_argument("--baseline-build", type=Path,
                    help="another build folder (before a change): its CGI, broker and PAM module are measured "
                         "in the same rounds and the tables show before -> after")
    ap.add_argument("--source", type=Path, default=here.parents[2])
    ap.add_argument("--rounds", type=int, default=3, help="rounds; figures are medians over them (default 3)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--clients", default="1,8", help="concurrent clients, comma-separated (default 1,8)")
    ap.add_argument("--only", default="", help="comma-separated paths to run (get_login, broker_post, "
                    "broker_remote_user, session, direct_post, direct_remote_user, probeN; default: all)")
    ap.add_argument("--burst", default="200,16", help="SIGN_INS,CLIENTS of the broker burst (default 200,16; "
                    "0 skips it)")
    ap.add_argument("--cgi-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra variable for every CGI (Apache's SetEnv and the runs by hand); repeatable")
    ap.add_argument("--config-extra", type=json.loads, default={}, metavar="JSON",
                    help="merged into every config of --build's mounts and brokers, not the baseline's; with "
                         "--baseline-build the same folder, one build with and without a setting "
                         "(e.g. '{\"metrics\": {\"enabled\": true}}')")
    ap.add_argument("--json", type=Path, help="also write every figure as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) and print where it is")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_e2e: run as root (the E2E Apache drops to nobody like a real one)")
    if not Path(WRK).exists():
        raise SystemExit("bench_e2e: wrk is missing (apt-get install wrk)")
    if os.environ.get("ZSSO_BENCH_PRIVATE_MOUNTS") != "1":
        # Our own mount namespace, for the private /etc/pam.d, passwd and group.
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable,
                               str(here), *sys.argv[1:]], dict(os.environ, ZSSO_BENCH_PRIVATE_MOUNTS="1"))
    source = a.source.resolve()
    clients = [int(c) for c in a.clients.split(",")]
    builds = [Build("after", a.build.resolve())]
    if a.baseline_build:
        builds.append(Build("before", a.baseline_build.resolve()))
    burst_n, burst_c = (int(x) for x in a.burst.split(","))
    only = [x for x in a.only.split(",") if x]

    stack = BenchStack(source, builds, builds[0].dir)
    for kv in a.cgi_env:
        name, sep, value = kv.partition("=")
        if not sep or not name:
            raise SystemExit(f"bench_e2e: --cgi-env wants NAME=VALUE, not {kv!r}")
        stack.extra_env[name] = value
    stack.config_extra = a.config_extra
    if a.keep:
        stack.s.keep = True
        log(f"bench_e2e: keeping {stack.s.dir}")
    bursts = {}
    t_start = time.monotonic()
    try:
        stack.start()
        scen = make_scenarios(stack, only)
        for sc in scen:
            if sc.prepare:
                sc.prepare(sc)
            check_once(stack, sc)
        runs_per_round = sum(len([c for c in clients if c == 1 or not sc.ladder]) for sc in scen)
        log(f"bench_e2e: Apache on {stack.apache.base_url}; every path checked once by hand; "
            f"{a.rounds} rounds x {runs_per_round} wrk runs x {a.duration} s "
            f"(about {a.rounds * runs_per_round * (a.duration + 1) // 60 + 1} min)")

        results = {sc.name: {c: [] for c in clients if c == 1 or not sc.ladder} for sc in scen}
        with tempfile.TemporaryDirectory(prefix="zsso-bench-wrk-") as tmp:
            for sc in scen:   # warm-up: page cache, Apache's children, the brokers
                run_wrk(sc, 1, 1, tmp)
            for rnd in range(a.rounds):
                for c in clients:
                    for sc in scen:
                        if sc.ladder and c != 1:
                            continue
                        r = run_wrk(sc, c, a.duration, tmp)
                        results[sc.name][c].append(r)
                        log(f"  round {rnd + 1} {sc.name:28} c={c}: {r['rps']:8.1f} req/s  "
                            f"mean {fmt_us(r['mean_us'])}  p99 {fmt_us(r['p99_us'])}")
        rss = rss_table(stack)
        if burst_n > 0:
            for b in reversed(builds):   # before first: the one measured warms nothing for the other
                log(f"bench_e2e: burst of {burst_n} sign-ins from {burst_c} clients through {b.tag}'s broker")
                bursts[b.tag] = burst(stack, b, burst_n, burst_c)
    except BenchError as e:
        raise SystemExit(f"bench_e2e: {e}\nApache's error log ends with:\n{stack.apache.error_log()[-3000:]}")
    finally:
        stack.stop()
    wall = time.monotonic() - t_start

    summary = summarise(scen, results)
    report(a, builds, scen, clients, summary, rss, bursts, results, wall)
    return 0


def report(a, builds, scen, clients, summary, rss, bursts, results, wall):
    m = machine()
    tags = [b.tag for b in builds]
    baseline = "before" in tags
    print(f"\nzendesk-sso bench/e2e - {m['nproc']} x {m['cpu']}, Linux {m['kernel']}, "
          f"load average at start {m['loadavg_at_start'][0]}; {wall / 60:.1f} min")
    for b in builds:
        print(f"  {b.tag:6} {b.dir} (its source tree now: {git_head(b.dir)})"
              f"{'' if b.csrf_key else '  (broker mode without helper.csrf_key_file)'}")
    print(f"median of {a.rounds} rounds, {a.duration} s each (wrk, keep-alive); ratios are per round against "
          f"the matched floor of the same round (REMOTE_USER: the floor behind the same Basic auth)\n")

    def ratio(name, c, key):
        row = summary.get(name, {}).get(c)
        return row.get(key) if row else None

    for c in clients:
        key = "latency_vs_matched" if c == 1 else "rps_vs_matched"
        what = "mean latency / floor" if c == 1 else "req/s / floor"
        print(f"{c} client{'s' if c > 1 else ''} ({what}):")
        head = f"  {'path':30} {'req/s':>8} {'mean':>9} {'p99':>9} {'ratio':>7}"
        if baseline:
            head += f"   {'before -> after':>16}"
        print(head)
        for name in ("floor", "floor_auth"):
            if name in summary and c in summary[name]:
                row = summary[name][c]
                lab = next(sc.label for sc in scen if sc.name == name)
                print(f"  {lab:30} {row['rps']:8.1f} {fmt_us(row['mean_us']):>9} {fmt_us(row['p99_us']):>9}"
                      f" {row.get('rps_vs_floor', 1.0) if c != 1 else row.get('latency_vs_floor', 1.0):6.2f}x")
        for path, (label, _, _, broker) in PATHS.items():
            after = summary.get(f"{path}@after", {}).get(c)
            if not after:
                continue
            line = (f"  {label:30} {after['rps']:8.1f} {fmt_us(after['mean_us']):>9} {fmt_us(after['p99_us']):>9}"
                    f" {after[key]:6.2f}x")
            before = ratio(f"{path}@before", c, key)
            if before is not None:
                line += f"   {before:6.2f}x -> {after[key]:.2f}x"
            print(line)
        print()

    if 1 in clients and any(sc.ladder for sc in scen):
        print("Start-up ladder, 1 client (each probe = the floor plus what a CGI of ours cannot do without):")
        print(f"  {'':44} {'mean':>9} {'latency/floor':>14}")
        print(f"  {'floor: trivial C CGI':44} {fmt_us(summary['floor'][1]['mean_us']):>9} {'1.00x':>14}")
        for sc in scen:
            if sc.ladder:
                row = summary[sc.name][1]
                print(f"  {sc.label:44} {fmt_us(row['mean_us']):>9} {row['latency_vs_floor']:13.2f}x")
        for tag in tags:
            row = summary.get(f"get_login@{tag}", {}).get(1)
            if row:
                print(f"  {'zendesk-sso.cgi GET /login (' + tag + ')':44} {fmt_us(row['mean_us']):>9} "
                      f"{row['latency_vs_floor']:13.2f}x")
        print()

    print("Peak RSS of one request, run by hand as a CGI (/usr/bin/time -v; as the web server's user):")
    for row in rss:
        if row["build"] is None:
            print(f"  {row['label']:44} {row['kb'] / 1024:6.2f} MB")
    for path, (label, _, _, broker) in PATHS.items():
        got = {r["build"]: r["kb"] for r in rss if r["path"] == path}
        if "after" in got:
            line = f"  {label:44} {got['after'] / 1024:6.2f} MB"
            if "before" in got:
                line += f"   before {got['before'] / 1024:.2f} MB"
            print(line)

    if bursts:
        print("\nBurst through the broker (GET /login + sign-in POST each, every token verified with PyJWT):")
        for tag in tags:
            if tag in bursts:
                r = bursts[tag]
                print(f"  {tag:6} {r['sign_ins']} sign-ins, {r['clients']} clients: {r['per_s']:.1f} sign-ins/s, "
                      f"median {r['median_ms'] or 0:.0f} ms, {r['failures']} failures; broker peak "
                      f"{r['broker_peak_processes']} processes (itself + workers), "
                      f"{r['broker_peak_rss_kb'] / 1024:.1f} MB summed RSS, {r['broker_peak_pss_kb'] / 1024:.1f} MB "
                      f"summed PSS (idle RSS {r['broker_idle_rss_kb'] / 1024:.1f} MB; {r['samples']} samples)")
                for f in r["failure_examples"]:
                    print(f"         {f}")

    print("\nTargets of issue 16 (each path against its matched floor: same Apache, environment and auth)")
    verdicts = []

    def target(what, ok, figure, before=None):
        verdicts.append({"target": what, "met": ok, "figure": figure, "before": before})
        print(f"  [{'met   ' if ok else 'MISSED'}] {what:60} {figure}" + (f"  (before {before})" if before else ""))

    for name, limit in LATENCY_TARGETS:
        v = ratio(f"{name}@after", 1, "latency_vs_matched")
        if v is not None:
            b = ratio(f"{name}@before", 1, "latency_vs_matched")
            target(f"{name}: mean latency at 1 client <= {limit:.2f}x", v <= limit, f"{v:.2f}x",
                   f"{b:.2f}x" if b is not None else None)
    for name, limit in THROUGHPUT_TARGETS:
        v = ratio(f"{name}@after", 8, "rps_vs_matched")
        if v is not None:
            b = ratio(f"{name}@before", 8, "rps_vs_matched")
            target(f"{name}: throughput at 8 clients >= {limit:.2f}x", v >= limit, f"{v:.2f}x",
                   f"{b:.2f}x" if b is not None else None)
    for row in rss:
        if row["build"] == "after" and PATHS[row["path"]][3]:
            b = next((r["kb"] for r in rss if r["build"] == "before" and r["path"] == row["path"]), None)
            target(f"peak RSS <= 3 MB: {row['label']}", row["kb"] <= RSS_TARGET_KB, f"{row['kb'] / 1024:.2f} MB",
                   f"{b / 1024:.2f} MB" if b else None)
    if "after" in bursts:
        r = bursts["after"]
        target(f"burst: {r['sign_ins']} sign-ins from {r['clients']} clients, every one correct",
               r["failures"] == 0, f"{r['failures']} failures")

    if a.json:
        a.json.write_text(json.dumps({
            "machine": m, "rounds": a.rounds, "duration_s": a.duration, "wall_s": round(wall, 1),
            "builds": {b.tag: {"dir": str(b.dir), "head": git_head(b.dir), "csrf_key_file": b.csrf_key}
                       for b in builds},
            "paths": {p: {"label": v[0], "floor": v[2], "broker_mode": v[3]} for p, v in PATHS.items()},
            "summary": {k: {str(c): v for c, v in d.items()} for k, d in summary.items()},
            "raw": {k: {str(c): v for c, v in d.items()} for k, d in results.items()},
            "rss_kb": rss, "burst": bursts, "targets": verdicts}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
