#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Enrolling a security key (issue 23, slice 4): the real zendesk-sso-authd
with the shipped webauthn stack (test_webauthn.py's KeyWorld: pam_matrix for
pam_unix, pam_oath's codes), driven over its sockets. An enrol request is a
password sign-in (re-authentication, a key holder's key step included) that
ends in a registration step instead of a token; the software authenticator
answers it with a real `none` or `packed` registration, the broker checks it
and adds the key to the authfile, where the next sign-in finds it. The
first-key rules: an invite code from `zendesk-sso keys invite`, the stack's
second factor, or trust-on-first-use until a date."""

import datetime
import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_conversation import OATH_PROMPT, totp  # noqa: E402
from test_webauthn import BINDING, ORIGIN, RP_ID, AttestationMaker, KeyWorld, SoftKey, b64, b64url  # noqa: E402
import broker_wire as wire  # noqa: E402

CLI = os.environ.get("ZSSO_CLI")


class EnrolWorld(KeyWorld):
    """KeyWorld plus enrol requests; alice has a key, bob has none (but a code)."""

    def __init__(self, test, webauthn_extra=None, broker_extra=None, password_only=False):
        super().__init__(test)
        config = json.loads(Path(self.sb.config_path).read_text())
        config["webauthn"].update(webauthn_extra or {})
        config.setdefault("broker", {}).update(broker_extra or {})
        self.sb.write_config(config)
        if password_only:   # no second factor in the stack: the password alone
            self.set_stack(self.sb.standard_stack())

    def start_enrol(self, user, password, request_id=None):
        return wire.exchange(self.socket, wire.request(user, password, binding=BINDING, request_id=request_id,
                                                       enrol=True))

    def answer_registration(self, prompt, registration, invite=""):
        return wire.exchange(wire.conversation_path(self.socket, prompt["conversation"]),
                             wire.frame(wire.continue_body(prompt["conversation"], BINDING, prompt["step"],
                                                           registration=(*registration, invite))))

    def remove_key(self, prompt, short_id):
        return wire.exchange(wire.conversation_path(self.socket, prompt["conversation"]),
                             wire.frame(wire.continue_body(prompt["conversation"], BINDING, prompt["step"],
                                                           removal=short_id)))

    def invite(self, user):
        """A one-time invite code from the CLI, as an admin makes one."""
        p = subprocess.run([CLI, "--config", str(self.sb.config_path), "keys", "invite", user],
                           capture_output=True, text=True, env=self.env(), timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"keys invite failed: {p.stdout} {p.stderr}")
        return re.search(rf"enrolment code for {user}: (\S+)", p.stdout).group(1)

    def expire_invites(self):
        """Every invite's expiry moved to the past, as if 15 minutes had gone by."""
        path = Path(str(self.authfile) + ".invites.json")
        data = json.loads(path.read_text())
        for record in data["invites"].values():
            record["expires"] = 1000
        path.write_text(json.dumps(data))

    def authfile_lines(self):
        return [l for l in self.authfile.read_text().splitlines() if l]


class EnrolTestCase(unittest.TestCase):
    world_kw = {}

    def setUp(self):
        self.w = EnrolWorld(self, **self.world_kw).start()
        self.addCleanup(self.w.stop)

    def registration_step(self, user="bob", password="builder"):
        """The enrol request up to the registration step (bob answers his code, alice her key)."""
        resp = self.w.start_enrol(user, password)
        self.assertEqual(resp["status"], "prompt", resp)
        if "key" in resp:
            key = {"alice": self.w.alice_key}[user]
            resp = self.w.answer_key(resp, key.assertion(resp["key"]["challenge"]))
        elif "registration" not in resp:
            self.assertEqual(resp["messages"][-1], ("echo_off", OATH_PROMPT.format(user=user)))
            resp = self.w.answer_code(resp, totp(self.w.keys[user]))
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertIn("registration", resp, resp)
        return resp

    def assert_refused(self, resp, cause, user="bob"):
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn(cause, resp.get("cause", ""))
        self.assertIn(cause, self.w.decision(user))
        self.assertNotIn(f"{user}:", self.w.authfile.read_text() if user != "alice" else "")


LISTED = bytes.fromhex("cb69481e8ff7403993ec0a2729a154a8")


class OnlyListedKeyModels(EnrolTestCase):
    # webauthn.aaguids (issue 23 point 3): enrolment takes only those models, proven by an x5c
    # statement whose certificate names the AAGUID; keys in the authfile stay.
    world_kw = {"password_only": True, "webauthn_extra": {"aaguids": ["CB69481E-8FF7-4039-93EC-0A2729A154A8"]}}

    def enrol(self, **registration):
        step = self.registration_step()
        key = SoftKey(b"model-key")
        return key, self.w.answer_registration(
            step, key.registration(step["registration"]["challenge"], **registration), self.w.invite("bob"))

    def test_a_listed_model_with_its_makers_certificate_is_taken(self):
        key, done = self.enrol(fmt="packed", aaguid=LISTED, maker=AttestationMaker(LISTED))
        self.assertEqual(done["status"], "ok", done)
        self.assertIn(f"bob:{b64(b'model-key')},", self.w.authfile.read_text())
        self.assertIn("packed", self.w.decision("bob"))

    def test_what_proves_no_listed_model_is_refused(self):
        other = bytes.fromhex("ee882879721c491397753dfcce97072a")
        for registration in ({"fmt": "none", "aaguid": LISTED},                    # no statement at all
                             {"fmt": "packed", "aaguid": LISTED},                  # self attestation
                             {"fmt": "packed", "aaguid": other, "maker": AttestationMaker(other)}):
            with self.subTest(registration=registration):
                _, done = self.enrol(**registration)
                self.assert_refused(done, "security key registration refused (aaguid)")
                self.assertNotIn("bob:", self.w.authfile.read_text())
        # alice's key, there before the list, still signs in.
        prompt = self.w.start_sign_in("alice", "wonderland")
        self.assertEqual(self.w.answer_key(prompt, self.w.alice_key.assertion(prompt["key"]["challenge"]))["status"],
                         "ok")


class FirstKeyWithAnInvite(EnrolTestCase):
    # The password alone (pam_oath takes each code once: several enrolments
    # in one 30 s window could not all answer one); webauthn.first_key "invite".
    world_kw = {"password_only": True}

    def test_enrol_with_an_invite_then_sign_in_with_the_new_key(self):
        step = self.registration_step()
        reg = step["registration"]
        self.assertEqual((reg["rp_id"], reg["user_name"], reg["invite_needed"]), (RP_ID, "bob", True))
        self.assertEqual(len(reg["challenge"]), 32)
        self.assertEqual(len(reg["user_handle"]), 32)
        self.assertEqual((reg["exclude_ids"], step["keys"]), ([], []))
        new_key = SoftKey(b"bobs-new-key")
        done = self.w.answer_registration(step, new_key.registration(reg["challenge"]), self.w.invite("bob"))
        self.assertEqual(done["status"], "ok", done)
        self.assertIsNone(done["token"], "an enrolment mints no token")
        self.assertEqual([t for _, t in done["keys"]], ["es256"])
        self.assertEqual(done["user"], "bob")
        # The key is a pam_u2f line, as pamu2fcfg writes it.
        self.assertIn(f"bob:{b64(b'bobs-new-key')},{new_key.authfile_part().split(',')[1]},es256,+presence",
                      self.w.authfile_lines())
        line = self.w.decision("bob")
        self.assertIn("security key added: es256 " + done["keys"][0][0], line)
        self.assertIn("invite code", line)
        # The next sign-in asks for it instead of the code, and it signs in.
        prompt = self.w.start_sign_in("bob", "builder")
        self.assertEqual(prompt["key"]["credential_ids"], [b"bobs-new-key"])
        resp = self.w.answer_key(prompt, new_key.assertion(prompt["key"]["challenge"]))
        self.assertEqual(resp["status"], "ok", resp)
        self.assertEqual(self.w.claims(resp["token"])["email"], "bob@acme.test")

    def test_packed_self_attestation_is_taken_too(self):
        step = self.registration_step()
        done = self.w.answer_registration(step, SoftKey(b"packed").registration(step["registration"]["challenge"],
                                                                                 fmt="packed"),
                                          self.w.invite("bob"))
        self.assertEqual(done["status"], "ok", done)
        self.assertIn("packed, self attestation", self.w.decision("bob"))

    def test_no_invite_is_refused(self):
        step = self.registration_step()
        resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]))
        self.assert_refused(resp, "security key registration refused (invite code missing)")

    def test_an_invite_is_single_use_and_for_its_account(self):
        code = self.w.invite("bob")
        step = self.registration_step()
        self.assertEqual(self.w.answer_registration(step, SoftKey(b"k1").registration(
            step["registration"]["challenge"]), code)["status"], "ok")
        # The admin removes bob's key: he has none again, and his used code is gone,
        # and alice's code is no code for bob.
        self.w.write_authfile({"alice": [self.w.alice_key]})
        for wrong in (code, self.w.invite("alice")):
            step = self.registration_step()
            resp = self.w.answer_registration(step, SoftKey(b"k2").registration(step["registration"]["challenge"]),
                                              wrong)
            self.assert_refused(resp, "security key registration refused (invite code)")

    def test_an_expired_invite_is_refused(self):
        code = self.w.invite("bob")
        self.w.expire_invites()
        step = self.registration_step()
        resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]), code)
        self.assert_refused(resp, "security key registration refused (invite code): enrolment code expired")

    def test_the_code_may_be_typed_in_lower_case_with_spaces(self):
        code = self.w.invite("bob")
        step = self.registration_step()
        typed = " ".join(code.lower().split("-"))
        done = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]), typed)
        self.assertEqual(done["status"], "ok", done)

    def test_replayed_registration_for_an_earlier_challenge(self):
        first = self.registration_step()
        used = SoftKey(b"k").registration(first["registration"]["challenge"])
        second = self.registration_step()
        self.assert_refused(self.w.answer_registration(second, used, self.w.invite("bob")),
                            "security key registration refused (challenge)")

    def test_wrong_origin_and_rp_id(self):
        for kw, reason in (({"origin": "https://sso.example.com.evil.test"}, "origin"),
                           ({"rp_id": "evil.test"}, "rp_id"), ({"typ": "webauthn.get"}, "type")):
            step = self.registration_step()
            resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"],
                                                                              **kw), self.w.invite("bob"))
            self.assert_refused(resp, f"security key registration refused ({reason})")

    def test_a_wrong_password_reaches_no_registration(self):
        resp = self.w.start_enrol("bob", "not-it")
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertNotIn("registration", resp)


class WrongInvitesAreThrottled(EnrolTestCase):
    world_kw = {"broker_extra": {"max_failures": 2, "failure_window": 600}, "password_only": True}

    def test_wrong_codes_count_as_bad_logins(self):
        for _ in range(2):
            step = self.registration_step()
            resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]),
                                              "NOT-A-CODE")
            self.assert_refused(resp, "security key registration refused (invite code)")
        # The pair (bob, this address) is throttled now: even the right password, without PAM.
        resp = self.w.start_enrol("bob", "builder")
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn("throttled", resp["cause"])


class SecondKey(EnrolTestCase):
    def test_a_key_holder_proves_a_key_then_adds_another_without_an_invite(self):
        step = self.registration_step(user="alice", password="wonderland")
        reg = step["registration"]
        self.assertFalse(reg["invite_needed"])
        self.assertEqual(reg["exclude_ids"], [b"alice-key-1"])
        self.assertEqual(len(step["keys"]), 1)
        done = self.w.answer_registration(step, SoftKey(b"alice-key-2").registration(reg["challenge"]))
        self.assertEqual(done["status"], "ok", done)
        self.assertEqual(len(done["keys"]), 2)
        self.assertIn("a key of the account proven", self.w.decision("alice"))
        self.assertEqual(self.w.authfile.read_text().count("alice:"), 1, "one line per user, as pam_u2f reads")

    def test_no_registration_without_the_first_keys_step(self):
        resp = self.w.start_enrol("alice", "wonderland")
        self.assertIn("key", resp, "the key step comes first")
        # A registration is no answer to it ...
        wrong = self.w.answer_registration(resp, SoftKey(b"x").registration(resp["key"]["challenge"]))
        self.assertEqual((wrong["status"], wrong["detail"]), ("error", "conversation"), wrong)
        # ... and a key refused ends it as a bad login, nothing added.
        before = self.w.authfile.read_text()
        refused = self.w.answer_key(resp, SoftKey(b"alice-key-1").assertion(resp["key"]["challenge"]))
        self.assertEqual(refused["status"], "bad_login", refused)
        self.assertNotIn("registration", refused)
        self.assertEqual(self.w.authfile.read_text(), before)

    def test_a_key_holder_removes_a_key_after_proving_one(self):
        self.w.write_authfile({"alice": [self.w.alice_key, SoftKey(b"alice-key-2")]})
        step = self.registration_step(user="alice", password="wonderland")
        ids = [i for i, _ in step["keys"]]
        self.assertEqual(len(ids), 2)
        target = next(i for i in ids if b64url(b"alice-key-2").startswith(i))
        done = self.w.remove_key(step, target)
        self.assertEqual(done["status"], "ok", done)
        self.assertIsNone(done["token"])
        # The one left, named as `keys list` would name it now (the shortest unique prefix).
        self.assertEqual(len(done["keys"]), 1)
        self.assertTrue(b64url(b"alice-key-1").startswith(done["keys"][0][0]), done["keys"])
        self.assertNotIn(b64(b"alice-key-2"), self.w.authfile.read_text())
        self.assertIn(b64(b"alice-key-1"), self.w.authfile.read_text())
        self.assertIn("security key removed: " + target, self.w.decision("alice"))

    def test_only_a_listed_key_may_be_removed(self):
        before = self.w.authfile.read_text()
        step = self.registration_step(user="alice", password="wonderland")
        resp = self.w.remove_key(step, "Ym9i")   # not one of alice's ids (a prefix of anyone's)
        self.assertEqual(resp["status"], "error", resp)
        self.assertIn("is not one of the account's keys", resp["cause"])
        self.assertEqual(self.w.authfile.read_text(), before)

    def test_the_same_key_twice_is_refused(self):
        step = self.registration_step(user="alice", password="wonderland")
        resp = self.w.answer_registration(step, self.w.alice_key.registration(step["registration"]["challenge"]))
        self.assertEqual(resp["status"], "bad_login", resp)
        self.assertIn("already enrolled", resp["cause"])


class FirstKeyAfterTheStacksSecondFactor(EnrolTestCase):
    world_kw = {"webauthn_extra": {"first_key": "second_factor"}}

    def test_the_code_admits_a_first_key(self):
        step = self.registration_step()
        self.assertFalse(step["registration"]["invite_needed"])
        done = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]))
        self.assertEqual(done["status"], "ok", done)
        self.assertIn("first key after the stack's second factor", self.w.decision("bob"))


class PasswordAloneIsNoSecondFactor(EnrolTestCase):
    world_kw = {"webauthn_extra": {"first_key": "second_factor"}, "password_only": True}

    def test_without_another_factor_an_invite_is_needed(self):
        step = self.registration_step()
        self.assertTrue(step["registration"]["invite_needed"])
        resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]))
        self.assert_refused(resp, "invite code missing")


class TrustOnFirstUseUntilTheDate(EnrolTestCase):
    world_kw = {"webauthn_extra": {"first_key": "tofu", "tofu_until": str(datetime.date.today()
                                                                          + datetime.timedelta(days=2))},
                "password_only": True}

    def test_the_password_alone_admits_a_first_key_before_the_date(self):
        step = self.registration_step()
        self.assertFalse(step["registration"]["invite_needed"])
        done = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]))
        self.assertEqual(done["status"], "ok", done)
        self.assertIn("first key before webauthn.tofu_until", self.w.decision("bob"))


class TrustOnFirstUseAfterTheDate(EnrolTestCase):
    world_kw = {"webauthn_extra": {"first_key": "tofu", "tofu_until": str(datetime.date.today()
                                                                          - datetime.timedelta(days=2))},
                "password_only": True}

    def test_after_the_date_an_invite_is_needed(self):
        step = self.registration_step()
        self.assertTrue(step["registration"]["invite_needed"])
        resp = self.w.answer_registration(step, SoftKey(b"k").registration(step["registration"]["challenge"]))
        self.assert_refused(resp, "invite code missing")


class EnrolWithoutWebauthn(unittest.TestCase):
    def test_an_enrolment_is_refused_before_pam(self):
        w = KeyWorld(self, webauthn=False).start()
        self.addCleanup(w.stop)
        resp = wire.exchange(w.socket, wire.request("bob", "builder", binding=BINDING, enrol=True))
        self.assertEqual((resp["status"], resp["detail"]), ("unavailable", "config"), resp)
        self.assertIn("webauthn.rp_id is not set", w.log_text())


if __name__ == "__main__":
    unittest.main()
