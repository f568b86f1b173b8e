"""The index's small tables: phones seen, accounts and their phones, answers kept for idempotency keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import iso_utc, now_iso

SCHEMA = """
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


# An account's mark (added to indexes made before them: ALTER TABLE on open).
MARK_COLUMNS = {
    "mark": "TEXT",  # banned, needs_attention or rate_limited: it gets no task while marked
    "mark_remark": "TEXT",
    "mark_task_id": "INTEGER",
    "marked_at": "TEXT",
    "mark_until": "TEXT",  # rate_limited: the mark ends on its own then
    "tags": "TEXT NOT NULL DEFAULT '[]'",  # a JSON list, set through the API
    "logined": "INTEGER NOT NULL DEFAULT 0",  # the phone's last account read found it logged in
    "budgets": "TEXT NOT NULL DEFAULT '{}'",  # the account's own action budgets ({"follow_per_hour": 5}), JSON
}
# A task held back because its account is marked (`?`: now, ISO UTC); a task without a username
# runs as the phone's active account, any marked account of the phone's platform holds it.
HELD = ("EXISTS (SELECT 1 FROM accounts a WHERE a.mark IS NOT NULL AND (a.mark_until IS NULL OR a.mark_until > ?)"
        " AND a.platform = tasks.platform"
        " AND (a.username = tasks.username OR (tasks.username IS NULL AND a.serial = tasks.serial)))")


@dataclass(frozen=True)
class Account:
    username: str
    platform: str
    serial: str
    enabled: bool
    mark: Optional[str] = None
    mark_remark: Optional[str] = None
    mark_task_id: Optional[int] = None
    marked_at: Optional[datetime] = None
    mark_until: Optional[datetime] = None
    tags: tuple[str, ...] = ()
    logined: bool = False
    budgets: tuple[tuple[str, int], ...] = ()  # its own action budgets, over its platform's defaults
    id: Optional[int] = field(default=None, compare=False)  # the row's: stable while the account lives

    def marked(self, now: datetime) -> bool:
        return self.mark is not None and (self.mark_until is None or self.mark_until > now)

    @classmethod
    def from_row(cls, r: dict) -> "Account":
        return cls(r["username"], r["platform"], r["serial"], bool(r["enabled"]), r["mark"], r["mark_remark"],
                   r["mark_task_id"], _time(r["marked_at"]), _time(r["mark_until"]), tuple(json.loads(r["tags"])),
                   bool(r["logined"]), tuple(sorted(json.loads(r["budgets"]).items())), r["id"])


def _time(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text else None


class PhoneTable(IndexPart):
    """Every phone this PC has seen attached."""

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


class AccountTable(IndexPart):
    """Accounts read from the phones, each on its phone, and their marks."""

    def __init__(self, store):
        super().__init__(store)
        have = {column.name for column in self.db["accounts"].columns}
        with self.writing():
            for name, kind in MARK_COLUMNS.items():
                if name not in have:
                    self.db.conn.execute(f"ALTER TABLE accounts ADD COLUMN {name} {kind}")

    def accounts(self) -> list[Account]:
        return [Account.from_row(r) for r in self.db.query("SELECT rowid AS id, * FROM accounts ORDER BY username")]

    def account(self, username: str) -> Optional[Account]:
        rows = list(self.db.query("SELECT rowid AS id, * FROM accounts WHERE username = ?", [username]))
        return Account.from_row(rows[0]) if rows else None

    def on_phone(self, serial: str, platform: str) -> list[Account]:
        rows = self.db.query("SELECT rowid AS id, * FROM accounts WHERE serial = ? AND platform = ? ORDER BY username",
                             [serial, platform])
        return [Account.from_row(r) for r in rows]

    def set_mark(self, username: str, mark: Optional[str], remark: Optional[str] = None,
                 task_id: Optional[int] = None, at: Optional[datetime] = None,
                 until: Optional[datetime] = None) -> bool:
        """Mark the account (mark None: clear it); False if there is no such account."""
        with self.writing():
            return self.db.conn.execute(
                "UPDATE accounts SET mark = ?, mark_remark = ?, mark_task_id = ?, marked_at = ?, mark_until = ?"
                " WHERE username = ?",
                [mark, remark, task_id, iso_utc(at), iso_utc(until), username]).rowcount > 0

    def note_held(self, account: Account, remark: Optional[str]) -> None:
        """Write why on the account's tasks waiting for their run (None: take it off again)."""
        with self.writing():
            self.db.conn.execute(
                "UPDATE tasks SET state_message = ? WHERE flow_run_id IS NULL AND deleted_at IS NULL"
                " AND state_type IS NULL AND stop_requested = 0 AND platform = ?"
                " AND (username = ? OR (username IS NULL AND serial = ?))",
                [remark, account.platform, account.username, account.serial])

    def save_account(self, account: Account) -> None:
        with self.writing():
            self.db.conn.execute(
                "INSERT INTO accounts (username, platform, serial, enabled, tags, logined) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(username) DO UPDATE SET platform = excluded.platform,"
                " serial = excluded.serial, enabled = excluded.enabled, tags = excluded.tags, logined = excluded.logined",
                (account.username, account.platform, account.serial, int(account.enabled), json.dumps(list(account.tags)),
                 int(account.logined)),
            )

    def set_budgets(self, username: str, budgets: dict[str, int]) -> None:
        """Replace the account's own budgets; its held tasks are weighed again at the next pass."""
        with self.writing():
            self.db.conn.execute("UPDATE accounts SET budgets = ? WHERE username = ?", [json.dumps(budgets), username])
            # Due now, not NULL: the next pass weighs them and takes the budget's remark off those it admits.
            self.db.conn.execute("UPDATE tasks SET budget_until = ? WHERE username = ? AND budget_until IS NOT NULL",
                                 [now_iso(), username])

    def note_logged_out(self, serial: str, found: Iterable[str]) -> None:
        """A read of the phone's accounts did not find these others: they are no longer logged in there."""
        found = list(found)
        with self.writing():
            self.db.conn.execute(
                f"UPDATE accounts SET logined = 0 WHERE serial = ? AND username NOT IN ({', '.join('?' * len(found))})",
                [serial, *found])

    def delete_account(self, username: str) -> bool:
        with self.writing():
            return self.db.conn.execute("DELETE FROM accounts WHERE username = ?", [username]).rowcount > 0


class AnswerTable(IndexPart):
    """Answers kept under idempotency keys for a while."""

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
