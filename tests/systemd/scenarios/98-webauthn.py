# SPDX-License-Identifier: BSD-3-Clause
"""Security keys under the shipped unit (issue 23, slice 2): the
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
def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
first = wire.exchange(socket, wire.request(user, pw, address="127.0.0.1", binding="scenario-binding"))
if first.get("status") != "prompt" or "key" not in first:
    print(json.dumps({"first": {k: v for k, v in first.items() if isinstance(v, (str, int))}})); sys.exit(0)
challenge = first["key"]["challenge"]
cdj = json.dumps({"type": "webauthn.get", "challenge": b64url(challenge), "origin": "https://sso.example.com",
                  "crossOrigin": False}, separators=(",", ":")).encode()
ad = hashlib.sha256(b"example.com").digest() + b"\x01" + struct.pack(">I", 1)
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_pem], input=ad + hashlib.sha256(cdj).digest(),
                     capture_output=True, check=True).stdout
done = wire.exchange(wire.conversation_path(socket, first["conversation"]),
                     wire.frame(wire.continue_body(first["conversation"], "scenario-binding", first["step"],
                                                   address="127.0.0.1", key=(b"scenario-key", cdj, ad, sig))))
print(json.dumps({"ids": [i.decode() for i in first["key"]["credential_ids"]],
                  "done": {k: v for k, v in done.items() if isinstance(v, (str, int))}}))
'''


def key_sign_in():
    p = t.run(["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups", "--",
               "/usr/bin/python3", "-c", DRIVER, socket, user, pw, str(key_pem)])
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.note(f"driver said: {p.stdout[-500:]} {p.stderr[-1500:]}")
        return {}


# The shipped unit alone: the key verifies, the count cannot be kept.
c = t.cursor()
out = key_sign_in()
t.check(out.get("ids") == ["scenario-key"], f"the key step offers the key's credential id ({out})")
cause = out.get("done", {}).get("cause", "")
t.check(out.get("done", {}).get("status") == "unavailable" and "webauthn side file" in cause and "Read-only file system" in cause,
        f"without the drop-in the key sign-in is refused as unavailable: the count cannot be saved ({out.get('done')})")


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
print(log, end="")
t.finish()
