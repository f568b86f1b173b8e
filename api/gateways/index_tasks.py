"""The index's task table: ids <-> flow runs, and a copy of each run's state kept from Prefect for fast reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from api.gateways.index_accounts import HELD
from api.gateways.index_db import IndexPart
from api.gateways.index_rows import FINAL_MARKS, FINAL_TYPES, LIVE, WITH_RUN, NewTask, RunState, TaskFilter, TaskRow, iso_utc, now_iso


class TaskTable(IndexPart):
    """Tasks, their flow runs, and the copy of each run's state."""

    def reserve_tasks(self, tasks: Iterable[NewTask]) -> list[int]:
        """Store new tasks in one transaction and give each its id: the durable record of a request.
        Their runs are created afterwards (attach_flow_runs), unless they exist already."""
        now = datetime.now(timezone.utc)
        created_at = now.isoformat()
        ids = []
        with self.writing():
            for task in tasks:
                failed = ("FAILED", "Failed", task.failed, now.timestamp(), created_at) if task.failed else (None,) * 5
                cursor = self.db.conn.execute(
                    "INSERT INTO tasks (serial, username, script_name, script_config, source, created_at,"
                    " platform, start_at, expected_start_time, flow_run_id, plan_id, firing_id, callback_url,"
                    " expire_after, expires_at, state_type, state_name, state_message, state_at, end_time)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (task.serial, task.username, task.script_name, json.dumps(task.script_config), task.source,
                     created_at, task.platform, iso_utc(task.start_at), iso_utc(task.start_at), task.flow_run_id,
                     task.plan_id, task.firing_id, task.callback_url, task.expire_after, iso_utc(task.expires_at),
                     *failed),
                )
                ids.append(cursor.lastrowid)
        return ids

    def tasks_of_firing(self, firing_id: str) -> list[int]:
        """The tasks a plan's firing stored (deleted ones too): none means it has not fired yet."""
        return [task_id for (task_id,) in self.db.execute("SELECT id FROM tasks WHERE firing_id = ? ORDER BY id",
                                                          [firing_id])]

    def last_firing(self, plan_id: str) -> tuple[Optional[str], list[int]]:
        """(when, task ids) of the plan's latest firing that stored tasks."""
        rows = list(self.db.execute(
            "SELECT firing_id, created_at FROM tasks WHERE plan_id = ? ORDER BY id DESC LIMIT 1", [plan_id]))
        if not rows:
            return None, []
        firing_id, created_at = rows[0]
        return created_at, self.tasks_of_firing(firing_id)

    def attach_flow_runs(self, flow_run_by_task: dict[int, str]) -> None:
        """A task deleted while its run was being created keeps the run to purge (purged = 0)."""
        with self.writing():
            self.db.conn.executemany(
                "UPDATE tasks SET flow_run_id = ?, purged = CASE WHEN deleted_at IS NULL THEN purged ELSE 0 END"
                " WHERE id = ?",
                [(flow_run_id, task_id) for task_id, flow_run_id in flow_run_by_task.items()],
            )

    def stop_uncreated(self, task_id: int, message: str) -> bool:
        """Stop a task whose run is not created yet: it will be created Cancelled. False if it has one."""
        now = datetime.now(timezone.utc)
        with self.writing():
            cursor = self.db.conn.execute(
                "UPDATE tasks SET stop_requested = 1, state_type = 'CANCELLED', state_name = 'Cancelled',"
                " state_message = ?, state_at = ?, end_time = ? WHERE id = ? AND flow_run_id IS NULL AND stop_requested = 0",
                [message, now.timestamp(), now.isoformat(), task_id])
        return cursor.rowcount == 1

    def requeue_uncreated(self, task_id: int) -> bool:
        """A failed task without a run (stopped before it, or refused) is pending again, for the run
        creator. False if its run was created meanwhile."""
        with self.writing():
            cursor = self.db.conn.execute(
                "UPDATE tasks SET stop_requested = 0, state_type = NULL, state_name = NULL, state_message = NULL,"
                " state_at = NULL, end_time = NULL WHERE id = ? AND flow_run_id IS NULL", [task_id])
        return cursor.rowcount == 1

    def stop_requested(self, task_ids: list[int]) -> list[int]:
        if not task_ids:
            return []
        marks = ",".join("?" for _ in task_ids)
        rows = self.db.execute(f"SELECT id FROM tasks WHERE stop_requested = 1 AND id IN ({marks})", task_ids)
        return [task_id for (task_id,) in rows]

    def to_create(self, limit: int) -> list[TaskRow]:
        """Live tasks whose run is not created yet (stopped ones too: theirs is created Cancelled),
        those due first (a task for now does not wait behind thousands for tomorrow); deleted ones
        are dropped first, those Prefect refused (FAILED) are not tried again, and those of a
        marked account, or held by its account's action budget, wait."""
        with self.writing():
            self.db.conn.execute(
                "UPDATE tasks SET purged = 1 WHERE flow_run_id IS NULL AND deleted_at IS NOT NULL AND purged = 0")
        rows = self.db.query(
            f"SELECT * FROM tasks WHERE flow_run_id IS NULL AND {LIVE} AND (state_type IS NULL OR stop_requested = 1)"
            f" AND (stop_requested = 1 OR (NOT {HELD} AND (budget_until IS NULL OR budget_until <= ?)))"
            " ORDER BY start_at, id LIMIT ?",
            [now_iso(), now_iso(), limit])
        return [TaskRow.from_row(row) for row in rows]

    def refuse_creation(self, task_id: int, message: str) -> None:
        """Prefect will not create this task's run: it ends failed, with the reason, and no run."""
        with self.writing():
            self.db.conn.execute(
                "UPDATE tasks SET state_type = 'FAILED', state_name = 'Failed', state_message = ?, state_at = ?,"
                " end_time = ? WHERE id = ? AND flow_run_id IS NULL",
                [message, datetime.now(timezone.utc).timestamp(), now_iso(), task_id])

    def get(self, task_id: int) -> Optional[TaskRow]:
        if not -(2**63) <= task_id < 2**63:
            return None  # beyond SQLite's integers (it would raise OverflowError): no such task
        rows = list(self.db.query(f"SELECT * FROM tasks WHERE id = ? AND {LIVE}", [task_id]))
        return TaskRow.from_row(rows[0]) if rows else None

    def by_flow_run_ids(self, flow_run_ids: list[str]) -> dict[str, TaskRow]:
        if not flow_run_ids:
            return {}
        marks = ",".join("?" for _ in flow_run_ids)
        rows = self.db.query(
            f"SELECT * FROM tasks WHERE deleted_at IS NULL AND flow_run_id IN ({marks})", flow_run_ids
        )
        return {row["flow_run_id"]: TaskRow.from_row(row) for row in rows}

    def knows_flow_run(self, flow_run_id: str) -> bool:
        return bool(list(self.db.query("SELECT 1 FROM tasks WHERE flow_run_id = ?", [flow_run_id])))

    # Reads of the state copy -------------------------------------------------

    def _where(self, wanted: TaskFilter) -> tuple[str, list]:
        clauses, values = [LIVE], []
        if wanted.state_types is not None:
            marks = ",".join("?" for _ in wanted.state_types)
            # No state copied yet: a run just created, pending.
            none = " OR state_type IS NULL" if "SCHEDULED" in wanted.state_types else ""
            clauses.append(f"(state_type IN ({marks}){none})")
            values.extend(wanted.state_types)
        for column in ("serial", "script_name", "source", "plan_id"):
            if getattr(wanted, column) is not None:
                clauses.append(f"{column} = ?")
                values.append(getattr(wanted, column))
        return " AND ".join(clauses), values

    def page(self, wanted: TaskFilter, *, offset: int, limit: int) -> list[TaskRow]:
        """Newest first."""
        where, values = self._where(wanted)
        rows = self.db.query(f"SELECT * FROM tasks WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                             [*values, limit, offset])
        return [TaskRow.from_row(row) for row in rows]

    def count(self, wanted: TaskFilter) -> int:
        where, values = self._where(wanted)
        return self.db.execute(f"SELECT count(*) FROM tasks WHERE {where}", values).fetchone()[0]

    def counts_by_state_type(self) -> dict[Optional[str], int]:
        rows = self.db.execute(f"SELECT state_type, count(*) FROM tasks WHERE {LIVE} GROUP BY state_type")
        return {state_type: count for state_type, count in rows}

    def flow_runs_to_check(self, state_types: tuple[str, ...], due_before: datetime) -> list[str]:
        """Runs of live tasks in one of these states, or with no state copied from Prefect yet (the
        Scheduled one the API wrote on creating it), or scheduled to start before `due_before`:
        those whose state Prefect may change without our asking."""
        marks = ",".join("?" for _ in state_types)
        rows = self.db.execute(
            f"SELECT flow_run_id FROM tasks WHERE {WITH_RUN} AND (state_type IS NULL OR state_type IN ({marks})"
            " OR state_at IS NULL OR (state_type = 'SCHEDULED' AND expected_start_time < ?))",
            [*state_types, iso_utc(due_before)],
        )
        return [flow_run_id for (flow_run_id,) in rows]

    def live_flow_runs(self) -> list[str]:
        return [flow_run_id for (flow_run_id,) in self.db.execute(f"SELECT flow_run_id FROM tasks WHERE {WITH_RUN}")]

    # Writes of the state copy ------------------------------------------------

    def record_states(self, states: Iterable[RunState]) -> None:
        """Copy what Prefect says of these runs; a state older than the one kept is ignored (a slow
        reader must not undo a newer event), except an end read over a copy that has not ended: a
        forced end (a stop) held up behind a frozen server can land after the worker's Pending and
        stay Prefect's state with the older timestamp. Were the read stale (the run re-run since),
        the run's next event puts the copy right; kept, the copy would stay pending for good."""
        with self.writing():
            self.db.conn.executemany(
                "UPDATE tasks SET state_type = ?, state_name = ?, state_message = ?, state_at = ?,"
                " start_time = ?, expected_start_time = ?, end_time = ?, auto_retries = ?"
                " WHERE flow_run_id = ? AND (state_at IS NULL OR state_at <= ?"
                f" OR (? AND coalesce(state_type, '') NOT IN ({FINAL_MARKS})))",
                [(s.state_type, s.state_name, s.message, s.timestamp.timestamp() if s.timestamp else None,
                  iso_utc(s.start_time), iso_utc(s.expected_start_time), iso_utc(s.end_time), s.auto_retries,
                  s.flow_run_id, s.timestamp.timestamp() if s.timestamp else 0.0, s.state_type in FINAL_TYPES)
                 for s in states],
            )

    def record_seen(self, states: list[RunState]) -> set[str]:
        """Copy states Prefect's events name, where the event says all that changed: a run that
        moved (not scheduled, not ended) loses its end time and takes a first Running state's time
        as its start time (Prefect's own rules); a first Scheduled state only fills in the state of
        a run the API created. Returns the runs taken: the others are to be read from Prefect."""
        taken = set()
        with self.writing():
            for s in states:
                if s.state_type == "SCHEDULED":
                    cursor = self.db.conn.execute(
                        "UPDATE tasks SET state_name = ?, state_message = ?, state_at = ?"
                        " WHERE flow_run_id = ? AND state_type = 'SCHEDULED' AND state_at IS NULL",
                        [s.state_name, s.message, s.timestamp.timestamp(), s.flow_run_id])
                else:
                    cursor = self.db.conn.execute(
                        "UPDATE tasks SET state_type = ?, state_name = ?, state_message = ?, state_at = ?, end_time = NULL,"
                        " start_time = CASE WHEN start_time IS NULL AND ? = 'RUNNING' THEN ? ELSE start_time END"
                        " WHERE flow_run_id = ? AND (state_at IS NULL OR state_at <= ?)",
                        [s.state_type, s.state_name, s.message, s.timestamp.timestamp(), s.state_type,
                         iso_utc(s.timestamp), s.flow_run_id, s.timestamp.timestamp()])
                if cursor.rowcount:
                    taken.add(s.flow_run_id)
        return taken

    # Retries and deletions ---------------------------------------------------

    def take_retry(self, task_id: int, limit: int) -> bool:
        """Count one manual re-run unless the limit is reached; atomic, so two retries cannot both pass.
        A task stopped before its run existed can be stopped again once it runs again; a task with a
        queue timeout gets its whole wait again, from now."""
        now = datetime.now(timezone.utc)
        with self.writing():
            cursor = self.db.conn.execute(
                "UPDATE tasks SET manual_retries = manual_retries + 1, stop_requested = 0"
                " WHERE id = ? AND manual_retries < ?",
                [task_id, limit],
            )
            taken = cursor.rowcount == 1
            for (minutes,) in self.db.execute("SELECT expire_after FROM tasks WHERE id = ? AND expire_after IS NOT NULL"
                                              " AND ?", [task_id, taken]):
                self.db.conn.execute("UPDATE tasks SET expires_at = ? WHERE id = ?",
                                     [iso_utc(now + timedelta(minutes=minutes)), task_id])
        return taken

    def expired_pending(self, now: datetime, limit: int = 100) -> list[TaskRow]:
        """Live tasks past their queue timeout that have not started (as the copy says: Prefect has the
        last word), stopped ones aside."""
        rows = self.db.query(
            f"SELECT * FROM tasks WHERE expires_at IS NOT NULL AND expires_at <= ? AND {LIVE} AND stop_requested = 0"
            " AND (state_type IS NULL OR state_type IN ('SCHEDULED', 'PAUSED')) ORDER BY expires_at, id LIMIT ?",
            [iso_utc(now), limit])
        return [TaskRow.from_row(row) for row in rows]

    def give_back_retry(self, task_id: int) -> None:
        with self.writing():
            self.db.conn.execute("UPDATE tasks SET manual_retries = manual_retries - 1 WHERE id = ?", [task_id])

    def mark_deleted(self, task_ids: Iterable[int]) -> None:
        with self.writing():
            self.db.conn.executemany(
                "UPDATE tasks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                [(now_iso(), i) for i in task_ids],
            )

    def unpurged_deletions(self) -> list[TaskRow]:
        """Deleted tasks whose flow run may still exist in Prefect."""
        rows = self.db.query(
            "SELECT * FROM tasks WHERE deleted_at IS NOT NULL AND purged = 0 AND flow_run_id IS NOT NULL"
        )
        return [TaskRow.from_row(row) for row in rows]

    def recently_purged(self, since: datetime) -> list[TaskRow]:
        """Deleted tasks marked purged since `since`: checked against Prefect once more."""
        rows = self.db.query(
            "SELECT * FROM tasks WHERE deleted_at > ? AND purged = 1 AND flow_run_id IS NOT NULL", [iso_utc(since)])
        return [TaskRow.from_row(row) for row in rows]

    def mark_unpurged(self, task_ids: Iterable[int]) -> None:
        with self.writing():
            self.db.conn.executemany("UPDATE tasks SET purged = 0 WHERE id = ?", [(i,) for i in task_ids])

    def mark_purged(self, task_id: int) -> None:
        with self.writing():
            self.db.conn.execute("UPDATE tasks SET purged = 1 WHERE id = ?", [task_id])
