"""What the action budgets read and write in the index: the tasks that spent or may spend, the tasks they hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import TaskRow, iso_utc


class BudgetTable(IndexPart):
    def spenders(self, since: datetime) -> list[TaskRow]:
        """Tasks with a run that ended after `since` or has not ended: deleted ones too (deleting a
        task does not undo what it did)."""
        rows = self.db.query("SELECT * FROM tasks WHERE flow_run_id IS NOT NULL AND (end_time IS NULL OR end_time > ?)",
                             [iso_utc(since)])
        return [TaskRow.from_row(row) for row in rows]

    def hold(self, task_id: int, remark: Optional[str], until: datetime) -> None:
        """No run for this task before `until`; the remark says why (None: nothing to say, e.g. not due yet)."""
        with self.writing():
            self.db.conn.execute(
                "UPDATE tasks SET budget_until = ?, state_message = ? WHERE id = ? AND flow_run_id IS NULL"
                " AND state_type IS NULL", [iso_utc(until), remark, task_id])

    def release(self, task_ids: Iterable[int]) -> None:
        """These tasks' runs are created now: the budget's remark goes."""
        with self.writing():
            self.db.conn.executemany(
                "UPDATE tasks SET budget_until = NULL, state_message = NULL WHERE id = ? AND budget_until IS NOT NULL AND stop_requested = 0",
                [(task_id,) for task_id in task_ids])

    def due_scheduled(self, horizon: datetime, later_than: timedelta) -> list[TaskRow]:
        """Runs still Scheduled that are weighed when due, due before `horizon`, soonest first: one its
        budget put off (its `budget_until`), or a start_time task's (for more than `later_than` after
        it was stored; a task for now was weighed when its run was made)."""
        rows = self.db.query(
            "SELECT * FROM tasks WHERE flow_run_id IS NOT NULL AND deleted_at IS NULL AND state_type = 'SCHEDULED'"
            " AND stop_requested = 0 AND coalesce(budget_until, start_at) <= ?"
            " AND (budget_until IS NOT NULL OR julianday(start_at) > julianday(created_at) + ?)"
            " ORDER BY coalesce(budget_until, start_at), id",
            [iso_utc(horizon), later_than.total_seconds() / 86400])
        return [TaskRow.from_row(row) for row in rows]

    def put_off(self, task_id: int, until: Optional[datetime]) -> None:
        """Its run was rescheduled to `until` by its budget (None: let go, due now)."""
        with self.writing():
            self.db.conn.execute("UPDATE tasks SET budget_until = ? WHERE id = ?", [iso_utc(until), task_id])
