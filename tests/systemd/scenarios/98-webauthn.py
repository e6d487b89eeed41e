# SPDX-License-Identifier: BSD-3-Clause
"""Security keys under the shipped unit (issue 23, slices 2 and 4): the
zendesk-sso-webauthn stack, a webauthn section, a key in the default
authfile. This drives the broker's socket as the web server's user does
(broker_wire.py, the protocol written again in Python; the pages' key step
is broker.E2E.Webauthn's and browser.Webauthn's) with a software ES256
key (openssl). Under the shipped unit alone the signature verifies but the sign count cannot be
saved (/var/lib is read-only to it, so not even its lock file can be
made): refused as unavailable. With the
webauthn.conf drop-in linked in: the key step, a token, the count saved."""
import json
import os
import subprocess
import sys
from pathlib import Path
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-webauthn")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/webauthn.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
key_dir = Path("/var/lib/zendesk-sso/webauthn")
t.check(example.exists() and shipped.exists(), f"the package ships {example} and {shipped}")

# The key: P-256 from openssl, its raw x||y as pamu2fcfg stores it.
work = Path("/tmp/webauthn-scenario")
work.mkdir(mode=0o755, exist_ok=True)
key_pem = work / "key.pem"
t.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key_pem)])
os.chmod(key_pem, 0o644)   # the driver below runs as www-data; a throwaway key
der = subprocess.run(["openssl", "ec", "-in", str(key_pem), "-pubout", "-outform", "DER"],
                     capture_output=True, check=True).stdout
import base64  # noqa: E402
t.run(["install", "-d", "-o", "zendesk-sso", "-g", "zendesk-sso", "-m", "0700", str(key_dir)])   # as the example says: the inner folder only
(key_dir / "authfile").write_text(f"{user}:{base64.b64encode(b'scenario-key').decode()},"
                                  f"{base64.b64encode(der[-64:]).decode()},es256,+presence\n")
os.chmod(key_dir / "authfile", 0o644)
t.write_pam_service(example.read_text())
socket = t.edit_config(lambda c: c.update(webauthn={"rp_id": "example.com", "origins": ["https://sso.example.com"]}))["broker"]["socket"]

DRIVER = r'''
import base64, hashlib, json, struct, subprocess, sys
sys.path.insert(0, "/src/tests/broker")
import broker_wire as wire
socket, user, pw, key_pem = sys.argv[1:5]
cred_id, count = sys.argv[5].encode(), int(sys.argv[6])
def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
first = wire.exchange(socket, wire.request(user, pw, address="127.0.0.1", binding="scenario-binding"))
if first.get("status") != "prompt" or "key" not in first:
    print(json.dumps({"first": {k: v for k, v in first.items() if isinstance(v, (str, int))}})); sys.exit(0)
challenge = first["key"]["challenge"]
cdj = json.dumps({"type": "webauthn.get", "challenge": b64url(challenge), "origin": "https://sso.example.com",
                  "crossOrigin": False}, separators=(",", ":")).encode()
ad = hashlib.sha256(b"example.com").digest() + b"\x01" + struct.pack(">I", count)
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_pem], input=ad + hashlib.sha256(cdj).digest(),
                     capture_output=True, check=True).stdout
done = wire.exchange(wire.conversation_path(socket, first["conversation"]),
                     wire.frame(wire.continue_body(first["conversation"], "scenario-binding", first["step"],
                                                   address="127.0.0.1", key=(cred_id, cdj, ad, sig))))
print(json.dumps({"ids": [i.decode() for i in first["key"]["credential_ids"]],
                  "done": {k: v for k, v in done.items() if isinstance(v, (str, int))}}))
'''


def as_web_server(driver, *args):
    """The driver's last line (JSON), run as the web server's user, the broker's peer."""
    p = t.run(["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups", "--",
               "/usr/bin/python3", "-c", driver, socket, user, pw, *args])
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.note(f"driver said: {p.stdout[-500:]} {p.stderr[-1500:]}")
        return {}


def key_sign_in(pem=key_pem, credential_id="scenario-key", count=1):
    return as_web_server(DRIVER, str(pem), credential_id, str(count))


# The shipped unit alone: the key verifies, the count cannot be kept.
c = t.cursor()
out = key_sign_in()
t.check(out.get("ids") == ["scenario-key"], f"the key step offers the key's credential id ({out})")
cause = out.get("done", {}).get("cause", "")
t.check(out.get("done", {}).get("status") == "unavailable" and "webauthn side file" in cause and "Read-only file system" in cause,
        f"without the drop-in the key sign-in is refused as unavailable: the count cannot be saved ({out.get('done')})")

# zendesk-sso check says so first, with the command that fixes it (issue 23.6):
# the folder exists and the broker's user may write it, but not under its unit.
check = subprocess.run(["zendesk-sso", "check"], capture_output=True, text=True, timeout=120)
t.check(check.returncode == 1 and f"webauthn.authfile: the broker's unit /usr/lib/systemd/system/zendesk-sso-authd"
        f".service (ProtectSystem=strict) makes {key_dir} read-only to it" in check.stderr and
        "fix: link the webauthn.conf drop-in: mkdir -p /etc/systemd/system/zendesk-sso-authd.service.d && ln -s "
        f"{shipped} /etc/systemd/system/zendesk-sso-authd.service.d/" in check.stderr,
        f"check names the read-only key folder and the drop-in ({check.returncode}: {check.stderr[-1500:]})")


def key_events(seen):
    """This boot's signed-in events of the way "key" but those in seen (by
    cursor: --after-cursor with a match skips the first match, 97's note)."""
    out = t.run(["journalctl", "--no-pager", "-b", "-o", "json", "ZENDESK_SSO_WAY=key",
                 "ZENDESK_SSO_OUTCOME=signed_in"]).stdout
    return [e for e in map(json.loads, filter(str.strip, out.splitlines())) if e["__CURSOR"] not in seen]


# The drop-in linked in, as its comment says.
dropins.mkdir(parents=True, exist_ok=True)
(dropins / "webauthn.conf").symlink_to(shipped)
t.systemctl("daemon-reload")
t.stop_broker()
s = t.show(t.BROKER, "StateDirectory", "PrivateNetwork", "SystemCallFilter")
t.check(s["StateDirectory"] == "zendesk-sso/webauthn", f"StateDirectory with the drop-in ({s['StateDirectory']})")
t.check(s["PrivateNetwork"] == "yes", "the rest of the sandbox stays (PrivateNetwork=yes)")
c = t.cursor()
seen = {e["__CURSOR"] for e in key_events(set())}
out = key_sign_in()
done = out.get("done", {})
t.check(done.get("status") == "ok" and done.get("token"), f"with the drop-in the key signs in: a token ({done})")
log = t.journal(t.BROKER, since=c)
t.check("asked for a security key (1 credential(s))" in log, "the broker asked for the key (journal)")
t.check("asked 1 prompt" not in log, "no one-time code for a key holder (pam_exec printenv ZSSO_WEBAUTHN skipped pam_oath)")
# Its audit event is the key's way (issue 24): journal fields of the broker's unit.
t.wait_until(lambda: key_events(seen), 10)
ev = key_events(seen)
t.check(len(ev) == 1 and ev[0].get("_SYSTEMD_UNIT") == t.BROKER,
        f"journalctl ZENDESK_SSO_WAY=key ZENDESK_SSO_OUTCOME=signed_in finds the broker's one event ({len(ev)})")
side = json.loads((key_dir / "authfile.json").read_text())
t.check([r["sign_count"] for r in side["credentials"].values()] == [1], f"the sign count is saved ({side})")
check = subprocess.run(["zendesk-sso", "check"], capture_output=True, text=True, timeout=120)
t.check(check.returncode == 0 and "ok: the broker's user zendesk-sso reads and writes the key store in "
        f"{key_dir}" in check.stdout, f"with the drop-in check passes the key store ({check.returncode}: "
        f"{check.stdout[-800:]} {check.stderr[-1500:]})")

# Enrolment under the shipped unit (issue 23 slice 4): the "Security keys"
# conversation with the enrol flag, as the /keys page drives it. The user
# holds scenario-key, so the broker asks for it first (a key is added only
# by someone who just proved one); then a registration step, a new P-256 key
# from openssl answers it (format "none"), the broker writes the authfile in
# its own state folder, and the new key signs in.
new_pem = work / "new-key.pem"
t.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(new_pem)])
os.chmod(new_pem, 0o644)
new_der = subprocess.run(["openssl", "ec", "-in", str(new_pem), "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
ENROL = r'''
import base64, hashlib, json, struct, subprocess, sys
sys.path.insert(0, "/src/tests/broker")
import broker_wire as wire
from webauthn_cbor import cbor
socket, user, pw, key_pem, new_xy = sys.argv[1:6]
new_xy = bytes.fromhex(new_xy)
def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def client_data(typ, challenge):
    return json.dumps({"type": typ, "challenge": b64url(challenge), "origin": "https://sso.example.com",
                       "crossOrigin": False}, separators=(",", ":")).encode()
def go(prompt, **kw):
    return wire.exchange(wire.conversation_path(socket, prompt["conversation"]),
                         wire.frame(wire.continue_body(prompt["conversation"], "enrol-binding", prompt["step"],
                                                       address="127.0.0.1", **kw)))
first = wire.exchange(socket, wire.request(user, pw, address="127.0.0.1", binding="enrol-binding", enrol=True))
if "key" not in first:
    print(json.dumps({"first": {k: v for k, v in first.items() if isinstance(v, (str, int))}})); sys.exit(0)
cdj = client_data("webauthn.get", first["key"]["challenge"])
ad = hashlib.sha256(b"example.com").digest() + b"\x01" + struct.pack(">I", 2)
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_pem], input=ad + hashlib.sha256(cdj).digest(),
                     capture_output=True, check=True).stdout
reg = go(first, key=(b"scenario-key", cdj, ad, sig))
if "registration" not in reg:
    print(json.dumps({"after_key": {k: v for k, v in reg.items() if isinstance(v, (str, int))}})); sys.exit(0)
r = reg["registration"]
cose = cbor({1: 2, 3: -7, -1: 1, -2: new_xy[:32], -3: new_xy[32:]})
auth = (hashlib.sha256(r["rp_id"].encode()).digest() + bytes([0x45]) + struct.pack(">I", 0) + bytes(16)
        + struct.pack(">H", len(b"enrolled-key")) + b"enrolled-key" + cose)
done = go(reg, registration=(client_data("webauthn.create", r["challenge"]),
                             cbor({"fmt": "none", "attStmt": {}, "authData": auth}), b""))
print(json.dumps({"exclude": [i.decode() for i in r["exclude_ids"]], "keys": done.get("keys", []),
                  "done": {k: v for k, v in done.items() if isinstance(v, (str, int))}}))
'''
c = t.cursor()
enrolled = as_web_server(ENROL, str(key_pem), new_der[-64:].hex())
done = enrolled.get("done", {})
t.check(enrolled.get("exclude") == ["scenario-key"] and done.get("status") == "ok" and not done.get("token"),
        f"after the old key's step the broker takes the new key: ok, no token, the old key excluded ({enrolled})")
log = t.journal_wait("security key added", t.BROKER, since=c)
t.check("security key added: es256" in log, "the broker's line says the key was added (journal)")
authfile = key_dir / "authfile"
line = authfile.read_text()
t.check(line.count(":") == 2 and base64.b64encode(b"enrolled-key").decode() in line,
        f"the authfile holds both keys on the user's one pam_u2f line ({line.strip()})")
st = authfile.stat()
t.check(st.st_mode & 0o022 == 0, f"the rewritten authfile is writable by no one else ({oct(st.st_mode)})")
listed = t.run(["zendesk-sso", "keys", "list", user])
t.check(listed.returncode == 0 and len([l for l in listed.stdout.splitlines() if user in l]) == 2,
        f"zendesk-sso keys list {user} (root) shows the two keys ({listed.stdout} {listed.stderr})")
out = key_sign_in(new_pem, "enrolled-key", 1)
t.check(out.get("done", {}).get("status") == "ok" and out.get("done", {}).get("token")
        and sorted(out.get("ids", [])) == ["enrolled-key", "scenario-key"],
        f"the enrolled key signs in, offered beside the old one ({out})")
invite = t.run(["zendesk-sso", "keys", "invite", user])
inv = Path(str(authfile) + ".invites.json")
t.check(invite.returncode == 0 and inv.exists() and inv.stat().st_uid == key_dir.stat().st_uid,
        f"zendesk-sso keys invite (root) writes its file as the folder's owner ({invite.returncode}: "
        f"{invite.stderr.strip()})")
print(log, end="")
t.finish()
