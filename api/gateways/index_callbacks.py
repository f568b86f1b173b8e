"""The index's outbox of completion callbacks: one row per task end, kept until delivered or given up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import TaskRow, now_iso

CALLBACKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    delivered_at TEXT,
    gave_up_at TEXT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (next_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX IF NOT EXISTS callbacks_task ON callbacks (task_id);
"""


# An end of a task: its attempt and how it ended. A stop's own Cancelled, then Prefect's reworded one,
# is one end (one call); a re-run's end, or a run found Completed after being judged Crashed, is another.
END = "manual_retries || ':' || state_type"
# A Crashed after an end of the same attempt was told is no new end: Crashed says only that the
# process went away (Prefect's engine forces it on a stopped run whose process is then killed).
CRASH_AFTER_AN_END = "(state_type = 'CRASHED' AND coalesce(notified_end, '') LIKE manual_retries || ':%')"


@dataclass(frozen=True)
class EndedTask:
    row: TaskRow
    state_at: float  # exactly as stored: the end is marked as queued only if it is still this one


@dataclass(frozen=True)
class Delivery:
    id: int
    task_id: int
    url: str
    body: str
    attempts: int


class CallbackOutbox(IndexPart):
    """Calls queued for the ends of tasks, until delivered or given up on."""

    def ended_without_callback(self, final_types: tuple[str, ...], limit: int = 100) -> list[EndedTask]:
        """Live tasks with a callback whose latest end (a re-run ends again) is not queued yet."""
        marks = ",".join("?" for _ in final_types)
        rows = self.db.query(
            f"SELECT * FROM tasks WHERE callback_url IS NOT NULL AND state_type IN ({marks}) AND deleted_at IS NULL"
            " AND (notified_at IS NULL OR (notified_at < state_at AND coalesce(notified_end, '') != " + END + "))"
            " AND NOT " + CRASH_AFTER_AN_END +
            " ORDER BY id LIMIT ?", [*final_types, limit])
        return [EndedTask(TaskRow.from_row(row), row["state_at"]) for row in rows]

    def queue_callbacks(self, ends: Iterable[tuple[EndedTask, str]], due_at: float) -> int:
        """Queue one delivery per end (with its body), unless the task moved on meanwhile."""
        queued = 0
        with self.writing():
            for end, body in ends:
                cursor = self.db.conn.execute(
                    f"UPDATE tasks SET notified_at = state_at, notified_end = {END} WHERE id = ? AND state_at = ?",
                    [end.row.id, end.state_at])
                if cursor.rowcount == 1:
                    self.db.conn.execute(
                        "INSERT INTO callbacks (task_id, url, body, next_at) VALUES (?, ?, ?, ?)",
                        [end.row.id, end.row.callback_url, body, due_at])
                    queued += 1
        return queued

    def due_callbacks(self, now: float, limit: int = 20) -> list[Delivery]:
        rows = self.db.query(
            "SELECT * FROM callbacks WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_at <= ?"
            " ORDER BY next_at, id LIMIT ?", [now, limit])
        return [Delivery(r["id"], r["task_id"], r["url"], r["body"], r["attempts"]) for r in rows]

    def callback_delivered(self, delivery_id: int) -> None:
        with self.writing():
            self.db.conn.execute("UPDATE callbacks SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
                                 [now_iso(), delivery_id])

    def callback_failed(self, delivery_id: int, error: str, next_at: Optional[float]) -> None:
        """Tried again at next_at; None: given up."""
        with self.writing():
            self.db.conn.execute(
                "UPDATE callbacks SET attempts = attempts + 1, last_error = ?, next_at = COALESCE(?, next_at),"
                " gave_up_at = ? WHERE id = ?",
                [error[:500], next_at, now_iso() if next_at is None else None, delivery_id])

    def callbacks_of(self, task_id: int) -> list[dict]:
        """What became of the task's callbacks, oldest first."""
        rows = self.db.query("SELECT id, attempts, delivered_at, gave_up_at, last_error FROM callbacks"
                             " WHERE task_id = ? ORDER BY id", [task_id])
        return [dict(row) for row in rows]
