# SPDX-License-Identifier: BSD-3-Clause
"""The glued OTP stack (examples/pam.d/zendesk-sso-otp-glued,
pam_google_authenticator forward_pass) as its comments set it up: the
secret /var/lib/zendesk-sso/otp/USER written by google-authenticator, owner
and group zendesk-sso, and the broker's otp-glued.conf drop-in linked in.
Then: password and code typed together in the one password field, a token;
the same code again is refused (the module rewrote its file). Before that,
what broke (issue 21): under the shipped unit alone the right password and
code are refused, because the module's setfsuid gets EPERM."""
import os
import pwd
import subprocess
import time
from pathlib import Path
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
otp_dir = Path("/var/lib/zendesk-sso/otp")
secret = otp_dir / user
example = Path("/usr/share/doc/zendesk-sso/examples/pam.d/zendesk-sso-otp-glued")
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/otp-glued.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
t.check(example.exists() and shipped.exists(), f"the package ships {example} and {shipped}")
broker = pwd.getpwnam("zendesk-sso")

# As the example's comment says.
t.run(["install", "-d", "-o", "zendesk-sso", "-g", "zendesk-sso", "-m", "0700", str(otp_dir)])   # as the example says: the inner folder only
made = t.run(["google-authenticator", "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-Q", "NONE", "-q",
              "-s", str(secret)])
t.check(made.returncode == 0 and secret.exists(), f"google-authenticator wrote {secret} ({made.stderr.strip()[:200]})")
t.run(["chown", "zendesk-sso:zendesk-sso", str(secret)])
base32 = secret.read_text().splitlines()[0].strip()
t.write_pam_service(example.read_text())


def code():
    return subprocess.run(["oathtool", "--totp", "-b", base32], capture_output=True, text=True).stdout.strip()


def wait_for_a_fresh_step():
    t.wait_until(lambda: int(time.time()) % 30 < 20, 31)


with t.standin() as z:
    c = t.cursor()
    wait_for_a_fresh_step()
    reply = t.sign_in(user, pw + code())
    t.check(t.accepted(z, reply) is None, f"without the drop-in password+code are refused ({reply.status}): the shipped unit stays closed")
    t.wait_until(lambda: "google_authenticator" in t.journal(t.BROKER, since=c), 10)
    lines = [l for l in t.journal(t.BROKER, since=c).splitlines() if "google_authenticator" in l]
    t.note("without the drop-in, the journal says: " + " | ".join(lines[-2:]))

    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "otp-glued.conf").symlink_to(shipped)
    t.systemctl("daemon-reload")
    t.stop_broker()
    before = secret.read_text()
    c = t.cursor()
    wait_for_a_fresh_step()
    now = code()
    reply = t.sign_in(user, pw + now)
    t.check(t.accepted(z, reply) is not None, f"with the drop-in password+code in one field get a token ({reply.status})")
    print(t.journal(t.BROKER, since=c), end="")
    t.check(secret.read_text() != before, "the module recorded the used code in its file")
    st = os.stat(secret)
    t.check((st.st_uid, st.st_gid, st.st_mode & 0o777) == (broker.pw_uid, broker.pw_gid, 0o400) or
            (st.st_uid, st.st_gid) == (broker.pw_uid, broker.pw_gid),
            f"the rewritten secret is still zendesk-sso's ({st.st_uid}:{st.st_gid} {st.st_mode & 0o777:o})")
    again = t.sign_in(user, pw + now)
    t.check(t.accepted(z, again) is None, f"the same code again is refused ({again.status})")
    wrong = t.sign_in(user, "not-the-password" + code())
    t.check(wrong.status == 401, f"a wrong password with a right code is refused ({wrong.status})")
t.finish()
