#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""examples/pam.d/zendesk-sso-sssd-2fa under the shipped unit, with real
parts and no FreeIPA: FreeIPA's OTP design without its directory.

- A real MIT KDC (realm ZSSO.TEST) with its OTP preauthentication (krb5-otp):
  the user's principal has no keys, only the "otp" string attribute, so the
  only way in is password + code; the KDC sends both, as one RADIUS
  User-Password, to
- FreeRADIUS on 127.0.0.1:1812 with rlm_totp (its shipped "totp" site: the
  last 6 digits are the TOTP code, the rest the password);
- sssd with the krb5 auth provider (users from the files, as 93-sssd),
  FAST-armored with the host keytab (OTP needs FAST), and the
  [prompting/2fa] lines the example's comments give: without a prompting
  section sssd does not pre-authenticate outside IPA, and pam_sss asks only
  for a password.

Through Apache -> CGI -> broker -> pam_sss -> sssd -> KDC -> RADIUS: the form's
password answers pam_sss's first prompt, the second factor gets a page of its
own; the right code signs in, a wrong code or a wrong password is refused,
and with FreeRADIUS stopped the right code is refused too (so it was RADIUS
that said yes). The broker needs no drop-in: sssd reaches the KDC, the
broker only sssd's local socket (PrivateNetwork=yes stays). Codes come from
oathtool --totp. rlm_totp (3.2.1) accepts only the current 30 s step's code,
so each code is computed with 10 s of its step left and used at once."""
import os
import re
import secrets
import subprocess
import time
from pathlib import Path
import zsso_systemd as t

user = t.TEST_USER
pw = secrets.token_hex(12)             # the directory's password (RADIUS's), not the local one
key = secrets.token_bytes(20)          # the TOTP key a phone would hold
b32 = __import__("base64").b32encode(key).decode()
radius_secret = secrets.token_hex(16)
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-sssd-2fa")


def code(offset=0):
    """The TOTP code of now + offset steps, as the person's phone shows it."""
    return subprocess.run(["oathtool", "--totp", "-b", b32, "-N", f"@{int(time.time()) + 30 * offset}"],
                          capture_output=True, text=True).stdout.strip()


def wrong_code():
    """A code no step near now has."""
    near = {code(k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{(int(code()) + k) % 10**6:06d}" for k in range(1, 10)) if c not in near)


def fresh_step():
    """rlm_totp takes the current step's code only: a code is computed with
    at least 10 s of its step left and used at once (a check takes ~0.1 s)."""
    t.wait_until(lambda: int(time.time()) % 30 < 20, 31)


# --- FreeRADIUS: the shipped totp site, listening on loopback ---------------------
fr = Path("/etc/freeradius/3.0")
(fr / "clients.conf").write_text(f"client kdc {{\n    ipaddr = 127.0.0.1\n    secret = {radius_secret}\n}}\n")
(fr / "sites-enabled/default").unlink()     # its listeners would take 1812 too
(fr / "mods-enabled/totp").symlink_to("../mods-available/totp")
site = (fr / "sites-available/totp").read_text()
t.check("totp.authenticate" in site and "[0-9]{6}" in site, "FreeRADIUS ships the totp site (password + 6 digits)")
(fr / "sites-enabled/zsso-otp").write_text(f"""server zsso-otp {{
listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = 1812
}}
authorize {{
    if (&User-Password =~ /^(.*)([0-9]{{6}})$/) {{
        update request {{
            &User-Password := "%{{1}}"
            &TOTP-Password := "%{{2}}"
        }}
    }}
    else {{
        reject
    }}
    if (&User-Name == "{user}") {{
        update control {{
            &Cleartext-Password := "{pw}"
            &TOTP-Secret := "{b32}"
        }}
    }}
    totp.authenticate
    if (!ok) {{
        reject
    }}
    pap
}}
authenticate {{
    Auth-Type PAP {{
        pap
    }}
}}
}}
""")
for f in ("clients.conf", "sites-enabled/zsso-otp"):
    os.chown(fr / f, 0, __import__("grp").getgrnam("freerad").gr_gid)
    os.chmod(fr / f, 0o640)
r = t.systemctl("start", "freeradius.service")
t.check(r.returncode == 0, "systemctl start freeradius" + ("" if r.returncode == 0 else ": " + t.run(
    ["journalctl", "-u", "freeradius", "-n", "30", "--no-pager"]).stdout))

# --- the KDC: OTP through that RADIUS server -------------------------------------
Path("/etc/krb5kdc").mkdir(exist_ok=True)
Path("/etc/krb5kdc/radius.secret").write_text(radius_secret + "\n")
os.chmod("/etc/krb5kdc/radius.secret", 0o600)
host = t.kerberos_realm("""[otp]
    DEFAULT = {
        server = 127.0.0.1:1812
        secret = /etc/krb5kdc/radius.secret
        strip_realm = true
    }
""")
t.kadmin(f"addprinc -nokey +requires_preauth {user}")
# One token of the type DEFAULT above (kadmin's parser would eat JSON's quotes).
t.kadmin(f"setstr {user} otp [{{}}]")

# kinit from the shell, FAST-armored with the host keytab: the KDC and RADIUS alone.
armor = "FILE:/run/zsso-armor.ccache"
r = t.run(["kinit", "-k", "-t", "/etc/krb5.keytab", "-c", armor, host])
t.check(r.returncode == 0, f"kinit -k {host}: the FAST armor" + ("" if r.returncode == 0 else ": " + r.stderr.strip()))
fresh_step()
r = t.run(["kinit", "-T", armor, "-c", "MEMORY:zsso", user], input=pw + code() + "\n", timeout=60)
t.check(r.returncode == 0 and "OTP" in r.stdout + r.stderr, "kinit -T: the KDC asks for an OTP, password + code get a ticket" +
        ("" if r.returncode == 0 else f": {r.stdout.strip()} {r.stderr.strip()}"))
r = t.run(["kinit", "-T", armor, "-c", "MEMORY:zsso", user], input=pw + wrong_code() + "\n", timeout=60)
t.check(r.returncode != 0, "kinit -T: password + a wrong code get none")
r = t.run(["kinit", "-c", "MEMORY:zsso", user], input=pw + "\n", timeout=60)
t.check(r.returncode != 0, f"kinit without FAST (no OTP offered, no key): none ({r.stderr.strip()[-80:]})")

# --- sssd: krb5 provider, FAST, the example's [prompting/2fa] ----------------------
text = example.read_text()
prompting = [l[1:].strip() for l in text.splitlines()
             if re.match(r"#\s+(\[prompting/2fa\]|first_prompt|second_prompt)", l)]
t.check(len(prompting) == 3, f"the example's comments give [prompting/2fa] ({prompting})")
second_prompt = next((l.split("=", 1)[1].strip() for l in prompting if l.startswith("second_prompt")), "?")


def start_sssd(with_prompting):
    conf = Path("/etc/sssd/sssd.conf")
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(f"""[sssd]
services = nss, pam
domains = zsso2fa
[nss]
memcache_timeout = 0
[domain/zsso2fa]
id_provider = proxy
proxy_lib_name = files
auth_provider = krb5
krb5_realm = {t.REALM}
krb5_server = 127.0.0.1
krb5_use_fast = demand
krb5_fast_principal = {host}
krb5_validate = true
cache_credentials = false
krb5_store_password_if_offline = false
""" + ("\n".join(prompting) + "\n" if with_prompting else ""))
    os.chmod(conf, 0o600)
    r = t.systemctl("restart", "sssd.service")
    t.check(r.returncode == 0, "systemctl restart sssd" + ("" if r.returncode == 0 else ": " + r.stderr.strip()))
    t.check(t.wait_until(lambda: t.run(["getent", "-s", "sss", "passwd", user]).returncode == 0, 30),
            f"sssd answers: getent -s sss passwd {user}")
    t.stop_broker()


def two_pages(z, password, answer):
    """(the second page's prompts, the reply to answer() on it)."""
    b = t.Browser()
    page = b.sign_in(user, password)
    prompts = t.Browser.prompts(page)
    if not prompts:
        return prompts, page
    if answer is code:
        fresh_step()
    return prompts, b.answer(page, answer())


t.write_pam_service(text)
s = t.show(t.BROKER, "PrivateNetwork", "RestrictAddressFamilies", "DropInPaths")
t.check(s["PrivateNetwork"] == "yes" and s["RestrictAddressFamilies"] == "AF_UNIX" and not s["DropInPaths"],
        f"the shipped unit, no drop-in ({s})")
start_sssd(with_prompting=True)
with t.standin() as z:
    c = t.cursor()
    prompts, reply = two_pages(z, pw, code)
    t.check(prompts == [second_prompt], f"the form's password answers pam_sss's first prompt, the second factor "
                                        f"gets its own page ({prompts})")
    claims = t.accepted(z, reply)
    t.check(claims is not None, f"password + the right code sign in through sssd, the KDC and RADIUS ({reply.status})")
    if claims:
        t.check(claims.get("email") == f"{user}@{t.EMAIL_DOMAIN}", f"email claim {claims.get('email')}")
    print("journal:\n" + t.journal_wait(r"(?s)request.*request", t.BROKER, since=c), end="")

    _, bad = two_pages(z, pw, wrong_code)
    t.check(bad.status == 401 and not t.delivered(bad), f"a wrong code: 401 ({bad.status})")
    _, bad = two_pages(z, pw + "x", code)
    t.check(bad.status == 401 and not t.delivered(bad), f"a wrong password with the right code: 401 ({bad.status})")

    # Without [prompting/2fa] sssd's krb5 provider does not pre-authenticate:
    # pam_sss asks for a password only, so password and code go together.
    start_sssd(with_prompting=False)
    one = t.sign_in(user, pw)
    t.check(t.Browser.prompts(one) is None and not t.delivered(one),
            f"without [prompting/2fa]: one page, the password alone is refused ({one.status})")
    fresh_step()
    glued = t.sign_in(user, pw + code())
    t.check(t.accepted(z, glued) is not None, f"without [prompting/2fa]: password and code typed together sign in ({glued.status})")

    start_sssd(with_prompting=True)
    t.systemctl("stop", "freeradius.service")
    c = t.cursor()
    _, down = two_pages(z, pw, code)
    t.check(t.accepted(z, down) is None,
            f"with FreeRADIUS stopped the right code gets no token ({down.status}): RADIUS is what checked it")
t.finish()
