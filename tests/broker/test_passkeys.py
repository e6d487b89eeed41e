#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Passkeys without a password (issue 23, slice 5; webauthn.passwordless):
the real zendesk-sso-authd in the pam_wrapper sandbox with the shipped
webauthn stack (test_webauthn.py's KeyWorld), driven by broker_wire.py. A
passkey request names no account: the broker answers a key step for a
discoverable key (no allowed credentials, user verification required); the
assertion's user handle names the account through the side file's map, that
account's key with that credential id and handle must have signed, and then
the account checks of a REMOTE_USER sign-in run (pam_acct_mgmt and
pam_setcred, no pam_authenticate) before the token."""

import base64
import json
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_conversation import broker_counts  # noqa: E402
from test_enrol import EnrolWorld  # noqa: E402
from test_webauthn import BINDING, RP_ID, KeyWorld, SoftKey, b64, example_stack  # noqa: E402
import broker_wire as wire  # noqa: E402

ALICE_HANDLE = bytes(range(1, 33))
BOB_HANDLE = bytes(range(101, 133))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public_key(key):
    return base64.b64decode(key.authfile_part().split(",")[1])


class PasskeyWorld(KeyWorld):
    """alice and bob each have a passkey (a key with a user handle in the side file)."""

    def __init__(self, test, passwordless=True, broker_extra=None):
        super().__init__(test)
        self.bob_key = SoftKey(b"bob-key-1")
        self.write_authfile({"alice": [self.alice_key], "bob": [self.bob_key]})
        self.write_side({"alice": (self.alice_key, ALICE_HANDLE), "bob": (self.bob_key, BOB_HANDLE)})
        config = json.loads(Path(self.sb.config_path).read_text())
        config["webauthn"]["passwordless"] = passwordless
        key_file = self.sb.dir / "session-key"
        key_file.write_text(b64url(os.urandom(32)) + "\n")
        os.chmod(key_file, 0o600)
        config["session"] = {"key_file": str(key_file)}
        config.setdefault("broker", {}).update(broker_extra or {})
        self.sb.write_config(config)

    def write_side(self, records, counts=None):
        creds = {b64(raw_public_key(k)): {"user": user, "sign_count": (counts or {}).get(user, 0),
                                         "user_handle": b64url(handle), "added": 1}
                 for user, (k, handle) in records.items()}
        self.side_file.write_text(json.dumps({"version": 1, "credentials": creds}))
        os.chmod(self.side_file, 0o600)

    def start_passkey(self, address="10.1.2.3"):
        return wire.exchange(self.socket, wire.frame(wire.passkey_body(BINDING, address=address)))

    def passkey_decision(self):
        lines = [l for l in self.log_text().splitlines() if "passkey sign-in" in l and "outcome=" in l]
        return lines[-1] if lines else ""


class PasskeyTestCase(unittest.TestCase):
    world_kw = {}

    def setUp(self):
        self.w = PasskeyWorld(self, **self.world_kw).start()
        self.addCleanup(self.w.stop)

    def passkey_prompt(self):
        resp = self.w.start_passkey()
        self.assertEqual(resp["status"], "prompt", resp)
        key = resp["key"]
        # A discoverable key: no credential offered, user verification required, a fresh challenge.
        self.assertEqual((key["rp_id"], key["user_verification"], key["credential_ids"]), (RP_ID, "required", []))
        self.assertEqual(len(key["challenge"]), 32)
        return resp

    def answer(self, prompt, key, handle, **kw):
        kw.setdefault("flags", 0x05)   # user present and verified
        return self.w.answer_key(prompt, (*key.assertion(prompt["key"]["challenge"], **kw), handle))

    def assert_refused(self, resp, cause):
        self.assertEqual((resp["status"], resp["detail"]), ("bad_login", "pam"), resp)
        self.assertIsNone(resp["token"])
        self.assertNotIn("session", resp)
        self.assertIn(cause, resp.get("cause", ""))
        line = self.w.passkey_decision()
        self.assertIn("way=key outcome=bad_login", line)
        self.assertIn(cause, line)


class PasskeySignIn(PasskeyTestCase):
    def test_a_passkey_signs_in_without_a_password(self):
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, self.w.alice_key, ALICE_HANDLE)
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.w.claims(resp["token"])["email"], "alice@acme.test")   # PyJWT verifies it
        self.assertEqual(resp["user"], "alice")
        line = self.w.passkey_decision()
        self.assertIn('passkey sign-in of user "alice" from 10.1.2.3: ok', line)
        self.assertIn("way=key outcome=signed_in", line)
        self.assertEqual(broker_counts(self.w.socket), {("key", "signed_in"): 1})
        # No password was asked of PAM: the REMOTE_USER path (pam_acct_mgmt, pam_setcred).
        self.assertNotIn("pam_authenticate", self.w.log_text())
        # The sign count is kept for the next sign-in's clone check.
        side = json.loads(self.w.side_file.read_text())
        self.assertEqual(side["credentials"][b64(raw_public_key(self.w.alice_key))]["sign_count"], 1)
        # A session as after a password sign-in, bound to the key ("k"): it signs in again.
        again = wire.exchange(self.w.socket, wire.frame(wire.session_body(resp["session"])))
        self.assertEqual(again["status"], "ok", again)
        self.assertEqual(self.w.claims(again["token"])["email"], "alice@acme.test")

    def test_the_handle_names_the_account(self):
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, self.w.bob_key, BOB_HANDLE)
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.w.claims(resp["token"])["email"], "bob@acme.test")

    def test_each_passkey_sign_in_gets_a_fresh_challenge(self):
        first, second = self.passkey_prompt(), self.passkey_prompt()
        self.assertNotEqual(first["key"]["challenge"], second["key"]["challenge"])
        for prompt in (first, second):
            self.assertEqual(self.answer(prompt, self.w.alice_key, ALICE_HANDLE)["status"], "ok")


class PasskeyRefusals(PasskeyTestCase):
    def test_user_verification_is_required(self):
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, self.w.alice_key, ALICE_HANDLE, flags=0x01)
        self.assert_refused(resp, "security key refused (user_verification)")

    def test_unknown_user_handle(self):
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, self.w.alice_key, b"\x09" * 32)
        self.assert_refused(resp, "passkey refused (unknown user handle)")
        # Nobody is named: the log does not guess an account.
        self.assertNotIn('of user "alice"', self.w.passkey_decision())

    def test_no_user_handle(self):
        prompt = self.passkey_prompt()
        resp = self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))
        self.assert_refused(resp, "passkey refused (no user handle)")

    def test_the_handle_of_another_accounts_key(self):
        # alice's key signs, but sends bob's handle: bob has no such credential.
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, self.w.alice_key, BOB_HANDLE)
        self.assert_refused(resp, "security key refused (unknown credential)")
        # bob's credential id with a key that is not bob's: the signature decides.
        prompt = self.passkey_prompt()
        forged = SoftKey(b"bob-key-1")
        resp = self.answer(prompt, forged, BOB_HANDLE)
        self.assert_refused(resp, "security key refused (signature)")

    def test_a_key_without_the_handle_in_its_record(self):
        # alice's key is hers, but its side record holds another handle than the one sent.
        self.w.write_side({"alice": (self.w.alice_key, ALICE_HANDLE), "bob": (SoftKey(b"x"), BOB_HANDLE)})
        second = SoftKey(b"alice-key-2")
        self.w.write_authfile({"alice": [self.w.alice_key, second]})
        records = json.loads(self.w.side_file.read_text())
        records["credentials"][b64(raw_public_key(second))] = {"user": "alice", "sign_count": 0,
                                                              "user_handle": b64url(b"other-handle"), "added": 1}
        self.w.side_file.write_text(json.dumps(records))
        prompt = self.passkey_prompt()
        resp = self.answer(prompt, second, ALICE_HANDLE)
        self.assert_refused(resp, "passkey refused (unknown credential)")

    def test_replayed_assertion(self):
        first = self.passkey_prompt()
        used = (*self.w.alice_key.assertion(first["key"]["challenge"]), ALICE_HANDLE)
        self.assertEqual(self.w.answer_key(first, used)["status"], "ok")
        second = self.passkey_prompt()
        self.assert_refused(self.w.answer_key(second, used), "security key refused (challenge)")

    def test_lowered_sign_count(self):
        self.w.alice_key.count = 10
        self.assertEqual(self.answer(self.passkey_prompt(), self.w.alice_key, ALICE_HANDLE)["status"], "ok")
        resp = self.answer(self.passkey_prompt(), self.w.alice_key, ALICE_HANDLE, count=5)
        self.assert_refused(resp, "security key refused (sign_count)")
        self.assertIn("possible cloned key", self.w.log_text())

    def test_the_account_checks_still_refuse(self):
        # A locked or expired account: pam_acct_mgmt says no after the key was proven.
        self.w.set_stack(example_stack().replace("account ", "account  required {sysdir}/pam_deny.so\naccount ", 1))
        resp = self.answer(self.passkey_prompt(), self.w.alice_key, ALICE_HANDLE)
        self.assertNotEqual(resp["status"], "ok", resp)
        self.assertIsNone(resp["token"])
        self.assertNotIn("session", resp)
        self.assertIn("pam_acct_mgmt", resp["cause"])


class TwoPasskeys(PasskeyTestCase):
    def test_each_of_an_accounts_passkeys_signs_in_with_its_own_handle(self):
        # Enrolment gives every key its own random handle: both name alice.
        second, second_handle = SoftKey(b"alice-key-2"), bytes(range(201, 233))
        self.w.write_authfile({"alice": [self.w.alice_key, second], "bob": [self.w.bob_key]})
        records = json.loads(self.w.side_file.read_text())
        records["credentials"][b64(raw_public_key(second))] = {"user": "alice", "sign_count": 0,
                                                              "user_handle": b64url(second_handle), "added": 1}
        self.w.side_file.write_text(json.dumps(records))
        for key, handle in ((self.w.alice_key, ALICE_HANDLE), (second, second_handle)):
            resp = self.answer(self.passkey_prompt(), key, handle)
            self.assertEqual(resp["status"], "ok", resp)
            self.assertEqual(self.w.claims(resp["token"])["email"], "alice@acme.test")
        # Each handle only with its own key.
        self.assert_refused(self.answer(self.passkey_prompt(), second, ALICE_HANDLE),
                            "passkey refused (unknown credential)")


class LearnedHandle(PasskeyTestCase):
    """A key enrolled with `pamu2fcfg -r`: "*" for its handle, and no user
    handle anywhere (pamu2fcfg throws its random user id away). The user
    handle its assertion carries in a second-factor sign-in (the account
    known from the password) is kept in its side record: a passkey from then
    on. The authfile line stays as pamu2fcfg wrote it."""

    HANDLE = bytes(range(51, 83))   # the random user id the key holds

    def setUp(self):
        super().setUp()
        self.resident = SoftKey(b"resident-credential-id")   # the id the authenticator answers with
        self.w.authfile.write_text(f"alice:{self.resident.authfile_part(resident=True)}\n"
                                   f"bob:{self.w.bob_key.authfile_part()}\n")
        self.w.write_side({"bob": (self.w.bob_key, BOB_HANDLE)})   # no record for alice's key yet
        self.line = self.w.authfile.read_text()

    def record(self):
        return json.loads(self.w.side_file.read_text())["credentials"].get(b64(raw_public_key(self.resident)))

    def second_factor(self, handle):
        """alice's password, then the key step answered by the resident key with handle."""
        prompt = self.w.start_sign_in("alice", "wonderland")
        self.assertEqual(prompt["status"], "prompt", prompt)
        self.assertEqual(prompt["key"]["credential_ids"], [], "a \"*\" key has no handle to offer")
        return self.answer(prompt, self.resident, handle, flags=0x01)

    def test_a_pamu2fcfg_r_key_becomes_a_passkey_after_a_second_factor_sign_in(self):
        self.assert_refused(self.answer(self.passkey_prompt(), self.resident, self.HANDLE),
                            "passkey refused (unknown user handle)")
        resp = self.second_factor(self.HANDLE)
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.w.claims(resp["token"])["email"], "alice@acme.test")
        self.assertEqual(self.record(), {"user": "alice", "sign_count": self.resident.count,
                                         "user_handle": b64url(self.HANDLE)})
        self.assertIn("(pamu2fcfg -r) answered with its user handle, now kept", self.w.log_text())
        self.assertEqual(self.w.authfile.read_text(), self.line, "the authfile line stays as pamu2fcfg wrote it")
        resp = self.answer(self.passkey_prompt(), self.resident, self.HANDLE)
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual((resp["user"], self.w.claims(resp["token"])["email"]), ("alice", "alice@acme.test"))
        self.assertIn("way=key outcome=signed_in", self.w.passkey_decision())

    def test_a_handle_another_account_has_is_not_kept(self):
        # The handle is not signed: alice's page could post bob's. Her key still proves her second factor.
        resp = self.second_factor(BOB_HANDLE)
        self.assertEqual(resp["status"], "ok", resp)
        self.assertNotIn("user_handle", self.record())
        self.assertIn("answered with a user handle another account's key has: not kept", self.w.log_text())
        self.assert_refused(self.answer(self.passkey_prompt(), self.resident, BOB_HANDLE),
                            "security key refused (unknown credential)")

    def test_a_kept_handle_is_never_replaced(self):
        self.assertEqual(self.second_factor(self.HANDLE)["status"], "ok")
        resp = self.second_factor(b"another-handle")
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.record()["user_handle"], b64url(self.HANDLE))
        self.assertIn("answered with another user handle than the one kept for it: the kept one stays",
                      self.w.log_text())
        self.assertEqual(self.answer(self.passkey_prompt(), self.resident, self.HANDLE)["status"], "ok")

    def test_no_handle_no_passkey(self):
        prompt = self.w.start_sign_in("alice", "wonderland")
        resp = self.w.answer_key(prompt, self.resident.assertion(prompt["key"]["challenge"], flags=0x01))
        self.assertEqual(resp["status"], "ok", resp)
        self.assertNotIn("user_handle", self.record())

    def test_a_key_with_a_handle_in_the_file_learns_nothing(self):
        # Only a "*" key: one enrolled with its handle was enrolled as a second factor only.
        prompt = self.w.start_sign_in("bob", "builder")
        self.assertEqual(prompt["status"], "prompt", prompt)
        self.w.write_side({})
        self.assertEqual(self.answer(prompt, self.w.bob_key, self.HANDLE, flags=0x01)["status"], "ok")
        rec = json.loads(self.w.side_file.read_text())["credentials"][b64(raw_public_key(self.w.bob_key))]
        self.assertNotIn("user_handle", rec)


class PasskeyThrottle(PasskeyTestCase):
    world_kw = {"broker_extra": {"max_failures": 2}}

    def test_failures_count_for_the_address(self):
        for _ in range(2):
            self.assert_refused(self.answer(self.passkey_prompt(), self.w.alice_key, b"\x09" * 32),
                                "passkey refused (unknown user handle)")
        # The address is banned: refused before any key step, like a bad login.
        resp = self.w.start_passkey()
        self.assertEqual((resp["status"], resp["detail"]), ("bad_login", "pam"), resp)
        self.assertIn("throttled", resp["cause"])
        self.assertIn("outcome=throttled", self.w.passkey_decision())
        # Another address is not affected.
        other = self.w.start_passkey(address="10.9.9.9")
        self.assertEqual(other["status"], "prompt", other)


class PasswordlessOff(PasskeyTestCase):
    world_kw = {"passwordless": False}

    def test_a_passkey_request_is_refused_and_nothing_read(self):
        os.chmod(self.w.side_file, 0o666)   # would fail the sign-in loudly if it were read
        resp = self.w.start_passkey()
        self.assertEqual((resp["status"], resp["detail"]), ("not_allowed", "passwordless_off"), resp)
        self.assertIn("webauthn.passwordless is off", self.w.log_text())
        self.assertNotIn("side file", self.w.log_text())


class PasskeyAfterEnrolment(unittest.TestCase):
    """The whole way: a key enrolled through the broker (with its random user
    handle) signs in without a password."""

    def test_an_enrolled_key_is_a_passkey(self):
        w = EnrolWorld(self, webauthn_extra={"passwordless": True, "first_key": "tofu", "tofu_until": "2099-12-31"},
                       password_only=True).start()
        self.addCleanup(w.stop)
        step = w.start_enrol("bob", "builder")
        self.assertIn("registration", step, step)
        reg = step["registration"]
        new_key = SoftKey(b"bobs-passkey")
        done = w.answer_registration(step, new_key.registration(reg["challenge"], flags=0x45))
        self.assertEqual(done["status"], "ok", done)
        prompt = wire.exchange(w.socket, wire.frame(wire.passkey_body(BINDING)))
        self.assertEqual(prompt["status"], "prompt", prompt)
        resp = w.answer_key(prompt, (*new_key.assertion(prompt["key"]["challenge"], flags=0x05), reg["user_handle"]))
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(w.claims(resp["token"])["email"], "bob@acme.test")


if __name__ == "__main__":
    unittest.main()
