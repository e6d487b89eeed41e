# SPDX-License-Identifier: BSD-3-Clause
"""A throwaway PAM world for tests: fake users and groups (nss_wrapper),
passwords (pam_matrix), PAM service files (pam_wrapper), a config and a
secret, all inside one temporary directory. Nothing on the machine changes.

Reusable by other suites (the CGI and broker tests):

    sys.path.insert(0, "<source>/tests/pam")
    from pam_sandbox import PamSandbox
    with PamSandbox(module="/path/pam_zendesk.so") as sb:
        sb.add_group("staff", 2000)
        sb.add_user("alice", 1001, gecos="Alice Liddell", password="pw", groups=["staff"])
        sb.write_secret()
        sb.write_config({"zendesk": {"subdomain": "acme", "secret_file": sb.secret_path}})
        sb.write_service("zendesk-sso", sb.standard_stack())
        r = sb.pamtester("zendesk-sso", "alice", "authenticate", "acct_mgmt",
                         rhost="10.1.2.3", password="pw")
        # or: subprocess.run(cmd, env=sb.env(), ...) for any program using libpam

Service file text may use {module} (pam_zendesk.so), {matrix} (pam_matrix.so),
{permit} (pam_permit.so), {sysdir} (the system's module dir), {passdb},
{config} and {dir}; modules are named by absolute path because
pam_wrapper loads nothing from the system's module dir.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

PAM_MATRIX = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
SYSTEM_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/security"   # Debian's, for pam_permit & co.
# 48 alphanumerics, the shape of a secret Zendesk generates.
DEFAULT_SECRET = "Zx9TqL2vR8mN4bK7wH3jF6dS1aG5yP0cE2uI8oV4nM7rT1kQ"
SYSLOG_LINE = re.compile(r"SYSLOG\((\d)\): (.*)$")


class PamSandbox:
    def __init__(self, module=None, root=None, keep=False):
        self.module = str(module or os.environ.get("ZSSO_PAM_MODULE", ""))
        self._own_root = root is None
        self.dir = Path(root or tempfile.mkdtemp(prefix="zsso-pam-"))   # mkdtemp: 0700
        self.keep = keep
        # The plaintext passwords: a 0600 file in a 0700 folder of its own, so
        # the folders above may be opened to a web server's user.
        self.private_dir = self.dir / "private"
        self.private_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.private_dir, 0o700)
        self.service_dir = self.dir / "pam.d"
        self.service_dir.mkdir(parents=True, exist_ok=True)
        self.passwd_path = self.dir / "passwd"
        self.group_path = self.dir / "group"
        self.passdb_path = self.private_dir / "passdb"
        self.config_path = self.dir / "config.json"
        self.secret_path = self.dir / "secret"
        self.users = []      # (name, uid, gid, gecos, home, shell)
        self.groups = {}     # name -> [gid, [members]]
        self.passwords = {}  # name -> password
        self.services = []
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        if self._own_root and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- accounts -----------------------------------------------------------
    def add_group(self, name, gid, members=()):
        self.groups[name] = [gid, list(members)]
        self._flush()

    def add_user(self, name, uid, gid=None, gecos="", home=None, shell="/bin/sh",
                 password=None, groups=()):
        """Adds a passwd line; without gid a primary group named like the user
        is created. groups are supplementary group names (created if new)."""
        if gid is None:
            gid = uid
            self.groups.setdefault(name, [gid, []])
        for g in groups:
            entry = self.groups.setdefault(g, [self._free_gid(), []])
            if name not in entry[1]:
                entry[1].append(name)
        self.users.append((name, uid, gid, gecos, home or f"/home/{name}", shell))
        if password is not None:
            self.passwords[name] = password
        self._flush()

    def _free_gid(self):
        used = {g for g, _ in self.groups.values()}
        gid = 5000
        while gid in used:
            gid += 1
        return gid

    def _flush(self):
        self.passwd_path.write_text("".join(
            f"{n}:x:{u}:{g}:{gecos}:{home}:{shell}\n" for n, u, g, gecos, home, shell in self.users))
        self.group_path.write_text("".join(
            f"{n}:x:{gid}:{','.join(m)}\n" for n, (gid, m) in self.groups.items()))
        # pam_matrix wants one user:password:service line per service.
        fd = os.open(self.passdb_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write("".join(f"{u}:{p}:{s}\n" for u, p in self.passwords.items() for s in self.services))

    # --- files the module reads -------------------------------------------------
    def give_passwords_to(self, uid):
        """The process that reads the password files (a CGI running pam_matrix
        as the web server's user) gets the private folder and every file in
        it, still 0700/0600."""
        os.chown(self.private_dir, uid, -1)
        for p in self.private_dir.iterdir():
            os.chown(p, uid, -1)
            os.chmod(p, 0o600)

    def write_secret(self, value=DEFAULT_SECRET, mode=0o600, path=None):
        p = Path(path or self.secret_path)
        p.write_text(value + "\n")
        os.chmod(p, mode)
        return str(p)

    def write_config(self, config, path=None, mode=0o644):
        """config: a dict (written as JSON) or text (written as is)."""
        p = Path(path or self.config_path)
        p.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))
        os.chmod(p, mode)
        return str(p)

    def standard_stack(self, module_args="", gate_in_auth=True):
        """auth: [pam_zendesk gate] + pam_matrix; account: pam_zendesk."""
        args = f"config={{config}} debug {module_args}".strip()
        lines = []
        if gate_in_auth:
            lines.append(f"auth     requisite  {{module}} {args}")
        lines.append("auth     required   {matrix} passdb={passdb}")
        lines.append(f"account  required   {{module}} {args}")
        return "\n".join(lines) + "\n"

    def write_service(self, name, text):
        if name not in self.services:
            self.services.append(name)
        (self.service_dir / name).write_text(text.format(
            module=self.module, matrix=PAM_MATRIX, passdb=self.passdb_path,
            permit=f"{SYSTEM_MODULE_DIR}/pam_permit.so", sysdir=SYSTEM_MODULE_DIR,
            config=self.config_path, dir=self.dir))
        self._flush()

    # --- running things -----------------------------------------------------------
    def env(self, extra=None, for_valgrind=False):
        """A clean environment that routes libpam and NSS through the wrappers.
        PAM_WRAPPER_DEBUGLEVEL=2 makes pam_wrapper print pam_syslog lines on
        stderr as "SYSLOG(priority): message"."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.dir),
            "LD_PRELOAD": "libpam_wrapper.so libnss_wrapper.so",
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.service_dir),
            "PAM_WRAPPER_DEBUGLEVEL": "2",
            "NSS_WRAPPER_PASSWD": str(self.passwd_path),
            "NSS_WRAPPER_GROUP": str(self.group_path),
        }
        # Sanitizer build (scripts/hardening.sh): a plain host such as pamtester
        # can load an ASan-built pam_zendesk.so only with the ASan runtime
        # preloaded ahead of everything; *SAN_OPTIONS make findings fatal.
        preload = os.environ.get("ZSSO_SANITIZER_PRELOAD")
        if preload and not for_valgrind:
            env["LD_PRELOAD"] = preload + " " + env["LD_PRELOAD"]
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        if for_valgrind or preload:
            # Deep binding hides the wrapped symbols from valgrind's
            # replacements, and ASan refuses RTLD_DEEPBIND.
            env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
            env["NSS_WRAPPER_DISABLE_DEEPBIND"] = "1"
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)   # None removes a variable
            else:
                env[key] = value
        return env

    def run(self, argv, stdin="", extra_env=None, for_valgrind=False, timeout=120):
        return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=self.env(extra_env, for_valgrind), cwd=self.dir,
                              timeout=timeout)

    def pamtester(self, service, user, *ops, rhost=None, password="", prefix=(), **kw):
        argv = list(prefix) + ["pamtester", "-v"]
        if rhost is not None:
            argv += ["-I", f"rhost={rhost}"]
        argv += [service, user] + list(ops or ["authenticate", "acct_mgmt"])
        return self.run(argv, stdin=password + "\n", **kw)


def syslog_lines(stderr):
    """The pam_syslog messages pam_wrapper printed, as (priority, text)."""
    out = []
    for line in stderr.splitlines():
        m = SYSLOG_LINE.search(line)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out
