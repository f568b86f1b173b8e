"""Retrying failed tasks, one or all: their runs again (or, for a task whose run was never made, back to the
run creator), now or once their accounts' action budgets free."""

from __future__ import annotations

import contextlib
from typing import Optional

from api.domain.budget_holds import ActionBudgets
from api.domain.creation import RunCreator
from api.domain.deletion import READ_CHUNK
from api.domain.errors import ApiError, invalid
from api.domain.mirror import RunMirror
from api.domain.status import STATE_TYPES_BY_STATUS, TaskStatus
from api.gateways.index import TaskFilter, TaskRow, TaskTable
from api.gateways.prefect import OrchestratorUnavailable, RunGone, RunQueries, RunWrites

FAILED_TYPES = STATE_TYPES_BY_STATUS[TaskStatus.FAILED]


class TaskRetries:
    """Mixed into TaskService, which gives `require_prefect`, `row`, `_run`, `_gone` and `detail`."""

    table: TaskTable
    runs: RunQueries
    writes: RunWrites
    mirror: RunMirror
    creator: RunCreator
    retry_limit: int
    budgets: Optional[ActionBudgets]

    def retry(self, task_id: int) -> dict:
        self.require_prefect()
        row = self.row(task_id)
        if row.flow_run_id is None and self._retry_runless(row):
            return self.detail(task_id)
        row = self.row(task_id)  # its run may have been created since the first read
        run = self._run(row)
        if run.state_type not in FAILED_TYPES:
            raise invalid(f"Task {task_id} is not failed (it is {run.state_type.lower()}); only failed tasks can be retried")
        if not self.table.take_retry(task_id, self.retry_limit):
            raise invalid(f"Task {task_id}: retry limit reached ({self.retry_limit} re-runs)")
        try:
            self._rerun([row])
        except OrchestratorUnavailable:
            self.table.give_back_retry(task_id)
            raise
        except RunGone:
            self.table.give_back_retry(task_id)
            raise self._gone(row) from None
        self.mirror.refresh([str(run.id)])
        return self.detail(task_id)

    def _retry_runless(self, row: TaskRow) -> bool:
        """A failed task whose run was never created (stopped before it, or refused by Prefect) goes
        back to the run creator. False if its run was created meanwhile: that run is to be retried."""
        if row.run.state_type not in FAILED_TYPES:
            raise invalid(f"Task {row.id} is not failed; only failed tasks can be retried")
        if not self.table.take_retry(row.id, self.retry_limit):
            raise invalid(f"Task {row.id}: retry limit reached ({self.retry_limit} re-runs)")
        if self.table.requeue_uncreated(row.id):
            self.creator.wake()
            return True
        self.table.give_back_retry(row.id)
        return False

    def retry_all(self) -> int:
        self.require_prefect()
        failed_rows = []
        requeued = 0
        for row in self.table.page(TaskFilter(state_types=FAILED_TYPES), offset=0, limit=2**62):
            if row.flow_run_id is None:
                with contextlib.suppress(ApiError):  # at its retry limit
                    if self._retry_runless(row):
                        requeued += 1
                        continue
                row = self.table.get(row.id)
            if row is not None and row.flow_run_id:
                failed_rows.append(row)
        retried = []
        for start in range(0, len(failed_rows), READ_CHUNK):
            rows = failed_rows[start:start + READ_CHUNK]
            runs = self.runs.read_runs([row.flow_run_id for row in rows])
            taken = []
            for row in rows:
                run = runs.get(row.flow_run_id)  # what Prefect says now, not the copy
                if run is None or run.state_type not in FAILED_TYPES:
                    continue
                if self.table.take_retry(row.id, self.retry_limit):
                    taken.append(row)
            for row, gone in self._rerun(taken, each=True):
                if gone:  # deleted since it was listed
                    self.table.give_back_retry(row.id)
                else:
                    retried.append(row.flow_run_id)
        self.mirror.refresh(retried)
        return requeued + len(retried)

    def _rerun(self, rows: list[TaskRow], each: bool = False) -> list[tuple[TaskRow, bool]]:
        """Run these failed tasks' runs again: now, or once their accounts' budgets free (the run put
        off, saying why). With `each`, a run deleted meanwhile is reported (True) instead of raised."""
        waits = self.budgets.weigh_retries(rows) if self.budgets else {}
        done = []
        for row in rows:
            try:
                if row.id in waits:
                    self.budgets.put_off(row, waits[row.id])
                else:
                    self.writes.rerun(row.flow_run_id)
            except RunGone:
                if not each:
                    raise
                done.append((row, True))
                continue
            done.append((row, False))
        return done
