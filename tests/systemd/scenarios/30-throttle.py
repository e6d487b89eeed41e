#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The broker's own per-address throttle (broker.max_failures): after that
many failures of one account from one address, that pair is refused without
asking PAM (it looks like a wrong password); the same account from another
address still signs in. It keeps its state in /run/zendesk-sso/throttle
(RuntimeDirectory=). max_failures 2 here, below faillock's deny=3, so the
throttle acts first."""
import os
import zsso_systemd as t

user, pw = t.TEST_USER, t.password()
t.edit_config(lambda c: c.setdefault("broker", {}).update(max_failures=2))
with t.standin() as z:
    for _ in range(2):
        r = t.sign_in(user, pw + "x", source="127.0.0.2")
        t.check(r.status == 401, f"a wrong password from 127.0.0.2: 401 ({r.status})")
    held = t.faillock_failures(user)
    refused = t.sign_in(user, pw, source="127.0.0.2")
    t.check(refused.status == 401 and not t.delivered(refused),
            f"then the right password from 127.0.0.2 is refused like a wrong one ({refused.status})")
    t.check(t.faillock_failures(user) == held, "... without asking PAM (faillock counted nothing more)")
    t.check(any(os.scandir("/run/zendesk-sso/throttle")), "the throttle keeps state in /run/zendesk-sso/throttle")
    t.check(t.accepted(z, t.sign_in(user, pw, source="127.0.0.3")) is not None,
            "the same account from 127.0.0.3 signs in")
t.finish()
