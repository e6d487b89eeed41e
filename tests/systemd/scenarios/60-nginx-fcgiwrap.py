#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""nginx + fcgiwrap as README.Debian says (fcgiwrap.socket enabled, the
package's snippets included in a server block): the CGI runs as www-data
under fcgiwrap and signs in through the same broker. Test-only: the server
listens on 127.0.0.1:8080 without TLS (Apache has port 80; the stand-in
client speaks plain HTTP), nginx's default site is off, and the Zendesk
endpoint is the stand-in (one fastcgi_param added to the fastcgi snippet)."""
import os
from pathlib import Path
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
base = "http://127.0.0.1:8080/zendesk"
t.check(t.systemctl("enable", "--now", "fcgiwrap.socket").returncode == 0, "systemctl enable --now fcgiwrap.socket")
Path("/etc/nginx/sites-available/zsso-test").write_text(
    "server {\n    listen 127.0.0.1:8080;\n    server_name localhost;\n"
    "    include snippets/zendesk-sso.conf;\n}\n")
os.symlink("/etc/nginx/sites-available/zsso-test", "/etc/nginx/sites-enabled/zsso-test")
if os.path.lexists("/etc/nginx/sites-enabled/default"):
    os.unlink("/etc/nginx/sites-enabled/default")
with open("/etc/nginx/snippets/zendesk-sso-fastcgi.conf", "a") as f:
    f.write(f'fastcgi_param ZENDESK_SSO_ENDPOINT_OVERRIDE "{t.STANDIN_URL}";\n')
r = t.run(["nginx", "-t"])
t.check(r.returncode == 0, "nginx -t accepts the snippets" + ("" if r.returncode == 0 else ": " + r.stderr))
t.check(t.systemctl("start", "nginx").returncode == 0, "systemctl start nginx")
with t.standin() as z:
    health = t.e2e.fetch("GET", base + "/health")
    t.check((health.status, health.body.strip()) == (200, "ok"), f"GET /zendesk/health through nginx: {health.status}")
    reply = t.sign_in(user, pw, base=base)
    t.check(t.accepted(z, reply) is not None, f"a password sign-in through nginx + fcgiwrap gets a token ({reply.status})")
    bad = t.sign_in(user, pw + "x", base=base)
    t.check(bad.status == 401, f"a wrong password through nginx: 401 ({bad.status})")
    t.check(t.show("fcgiwrap.service", "ActiveState")["ActiveState"] == "active", "fcgiwrap.service was socket-started")
t.finish()
