"""The local index in SQLite: integer task ids <-> Prefect flow runs, known phones, accounts, plans, callbacks."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator, Optional

import sqlite_utils

from api.gateways.index_rows import (  # noqa: F401  (re-exported: the index's row types)
    TASKS_SCHEMA, NewTask, RunState, TaskFilter, TaskRow, add_columns, now_iso,
)
from api.gateways.index_callbacks import CALLBACKS_SCHEMA, CallbackOutbox, Delivery, EndedTask  # noqa: F401
from api.gateways.index_plans import PLANS_SCHEMA, PlanRecord, PlanTable  # noqa: F401
from api.gateways.index_farm import FarmReads
from api.gateways.index_tasks import TaskTable

_SCHEMA = """
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
class Account:
    username: str
    platform: str
    serial: str
    enabled: bool


class Index(TaskTable, CallbackOutbox, PlanTable, FarmReads):
    """Opens one connection per thread (waitress serves from several) on a WAL database."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writer = threading.RLock()
        self.db.conn.executescript(TASKS_SCHEMA + _SCHEMA + CALLBACKS_SCHEMA + PLANS_SCHEMA)
        add_columns(self.db)

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self.path)
            db.conn.execute("PRAGMA busy_timeout = 10000")
            db.enable_wal()
            self._local.db = db
        return db

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A transaction, one writer of this process at a time. SQLite's own wait for its write lock
        sleeps and tries again, so under fifty clients a writer lost to newcomers again and again
        (creates and deletes took up to 5 s); a lock here hands it over in turn."""
        with self._writer, self.db.conn as conn:
            yield conn

    def identity(self) -> str:
        """A name made once for this index: tells its runs from other indexes' on a shared Prefect server."""
        with self.writing():
            self.db.conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('index_id', ?)", [uuid.uuid4().hex])
        return self.db.execute("SELECT value FROM settings WHERE key = 'index_id'").fetchone()[0]

    # Phones ----------------------------------------------------------------

    def remember_phones(self, serials: Iterable[str]) -> None:
        now = now_iso()
        with self.writing():
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
        with self.writing():
            self.db.conn.execute(
                "INSERT INTO accounts (username, platform, serial, enabled) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(username) DO UPDATE SET platform = excluded.platform,"
                " serial = excluded.serial, enabled = excluded.enabled",
                (account.username, account.platform, account.serial, int(account.enabled)),
            )

    def delete_account(self, username: str) -> bool:
        with self.writing():
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
        with self.writing():
            self.db.conn.execute("DELETE FROM idempotency WHERE created_at <= ?", [since])
            # REPLACE: an expired row of the same key may still be there.
            self.db.conn.execute(
                "INSERT OR REPLACE INTO idempotency (key, body_hash, response, created_at) VALUES (?, ?, ?, ?)",
                [key, body_hash, json.dumps(answer), now_iso()],
            )
