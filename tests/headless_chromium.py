"""Debian's headless Chromium, driven through the Chrome DevTools Protocol.

For the tests of the demo page (tests/client/demo_browser_test.py) and the
script that makes its screenshot (tests/client/demo_screenshot.py). Needs
the Debian packages chromium and python3-websocket
(deploy/install-deps.sh --test).

    with Chromium() as browser:
        browser.navigate("http://127.0.0.1:8080/?user=138")
        browser.wait_for("document.querySelectorAll('tr').length > 3")
        browser.screenshot("page.png")

Each Chromium is its own process with a temporary profile
(--user-data-dir), removed on exit; it fetches nothing by itself (no
component updates, sync or field trials).
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket  # Debian: python3-websocket


def chromium_binary():
    """The Chromium executable, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(AssertionError):
    """A failed DevTools call, a page exception, or a wait that timed out."""


class Chromium:
    """One headless Chromium with one page; a context manager."""

    def __init__(self, width=1280, height=860, binary=None):
        self.width = width
        self.height = height
        self.binary = binary or chromium_binary()
        self.process = None
        self.profile = None
        self._socket = None
        self._next_id = 0
        self.exceptions = []  # uncaught page exceptions, as text
        self.console_errors = []

    def __enter__(self):
        if self.binary is None:
            raise BrowserError("chromium is not installed (Debian package "
                               "chromium; deploy/install-deps.sh --test)")
        self.profile = tempfile.mkdtemp(prefix="movierec-chromium-")
        args = [self.binary, "--headless", "--disable-gpu",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0", "--remote-allow-origins=*",
                f"--window-size={self.width},{self.height}",
                "--hide-scrollbars", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-field-trial-config",
                "--disable-dev-shm-usage", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses root otherwise
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(args, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        try:
            self._connect()
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def _connect(self):
        # Chromium writes its DevTools port into the profile once it listens.
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(f"chromium exited {self.process.returncode}"
                                   f":\n{self.log()}")
            try:
                with open(port_file, encoding="utf-8") as f:
                    port = int(f.readline().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if port is None:
            raise BrowserError(f"chromium did not open DevTools:\n{self.log()}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                    timeout=10) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        self._socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def __exit__(self, *exc):
        if self._socket is not None:
            self._socket.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
        return False

    def log(self):
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def call(self, method, **params):
        """A DevTools command; its result. Events that arrive meanwhile are
        kept where they matter (page exceptions, console errors)."""
        self._next_id += 1
        call_id = self._next_id
        self._socket.send(json.dumps(
            {"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.exceptions.append(
                details.get("exception", {}).get("description")
                or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and \
                params.get("type") == "error":
            self.console_errors.append(" ".join(
                str(a.get("value", a.get("description", "")))
                for a in params.get("args", [])))

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (promises
        awaited); BrowserError when it throws."""
        result = self.call("Runtime.evaluate", expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def navigate(self, url):
        """Loads `url` and waits until its document has loaded (a new one,
        even when the page was at `url` already)."""
        self.evaluate("window.__leftBehind = true")
        self.call("Page.navigate", url=url)
        self.wait_for(f"!window.__leftBehind && location.href === "
                      f"{json.dumps(url)} && document.readyState === "
                      "'complete'")

    def wait_for(self, condition, timeout=20):
        """Waits until the JavaScript `condition` is true; its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(f"(() => {{ try {{ return ({condition}); }} "
                                  f"catch (e) {{ return false; }} }})()")
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"timed out after {timeout} s waiting for: "
                           f"{condition}\npage exceptions: {self.exceptions}")

    def type_text(self, selector, text):
        """Focuses the element and types `text` into it as keyboard input."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def click(self, selector, index=0):
        """A real mouse click at the centre of the index-th match."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelectorAll("
            f"{json.dumps(selector)})[{index}]; e.scrollIntoView("
            "{block: 'center'}); const r = e.getBoundingClientRect(); "
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0],
                      y=box[1], button="left", clickCount=1)

    def screenshot(self, path, full_page=False):
        """The page as shown (the window's size), or with `full_page` the
        whole document, as a PNG file."""
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": size["width"],
                "height": size["height"], "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
