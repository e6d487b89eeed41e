# SPDX-License-Identifier: BSD-3-Clause
"""A Kerberos password stack (examples/pam.d/zendesk-sso-krb5, pam_krb5)
against a real MIT KDC running in the container on loopback, with the
broker's network.conf drop-in linked in as the example says: a token for
the right password, 401 for a wrong one. Before that, what broke (issue
21): under the shipped unit alone (PrivateNetwork=yes, AF_UNIX only) the
KDC cannot be reached and the right password gets no token. The network
properties are asserted as systemd reports them (IPAddressDeny= is cgroup
BPF, not enforced inside this container)."""
from pathlib import Path
import zsso_systemd as t

user = t.TEST_USER
realm = "ZSSO.TEST"
kpw = "Krb5-" + t.password()[:20]
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-krb5")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/network.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
t.check(example.exists() and shipped.exists(), f"the package ships {example} and {shipped}")

# The realm: a KDC on 127.0.0.1, the test account's principal.
Path("/etc/krb5.conf").write_text(f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
[realms]
    {realm} = {{
        kdc = 127.0.0.1
        admin_server = 127.0.0.1
    }}
""")
Path("/etc/krb5kdc/kdc.conf").write_text(f"""[kdcdefaults]
    kdc_ports = 88
    kdc_tcp_ports = 88
[realms]
    {realm} = {{
        database_name = /var/lib/krb5kdc/principal
        key_stash_file = /etc/krb5kdc/stash
        acl_file = /etc/krb5kdc/kadm5.acl
    }}
""")
made = t.run(["kdb5_util", "create", "-s", "-r", realm, "-P", "master-" + kpw])
t.check(made.returncode == 0, f"kdb5_util create ({made.stderr.strip()[-200:]})")
p = t.run(["kadmin.local", "-r", realm, "-q", f"addprinc -pw {kpw} {user}"])
t.check(p.returncode == 0 and "created" in p.stdout + p.stderr, f"principal {user}@{realm}")
t.check(t.systemctl("start", "krb5-kdc.service").returncode == 0, "krb5-kdc started")
k = t.run(["kinit", user], input=kpw + "\n")
t.check(k.returncode == 0, f"kinit as root reaches the KDC on loopback ({k.stderr.strip()[-200:]})")
t.run(["kdestroy", "-A"])
t.write_pam_service(example.read_text())

with t.standin() as z:
    c = t.cursor()
    reply = t.sign_in(user, kpw)
    t.check(t.accepted(z, reply) is None, f"without the drop-in the right password gets no token ({reply.status}): no network")
    t.wait_until(lambda: "krb5" in t.journal(t.BROKER, since=c), 10)
    lines = [l for l in t.journal(t.BROKER, since=c).splitlines() if "krb5" in l or "unavailable" in l]
    t.note("without the drop-in, the journal says: " + " | ".join(lines[-2:]))

    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "network.conf").symlink_to(shipped)
    t.systemctl("daemon-reload")
    t.stop_broker()
    s = t.show(t.BROKER, "PrivateNetwork", "RestrictAddressFamilies", "IPAddressDeny", "IPAddressAllow")
    print(f"with network.conf: {s}")
    t.check(s["PrivateNetwork"] == "no", "PrivateNetwork=no")
    # (systemctl show lists these sets in an order of its own.)
    t.check(set(s["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"},
            f"AF_UNIX AF_INET AF_INET6 ({s['RestrictAddressFamilies']})")
    t.check(set(s["IPAddressDeny"].split()) == {"0.0.0.0/0", "::/0"}, f"IPAddressDeny= still every address ({s['IPAddressDeny']})")
    t.check(set(s["IPAddressAllow"].split()) == {"127.0.0.0/8", "::1/128"}, f"IPAddressAllow= loopback only ({s['IPAddressAllow']})")
    c = t.cursor()
    reply = t.sign_in(user, kpw)
    claims = t.accepted(z, reply)
    t.check(claims is not None, f"with the drop-in the right Kerberos password gets a token ({reply.status})")
    if claims:
        t.check(claims.get("email") == f"{user}@{t.EMAIL_DOMAIN}", f"email claim {claims.get('email')}")
    print(t.journal(t.BROKER, since=c), end="")
    wrong = t.sign_in(user, "not-the-password")
    t.check(wrong.status == 401, f"a wrong Kerberos password is refused ({wrong.status})")
    local = t.sign_in(user, t.password())
    t.check(local.status == 401, f"the local /etc/shadow password does not count with this stack ({local.status})")
t.finish()
