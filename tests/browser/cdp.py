# SPDX-License-Identifier: BSD-3-Clause
"""A small Chrome DevTools Protocol client over --remote-debugging-pipe:
Chromium reads JSON commands on fd 3 and writes replies and events on fd 4,
each message ending in a NUL byte. No websocket module and no network port
are needed.

    with Chromium() as browser:
        page = browser.new_page()
        page.navigate("http://127.0.0.1:8080/")
        page.evaluate("document.title")
        page.screenshot("/tmp/x.png")
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--no-default-browser-check", "--password-store=basic", "--use-mock-keychain"]


class CdpError(RuntimeError):
    pass


class Chromium:
    def __init__(self, window=(1000, 760), extra_flags=()):
        self.profile = tempfile.mkdtemp(prefix="zsso-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():   # in the child: our pipes become fds 3 and 4
            # via fds >= 10 first, in case a pipe end already sits on 3 or 4
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        argv = [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
                f"--window-size={window[0]},{window[1]}", *extra_flags, "about:blank"]
        # close_fds runs after preexec_fn: keep 3 and 4 (the dup2 targets) open.
        self.proc = subprocess.Popen(argv, pass_fds=(3, 4), preexec_fn=wire_fds,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events = []   # (sessionId, method, params) not yet consumed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- the wire ------------------------------------------------------------------
    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from chromium")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise CdpError(f"chromium closed the pipe {err[-2000:]}")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self._next_id += 1
        mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._to_child, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise CdpError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def wait_event(self, method, session=None, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, (s, meth, params) in enumerate(self.events):
                if meth == method and (session is None or s == session):
                    del self.events[i]
                    return params
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def new_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        return page


class Page:
    def __init__(self, browser, session, target=None):
        self.browser = browser
        self.session = session
        self.target = target

    def close(self):
        """Closes the tab; the browser (and its cookies) stays."""
        self.browser.send("Target.closeTarget", {"targetId": self.target})

    def send(self, method, params=None, timeout=30):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def navigate(self, url, timeout=30):
        self.browser.events = [e for e in self.browser.events if e[1] != "Page.loadEventFired"]
        r = self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CdpError(f"navigate {url}: {r['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, timeout)

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CdpError(f"evaluate {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout=30):
        """Polls until expression is truthy (navigations may swap the document)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
                if last:
                    return last
            except CdpError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{expression!r} stayed {last!r}")

    def type_into(self, selector, text):
        """Focus like a click, then type the characters as keyboard input."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            f".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                   "button": "left", "clickCount": 1})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def log_entries(self):
        """Console/log messages seen so far (CSP violations land here)."""
        out = []
        for s, meth, params in self.browser.events:
            if s != self.session:
                continue
            if meth == "Log.entryAdded":
                out.append(params["entry"].get("text", ""))
            elif meth == "Runtime.consoleAPICalled":
                out.append(" ".join(str(a.get("value", "")) for a in params.get("args", [])))
        return out
