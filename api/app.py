"""Build the Falcon app: routes, the plan gate, and the envelope for every error."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import falcon

from api import errors
from api.auth import TokenGate
from api.children import Supervisor
from api.errors import ApiError, Code
from api.json_body import StrictJSONHandler
from api.openapi import OpenApiDocument
from api.phones import PhoneDirectory
from api.plans import Plan
from api.accounts import AccountBook
from api.resources.accounts import AccountCollection, AccountItem, AccountMatch
from api.resources.artifacts import ArtifactStore, TaskArtifactFile, TaskArtifacts
from api.resources.farm import Devices, Health, LicenseCheck
from api.resources.tasks import (
    TaskBatch, TaskCollection, TaskItem, TaskRetry, TaskRetryAll, TaskStats, TaskStop,
)
from api.tasks import TaskService

PREFIX = "/api/v1"
UNGATED = {f"{PREFIX}/license/check", f"{PREFIX}/health", f"{PREFIX}/openapi.json"}


@dataclass
class Services:
    tasks: TaskService
    phones: PhoneDirectory
    plan: Plan
    artifacts_dir: Path = Path("artifacts")
    supervisor: Optional[Supervisor] = None  # absent when the API runs without its own children
    api_token: Optional[str] = None
    max_body_bytes: int = 1024 * 1024


class PlanGate:
    """A plan without API access answers 40301 everywhere but the licence check."""

    def __init__(self, plan: Plan):
        self.plan = plan

    def process_request(self, req, resp):
        if not self.plan.api_enabled and req.path.rstrip("/") not in UNGATED:
            raise ApiError(Code.PLAN_FORBIDS_API, f"The {self.plan.name} plan has no API access; upgrade to Pro, Team or Business")


def create_app(services: Services) -> falcon.App:
    app = falcon.App(middleware=[TokenGate(services.api_token), PlanGate(services.plan)])
    app.req_options.strip_url_path_trailing_slash = True
    # Bodies are JSON whatever the client labels them (curl -d says form-urlencoded).
    app.req_options.default_media_type = falcon.MEDIA_JSON
    body = StrictJSONHandler(services.max_body_bytes)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = body
    app.req_options.media_handlers[falcon.MEDIA_URLENCODED] = body
    errors.install(app)
    tasks = services.tasks
    # Literal segments win over {task_id} in Falcon's router, so batch/stats/retry-all are never ids.
    app.add_route(f"{PREFIX}/task", TaskCollection(tasks, random.Random()))
    app.add_route(f"{PREFIX}/task/batch", TaskBatch(tasks))
    app.add_route(f"{PREFIX}/task/stats", TaskStats(tasks))
    app.add_route(f"{PREFIX}/task/retry-all", TaskRetryAll(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}", TaskItem(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/stop", TaskStop(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/retry", TaskRetry(tasks))
    artifacts = ArtifactStore(services.artifacts_dir)
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/artifacts", TaskArtifacts(tasks, artifacts))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/artifacts/{{name}}", TaskArtifactFile(tasks, artifacts))
    app.add_route(f"{PREFIX}/device", Devices(services.phones))
    book = AccountBook(services.tasks.index, services.phones.known_serials)
    app.add_route(f"{PREFIX}/account", AccountCollection(book))
    app.add_route(f"{PREFIX}/account/match", AccountMatch(book, services.phones))
    app.add_route(f"{PREFIX}/account/{{username}}", AccountItem(book))
    app.add_route(f"{PREFIX}/license/check", LicenseCheck(services.plan))
    app.add_route(f"{PREFIX}/health", Health(services))
    app.add_route(f"{PREFIX}/openapi.json", OpenApiDocument(services.max_body_bytes))
    return app
