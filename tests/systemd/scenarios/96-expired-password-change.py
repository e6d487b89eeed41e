# SPDX-License-Identifier: BSD-3-Clause
"""Changing an expired /etc/shadow password on the sign-in pages, the
opt-in as the admin guide ("Expired passwords") sets it up:
broker.change_expired_passwords, "password required pam_unix.so obscure
yescrypt" in the shipped stack, and the broker's password-change.conf
drop-in linked in. The person answers pam_unix's prompts (current password,
new twice) and gets a token; only the new password works afterwards and it
is no longer expired; /etc/shadow keeps root:shadow 0640.
Before that, what broke (issue 21): the guide's old recipe ("User=root,
ReadWritePaths=/etc" in systemctl edit) under the shipped unit cannot write
/etc/shadow (pam_unix's fchown gets EPERM from ~@privileged); the person is
asked, nothing changes, and the page says the password expired."""
import os
import re
import grp
from pathlib import Path
import zsso_systemd as t

user, old = t.TEST_USER, t.password()
new = "Nw-" + os.urandom(12).hex()
shipped = Path("/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/password-change.conf")
dropins = Path("/etc/systemd/system/zendesk-sso-authd.service.d")
t.check(shipped.exists(), f"the package ships {shipped}")
stack = t.PAM_SERVICE.read_text()
t.check("password required                  pam_deny.so" in stack, "the shipped stack's password line is pam_deny")
t.write_pam_service(stack.replace("password required                  pam_deny.so",
                                  "password required pam_unix.so obscure yescrypt"))
t.edit_config(lambda c: c.setdefault("broker", {}).update(change_expired_passwords=True))


def walk(b, page):
    """Answers pam_unix's prompts until the sign-in ends; (last reply, labels asked)."""
    asked = []
    for _ in range(12):
        labels = t.Browser.prompts(page)
        if labels is None:
            return page, asked
        asked += labels
        page = b.answer(page, *[old if re.search("current", l, re.I) else new for l in labels])
    return page, asked


def shadow_mode():
    st = os.stat("/etc/shadow")
    return st.st_uid, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o7777


with t.standin() as z:
    # Before: the guide's old recipe.
    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "override.conf").write_text("[Service]\nUser=root\nReadWritePaths=/etc\n")
    t.systemctl("daemon-reload")
    t.stop_broker()
    t.run(["chage", "-d", "0", user])
    c = t.cursor()
    b = t.Browser()
    done, asked = walk(b, b.sign_in(user, old))
    t.check(any(re.search("new", l, re.I) for l in asked), f"the old recipe asks for a new password ({asked[:3]})")
    t.check(t.accepted(z, done) is None, f"the old recipe changes nothing and signs nobody in ({done.status})")
    t.check("password must be changed" in t.run(["chage", "-l", user]).stdout, "the password is still expired")
    t.check("password has expired" in done.body and "may not sign in" not in done.body,
            "the page says the password expired (not \"may not sign in\")")
    t.wait_until(lambda: "pam_chauthtok" in t.journal(t.BROKER, since=c), 10)
    lines = [l for l in t.journal(t.BROKER, since=c).splitlines() if "chauthtok" in l or "pam_unix" in l]
    t.note("the old recipe, the journal says: " + " | ".join(lines[-2:]))
    (dropins / "override.conf").unlink()

    # The shipped drop-in.
    (dropins / "password-change.conf").symlink_to(shipped)
    t.systemctl("daemon-reload")
    t.stop_broker()
    t.run(["faillock", "--dir", "/run/zendesk-sso/faillock", "--user", user, "--reset"])
    before = shadow_mode()
    c = t.cursor()
    b = t.Browser()
    done, asked = walk(b, b.sign_in(user, old))
    t.check(any(re.search("current", l, re.I) for l in asked) and any(re.search("new", l, re.I) for l in asked),
            f"pam_unix's prompts were asked on the pages ({asked})")
    t.check(t.accepted(z, done) is not None, f"the new password is set and the person signed in ({done.status})")
    print(t.journal(t.BROKER, since=c), end="")
    t.check("password must be changed" not in t.run(["chage", "-l", user]).stdout, "the password is no longer expired")
    t.check(shadow_mode() == before == (0, "shadow", 0o640), f"/etc/shadow stays root:shadow 0640 ({shadow_mode()})")
    who = t.run(["ps", "-o", "user=", "-p", t.show(t.BROKER, "MainPID")["MainPID"]]).stdout.strip()
    t.check(who == "root", f"the broker runs as root with this drop-in ({who})")
    t.check(t.sign_in(user, old).status == 401, "the old password no longer works")
    t.check(t.accepted(z, t.sign_in(user, new)) is not None, "the new password signs in")
t.finish()
