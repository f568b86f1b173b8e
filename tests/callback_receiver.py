"""A callback receiver in its own process: records every POST (headers and body) as a JSON line.

python -m tests.callback_receiver RECORD_FILE [--fail-first N]: prints its port, then serves on
127.0.0.1; the first N calls get 503 (to see the service try again)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("record")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"calls": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state["calls"] += 1
                failing = state["calls"] <= args.fail_first
                with open(args.record, "a") as record:
                    record.write(json.dumps({"path": self.path, "headers": dict(self.headers),
                                             "body": body.decode(), "answered": 503 if failing else 200}) + "\n")
            self.send_response(503 if failing else 200)
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
