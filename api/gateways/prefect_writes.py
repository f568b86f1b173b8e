"""What the service writes to Prefect's runs: creations (in bulk), deletions, forced states, names and tags."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from uuid import UUID

from prefect.client.schemas.actions import DeploymentFlowRunCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import State
from prefect.client.schemas.responses import SetStateStatus
from prefect.states import Cancelled, Cancelling, Crashed, Failed, Pending, Scheduled, to_state_create

from api.gateways.prefect_connection import PrefectConnection, PrefectPart, existing
from api.gateways.prefect_pool import WorkPool
from api.gateways.runs import PastState, Run
from contract.names import ACCOUNTS_DEPLOYMENT, RECORDED_TAG, SERIAL_TAG, device_queue, tag

BULK_CREATE_LIMIT = 100  # the most Prefect 3.9 creates in one request
BULK_DELETE_LIMIT = 50  # Prefect 3.9 bulk_delete limit
BULK_CREATE_ATTEMPTS = 4


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
    # The same key makes no second run (a batch cut off by a crash and sent again after a restart).
    idempotency_key: Optional[str] = None
    stopped: Optional[str] = None  # stopped before its run existed: created Cancelled with this message


class RunWrites(PrefectPart):
    """Runs are created on their phone's queue, which the pool makes first if it is new."""

    def __init__(self, connection: PrefectConnection, pool: WorkPool):
        super().__init__(connection)
        self.pool = pool

    def ensure_device_queue(self, serial: str) -> str:
        return self.pool.ensure_device_queue(serial)

    # Account reads

    def create_account_reads(self, serials: list[str]) -> dict[str, str]:
        """One read-accounts run per phone, in the phone's queue; returns serial -> flow run id."""
        created = {}
        for serial in serials:
            self.ensure_device_queue(serial)
            with self._writing():
                run = self._client.create_flow_run_from_deployment(
                    self.deployment_id(ACCOUNTS_DEPLOYMENT), parameters={"serial": serial},
                    tags=[tag(SERIAL_TAG, serial)], work_queue_name=device_queue(serial),
                )
            created[serial] = str(run.id)
        return created

    def mark_recorded(self, run: Run) -> None:
        with self._writing():
            self._client.update_flow_run(UUID(run.id), tags=[*run.tags, RECORDED_TAG])

    # Runs

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
            # The bulk endpoint reports "database is locked" per run instead of answering 503 (the
            # farm's own Prefect server takes the write lock first, worker/prefect_compat/server.py;
            # a server started elsewhere may not). Those runs were not created: send them again in
            # bulk after a short pause (one by one, each lock costs the client's 2-s back-off: 200
            # runs took minutes while the first ones were already running), and one by one only as
            # a last resort.
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
            tags=run.tags,
            state=to_state_create(self._first_state(run)),
            work_queue_name=device_queue(run.serial),
            idempotency_key=run.idempotency_key,
        )

    def _create_one(self, run: NewRun) -> str:
        with self._writing():
            created = self._client.create_flow_run_from_deployment(
                self.deployment_id(),
                name=run.name,
                parameters=run.parameters,
                tags=run.tags,
                state=self._first_state(run),
                work_queue_name=device_queue(run.serial),
                idempotency_key=run.idempotency_key,
            )
        return str(created.id)

    @staticmethod
    def _first_state(run: NewRun) -> State:
        if run.stopped is not None:
            return Cancelled(message=run.stopped)
        return Scheduled(scheduled_time=run.start_at)

    def delete_runs(self, flow_run_ids: list[str]) -> set[str]:
        """Delete these runs, if they exist; the caller makes sure none of them is running. Returns
        the ids Prefect says it deleted."""
        deleted: set[str] = set()
        for start in range(0, len(flow_run_ids), BULK_DELETE_LIMIT):
            chunk = flow_run_ids[start:start + BULK_DELETE_LIMIT]
            flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in chunk])).model_dump(
                mode="json", exclude_unset=True)
            with self._writing():
                response = self._client.request(
                    "POST", "/flow_runs/bulk_delete", json={"flow_runs": flow_runs, "limit": len(chunk)})
                response.raise_for_status()
            deleted.update(str(i) for i in response.json().get("deleted", []))
        return deleted

    # State writes: forced, because Prefect accepts almost any transition and the policies that
    # decide which one is allowed live above this gateway (domain, supervision). Proposed (not forced)
    # where Prefect's own rules must settle a race with a worker or the run's process.

    def _force(self, flow_run_id, state) -> None:
        with self._writing(), existing(flow_run_id):
            self._client.set_flow_run_state(UUID(str(flow_run_id)), state, force=True)

    def _propose(self, flow_run_id, state) -> bool:
        """The state under Prefect's rules: True if accepted."""
        with self._writing(), existing(flow_run_id):
            result = self._client.set_flow_run_state(UUID(str(flow_run_id)), state, force=False)
        return result.status == SetStateStatus.ACCEPT

    def request_cancel(self, flow_run_id, message: str) -> None:
        """Cancelling: the worker that runs the process kills it, and the run ends Cancelled."""
        self._force(flow_run_id, Cancelling(message=message))

    def claim(self, flow_run_id) -> bool:
        """Take a Scheduled run as a worker does (Pending, under Prefect's rules, not forced): True if
        taken; False if a worker took it first (Prefect refuses a second Pending), so it runs."""
        return self._propose(flow_run_id, Pending())

    def cancel(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, Cancelled(message=message))

    def crash(self, flow_run_id, message: str) -> bool:
        """Crashed under Prefect's rules (not forced): Prefect refuses it once the run has ended, so an
        end the run's own process wrote after this run was read as active stands. True if written."""
        return self._propose(flow_run_id, Crashed(message=message))

    def reword_crash(self, flow_run_id, message: str) -> None:
        """A Crashed run's message replaced (forced: Prefect refuses Crashed on an ended run)."""
        self._force(flow_run_id, Crashed(message=message))

    def fail(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, Failed(message=message))

    def requeue(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, Scheduled(message=message))

    def rerun(self, flow_run_id) -> None:
        self._force(flow_run_id, Scheduled(message="Retried through the API"))

    def reschedule(self, flow_run_id, at: datetime, *, name: str, message: Optional[str]) -> None:
        """The run stays Scheduled (same run, same id), due at `at`, under this state name and message."""
        self._force(flow_run_id, Scheduled(scheduled_time=at, name=name, message=message))

    def restore(self, flow_run_id, state: PastState) -> None:
        self._force(flow_run_id, state.original.fresh_copy())

    def rename(self, flow_run_id: str, *, name: str, tags: list[str]) -> None:
        with self._writing():
            self._client.update_flow_run(UUID(flow_run_id), name=name, tags=tags)

