"""Real HTTP servers on loopback that the service calls out to, recording what they were sent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatEndpoint:
    """An OpenAI-compatible chat/completions endpoint; `authorizations` lists the headers it got."""

    def __init__(self):
        self.authorizations: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                endpoint.authorizations.append(self.headers["Authorization"])
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert request["messages"][0]["content"]
                body = json.dumps({"choices": [{"message": {"content": "Generated remark"}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ChatEndpoint":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


class CallbackReceiver:
    """tests/callback_receiver.py in a process of its own on loopback; `calls()` reads what it got."""

    def __init__(self, folder: Path, secret: str, *, fail_first: int = 0):
        self.record = folder / "callbacks.jsonl"
        self.record.touch()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.callback_receiver", str(self.record), "--secret", secret,
             "--fail-first", str(fail_first)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
        port = int(self._process.stdout.readline())
        self.url = f"http://127.0.0.1:{port}/hooks"

    def calls(self) -> list[dict]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def __enter__(self) -> "CallbackReceiver":
        return self

    def __exit__(self, *exc_info) -> None:
        self._process.kill()
        self._process.wait()
