#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Our WebAuthn core against python3-fido2's Fido2Server (Debian 12: 0.9.1),
both ways, on the same ceremonies:

  1. ceremonies our software authenticator built (tool `make`): Python's
     verdict and ours (tool `verify`) must both be the one each was built for;
  2. ceremonies Python builds (cryptography keys, fido2's CBOR and
     AuthenticatorData/AttestationObject encoders): our verdict must be
     Python's.

Sign counts: Fido2Server leaves them to the relying party, so for the
lowered/repeated count cases Python accepts and we refuse (sign_count); the
test checks exactly that split.

Run by ctest as: /usr/bin/python3 webauthn_interop.py PATH/TO/zsso_webauthn_interop_tool
"""
import hashlib
import json
import os
import subprocess
import sys
import unittest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2 import cbor
from fido2.attestation import NoneAttestation, PackedAttestation
from fido2.client import ClientData
from fido2.cose import CoseKey, ES256, EdDSA, RS256
from fido2.ctap2 import AttestationObject, AttestedCredentialData, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import PublicKeyCredentialRpEntity, UserVerificationRequirement

TOOL = None
RP_ID = "example.com"
ORIGIN = "https://login.example.com"
UP, UV, AT = 0x01, 0x04, 0x40


def verify_attestation(attestation_object, client_data_hash):
    """Formats 'none' and 'packed' (self and x5c, no trust anchors), like ours."""
    kind = {"none": NoneAttestation, "packed": PackedAttestation}.get(attestation_object.fmt)
    if kind is None:
        raise ValueError("unsupported attestation format")
    kind().verify(attestation_object.att_statement, attestation_object.auth_data, client_data_hash)


def python_verdict(case):
    """None when Fido2Server accepts, else the exception's text."""
    server = Fido2Server(
        PublicKeyCredentialRpEntity(case["rp_id"], "Test"),
        attestation="direct",
        verify_origin=lambda origin: origin in case["origins"],
        verify_attestation=verify_attestation,
    )
    state = {
        "challenge": case["challenge"],
        "user_verification": UserVerificationRequirement.REQUIRED if case["require_uv"]
        else UserVerificationRequirement.PREFERRED,
    }
    client_data = ClientData(websafe_decode(case["client_data"]))
    try:
        if case["kind"] == "register":
            server.register_complete(state, client_data, AttestationObject(websafe_decode(case["attestation_object"])))
        else:
            public_key = CoseKey.parse(cbor.decode(websafe_decode(case["public_key_cose"])))
            credential_id = websafe_decode(case["credential_id"])
            credential = AttestedCredentialData.create(b"\0" * 16, credential_id, public_key)
            server.authenticate_complete(
                state, [credential], credential_id, client_data,
                AuthenticatorData(websafe_decode(case["authenticator_data"])),
                websafe_decode(case["signature"]))
    except Exception as e:  # every refusal Fido2Server raises
        return f"{type(e).__name__}: {e}" or "refused"
    return None


def our_verdicts(cases):
    out = subprocess.run([TOOL, "verify"], input="".join(json.dumps(c) + "\n" for c in cases),
                         capture_output=True, text=True, check=True)
    verdicts = out.stdout.split()
    assert len(verdicts) == len(cases), out.stderr
    return verdicts


def b64(raw):
    return websafe_encode(raw)


class PythonAuthenticator:
    """Builds ceremonies with python-fido2's own encoders."""

    def __init__(self, alg):
        self.alg = alg
        if alg == "es256":
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.cose = ES256.from_cryptography_key(self.key.public_key())
        elif alg == "eddsa":
            self.key = ed25519.Ed25519PrivateKey.generate()
            self.cose = EdDSA.from_cryptography_key(self.key.public_key())
        else:
            self.key = rsa.generate_private_key(65537, 2048)
            self.cose = RS256.from_cryptography_key(self.key.public_key())
        self.credential_id = os.urandom(32)

    def sign(self, message):
        if self.alg == "es256":
            return self.key.sign(message, ec.ECDSA(hashes.SHA256()))
        if self.alg == "eddsa":
            return self.key.sign(message)
        return self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def case(self, kind, name, expect, flags, counter=1, stored=0, rp_id=RP_ID, origin=ORIGIN,
             type_=None, require_uv=False, wrong_challenge=False, fmt="none", tamper=False):
        challenge = os.urandom(32)
        type_ = type_ or ("webauthn.create" if kind == "register" else "webauthn.get")
        sent = challenge + b"x" if wrong_challenge else challenge
        client_data = ClientData.build(type=type_, challenge=b64(sent), origin=origin, crossOrigin=False)
        rp_hash = hashlib.sha256(rp_id.encode()).digest()
        case = {"kind": kind, "name": f"python {self.alg} {name}", "expect": expect, "rp_id": RP_ID,
                "origins": [ORIGIN], "require_uv": require_uv, "challenge": b64(challenge),
                "client_data": b64(bytes(client_data))}
        if kind == "register":
            cred = AttestedCredentialData.create(b"\x11" * 16, self.credential_id, self.cose)
            auth_data = AuthenticatorData.create(rp_hash, flags | AT, 0, cred)
            if fmt == "none":
                stmt = {}
            else:
                sig = self.sign(auth_data + client_data.hash)
                if tamper:
                    sig = sig[:-1] + bytes([sig[-1] ^ 1])
                stmt = {"alg": self.cose.ALGORITHM, "sig": sig}
            # with_string_keys: the WebAuthn form browsers send (create() gives CTAP2 integer keys).
            case["attestation_object"] = b64(AttestationObject.create(fmt, auth_data, stmt).with_string_keys())
        else:
            auth_data = AuthenticatorData.create(rp_hash, flags, counter)
            sig = self.sign(auth_data + client_data.hash)
            if tamper:
                sig = sig[:-1] + bytes([sig[-1] ^ 1])
            case.update({"credential_id": b64(self.credential_id), "public_key_cose": b64(cbor.encode(self.cose)),
                         "stored_count": stored, "authenticator_data": b64(auth_data), "signature": b64(sig)})
        return case


def python_cases():
    cases = []
    for alg in ("es256", "eddsa", "rs256"):
        a = PythonAuthenticator(alg)
        cases += [
            a.case("register", "none", "ok", UP),
            a.case("register", "packed self", "ok", UP | UV, fmt="packed", require_uv=True),
            a.case("register", "packed self, bad signature", "attestation", UP, fmt="packed", tamper=True),
            a.case("register", "wrong rp id", "rp_id", UP, rp_id="evil.example.net"),
            a.case("register", "wrong origin", "origin", UP, origin="https://evil.example.net"),
            a.case("register", "wrong challenge", "challenge", UP, wrong_challenge=True),
            a.case("register", "no user presence", "user_presence", 0),
            a.case("register", "no user verification when required", "user_verification", UP, require_uv=True),
            a.case("authenticate", "assertion", "ok", UP, counter=9, stored=8),
            a.case("authenticate", "assertion with uv required", "ok", UP | UV, require_uv=True),
            a.case("authenticate", "wrong type", "type", UP, type_="webauthn.create"),
            a.case("authenticate", "wrong rp id", "rp_id", UP, rp_id="evil.example.net"),
            a.case("authenticate", "wrong challenge", "challenge", UP, wrong_challenge=True),
            a.case("authenticate", "no user presence", "user_presence", UV),
            a.case("authenticate", "no user verification when required", "user_verification", UP, require_uv=True),
            a.case("authenticate", "bad signature", "signature", UP, tamper=True),
            a.case("authenticate", "lowered sign count", "sign_count", UP, counter=7, stored=8),
        ]
    return cases


class Interop(unittest.TestCase):
    def check(self, cases):
        ours = our_verdicts(cases)
        self.assertGreater(len(cases), 20)
        for case, mine in zip(cases, ours):
            with self.subTest(case["name"]):
                theirs = python_verdict(case)
                self.assertEqual(mine, case["expect"], f"ours: {mine}")
                if case["expect"] == "sign_count":
                    # Fido2Server does not keep counts; its other checks pass.
                    self.assertIsNone(theirs)
                elif case["expect"] == "ok":
                    self.assertIsNone(theirs)
                else:
                    self.assertIsNotNone(theirs, "python-fido2 accepted what we refuse")

    def test_ours_through_python_fido2(self):
        made = subprocess.run([TOOL, "make"], capture_output=True, text=True, check=True).stdout
        self.check([json.loads(line) for line in made.splitlines() if line])

    def test_python_fido2s_through_ours(self):
        self.check(python_cases())


if __name__ == "__main__":
    TOOL = sys.argv.pop(1)
    unittest.main(verbosity=1)
