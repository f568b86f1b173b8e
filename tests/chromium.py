"""A headless Chromium (Debian's package) driven over the DevTools protocol: the phone wall's browser tests."""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from tests.harness import until

LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


class Browser:
    """One Chromium with one tab; `evaluate` runs JavaScript in the page and returns its value."""

    def __init__(self, profile: Path):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if binary is None:
            raise RuntimeError("no chromium: `./run tests` installs Debian's package when it is missing")
        # Root in a container: no sandbox; no GPU; /dev/shm may be small. No network of its own
        # (updates, sync, QUIC): this machine refuses it, many connections at a time.
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        endpoint = self._devtools_endpoint()
        http = endpoint.replace("ws://", "http://").split("/devtools/")[0]
        [page] = [t for t in requests.get(f"{http}/json/list", timeout=10).json() if t["type"] == "page"]
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)
        self._ids = itertools.count(1)

    def _devtools_endpoint(self) -> str:
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            found = LISTENING.search(line)
            if found:
                return found.group(1)
        self.close()
        raise RuntimeError("chromium did not open its DevTools port:\n" + "".join(seen[-20:]))

    def send(self, method: str, **params: Any) -> dict:
        request_id = next(self._ids)
        self.socket.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:  # events arrive in between: only the answer to this request is wanted
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href === " + json.dumps(url), "the page loads")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30) -> Any:
        def failure(_) -> str:
            said = self.evaluate("document.getElementById('message')?.textContent")
            return f"in the browser, {what} did not happen within {timeout} s (page says: {said!r})"
        return until(lambda: self.evaluate(expression), timeout, failure, interval=0.25)

    def screenshot(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return target

    def close(self) -> None:
        if getattr(self, "socket", None):
            self.socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
