# SPDX-License-Identifier: BSD-3-Clause
"""Passkeys under the shipped unit (issue 23, slice 5): the webauthn.conf
drop-in linked in, webauthn.passwordless on, the zendesk-sso-webauthn
stack. As 98-webauthn.py, this drives the broker's socket as the web
server's user (broker_wire.py) with software ES256 keys (openssl).

The test user holds two resident keys on one pam_u2f line: "enrolled",
with its user handle in the side file as the broker's enrolment writes it,
and "pamu2fcfg", a "*" key as `pamu2fcfg -r` writes it (no handle kept;
later alone on the line).
The enrolled key signs in with no password; an unknown handle and a key
without user verification are refused; the "*" key is refused as a passkey
until a second-factor sign-in (the password, then the key answering with
its user handle) has kept its handle; with passwordless off the request is
refused before anything is read."""
import base64
import json
import os
import subprocess
from pathlib import Path
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-webauthn")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/webauthn.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
key_dir = Path("/var/lib/zendesk-sso/webauthn")
authfile, side_file = key_dir / "authfile", key_dir / "authfile.json"
ENROLLED_HANDLE, PAMU2FCFG_HANDLE = bytes(range(1, 33)), bytes(range(51, 83))
t.check(example.exists() and shipped.exists(), f"the package ships {example} and {shipped}")


def b64(b):
    return base64.b64encode(b).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


work = Path("/tmp/passkey-scenario")
work.mkdir(mode=0o755, exist_ok=True)


def new_key(name):
    """A P-256 key from openssl (readable by the driver, which runs as www-data: a throwaway key) and its raw x||y."""
    pem = work / f"{name}.pem"
    t.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pem)])
    os.chmod(pem, 0o644)
    der = subprocess.run(["openssl", "ec", "-in", str(pem), "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return pem, der[-64:]


enrolled_pem, enrolled_xy = new_key("enrolled")
pamu2fcfg_pem, pamu2fcfg_xy = new_key("pamu2fcfg")
t.run(["install", "-d", "-o", "zendesk-sso", "-g", "zendesk-sso", "-m", "0700", str(key_dir)])
line = (f"{user}:{b64(b'enrolled-key')},{b64(enrolled_xy)},es256,+presence+verification"
        f":*,{b64(pamu2fcfg_xy)},es256,+presence\n")
authfile.write_text(line)
side_file.write_text(json.dumps({"version": 1, "credentials": {b64(enrolled_xy): {
    "user": user, "sign_count": 0, "user_handle": b64url(ENROLLED_HANDLE), "added": 1}}}))
for f in (authfile, side_file):
    t.run(["chown", "zendesk-sso:zendesk-sso", str(f)])
    os.chmod(f, 0o640)
t.write_pam_service(example.read_text())
dropins.mkdir(parents=True, exist_ok=True)
(dropins / "webauthn.conf").symlink_to(shipped)
t.systemctl("daemon-reload")
socket = t.edit_config(lambda c: c.update(webauthn={"rp_id": "example.com", "origins": ["https://sso.example.com"],
                                                    "passwordless": True}))["broker"]["socket"]

# The driver, as the web server's user. A passkey request (no user, no
# password) or a password request, then the key step answered with
# (credential id, clientDataJSON, authenticatorData, signature, userHandle).
DRIVER = r'''
import base64, hashlib, json, struct, subprocess, sys
sys.path.insert(0, "/src/tests/broker")
import broker_wire as wire
socket, user, pw, mode, key_pem, cred_id, handle, flags, count, address, rid = sys.argv[1:12]
def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def fields(r):   # a token is named, not printed
    return {k: "(a token)" if k == "token" and v else v for k, v in r.items() if isinstance(v, (str, int))}
binding = "passkey-binding"
body = (wire.passkey_body(binding, address=address, request_id=rid) if mode == "passkey" else
        wire.request_body(user, pw, address=address, binding=binding, request_id=rid))
first = wire.exchange(socket, wire.frame(body))
if first.get("status") != "prompt" or "key" not in first:
    print(json.dumps({"first": fields(first)})); sys.exit(0)
k = first["key"]
cdj = json.dumps({"type": "webauthn.get", "challenge": b64url(k["challenge"]), "origin": "https://sso.example.com",
                  "crossOrigin": False}, separators=(",", ":")).encode()
ad = hashlib.sha256(b"example.com").digest() + bytes([int(flags)]) + struct.pack(">I", int(count))
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_pem], input=ad + hashlib.sha256(cdj).digest(),
                     capture_output=True, check=True).stdout
done = wire.exchange(wire.conversation_path(socket, first["conversation"]),
                     wire.frame(wire.continue_body(first["conversation"], binding, first["step"], address=address,
                                                   request_id=rid,
                                                   key=(cred_id.encode(), cdj, ad, sig, bytes.fromhex(handle)))))
print(json.dumps({"asked": {"ids": [i.decode() for i in k["credential_ids"]], "uv": k["user_verification"]},
                  "done": fields(done)}))
'''
counts = {}


def sign_in(mode, pem, cred_id, handle, rid, flags=0x05, address="127.0.0.1"):
    """The driver's answer (JSON), run as www-data, the broker's peer; each key's count grows."""
    counts[pem] = counts.get(pem, 0) + 1
    p = t.run(["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups", "--", "/usr/bin/python3", "-c",
               DRIVER, socket, user, pw, mode, str(pem), cred_id, handle.hex(), str(flags), str(counts[pem]),
               address, rid])
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.note(f"driver said: {p.stdout[-500:]} {p.stderr[-1500:]}")
        return {}


def events(rid):
    """The broker's audit events of request rid (journal fields)."""
    t.wait_until(lambda: t.run(["journalctl", "--no-pager", "-b", "-o", "json",
                                f"ZENDESK_SSO_REQUEST_ID={rid}"]).stdout.strip(), 10)
    out = t.run(["journalctl", "--no-pager", "-b", "-o", "json", f"ZENDESK_SSO_REQUEST_ID={rid}"]).stdout
    return [e for e in map(json.loads, filter(str.strip, out.splitlines()))]


def outcome(ev):
    return [(e.get("ZENDESK_SSO_WAY"), e.get("ZENDESK_SSO_OUTCOME"), e.get("ZENDESK_SSO_ACCOUNT"),
             e.get("_SYSTEMD_UNIT")) for e in ev]


# 1. The enrolled passkey: no password, a token, the way "key" in the journal.
c = t.cursor()
out = sign_in("passkey", enrolled_pem, "enrolled-key", ENROLLED_HANDLE, "pk-ok-01")
done = out.get("done", {})
t.check(out.get("asked") == {"ids": [], "uv": "required"},
        f"a passkey request asks for a discoverable key with user verification ({out.get('asked')})")
t.check(done.get("status") == "ok" and done.get("token") and done.get("user") == user,
        f"the passkey signs in with no password: a token for {user} ({done})")
t.check(outcome(events("pk-ok-01")) == [("key", "signed_in", user, t.BROKER)],
        f"the journal: way=key outcome=signed_in for {user} ({outcome(events('pk-ok-01'))})")
log = t.journal(t.BROKER, since=c)
t.check(f'passkey sign-in of user "{user}" from 127.0.0.1: ok' in log, "the broker's decision line names the account")
side = json.loads(side_file.read_text())["credentials"]
t.check(side[b64(enrolled_xy)]["sign_count"] == 1, f"the sign count is saved under the unit ({side})")

# 2. Refusals under the unit (each from its own address: the throttle stays out of it).
out = sign_in("passkey", enrolled_pem, "enrolled-key", b"\x09" * 32, "pk-unkn1", address="127.0.0.2")
done = out.get("done", {})
t.check(done.get("status") == "bad_login" and not done.get("token") and "passkey refused (unknown user handle)"
        in done.get("cause", ""), f"an unknown user handle is refused ({done})")
ev = events("pk-unkn1")
t.check(outcome(ev) == [("key", "bad_login", None, t.BROKER)] and user not in ev[0].get("MESSAGE", "-"),
        f"its event and line name no account ({outcome(ev)}: {[e.get('MESSAGE') for e in ev]})")
out = sign_in("passkey", enrolled_pem, "enrolled-key", ENROLLED_HANDLE, "pk-nouv1", flags=0x01, address="127.0.0.3")
done = out.get("done", {})
t.check(done.get("status") == "bad_login" and not done.get("token") and "security key refused (user_verification)"
        in done.get("cause", ""), f"a passkey without user verification is refused ({done})")
# A refusal after the handle named the account says no more than any bad login: no account in its event.
t.check(outcome(events("pk-nouv1")) == [("key", "bad_login", None, t.BROKER)],
        f"its event is the key's bad_login, no account named ({outcome(events('pk-nouv1'))})")

# 3. The `pamu2fcfg -r` key: no handle kept, so no passkey...
out = sign_in("passkey", pamu2fcfg_pem, "pamu2fcfg-credential", PAMU2FCFG_HANDLE, "pk-star1", address="127.0.0.4")
t.check(out.get("done", {}).get("status") == "bad_login" and "passkey refused (unknown user handle)"
        in out.get("done", {}).get("cause", ""), f"a \"*\" key is no passkey before its handle is known ({out})")
# ...until it proves the second factor after the password, answering with
# its handle. The line as pamu2fcfg -r alone writes it: the key step offers no
# credential, so a browser lets the discoverable key answer.
line = f"{user}:*,{b64(pamu2fcfg_xy)},es256,+presence\n"
authfile.write_text(line)
c = t.cursor()
out = sign_in("password", pamu2fcfg_pem, "pamu2fcfg-credential", PAMU2FCFG_HANDLE, "pk-2fa-1", flags=0x01)
t.check(out.get("asked", {}).get("ids") == [] and out.get("done", {}).get("status") == "ok"
        and out.get("done", {}).get("token"), f"the \"*\" key proves the second factor after the password ({out})")
t.journal_wait("answered with its user handle, now kept", t.BROKER, since=c)
rec = json.loads(side_file.read_text())["credentials"].get(b64(pamu2fcfg_xy), {})
t.check(rec.get("user") == user and rec.get("user_handle") == b64url(PAMU2FCFG_HANDLE),
        f"its side record keeps the user handle ({rec})")
t.check(authfile.read_text() == line, "the authfile line stays as pamu2fcfg wrote it")
out = sign_in("passkey", pamu2fcfg_pem, "pamu2fcfg-credential", PAMU2FCFG_HANDLE, "pk-star2")
t.check(out.get("done", {}).get("status") == "ok" and out.get("done", {}).get("user") == user,
        f"now the \"*\" key signs in with no password ({out})")

# 4. passwordless off: refused before any key step.
t.edit_config(lambda c: c["webauthn"].update(passwordless=False))
c = t.cursor()
out = sign_in("passkey", enrolled_pem, "enrolled-key", ENROLLED_HANDLE, "pk-off-1")
first = out.get("first", {})
t.check((first.get("status"), first.get("detail")) == ("not_allowed", "passwordless_off"),
        f"with webauthn.passwordless off the passkey request is refused ({out})")
log = t.journal_wait("webauthn.passwordless is off", t.BROKER, since=c)
print(log, end="")
t.finish()
