"""Flow runs for stored tasks, created behind the API's answer at Prefect's pace, in batches."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable, Optional

from api.domain.mirror import RunMirror, scheduled
from api.gateways.index import TaskRow, TaskTable
from api.gateways.prefect import NewRun, OrchestratorUnavailable, RunsNotCreated, RunWrites
from api.loop import Loop
from contract.names import TaskParameters, run_name, task_tags

log = logging.getLogger(__name__)
BATCH = 100  # Prefect's bulk endpoint takes 100 runs per request


def first_turns(rows: list[TaskRow], now: datetime) -> list[TaskRow]:
    """Of the tasks due now, each phone's first: Prefect stores a bulk request's runs in one
    transaction (about 70 ms a run), so a phone's queue would otherwise wait, idle, behind the runs
    of every other phone's backlog. Tasks for later go in full batches."""
    due = [row for row in rows if row.start_at is None or row.start_at <= now]
    if not due:
        return rows
    firsts: dict[str, TaskRow] = {}
    for row in due:
        firsts.setdefault(row.serial, row)
    return list(firsts.values())


def by_turns(rows: list[TaskRow], now: datetime) -> list[TaskRow]:
    """The tasks due now, each phone's second before any phone's third, then those for later. Once
    the first turns are made, the rest go in full batches: turn by turn, a phone's next run was
    made only when its batch got a write slot among the running runs' own writes, seconds late on
    SQLite (measured: a phone idle 9-17 s before its third run existed)."""
    turn_of: dict[str, int] = {}
    due, later = [], []
    for row in rows:
        if row.start_at is None or row.start_at <= now:
            turn_of[row.serial] = turn_of.get(row.serial, -1) + 1
            due.append((turn_of[row.serial], len(due), row))
        else:
            later.append(row)
    return [row for _, _, row in sorted(due, key=lambda entry: entry[:2])] + later


class RunCreator(Loop):
    """A request's tasks are stored in the index in one transaction and answered at once; this
    thread then creates one flow run per task, oldest first. A task without its run yet is pending."""

    def __init__(self, table: TaskTable, writes: RunWrites, mirror: RunMirror,
                 stop_runs: Callable[[list[str]], None], *, retry_seconds: float = 2.0):
        super().__init__("run-creator", 5.0, join_seconds=15.0)
        self.table = table
        self.stop_runs = stop_runs
        self.writes = writes
        self.mirror = mirror
        self.retry_seconds = retry_seconds
        self._key_prefix: Optional[str] = None
        # Run before each batch: the account marks write why they hold tasks back (to_create skips those).
        self.before_batch: list[Callable[[], None]] = []
        # Which of a batch's tasks may have their runs now (the action budgets hold the others back).
        self.admit: Callable[[list[TaskRow]], list[TaskRow]] = lambda rows: rows

    def run_once(self) -> None:
        try:
            first = True  # the phones a request just gave work to wait for this batch only
            while not self.stopping and self.create_batch(first_turns_only=first):
                first = False
        except OrchestratorUnavailable as error:
            log.warning("runs not created yet (Prefect: %s); trying again", error)
            self._again()
        except Exception:
            log.exception("runs not created yet; trying again")
            self._again()

    def _again(self) -> None:
        self.sleep(self.retry_seconds)
        self.wake()

    def create_batch(self, *, first_turns_only: bool = True) -> int:
        """Create the runs of up to BATCH waiting tasks; how many were waiting."""
        for chore in self.before_batch:
            chore()
        pick = first_turns if first_turns_only else by_turns
        picked = pick(self.table.to_create(BATCH), datetime.now(timezone.utc))
        rows = self.admit(picked)
        if rows:
            try:
                self._create(rows)
            except RunsNotCreated:
                # One run Prefect refuses for good must not hold up the others: one by one.
                for row in rows:
                    self.create_one(row)
        return len(picked)  # those held are skipped by the next pick

    def create_one(self, row: TaskRow) -> Optional[str]:
        """Create this task's run now (a stop cannot wait for the queue); its id, or None if refused."""
        try:
            return self._create([row])[0]
        except RunsNotCreated as refused:
            log.error("Prefect refused the run of task %s: %s", row.id, refused)
            self.table.refuse_creation(row.id, f"Prefect refused to create its flow run: {refused}")
            return None

    def _create(self, rows: list[TaskRow]) -> list[str]:
        flow_run_ids = self.writes.create_runs([self._new_run(row) for row in rows])
        run_of = {row.id: run_id for row, run_id in zip(rows, flow_run_ids)}
        self.table.attach_flow_runs(run_of)
        self.table.record_states(scheduled(run_of[row.id], row.start_at) for row in rows if not row.stop_requested)
        # Stopped while its run was being created (Scheduled): stop the run now.
        meanwhile = [run_of[i] for i in self.table.stop_requested([r.id for r in rows if not r.stop_requested])]
        if meanwhile:
            self.stop_runs(meanwhile)
        # Stopped before, then retried while its run was being created (Cancelled): that run runs again.
        stopped = [r.id for r in rows if r.stop_requested]
        for task_id in set(stopped) - set(self.table.stop_requested(stopped)):
            self.writes.rerun(run_of[task_id])
        return flow_run_ids

    def _new_run(self, row: TaskRow) -> NewRun:
        if self._key_prefix is None:
            self._key_prefix = f"phonefarm-{self.table.identity()}"
        return NewRun(
            name=run_name(row.id, row.script_name),
            serial=row.serial,
            parameters=TaskParameters(
                serial=row.serial, script_name=row.script_name, script_config=row.script_config,
                username=row.username, task_id=row.id, platform=row.platform,
            ).as_dict(),
            tags=task_tags(row.serial, row.script_name, row.source),
            start_at=row.start_at,
            idempotency_key=f"{self._key_prefix}-task-{row.id}",
            stopped=row.run.message if row.stop_requested else None,
        )
