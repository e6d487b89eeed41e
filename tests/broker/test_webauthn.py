#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Security keys as a second factor in the broker's conversation (issue 23,
slice 2): the real zendesk-sso-authd in test_broker.py's pam_wrapper
sandbox, driven over its sockets by broker_wire.py, with the shipped
examples/pam.d/zendesk-sso-webauthn stack (pam_matrix standing in for
pam_unix, pam_faillock's tallies in the sandbox) and a software ES256
authenticator written here with python3-cryptography: its own keys, its own
clientDataJSON and authenticatorData, signatures the broker checks with
libfido2. Key holders skip the one-time code and prove the key; others get
pam_oath's code as before; without a webauthn section nothing changes."""

import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_broker import wait_for  # noqa: E402
from test_conversation import OATH_PROMPT, OathWorld, broker_counts, totp  # noqa: E402
import broker_wire as wire  # noqa: E402
from webauthn_cbor import cbor  # noqa: E402

SOURCE = Path(os.environ["ZSSO_SOURCE_DIR"])
RP_ID = "example.com"
ORIGIN = "https://sso.example.com"
BINDING = "webauthn-test-binding"


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sha256(data):
    return hashlib.sha256(data).digest()


class SoftKey:
    """An ES256 authenticator: a P-256 key, a credential id, a sign count."""

    def __init__(self, credential_id):
        self.credential_id = credential_id
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.count = 0

    def authfile_part(self, resident=False):
        """KeyHandle,UserKey,CoseType,Options as pamu2fcfg writes them (raw x||y key);
        resident: "*" for the handle, as `pamu2fcfg -r` writes a discoverable key."""
        n = self.private.public_key().public_numbers()
        raw = n.x.to_bytes(32, "big") + n.y.to_bytes(32, "big")
        return f"{'*' if resident else b64(self.credential_id)},{b64(raw)},es256,+presence"

    def registration(self, challenge, origin=ORIGIN, rp_id=RP_ID, fmt="none", flags=0x45,
                     typ="webauthn.create", aaguid=bytes(16), maker=None):
        """(clientDataJSON, attestationObject) as navigator.credentials.create() returns them:
        format "none", or "packed": self attestation signed with the credential's own key, or,
        with maker (an AttestationMaker), an x5c statement signed by the maker's certified key."""
        n = self.private.public_key().public_numbers()
        cose = cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})
        client_data = json.dumps({"type": typ, "challenge": b64url(challenge), "origin": origin,
                                  "crossOrigin": False}, separators=(",", ":")).encode()
        auth_data = (sha256(rp_id.encode()) + bytes([flags]) + struct.pack(">I", self.count) + aaguid
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose)
        statement = {}
        if fmt == "packed" and maker:
            statement = {"alg": -7, "sig": maker.private.sign(auth_data + sha256(client_data),
                                                              ec.ECDSA(hashes.SHA256())), "x5c": [maker.cert_der]}
        elif fmt == "packed":
            sig = self.private.sign(auth_data + sha256(client_data), ec.ECDSA(hashes.SHA256()))
            statement = {"alg": -7, "sig": sig}
        return client_data, cbor({"fmt": fmt, "attStmt": statement, "authData": auth_data})

    def assertion(self, challenge, origin=ORIGIN, rp_id=RP_ID, count=None, flags=0x05):
        """(credential id, clientDataJSON, authenticatorData, signature) as the browser returns them."""
        if count is None:
            self.count += 1
            count = self.count
        client_data = json.dumps({"type": "webauthn.get", "challenge": b64url(challenge), "origin": origin,
                                  "crossOrigin": False}, separators=(",", ":")).encode()
        auth_data = sha256(rp_id.encode()) + bytes([flags]) + struct.pack(">I", count)
        signature = self.private.sign(auth_data + sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return (self.credential_id, client_data, auth_data, signature)


class AttestationMaker:
    """A key maker's attestation key and its certificate (WebAuthn §8.2.1: version 3, OU
    "Authenticator Attestation", not a CA), naming aaguid in id-fido-gen-ce-aaguid."""

    def __init__(self, aaguid):
        import datetime
        from cryptography import x509
        from cryptography.x509.oid import NameOID
        self.private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Maker"),
                          x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Test Key")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.private.public_key()).serial_number(1)
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(hours=1))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"),
                                                          b"\x04\x10" + aaguid), critical=False)
                .sign(self.private, hashes.SHA256()))
        from cryptography.hazmat.primitives.serialization import Encoding
        self.cert_der = cert.public_bytes(Encoding.DER)


def example_stack():
    """examples/pam.d/zendesk-sso-webauthn with the sandbox's stand-ins."""
    lines = [l for l in (SOURCE / "examples" / "pam.d" / "zendesk-sso-webauthn").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    text = "\n".join(lines) + "\n"
    text = re.sub(r"pam_unix\.so\S*( \S+)*$", "{matrix} passdb={passdb}", text, flags=re.M)
    text = text.replace("pam_zendesk.so", "{module} config={config}")
    text = re.sub(r" dir=/\S+", " dir={dir}/faillock", text)
    text = re.sub(r"usersfile=\S+", "usersfile={dir}/oath.users", text)
    text = re.sub(r"(?<![/\w])(pam_deny|pam_faillock|pam_exec|pam_oath)\.so", r"{sysdir}/\1.so", text)
    assert "pam_exec.so quiet /usr/bin/printenv ZSSO_WEBAUTHN" in text, text
    return text


class KeyWorld(OathWorld):
    """The sandbox with the webauthn stack; alice has a key, bob has none (both in staff)."""

    def __init__(self, test, webauthn=True, required_groups=None):
        super().__init__(test, stack=None, users=())
        self.sb.add_user("bob", 1003, gecos="Bob", password="builder", groups=["staff"])
        self.add_oath_user("bob")
        os.makedirs(self.sb.dir / "faillock", exist_ok=True)
        self.set_stack(example_stack())
        self.key_dir = self.sb.dir / "webauthn"
        self.key_dir.mkdir(mode=0o700)
        self.authfile = self.key_dir / "authfile"
        self.side_file = self.key_dir / "authfile.json"
        self.alice_key = SoftKey(b"alice-key-1")
        self.write_authfile({"alice": [self.alice_key]})
        config = json.loads(Path(self.sb.config_path).read_text())
        config["metrics"] = {"enabled": True, "cgi_file": ""}   # the broker counts each decision's way
        # These tests run one account's (and one address's) sign-ins back to
        # back. A finished child keeps its share until the listener reaps it,
        # and under the sanitizers its exit (the leak check) can outlast the
        # next sign-ins: the default shares (2 conversations per account, 4 per
        # address, 6 sign-ins per address; test_conversation's and
        # test_broker's to test) would then refuse one as "limited" by chance.
        config.setdefault("broker", {}).update({"max_conversations_per_account": 32,
                                                "max_conversations_per_address": 32, "max_sign_ins_per_address": 32})
        if webauthn:
            config["webauthn"] = {"rp_id": RP_ID, "origins": [ORIGIN], "authfile": str(self.authfile)}
            if required_groups:
                config["webauthn"]["required_groups"] = required_groups
        self.sb.write_config(config)

    def write_authfile(self, keys):
        self.authfile.write_text("".join(f"{user}:" + ":".join(k.authfile_part() for k in ks) + "\n"
                                         for user, ks in keys.items()))
        os.chmod(self.authfile, 0o600)

    def start_sign_in(self, user, password, request_id=None):
        return wire.exchange(self.socket, wire.request(user, password, binding=BINDING, request_id=request_id))

    def answer_key(self, prompt, assertion):
        return wire.exchange(wire.conversation_path(self.socket, prompt["conversation"]),
                             wire.frame(wire.continue_body(prompt["conversation"], BINDING, prompt["step"],
                                                           key=assertion)))

    def answer_code(self, prompt, code):
        return wire.exchange(wire.conversation_path(self.socket, prompt["conversation"]),
                             wire.frame(wire.continue_body(prompt["conversation"], BINDING, prompt["step"], [code])))

    def decision(self, user):
        """The broker's decision line for user (the last one)."""
        lines = [l for l in self.log_text().splitlines() if f'user "{user}" from 10.1.2.3: ' in l and "outcome=" in l]
        return lines[-1] if lines else ""


class KeyTestCase(unittest.TestCase):
    world_kw = {}

    def setUp(self):
        self.w = KeyWorld(self, **self.world_kw).start()
        self.addCleanup(self.w.stop)

    def key_prompt(self, user="alice", password="wonderland"):
        resp = self.w.start_sign_in(user, password)
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertIn("key", resp, "a key step, not a code")
        self.assertEqual([m for m in resp["messages"] if m[0] in ("echo_on", "echo_off")], [])
        return resp

    def assert_refused(self, resp, cause):
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIsNone(resp["token"])
        self.assertIn(cause, resp.get("cause", ""))
        line = self.w.decision("alice")
        self.assertIn("way=key outcome=bad_login", line)
        self.assertIn(cause, line)
        self.assertEqual(broker_counts(self.w.socket).get(("key", "bad_login")), 1)


class KeySignIn(KeyTestCase):
    def test_the_right_key_signs_in_without_a_code(self):
        prompt = self.key_prompt()
        key = prompt["key"]
        self.assertEqual(key["rp_id"], RP_ID)
        self.assertEqual(key["user_verification"], "preferred")
        self.assertEqual(key["credential_ids"], [b"alice-key-1"])
        self.assertEqual(len(key["challenge"]), 32)
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(key["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.w.claims(resp["token"])["email"], "alice@acme.test")
        self.assertEqual(resp["user"], "alice")
        # Counted as its own way (issue 24): the decision came at the key's step.
        self.assertIn("way=key outcome=signed_in", self.w.decision("alice"))
        self.assertEqual(broker_counts(self.w.socket), {("key", "signed_in"): 1})
        self.assertIn("asked for a security key (1 credential(s))", self.w.log_text())
        self.assertNotIn("asked 1 prompt", self.w.log_text(), "no one-time code for a key holder")
        # The new sign count is kept, for the next sign-in's clone check.
        side = json.loads(self.w.side_file.read_text())
        self.assertEqual([(r["user"], r["sign_count"]) for r in side["credentials"].values()], [("alice", 1)])

    def test_each_sign_in_gets_a_fresh_challenge(self):
        first = self.key_prompt()
        second = self.key_prompt()
        self.assertNotEqual(first["key"]["challenge"], second["key"]["challenge"])
        for prompt in (first, second):
            resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))
            self.assertEqual(resp["status"], "ok", resp)

    def test_a_person_without_a_key_gets_the_code_as_before(self):
        resp = self.w.start_sign_in("bob", "builder")
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertNotIn("key", resp)
        self.assertEqual(resp["messages"][-1], ("echo_off", OATH_PROMPT.format(user="bob")))
        done = self.w.answer_code(resp, totp(self.w.keys["bob"]))
        self.assertEqual(done["status"], "ok", done)

    def test_a_wrong_password_asks_for_no_key(self):
        resp = self.w.start_sign_in("alice", "not-it")
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertNotIn("asked for a security key", self.w.log_text())
        # Decided at the password: that way's count, not the key's.
        self.assertIn("way=password outcome=bad_login", self.w.decision("alice"))
        self.assertEqual(broker_counts(self.w.socket), {("password", "bad_login"): 1})

    def test_a_discoverable_key_enrolled_with_pamu2fcfg_r(self):
        # A "*" handle: no id to offer, the browser picks the key; its signature decides.
        resident = SoftKey(b"chosen-by-the-authenticator")
        self.w.authfile.write_text(f"alice:{self.w.alice_key.authfile_part()}:{resident.authfile_part(resident=True)}\n")
        prompt = self.key_prompt()
        self.assertEqual(prompt["key"]["credential_ids"], [b"alice-key-1"])
        resp = self.w.answer_key(prompt, resident.assertion(prompt["key"]["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)
        # A stranger's key is still nobody's.
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, SoftKey(b"other").assertion(prompt["key"]["challenge"]))
        self.assert_refused(resp, "security key refused (signature)")

    def test_a_store_others_may_write_proves_nothing(self):
        os.chmod(self.w.authfile, 0o666)
        resp = self.w.start_sign_in("alice", "wonderland")
        # Not a key holder as far as the stack knows: the code is asked ...
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertNotIn("key", resp)
        # ... and after it the sign-in fails closed, saying why.
        done = self.w.answer_code(resp, totp(self.w.keys["alice"]))
        self.assertEqual(done["status"], "unavailable", done)
        self.assertIn("webauthn.authfile", done["cause"])
        self.assertIn("no key can be proven", done["cause"])

    def test_a_code_is_no_answer_to_a_key_step(self):
        prompt = self.key_prompt()
        resp = self.w.answer_code(prompt, totp(self.w.keys["alice"]))
        self.assertEqual((resp["status"], resp["detail"]), ("error", "conversation"), resp)
        # The step is still open: the key answers it.
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)


class KeyRefusals(KeyTestCase):
    def test_wrong_challenge(self):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(b"\x00" * 32))
        self.assert_refused(resp, "security key refused (challenge)")

    def test_wrong_origin(self):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"],
                                                                   origin="https://sso.example.com.evil.test"))
        self.assert_refused(resp, "security key refused (origin)")

    def test_wrong_rp_id(self):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"], rp_id="evil.test"))
        self.assert_refused(resp, "security key refused (rp_id)")

    def test_replayed_assertion_from_an_earlier_sign_in(self):
        first = self.key_prompt()
        used = self.w.alice_key.assertion(first["key"]["challenge"])
        self.assertEqual(self.w.answer_key(first, used)["status"], "ok")
        # The same bytes again, to a new conversation: its challenge is new.
        second = self.key_prompt()
        self.assert_refused(self.w.answer_key(second, used), "security key refused (challenge)")
        # And to the finished conversation: it is gone.
        path = wire.conversation_path(self.w.socket, first["conversation"])
        wait_for(lambda: not os.path.exists(path), "the first conversation's socket to go")

    def test_lower_sign_count_is_a_possible_clone(self):
        prompt = self.key_prompt()
        self.w.alice_key.count = 10
        self.assertEqual(self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))["status"],
                         "ok")
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"], count=5))
        self.assert_refused(resp, "security key refused (sign_count)")
        self.assertIn("possible cloned key", self.w.log_text())
        self.assertNotIn("possible cloned key; possible cloned key", self.w.log_text())
        # The stored count stays where the real key left it.
        side = json.loads(self.w.side_file.read_text())
        self.assertEqual([r["sign_count"] for r in side["credentials"].values()], [11])

    def test_unknown_credential(self):
        prompt = self.key_prompt()
        stranger = SoftKey(b"someone-else")
        resp = self.w.answer_key(prompt, stranger.assertion(prompt["key"]["challenge"]))
        self.assert_refused(resp, "security key refused (unknown credential)")

    def test_another_key_under_alices_credential_id(self):
        prompt = self.key_prompt()
        forged = SoftKey(b"alice-key-1")   # the id is public; the key is not
        resp = self.w.answer_key(prompt, forged.assertion(prompt["key"]["challenge"]))
        self.assert_refused(resp, "security key refused (signature)")

    def test_user_presence_is_required(self):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"], flags=0x00))
        self.assert_refused(resp, "security key refused (user_presence)")


class RequiredGroups(KeyTestCase):
    world_kw = {"required_groups": ["staff"]}

    def test_a_member_without_a_key_is_refused_with_a_clear_reason(self):
        resp = self.w.start_sign_in("bob", "builder")
        self.assertEqual((resp["status"], resp["detail"]), ("not_allowed", "key_required"), resp)
        self.assertIn("webauthn.required_groups", resp["cause"])
        line = self.w.decision("bob")
        self.assertIn("outcome=not_allowed", line)
        self.assertIn('a member of "staff" (webauthn.required_groups) without a security key', line)
        self.assertNotIn("asked 1 prompt", self.w.log_text(), "a required key is never replaced by a code")

    def test_a_member_without_a_key_and_a_wrong_password_learns_nothing(self):
        resp = self.w.start_sign_in("bob", "not-it")
        self.assertEqual((resp["status"], resp["detail"]), ("bad_login", "pam"), resp)

    def test_a_member_with_a_key_signs_in_with_it(self):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)


class TwoBrokers(unittest.TestCase):
    """Several web hosts behind a balancer (issue 23, point 6): two brokers,
    each with its own socket, config and PAM sandbox, read one store in a
    shared folder (as an NFS mount or a synced folder would be), the side
    file and its flock included. A key signs in through either with the
    next count; an assertion one broker accepted is refused by the other;
    a challenge lives in the broker child that issued it."""

    def setUp(self):
        self.one = KeyWorld(self)
        self.two = KeyWorld(self)
        config = json.loads(Path(self.two.sb.config_path).read_text())
        config["webauthn"]["authfile"] = str(self.one.authfile)
        self.two.sb.write_config(config)
        self.two.authfile, self.two.side_file = self.one.authfile, self.one.side_file
        self.key = self.one.alice_key
        for w in (self.one, self.two):
            w.start()
            self.addCleanup(w.stop)

    def prompt(self, w):
        resp = w.start_sign_in("alice", "wonderland")
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertIn("key", resp, "both brokers see alice's key in the shared authfile")
        return resp

    def stored_count(self):
        side = json.loads(self.one.side_file.read_text())
        return [r["sign_count"] for r in side["credentials"].values()]

    def test_a_key_signs_in_through_either_broker_with_the_next_count(self):
        for w, count in ((self.one, 1), (self.two, 2), (self.one, 3)):
            prompt = self.prompt(w)
            resp = w.answer_key(prompt, self.key.assertion(prompt["key"]["challenge"]))
            self.assertEqual(resp["status"], "ok", resp)
            self.assertEqual(self.stored_count(), [count], "one side file, written by whichever broker signed in")

    def test_an_assertion_one_broker_accepted_is_refused_by_the_other(self):
        first = self.prompt(self.one)
        accepted = self.key.assertion(first["key"]["challenge"])
        self.assertEqual(self.one.answer_key(first, accepted)["status"], "ok")
        # The same bytes to the other broker: its conversation issued another challenge.
        second = self.prompt(self.two)
        resp = self.two.answer_key(second, accepted)
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn("security key refused (challenge)", resp["cause"])
        # A clone that signs the other broker's challenge with the count broker 1
        # already accepted: the shared side file carries that count.
        third = self.prompt(self.two)
        resp = self.two.answer_key(third, self.key.assertion(third["key"]["challenge"], count=1))
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn("security key refused (sign_count)", resp["cause"])
        self.assertIn("possible cloned key", self.two.log_text())
        self.assertEqual(self.stored_count(), [1])

    def test_a_copy_without_the_side_file_lets_a_stale_count_through(self):
        # The caveat the admin guide states: a sync that copies the authfile but
        # not the side file leaves each host its own counts.
        three = KeyWorld(self)
        three.authfile.write_text(self.one.authfile.read_text())
        three.start()
        self.addCleanup(three.stop)
        prompt = self.prompt(self.one)
        self.key.count = 5
        self.assertEqual(self.one.answer_key(prompt, self.key.assertion(prompt["key"]["challenge"]))["status"], "ok")
        prompt = self.prompt(three)
        resp = three.answer_key(prompt, self.key.assertion(prompt["key"]["challenge"], count=2))
        self.assertEqual(resp["status"], "ok", "three's own side file never saw count 6")

    def test_a_challenge_is_bound_to_its_broker_and_conversation(self):
        at_one, at_two = self.prompt(self.one), self.prompt(self.two)
        answer = self.key.assertion(at_one["key"]["challenge"])
        # Broker 1's conversation does not exist at broker 2 (no sticky session: the CGI says "expired").
        with self.assertRaises((FileNotFoundError, ConnectionRefusedError)):
            self.two.answer_key(at_one, answer)
        # Broker 2's conversation takes no answer to broker 1's challenge.
        resp = self.two.answer_key(at_two, self.key.assertion(at_one["key"]["challenge"]))
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn("security key refused (challenge)", resp["cause"])
        # Broker 1's conversation still takes it.
        self.assertEqual(self.one.answer_key(at_one, answer)["status"], "ok")


class KeySessions(KeyTestCase):
    """A session a key sign-in made is bound to that key too (issue 23,
    point 3): `zendesk-sso keys remove` ends it at its next use, another
    key's removal does not, and a password sign-in's session is not bound
    to any key."""

    def setUp(self):
        self.w = KeyWorld(self)
        self.addCleanup(self.w.stop)
        self.second_key = SoftKey(b"alice-key-2")
        self.w.write_authfile({"alice": [self.w.alice_key, self.second_key]})
        key_file = self.w.sb.dir / "session-key"
        key_file.write_text(b64url(os.urandom(32)) + "\n")
        os.chmod(key_file, 0o600)
        config = json.loads(Path(self.w.sb.config_path).read_text())
        config["session"] = {"key_file": str(key_file)}
        self.w.sb.write_config(config)
        self.w.start()

    def key_session(self, key):
        prompt = self.key_prompt()
        resp = self.w.answer_key(prompt, key.assertion(prompt["key"]["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)
        self.assertIn("session", resp)
        return resp["session"]

    def from_session(self, cookie):
        return wire.exchange(self.w.socket, wire.frame(wire.session_body(cookie)))

    def keys(self, *args):
        p = subprocess.run([os.environ["ZSSO_CLI"], "--config", str(self.w.sb.config_path), "keys", *args],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_removing_the_key_ends_the_sessions_it_made(self):
        cookie = self.key_session(self.w.alice_key)
        self.assertEqual(cookie.split(".")[6][0], "k", "bound to the key")
        again = self.from_session(cookie)
        self.assertEqual(again["status"], "ok", again)
        self.assertEqual(self.w.claims(again["token"])["email"], "alice@acme.test")
        refreshed = again["session"]
        self.assertEqual(refreshed.split(".")[6], cookie.split(".")[6], "a refreshed cookie stays bound to the key")

        # The other key's removal leaves this session alone.
        self.keys("remove", "alice", b64url(self.second_key.credential_id))
        self.assertEqual(self.from_session(refreshed)["status"], "ok")

        # zendesk-sso keys remove, with the id as keys list prints it.
        listed = self.keys("list", "alice").splitlines()
        self.assertEqual(len(listed), 2, listed)
        self.keys("remove", "alice", listed[1].split()[1])
        for value in (cookie, refreshed):
            gone = self.from_session(value)
            self.assertEqual(gone["status"], "bad_login", gone)
            self.assertIsNone(gone["token"])
            self.assertIn("the security key that made it is gone", gone.get("cause", ""))

    def test_a_session_made_by_one_key_is_not_held_by_another(self):
        cookie = self.key_session(self.second_key)
        self.keys("remove", "alice", b64url(self.second_key.credential_id))
        # alice still has a key (her first), but not the one that made this session.
        self.assertEqual(self.from_session(cookie)["status"], "bad_login")

    def test_a_store_that_cannot_be_read_refuses_key_sessions(self):
        cookie = self.key_session(self.w.alice_key)
        os.chmod(self.w.authfile, 0o620)
        self.assertEqual(self.from_session(cookie)["status"], "bad_login")
        self.assertIn("a session a security key made cannot be checked", self.w.log_text())
        os.chmod(self.w.authfile, 0o600)
        self.assertEqual(self.from_session(cookie)["status"], "ok")

    def test_a_password_sign_ins_session_is_bound_to_no_key(self):
        resp = self.w.start_sign_in("bob", "builder")
        done = self.w.answer_code(resp, totp(self.w.keys["bob"]))
        self.assertEqual(done["status"], "ok", done)
        self.assertNotEqual(done["session"].split(".")[6][0], "k")
        self.assertEqual(self.from_session(done["session"])["status"], "ok")


class DirectMode(unittest.TestCase):
    """PAM inside the client cannot hold the key step: with a webauthn
    section a password sign-in there is refused before the password is
    checked, never let through on the password alone."""

    def test_direct_mode_refuses_instead_of_skipping_the_key(self):
        w = KeyWorld(self)
        w.set_stack(w.sb.standard_stack())   # the password alone: only the key step stands in the way
        p = subprocess.run([w.tool, "--config", str(w.sb.config_path), "--user", "alice", "--direct",
                            "--address", "10.1.2.3"], input="wonderland\n", capture_output=True,
                           text=True, env=w.env(), timeout=60)
        out = json.loads(p.stdout)
        self.assertEqual((out["status"], out["token"]), ("unavailable", ""), out)
        self.assertIn("security keys need zendesk-sso-authd", out["detail"])


class WithoutWebauthn(KeyTestCase):
    """No webauthn section: the same stack and authfile, and today's sign-in."""
    world_kw = {"webauthn": False}

    def test_a_key_holder_gets_the_code_and_no_key_step(self):
        resp = self.w.start_sign_in("alice", "wonderland")
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertNotIn("key", resp)
        self.assertEqual(resp["messages"], [("echo_off", OATH_PROMPT.format(user="alice"))])
        done = self.w.answer_code(resp, totp(self.w.keys["alice"]))
        self.assertEqual(done["status"], "ok", done)
        self.assertFalse(self.w.side_file.exists())
        self.assertNotIn("security key", self.w.log_text())


if __name__ == "__main__":
    unittest.main()
