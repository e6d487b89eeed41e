#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The broker's cost of a security-key sign-in beside a password sign-in
(issue 23, "Done when"; results and method in BENCHMARKS.md).

Three kinds of sign-in, driven over the broker's socket by the Python
client (tests/broker/broker_wire.py: the protocol the CGI speaks), against
the real zendesk-sso-authd in the broker tests' pam_wrapper sandbox
(pam_matrix for pam_unix; tests/broker/test_webauthn.py's KeyWorld):

  key       alice: password, then the key step (shipped zendesk-sso-webauthn
            stack; a software ES256 key; the broker verifies with libfido2
            and saves the sign count in the side file under its flock)
  otp       bob, same broker, same stack: password, then pam_oath's code
            (HOTP, so codes never repeat: pam_oath refuses a replayed code
            and rewrites its users file on each success, as with TOTP)
  password  alice, a second broker with the password-only stack

The baseline is `otp`: the key replaces the code for the same people in the
same stack, and both are two round trips to one held broker child, so the
ratio is the price of the key step against the code step it replaces.
`password` (one round trip, no second factor) is the floor under both.

Per sign-in, the broker's time is the sum of the exchanges (send to
answer; also shown apart: the password's, then the key's or the code's),
not the client's work between them (signing the challenge,
computing the code). The broker's CPU is the listener's own plus its
reaped children's (utime+stime+cutime+cstime from /proc, 10 ms ticks),
read before and after each block of one kind once its children are gone.
Rounds interleave the kinds (the order rotates), so load from other work
falls on all three alike; the ratios are per round, then the median.
Every sign-in must end with a token for the right person, or the run stops.

  /usr/bin/python3 bench/broker/key_sign_in.py --build build [--rounds 10] [--block 20] [--json FILE]
"""

import argparse
import hashlib
import hmac
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]


def hotp(key_hex, counter):
    """RFC 4226, 6 digits (what oathtool --hotp prints)."""
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


class Cleanups:
    """What the worlds register with their test case, run at the end."""

    def __init__(self):
        self.items = []

    def addCleanup(self, fn, *args, **kw):   # noqa: N802 (unittest's name)
        self.items.append((fn, args, kw))

    def run(self):
        for fn, args, kw in reversed(self.items):
            fn(*args, **kw)


def cpu_ticks(pid):
    """utime + stime + cutime + cstime of pid (the listener and the children it reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the build folder")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--block", type=int, default=20, help="sign-ins of one kind in a row")
    ap.add_argument("--json", help="write every round's figures here")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    os.environ.update(ZSSO_SOURCE_DIR=str(SOURCE),
                      ZSSO_AUTHD=str(build / "helper" / "authd" / "zendesk-sso-authd"),
                      ZSSO_BROKER_TOOL=str(build / "tests" / "broker" / "broker_login_tool"),
                      ZSSO_PAM_MODULE=str(build / "pam_module" / "pam_zendesk.so"))
    sys.path.insert(0, str(SOURCE / "tests" / "broker"))
    from test_webauthn import KeyWorld  # noqa: E402 (needs the environment above)
    import broker_wire as wire  # noqa: E402

    cleanups = Cleanups()
    try:
        keys = KeyWorld(cleanups)
        keys.oath_users.write_text(f"HOTP bob - {keys.keys['bob']}\n")
        os.chmod(keys.oath_users, 0o600)
        keys.start()
        cleanups.addCleanup(keys.stop)
        plain = KeyWorld(cleanups, webauthn=False)
        plain.set_stack(plain.sb.standard_stack())
        plain.start()
        cleanups.addCleanup(plain.stop)
        counter = [0]

        def timed(path, data):
            t0 = time.perf_counter()
            resp = wire.exchange(path, data)
            return resp, time.perf_counter() - t0

        def finish(world, resp, user):
            if resp["status"] != "ok" or world.claims(resp["token"])["email"] != f"{user}@acme.test":
                raise SystemExit(f"a {user} sign-in did not end with {user}'s token: {resp}\n{world.log_text()[-2000:]}")

        def key_sign_in():
            prompt, t1 = timed(keys.socket, wire.request("alice", "wonderland", binding="bench"))
            if "key" not in prompt:
                raise SystemExit(f"no key step: {prompt}")
            answer = keys.alice_key.assertion(prompt["key"]["challenge"])
            body = wire.continue_body(prompt["conversation"], "bench", prompt["step"], key=answer)
            resp, t2 = timed(wire.conversation_path(keys.socket, prompt["conversation"]), wire.frame(body))
            finish(keys, resp, "alice")
            return t1, t2

        def otp_sign_in():
            prompt, t1 = timed(keys.socket, wire.request("bob", "builder", binding="bench"))
            if prompt["status"] != "prompt" or "key" in prompt:
                raise SystemExit(f"no code step: {prompt}")
            code = hotp(keys.keys["bob"], counter[0])
            counter[0] += 1
            body = wire.continue_body(prompt["conversation"], "bench", prompt["step"], [code])
            resp, t2 = timed(wire.conversation_path(keys.socket, prompt["conversation"]), wire.frame(body))
            finish(keys, resp, "bob")
            return t1, t2

        def password_sign_in():
            resp, t = timed(plain.socket, wire.request("alice", "wonderland", binding="bench"))
            finish(plain, resp, "alice")
            return t, 0.0

        kinds = {"key": (keys, key_sign_in), "otp": (keys, otp_sign_in), "password": (plain, password_sign_in)}
        for world, fn in kinds.values():   # warm up: first sign-ins map the modules
            for _ in range(3):
                fn()
        hz = os.sysconf("SC_CLK_TCK")
        rounds = []
        load = os.getloadavg()[0]
        started = time.time()
        for r in range(args.rounds):
            names = list(kinds)
            names = names[r % 3:] + names[:r % 3]
            row = {}
            for name in names:
                world, fn = kinds[name]
                wire_times = []
                before = cpu_ticks(world.proc.pid)
                for _ in range(args.block):
                    wire_times.append(fn())
                deadline = time.monotonic() + 30
                while world.children() and time.monotonic() < deadline:
                    time.sleep(0.005)
                cpu = (cpu_ticks(world.proc.pid) - before) / hz / args.block
                row[name] = {"median_ms": statistics.median(a + b for a, b in wire_times) * 1e3,
                             "first_ms": statistics.median(a for a, _ in wire_times) * 1e3,
                             "second_ms": statistics.median(b for _, b in wire_times) * 1e3, "cpu_ms": cpu * 1e3}
            rounds.append(row)
            print(f"round {r + 1}: " + ", ".join(f"{n} {v['median_ms']:.2f} ms (cpu {v['cpu_ms']:.2f})"
                                                 for n, v in row.items()), flush=True)

        def summary(field, num, den):
            ratios = [row[num][field] / row[den][field] for row in rounds if row[den][field] > 0]
            return statistics.median(ratios), min(ratios), max(ratios)

        print(f"\n{args.rounds} rounds x {args.block} sign-ins per kind, load average {load:.1f} at the start, "
              f"{(time.time() - started) / 60:.1f} min, {os.cpu_count()} CPUs")
        print("| kind | broker time per sign-in | password exchange | second-factor exchange | broker CPU per sign-in |")
        print("|---|---:|---:|---:|---:|")
        for name in kinds:
            med = {f: statistics.median(r[name][f] for r in rounds) for f in ("median_ms", "first_ms", "second_ms",
                                                                              "cpu_ms")}
            print(f"| {name} | {med['median_ms']:.2f} ms | {med['first_ms']:.2f} ms | {med['second_ms']:.2f} ms "
                  f"| {med['cpu_ms']:.2f} ms |")
        for num, den in (("key", "otp"), ("key", "password"), ("otp", "password")):
            for field, what in (("median_ms", "time"), ("second_ms", "second exchange"), ("cpu_ms", "CPU")):
                if field == "second_ms" and den == "password":
                    continue
                m, lo, hi = summary(field, num, den)
                print(f"{num} / {den}, {what}: {m:.2f} ({lo:.2f}-{hi:.2f})")
        if args.json:
            Path(args.json).write_text(json.dumps({"rounds": rounds, "block": args.block, "load": load}, indent=1))
    finally:
        cleanups.run()


if __name__ == "__main__":
    main()
