"""The local index in SQLite: integer task ids <-> Prefect flow runs, known phones, accounts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

import sqlite_utils

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
    flow_run_id TEXT UNIQUE,
    serial TEXT NOT NULL,
    username TEXT,
    script_name TEXT NOT NULL,
    script_config TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    manual_retries INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT,
    purged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_deleted ON tasks (deleted_at, purged);
CREATE TABLE IF NOT EXISTS phones (
    serial TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    serial TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);
"""


@dataclass(frozen=True)
class TaskRow:
    id: int
    flow_run_id: Optional[str]
    serial: str
    username: Optional[str]
    script_name: str
    script_config: dict
    source: str
    created_at: datetime
    manual_retries: int

    @classmethod
    def from_row(cls, row: dict) -> "TaskRow":
        return cls(
            id=row["id"],
            flow_run_id=row["flow_run_id"],
            serial=row["serial"],
            username=row["username"],
            script_name=row["script_name"],
            script_config=json.loads(row["script_config"]),
            source=row["source"],
            created_at=datetime.fromisoformat(row["created_at"]),
            manual_retries=row["manual_retries"],
        )


@dataclass(frozen=True)
class NewTask:
    serial: str
    username: Optional[str]
    script_name: str
    script_config: dict
    source: str = "api"


@dataclass(frozen=True)
class Account:
    username: str
    platform: str
    serial: str
    enabled: bool


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Index:
    """Opens one connection per thread (waitress serves from several) on a WAL database."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.db.conn.executescript(_SCHEMA)

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self.path)
            db.conn.execute("PRAGMA busy_timeout = 10000")
            db.enable_wal()
            self._local.db = db
        return db

    # Tasks -----------------------------------------------------------------

    def reserve_tasks(self, tasks: Iterable[NewTask]) -> list[int]:
        """Give each new task its id in one transaction; the flow run is attached afterwards."""
        created_at = _now()
        ids = []
        with self.db.conn:
            for task in tasks:
                cursor = self.db.conn.execute(
                    "INSERT INTO tasks (serial, username, script_name, script_config, source, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (task.serial, task.username, task.script_name, json.dumps(task.script_config), task.source, created_at),
                )
                ids.append(cursor.lastrowid)
        return ids

    def attach_flow_runs(self, flow_run_by_task: dict[int, str]) -> None:
        with self.db.conn:
            self.db.conn.executemany(
                "UPDATE tasks SET flow_run_id = ? WHERE id = ?",
                [(flow_run_id, task_id) for task_id, flow_run_id in flow_run_by_task.items()],
            )

    def discard(self, task_ids: Iterable[int]) -> None:
        """Forget tasks whose creation was rolled back (their ids stay used)."""
        with self.db.conn:
            self.db.conn.executemany("DELETE FROM tasks WHERE id = ?", [(i,) for i in task_ids])

    def get(self, task_id: int) -> Optional[TaskRow]:
        if not -(2**63) <= task_id < 2**63:
            return None  # beyond SQLite's integers (it would raise OverflowError): no such task
        rows = list(self.db.query(
            "SELECT * FROM tasks WHERE id = ? AND deleted_at IS NULL AND flow_run_id IS NOT NULL", [task_id]
        ))
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

    def take_retry(self, task_id: int, limit: int) -> bool:
        """Count one manual re-run unless the limit is reached; atomic, so two retries cannot both pass."""
        with self.db.conn:
            cursor = self.db.conn.execute(
                "UPDATE tasks SET manual_retries = manual_retries + 1 WHERE id = ? AND manual_retries < ?",
                [task_id, limit],
            )
        return cursor.rowcount == 1

    def give_back_retry(self, task_id: int) -> None:
        with self.db.conn:
            self.db.conn.execute("UPDATE tasks SET manual_retries = manual_retries - 1 WHERE id = ?", [task_id])

    def mark_deleted(self, task_ids: Iterable[int]) -> None:
        with self.db.conn:
            self.db.conn.executemany(
                "UPDATE tasks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                [(_now(), i) for i in task_ids],
            )

    def unpurged_deletions(self) -> list[TaskRow]:
        """Deleted tasks whose flow run may still exist in Prefect."""
        rows = self.db.query(
            "SELECT * FROM tasks WHERE deleted_at IS NOT NULL AND purged = 0 AND flow_run_id IS NOT NULL"
        )
        return [TaskRow.from_row(row) for row in rows]

    def mark_purged(self, task_id: int) -> None:
        with self.db.conn:
            self.db.conn.execute("UPDATE tasks SET purged = 1 WHERE id = ?", [task_id])

    def unattached(self) -> list[tuple[int, str]]:
        """(id, script_name) of tasks whose creation never finished (the service died half-way)."""
        rows = self.db.query("SELECT id, script_name FROM tasks WHERE flow_run_id IS NULL")
        return [(row["id"], row["script_name"]) for row in rows]

    # Phones ----------------------------------------------------------------

    def remember_phones(self, serials: Iterable[str]) -> None:
        now = _now()
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO phones (serial, first_seen, last_seen) VALUES (?, ?, ?)"
                " ON CONFLICT(serial) DO UPDATE SET last_seen = excluded.last_seen",
                [(s, now, now) for s in serials],
            )

    def known_phones(self) -> set[str]:
        return {row["serial"] for row in self.db.query("SELECT serial FROM phones")}

    # Accounts --------------------------------------------------------------

    def accounts(self) -> list[Account]:
        rows = self.db.query("SELECT * FROM accounts ORDER BY username")
        return [Account(r["username"], r["platform"], r["serial"], bool(r["enabled"])) for r in rows]

    def account(self, username: str) -> Optional[Account]:
        rows = list(self.db.query("SELECT * FROM accounts WHERE username = ?", [username]))
        if not rows:
            return None
        r = rows[0]
        return Account(r["username"], r["platform"], r["serial"], bool(r["enabled"]))

    def save_account(self, account: Account) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO accounts (username, platform, serial, enabled) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(username) DO UPDATE SET platform = excluded.platform,"
                " serial = excluded.serial, enabled = excluded.enabled",
                (account.username, account.platform, account.serial, int(account.enabled)),
            )

    def delete_account(self, username: str) -> bool:
        with self.db.conn:
            return self.db.conn.execute("DELETE FROM accounts WHERE username = ?", [username]).rowcount > 0

    # Idempotency keys ------------------------------------------------------

    def idempotent_answer(self, key: str, ttl: timedelta) -> Optional[tuple[str, dict]]:
        """(body hash, answer) remembered for key, unless older than ttl."""
        since = (datetime.now(timezone.utc) - ttl).isoformat()
        rows = list(self.db.query(
            "SELECT body_hash, response FROM idempotency WHERE key = ? AND created_at > ?", [key, since]
        ))
        return (rows[0]["body_hash"], json.loads(rows[0]["response"])) if rows else None

    def remember_answer(self, key: str, body_hash: str, answer: dict, ttl: timedelta) -> None:
        since = (datetime.now(timezone.utc) - ttl).isoformat()
        with self.db.conn:
            self.db.conn.execute("DELETE FROM idempotency WHERE created_at <= ?", [since])
            # REPLACE: an expired row of the same key may still be there.
            self.db.conn.execute(
                "INSERT OR REPLACE INTO idempotency (key, body_hash, response, created_at) VALUES (?, ?, ?, ?)",
                [key, body_hash, json.dumps(answer), _now()],
            )
