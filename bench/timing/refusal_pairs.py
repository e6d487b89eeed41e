#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Does the time of a refusal tell which accounts exist? (issue 22, point 3)

The attack the issue measured: send two sign-ins to the broker at the same
moment, one for an existing local account with a wrong password and one for
a name that does not exist, and compare when each answer comes back. libpam
seeds its delay jitter with the second the transaction began, so both get
the same delay and only the work before it differs (the password hash,
which only the existing account reaches).

Root only. Creates a throwaway local account with a password (useradd,
chpasswd) and a PAM service in /etc/pam.d made from the shipped
local-accounts stack (examples/pam.d/zendesk-sso: pam_zendesk, pam_faillock
with its own folder and a threshold the pairs never reach, pam_unix), starts
zendesk-sso-authd as root on a private socket for each build measured, and
removes everything afterwards. Requests go over the broker's own protocol
(tests/broker/broker_wire.py), the way the CGI sends them.

For each pair: difference = time(existing, wrong password) - time(unknown
name), each measured from its own send to its answer. Printed per build: the
median difference, the interquartile range, and how many pairs were
positive (the existing account answered later). With no signal the sign
count is near half the pairs and the median near 0.

  sudo /usr/bin/python3 bench/timing/refusal_pairs.py --build build \\
      [--baseline-build ../main/build] [--pairs 20] [--json FILE]
"""

import argparse
import json
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE / "tests" / "broker"))
import broker_wire as wire  # noqa: E402

PASSWORD = "Tp-c0rrect-Horse-7"
SECRET = "Zx8cV7bN6mQ5wE4rT3yU2iO1pA0sD9fG8hJ7kL6zX5cV4bN3"
TAG = f"zsso-tp-{os.getpid()}"


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {p.stderr}")


def shipped_stack(module, config, tally):
    text = (SOURCE / "examples" / "pam.d" / "zendesk-sso").read_text()
    text = re.sub(r"^(\S+\s+\S+\s+)pam_zendesk\.so\b", rf"\g<1>{module} config={config}", text, flags=re.M)
    return text.replace("dir=/run/zendesk-sso/faillock", f"dir={tally} deny=100000")


class Broker:
    """One build's broker and PAM module on a private socket and service."""

    def __init__(self, build, name, work, user):
        self.name = name
        self.dir = work / name
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)
        authd = wire.stage(Path(build) / "helper" / "authd" / "zendesk-sso-authd", self.dir / "bin")
        module = wire.stage(Path(build) / "pam_module" / "pam_zendesk.so", self.dir / "lib")
        tally = self.dir / "faillock"
        tally.mkdir(mode=0o700)
        secret = self.dir / "secret"
        secret.write_text(SECRET + "\n")
        os.chmod(secret, 0o600)
        self.socket = str(self.dir / "authd.sock")
        self.service = f"{TAG}-{name}"
        self.service_path = Path("/etc/pam.d") / self.service
        config = self.dir / "config.json"
        config.write_text(json.dumps({
            "zendesk": {"subdomain": "acme", "secret_file": str(secret)},
            "network": {"ip_ranges": ["127.0.0.0/8"]},
            "access": {"min_uid": 1000},
            "claims": {"email": "{user}@example.test", "name": "{gecos}"},
            "pam": {"service": self.service},
            # The per-address throttle would turn every wrong password into a
            # throttled refusal after a few pairs: off, to measure PAM's answers.
            "broker": {"socket": self.socket, "allowed_peers": ["root"], "max_failures": 0},
        }))
        self.service_path.write_text(shipped_stack(module, config, tally))
        self.log_path = self.dir / "authd.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([authd, "--config", str(config), "--listen", self.socket, "--log-stderr"],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                     env={"PATH": "/usr/bin:/bin"}, preexec_fn=wire.die_with_parent)
        end = time.monotonic() + 30
        while "listening on" not in self.log_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"{name}: broker did not start: {self.log_path.read_text()}")
            time.sleep(0.02)
        ok = self.sign_in(user, PASSWORD)[0]
        if ok["status"] != "ok":
            raise SystemExit(f"{name}: the control sign-in failed: {ok} {self.log_path.read_text()}")

    def sign_in(self, user, password, barrier=None):
        data = wire.request(user, password, address="127.0.0.1")
        with wire.connect(self.socket, timeout=60) as s:
            if barrier:
                barrier.wait()
            start = time.monotonic()
            s.sendall(data)
            resp = wire.read_response(s)
            return resp, time.monotonic() - start

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.log.close()
        self.service_path.unlink(missing_ok=True)


def pair(broker, existing, unknown):
    """Both sent at the same moment; returns time(existing) - time(unknown)."""
    barrier = threading.Barrier(2)
    out = {}

    def one(kind, user):
        resp, seconds = broker.sign_in(user, "not-" + PASSWORD, barrier)
        if resp["status"] != "bad_login":
            raise SystemExit(f"{broker.name}: {kind} answered {resp}")
        out[kind] = seconds

    threads = [threading.Thread(target=one, args=("existing", existing)),
               threading.Thread(target=one, args=("unknown", unknown))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out["existing"] - out["unknown"]


def summary(name, diffs):
    ms = sorted(d * 1000 for d in diffs)
    q = statistics.quantiles(ms, n=4) if len(ms) >= 4 else [ms[0], statistics.median(ms), ms[-1]]
    return {"build": name, "pairs": len(ms), "median_ms": round(statistics.median(ms), 1),
            "iqr_ms": [round(q[0], 1), round(q[2], 1)], "positive": sum(d > 0 for d in ms),
            "diffs_ms": [round(d, 1) for d in ms]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the build to measure")
    ap.add_argument("--baseline-build", help="another build measured in the same run, pairs interleaved")
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it creates a local account and a PAM service, and reads /etc/shadow")

    user, unknown = f"{TAG}-u", f"{TAG}-x"
    work = Path(tempfile.mkdtemp(prefix="zsso-timing-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    brokers = []
    try:
        run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Timing Pair", user])
        run(["chpasswd"], stdin=f"{user}:{PASSWORD}\n")
        pwd.getpwnam(user)
        builds = [("after", args.build)] + ([("before", args.baseline_build)] if args.baseline_build else [])
        brokers = [Broker(b, name, work, user) for name, b in builds]
        diffs = {b.name: [] for b in brokers}
        for i in range(args.pairs):   # interleaved: load on the machine hits every build alike
            for b in brokers:
                diffs[b.name].append(pair(b, user, unknown))
        results = [summary(b.name, diffs[b.name]) for b in brokers]
        for r in results:
            print(f"{r['build']:>6}: {r['pairs']} pairs, existing - unknown: median {r['median_ms']:+.1f} ms "
                  f"(IQR {r['iqr_ms'][0]:+.1f} .. {r['iqr_ms'][1]:+.1f}), existing later in "
                  f"{r['positive']} of {r['pairs']}")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    finally:
        for b in brokers:
            b.stop()
        subprocess.run(["userdel", user], capture_output=True)
        for p in Path("/etc/pam.d").glob(TAG + "-*"):
            p.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
