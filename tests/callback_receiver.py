"""A callback receiver in its own process, checking each POST as docs/api.md tells receivers to, and
recording it (headers, body, verdict) as a JSON line.

python -m tests.callback_receiver RECORD_FILE --secret SECRET [--fail-first N]: prints its port,
then serves on 127.0.0.1; the first N good calls get 503 (to see the service try again). A call
with a bad signature, a timestamp more than 5 minutes off, or a delivery id already taken gets 401
(a replay or a forgery) and is recorded with `verified` false."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WINDOW_SECONDS = 300


def verified(secret: str, headers, body: bytes, seen: set[str]) -> bool:
    timestamp = headers.get("X-Phonefarm-Timestamp", "")
    delivery = headers.get("X-Phonefarm-Delivery", "")
    signed = f"{timestamp}.{delivery}.".encode() + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("X-Phonefarm-Signature", ""), expected):
        return False
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        return False
    return delivery not in seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("record")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"calls": 0}
    seen: set[str] = set()  # delivery ids answered 2xx: a replay of one is refused

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                good = verified(args.secret, self.headers, body, seen)
                if good:
                    state["calls"] += 1
                answer = 401 if not good else 503 if state["calls"] <= args.fail_first else 200
                if answer == 200:
                    seen.add(self.headers["X-Phonefarm-Delivery"])
                with open(args.record, "a") as record:
                    record.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode(),
                                             "verified": good, "answered": answer}) + "\n")
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
