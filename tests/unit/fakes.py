"""In-memory stand-ins for the Prefect gateway's parts, and the real index on a temporary SQLite file."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from api.domain.tasks import TaskService
from api.gateways.index import Index
from api.gateways.prefect import NewRun, OrchestratorUnavailable, RunGone, RunsNotCreated
from api.gateways.runs import PastState, PlanSchedule, Run, RunState
from contract.names import device_queue

FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def temp_index(folder: Path) -> Index:
    return Index(folder / "index.db")


def task_service(index: Index, prefect: "FakePrefect", serials=("s1", "s2"), **options) -> TaskService:
    """The task service as the wiring builds it, over the real index and the fake Prefect."""
    values = dict(ui_url="http://prefect.test", retry_limit=2, max_tasks_per_request=50)
    return TaskService(index.tasks, index.accounts, prefect.runs, prefect.writes, prefect,
                       lambda: set(serials), **{**values, **options})


class FakePrefect:
    """One object standing for every part the domain uses (runs, writes, schedules, secrets): pass
    it as each. Runs live in `flow_runs`; every state written is kept in `history`; `up` False makes
    every call fail as an unreachable server does (`last_up`: when it last answered); names in
    `refuse` are refused at creation."""

    def __init__(self):
        self.flow_runs: dict[str, Run] = {}
        self.history: dict[str, list[PastState]] = {}
        self.up = True
        self.last_up: Optional[datetime] = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
        self.refuse: set[str] = set()
        self.created_batches: list[list[str]] = []
        self.deleted: list[str] = []
        self.due: dict[str, datetime] = {}  # runs rescheduled: when each is due
        self.secrets: dict[str, str] = {}
        self.ui_runs: list[str] = []
        self.schedule_list: dict[str, PlanSchedule] = {}
        self._keys: dict[str, str] = {}
        self._clock = itertools.count()
        self._epoch = datetime(2026, 1, 1, tzinfo=timezone.utc)

    # The gateway's parts are all this one object.
    @property
    def runs(self) -> "FakePrefect":
        return self

    @property
    def writes(self) -> "FakePrefect":
        return self

    def healthy(self) -> bool:
        return self.up

    def last_answered(self) -> Optional[datetime]:
        return self.last_up

    def _reachable(self) -> None:
        if not self.up:
            raise OrchestratorUnavailable("the fake server is down")

    def _now(self) -> datetime:
        # Strictly increasing: a later write is always newer, as the index's copy expects.
        return self._epoch + timedelta(seconds=next(self._clock))

    # Making runs -----------------------------------------------------------------

    def add_run(self, state_type: str = "SCHEDULED", *, name: str = "run", parameters: Optional[dict] = None,
                tags: tuple[str, ...] = (), work_queue_name: Optional[str] = None, plan_id: Optional[str] = None,
                expected_start_time: Optional[datetime] = None, start_time: Optional[datetime] = None,
                message: Optional[str] = None) -> str:
        run_id = str(uuid.uuid4())
        state = RunState(run_id, None, None, None, None, start_time=start_time,
                         expected_start_time=expected_start_time)
        self.flow_runs[run_id] = Run(run_id, name, state, dict(parameters or {}), tuple(tags), work_queue_name, plan_id)
        self.history[run_id] = []
        self.set_state(run_id, state_type, message)
        return run_id

    def set_state(self, run_id: str, state_type: str, message: Optional[str] = None, *,
                  at: Optional[datetime] = None) -> None:
        """What a worker or the engine does to a run, outside the API."""
        run = self.flow_runs[run_id]
        at = at or self._now()
        name = state_type.capitalize()
        start = run.state.start_time or (at if state_type == "RUNNING" else None)
        state = replace(run.state, state_type=state_type, state_name=name, message=message, timestamp=at,
                        start_time=start, end_time=at if state_type in FINAL else None)
        self.flow_runs[run_id] = replace(run, state=state)
        self.history[run_id].append(PastState(state_type, name, message, at, state_type in FINAL))

    def end_named(self, run_id: str, state_type: str, name: str, message: Optional[str] = None) -> None:
        """An end under a state name of the flow's own (Failed "AccountBanned")."""
        self.set_state(run_id, state_type, message)
        run = self.flow_runs[run_id]
        self.flow_runs[run_id] = replace(run, state=replace(run.state, state_name=name))

    # RunQueries ------------------------------------------------------------------

    def read_run(self, flow_run_id: str) -> Run:
        self._reachable()
        if flow_run_id not in self.flow_runs:
            raise RunGone(flow_run_id)
        return self.flow_runs[flow_run_id]

    def read_runs(self, flow_run_ids: list[str]) -> dict[str, Run]:
        self._reachable()
        return {i: self.flow_runs[i] for i in flow_run_ids if i in self.flow_runs}

    def states(self, flow_run_id) -> list[PastState]:
        self._reachable()
        if str(flow_run_id) not in self.history:
            raise RunGone(str(flow_run_id))
        return list(self.history[str(flow_run_id)])

    def lasting_stops(self, older_than: timedelta) -> list[Run]:
        cutoff = datetime.now(timezone.utc) - older_than
        return [run for run in self.flow_runs.values()
                if run.state_type == "CANCELLING" and run.state.timestamp < cutoff]

    def unindexed_runs(self) -> list[Run]:
        return [self.flow_runs[i] for i in self.ui_runs if i in self.flow_runs]

    def logs(self, flow_run_id: str, *, offset: int, limit: int) -> list:
        return []

    # RunWrites -------------------------------------------------------------------

    def create_runs(self, runs: list[NewRun]) -> list[str]:
        self._reachable()
        ids = []
        for new in runs:
            if new.name in self.refuse:
                raise RunsNotCreated(ids, f"{new.name} refused")
            if new.idempotency_key in self._keys:
                ids.append(self._keys[new.idempotency_key])
                continue
            run_id = self.add_run("CANCELLED" if new.stopped is not None else "SCHEDULED", name=new.name,
                                  parameters=new.parameters, tags=tuple(new.tags), message=new.stopped,
                                  work_queue_name=device_queue(new.serial), expected_start_time=new.start_at)
            if new.idempotency_key:
                self._keys[new.idempotency_key] = run_id
            ids.append(run_id)
        self.created_batches.append(ids)
        return ids

    def delete_runs(self, flow_run_ids: list[str]) -> set[str]:
        self._reachable()
        gone = {i for i in flow_run_ids if self.flow_runs.pop(i, None) is not None}
        self.deleted.extend(sorted(gone))
        return gone

    def _force(self, flow_run_id, state_type: str, message: Optional[str]) -> None:
        self._reachable()
        if str(flow_run_id) not in self.flow_runs:
            raise RunGone(str(flow_run_id))
        self.set_state(str(flow_run_id), state_type, message)

    def request_cancel(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, "CANCELLING", message)

    def claim(self, flow_run_id) -> bool:
        """As Prefect: a second Pending (a worker took it) or a Pending after Running is refused."""
        self._reachable()
        if str(flow_run_id) not in self.flow_runs:
            raise RunGone(str(flow_run_id))
        if self.flow_runs[str(flow_run_id)].state_type in ("PENDING", "RUNNING", "CANCELLING", "CANCELLED"):
            return False
        self.set_state(str(flow_run_id), "PENDING", None)
        return True

    def cancel(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, "CANCELLED", message)

    def crash(self, flow_run_id, message: str) -> bool:
        if self.flow_runs[str(flow_run_id)].state.state_type in FINAL:
            return False  # Prefect refuses Crashed on an ended run
        self._force(flow_run_id, "CRASHED", message)
        return True

    def reword_crash(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, "CRASHED", message)

    def fail(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, "FAILED", message)

    def requeue(self, flow_run_id, message: str) -> None:
        self._force(flow_run_id, "SCHEDULED", message)

    def rerun(self, flow_run_id) -> None:
        self._force(flow_run_id, "SCHEDULED", "Retried through the API")

    def reschedule(self, flow_run_id, at: datetime, *, name: str, message: Optional[str]) -> None:
        self._force(flow_run_id, "SCHEDULED", message)
        run = self.flow_runs[str(flow_run_id)]
        self.flow_runs[run.id] = replace(run, state=replace(run.state, state_name=name, expected_start_time=at))
        self.due[run.id] = at

    def restore(self, flow_run_id, state: PastState) -> None:
        self._force(flow_run_id, state.type, state.message)

    def rename(self, flow_run_id: str, *, name: str, tags: list[str]) -> None:
        self._reachable()
        run = self.flow_runs[str(flow_run_id)]
        self.flow_runs[str(flow_run_id)] = replace(run, name=name, tags=tuple(tags))

    # SecretStore -----------------------------------------------------------------

    def save_secret(self, name: str, value: str) -> None:
        self._reachable()
        self.secrets[name] = value

    # PlanSchedules ---------------------------------------------------------------

    def plans_deployment_id(self) -> str:
        return "plans-deployment"

    def create_schedule(self, recurrence, parameters: dict) -> PlanSchedule:
        schedule = PlanSchedule(str(uuid.uuid4()), True, self._now(), dict(parameters))
        self.schedule_list[schedule.id] = schedule
        return schedule

    def schedules(self) -> list[PlanSchedule]:
        self._reachable()
        return list(self.schedule_list.values())

    def update_schedule(self, schedule_id: str, *, active: Optional[bool] = None, recurrence=None,
                        parameters: Optional[dict] = None) -> None:
        schedule = self.schedule_list[str(schedule_id)]
        self.schedule_list[schedule.id] = replace(
            schedule, active=schedule.active if active is None else active,
            parameters=schedule.parameters if parameters is None else parameters)

    def delete_schedule(self, schedule_id: str) -> None:
        self.schedule_list.pop(str(schedule_id), None)

    def add_firing(self, plan_id: Optional[str], due: datetime) -> str:
        return self.add_run("SCHEDULED", name="firing", plan_id=plan_id, expected_start_time=due)

    def due_firings(self, now: datetime) -> list[Run]:
        self._reachable()
        return sorted((run for run in self.flow_runs.values() if run.name == "firing"
                       and run.state_type == "SCHEDULED" and run.expected_start_time <= now),
                      key=lambda run: run.expected_start_time)

    def next_firings(self) -> dict[str, datetime]:
        return {}

    def end_firing(self, flow_run_id, outcome: str, message: str) -> None:
        self._force(flow_run_id, outcome, message)
