#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Soak: mixed traffic through a real Apache for a fixed time — good
sign-ins, wrong passwords and hostile requests from 8 concurrent clients —
against both ways of signing in at once: direct mode (/zendesk/login, PAM
in the CGI) and broker mode (/zendesk/login/viabroker, a profile whose
broker.socket points at zendesk-sso-authd --listen in the same pam_wrapper
sandbox). Loopback only.

Passes when there is no unexpected status, every token verifies with PyJWT,
the CGI never exits non-zero or dies, the broker loses no child to a
signal, every CGI request left exactly one syslog line, and Apache's and
the broker's resident memory and open descriptors are flat: sampled after a
warm-up and again after the traffic (RSS may grow by 10 % or 4 MiB,
whichever is more; descriptors not at all).

  ZSSO_BUILD_DIR=build /usr/bin/python3 tests/soak/soak.py --seconds 60     # what ctest runs
  ZSSO_BUILD_DIR=build /usr/bin/python3 tests/soak/soak.py --seconds 600    # the 10-minute soak
"""

import argparse
import collections
import json
import os
import pwd
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broker"))
from hostile_support import (SKIP_REASON, HardenedStack, build_request, crash_lines,  # noqa: E402
                             devlog_capture_supported, process_tree, raw_http, sample, wait_until)
from zsso_e2e import apache_user, hidden_fields  # noqa: E402
import broker_wire as wire  # noqa: E402

import jwt as pyjwt  # noqa: E402

FORM = "application/x-www-form-urlencoded"
RSS_TOLERANCE = (0.10, 4096)   # fraction, KiB: whichever is more


def rss_fd(samples):
    return sum(v[0] for v in samples.values()), sum(v[1] for v in samples.values())


class Soak:
    def __init__(self, build_dir, seconds, clients, broker):
        self.seconds = seconds
        self.clients = clients
        self.s = HardenedStack(build_dir=build_dir, counter=False, real_libpam=True)
        self.use_broker = broker
        self.broker = None
        self.counts = collections.Counter()
        self.unexpected = []
        self.cgi_requests = 0
        self.lock = threading.Lock()

    # --- setup ------------------------------------------------------------------------------------
    def start(self):
        s = self.s
        # One worker process with enough threads for every client: a fixed
        # process set, so start and end samples compare like with like.
        s.apache_options["extra_conf"] += ("\nServerLimit 1\nStartServers 1\nThreadsPerChild 16\n"
                                           "MaxRequestWorkers 16\nMinSpareThreads 1\nMaxSpareThreads 32\n")
        s.configure({"network": {"ip_ranges": ["127.0.0.1/32"]}})
        # Wrong passwords go to an account of their own: the broker throttles
        # failures per (account, address) and every client here is 127.0.0.1,
        # so guessing alice's password would rightly lock alice out of the
        # good sign-ins. That alice and bob still sign in while carol is
        # throttled is what the per-(account, address) design promises.
        s.sandbox.add_user("carol", 1003, gecos="Carol Target", password="carol's own 3", groups=["staff"])
        if self.use_broker:
            web_user = apache_user()[0] if apache_user() else pwd.getpwuid(os.geteuid()).pw_name
            web = pwd.getpwnam(web_user)
            # The broker resolves its peer (the CGI's user) through the sandbox's NSS.
            s.sandbox.add_group(apache_user()[1] if apache_user() else web_user, web.pw_gid)
            s.sandbox.add_user(web_user, web.pw_uid, gid=web.pw_gid, gecos="web server")
            self.socket = str(s.dir / "authd.sock")
            s.configure({"broker": {"allowed_peers": [web_user]},
                         "profiles": {"viabroker": {"broker": {"socket": self.socket}}}})
        s.start()
        if self.use_broker:
            self.broker_log_path = s.dir / "authd.log"
            self.broker_log = open(self.broker_log_path, "w")
            authd = os.environ.get("ZSSO_AUTHD") or str(s.build_dir / "helper" / "authd" / "zendesk-sso-authd")
            # A copy beside the stack: the build tree may be under the /tmp
            # that the broker's private mount hides (CI clones anywhere).
            authd = wire.stage(authd, s.dir / "bin")
            # Like the CGI, the broker runs the real libpam on the sandbox's
            # services (its own mount namespace): under pam_wrapper its
            # concurrent children race for /tmp/pam.X and some die in its init.
            tmp = s.dir / "broker-tmp"
            tmp.mkdir()
            os.chmod(tmp, 0o1777)
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /tmp && mount --bind "$1" /etc/pam.d && shift && exec "$@"',
                    str(tmp), str(s.sandbox.service_dir), authd, "--config", str(s.sandbox.config_path),
                    "--listen", self.socket, "--socket-mode", "0666", "--log-stderr"]
            self.broker = subprocess.Popen(
                argv, env=s.sandbox.env({"LD_PRELOAD": "libnss_wrapper.so", "PAM_WRAPPER": None}),
                stdin=subprocess.DEVNULL, stdout=self.broker_log, stderr=self.broker_log,
                preexec_fn=wire.die_with_parent)
            if not wait_until(lambda: "listening on" in self.broker_log_path.read_text()
                              or self.broker.poll() is not None, 60) or self.broker.poll() is not None:
                raise RuntimeError("broker did not start: " + self.broker_log_path.read_text())
        self.port = s.apache.port
        self.paths = ["/zendesk/login"] + (["/zendesk/login/viabroker"] if self.use_broker else [])
        self.hostile = self.hostile_requests()

    def stop(self):
        if self.broker and self.broker.poll() is None:
            self.broker.send_signal(signal.SIGTERM)
            self.broker.wait(60)
        if self.broker:
            self.broker_log.close()
        self.s.cleanup()

    # --- traffic -----------------------------------------------------------------------------------
    def hostile_requests(self):
        """(name, request, source, status, handled by the CGI) — none reaches PAM."""
        login = "/zendesk/login"
        alice = urllib.parse.urlencode({"user": "alice", "password": self.s.passwords["alice"]})
        F = [("Content-Type", FORM)]
        return [
            ("no CSRF", build_request("POST", login, F, alice), None, 403, True),
            ("malformed CSRF", build_request("POST", login, F + [("Cookie", "zsso_csrf=" + "A" * 75)],
                                          alice + "&csrf=" + "A" * 75), None, 403, True),
            ("PUT", build_request("PUT", login, F, alice), None, 405, True),
            ("text/plain", build_request("POST", login, [("Content-Type", "text/plain")], alice), None, 415, True),
            ("9 KB body", build_request("POST", login, F, "a" * 9000), None, 413, True),
            ("chunked 16 KiB", build_request("POST", login, F + [("Transfer-Encoding", "chunked")],
                                             "".join(f"1000\r\n{'a' * 4096}\r\n" for _ in range(4)) + "0\r\n\r\n",
                                             content_length=False), None, 413, True),
            ("repeated user", build_request("POST", login, F, alice + "&user=bob"), None, 400, True),
            ("open redirect", build_request("GET", login + "?return_to=%2F%09%2Fevil.example"), None, 200, True),
            ("XSS logout", build_request("GET", "/zendesk/logout?kind=error&message=%3Cscript%3Ealert(1)%3C/script%3E"),
             None, 200, True),
            ("forged XFF", build_request("GET", login, [("X-Forwarded-For", "127.0.0.1")]), "127.0.0.2", 403, True),
            ("404", build_request("GET", "/zendesk/login/%3Csvg%3E"), None, 404, True),
            ("bad Content-Length", build_request("POST", login, F, alice, content_length="abc"), None, 400, False),
            ("10,000-character query", build_request("GET", login + "?x=" + "9" * 10000), None, 414, False),
            ("NUL in the path", build_request("GET", login + "%00"), None, 404, False),
        ]

    def record(self, kind, status, expected, detail=""):
        with self.lock:
            self.counts[kind] += 1
            self.counts["requests"] += 1
            if status != expected:
                rid = re.search(r"Request id: <code>([A-Za-z0-9_-]+)</code>", detail)
                self.unexpected.append((f"{kind}: {status} (expected {expected})",
                                        rid.group(1) if rid else detail[-200:]))

    def explain(self, kind, rid):
        """The CGI's and the broker's lines for an unexpected reply."""
        lines = [l.message for l in (self.s.syslog.sync() if self.s.syslog else []) if rid in l.message]
        if self.broker:
            lines += [l for l in self.broker_log_path.read_text(errors="replace").splitlines() if rid in l]
        return f"{kind} request {rid}: " + (" | ".join(lines) or "no log line")

    def form(self, path):
        r = raw_http(self.port, build_request("GET", path))
        with self.lock:
            self.cgi_requests += 1
        self.record("form", r.status, 200)
        cookie = (r.header("Set-Cookie") or "").split(";")[0]
        return cookie, hidden_fields(r.body).get("csrf", "")

    def sign_in(self, path, user, password):
        cookie, token = self.form(path)
        body = urllib.parse.urlencode({"csrf": token, "user": user, "password": password})
        r = raw_http(self.port, build_request("POST", path, [("Content-Type", FORM), ("Cookie", cookie)], body))
        with self.lock:
            self.cgi_requests += 1
        return r

    def good_login(self, rnd):
        path = rnd.choice(self.paths)
        user = rnd.choice(["alice", "bob"])
        r = self.sign_in(path, user, self.s.passwords[user])
        kind = "good login " + ("broker" if path.endswith("viabroker") else "direct")
        detail = r.body[-300:]
        if r.status == 200:
            try:
                claims = pyjwt.decode(hidden_fields(r.body, "zendesk-sso")["jwt"], self.s.secret,
                                      algorithms=["HS256"])
                if claims["email"] != f"{user}@acme.test":
                    r.status, detail = "wrong claims", str(claims)
            except Exception as e:   # any failure to verify is an unexpected outcome
                r.status, detail = "token does not verify", repr(e)
        self.record(kind, r.status, 200, detail)

    def bad_password(self, rnd):
        path = rnd.choice(self.paths)
        r = self.sign_in(path, rnd.choice(["carol", "nobody-here"]), f"wrong {rnd.random()}")
        self.record("bad password " + ("broker" if path.endswith("viabroker") else "direct"), r.status, 401,
                    r.body[-300:])

    def hostile_one(self, rnd):
        name, request, source, status, cgi = rnd.choice(self.hostile)
        r = raw_http(self.port, request, source=source)
        if cgi:
            with self.lock:
                self.cgi_requests += 1
        self.record("hostile", r.status, status, name)

    def client(self, seed, deadline):
        rnd = random.Random(seed)
        while time.monotonic() < deadline:
            pick = rnd.random()
            try:
                if pick < 0.3:
                    self.good_login(rnd)
                elif pick < 0.55:
                    self.bad_password(rnd)
                else:
                    self.hostile_one(rnd)
            except Exception as e:   # a reset, a timeout: counted, never hidden
                self.record("client error", repr(e), "a reply")

    def traffic(self, seconds):
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=self.client, args=(i, deadline)) for i in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 120)

    # --- measuring ----------------------------------------------------------------------------------
    def measure(self):
        apache = sample(self.s.apache.proc.pid, "apache2")
        out = {"apache": apache}
        if self.broker:   # the listener; its per-connection children come and go
            out["broker"] = {pid: v for pid, v in sample(self.broker.pid, "zendesk-sso-authd").items()
                             if pid == self.broker.pid}
        return out

    def broker_children(self):
        return len(process_tree(self.broker.pid)) - 1 if self.broker else 0

    def settle(self, baseline):
        """After the traffic: waits (bounded) until the connections Apache
        still lingers on and the broker's last children are gone."""
        def quiet():
            now = self.measure()
            return rss_fd(now["apache"])[1] <= rss_fd(baseline["apache"])[1] and self.broker_children() == 0
        wait_until(quiet, 20, 0.2)
        return self.measure()

    def run(self):
        warmup = min(10, max(2, self.seconds // 10))
        self.traffic(warmup)
        start = self.settle(self.measure())
        counted_before = dict(self.counts)
        t0 = time.monotonic()
        self.traffic(self.seconds)
        elapsed = time.monotonic() - t0
        end = self.settle(start)
        return self.report(start, end, counted_before, elapsed)

    def report(self, start, end, before, elapsed):
        s = self.s
        counts = {k: v - before.get(k, 0) for k, v in self.counts.items()}
        problems = [self.explain(kind, rid) for kind, rid in self.unexpected]
        figures = {"seconds": round(elapsed, 1), "clients": self.clients,
                   "modes": "direct+broker" if self.broker else "direct", "requests": counts.get("requests", 0),
                   "by kind": {k: v for k, v in sorted(counts.items()) if k != "requests"},
                   "unexpected": len(self.unexpected)}
        for name in start:
            (rss0, fd0), (rss1, fd1) = rss_fd(start[name]), rss_fd(end[name])
            figures[name] = {"processes": [len(start[name]), len(end[name])], "rss_kib": [rss0, rss1],
                             "fds": [fd0, fd1]}
            if sorted(start[name]) != sorted(end[name]):
                problems.append(f"{name}: processes changed {sorted(start[name])} -> {sorted(end[name])}")
            if rss1 - rss0 > max(rss0 * RSS_TOLERANCE[0], RSS_TOLERANCE[1]):
                problems.append(f"{name}: RSS grew {rss0} -> {rss1} KiB")
            if fd1 > fd0:
                problems.append(f"{name}: open descriptors grew {fd0} -> {fd1}")
        crashes = crash_lines(s.apache.error_log())
        if crashes:
            problems.append(f"Apache logged crashes: {crashes[:5]}")
        if s.cgi_exits():
            problems.append(f"the CGI exited non-zero: {s.cgi_exits()[:5]}")
        if self.broker:
            log = self.broker_log_path.read_text(errors="replace")
            if re.search(r"ended by signal", log):
                problems.append("a broker child died of a signal")
            if self.broker.poll() is not None:
                problems.append("the broker exited")
            figures["broker_children_left"] = self.broker_children()
            if figures["broker_children_left"]:
                problems.append(f"{figures['broker_children_left']} broker children still running")
        if s.syslog:
            lines = len(s.syslog.cgi_lines())
            figures["cgi_syslog_lines"] = [lines, self.cgi_requests]
            if lines != self.cgi_requests:
                problems.append(f"{lines} CGI syslog lines for {self.cgi_requests} CGI requests")
        for k in ("good login direct", "bad password direct", "hostile") + (
                ("good login broker", "bad password broker") if self.broker else ()):
            if counts.get(k, 0) == 0:
                problems.append(f"no {k} request ran")
        figures["problems"] = problems
        return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60, help="traffic time after the warm-up (default 60)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--build", default=os.environ.get("ZSSO_BUILD_DIR"), help="build dir (or ZSSO_BUILD_DIR)")
    ap.add_argument("--direct-only", action="store_true", help="no broker")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    if not a.build:
        ap.error("--build or ZSSO_BUILD_DIR is required")
    if not devlog_capture_supported():
        print(f"soak skipped: {SKIP_REASON}")
        return 77   # ctest's SKIP_RETURN_CODE
    soak = Soak(a.build, max(1, a.seconds), max(1, a.clients), broker=not a.direct_only)
    try:
        soak.start()
        figures = soak.run()
    finally:
        soak.stop()
    print(json.dumps(figures, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n")
    for name in ("apache", "broker"):
        if name in figures:
            f = figures[name]
            print(f"{name}: RSS {f['rss_kib'][0]} -> {f['rss_kib'][1]} KiB, fds {f['fds'][0]} -> {f['fds'][1]}, "
                  f"processes {f['processes'][0]} -> {f['processes'][1]}")
    print(f"soak: {figures['requests']} requests in {figures['seconds']} s from {figures['clients']} clients "
          f"({figures['modes']}), unexpected statuses: {figures['unexpected']}")
    if figures["problems"]:
        print("FAILED:\n  " + "\n  ".join(figures["problems"][:40]), file=sys.stderr)
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
