"""The API app on a real waitress server in the test process, over the session's Prefect and phones."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import falcon
import waitress

from api.app import PREFIX, Services, create_app
from api.index import Index
from api.orchestrator import Orchestrator
from api.phones import PhoneDirectory
from api.plans import PLANS
from api.tasks import TaskService
from devices.adb import AdbServer
from devices.testing import free_port


@contextmanager
def serve_app(prefect_api: str, adb: AdbServer, folder: Path, *, plan: str = "Pro",
              **services) -> Iterator[tuple[falcon.App, str]]:
    """An index of its own in `folder`: what a test does here cannot touch other tests' tasks."""
    orchestrator = Orchestrator(prefect_api, write_concurrency=2)
    index = Index(folder / "index.db")
    phones = PhoneDirectory(adb, index, orchestrator)
    tasks = TaskService(index, orchestrator, phones.known_serials, ui_url="", retry_limit=3,
                        max_tasks_per_request=10)
    app = create_app(Services(tasks=tasks, phones=phones, plan=PLANS[plan], artifacts_dir=folder / "artifacts",
                              **services))
    port = free_port()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{port}{PREFIX}"
    finally:
        server.close()
        orchestrator.close()


METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def routes(app: falcon.App) -> set[tuple[str, str]]:
    """(method, path) of every responder the app has, in OpenAPI's spelling of path templates."""
    found = set()
    stack = list(app._router._roots)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.resource is None:
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", node.uri_template).removeprefix(PREFIX)
        for method in METHODS & set(falcon.routing.map_http_methods(node.resource)):
            found.add((method, path))
    return found
