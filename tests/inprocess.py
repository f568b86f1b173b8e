"""The API app in the test process, wired like the launcher wires it, over the session's Prefect and phones."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import falcon
import falcon.testing
import waitress
from waitress import wasyncore

from api.rest.app import PREFIX
from api.settings import Settings
from api.supervision.wiring import Wired, wire
from devices.adb import AdbServer
from devices.phone_lock import LOCKS_FOLDER
from tests.harness import free_port
from tests.service import Service, TaskClient


def settings_for(service: Service, adb: AdbServer, folder: Path, *, plan: str = "Pro", **overrides) -> Settings:
    """The service's Prefect server, with an index and data directory of its own in `folder`:
    nothing here touches other tests' tasks."""
    values = dict(retry_limit=3, max_tasks_per_request=10, prefect_write_concurrency=2)
    return Settings(data_dir=folder, prefect_api_url=service.prefect_api, prefect_auth_string=service.prefect_auth,
                    adb_host=adb.host, adb_port=adb.port, plan=plan, **{**values, **overrides})


@contextmanager
def wired_app(service: Service, adb: AdbServer, folder: Path, **settings) -> Iterator[Wired]:
    wired = wire(settings_for(service, adb, folder, **settings))
    # It stands for the service's API on the same PC: the service's worker locks the phones its runs drive.
    wired.camera.locks_dir = service.data_dir / LOCKS_FOLDER
    # Run creation, the index's copy of run states, its own plans' firings, callbacks and screens; not the
    # upkeep, which would adopt others' UI runs.
    wired.tasks.creator.start()
    wired.run_events.start()
    wired.plan_clock.start()
    wired.callbacks.start()
    wired.camera.start()
    try:
        yield wired
    finally:
        wired.camera.stop()
        wired.callbacks.stop()
        wired.plan_clock.stop()
        wired.run_events.stop()
        wired.tasks.creator.stop()
        wired.orchestrator.close()


@contextmanager
def serve_app(service: Service, adb: AdbServer, folder: Path, **settings) -> Iterator[tuple[falcon.App, str]]:
    """The same app on a real waitress server on a free port."""
    with wired_app(service, adb, folder, **settings) as wired:
        port = free_port()
        server = waitress.create_server(wired.app, host="127.0.0.1", port=port, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield wired.app, f"http://127.0.0.1:{port}{PREFIX}"
        finally:
            # Closed from the loop's own thread: a socket closed under another thread's select() fails there.
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            thread.join(10)
            server.task_dispatcher.shutdown()


METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def routes(app: falcon.App) -> set[tuple[str, str]]:
    """(method, path) of every responder of the API (under /api/v1), in OpenAPI's spelling of path templates."""
    found = set()
    # A literal path that a template of the same method without converters also spells (/account/match
    # for PATCH /account/{username}) is that operation, answered where the router sends it.
    spelled = []  # (method, what such a template matches)
    stack = list(app._router._roots)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.resource is None or not node.uri_template.startswith(PREFIX):
            continue  # the phone wall's page and /metrics are not the API's (tests/test_farm_wall.py)
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", node.uri_template).removeprefix(PREFIX)
        plain = "{" in path and path == node.uri_template.removeprefix(PREFIX)
        for method in METHODS & set(falcon.routing.map_http_methods(node.resource)):
            found.add((method, path))
            if plain:
                spelled.append((method, re.compile(re.sub(r"\{\w+\}", "[^/]+", path))))
    return {(method, path) for method, path in found
            if "{" in path or not any(method == other and template.fullmatch(path) for other, template in spelled)}


class AppClient(TaskClient):
    """The HTTP helpers of tests.service.Service, answered by the real app in this process through
    falcon.testing (no socket, no waitress): for tests of the HTTP contract."""

    def __init__(self, wired: Wired):
        self.wired = wired
        self.client = falcon.testing.TestClient(wired.app)

    def call(self, method: str, path: str, *, json=None, data=None, params=None, headers=None) -> tuple[int, dict]:
        result = self.client.simulate_request(method, f"{PREFIX}{path}", json=json, body=data, params=params,
                                              headers=headers, host="127.0.0.1")
        return result.status_code, result.json
