#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The E2E happy path against the INSTALLED package (scripts/package-test.sh
runs it as root after `apt-get install ./zendesk-sso_*.deb`):

- Apache on 127.0.0.1 with a private httpd.conf that Includes the installed
  /etc/apache2/conf-available/zendesk-sso.conf (so the installed CGI under
  /usr/lib/cgi-bin/zendesk-sso/ runs as www-data, as on a real host);
- the installed broker /usr/sbin/zendesk-sso-authd, socket-activated with
  Accept=yes by systemd-socket-activate and run as the package's system user
  with the shadow group, as the installed units do;
- the installed /etc/pam.d/zendesk-sso (pam_faillock + pam_unix + the
  installed pam_zendesk.so), a real local account, the installed config;
- the loopback Zendesk stand-in of tests/e2e, which verifies tokens with
  PyJWT.

Only the Zendesk endpoint is redirected (ZENDESK_SSO_ENDPOINT_OVERRIDE, a
test-only variable the CGI accepts for loopback addresses only).

It uses the config as the admin left it (package-test.sh makes only the
README.Debian edits): broker mode, and no key at all on the web side.

usage: installed_e2e.py --user U --password-file F [--subdomain S --email-domain D]
"""
import argparse
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SOURCE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import zsso_e2e as e2e   # noqa: E402  the e2e suite's stand-in, Apache and HTTP helpers

INSTALLED_CONF = "/etc/apache2/conf-available/zendesk-sso.conf"
INSTALLED_CGI = "/usr/lib/cgi-bin/zendesk-sso/zendesk-sso.cgi"
SOCKET_UNIT = "/usr/lib/systemd/system/zendesk-sso-authd.socket"
SERVICE_UNIT = "/usr/lib/systemd/system/zendesk-sso-authd.service"
CONFIG = "/etc/zendesk-sso/config.json"
SECRET = "/etc/zendesk-sso/secret"

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def record_process_group(pgid):
    """For scripts/package-test.sh: if this script is killed (SIGKILL), the next
    run's cleanup stops what it started, by process group id."""
    path = os.environ.get("ZSSO_PKGTEST_PGID_FILE")
    if path:
        with open(path, "a") as f:
            f.write(f"{pgid}\n")


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def mount_point(conf_text):
    """The URL prefix the installed conf maps to the CGI (ScriptAlias /zendesk ...)."""
    m = re.search(r"^\s*ScriptAlias\s+(\S+)\s+" + re.escape(INSTALLED_CGI) + r"\s*$", conf_text, re.M)
    return m.group(1) if m else None


def read_unit(path):
    """key -> value of a systemd unit file (last one wins; enough for ours)."""
    keys = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            keys[k.strip()] = v.strip()
    return keys


class Broker:
    """The installed units, played by systemd-socket-activate (no systemd
    runs here; Accept=no: the broker gets the listening socket): the
    socket's path, group and mode from the .socket unit; the service's
    ExecStart, User, Group, SupplementaryGroups and RuntimeDirectory from
    the .service unit."""

    def __init__(self, socket_unit, service_unit):
        sock, svc = read_unit(socket_unit), read_unit(service_unit)
        self.path = sock["ListenStream"]
        self.socket_group = sock.get("SocketGroup", "root")
        self.socket_mode = int(sock.get("SocketMode", "0666"), 8)
        self.exec_start = shlex.split(svc["ExecStart"])
        self.user = svc["User"]
        self.group = svc.get("Group", self.user)
        self.groups = svc.get("SupplementaryGroups", "").split()
        self.runtime_dirs = svc.get("RuntimeDirectory", "").split()
        self.runtime_mode = int(svc.get("RuntimeDirectoryMode", "0755"), 8)
        self.proc = None

    def start(self):
        Path(self.path).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        for d in self.runtime_dirs:
            p = Path("/run") / d
            p.mkdir(mode=self.runtime_mode, parents=True, exist_ok=True)
            os.chown(p, pwd.getpwnam(self.user).pw_uid, grp.getgrnam(self.group).gr_gid)
            os.chmod(p, self.runtime_mode)
        if os.path.exists(self.path):
            os.unlink(self.path)
        accept = ["--accept"] if read_unit(SOCKET_UNIT).get("Accept") == "yes" else []
        cmd = ["systemd-socket-activate", *accept, "--listen", self.path,
               "setpriv", f"--reuid={self.user}", f"--regid={self.group}",
               f"--groups={','.join(self.groups)}" if self.groups else "--clear-groups",
               "--inh-caps=-all", "--no-new-privs", *self.exec_start, "--log-stderr"]
        print("broker: " + " ".join(cmd), flush=True)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        record_process_group(self.proc.pid)
        if not wait_for(lambda: os.path.exists(self.path)):
            raise RuntimeError("systemd-socket-activate did not create " + self.path)
        os.chown(self.path, 0, grp.getgrnam(self.socket_group).gr_gid)
        os.chmod(self.path, self.socket_mode)
        return self

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if os.path.exists(self.path):
            os.unlink(self.path)


class InstalledApache(e2e.Apache):
    """The e2e suite's private Apache on 127.0.0.1, but with a configuration
    that Includes the installed zendesk-sso.conf and runs as www-data."""

    def __init__(self, dir, mount, standin_url):
        super().__init__(dir, mounts={})
        self.mount, self.standin_url = mount, standin_url

    def _write_conf(self):
        (self.dir / "htdocs").mkdir(parents=True, exist_ok=True)
        lines = [
            f'ServerRoot "{self.dir}"', "ServerName 127.0.0.1", f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{self.dir}/httpd.pid"', f'ErrorLog "{self.dir}/error.log"', "LogLevel warn",
            f'DefaultRuntimeDir "{self.dir}"', f"Mutex file:{self.dir} default",
            *[f"LoadModule {m}_module {e2e.APACHE_MODULES}/mod_{m}.so" for m in self.modules],
            "User www-data", "Group www-data",
            f'ScriptSock "{self.dir}/cgid.sock"', f'DocumentRoot "{self.dir}/htdocs"',
            "<Directory />", "  Require all denied", "</Directory>",
            # The installed file, as `a2enconf zendesk-sso` would include it.
            f"Include {INSTALLED_CONF}",
            # Test-only additions, after it: the loopback stand-in and log lines on stderr.
            f"<Location {self.mount}>",
            f'  SetEnv ZENDESK_SSO_ENDPOINT_OVERRIDE "{self.standin_url}"',
            '  SetEnv ZENDESK_SSO_LOG_STDERR "1"',
            "</Location>",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self):
        self.dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        super().start()
        record_process_group(self.proc.pid)
        return self


def faillock_dir():
    """pam_faillock's dir= in the installed service, else its faillock.conf / built-in default."""
    for line in Path("/etc/pam.d/zendesk-sso").read_text().splitlines():
        if "pam_faillock.so" in line and not line.lstrip().startswith("#"):
            m = re.search(r"\bdir=(\S+)", line)
            if m:
                return m.group(1)
    conf = Path("/etc/security/faillock.conf")
    m = re.search(r"^\s*dir\s*=\s*(\S+)", conf.read_text(), re.M) if conf.exists() else None
    return m.group(1) if m else "/var/run/faillock"


def faillock_deny():
    conf = Path("/etc/security/faillock.conf")
    m = re.search(r"^\s*deny\s*=\s*(\d+)", conf.read_text(), re.M) if conf.exists() else None
    return int(m.group(1)) if m else 3


def sign_in(base, user, password, path="/login", source=None):
    """The form, then its POST (both from source, a local address, when given)."""
    form = e2e.fetch("GET", base + path, source=source)
    cookie = "; ".join(f"{k}={v.value}" for k, v in form.cookies().items())
    return e2e.fetch("POST", base + path, body=dict(e2e.hidden_fields(form.body), user=user, password=password),
                     headers={"Cookie": cookie}, source=source)


def delivered_jwt(reply):
    return e2e.hidden_fields(reply.body, "zendesk-sso").get("jwt")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--subdomain", default="acme", help="zendesk.subdomain as the admin set it")
    ap.add_argument("--email-domain", default="acme.com", help="the domain of the admin's claims.email")
    a = ap.parse_args()
    return_to = f"https://{a.subdomain}.zendesk.com/hc"

    password = Path(a.password_file).read_text().rstrip("\n")
    secret = Path(SECRET).read_bytes().rstrip(b"\r\n")
    mount = mount_point(Path(INSTALLED_CONF).read_text())
    if not check(mount is not None, f"{INSTALLED_CONF} maps a URL to {INSTALLED_CGI}"):
        return 1
    account = pwd.getpwnam(a.user)
    # Broker mode as shipped: the web server never reads the Zendesk secret,
    # and the config names no CSRF key (retired: the CGI's form token is
    # random), so a sign-in below proves the CGI works with no key at all.
    def www_data_reads(path):
        return subprocess.run(["runuser", "-u", "www-data", "--", "test", "-r", path]).returncode == 0
    check(not www_data_reads(SECRET), f"www-data cannot read {SECRET}")
    check("csrf_key_file" not in Path(CONFIG).read_text(), f"{CONFIG} names no helper.csrf_key_file")

    work = Path(tempfile.mkdtemp(prefix="zsso-pkg-e2e-", dir=e2e.work_root()))   # Apache may get a private /tmp
    os.chmod(work, 0o755)   # Apache's children (www-data) walk into it
    standin = e2e.ZendeskStandIn(secret.decode()).start()
    broker = Broker(SOCKET_UNIT, SERVICE_UNIT)
    apache = InstalledApache(work / "httpd", mount, standin.url)
    try:
        broker.start()
        apache.start()
        base = f"http://127.0.0.1:{apache.port}{mount}"
        print(f"apache: {base}/login (installed conf + CGI), broker: {broker.path}", flush=True)

        # 0. The installed `zendesk-sso check` verifies the deployment as it runs:
        # www-data from Apache's envvars, zendesk-sso + shadow from the installed
        # unit, a ping to the broker as www-data.
        def installed_check():
            p = subprocess.run(["zendesk-sso", "check"], capture_output=True, text=True)
            print(p.stdout + p.stderr, end="")
            return p
        c = installed_check()
        check(c.returncode == 0 and "ok: the broker answered a ping from www-data" in c.stdout
              and "files open as www-data (web server, /etc/apache2/envvars) and zendesk-sso (broker, "
                  + SERVICE_UNIT + ")" in c.stdout, "installed `zendesk-sso check` passes the deployment")
        os.chmod(SECRET, 0o600)
        c = installed_check()
        fixes = [l.split("fix: ", 1)[1] for l in c.stderr.splitlines() if l.startswith("  fix: chown")]
        check(c.returncode == 1 and "as zendesk-sso (broker)" in c.stderr and fixes,
              "a secret only root reads fails check, with the command that fixes it")
        for f in fixes:
            subprocess.run(f, shell=True, check=True)
        check(installed_check().returncode == 0, "after running the printed fix, check passes")

        # 1. The form.
        form = e2e.fetch("GET", base + "/login?return_to=" + quote(return_to, safe=""))
        check(form.status == 200 and 'name="password"' in form.body, f"GET {mount}/login shows the form ({form.status})")
        cookies = form.cookies()
        fields = e2e.hidden_fields(form.body)
        check("csrf" in fields and cookies, "the form carries a CSRF token and cookie")
        cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())

        # 2. A wrong password: the form again, 401, nothing minted.
        bad = e2e.fetch("POST", base + "/login", body=dict(fields, user=a.user, password=password + "x"),
                        headers={"Cookie": cookie})
        check(bad.status == 401, f"a wrong password gets 401 and the form again ({bad.status})")

        # 3. The right password: the delivery page with a form that posts to Zendesk.
        form = e2e.fetch("GET", base + "/login?return_to=" + quote(return_to, safe=""))
        cookies = form.cookies()
        fields = e2e.hidden_fields(form.body)
        cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
        good = e2e.fetch("POST", base + "/login", body=dict(fields, user=a.user, password=password),
                         headers={"Cookie": cookie})
        ok = check(good.status == 200, f"the right password gets the delivery page ({good.status})")
        action = e2e.form_action(good.body, "zendesk-sso")
        delivered = e2e.hidden_fields(good.body, "zendesk-sso")
        if ok and check(action == standin.url + "/access/jwt" and "jwt" in delivered,
                        f"it posts a jwt to the (stand-in) Zendesk endpoint: {action}"):
            # 4. What the browser would do: post it to Zendesk, which verifies it.
            z = e2e.fetch("POST", action, body=delivered)
            check(z.status == 200 and len(standin.received) == 1,
                  f"the stand-in (PyJWT) accepted the token ({z.status})")
            if standin.received:
                claims = standin.received[0]["claims"]
                gecos = account.pw_gecos.split(",")[0]
                check(claims.get("email") == f"{a.user}@{a.email_domain}", f"email claim {claims.get('email')}")
                check(claims.get("name") == gecos, f"name claim {claims.get('name')!r} is the GECOS name")
                sent = sorted(set(claims) - {"iat", "jti"})
                check(sent == ["email", "name"], f"the shipped config sends email and name only ({sent})")
                check(standin.received[0]["return_to"] == return_to, f"return_to {return_to} passed on")
                # 5. The installed CLI agrees with PyJWT.
                v = subprocess.run(["zendesk-sso", "verify", "-"], input=delivered["jwt"],
                                   capture_output=True, text=True)
                check(v.returncode == 0 and a.user in v.stdout, "installed `zendesk-sso verify` accepts it")

        # 6. Logout page.
        out = e2e.fetch("GET", base + "/logout")
        check(out.status in (200, 302), f"GET {mount}/logout ({out.status})")

        # 7. Brute force from one address: the broker bans the (account,
        # address) pair after broker.max_failures (5) wrong passwords, far
        # below the installed stack's pam_faillock deny=30, which counts each
        # failure that reached PAM (in its dir=, where the broker's user may
        # write; the successful sign-in above reset the count). `zendesk-sso
        # unlock` lifts the ban and shows faillock's count.
        tally_dir = faillock_dir()
        def failures_recorded():
            r = subprocess.run(["faillock", "--dir", tally_dir, "--user", a.user], capture_output=True, text=True)
            return len([l for l in r.stdout.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", l)])
        check(failures_recorded() == 0, "a successful sign-in leaves no failures recorded")
        for _ in range(7):
            sign_in(base, a.user, password + "x")
        check(failures_recorded() == 5, f"pam_faillock recorded the 5 failures that reached PAM in {tally_dir}")
        banned = sign_in(base, a.user, password)
        check(banned.status == 401 and not delivered_jwt(banned),
              f"after 5 failures from one address the right password is refused from it too ({banned.status})")
        u = subprocess.run(["zendesk-sso", "unlock", a.user], capture_output=True, text=True)
        check(u.returncode == 0 and f"lifted {a.user}: 127.0.0.1 (banned" in u.stdout
              and f"5 failures of {a.user} recorded" in u.stdout,
              f"`zendesk-sso unlock {a.user}` lifts the ban and shows faillock's count: {u.stdout}{u.stderr}")
        unlocked = sign_in(base, a.user, password)
        check(unlocked.status == 200 and delivered_jwt(unlocked), "`zendesk-sso unlock` lets the user in again")

        # 8. A profile (admin guide section 6): /login/agents signs with the
        # agents configuration's secret, not the base one.
        agents = sign_in(base, a.user, password, "/login/agents")
        token = delivered_jwt(agents)
        if check(agents.status == 200 and token, f"{mount}/login/agents signs the agent in ({agents.status})"):
            agents_secret = Path("/etc/zendesk-sso/secret-agents").read_bytes().rstrip(b"\r\n")
            try:
                claims = e2e.pyjwt.decode(token, agents_secret, algorithms=["HS256"])
                check(claims.get("email") == f"{a.user}@{a.email_domain}", "PyJWT verifies it with secret-agents")
            except Exception as e:
                check(False, f"PyJWT verifies it with secret-agents: {e}")
            try:
                e2e.pyjwt.decode(token, secret, algorithms=["HS256"])
                check(False, "the base secret must not verify the agents token")
            except e2e.pyjwt.InvalidSignatureError:
                check(True, "the base secret does not verify it")

        # 9. The installed CLI's probe drives the same sign-in like a browser.
        p = subprocess.run(["zendesk-sso", "probe", base + "/login", "--user", a.user],
                           input=password + "\n", capture_output=True, text=True)
        print(p.stdout + p.stderr, end="")
        check(p.returncode == 0 and "ok: sign-in works" in p.stdout, "installed `zendesk-sso probe` signs in")
    except Exception as e:   # a broken start is a failure, with the logs below
        check(False, f"{type(e).__name__}: {e}")
    finally:
        apache.stop()
        broker.stop()
        standin.stop()
        if failures:
            print("--- apache error log (CGI lines):\n" + apache.error_log())
            print("--- broker log:\n" + broker.output())
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
