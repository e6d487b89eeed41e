# SPDX-License-Identifier: BSD-3-Clause
"""The broker protocol written again from its description in
core/include/zsso/broker_protocol.hpp, independently of the C++ code, so the
tests speak to zendesk-sso-authd the way any client could (and can send it
what no well-behaved client would)."""

import ctypes
import os
import shutil
import signal
import socket
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from zsso_e2e import private_tmp_supported, work_root  # noqa: E402,F401  (re-exported)

MAGIC = b"ZSB2"
MAX_REQUEST = 8 * 1024
STATUS = ["ok", "bad_login", "not_allowed", "unavailable", "error", "prompt"]
DETAIL = ["none", "malformed", "too_large", "timeout", "peer_refused", "config",
          "unknown_profile", "remote_user_disabled", "pam", "internal", "busy",
          "conversation", "password_expired", "timeout_prompt", "limited", "key_required",
          "passwordless_off"]
USER, PASSWORD, ADDRESS, PROFILE, REQUEST_ID, FLAGS, BINDING, CONVERSATION, STEP, ANSWERS = range(1, 11)
SESSION = 11         # request: a session sign-in's cookie (flag value 4)
KEY_ASSERTION = 12   # request: a key step's answer (issue 23)
KEY_CHALLENGE = 10   # response: a key step
KEY_REGISTRATION = 13   # request: a key registration step's answer (enrolment, issue 23 slice 4)
KEY_REMOVAL = 14        # request: instead, a listed key's short id to remove
REGISTRATION = 11    # response: a key registration step
KEYS = 12            # response: the account's keys (with 11, and an enrolment's ok)
FLAG_ENROL = 8
FLAG_PASSKEY = 16    # a passkey sign-in: no user or password (issue 23 slice 5)
VERIFICATION = ["discouraged", "preferred", "required"]
KINDS = {1: "echo_off", 2: "echo_on", 3: "info", 4: "error"}


def field(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(value)) + value


def frame(body):
    return MAGIC + struct.pack(">I", len(body)) + body


def request_body(user, password, address="10.1.2.3", profile=None, request_id=None,
                 remote_user=False, binding=None, enrol=False):
    body = field(USER, user) + field(PASSWORD, password) + field(ADDRESS, address)
    if profile is not None:
        body += field(PROFILE, profile)
    if request_id is not None:
        body += field(REQUEST_ID, request_id)
    body += field(FLAGS, bytes([(1 if remote_user else 0) | (FLAG_ENROL if enrol else 0)]))
    if binding is not None:
        body += field(BINDING, binding)
    return body


def session_body(cookie, address="10.1.2.3", profile=None):
    """A sign-in from a session cookie: no user or password (issue 13)."""
    body = field(ADDRESS, address)
    if profile is not None:
        body += field(PROFILE, profile)
    return body + field(FLAGS, bytes([4])) + field(SESSION, cookie)


def passkey_body(binding, address="10.1.2.3", profile=None, request_id=None):
    """A passkey sign-in's start: the binding, no user or password (issue 23 slice 5)."""
    body = field(ADDRESS, address)
    if profile is not None:
        body += field(PROFILE, profile)
    if request_id is not None:
        body += field(REQUEST_ID, request_id)
    return body + field(FLAGS, bytes([FLAG_PASSKEY])) + field(BINDING, binding)


def ping_body():
    """A health check: the broker's peer, config and secret only (answered by the listener)."""
    return field(USER, "-") + field(PASSWORD, "") + field(ADDRESS, "") + field(FLAGS, bytes([2]))


def chunks(parts):
    """Each part as u16 length and bytes, run together."""
    parts = [p.encode() if isinstance(p, str) else p for p in parts]
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


def continue_body(conversation, binding, step, answers=(), address="10.1.2.3", request_id=None, key=None,
                  registration=None, removal=None):
    """The next step of a conversation: sent to conversation_path(), not the broker's socket.
    key: a key step's answer instead of answers, (credential id, clientDataJSON,
    authenticatorData, signature[, userHandle])."""
    body = field(ADDRESS, address)
    if request_id is not None:
        body += field(REQUEST_ID, request_id)
    body += field(BINDING, binding) + field(CONVERSATION, conversation) + field(STEP, bytes([step]))
    if key is not None:
        return body + field(KEY_ASSERTION, chunks(key))
    if registration is not None:   # (clientDataJSON, attestationObject, invite code)
        return body + field(KEY_REGISTRATION, chunks(registration))
    if removal is not None:
        return body + field(KEY_REMOVAL, removal)
    return body + field(ANSWERS, chunks(answers))


def conversation_path(broker_socket, conversation):
    """Where the broker child holding a conversation listens: conv/ beside the socket."""
    return os.path.join(os.path.dirname(broker_socket), "conv", conversation.hex())


def request(*args, **kw):
    return frame(request_body(*args, **kw))


def connect(path, timeout=60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_response(s):
    """{'status': name, 'detail': name, 'token': str or None}; raises on a bad frame."""
    header = recv_exact(s, 8)
    if header[:4] != MAGIC:
        raise ValueError(f"bad magic {header[:4]!r}")
    (length,) = struct.unpack(">I", header[4:])
    body = recv_exact(s, length)
    out = {"token": None, "messages": [], "conversation": None, "step": None}
    pos = 0
    while pos < len(body):
        tag, n = struct.unpack(">BH", body[pos:pos + 3])
        value = body[pos + 3:pos + 3 + n]
        pos += 3 + n
        if tag == 1:
            out["status"] = STATUS[value[0]]
        elif tag == 2:
            out["detail"] = DETAIL[value[0]]
        elif tag == 3:
            out["token"] = value.decode()
        elif tag == 4:
            out["conversation"] = bytes(value)
        elif tag == 7:
            out["cause"] = value.decode()
        elif tag == 9:
            out["user"] = value.decode()
        elif tag == 8:
            out["session"] = value.decode()
        elif tag == 5:
            out["step"] = value[0]
        elif tag == KEY_CHALLENGE:
            parts, i = [], 1
            while i < len(value):
                (n,) = struct.unpack(">H", value[i:i + 2])
                parts.append(bytes(value[i + 2:i + 2 + n]))
                i += 2 + n
            out["key"] = {"user_verification": VERIFICATION[value[0]], "challenge": parts[0],
                          "rp_id": parts[1].decode(), "credential_ids": parts[2:]}
        elif tag == REGISTRATION:
            parts, i = [], 2
            while i < len(value):
                (n,) = struct.unpack(">H", value[i:i + 2])
                parts.append(bytes(value[i + 2:i + 2 + n]))
                i += 2 + n
            out["registration"] = {"user_verification": VERIFICATION[value[0]], "invite_needed": value[1] == 1,
                                   "challenge": parts[0], "rp_id": parts[1].decode(), "user_handle": parts[2],
                                   "user_name": parts[3].decode(), "exclude_ids": parts[4:]}
        elif tag == KEYS:
            parts, i = [], 0
            while i < len(value):
                (n,) = struct.unpack(">H", value[i:i + 2])
                parts.append(bytes(value[i + 2:i + 2 + n]).decode())
                i += 2 + n
            out["keys"] = list(zip(parts[0::2], parts[1::2]))
        elif tag == 6:
            i = 0
            while i < len(value):
                kind, n = struct.unpack(">BH", value[i:i + 3])
                out["messages"].append((KINDS[kind], value[i + 3:i + 3 + n].decode()))
                i += 3 + n
        else:
            raise ValueError(f"unknown response field {tag}")
    return out


def exchange(path, data, half_close=False, timeout=60):
    """Sends raw bytes, returns the response (and whether the broker then closed)."""
    with connect(path, timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the broker may answer (a refusal) before reading it all: read the answer

        resp = read_response(s)
        s.settimeout(timeout)
        try:
            resp["closed_after"] = s.recv(1) == b""
        except ConnectionResetError:
            resp["closed_after"] = True
        return resp


def die_with_parent():
    """preexec_fn for a broker the test starts: SIGTERM when the test process
    dies, so a killed test leaves no broker behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def with_private_tmp(argv, tmp_dir):
    """argv run with its own /tmp (tmp_dir bind-mounted there) when we may:
    pam_wrapper gives each PAM process one of a few dozen /tmp/pam.X dirs,
    chosen without locking, so a broker's children and other suites'
    pamtester runs could take the same one. Whatever the broker must share
    with the test lives under work_root() (/var/tmp then), not /tmp."""
    if not private_tmp_supported():
        return list(argv)
    Path(tmp_dir).mkdir(exist_ok=True)
    os.chmod(tmp_dir, 0o1777)
    # unshare execs sh, which execs argv: the pid stays the broker's.
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /tmp && exec "$@"', str(tmp_dir), *argv]


def stage(path, dir):
    """A copy of a built file in dir, mode 0755: the build tree may be out of
    reach of another uid, or under a /tmp that with_private_tmp hides."""
    Path(dir).mkdir(parents=True, exist_ok=True)
    target = Path(dir) / Path(path).name
    shutil.copy(path, target)
    os.chmod(target, 0o755)
    # A direct-mode client (the CGI, broker_login_tool) loads the module beside it.
    module = Path(path).parent / "zendesk-sso-direct.so"
    if module.exists() and Path(path).name != module.name:
        shutil.copy(module, Path(dir) / module.name)
        os.chmod(Path(dir) / module.name, 0o644)
    return str(target)
