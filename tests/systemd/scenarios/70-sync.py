#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""zendesk-sso-sync.service and .timer under their shipped sandbox
(DynamicUser=, groups zendesk-sso and shadow, ProtectSystem=strict, ...)
against the loopback users-API stand-in of tests/sync, set up as
README.Debian step 5 says: the token root:zendesk-sso 0640, the "api"
section, a dry run, then the service applies. Test-only: a drop-in points
the service at the stand-in (ZENDESK_SSO_ENDPOINT_OVERRIDE)."""
import grp
import re
import sys
import time
import urllib.request
from pathlib import Path
import zsso_systemd as t

sys.path.insert(0, "/src/tests/sync")
from zendesk_users_standin import Standin  # noqa: E402

TOKEN = "zd-api-token-" + "0123456789abcdef" * 2
ADMIN = f"sync-admin@{t.EMAIL_DOMAIN}"
TOKEN_FILE = "/etc/zendesk-sso/api-token"
SERVICE = "zendesk-sso-sync.service"
DROPIN = Path(f"/etc/systemd/system/{SERVICE}.d/zsso-test-standin.conf")


def zd(uid, name, domain=t.EMAIL_DOMAIN):
    return {"id": uid, "email": f"{name}@{domain}", "external_id": name, "role": "end-user",
            "suspended": False, "active": True, "name": name}


t.make_user("zsso-locked", "Locked Person")
t.run(["usermod", "-L", "zsso-locked"])
users = [zd(1, t.TEST_USER),            # present: kept
         zd(2, "zsso-departed"),        # no account: suspended
         zd(3, "zsso-locked"),          # locked (needs group shadow): suspended
         zd(4, "vendor", "partner.example")]   # another domain: not ours
t.run(["install", "-m", "0640", "-o", "root", "-g", "zendesk-sso", "/dev/null", TOKEN_FILE])
Path(TOKEN_FILE).write_text(TOKEN + "\n")
t.edit_config(lambda c: c.update(api={"token_file": TOKEN_FILE, "email": ADMIN,
                                      "email_domains": [t.EMAIL_DOMAIN], "max_change_fraction": 1},
                                 metrics={"enabled": True}))
LAST_RUN = Path("/var/lib/zendesk-sso/metrics/sync")


def last_run():
    """The sync's gauges in GET /zendesk/metrics (the CGI reads the unit's file)."""
    with urllib.request.urlopen(t.BASE + "/metrics", timeout=30) as r:
        text = r.read().decode()
    return {k: int(v) for k, v in re.findall(r"^zendesk_sso_sync_last_run_(\w+) (\d+)$", text, re.M)}
with Standin(users, email=ADMIN, token=TOKEN) as api:
    dry = t.run(["env", f"ZENDESK_SSO_ENDPOINT_OVERRIDE={api.origin}", "zendesk-sso", "sync"])
    print(dry.stdout + dry.stderr, end="")
    t.check(dry.returncode == 0 and not api.puts(), "the dry run (root, from the shell) changes nothing")
    st = LAST_RUN.stat()
    t.check((st.st_uid, st.st_gid, st.st_mode & 0o7777, st.st_size) == (0, grp.getgrnam("zendesk-sso").gr_gid, 0o664, 0)
            and last_run() == {}, "the dry run is not recorded; the package's file is root:zendesk-sso 0664, empty")
    started = int(time.time())
    DROPIN.parent.mkdir(parents=True, exist_ok=True)
    DROPIN.write_text(f"[Service]\nEnvironment=ZENDESK_SSO_ENDPOINT_OVERRIDE={api.origin}\n")
    t.systemctl("daemon-reload")
    c = t.cursor()
    r = t.systemctl("start", SERVICE)
    s = t.show(SERVICE, "Result", "ExecMainStatus", "DynamicUser")
    log = t.journal(SERVICE, since=c)
    print(log, end="")
    t.check(r.returncode == 0 and s["Result"] == "success", f"systemctl start {SERVICE} succeeds ({s})")
    state = {u["email"].split("@")[0]: u["suspended"] for u in api.users.values()}
    t.check(state == {t.TEST_USER: False, "zsso-departed": True, "zsso-locked": True, "vendor": False},
            f"it suspended the departed and the locked account, nothing else ({state})")
    t.check("sync (apply)" in log, "its summary line is in the journal")
    got = last_run()
    t.check(got.get("timestamp_seconds", 0) >= started and
            {k: v for k, v in got.items() if k != "timestamp_seconds"} == {"changes": 2, "failures": 0, "braked": 0},
            f"its last run, written by the unit's dynamic user through ReadWritePaths=, in /metrics ({got})")
    t.check("not recorded" not in log, "no warning about the last-run file")
    r = t.systemctl("enable", "--now", "zendesk-sso-sync.timer")
    s = t.show("zendesk-sso-sync.timer", "ActiveState", "NextElapseUSecRealtime", "Triggers")
    t.check(r.returncode == 0 and s["ActiveState"] == "active" and s["NextElapseUSecRealtime"]
            and SERVICE in s["Triggers"], f"systemctl enable --now zendesk-sso-sync.timer: {s}")
t.finish()
