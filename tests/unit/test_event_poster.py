"""A process's events reach Prefect by POST, batched, even when sent after the run's own client closed or at exit."""

from __future__ import annotations

import contextvars
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prefect.context import SyncClientContext
from prefect.events import Event
from prefect.settings import (
    PREFECT_API_URL, PREFECT_CLIENT_CSRF_SUPPORT_ENABLED, PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED, temporary_settings,
)

from tests.harness import until
from worker.prefect_compat.events import EventPoster

REPO = Path(__file__).resolve().parents[2]


class Received(list):
    url = ""


def event(name: str) -> Event:
    return Event(event=name, resource={"prefect.resource.id": "x"})


def names(received) -> list[tuple[str, list[str]]]:
    return [(path, [e["event"] for e in body]) for path, body in received]


@pytest.fixture
def events_endpoint():
    """A local HTTP server standing in for Prefect's POST /events: it keeps what it is sent."""
    received = Received()

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
    received.url = f"http://127.0.0.1:{server.server_port}/api"
    # As in a forked run (worker.fork_starter, prefect_env): no version or CSRF token call first.
    with temporary_settings({PREFECT_API_URL: received.url,
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
    run_context.run(poster.put, ("event", event("phonefarm.test.late")))
    poster.flush()
    assert names(events_endpoint) == [("/api/events", ["phonefarm.test.late"])]


def test_the_events_of_one_window_go_in_one_post(events_endpoint):
    poster = EventPoster(batch_seconds=0.3)
    for name in ("phonefarm.test.one", "phonefarm.test.two", "phonefarm.test.three"):
        poster.put(("event", event(name)))
    assert names(events_endpoint) == []  # gathered, not sent yet
    until(lambda: events_endpoint, 10, "the window's POST", interval=0.05)
    assert names(events_endpoint) == [("/api/events", ["phonefarm.test.one", "phonefarm.test.two", "phonefarm.test.three"])]
    poster.flush()  # nothing left: no empty POST
    assert len(events_endpoint) == 1


def test_a_process_posts_its_last_events_as_it_exits(events_endpoint, tmp_path):
    # Prefect's own emit_event through the installed override, then a plain exit well within the batch
    # window: the events worker hands its queue over at exit, and the poster sends it after that.
    script = (
        "from worker import prefect_compat; prefect_compat.install('engine')\n"
        "from prefect.events import emit_event\n"
        "for name in ('phonefarm.test.first', 'phonefarm.test.last'):\n"
        "    emit_event(name, resource={'prefect.resource.id': 'x'})\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PREFECT_API_URL": events_endpoint.url, "PREFECT_HOME": str(tmp_path),
           "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false", "PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert names(events_endpoint) == [("/api/events", ["phonefarm.test.first", "phonefarm.test.last"])]
