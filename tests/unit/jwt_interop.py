#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Our HS256 tokens against PyJWT (Debian's python3-jwt), both ways.

Run by ctest as: /usr/bin/python3 jwt_interop.py PATH/TO/zsso_jwt_interop_tool
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import jwt  # python3-jwt; a missing module fails the test, as it should

TOOL = None
SECRET = b"k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgYh"   # 48 alphanumerics, like Zendesk's
LONG_SECRET = bytes(range(0x21, 0x7f)) * 2                     # longer than SHA-256's 64-byte block

EXPECTED_MINT = {
    "email": "zoe@acme.com",
    "name": "Zoë Ñandú 李",
    "external_id": "1001",
    "organization": "Acme {EU}",
    "organizations": "Acme,Acme Labs",
    "organization_ids": "11,22",
    "tags": ["intranet", "staff"],
    "role": "agent",
    "custom_role_id": 77,
    "locale": 8,
    "locale_id": 1176,
    "phone": "+15551001",
    "remote_photo_url": "https://photos.acme.com/zoe.jpg",
    "user_fields": {"login": "zoe", "level": 3, "vip": True, "cleared": None, "langs": ["en", "de"]},
}


def b64d(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64e(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_same_json(test, got, want, path="$"):
    """Equal values AND equal JSON types (Python says True == 1; Zendesk does not)."""
    test.assertIs(type(got), type(want), f"{path}: {got!r} vs {want!r}")
    if isinstance(want, dict):
        test.assertEqual(list(got.keys()), list(want.keys()), path)
        for k in want:
            assert_same_json(test, got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        test.assertEqual(len(got), len(want), path)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_json(test, g, w, f"{path}[{i}]")
    else:
        test.assertEqual(got, want, path)


class Interop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="zsso-interop-")
        cls.secret_file = cls.write_secret("secret", SECRET + b"\n")
        cls.long_secret_file = cls.write_secret("long", LONG_SECRET)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    @classmethod
    def write_secret(cls, name, content):
        path = os.path.join(cls.dir.name, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(path, 0o600)
        return path

    def tool(self, *args, ok=True):
        r = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=30)
        if ok:
            self.assertEqual(r.returncode, 0, f"{args[0]} failed: {r.stderr}")
        return r

    def mint(self, secret_file=None):
        return self.tool("mint", secret_file or self.secret_file).stdout.strip()

    # --- ours, checked by PyJWT -------------------------------------------------

    def test_header_is_exactly_typ_jwt_alg_hs256(self):
        token = self.mint()
        self.assertEqual(b64d(token.split(".")[0]), b'{"typ":"JWT","alg":"HS256"}')
        self.assertEqual(jwt.get_unverified_header(token), {"typ": "JWT", "alg": "HS256"})

    def test_pyjwt_verifies_signature_and_every_claim(self):
        before = int(time.time())
        token = self.mint()
        after = int(time.time())
        claims = jwt.decode(token, SECRET, algorithms=["HS256"],
                            options={"require": ["iat", "jti", "email", "name"]})
        iat = claims.pop("iat")
        self.assertIs(type(iat), int)
        self.assertTrue(before <= iat <= after, (before, iat, after))
        jti = claims.pop("jti")
        self.assertEqual(len(jti), 22)
        self.assertEqual(len(b64d(jti)), 16)
        self.assertEqual(b64e(b64d(jti)), jti)
        assert_same_json(self, claims, EXPECTED_MINT)

    def test_signature_matches_python_hmac(self):
        token = self.mint()
        signing_input, _, sig = token.rpartition(".")
        want = hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest()
        self.assertEqual(b64d(sig), want)
        self.assertEqual(sig, b64e(want))

    def test_payload_is_raw_utf8_json(self):
        payload = b64d(self.mint().split(".")[1])
        self.assertIn("Zoë Ñandú 李".encode(), payload)
        json.loads(payload.decode("utf-8"))

    def test_long_secret_agrees(self):
        token = self.mint(self.long_secret_file)
        jwt.decode(token, LONG_SECRET, algorithms=["HS256"])
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(token, SECRET, algorithms=["HS256"])

    def test_pyjwt_rejects_wrong_secret(self):
        token = self.mint()
        for wrong in (SECRET[:-1], SECRET + b"x", SECRET.lower(), b"secret"):
            with self.assertRaises(jwt.InvalidSignatureError):
                jwt.decode(token, wrong, algorithms=["HS256"])

    def test_pyjwt_rejects_every_tampered_byte(self):
        # Bits flipped in the decoded bytes and re-encoded, so PyJWT's lenient
        # base64 decoding cannot map the change back to the original.
        token = self.mint()
        segments = token.split(".")
        rejected = 0
        for s, seg in enumerate(segments):
            raw = bytearray(b64d(seg))
            for i in range(len(raw)):
                bad = bytearray(raw)
                bad[i] ^= 0x01 if i % 2 else 0x40
                parts = list(segments)
                parts[s] = b64e(bytes(bad))
                with self.assertRaises(jwt.InvalidTokenError, msg=f"segment {s} byte {i}"):
                    jwt.decode(".".join(parts), SECRET, algorithms=["HS256"])
                rejected += 1
        self.assertGreater(rejected, 100)

    def test_exact_claims_survive_sign(self):
        claims = {"iat": int(time.time()), "jti": "abc", "email": "a@b.c", "name": "Ünïcödé 名前 😀",
                  "tags": [], "user_fields": {"n": -5, "big": 9007199254740993, "f": 0.25, "s": "\"quoted\" \\ </script>"}}
        token = self.tool("sign", self.secret_file, json.dumps(claims)).stdout.strip()
        assert_same_json(self, jwt.decode(token, SECRET, algorithms=["HS256"]), claims)

    # --- PyJWT's tokens, checked by ours ----------------------------------------------

    def pyjwt_claims(self, **extra):
        c = {"iat": int(time.time()), "jti": "pyjwt-" + os.urandom(8).hex(), "email": "zoe@acme.com",
             "name": "Zoë Ñandú 李", "tags": ["a", "b"], "user_fields": {"x": 1, "y": None}}
        c.update(extra)
        return c

    def test_ours_verifies_pyjwt_tokens(self):
        for secret, secret_file in ((SECRET, self.secret_file), (LONG_SECRET, self.long_secret_file)):
            claims = self.pyjwt_claims()
            token = jwt.encode(claims, secret, algorithm="HS256")
            out = self.tool("verify", secret_file, token).stdout
            assert_same_json(self, json.loads(out), claims)

    def test_ours_verifies_pyjwt_token_without_typ(self):
        claims = self.pyjwt_claims()
        header = b64e(b'{"alg":"HS256"}')
        payload = b64e(json.dumps(claims, separators=(",", ":")).encode())
        sig = b64e(hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        self.tool("verify", self.secret_file, f"{header}.{payload}.{sig}")

    def test_ours_rejects_pyjwt_token_with_wrong_secret(self):
        token = jwt.encode(self.pyjwt_claims(), b"another secret", algorithm="HS256")
        r = self.tool("verify", self.secret_file, token, ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("signature does not match", r.stderr)

    def test_ours_rejects_pyjwt_hs512_and_none(self):
        for alg, key in (("HS512", SECRET), ("HS384", SECRET), ("none", None)):
            token = jwt.encode(self.pyjwt_claims(), key, algorithm=alg)
            r = self.tool("verify", self.secret_file, token, ok=False)
            self.assertEqual(r.returncode, 1, alg)
            self.assertIn("only HS256", r.stderr, alg)

    def test_ours_rejects_pyjwt_token_with_stale_iat(self):
        token = jwt.encode(self.pyjwt_claims(iat=int(time.time()) - 3600), SECRET, algorithm="HS256")
        r = self.tool("verify", self.secret_file, token, ok=False)
        self.assertIn("iat", r.stderr)

    def test_ours_rejects_pyjwt_token_with_typ_jws(self):
        token = jwt.encode(self.pyjwt_claims(), SECRET, algorithm="HS256", headers={"typ": "JWS"})
        r = self.tool("verify", self.secret_file, token, ok=False)
        self.assertIn("token type", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: jwt_interop.py PATH/TO/zsso_jwt_interop_tool")
    TOOL = sys.argv.pop(1)
    unittest.main(verbosity=2)
