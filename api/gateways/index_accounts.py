"""The index's small tables: phones seen, accounts and their phones, answers kept for idempotency keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import now_iso

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


@dataclass(frozen=True)
class Account:
    username: str
    platform: str
    serial: str
    enabled: bool


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
    """Accounts read from the phones, each on its phone."""

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
