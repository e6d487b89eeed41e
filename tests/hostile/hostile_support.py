# SPDX-License-Identifier: BSD-3-Clause
"""Instruments for the hardening suites (tests/hostile, tests/audit,
tests/soak), on top of tests/e2e/zsso_e2e.py's Stack:

- raw_http(): one request as exact bytes over a socket (what curl and
  urllib refuse to send), the reply parsed by http.client.
- SyslogCapture: a unix datagram socket that Apache's mount namespace sees
  as /dev/log, so every syslog() of the CGI (and of PAM modules inside it)
  lands here, parsed into (facility, severity, ident, pid, message).
- HardenedStack: a Stack whose PAM service counts every pam_authenticate /
  pam_acct_mgmt call (pam_exec writes one line per call, independently of
  the CGI), whose CGI runs under a wrapper that records any non-zero exit
  (a signal shows as 128+N), with an access log and the private syslog.
- snapshot(): the files of a stack, to prove a request wrote nothing.
- crash_lines(): what Apache logs when a CGI or a child dies.
- process helpers for the soak: a process tree, VmRSS and open fds.

Run with Debian's /usr/bin/python3 (python3-jwt)."""

import http.client
import io
import os
import pwd
import re
import select
import shutil
import socket
import sys
import threading
import time
import unittest
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("ZSSO_SOURCE_DIR") or Path(__file__).resolve().parents[2])
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
from zsso_e2e import (Reply, Stack, StackTestCase, apache_user, devlog_capture_supported,  # noqa: E402
                      private_tmp_supported, stage_cgi)

CGI_IDENT = "zendesk-sso.cgi"
LOCAL_ACCOUNTS_EXAMPLE = SOURCE_DIR / "examples" / "pam.d" / "zendesk-sso"
SYSLOG_FORMAT = re.compile(rb"^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ([^\[:]+)(?:\[(\d+)\])?: (.*)$", re.S)
LOG_AUTHPRIV = 10


# --- raw HTTP -----------------------------------------------------------------------------

class RawReply(Reply):
    """zsso_e2e's Reply plus every byte Apache sent."""

    def __init__(self, status, headers, body, raw):
        super().__init__(status, headers, body)
        self.raw = raw


class _Bytes:
    def __init__(self, data):
        self.data = data

    def makefile(self, *a, **kw):
        return io.BytesIO(self.data)


def parse_reply(raw, method="GET"):
    if not raw:
        return RawReply(None, [], "", raw)
    r = http.client.HTTPResponse(_Bytes(raw), method=method)
    r.begin()
    try:
        body = r.read()
    except http.client.IncompleteRead as e:
        body = e.partial
    return RawReply(r.status, r.getheaders(), body.decode("utf-8", "replace"), raw)


def raw_http(port, data, source=None, timeout=30, half_close=True):
    """Sends data as is and reads until Apache closes the connection
    (requests carry "Connection: close"). half_close ends our side after
    the bytes, so a lying Content-Length meets EOF instead of a timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as c:
        c.sendall(data)
        if half_close:
            c.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                b = c.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    raw = b"".join(chunks)
    method = data.split(b" ", 1)[0].decode("latin-1")
    return parse_reply(raw, method)


def build_request(method, target, headers=(), body=None, content_length=True, version="HTTP/1.1"):
    """Request bytes: request line, Host and Connection: close (unless
    headers has its own), headers ((name, value) pairs, bytes or str, sent
    verbatim), Content-Length of the body unless content_length is False
    (or a value to lie with)."""
    b = lambda x: x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape")  # noqa: E731
    names = {b(k).lower() for k, _ in headers}
    out = [b(method) + b" " + b(target) + b" " + b(version)]
    out += [line for name, line in ((b"host", b"Host: 127.0.0.1"), (b"connection", b"Connection: close"))
            if name not in names]
    out += [b(k) + b": " + b(v) for k, v in headers]
    body = b(body) if body is not None else None
    if content_length is True and body is not None:
        out.append(b"Content-Length: " + str(len(body)).encode())
    elif content_length not in (True, False, None):
        out.append(b"Content-Length: " + b(str(content_length)))
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


# --- syslog --------------------------------------------------------------------------------

class SyslogLine:
    def __init__(self, raw):
        self.raw = raw
        m = SYSLOG_FORMAT.match(raw)
        if not m:
            self.priority, self.ident, self.pid, self.message = None, None, None, raw.decode("utf-8", "replace")
            return
        pri = int(m.group(1))
        self.priority = pri
        self.facility, self.severity = pri >> 3, pri & 7
        self.ident = m.group(3).decode("utf-8", "replace")
        self.pid = int(m.group(4)) if m.group(4) else None
        self.message = m.group(5).decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.priority}> {self.ident}[{self.pid}]: {self.message}"


class SyslogCapture:
    """A datagram socket standing in for /dev/log. A reader thread keeps the
    queue short (a full queue would block the CGI's syslog()); sync() reads
    whatever is queued right now, so after a reply the line its CGI sent
    before writing the reply is here without waiting."""

    def __init__(self, path):
        self.path = Path(path)
        self.lines = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o666)   # Apache's user (nobody) sends to it
        self._sock.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read_pending(self):
        with self._lock:
            while True:
                try:
                    data = self._sock.recv(65536)
                except BlockingIOError:
                    return
                self.lines.append(SyslogLine(data))

    def _run(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.2)
            if r:
                self._read_pending()

    def sync(self):
        self._read_pending()
        with self._lock:
            return list(self.lines)

    def cgi_lines(self):
        """The CGI's decision lines (modules inside the CGI, pam_zendesk's
        "pam_zendesk(service:type): ..." among them, log under its ident too)."""
        return [l for l in self.sync() if l.ident == CGI_IDENT and l.message.startswith("req=")]

    def lines_of(self, ident):
        return [l for l in self.sync() if l.ident == ident]

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


# --- the stack ------------------------------------------------------------------------------

SKIP_REASON = "needs root, unshare and overlayfs (Apache's own mount namespace and /dev/log)"
PAM_CALLS = "pam-calls.log"
CGI_EXITS = "cgi-exits.log"
INSTRUMENTS = {PAM_CALLS, CGI_EXITS, "syslog.sock", "pam-count.sh"}


class HardenedStack(Stack):
    """Stack + PAM call counter + CGI exit recorder + access log + private
    syslog (when the machine allows a private /dev/log; else lines come from
    the error log's ZENDESK_SSO_LOG_STDERR copy only)."""

    def __init__(self, *a, counter=True, real_libpam=False, **kw):
        super().__init__(*a, **kw)
        self.counter = counter
        self.pam_calls_path = self.dir / PAM_CALLS
        self.exits_path = self.dir / CGI_EXITS
        for p in (self.pam_calls_path, self.exits_path):
            p.write_text("")
            os.chmod(p, 0o666)   # written by Apache's user
        # The real CGI, and a wrapper that records how it ended.
        bindir = self.dir / "bin"
        bindir.mkdir()
        real = self.real_cgi = stage_cgi(self.cgi, bindir)
        wrapdir = self.dir / "wrap"
        wrapdir.mkdir()
        wrapper = wrapdir / "zendesk-sso.cgi"
        wrapper.write_text("#!/bin/sh\n"
                           f"{real}\n"
                           "rc=$?\n"
                           f'[ "$rc" -eq 0 ] || echo "$rc $REQUEST_METHOD $PATH_INFO" >> {self.exits_path}\n'
                           "exit $rc\n")
        os.chmod(wrapper, 0o755)
        self.cgi = wrapper
        # PAM calls: one line "TYPE USER RHOST" per pam_authenticate / pam_acct_mgmt.
        script = self.dir / "pam-count.sh"
        script.write_text(f'#!/bin/sh\necho "$PAM_TYPE $PAM_USER $PAM_RHOST" >> {self.pam_calls_path}\n')
        os.chmod(script, 0o755)
        self.count_lines = (f"auth     optional   {{sysdir}}/pam_exec.so quiet {script}\n"
                            f"account  optional   {{sysdir}}/pam_exec.so quiet {script}\n")
        if counter:
            self.services["zendesk-sso"] = self.count_lines + self.sandbox.standard_stack()
        self.syslog = None
        self.real_libpam = real_libpam
        self.access_log_path = self.dir / "httpd" / "access.log"
        self.apache_options = {
            "extra_conf": f'CustomLog "{self.access_log_path}" '
                          '"%a %>s \\"%r\\" \\"%{Referer}i\\" \\"%{User-Agent}i\\" \\"%{X-Forwarded-For}i\\""',
        }

    def counted(self, stack_text):
        """A service text with the counter lines in front."""
        return self.count_lines + stack_text

    def use_local_accounts_stack(self, service="zendesk-sso", deny=3):
        """examples/pam.d/zendesk-sso as the service: modules by absolute path
        (pam_wrapper loads nothing from the system dir), pam_matrix for
        pam_unix, pam_faillock's tally in a sandbox dir Apache's user owns
        (the CGI runs PAM in direct mode). Returns the tally dir."""
        tally = self.dir / "faillock"
        tally.mkdir(exist_ok=True)
        web = apache_user()
        if web:
            os.chown(tally, pwd.getpwnam(web[0]).pw_uid, -1)
        os.chmod(tally, 0o755)
        lines = [l.strip() for l in LOCAL_ACCOUNTS_EXAMPLE.read_text().splitlines()
                 if l.strip() and not l.startswith("#")]
        text = "\n".join(lines) + "\n"
        text = re.sub(r"pam_unix\.so\S*( \S+)*$", "{matrix} passdb={passdb}", text, flags=re.M)
        text = text.replace("pam_zendesk.so", "{module} config={config}")
        text = re.sub(r" (dir=/|deny=)\S+", "", text)
        text = re.sub(r"pam_faillock\.so", f"{{sysdir}}/pam_faillock.so dir={tally} deny={deny}", text)
        text = re.sub(r"(?<![/\w])(pam_deny|pam_permit)\.so", r"{sysdir}/\1.so", text)
        self.services[service] = self.counted(text)
        return tally

    def start(self):
        if self.real_libpam:
            # The CGI without pam_wrapper: the real libpam reads the sandbox's
            # services, bind-mounted over /etc/pam.d in Apache's namespace.
            # (pam_wrapper copies services to /tmp/pam.X, a letter chosen
            # without locking: concurrent CGIs collide and die in its init.)
            if not private_tmp_supported():
                raise unittest.SkipTest("real libpam in the CGI needs Apache's own mount namespace")
            self.apache_options["bind_mounts"] = [(self.sandbox.service_dir, "/etc/pam.d")]
            # libpam's fallback for unknown services, as every system has it.
            self.services.setdefault("other", "".join(f"{kind} required {{sysdir}}/pam_deny.so\n"
                                                      for kind in ("auth", "account", "password", "session")))
            self.cgi_env["LD_PRELOAD"] = "libnss_wrapper.so"
            self.cgi_env["PAM_WRAPPER"] = "0"
        if devlog_capture_supported() and not self.syslog:
            self.syslog = SyslogCapture(self.dir / "syslog.sock")
            self.apache_options["syslog_socket"] = str(self.syslog.path)
        return super().start()

    def stop(self):
        super().stop()

    def cleanup(self):
        super().cleanup()
        if self.syslog:
            self.syslog.close()

    # observations
    def pam_calls(self):
        """[type, user, rhost] per call (the user may hold blanks)."""
        out = []
        for line in self.pam_calls_path.read_text().splitlines():
            kind, rest = line.split(" ", 1)
            user, rhost = rest.rsplit(" ", 1)
            out.append([kind, user, rhost])
        return out

    def cgi_exits(self):
        return self.exits_path.read_text().splitlines()

    def running_cgis(self):
        """Processes running our CGI (the wrapper or the real program)."""
        names = (str(self.cgi).encode(), str(self.real_cgi).encode())
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue   # gone meanwhile
            if any(n in cmdline for n in names):
                out.append(int(pid))
        return out

    def wait_for_cgis(self, timeout=60):
        """Until no CGI Apache started is still running. A request Apache
        answers itself (a body shorter than its Content-Length) may still have
        started a CGI that logs after the client has its answer; after this,
        that line is in cgi_log_lines()."""
        deadline = time.monotonic() + timeout
        while self.running_cgis():
            if time.monotonic() > deadline:
                raise AssertionError(f"CGIs still running after {timeout} s: {self.running_cgis()}")
            time.sleep(0.05)

    def access_log(self):
        return self.access_log_path.read_text(errors="replace") if self.access_log_path.exists() else ""

    def cgi_log_lines(self):
        """The CGI's decision lines: from the private syslog when there is one,
        else from the error log copy."""
        if self.syslog:
            return [l.message for l in self.syslog.cgi_lines()]
        return re.findall(r"zendesk-sso\.cgi\[\d+\]: (req=.*)", self.apache.error_log())

    def snapshot(self):
        return snapshot(self.dir)


class HardenedTestCase(StackTestCase):
    """StackTestCase with a HardenedStack; stack_options go to it (e.g.
    real_libpam)."""

    stack_options = {}

    @classmethod
    def make_stack(cls):
        # The instruments need a private /dev/log (exact lines, no waiting on
        # the error log) and a mount namespace: root, unshare, overlayfs.
        if not devlog_capture_supported():
            raise unittest.SkipTest(SKIP_REASON)
        return HardenedStack(**cls.stack_options)


def snapshot(root):
    """relative path -> (size, mtime_ns) of every file under root, leaving out
    what Apache and our instruments write (logs, pid, sockets) and
    pam_wrapper's per-process copies of the PAM services (/tmp/pam.X)."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts[:2] == ("httpd", "tmp"):
            dirnames[:] = [d for d in dirnames if not d.startswith("pam.")]
        if rel_dir.parts[:2] == ("httpd", "devlog"):
            dirnames[:] = []
            continue
        for name in filenames:
            rel = rel_dir / name
            if name in INSTRUMENTS or (rel.parts[0] == "httpd" and len(rel.parts) == 2 and (
                    name.endswith(".log") or name.startswith(("httpd.pid", "cgid.sock")))):
                continue
            try:
                st = os.lstat(Path(dirpath) / name)
            except FileNotFoundError:
                continue
            out[str(rel)] = (st.st_size, st.st_mtime_ns)
    return out


CRASH_PATTERNS = re.compile(r"Premature end of script headers|End of script output before headers|"
                            r"segfault|Segmentation fault|exit signal|core dumped|Aborted|"
                            r"cgid daemon process died|AddressSanitizer|runtime error:", re.I)


def crash_lines(text):
    return [l for l in text.splitlines() if CRASH_PATTERNS.search(l)]


# --- processes (soak) -------------------------------------------------------------------------

def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return {"ppid": int(rest[1])}


def process_tree(root_pid):
    """root_pid and all its descendants (pids alive now)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            children.setdefault(_stat(d)["ppid"], []).append(int(d))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def exe_name(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sample(root_pid, exe):
    """{pid: (rss KiB, fds)} of the processes under root_pid running exe."""
    out = {}
    for pid in process_tree(root_pid):
        if exe_name(pid) != exe:
            continue
        try:
            out[pid] = (vm_rss_kib(pid), fd_count(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def wait_until(predicate, seconds=10, step=0.05):
    """Polls predicate (bounded); returns its last value."""
    end = time.monotonic() + seconds
    while True:
        v = predicate()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)
