"""Build the Falcon app: routes, the plan gate, and the envelope for every error."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import falcon

from api.domain.accounts import AccountBook
from api.domain.farm_view import FarmView
from api.domain.logs import TaskLogs
from api.domain.phones import PhoneDirectory
from api.domain.plans import Plan
from api.domain.recurring import PlanBook
from api.domain.tasks import TaskService
from api.gateways.disk import DiskSpace
from api.gateways.index import Index
from api.gateways.prefect import Orchestrator
from api.gateways.screens import ScreenCamera
from api.rest import errors
from api.rest.json_body import StrictJSONHandler
from api.rest.middleware import BrowserGuard, DiskGuard, PlanGate, SecurityHeaders, TokenGate
from api.rest.openapi import OpenApiDocument
from api.rest.resources.accounts import AccountCollection, AccountItem, AccountMark, AccountMatch, AccountStatusList
from api.rest.resources.artifacts import ArtifactStore, TaskArtifactFile, TaskArtifacts
from api.rest.resources.farm import Devices, Health, LicenseCheck
from api.rest.resources.metrics import FarmCollector, Metrics
from api.rest.resources.plans import PlanCollection, PlanItem
from api.rest.resources.tasks import (
    TaskBatch, TaskCollection, TaskItem, TaskLogLines, TaskRetry, TaskRetryAll, TaskStats, TaskStop,
)
from api.rest.resources.wall import PAGE_DIR, FarmOverview, PhoneScreen, WallPage

PREFIX = "/api/v1"


@dataclass
class Services:
    tasks: TaskService
    plans: PlanBook
    phones: PhoneDirectory
    accounts: AccountBook
    index: Index  # the parts the read-only views use (farm, metrics, idempotency keys)
    orchestrator: Orchestrator  # whether Prefect answers
    plan: Plan
    disk: DiskSpace
    camera: ScreenCamera
    artifacts_dir: Path = Path("artifacts")
    supervisor: Optional[object] = None  # status(), restarts() and last_restarts() of the children; absent in tests
    api_token: Optional[str] = None
    max_body_bytes: int = 1024 * 1024
    allowed_hosts: tuple[str, ...] = ()


def create_app(services: Services) -> falcon.App:
    app = falcon.App(middleware=[
        SecurityHeaders(), TokenGate(services.api_token), BrowserGuard(services.allowed_hosts), PlanGate(services.plan, PREFIX),
        DiskGuard(services.disk),
    ])
    app.req_options.strip_url_path_trailing_slash = True
    # Bodies are JSON only, labelled so (BrowserGuard refuses the rest: a form needs no CORS preflight).
    app.req_options.default_media_type = falcon.MEDIA_JSON
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: StrictJSONHandler(services.max_body_bytes)})
    errors.install(app, services.disk)
    tasks = services.tasks
    # Literal segments win over {task_id} in Falcon's router, so batch/stats/retry-all are never ids.
    app.add_route(f"{PREFIX}/task", TaskCollection(tasks, services.plans, random.Random(), services.index.answers))
    app.add_route(f"{PREFIX}/plan", PlanCollection(services.plans))
    app.add_route(f"{PREFIX}/plan/{{plan_id}}", PlanItem(services.plans))
    app.add_route(f"{PREFIX}/task/batch", TaskBatch(tasks))
    app.add_route(f"{PREFIX}/task/stats", TaskStats(tasks))
    app.add_route(f"{PREFIX}/task/retry-all", TaskRetryAll(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}", TaskItem(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/stop", TaskStop(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/retry", TaskRetry(tasks))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/logs", TaskLogLines(TaskLogs(tasks)))
    artifacts = ArtifactStore(services.artifacts_dir)
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/artifacts", TaskArtifacts(tasks, artifacts))
    app.add_route(f"{PREFIX}/task/{{task_id:int(min=1)}}/artifacts/{{name}}", TaskArtifactFile(tasks, artifacts))
    app.add_route(f"{PREFIX}/device", Devices(services.phones))
    app.add_route(f"{PREFIX}/account", AccountCollection(services.accounts))
    app.add_route(f"{PREFIX}/accounts", AccountStatusList(services.accounts))
    app.add_route(f"{PREFIX}/account/match", AccountMatch(services.accounts))
    app.add_route(f"{PREFIX}/account/{{username}}", AccountItem(services.accounts))
    app.add_route(f"{PREFIX}/account/{{username}}/mark", AccountMark(services.accounts))
    app.add_route(f"{PREFIX}/license/check", LicenseCheck(services.plan))
    app.add_route(f"{PREFIX}/health", Health(services.orchestrator, services.phones, services.disk, services.supervisor))
    app.add_route(f"{PREFIX}/openapi.json", OpenApiDocument(services.max_body_bytes))
    # The phone wall (a page and its assets: no data without the API's token) and the metrics.
    app.add_route("/", WallPage())
    app.add_route("/farm", WallPage())
    app.add_static_route("/page", str(PAGE_DIR))
    farm_view = FarmView(tasks, services.phones, services.index.farm, services.index.accounts, prefect_ui_url=tasks.ui_url)
    app.add_route(f"{PREFIX}/farm", FarmOverview(farm_view))
    app.add_route(f"{PREFIX}/device/{{serial}}/screen", PhoneScreen(services.camera))
    app.add_route("/metrics", Metrics(FarmCollector(services.index.farm, services.phones, services.orchestrator,
                                                    services.supervisor, services.accounts.marks)))
    return app
