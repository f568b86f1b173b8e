"""Everything the API asks of the Prefect server, with its failures turned into one error type."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator, Optional
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import BlockDocumentCreate, DeploymentFlowRunCreate, WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterId,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
    FlowRunFilterWorkQueueName,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError
from prefect.states import Cancelled, Cancelling, Crashed, Failed, Scheduled, to_state_create

from flows.tags import FARM_TAG


WORK_POOL = "phone-farm"  # also named in prefect.yaml
DEPLOYMENT = "run-task/phone-task"
INBOX_QUEUE = "ui-inbox"
BULK_CREATE_LIMIT = 100  # the most Prefect 3.9 creates in one request
BULK_DELETE_LIMIT = 50  # Prefect 3.9 bulk_delete limit
BULK_CREATE_ATTEMPTS = 4
FINAL_STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class OrchestratorUnavailable(Exception):
    """The Prefect server did not answer (down, restarting, or overloaded)."""


class RunsNotCreated(Exception):
    """Prefect refused some runs of a batch; `created` lists the ones it made."""

    def __init__(self, created: list[str], reason: str):
        super().__init__(f"Prefect did not create a flow run: {reason}")
        self.created = created


@dataclass(frozen=True)
class NewRun:
    name: str
    serial: str
    parameters: dict
    tags: list[str]
    start_at: datetime


class RunGone(Exception):
    """The flow run no longer exists in Prefect."""


def device_queue(serial: str) -> str:
    return f"device-{serial}"


def tag_value(tags: list[str], key: str) -> Optional[str]:
    prefix = f"{key}:"
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return None


@dataclass(frozen=True)
class RunQuery:
    """Which of the farm's runs a listing or a count wants."""

    serial: Optional[str] = None
    script_name: Optional[str] = None
    source: Optional[str] = None
    state_types: Optional[tuple[str, ...]] = None
    hidden: tuple[str, ...] = ()  # runs of deleted tasks that Prefect still holds


def prefect_answers(api_url: str, timeout: float = 5.0) -> bool:
    """The server's own health endpoint says 200; a refused connection fails at once."""
    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class HealthWatch:
    """Polls the server's health twice a second. Prefect's client retries a lost connection for
    many seconds, so requests check this first and get 50301 at once while the server is down."""

    def __init__(self, api_url: str, interval: float = 0.5, failures_for_down: int = 2):
        self.api_url = api_url
        self.interval = interval
        self.failures_for_down = failures_for_down
        self._failures = 0
        self.up = prefect_answers(api_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prefect-health", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._failures = 0 if prefect_answers(self.api_url) else self._failures + 1
            self.up = self._failures < self.failures_for_down

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def _reachable(health: Optional[HealthWatch] = None) -> Iterator[None]:
    if health is not None and not health.up:
        raise OrchestratorUnavailable("its health check fails")
    try:
        yield
    except (httpx.TransportError, OSError) as error:
        raise OrchestratorUnavailable(type(error).__name__) from error
    except PrefectHTTPStatusError as error:
        if error.response.status_code >= 500:
            raise OrchestratorUnavailable(f"HTTP {error.response.status_code}") from error
        raise


@contextmanager
def _existing(flow_run_id) -> Iterator[None]:
    """A write to a run that a concurrent deletion removed raises RunGone, not Prefect's error."""
    try:
        yield
    except ObjectNotFound as error:
        raise RunGone(str(flow_run_id)) from error


class Orchestrator:
    """One Prefect client shared by the API's threads; writes are bounded to spare SQLite."""

    def __init__(self, api_url: str, *, write_concurrency: int):
        self.api_url = api_url
        self.work_pool = WORK_POOL
        self.deployment_name = DEPLOYMENT
        self._health = HealthWatch(api_url)
        self._client = SyncPrefectClient(api_url, httpx_settings={"timeout": httpx.Timeout(15.0, connect=2.0)})
        self._client.__enter__()
        self._writes = threading.BoundedSemaphore(write_concurrency)
        self._queues: set[str] = set()
        self._queues_lock = threading.Lock()
        self._deployment_id: Optional[UUID] = None

    def close(self) -> None:
        self._health.stop()
        self._client.__exit__(None, None, None)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._writes, _reachable(self._health):
            yield

    def healthy(self) -> bool:
        return self._health.up

    # Set-up ------------------------------------------------------------------

    def ensure_work_pool(self, concurrency_limit: int) -> None:
        """The pool's own limit is the plan's farm-wide cap; its default queue is a paused inbox."""
        with self._writing():
            try:
                self._client.create_work_pool(
                    WorkPoolCreate(name=self.work_pool, type="process", concurrency_limit=concurrency_limit)
                )
            except ObjectAlreadyExists:
                self._client.update_work_pool(
                    self.work_pool, WorkPoolUpdate(concurrency_limit=concurrency_limit)
                )
            self._ensure_queue(INBOX_QUEUE, concurrency_limit=None, paused=True)

    def _ensure_queue(self, name: str, *, concurrency_limit: Optional[int], paused: bool = False) -> None:
        try:
            self._client.create_work_queue(
                name=name, work_pool_name=self.work_pool, concurrency_limit=concurrency_limit
            )
        except ObjectAlreadyExists:
            pass
        queue = self._client.read_work_queue_by_name(name, work_pool_name=self.work_pool)
        if queue.concurrency_limit != concurrency_limit or queue.is_paused != paused:
            self._client.update_work_queue(queue.id, concurrency_limit=concurrency_limit, is_paused=paused)

    def ensure_device_queue(self, serial: str) -> str:
        """One queue per phone with a limit of 1: Prefect then never runs two tasks on it at once."""
        name = device_queue(serial)
        with self._queues_lock:
            if name in self._queues:
                return name
        with self._writing():
            self._ensure_queue(name, concurrency_limit=1)
        with self._queues_lock:
            self._queues.add(name)
        return name

    def deployment_id(self) -> UUID:
        if self._deployment_id is None:
            with _reachable(self._health):
                self._deployment_id = self._client.read_deployment_by_name(self.deployment_name).id
        return self._deployment_id

    # Runs --------------------------------------------------------------------

    def create_runs(self, runs: list[NewRun]) -> list[str]:
        """Create flow runs on their phones' queues, 100 per request and transaction (Prefect's
        bulk endpoint): far fewer SQLite write locks than one request per run. Returns their ids."""
        for serial in dict.fromkeys(run.serial for run in runs):
            self.ensure_device_queue(serial)
        ids: list[str] = []
        for start in range(0, len(runs), BULK_CREATE_LIMIT):
            chunk = runs[start:start + BULK_CREATE_LIMIT]
            created: dict[str, str] = {}
            pending = chunk
            # The bulk endpoint reports "database is locked" per run instead of answering 503.
            # Those runs were not created: send them again in bulk after a short pause (one by
            # one, each lock costs the client's 2-s back-off: 200 runs took minutes while the
            # first ones were already running), and one by one only as a last resort.
            for attempt in range(BULK_CREATE_ATTEMPTS):
                if attempt:
                    time.sleep(0.5 * attempt)
                pending = self._bulk_create(pending, created, ids)
                if not pending:
                    break
            for run in pending:
                created[run.name] = self._create_one(run)
            ids.extend(created[run.name] for run in chunk)
        return ids

    def _bulk_create(self, runs: list[NewRun], created: dict[str, str], earlier: list[str]) -> list[NewRun]:
        """One bulk request; fills `created` (name -> id) and returns the runs a lock refused."""
        with self._writing():
            response = self._client.request(
                "POST", "/deployments/{id}/create_flow_run/bulk",
                path_params={"id": self.deployment_id()},
                json=[self._run_create(run).model_dump(mode="json", exclude_unset=True) for run in runs],
            )
            response.raise_for_status()
        locked = []
        for run, result in zip(runs, response.json()["results"]):
            if result["status"] == "CREATED":
                created[run.name] = str(result["flow_run_id"])
            elif "database is locked" in (result["error"] or ""):
                locked.append(run)
            else:
                raise RunsNotCreated([*earlier, *created.values()], result["error"])
        return locked

    def _run_create(self, run: NewRun) -> DeploymentFlowRunCreate:
        return DeploymentFlowRunCreate(
            name=run.name,
            parameters=run.parameters,
            tags=[FARM_TAG, *run.tags],
            state=to_state_create(Scheduled(scheduled_time=run.start_at)),
            work_queue_name=device_queue(run.serial),
        )

    def _create_one(self, run: NewRun) -> str:
        with self._writing():
            created = self._client.create_flow_run_from_deployment(
                self.deployment_id(),
                name=run.name,
                parameters=run.parameters,
                tags=[FARM_TAG, *run.tags],
                state=Scheduled(scheduled_time=run.start_at),
                work_queue_name=device_queue(run.serial),
            )
        return str(created.id)

    def read_run(self, flow_run_id: str) -> FlowRun:
        with _reachable(self._health):
            try:
                return self._client.read_flow_run(UUID(flow_run_id))
            except ObjectNotFound as error:
                raise RunGone(flow_run_id) from error

    def delete_named(self, names: list[str]) -> None:
        """Delete the runs with these names, if they exist (rolls back a half-made request)."""
        self._bulk_delete(names, lambda chunk: FlowRunFilter(name=FlowRunFilterName(any_=chunk)))

    def delete_runs(self, flow_run_ids: list[str]) -> None:
        """Delete these runs, if they exist; the caller makes sure none of them is running."""
        self._bulk_delete(flow_run_ids, lambda chunk: FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in chunk])))

    def _bulk_delete(self, keys: list[str], filter_for) -> None:
        for start in range(0, len(keys), BULK_DELETE_LIMIT):
            chunk = keys[start:start + BULK_DELETE_LIMIT]
            flow_runs = filter_for(chunk).model_dump(mode="json", exclude_unset=True)
            with self._writing():
                self._client.request(
                    "POST", "/flow_runs/bulk_delete", json={"flow_runs": flow_runs, "limit": len(chunk)}
                ).raise_for_status()

    def read_runs(self, flow_run_ids: list[str]) -> dict[str, FlowRun]:
        if not flow_run_ids:
            return {}
        with _reachable(self._health):
            runs = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids])),
                limit=len(flow_run_ids),
            )
        return {str(run.id): run for run in runs}

    def _filter(self, query: RunQuery) -> FlowRunFilter:
        tags = [FARM_TAG]
        if query.serial is not None:
            tags.append(f"serial:{query.serial}")
        if query.script_name is not None:
            tags.append(f"script:{query.script_name}")
        if query.source is not None:
            tags.append(f"source:{query.source}")
        return FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[self.deployment_id()]),
            tags=FlowRunFilterTags(all_=tags),
            state=(
                FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(t) for t in query.state_types]))
                if query.state_types is not None
                else None
            ),
            id=FlowRunFilterId(not_any_=[UUID(i) for i in query.hidden]) if query.hidden else None,
        )

    def page(self, query: RunQuery, *, offset: int, limit: int) -> list[FlowRun]:
        """Runs newest first: run names start with the zero-padded task id."""
        with _reachable(self._health):
            return self._client.read_flow_runs(
                flow_run_filter=self._filter(query), sort=FlowRunSort.NAME_DESC, offset=offset, limit=limit
            )

    def count(self, query: RunQuery) -> int:
        with _reachable(self._health):
            return self._client.count_flow_runs(flow_run_filter=self._filter(query))

    def active_runs(self) -> list[FlowRun]:
        """The farm's runs that hold a phone right now."""
        return self.page(RunQuery(state_types=("PENDING", "RUNNING", "CANCELLING")), offset=0, limit=200)

    def abandoned_stops(self, older_than: timedelta) -> list[FlowRun]:
        """Runs stopped while their process was starting, that nothing will ever end (Prefect 3.9):
        the process finds Cancelling before its first step, never runs the script, and exits with
        the run left CANCELLING. Never started (no start_time) and Cancelling for longer than a
        process takes to start: no process can still run them."""
        cutoff = datetime.now(timezone.utc) - older_than
        return [
            run for run in self.page(RunQuery(state_types=("CANCELLING",)), offset=0, limit=200)
            if run.start_time is None and run.state is not None and run.state.timestamp < cutoff
        ]

    def settle_orphans(self, message: str, serials: Optional[set[str]] = None) -> tuple[int, int]:
        """Runs left active by a worker that is gone (killed, or stopped with the service).
        A run that had started on its phone is marked Crashed and is never re-run by itself: it may
        have half-posted, so the operator decides (retry). A Pending run never touched its phone
        and goes back to its queue; a Cancelling one ends Cancelled. `serials` limits this to the
        queues of this PC's phones (other PCs' workers own the rest). Returns (crashed, requeued)."""
        orphans = [
            run for run in self.active_runs()
            if serials is None or run.work_queue_name in {device_queue(s) for s in serials}
        ]
        crashed = requeued = 0
        with self._writing():
            for run in orphans:
                if run.state_type == StateType.CANCELLING:
                    self._client.set_flow_run_state(run.id, Cancelled(message="Stopped through the API"), force=True)
                elif run.state_type == StateType.PENDING:
                    self._client.set_flow_run_state(run.id, Scheduled(message="Back in the queue: its worker stopped before it started"), force=True)
                    requeued += 1
                else:
                    self._client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                    crashed += 1
        return crashed, requeued

    def save_secret(self, name: str, value: str) -> None:
        """A Prefect Secret block: the UI shows its name, never its value (stored encrypted)."""
        with _reachable(self._health):
            block_type = self._client.read_block_type_by_slug("secret")
            schema = self._client.get_most_recent_block_schema_for_block_type(block_type.id)
        with self._writing():
            try:
                self._client.create_block_document(BlockDocumentCreate(
                    name=name, data={"value": value}, block_type_id=block_type.id, block_schema_id=schema.id,
                ))
            except ObjectAlreadyExists:
                pass  # named after the value's hash: an existing block holds the same value

    def stop(self, run: FlowRun) -> None:
        """A run that has not started is cancelled at once; a started one is killed by its worker."""
        message = "Stopped through the API"
        with self._writing(), _existing(run.id):
            if run.state_type in (StateType.RUNNING, StateType.PENDING):
                self._client.set_flow_run_state(run.id, Cancelling(message=message), force=True)
                self._undo_stop_of_ended_run(run.id)
            else:
                self._client.set_flow_run_state(run.id, Cancelled(message=message), force=True)

    def _undo_stop_of_ended_run(self, flow_run_id: UUID) -> None:
        """The run may have ended between our read and our (forced) Cancelling: then no process is
        left to finish the stop and it would stay Cancelling for ever. Put its real end back."""
        states = sorted(self._client.read_flow_run_states(flow_run_id), key=lambda state: state.timestamp)
        before = states[-2] if len(states) > 1 and states[-1].type == StateType.CANCELLING else None
        if before is not None and before.is_final():
            self._client.set_flow_run_state(flow_run_id, before.fresh_copy(), force=True)

    def rerun(self, flow_run_id: str) -> None:
        with self._writing(), _existing(flow_run_id):
            self._client.set_flow_run_state(
                UUID(flow_run_id), Scheduled(message="Retried through the API"), force=True
            )

    def rename(self, flow_run_id: str, *, name: str, tags: list[str]) -> None:
        with self._writing():
            self._client.update_flow_run(UUID(flow_run_id), name=name, tags=tags)

    def fail(self, flow_run_id: str, message: str) -> None:
        with self._writing():
            self._client.set_flow_run_state(UUID(flow_run_id), Failed(message=message), force=True)

    def cancel(self, flow_run_id: str, message: str) -> None:
        with self._writing():
            self._client.set_flow_run_state(UUID(flow_run_id), Cancelled(message=message), force=True)

    def unindexed_runs(self) -> list[FlowRun]:
        """Runs started on the deployment outside the API (the Prefect UI) that nobody has adopted:
        those without tags, and those waiting in the inbox; each once, though it may be both."""
        deployment = FlowRunFilterDeploymentId(any_=[self.deployment_id()])
        with _reachable(self._health):
            untagged = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(deployment_id=deployment, tags=FlowRunFilterTags(is_null_=True)),
                limit=200,
            )
            waiting = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=deployment,
                    work_queue_name=FlowRunFilterWorkQueueName(any_=[INBOX_QUEUE]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                ),
                limit=200,
            )
        return list({run.id: run for run in [*untagged, *waiting]}.values())
