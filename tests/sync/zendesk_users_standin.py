# SPDX-License-Identifier: BSD-3-Clause
"""A loopback stand-in for Zendesk's Support API users endpoints, as
developer.zendesk.com documents them:

- GET /api/v2/users(.json)?page[size]=N[&page[after]=CURSOR]: cursor
  pagination, {"users": [...], "meta": {"has_more", "after_cursor",
  "before_cursor"}, "links": {"next", "prev"}}; no page[size] is refused
  here (the real API would fall back to offset pagination).
- PUT /api/v2/users/{id}(.json) with {"user": {...}}: updates and returns
  {"user": {...}}; role is "end-user", "agent" or "admin".
- Authorization: "Basic base64(EMAIL/token:TOKEN)" or "Bearer TOKEN", else 401.
- Faults on demand: a 429 with Retry-After, or a 500, on the Nth request of
  a method.

It serves 127.0.0.1 only, keeps its users in memory, and records every
request so tests can check what the CLI did.
"""
import base64
import copy
import http.server
import json
import re
import threading
import urllib.parse


class Standin:
    def __init__(self, users, *, email=None, token=None, bearer=None, page_size=3):
        self.users = {u["id"]: dict(u) for u in users}
        self.email, self.token, self.bearer = email, token, bearer
        self.page_size = page_size
        self.next_origin = None   # a test may point links.next elsewhere
        self.faults = {}          # (method, nth request of that method) -> (status, headers)
        self.requests = []        # (method, path, status)
        self.counts = {"GET": 0, "PUT": 0}
        self.lock = threading.Lock()
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, obj=None, headers=()):
                body = json.dumps(obj if obj is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
                standin.requests.append((self.command, self.path, status))

            def authorized(self):
                got = self.headers.get("Authorization", "")
                if standin.bearer is not None:
                    return got == "Bearer " + standin.bearer
                want = base64.b64encode(f"{standin.email}/token:{standin.token}".encode()).decode()
                return got == "Basic " + want

            def handle_one(self):
                with standin.lock:
                    standin.counts[self.command] = standin.counts.get(self.command, 0) + 1
                    fault = standin.faults.pop((self.command, standin.counts[self.command]), None)
                if fault:
                    status, headers = fault
                    length = int(self.headers.get("Content-Length") or 0)
                    if length:
                        self.rfile.read(length)
                    return self.reply(status, {"error": "fault injected"}, headers)
                if not self.authorized():
                    return self.reply(401, {"error": "Couldn't authenticate you"})
                url = urllib.parse.urlsplit(self.path)
                if self.command == "GET" and re.fullmatch(r"/api/v2/users(\.json)?", url.path):
                    return self.list_users(url)
                m = re.fullmatch(r"/api/v2/users/(\d+)(\.json)?", url.path)
                if self.command == "PUT" and m:
                    return self.update_user(int(m.group(1)))
                return self.reply(404, {"error": "InvalidEndpoint"})

            def list_users(self, url):
                q = urllib.parse.parse_qs(url.query)
                if "page[size]" not in q:
                    return self.reply(400, {"error": "this stand-in speaks cursor pagination only"})
                size = min(int(q["page[size]"][0]), 100, standin.page_size)
                after = int(q.get("page[after]", ["0"])[0])
                with standin.lock:
                    ids = sorted(i for i in standin.users if i > after)
                    page = [copy.deepcopy(standin.users[i]) for i in ids[:size]]
                more = len(ids) > size
                origin = standin.next_origin or f"http://{self.headers['Host']}"
                base = f"{origin}/api/v2/users.json?page%5Bsize%5D={size}"
                last = page[-1]["id"] if page else after
                return self.reply(200, {
                    "users": page,
                    "meta": {"has_more": more, "after_cursor": str(last), "before_cursor": str(after)},
                    "links": {"next": f"{base}&page%5Bafter%5D={last}" if more else None,
                              "prev": f"{base}&page%5Bbefore%5D={after}"},
                })

            def update_user(self, uid):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    fields = json.loads(self.rfile.read(length))["user"]
                except (ValueError, KeyError, TypeError):
                    return self.reply(400, {"error": "RecordInvalid", "description": "no user object"})
                if set(fields) - {"suspended", "role"} or fields.get("role", "end-user") not in ("end-user", "agent", "admin"):
                    return self.reply(422, {"error": "RecordInvalid", "description": f"unexpected {fields!r}"})
                with standin.lock:
                    if uid not in standin.users:
                        return self.reply(404, {"error": "RecordNotFound"})
                    standin.users[uid].update(fields)
                    user = copy.deepcopy(standin.users[uid])
                return self.reply(200, {"user": user})

            do_GET = handle_one
            do_PUT = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def puts(self):
        return [(p, s) for (m, p, s) in self.requests if m == "PUT"]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
