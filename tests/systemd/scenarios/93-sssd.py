#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""SSSD in broker mode (the admin guide's "over sssd's local socket: the
shipped sandbox allows it"): a real sssd in the container with its proxy
provider (users from libnss_files, passwords checked by sssd's proxy_child
through a PAM service of its own with pam_unix, running as root: the broker
never reads /etc/shadow on this path), and examples/pam.d/zendesk-sso-sssd
over /etc/pam.d/zendesk-sso under the shipped unit, no drop-in. The right
password signs in through Apache -> CGI -> broker -> pam_sss -> sssd (a
token PyJWT accepts); a wrong one is refused; with sssd stopped the right
one gets no token either, so it was sssd that said yes.
(zendesk-sso-sssd-2fa needs a backend with a second factor, which the proxy
provider has not: 94-sssd-2fa.py drives it with the krb5 provider.)"""
import os
from pathlib import Path
import zsso_systemd as t

user = t.TEST_USER
# sssd's proxy provider checks passwords through this PAM service (as root).
Path("/etc/pam.d/sssd-proxy-zsso").write_text(
    "auth     required  pam_unix.so\n"
    "account  required  pam_unix.so\n"
    "password required  pam_deny.so\n"
    "session  required  pam_permit.so\n")
conf = Path("/etc/sssd/sssd.conf")
conf.parent.mkdir(exist_ok=True)
conf.write_text("""[sssd]
services = nss, pam
domains = zsso
[nss]
# No memory cache: nothing of this scenario outlives sssd.
memcache_timeout = 0
[domain/zsso]
id_provider = proxy
proxy_lib_name = files
auth_provider = proxy
proxy_pam_target = sssd-proxy-zsso
cache_credentials = false
""")
os.chmod(conf, 0o600)
r = t.systemctl("restart", "sssd.service")
t.check(r.returncode == 0, "systemctl start sssd" + ("" if r.returncode == 0 else ": " + r.stderr.strip()
                                                      + t.run(["journalctl", "-u", "sssd", "-n", "20", "--no-pager"]).stdout))
t.check(t.wait_until(lambda: t.run(["getent", "-s", "sss", "passwd", user]).returncode == 0, 30),
        f"sssd answers: getent -s sss passwd {user}")

t.write_pam_service(Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-sssd").read_text())
with t.standin() as z:
    c = t.cursor()
    reply = t.sign_in(user, t.password())
    claims = t.accepted(z, reply)
    t.check(claims is not None, f"the password signs in through pam_sss under the shipped unit ({reply.status})")
    if claims:
        t.check(claims.get("email") == f"{user}@{t.EMAIL_DOMAIN}", f"email claim {claims.get('email')}")
    bad = t.sign_in(user, t.password() + "x")
    t.check(bad.status == 401 and not t.delivered(bad), f"a wrong password: 401 ({bad.status})")
    print("journal:\n" + t.journal_wait(r"(?s)request.*request", t.BROKER, "sssd.service", since=c), end="")

    t.systemctl("stop", "sssd.service")
    c = t.cursor()
    down = t.sign_in(user, t.password())
    t.check(t.accepted(z, down) is None and down.status != 200,
            f"with sssd stopped the right password gets no token ({down.status}): pam_sss is what answered")
    t.note("sssd stopped: " + " | ".join(
        l for l in t.journal_wait(r"pam_authenticate", t.BROKER, since=c).splitlines() if "pam_" in l))
t.finish()
