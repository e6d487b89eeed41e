# SPDX-License-Identifier: BSD-3-Clause
"""The OTP stack as examples/pam.d/zendesk-sso-otp's comments set it up:
the users file /var/lib/zendesk-sso/otp/USER.oath, owner and group
zendesk-sso, and the broker's otp.conf drop-in linked in. Then: password,
the code on its own page, a token; the counter written, so the same code is
refused the second time; a right code is not counted by pam_faillock.
Before that, what broke (issue 21): under the shipped unit alone, and with
the drop-in but the file's group root (the example's old setup), the right
code is refused, because pam_oath cannot rewrite its file (fchown EPERM)."""
import os
import pwd
import grp
import subprocess
import time
from pathlib import Path
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
key = (user.encode() * 20)[:20].hex()
otp_dir = Path("/var/lib/zendesk-sso/otp")
users_file = otp_dir / f"{user}.oath"
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-otp")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/otp.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
t.check(example.exists() and shipped.exists(), f"the package ships {example} and {shipped}")
t.check(f"usersfile={otp_dir}/${{USER}}.oath" in example.read_text(), "the example's users file is under /var/lib/zendesk-sso/otp")
broker = pwd.getpwnam("zendesk-sso")


def users_file_as_the_example_says(group):
    t.run(["install", "-d", "-o", "zendesk-sso", "-g", "zendesk-sso", "-m", "0700", str(otp_dir)])   # as the example says: the inner folder only
    users_file.write_text(f"HOTP/T30/6 {user} - {key}\n")
    os.chown(users_file, broker.pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(users_file, 0o600)


def code():
    return subprocess.run(["oathtool", "--totp", key], capture_output=True, text=True).stdout.strip()


def wait_for_a_fresh_step():
    """pam_oath takes each code once: start at the beginning of a 30 s step,
    so the code used below is still valid for the replay."""
    t.wait_until(lambda: int(time.time()) % 30 < 20, 31)


def sign_in_with_code(z):
    """(prompts, reply to the right code, the code) of one sign-in."""
    wait_for_a_fresh_step()
    b = t.Browser()
    page = b.sign_in(user, pw)
    prompts = t.Browser.prompts(page)
    now = code()
    return prompts, (b.answer(page, now) if prompts else page), now


t.write_pam_service(example.read_text())
users_file_as_the_example_says("zendesk-sso")
with t.standin() as z:
    # Before: the shipped unit alone (what the example's old comments set up, plus /var/lib).
    c = t.cursor()
    prompts, reply, _ = sign_in_with_code(z)
    # pam_oath's prompt gets the friendly, translated label (issue 25.11).
    t.check(prompts == ["One-time code"], f"the password is followed by the code page ({prompts})")
    t.check(t.accepted(z, reply) is None, f"without the drop-in the right code is refused ({reply.status}): the shipped unit stays closed")
    t.wait_until(lambda: "pam_oath" in t.journal(t.BROKER, since=c), 10)
    note = [l for l in t.journal(t.BROKER, since=c).splitlines() if "oath" in l.lower() or "bad_login" in l]
    t.note("without the drop-in, the journal says: " + " | ".join(note[-2:]))
    t.run(["faillock", "--dir", "/run/zendesk-sso/faillock", "--user", user, "--reset"])

    # The drop-in linked in, as its comment says.
    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "otp.conf").symlink_to(shipped)
    t.systemctl("daemon-reload")
    t.stop_broker()
    s = t.show(t.BROKER, "StateDirectory", "StateDirectoryMode", "SystemCallFilter", "PrivateNetwork")
    t.check(s["StateDirectory"] == "zendesk-sso/otp", f"StateDirectory with the drop-in ({s['StateDirectory']})")
    t.check(s["PrivateNetwork"] == "yes", "the rest of the sandbox stays (PrivateNetwork=yes)")

    # The example's old setup: the file's group root. Refused even with the drop-in.
    users_file_as_the_example_says("root")
    c = t.cursor()
    _, reply, _ = sign_in_with_code(z)
    t.check(t.accepted(z, reply) is None, f"with the users file's group root the right code is refused ({reply.status})")
    t.run(["faillock", "--dir", "/run/zendesk-sso/faillock", "--user", user, "--reset"])

    # As the example says now: owner and group zendesk-sso.
    users_file_as_the_example_says("zendesk-sso")
    before = users_file.read_text()
    c = t.cursor()
    prompts, done, now = sign_in_with_code(z)
    st = os.stat(otp_dir)
    t.check((st.st_uid, st.st_gid, st.st_mode & 0o7777) == (broker.pw_uid, broker.pw_gid, 0o700),
            f"/var/lib/zendesk-sso/otp is zendesk-sso:zendesk-sso 0700 ({st.st_uid}:{st.st_gid} {st.st_mode & 0o7777:o})")
    t.check(t.accepted(z, done) is not None, f"with the drop-in the right code gets a token ({done.status})")
    t.check(users_file.read_text() != before, "pam_oath recorded the used code in the users file")
    fs = os.stat(users_file)
    t.check((fs.st_uid, fs.st_gid) == (broker.pw_uid, broker.pw_gid), "the rewritten file keeps owner and group zendesk-sso")
    # The drop-in claims otp/ alone: the folder above stays root's 0755 and
    # the metrics files in it keep their owners (the CGI reads them, sync
    # writes its own), after the broker started with it.
    top, sync_file = os.stat("/var/lib/zendesk-sso"), os.stat("/var/lib/zendesk-sso/metrics/sync")
    t.check((top.st_uid, top.st_mode & 0o7777) == (0, 0o755),
            f"/var/lib/zendesk-sso stays root's, 0755 ({top.st_uid} {top.st_mode & 0o7777:o})")
    t.check((sync_file.st_uid, sync_file.st_gid) == (0, broker.pw_gid),
            f"metrics/sync keeps root:zendesk-sso ({sync_file.st_uid}:{sync_file.st_gid})")
    print(t.journal(t.BROKER, since=c), end="")
    b2 = t.Browser()
    page = b2.sign_in(user, pw)
    again = b2.answer(page, now) if t.Browser.prompts(page) else page
    t.check(again.status != 200 or not t.delivered(again), f"the same code again is refused ({again.status})")
    t.check(t.faillock_failures(user) <= 1, "a right code is not counted as a failure")
t.finish()
