"""The rows of the index's task table: its schema, and the values a row turns into."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

import sqlite_utils

TASKS_SCHEMA = """
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
"""

# What creating the run needs, and the copy of the run's state (added to indexes made before them:
# ALTER TABLE on open).
ADDED_COLUMNS = {
    "platform": "TEXT",
    "start_at": "TEXT",  # when its run is to start: the run is created behind the API's answer
    "stop_requested": "INTEGER NOT NULL DEFAULT 0",  # stopped before its run was created
    "state_type": "TEXT",
    "state_name": "TEXT",
    "state_message": "TEXT",
    "state_at": "REAL",  # the state's own timestamp: an older state never overwrites a newer one
    "start_time": "TEXT",
    "expected_start_time": "TEXT",
    "end_time": "TEXT",
    "auto_retries": "INTEGER NOT NULL DEFAULT 0",
    "plan_id": "TEXT",  # the recurring plan (a Prefect deployment schedule) whose firing made it
    "firing_id": "TEXT",  # that firing's flow run: a firing's tasks are stored once
    "callback_url": "TEXT",
    "notified_at": "REAL",  # state_at of the end last queued for its callback
    "notified_end": "TEXT",  # "<manual retries>:<state type>" of that end: a final state reworded is the same end
    "expire_after": "REAL",  # minutes a pending task may wait to start (None: no limit)
    "expires_at": "TEXT",  # when it ends failed if it has not started: its start time (or retry) + expire_after
    "budget_until": "TEXT",  # its account's action budget holds it until then (no run made yet, or its run rescheduled)
}
ADDED_INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (deleted_at, state_type);
CREATE INDEX IF NOT EXISTS tasks_serial ON tasks (serial, deleted_at);
CREATE INDEX IF NOT EXISTS tasks_uncreated ON tasks (start_at, id) WHERE flow_run_id IS NULL;
CREATE INDEX IF NOT EXISTS tasks_firing ON tasks (firing_id) WHERE firing_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_plan ON tasks (plan_id, id) WHERE plan_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_callback ON tasks (state_type) WHERE callback_url IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_expiry ON tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_ended ON tasks (end_time) WHERE flow_run_id IS NOT NULL;
"""


@dataclass(frozen=True)
class RunState:
    """What the API shows of a flow run, as Prefect last reported it."""

    flow_run_id: str
    state_type: Optional[str]
    state_name: Optional[str]
    message: Optional[str]
    timestamp: Optional[datetime]
    start_time: Optional[datetime] = None
    expected_start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    auto_retries: int = 0


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
    run: RunState
    platform: str = "tiktok"
    start_at: Optional[datetime] = None
    stop_requested: bool = False
    plan_id: Optional[str] = None
    callback_url: Optional[str] = None
    expire_after: Optional[float] = None
    expires_at: Optional[datetime] = None
    budget_until: Optional[datetime] = None  # held by its account's budget (with or without a run) until then

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
            run=RunState(
                flow_run_id=row["flow_run_id"] or "",
                state_type=row["state_type"],
                state_name=row["state_name"],
                message=row["state_message"],
                timestamp=_moment(row["state_at"]),
                start_time=_time(row["start_time"]),
                expected_start_time=_time(row["expected_start_time"]),
                end_time=_time(row["end_time"]),
                auto_retries=row["auto_retries"] or 0,
            ),
            platform=row["platform"] or "tiktok",
            start_at=_time(row["start_at"]),
            stop_requested=bool(row["stop_requested"]),
            plan_id=row["plan_id"],
            callback_url=row["callback_url"],
            expire_after=row["expire_after"],
            expires_at=_time(row["expires_at"]),
            budget_until=_time(row["budget_until"]),
        )


@dataclass(frozen=True)
class NewTask:
    serial: str
    username: Optional[str]
    script_name: str
    script_config: dict
    source: str = "api"
    platform: str = "tiktok"
    start_at: Optional[datetime] = None
    flow_run_id: Optional[str] = None  # a run that exists already (started in the Prefect UI)
    plan_id: Optional[str] = None
    firing_id: Optional[str] = None
    callback_url: Optional[str] = None
    failed: Optional[str] = None  # ends failed at once with this remark, without a run (a plan's offline phone)
    expire_after: Optional[float] = None  # minutes
    expires_at: Optional[datetime] = None


@dataclass(frozen=True)
class TaskFilter:
    """Which live tasks a listing or a count wants (None: any)."""

    state_types: Optional[tuple[str, ...]] = None
    serial: Optional[str] = None
    script_name: Optional[str] = None
    source: Optional[str] = None
    plan_id: Optional[str] = None


def _time(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text else None


def _moment(epoch: Optional[float]) -> Optional[datetime]:
    return datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else None


def iso_utc(moment: Optional[datetime]) -> Optional[str]:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


FINAL_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
FINAL_MARKS = ", ".join(f"'{state_type}'" for state_type in FINAL_TYPES)
LIVE = "deleted_at IS NULL"
WITH_RUN = "deleted_at IS NULL AND flow_run_id IS NOT NULL"


def add_columns(db: sqlite_utils.Database) -> None:
    have = {column.name for column in db["tasks"].columns}
    with db.conn:
        for name, kind in ADDED_COLUMNS.items():
            if name not in have:
                db.conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")
    db.conn.executescript(ADDED_INDEXES)
