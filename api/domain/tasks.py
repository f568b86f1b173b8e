"""What the task endpoints do: create (with fan-out), read, stop, retry and delete tasks."""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Optional

from api.domain.budget_holds import ActionBudgets
from api.domain.callbacks import CallbackPolicy
from api.domain.errors import ApiError, invalid, not_found
from api.domain.expiry import expiry_time
from api.domain.fanout import PlannedTask
from api.domain.planning import DEFAULT_LIMITS, RequestLimits, plan_tasks
from api.domain.requests import TaskRequest
from api.domain.secrets import SecretKeeper
from api.domain.status import STATE_TYPES_BY_STATUS, TaskStatus, task_status
from api.domain.creation import RunCreator
from api.domain.deletion import STOPPED, TaskDeletion
from api.domain.retries import TaskRetries
from api.domain.mirror import RunMirror
from api.domain.views import copy_notice, task_view
from api.gateways.index import AccountTable, NewTask, TaskFilter, TaskRow, TaskTable
from api.gateways.prefect import FINAL_STATE_TYPES, OrchestratorUnavailable, RunGone, RunQueries, RunWrites, SecretStore
from api.gateways.runs import Run
from contract.names import run_name, task_tags

MAX_PAGE_SIZE = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListFilters:
    status: Optional[int] = None
    serial: Optional[str] = None
    script_name: Optional[str] = None
    source: Optional[str] = None
    plan_id: Optional[str] = None


class TaskService(TaskDeletion, TaskRetries):
    def __init__(
        self,
        table: TaskTable,
        accounts: AccountTable,
        runs: RunQueries,
        writes: RunWrites,
        secrets: SecretStore,
        known_serials: Callable[[], set[str]],
        *,
        ui_url: str,
        retry_limit: int,
        max_tasks_per_request: int,
        material_library: Path = Path("materials"),
        material_roots: tuple[Path, ...] = (),
        comment_endpoints: tuple[str, ...] = (),
        callbacks: CallbackPolicy = CallbackPolicy((), None),
        limits: RequestLimits = DEFAULT_LIMITS,
        default_expire_after: Optional[float] = None,
        kept_off: Callable[[], dict[str, str]] = dict,
    ):
        self.table = table
        self.accounts = accounts
        self.runs = runs
        self.writes = writes
        self.known_serials = known_serials
        self.ui_url = ui_url
        self.retry_limit = retry_limit
        self.max_tasks_per_request = max_tasks_per_request
        self.material_library = material_library
        self.material_roots = material_roots
        self.comment_endpoints = comment_endpoints
        self.callbacks = callbacks
        self.limits = limits
        self.default_expire_after = default_expire_after  # minutes; None: pending tasks wait for good
        self.kept_off = kept_off  # serial -> why the phone takes no new task (its health guards)
        self.secrets = SecretKeeper(secrets)
        self.mirror = RunMirror(table, runs)
        self.creator = RunCreator(table, writes, self.mirror, self._stop_created)
        self.budgets: Optional[ActionBudgets] = None  # weighs manual retries against the accounts' budgets

    # Create ------------------------------------------------------------------

    def plan(self, request: TaskRequest, now: datetime, rng: random.Random) -> list[tuple[PlannedTask, datetime]]:
        """The request's tasks and start times; refused (ApiError) before anything is stored."""
        self.callbacks.check(request.callback_url)
        return plan_tasks(
            request, now, rng, known_serials=self.known_serials, accounts=self.accounts.accounts,
            max_tasks=self.max_tasks_per_request,
            material_library=self.material_library, material_roots=self.material_roots,
            comment_endpoints=self.comment_endpoints, limits=self.limits,
        )

    def create(self, body: TaskRequest, now: datetime, rng: random.Random, source: str = "api") -> list[int]:
        """All tasks of one request are stored in one transaction, or none; their runs are created
        right after, behind the answer (RunCreator)."""
        self.require_prefect()  # nothing would start: refuse now rather than store blind
        return self.store(self.plan(body, now, rng), body, source=source)

    def store(self, planned: list[tuple[PlannedTask, datetime]], body: TaskRequest, *, source: str,
              plan_id: Optional[str] = None, firing_id: Optional[str] = None,
              failed: Iterable[NewTask] = ()) -> list[int]:
        """Store planned tasks (and tasks that end failed at once, a plan's offline phones) in one transaction."""
        minutes = self.default_expire_after if body.expire_after is None else body.expire_after
        new = [
            NewTask(task.serial, task.username, body.script_name, self.secrets.hide(task.script_config), source,
                    platform=task.platform, start_at=start, plan_id=plan_id, firing_id=firing_id,
                    callback_url=body.callback_url, expire_after=minutes or None,
                    expires_at=expiry_time(minutes, start))
            for task, start in planned
        ]
        ids = self.table.reserve_tasks([*new, *failed])
        self.creator.wake()
        return ids

    def adopt_in_place(self, run: Run) -> int:
        """Index a run that is already where it should be (started from the UI on its phone's queue)."""
        params = run.parameters
        serial = str(params.get("serial") or "")
        script = str(params.get("script_name") or "")
        config = params.get("script_config") if isinstance(params.get("script_config"), dict) else {}
        config = self.secrets.hide(config)  # the index keeps a reference, never a key typed in the UI
        [task_id] = self.table.reserve_tasks([
            NewTask(serial, params.get("username"), script, config, "ui", flow_run_id=str(run.id))])
        tags = [*run.tags, *task_tags(serial, script, "ui")]
        self.writes.rename(str(run.id), name=run_name(task_id, script), tags=tags)
        self.mirror.record([run])
        return task_id

    # Read --------------------------------------------------------------------

    def require_prefect(self) -> None:
        """A change is decided on what Prefect says, or makes it act: refused (50301) before anything
        changes while the server is down."""
        if not self.runs.healthy():
            raise OrchestratorUnavailable("its health check fails")

    def copy_notice(self) -> dict:
        """Reads answer from the index's copy whatever Prefect does; while it is down they say so (decision 0023)."""
        return copy_notice(self.runs.healthy(), self.runs.last_answered())

    def row(self, task_id: int) -> TaskRow:
        """The task's index row: 40401 for an unknown or deleted task."""
        row = self.table.get(task_id)
        if row is None:
            raise not_found(f"Task {task_id} not found")
        return row

    def _run(self, row: TaskRow) -> Run:
        """What Prefect says of the task's run now (a change is decided on it, not on the copy)."""
        if row.flow_run_id is None:  # stored, its run not created yet: create it now
            if self.creator.create_one(row) is None:
                raise invalid(f"Task {row.id} could not be started: {self.row(row.id).run.message}")
            row = self.row(row.id)
        try:
            run = self.runs.read_run(row.flow_run_id)
        except RunGone:
            raise self._gone(row) from None
        self.mirror.record([run])
        return run

    def _gone(self, row: TaskRow) -> ApiError:
        """Its flow run was deleted (in the Prefect UI, or by a deletion racing this request): so is the task."""
        self.table.mark_deleted([row.id])
        self.table.mark_purged(row.id)
        return not_found(f"Task {row.id} not found (its flow run was deleted in Prefect)")

    def _view(self, row: TaskRow, kept_off: dict[str, str]) -> dict:
        view = task_view(row, self.ui_url)
        if view["status"] == 0 and row.serial in kept_off:
            view["remark"] = f"waiting: phone {kept_off[row.serial]}"
        return view

    def detail(self, task_id: int) -> dict:
        return {**self._view(self.row(task_id), self.kept_off()), **self.copy_notice()}

    def list(self, filters: ListFilters, page: int, page_size: int) -> dict:
        wanted = TaskFilter(
            state_types=STATE_TYPES_BY_STATUS[TaskStatus(filters.status)] if filters.status is not None else None,
            serial=filters.serial, script_name=filters.script_name, source=filters.source, plan_id=filters.plan_id,
        )
        rows = self.table.page(wanted, offset=(page - 1) * page_size, limit=page_size)
        kept_off = self.kept_off()
        return {"tasks": [self._view(row, kept_off) for row in rows], "total": self.table.count(wanted),
                "page": page, "page_size": page_size, **self.copy_notice()}

    def stats(self) -> dict:
        return {**self.counts(), **self.copy_notice()}

    def counts(self) -> dict:
        counts = dict.fromkeys((status.text for status in TaskStatus), 0)
        for state_type, count in self.table.counts_by_state_type().items():
            counts[task_status(state_type).text] += count
        return {"total": sum(counts.values()), **counts}

    # Change ------------------------------------------------------------------

    def stop(self, task_id: int) -> dict:
        self.require_prefect()
        row = self.row(task_id)
        if row.flow_run_id is None and self.table.stop_uncreated(task_id, STOPPED):
            return self.detail(task_id)  # its run will be created Cancelled: nothing to wait for
        row = self.row(task_id)  # its run may have been created meanwhile, or another stop came first
        if row.stop_requested:
            # Stopped before its run existed: that run is created Cancelled, or cancelled by the
            # run creator right after (a second stop can come in between: it must not stop it again).
            raise invalid(f"Task {task_id} has already finished (cancelled); only pending or running tasks can be stopped")
        run = self._run(row)
        state_type = run.state_type
        if state_type in FINAL_STATE_TYPES:
            raise invalid(f"Task {task_id} has already finished ({state_type.lower()}); only pending or running tasks can be stopped")
        if state_type != "CANCELLING":
            try:
                self.stop_run(run)
            except RunGone:
                raise self._gone(row) from None
        self._copy_after_stop(str(run.id))
        return self.detail(task_id)

    def _copy_after_stop(self, flow_run_id: str) -> None:
        """The stop is written in Prefect: an error answer ("nothing was changed") would be false now.
        What the copy meets (Prefect too busy to answer the read, the disk full) is left to the event
        stream and the keeper's reconcile, which copy the run's state a moment later."""
        try:
            self.mirror.refresh([flow_run_id])
        except Exception as error:  # noqa: BLE001 - any failure of the copy: the stop stands
            log.warning("flow run %s stopped; its state is copied to the index later (%r)", flow_run_id, error)

    def _stop_created(self, flow_run_ids: list[str]) -> None:
        """Runs of tasks stopped while their runs were being created."""
        for run in self.runs.read_runs(flow_run_ids).values():
            if run.state_type not in FINAL_STATE_TYPES and run.state_type != "CANCELLING":
                with contextlib.suppress(RunGone):  # deleted meanwhile: nothing left to stop
                    self.stop_run(run)
        self.mirror.refresh(flow_run_ids)

    def stop_run(self, run: Run) -> None:
        """A run that has not started is cancelled at once; a started one is killed by its worker."""
        if run.state_type not in ("RUNNING", "PENDING"):
            self.writes.cancel(run.id, STOPPED)
            return
        self.writes.request_cancel(run.id, STOPPED)
        self.restore_raced_end(run.id)  # the run may have ended between our read and our Cancelling
