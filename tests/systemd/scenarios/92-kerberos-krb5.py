#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A Kerberos password stack against a real MIT KDC in the container: realm
ZSSO.TEST on 127.0.0.1, the user's principal, a host keytab the broker's
group may read (the example's advice: pam_krb5 then verifies the ticket),
and examples/pam.d/zendesk-sso-krb5 over /etc/pam.d/zendesk-sso. kinit from
the shell proves the KDC answers. Under the shipped unit alone (PrivateNetwork=yes,
AF_UNIX only: what broke, issue 21) the right password gets no token; with
the broker's network.conf drop-in linked in as the example says, a token, and
a wrong (or the local /etc/shadow) password is refused. The network
properties are asserted as systemctl show reports them (IPAddressDeny= is
cgroup BPF, not enforced inside this container)."""
import os
import secrets
from pathlib import Path
import zsso_systemd as t

user = t.TEST_USER
krb_pw = secrets.token_hex(12)
t.kerberos_realm()
t.kadmin(f"addprinc -pw {krb_pw} {user}")
# The broker's group may read the host keytab: pam_krb5 then verifies the ticket.
os.chown("/etc/krb5.keytab", 0, __import__("grp").getgrnam("zendesk-sso").gr_gid)
os.chmod("/etc/krb5.keytab", 0o640)
kinit = t.run(["kinit", "-c", "MEMORY:zsso", user], input=krb_pw + "\n", timeout=60)
t.check(kinit.returncode == 0, "kinit from the shell gets a ticket (the KDC answers)" +
        ("" if kinit.returncode == 0 else ": " + kinit.stderr.strip()))
t.write_pam_service(Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-krb5").read_text())
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/network.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
t.check(shipped.exists(), f"the package ships {shipped}")
with t.standin() as z:
    c = t.cursor()
    reply = t.sign_in(user, krb_pw)
    t.check(t.accepted(z, reply) is None, f"under the shipped unit alone the right password gets no token ({reply.status}): no network")
    t.note("the shipped unit alone: " + " | ".join(
        l for l in t.journal_wait(r"pam_authenticate", t.BROKER, since=c).splitlines() if "krb5" in l or "unavailable" in l))

    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "network.conf").symlink_to(shipped)
    t.systemctl("daemon-reload")
    t.stop_broker()
    s = t.show(t.BROKER, "PrivateNetwork", "RestrictAddressFamilies", "IPAddressDeny", "IPAddressAllow")
    print(f"with network.conf: {s}")
    # (systemctl show lists these sets in an order of its own.)
    t.check(s["PrivateNetwork"] == "no", "PrivateNetwork=no")
    t.check(set(s["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"},
            f"AF_UNIX AF_INET AF_INET6 ({s['RestrictAddressFamilies']})")
    t.check(set(s["IPAddressDeny"].split()) == {"0.0.0.0/0", "::/0"}, f"IPAddressDeny= still every address ({s['IPAddressDeny']})")
    t.check(set(s["IPAddressAllow"].split()) == {"127.0.0.0/8", "::1/128"}, f"IPAddressAllow= loopback only ({s['IPAddressAllow']})")
    c = t.cursor()
    reply = t.sign_in(user, krb_pw)
    claims = t.accepted(z, reply)
    t.check(claims is not None, f"with network.conf the Kerberos password signs in through the broker ({reply.status})")
    if claims:
        t.check(claims.get("email") == f"{user}@{t.EMAIL_DOMAIN}", f"email claim {claims.get('email')}")
    bad = t.sign_in(user, krb_pw + "x")
    t.check(bad.status == 401 and not t.delivered(bad), f"a wrong Kerberos password: 401 ({bad.status})")
    local = t.sign_in(user, t.password())
    t.check(local.status == 401, f"the local /etc/shadow password does not count with this stack ({local.status})")
    print("journal:\n" + t.journal_wait(r"(?s)request.*request", t.BROKER, "krb5-kdc.service", since=c), end="")
t.finish()
