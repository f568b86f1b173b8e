"""A run's events reach Prefect by POST even when they are sent after the run's own client closed."""

from __future__ import annotations

import contextvars
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prefect.context import SyncClientContext
from prefect.events import Event
from prefect.settings import (
    PREFECT_API_URL, PREFECT_CLIENT_CSRF_SUPPORT_ENABLED, PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED, temporary_settings,
)

from worker.prefect_compat.events import EventPoster


@pytest.fixture
def events_endpoint():
    """A local HTTP server standing in for Prefect's POST /events: it keeps what it is sent."""
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # As in a forked run (worker.fork_starter, prefect_env): no version or CSRF token call first.
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{server.server_port}/api",
                             PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED: False,
                             PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False}):
        yield received
    server.shutdown()
    server.server_close()


def test_an_event_sent_after_the_runs_client_closed_is_posted(events_endpoint):
    # Prefect's EventsWorker handles events in a copy of the context it was started in: during a run,
    # one holding the flow engine's client, which is closed once the run ends.
    with SyncClientContext.get_or_create():
        run_context = contextvars.copy_context()
    poster = EventPoster()
    run_context.run(poster.put, ("event", Event(event="phonefarm.test.late", resource={"prefect.resource.id": "x"})))
    assert [(path, [e["event"] for e in body]) for path, body in events_endpoint] == [
        ("/api/events", ["phonefarm.test.late"])]
