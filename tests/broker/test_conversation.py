#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-step sign-ins through zendesk-sso-authd (issue 12): a PAM stack that
asks more than the password. The second factor is real: Debian's pam_oath
with a known key, codes computed by oathtool; module messages come from
pam_wrapper's pam_chatty. The broker runs in test_broker.py's World (a
pam_wrapper/pam_matrix/nss_wrapper sandbox), or with the system's libpam as
root where several PAM processes run at once. Tokens are checked by PyJWT;
the conversation is driven both by the C++ client (broker_login_tool) and by
broker_wire.py, written from the protocol's description."""

import concurrent.futures
import json
import os
import pwd
import re
import secrets
import signal
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_broker import IS_ROOT, WAIT, World, wait_for  # noqa: E402
import broker_wire as wire  # noqa: E402

PAM_CHATTY = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_chatty.so"
OATH_PROMPT = "One-time password (OATH) for `{user}': "


def oath_key(user):
    """A 20-byte TOTP key per user, fixed so a failure can be replayed by hand."""
    return (user.encode() * 20)[:20].hex()


def totp(key, offset=0):
    """The code oathtool computes for now (+ offset time steps)."""
    argv = ["oathtool", "--totp", key]
    if offset:
        argv[2:2] = ["--now", time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                             time.gmtime(time.time() + 30 * offset))]
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          timeout=WAIT).stdout.strip()


def wrong_code(key):
    """Six digits that are none of the codes pam_oath's window accepts."""
    near = {totp(key, k) for k in range(-4, 5)}
    code = "000000"
    while code in near:
        code = f"{(int(code) + 1) % 1000000:06d}"
    return code


def two_step_stack(chatty_auth=0, chatty_account=0, password_control="requisite",
                   usersfile="{dir}/oath.users"):
    """pam_zendesk's gate, the password (pam_matrix), then the TOTP code as
    its own prompt (pam_oath). requisite: a wrong password ends the stack
    before the code is asked. pam_chatty: info messages in auth (shown with
    the code's prompt) or in account (the final answer)."""
    lines = ["auth     requisite  {module} config={config}",
             "auth     " + password_control + "  {matrix} passdb={passdb}"]
    if chatty_auth:
        lines.append(f"auth     optional   {PAM_CHATTY} num_lines={chatty_auth}")
    lines.append("auth     required   {sysdir}/pam_oath.so usersfile=" + usersfile + " window=3 digits=6")
    if chatty_account:
        lines.append(f"account  optional   {PAM_CHATTY} num_lines={chatty_account}")
    lines.append("account  required   {module} config={config}")
    return "\n".join(lines) + "\n"


class OathWorld(World):
    """World with a two-step service and a pam_oath users file."""

    def __init__(self, test, stack=None, users=(), **kw):
        super().__init__(test, **kw)
        self.oath_users = self.sb.dir / "oath.users"
        self.keys = {}
        for name in ("alice", "mallory", *users):
            self.add_oath_user(name)
        self.set_stack(stack or two_step_stack())

    def add_oath_user(self, name):
        self.keys[name] = oath_key(name)
        with open(self.oath_users, "a") as f:
            f.write(f"HOTP/T30/6 {name} - {self.keys[name]}\n")
        os.chmod(self.oath_users, 0o600)

    def set_stack(self, text):
        self.sb.write_service("zendesk-sso", text)
        if self.system_pam:
            service = json.loads(Path(self.sb.config_path).read_text())["pam"]["service"]
            Path("/etc/pam.d", service).write_text((self.sb.service_dir / "zendesk-sso").read_text())

    def children(self):
        """The broker's children (sign-ins running), from /proc."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(p) for p in text.split()]

    def stop(self):
        # The listener waits for its children on SIGTERM, and a child holding
        # a conversation waits up to broker.prompt_timeout for its browser:
        # end those first (systemd signals the whole cgroup the same way).
        if self.proc and self.proc.poll() is None:
            for pid in self.children():
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        return super().stop()

    def sign_in(self, user, password, answers=(), binding="test-binding", request_id=None):
        """broker_login_tool: the password, then one stdin line per prompt."""
        argv = [self.tool, "--config", str(self.sb.config_path), "--user", user,
                "--address", "10.1.2.3", "--binding", binding]
        if request_id:
            argv += ["--request-id", request_id]
        p = subprocess.run(argv, input="".join(f"{line}\n" for line in (password, *answers)),
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                           timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError(f"client failed ({p.returncode}): {p.stderr}")
        return json.loads(p.stdout)

    def start_raw(self, user, password, binding, request_id=None, address="10.1.2.3"):
        """The first request, through broker_wire (the protocol written again in Python)."""
        resp = wire.exchange(self.socket, wire.request(user, password, binding=binding,
                                                       request_id=request_id, address=address))
        return resp

    def continue_raw(self, conversation, binding, step, answers, request_id=None):
        return wire.exchange(wire.conversation_path(self.socket, conversation),
                             wire.frame(wire.continue_body(conversation, binding, step, answers,
                                                           request_id=request_id)))


class ConversationTestCase(unittest.TestCase):
    world_kw = {}

    def setUp(self):
        self.w = OathWorld(self, **self.world_kw).start()
        self.addCleanup(self.w.stop)

    def assert_prompt(self, resp, user="alice", step=1):
        self.assertEqual(resp["status"], "prompt", resp)
        self.assertEqual(len(resp["conversation"]), 16)
        self.assertEqual(resp["step"], step)
        self.assertEqual(resp["messages"][-1], ("echo_off", OATH_PROMPT.format(user=user)))

    def assert_gone(self, conversation):
        """The conversation's socket is gone: what the C++ client maps to LoginStatus::gone.
        (Waits for the child to go first: its last answer comes just before it ends.)"""
        path = wire.conversation_path(self.w.socket, conversation)
        wait_for(lambda: not os.path.exists(path), "the conversation's socket to go")
        with self.assertRaises((FileNotFoundError, ConnectionRefusedError)):
            wire.exchange(path, wire.frame(wire.continue_body(conversation, "x", 1, ["1"])))

    def conv_dir(self):
        return Path(self.w.socket).parent / "conv"


class TwoStep(ConversationTestCase):
    def test_password_then_code_gives_a_token_pyjwt_verifies(self):
        key = self.w.keys["alice"]
        out = self.w.sign_in("alice", "wonderland", [totp(key)], request_id="rid-2step")
        self.assertEqual(out["status"], "ok", out)
        self.assertEqual(out["pages"], [[["echo_off", OATH_PROMPT.format(user="alice")]]])
        claims = self.w.claims(out["token"])
        self.assertEqual((claims["email"], claims["external_id"]), ("alice@acme.test", "1001"))
        log = self.w.log_text()
        # One line per step, with the request id and the conversation's short tag.
        self.assertRegex(log, r'request "rid-2step": conversation [0-9a-f]{8} step 1: '
                              r'user "alice": asked 1 prompt\(s\)')
        self.assertRegex(log, r'request "rid-2step": conversation [0-9a-f]{8} step 1: answered')
        self.assertIn('user "alice" from 10.1.2.3: ok', log)

    def test_wrong_code_is_a_bad_login(self):
        out = self.w.sign_in("alice", "wonderland", [wrong_code(self.w.keys["alice"])])
        self.assertEqual(out["status"], "bad_login", out)
        self.assertEqual(out["token"], "")
        self.assertEqual(len(out["pages"]), 1, "the code was asked")

    def test_wrong_password_is_refused_before_the_code_is_asked(self):
        out = self.w.sign_in("alice", "not-it", [totp(self.w.keys["alice"])])
        self.assertEqual(out["status"], "bad_login", out)
        self.assertEqual(out["pages"], [], "a requisite password line ends the stack")
        self.assertNotIn("asked 1 prompt", self.w.log_text())
        self.assertEqual(list(self.conv_dir().iterdir()), [], "no conversation socket left")

    def test_unknown_user_looks_like_a_wrong_password(self):
        out = self.w.sign_in("nosuchuser", "wonderland", ["123456"])
        self.assertEqual((out["status"], out["pages"]), ("bad_login", []))

    def test_no_answers_or_password_in_the_broker_log(self):
        key = self.w.keys["alice"]
        code = totp(key)
        self.assertEqual(self.w.sign_in("alice", "wonderland", [code])["status"], "ok")
        bad = wrong_code(key)
        self.assertEqual(self.w.sign_in("alice", "wonderland", [bad])["status"], "bad_login")
        log = self.w.log_text()
        self.assertIn("answered", log)
        for secret in ("wonderland", code, bad, key):
            self.assertNotIn(secret, log)

    def test_a_start_without_binding_gets_no_conversation(self):
        # The binding ties the conversation to a browser: without one the broker refuses to hold it.
        resp = wire.exchange(self.w.socket, wire.request("alice", "wonderland"))
        self.assertNotIn(resp["status"], ("ok", "prompt"), resp)
        self.assertIn("sent no conversation binding", self.w.log_text())

    def test_conversation_directory_is_searchable_not_listable(self):
        self.assertEqual(self.conv_dir().stat().st_mode & 0o777, 0o711)


class Messages(ConversationTestCase):
    # pam_chatty implements pam_sm_authenticate only: in auth it also runs in
    # pam_setcred, which then fails ("Module is unknown"), so its stack cannot
    # end with a token. It shows its lines above the next prompt; pam_echo
    # (auth, account and setcred) carries messages through to the token.
    CHATTY_STACK = ("auth     requisite  {module} config={config}\n"
                    "auth     requisite  {matrix} passdb={passdb}\n"
                    f"auth     optional   {PAM_CHATTY} num_lines=2 info\n"
                    f"auth     optional   {PAM_CHATTY} num_lines=1 error\n"
                    "auth     required   {sysdir}/pam_oath.so usersfile={dir}/oath.users window=3 digits=6\n"
                    "account  required   {module} config={config}\n")

    def test_pam_chatty_lines_are_shown_above_the_next_prompt(self):
        self.w.set_stack(self.CHATTY_STACK)
        first = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(first)
        said = first["messages"][:-1]
        self.assertIn(("info", "Authentication succeeded"), said)
        self.assertIn(("error", "Authentication generated an error"), said)
        self.assertEqual(set(said), {("info", "Authentication succeeded"),
                                     ("error", "Authentication generated an error")})
        # Answered, the stack runs to pam_setcred, which pam_chatty cannot do.
        done = self.w.continue_raw(first["conversation"], "b", 1, [totp(self.w.keys["alice"])])
        self.assertEqual(done["status"], "unavailable", done)
        self.assertIn("pam_setcred(PAM_ESTABLISH_CRED): Module is unknown", self.w.log_text())

    def test_messages_after_the_last_prompt_come_with_the_token(self):
        self.w.set_stack("auth     requisite  {module} config={config}\n"
                         "auth     requisite  {matrix} passdb={passdb}\n"
                         "auth     optional   {sysdir}/pam_echo.so Before the code, %u.\n"
                         "auth     required   {sysdir}/pam_oath.so usersfile={dir}/oath.users window=3 digits=6\n"
                         "auth     optional   {sysdir}/pam_echo.so Code accepted <b>%u</b>.\n"
                         "account  optional   {sysdir}/pam_echo.so Your password will expire in 3 days.\n"
                         "account  required   {module} config={config}\n")
        out = self.w.sign_in("alice", "wonderland", [totp(self.w.keys["alice"])])
        self.assertEqual(out["status"], "ok", out)
        self.assertEqual(out["pages"], [[["info", "Before the code, alice."],
                                         ["echo_off", OATH_PROMPT.format(user="alice")]]])
        # Raw text on the wire: escaping is the page's job.
        self.assertEqual(out["messages"], [["info", "Code accepted <b>alice</b>."],
                                           ["info", "Your password will expire in 3 days."]])
        self.assertEqual(self.w.claims(out["token"])["email"], "alice@acme.test")

    def test_messages_of_a_one_step_stack_come_with_the_token(self):
        self.w.set_stack("auth     required   {matrix} passdb={passdb}\n"
                         "auth     optional   {module} config={config}\n"
                         "account  optional   {sysdir}/pam_echo.so Welcome back.\n"
                         "account  required   {module} config={config}\n")
        out = self.w.sign_in("alice", "wonderland")
        self.assertEqual((out["status"], out["pages"]), ("ok", []), out)
        self.assertEqual(out["messages"], [["info", "Welcome back."]], out)


class Abuse(ConversationTestCase):
    def test_another_browsers_binding_is_refused_and_the_owner_still_completes(self):
        first = self.w.start_raw("alice", "wonderland", binding="owner-cookie", request_id="own")
        self.assert_prompt(first)
        conv = first["conversation"]
        code = totp(self.w.keys["alice"])
        # The stolen id with another cookie jar's binding, even with the right code.
        for binding in ("thief-cookie", "owner-cookie-", "owner-cooki"):
            stolen = self.w.continue_raw(conv, binding, 1, [code], request_id="thief")
            self.assertEqual((stolen["status"], stolen["detail"]), ("error", "conversation"), binding)
            self.assertIsNone(stolen["token"])
        # No binding at all is not even a well-formed continue request.
        stolen = self.w.continue_raw(conv, "", 1, [code])
        self.assertEqual(stolen["status"], "error")
        self.assertIn("does not belong to this browser's conversation", self.w.log_text())
        done = self.w.continue_raw(conv, "owner-cookie", 1, [code])
        self.assertEqual(done["status"], "ok", done)
        self.assertEqual(self.w.claims(done["token"])["email"], "alice@acme.test")

    def test_an_id_that_is_not_the_conversations_is_refused(self):
        first = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(first)
        conv = first["conversation"]
        other = bytes([conv[0] ^ 1]) + conv[1:]
        # Sent to the right socket, but naming another id.
        resp = wire.exchange(wire.conversation_path(self.w.socket, conv),
                             wire.frame(wire.continue_body(other, "b", 1, ["123456"])))
        self.assertEqual((resp["status"], resp["detail"]), ("error", "conversation"))
        self.assertEqual(self.w.continue_raw(conv, "b", 1, [totp(self.w.keys["alice"])])["status"], "ok")

    def test_replay_after_success_gets_nothing(self):
        first = self.w.start_raw("alice", "wonderland", binding="b")
        conv = first["conversation"]
        code = totp(self.w.keys["alice"])
        self.assertEqual(self.w.continue_raw(conv, "b", 1, [code])["status"], "ok")
        self.assert_gone(conv)

    def test_replay_after_a_refusal_gets_nothing(self):
        first = self.w.start_raw("alice", "wonderland", binding="b")
        conv = first["conversation"]
        bad = self.w.continue_raw(conv, "b", 1, [wrong_code(self.w.keys["alice"])])
        self.assertEqual(bad["status"], "bad_login")
        self.assert_gone(conv)

    def test_wrong_steps(self):
        first = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(first)
        conv = first["conversation"]
        code = totp(self.w.keys["alice"])
        # A step ahead of the conversation, and the right step with the wrong number of answers.
        for step, answers in ((2, [code]), (9, [code]), (1, [code, code])):
            resp = self.w.continue_raw(conv, "b", step, answers)
            self.assertEqual((resp["status"], resp["detail"]), ("error", "conversation"), (step, answers))
        # Step 0 does not exist.
        self.assertEqual(self.w.continue_raw(conv, "b", 0, [code])["status"], "error")
        done = self.w.continue_raw(conv, "b", 1, [code])
        self.assertEqual(done["status"], "ok", done)

    def test_a_repeated_step_gets_the_current_page_again(self):
        # Two codes, two steps: step 1 sent again (a reload, a second click)
        # while step 2 is asked gets step 2's page and consumes nothing.
        second = self.w.sb.dir / "oath2.users"
        key2 = oath_key("alice-2")
        second.write_text(f"HOTP/T30/6 alice - {key2}\n")
        os.chmod(second, 0o600)
        self.w.set_stack(two_step_stack().replace(
            "account", f"auth     required   {{sysdir}}/pam_oath.so usersfile={second} window=3 digits=6\n"
                       "account", 1))
        first = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(first)
        conv = first["conversation"]
        code = totp(self.w.keys["alice"])
        step2 = self.w.continue_raw(conv, "b", 1, [code])
        self.assert_prompt(step2, step=2)
        self.assertEqual(step2["conversation"], conv)
        for _ in range(2):
            again = self.w.continue_raw(conv, "b", 1, [code])
            self.assertEqual(again["messages"], step2["messages"])
            self.assert_prompt(again, step=2)
        self.assertIn("step 1 repeated: the current prompt is sent again", self.w.log_text())
        done = self.w.continue_raw(conv, "b", 2, [totp(key2)])
        self.assertEqual(done["status"], "ok", done)
        self.assertEqual(self.w.claims(done["token"])["email"], "alice@acme.test")

    def test_a_continue_on_the_brokers_own_socket_is_refused(self):
        resp = wire.exchange(self.w.socket, wire.frame(wire.continue_body(b"\0" * 16, "b", 1, ["1"])))
        self.assertEqual((resp["status"], resp["detail"]), ("error", "conversation"))

    def test_an_unknown_conversation_is_gone_for_the_client(self):
        out_conv = secrets.token_bytes(16)
        self.assert_gone(out_conv)


class Timeouts(ConversationTestCase):
    world_kw = {"config_extra": {"broker": {"prompt_timeout": 5}}}

    def test_unanswered_prompt_times_out_and_the_client_sees_gone(self):
        # The C++ client, answering only after the conversation's socket went away.
        p = subprocess.Popen([self.w.tool, "--config", str(self.w.sb.config_path), "--user", "alice",
                              "--address", "10.1.2.3", "--binding", "slow"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={"PATH": "/usr/bin:/bin"})
        try:
            p.stdin.write("wonderland\n")
            p.stdin.flush()
            wait_for(lambda: any(self.conv_dir().iterdir()), "the conversation's socket")
            wait_for(lambda: not any(self.conv_dir().iterdir()), "the prompt's timeout")
            out, err = p.communicate(totp(self.w.keys["alice"]) + "\n", timeout=WAIT)
        finally:
            if p.poll() is None:
                p.kill()
        out = json.loads(out)
        self.assertEqual(out["status"], "gone", out)
        self.assertEqual(len(out["pages"]), 1)
        self.assertEqual(out["token"], "")
        wait_for(lambda: "nobody is waiting for the answer" in self.w.log_text(), "the final line")
        self.assertIn("no answer within 5 s (broker.prompt_timeout); the sign-in is abandoned",
                      self.w.log_text())
        # The broker still serves.
        self.assertEqual(self.w.sign_in("alice", "wonderland", [totp(self.w.keys["alice"])])["status"], "ok")


class Cap(ConversationTestCase):
    world_kw = {"config_extra": {"broker": {"max_sign_ins": 1}, "metrics": {"enabled": True, "cgi_file": ""}}}

    def test_a_held_conversation_at_the_cap_makes_the_next_one_busy(self):
        held = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(held)
        # Nobody ends within the grace: the waiting client is told busy, not left hanging.
        busy = self.w.start_raw("mallory", "evil", binding="m")
        self.assertEqual((busy["status"], busy["detail"]), ("unavailable", "busy"), busy)
        wait_for(lambda: "1 sign-ins running (broker.max_sign_ins), none ended for 3 s: answered busy"
                 in self.w.log_text(), "the busy line")
        # The C++ client maps it to busy (the CGI's 503 with Retry-After).
        self.assertEqual(self.w.sign_in("mallory", "evil", ["123456"])["status"], "busy")
        # The held one still completes, and then there is room again.
        done = self.w.continue_raw(held["conversation"], "b", 1, [totp(self.w.keys["alice"])])
        self.assertEqual(done["status"], "ok", done)
        # (Its answer comes just before the child ends; the cap counts processes.)
        wait_for(lambda: not self.w.children(), "the held sign-in's process to end")
        # Each decision is one event where it was made (issue 24.2): the
        # listener's busy, the child's multi-step sign-in; each counted once there.
        log = self.w.log_text()
        self.assertEqual(log.count("answered busy way=unknown outcome=busy"), 2, log)
        self.assertEqual(len(re.findall(r"ok \(.*\) \(.*\) way=multi_step outcome=signed_in", log)), 1, log)
        counts = broker_counts(self.w.socket)
        self.assertEqual(counts, {("unknown", "busy"): 2, ("multi_step", "signed_in"): 1})
        again = self.w.start_raw("alice", "wonderland", binding="c")
        self.assert_prompt(again)

    def test_a_child_killed_mid_conversation_leaves_the_gauges(self):
        # Issue 24.1: the listener, which reaps the children, owns the
        # conversations gauge; a child killed while it waits for the browser
        # (a watchdog, an OOM kill, an admin's kill) cannot lower it itself.
        held = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(held)
        wait_for(lambda: broker_gauges(self.w.socket)["conversations"] == 1, "the conversation counted")
        self.assertEqual(broker_gauges(self.w.socket)["in_progress"], 1)
        [child] = self.w.children()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: not self.w.children(), "the killed child to be reaped")
        wait_for(lambda: broker_gauges(self.w.socket)["in_progress"] == 0, "the child reaped in the gauges")
        self.assertEqual(broker_gauges(self.w.socket)["conversations"], 0, broker_gauges(self.w.socket))

    def test_a_ping_at_the_cap_is_answered_by_the_listener(self):
        # Issue 22.1: pings (GET /login's check, /health) never take a slot, so
        # a full broker still answers them "ok", not "busy" after the grace.
        held = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(held)
        self.assertEqual(wire.exchange(self.w.socket, wire.frame(wire.ping_body())),
                         dict(wire.exchange(self.w.socket, wire.frame(wire.ping_body())),
                              status="ok", detail="none"))
        self.assertNotIn("answered busy", self.w.log_text())

    def test_the_reserved_slots_are_an_eighth_of_max_children(self):
        # --max-children 2 with the default broker.max_sign_ins (64): an eighth
        # of 2 is none reserved, so a conversation may still be held.
        w = OathWorld(self, broker_args=["--max-children", "2"]).start()
        self.addCleanup(w.stop)
        self.assertEqual(w.start_raw("alice", "wonderland", binding="b")["status"], "prompt")

    def test_max_children_option_overrides_the_config(self):
        w = OathWorld(self, config_extra={"broker": {"max_sign_ins": 5}},
                      broker_args=["--max-children", "1"]).start()
        self.addCleanup(w.stop)
        held = w.start_raw("alice", "wonderland", binding="b")
        self.assertEqual(held["status"], "prompt")
        busy = w.start_raw("alice", "wonderland", binding="c")
        self.assertEqual(busy["detail"], "busy")


class Queue(ConversationTestCase):
    world_kw = {"config_extra": {"broker": {"max_sign_ins": 1, "busy_after_seconds": 20}}}

    def test_a_request_at_the_cap_waits_busy_after_seconds_for_a_slot(self):
        held = self.w.start_raw("alice", "wonderland", binding="b")
        self.assert_prompt(held)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(self.w.start_raw, "alice", "wonderland", "c")
            # Longer than the default 3 s, which would have answered it busy
            # (Cap above); well within the 20 s this broker is told to wait.
            time.sleep(4)
            self.assertFalse(waiting.done(), "answered before a slot was free")
            done = self.w.continue_raw(held["conversation"], "b", 1, [totp(self.w.keys["alice"])])
            self.assertEqual(done["status"], "ok", done)
            # The slot is free: the waiting request runs and gets its own first page.
            self.assert_prompt(waiting.result(timeout=WAIT))
        self.assertNotIn("answered busy", self.w.log_text())


class Shares(ConversationTestCase):
    """Issue 22.1: no address (an IPv6 /64) and no account takes more than
    its share of the broker. Held conversations are the slow sign-ins here:
    each holds its slot until answered, so every count is exact."""
    world_kw = {"config_extra": {
        "network": {"ip_ranges": ["10.0.0.0/8", "2001:db8::/32"]},
        "broker": {"max_sign_ins": 8, "reserved_sign_ins": 2, "max_sign_ins_per_address": 3,
                   "max_conversations_per_address": 2, "max_conversations_per_account": 8}}}

    def hold(self, user="alice", address="10.1.2.3", binding="b"):
        resp = self.w.start_raw(user, "wonderland", binding=binding, address=address)
        self.assert_prompt(resp, user=user)
        return resp

    def assert_limited(self, resp, why):
        self.assertEqual((resp["status"], resp["detail"]), ("unavailable", "limited"), resp)
        wait_for(lambda: why in self.w.log_text(), repr(why))

    def test_an_address_at_its_conversations_is_refused_at_once_and_others_are_not(self):
        self.hold(binding="b1")
        self.hold(binding="b2")
        children = self.w.children()
        self.assertEqual(len(children), 2)
        self.assert_limited(self.w.start_raw("alice", "wonderland", binding="b3"),
                            "refused at once: 2 conversations held from 10.1.2.3 "
                            "(broker.max_conversations_per_address)")
        # Refused by the listener: no child was started for it.
        self.assertNotIn("no conversation held", self.w.log_text())
        self.assertEqual(self.w.children(), children)
        # The C++ client's status (the CGI's 429 "wait" page).
        self.assertEqual(self.w.sign_in("alice", "wonderland")["status"], "limited")
        # Another address is not affected, and a ping never takes a slot.
        self.hold(address="10.9.9.9", binding="other")
        self.assertEqual(wire.exchange(self.w.socket, wire.frame(wire.ping_body()))["status"], "ok")

    def test_an_address_at_its_sign_ins_is_refused_at_once_whatever_it_sends(self):
        w = OathWorld(self, config_extra={"broker": {
            "max_sign_ins_per_address": 3, "max_conversations_per_address": 3,
            "max_conversations_per_account": 8}}).start()
        self.addCleanup(w.stop)
        for b in ("b1", "b2", "b3"):
            self.assertEqual(w.start_raw("alice", "wonderland", binding=b)["status"], "prompt")
        # A flood of failing sign-ins from it gets no slot and no failure delay.
        for i in range(5):
            out = w.start_raw("mallory", f"wrong{i}", binding="f")
            self.assertEqual((out["status"], out["detail"]), ("unavailable", "limited"), out)
        self.assertIn("refused at once: 3 sign-ins from 10.1.2.3 running (broker.max_sign_ins_per_address)",
                      w.log_text())
        self.assertNotIn('user "mallory"', w.log_text().replace('user "mallory": refused at once', ""))
        self.assertEqual(len(w.children()), 3)
        # Another address signs in meanwhile.
        self.assertEqual(w.start_raw("alice", "wonderland", binding="o", address="10.8.8.8")["status"], "prompt")

    def test_the_same_ipv6_64_is_one_address(self):
        self.hold(address="2001:db8::1", binding="b1")
        self.hold(address="2001:db8::2", binding="b2")
        self.assert_limited(self.w.start_raw("alice", "wonderland", binding="b3", address="2001:db8::ffff"),
                            "2 conversations held from 2001:db8::/64")
        self.hold(address="2001:db8:0:1::1", binding="b4")

    def test_the_last_slots_hold_no_conversation(self):
        # 8 slots, 2 reserved: six conversations from three addresses fill the rest.
        for i in range(6):
            self.hold(address=f"10.5.5.{i // 2}", binding=f"b{i}")
        # The seventh's password is right, but it may not hold a conversation:
        # told to wait, its child ends, and it counts as no failure.
        self.assert_limited(self.w.start_raw("alice", "wonderland", binding="b7", address="10.6.6.6"),
                            "6 conversations held; the last 2 of broker.max_sign_ins are for new sign-ins "
                            "(broker.reserved_sign_ins)")
        wait_for(lambda: len(self.w.children()) == 6, "the refused sign-in's child to end")
        # A new sign-in still gets one of the reserved slots.
        out = self.w.start_raw("alice", "wrong", binding="m", address="10.6.6.6")
        self.assertEqual(out["status"], "bad_login", out)
        self.assertNotIn("throttled", self.w.log_text())

    def test_exempt_addresses_are_not_capped_per_address(self):
        w = OathWorld(self, config_extra={"broker": {
            "max_conversations_per_address": 1, "max_conversations_per_account": 8,
            "limits_exempt": ["10.1.2.0/24"]}}).start()
        self.addCleanup(w.stop)
        for b in ("b1", "b2", "b3"):
            self.assertEqual(w.start_raw("alice", "wonderland", binding=b)["status"], "prompt")
        self.assertEqual(w.start_raw("alice", "wonderland", binding="x", address="10.7.7.7")["status"], "prompt")
        out = w.start_raw("alice", "wonderland", binding="y", address="10.7.7.8")
        self.assertEqual(out["status"], "prompt", out)


class DefaultShares(ConversationTestCase):
    """The shipped numbers, with no key set: one address holds 4
    conversations, one account 2 (issue 22.1)."""

    def setUp(self):
        self.w = OathWorld(self, users=("bob",))
        self.w.sb.add_user("bob", 1003, gecos="Bob", password="builder", groups=["staff"])
        self.w.start()
        self.addCleanup(self.w.stop)

    def test_one_address_holds_four_conversations_one_account_two(self):
        for user, pw, b in (("alice", "wonderland", "a1"), ("alice", "wonderland", "a2"),
                            ("bob", "builder", "b1"), ("bob", "builder", "b2")):
            self.assert_prompt(self.w.start_raw(user, pw, binding=b), user=user)
        out = self.w.start_raw("bob", "builder", binding="b3")
        self.assertEqual((out["status"], out["detail"]), ("unavailable", "limited"), out)
        out = self.w.start_raw("alice", "wonderland", binding="a3", address="10.9.9.9")
        self.assertEqual((out["status"], out["detail"]), ("unavailable", "limited"), out)
        self.assertIn("2 conversations held for user \"alice\" (broker.max_conversations_per_account)", out["cause"])
        # (Its answer comes just before its child ends.)
        wait_for(lambda: len(self.w.children()) == 4, "the four held conversations alone")


class AccountShare(ConversationTestCase):
    def setUp(self):
        self.w = OathWorld(self, users=("bob",), config_extra={"broker": {"max_conversations_per_account": 1}})
        self.w.sb.add_user("bob", 1003, gecos="Bob", password="builder", groups=["staff"])
        self.w.start()
        self.addCleanup(self.w.stop)

    def test_an_account_holds_its_conversations_only_after_a_right_password(self):
        held = self.w.start_raw("alice", "wonderland", binding="b", address="10.1.1.1")
        self.assert_prompt(held)
        # Without the password nobody is refused for her account's share:
        # a wrong password is an ordinary bad login, whoever sends it.
        out = self.w.start_raw("alice", "wrong", binding="w", address="10.2.2.2")
        self.assertEqual(out["status"], "bad_login", out)
        # Her right password from elsewhere: refused, told to wait.
        out = self.w.start_raw("alice", "wonderland", binding="c", address="10.3.3.3")
        self.assertEqual((out["status"], out["detail"]), ("unavailable", "limited"), out)
        wait_for(lambda: 'user "alice" from 10.3.3.3: limited, no conversation held (1 conversations held for user "alice" '
                         '(broker.max_conversations_per_account))' in self.w.log_text(), "the refusal")
        # Another account is not affected.
        self.assert_prompt(self.w.start_raw("bob", "builder", binding="m", address="10.3.3.3"), user="bob")
        # Her held conversation still completes.
        done = self.w.continue_raw(held["conversation"], "b", 1, [totp(self.w.keys["alice"])])
        self.assertEqual(done["status"], "ok", done)


class Abandoned(ConversationTestCase):
    world_kw = {"config_extra": {"broker": {"prompt_timeout": 5, "max_failures": 1}}}

    def test_an_abandoned_conversation_counts_against_the_throttle(self):
        held = self.w.start_raw("alice", "wonderland", binding="b", address="10.4.4.4")
        self.assert_prompt(held)
        wait_for(lambda: "the sign-in is abandoned" in self.w.log_text(), "the prompt's timeout")
        wait_for(lambda: not self.w.children(), "the abandoned sign-in's child to end")
        # One failure (max_failures 1): the pair is banned, the right password refused.
        out = self.w.start_raw("alice", "wonderland", binding="c", address="10.4.4.4")
        self.assertEqual(out["status"], "bad_login", out)
        self.assertIn("throttled", out.get("cause", ""), out)
        # From another address she is not affected.
        self.assert_prompt(self.w.start_raw("alice", "wonderland", binding="d", address="10.4.4.5"))


WAYS = ["unknown", "password", "multi_step", "session", "remote_user", "key"]
OUTCOMES = ["signed_in", "bad_login", "not_allowed", "outside_ranges", "throttled", "busy", "password_expired",
            "csrf", "unavailable", "abandoned", "error"]


def broker_counter_file(socket_path):
    """The broker's counter file (core/include/zsso/metrics.hpp's Layout)."""
    data = (Path(socket_path).parent / "metrics" / "broker").read_bytes()
    magic, = struct.unpack_from("<Q", data, 0)
    assert magic == 0x7a73736f6d657433, hex(magic)
    return data


def broker_counts(socket_path):
    """{(way, outcome): n} of those above 0."""
    values = struct.unpack_from(f"<{len(WAYS) * len(OUTCOMES)}Q", broker_counter_file(socket_path), 8)
    return {(WAYS[i // len(OUTCOMES)], OUTCOMES[i % len(OUTCOMES)]): n for i, n in enumerate(values) if n}


def broker_gauges(socket_path):
    """The listener's gauges: after the magic, the counts, 11 duration buckets, their sum and 64 token slots."""
    at = 8 * (1 + len(WAYS) * len(OUTCOMES) + 11 + 1 + 64)
    in_progress, slots, conversations = struct.unpack_from("<3q", broker_counter_file(socket_path), at)
    return {"in_progress": in_progress, "slots": slots, "conversations": conversations}


class DirectMode(unittest.TestCase):
    """PAM inside the client (no broker): it cannot hold a conversation, so a
    stack asking what the form's password cannot answer is refused as a
    stack that needs zendesk-sso-authd, never as a wrong password."""

    def test_a_prompt_the_password_cannot_answer_is_unavailable_not_a_bad_login(self):
        w = OathWorld(self)
        ga = w.sb.dir / "ga"
        ga.mkdir()
        (ga / "alice").write_text('JBSWY3DPEHPK3PXP\n" TOTP_AUTH\n')
        os.chmod(ga / "alice", 0o600)
        me = pwd.getpwuid(os.geteuid()).pw_name
        # pam_google_authenticator asks its code in clear text (PAM_PROMPT_ECHO_ON)
        # and makes the refused conversation a PAM_AUTH_ERR.
        w.set_stack("auth     requisite  {module} config={config}\n"
                    "auth     requisite  {matrix} passdb={passdb}\n"
                    "auth     required   {sysdir}/pam_google_authenticator.so secret={dir}/ga/${{USER}} "
                    f"user={me} echo_verification_code\n"
                    "account  required   {module} config={config}\n")
        p = subprocess.run([w.tool, "--config", str(w.sb.config_path), "--user", "alice", "--direct",
                            "--address", "10.1.2.3"], input="wonderland\n123456\n", capture_output=True,
                           text=True, env=w.env(), timeout=WAIT)
        out = json.loads(p.stdout)
        self.assertEqual((out["status"], out["pages"], out["token"]), ("unavailable", [], ""), out)
        self.assertIn("this stack needs zendesk-sso-authd (broker.socket)", out["detail"])


@unittest.skipUnless(IS_ROOT, "needs root to add a service to /etc/pam.d (CI runs as root)")
class Concurrency(unittest.TestCase):
    """Many PAM processes at once: system libpam (pam_wrapper's per-process
    /tmp/pam.X dirs race, see test_broker.py's Concurrency)."""

    def test_fifty_concurrent_two_step_sign_ins_each_get_their_own_token(self):
        n = 50
        users = [f"user{i:02d}" for i in range(n)]
        w = OathWorld(self, users=users, system_pam=True)
        # One users file per user (pam_oath's ${USER}): liboath rewrites the
        # file after every accepted code, and with one shared file 50 at once
        # refuse each other's right codes (seen: most of them bad_login).
        (w.sb.dir / "oath").mkdir()
        for i, u in enumerate(users):
            w.sb.add_user(u, 3000 + i, gecos=f"User {i}", password=f"pw-{u}")
            path = w.sb.dir / "oath" / f"{u}.users"
            path.write_text(f"HOTP/T30/6 {u} - {w.keys[u]}\n")
            os.chmod(path, 0o600)
        w.set_stack(two_step_stack(usersfile="{dir}/oath/${{USER}}.users"))
        w.start()
        self.addCleanup(w.stop)

        def one(i):
            u = users[i]
            # Each from its own address: one address holds only its share (Shares).
            first = w.start_raw(u, f"pw-{u}", binding=f"jar-{i}", request_id=f"c{i}",
                                address=f"10.1.3.{i}")
            if first["status"] != "prompt":
                return u, first, None
            if first["messages"] != [("echo_off", OATH_PROMPT.format(user=u))]:
                return u, first, None
            done = w.continue_raw(first["conversation"], f"jar-{i}", 1, [totp(w.keys[u])])
            return u, first, done

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(one, range(n)))
        conversations = set()
        jtis = set()
        for u, first, done in results:
            self.assertIsNotNone(done, (u, first))
            self.assertEqual(done["status"], "ok", (u, done, w.log_text()[-3000:]))
            claims = w.claims(done["token"])
            self.assertEqual(claims["email"], f"{u}@acme.test")
            self.assertEqual(claims["external_id"], str(3000 + users.index(u)))
            conversations.add(first["conversation"])
            jtis.add(claims["jti"])
        self.assertEqual(len(conversations), n, "every sign-in its own conversation id")
        self.assertEqual(len(jtis), n)


if __name__ == "__main__":
    unittest.main()
