"""The index's record of this API's plans: the request each fires (Prefect keeps when, and whether paused)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import now_iso

PLANS_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY,  -- the Prefect deployment schedule's id
    request TEXT NOT NULL,
    repeat TEXT NOT NULL,
    start_time TEXT,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class PlanRecord:
    id: str
    request: dict
    repeat: str
    start_time: Optional[str]
    created_at: str

    def parameters(self) -> dict:
        """What the schedule carries for the Prefect UI to show."""
        return {"repeat": self.repeat, "start_time": self.start_time, "request": self.request}


class PlanTable(IndexPart):
    """The requests of recurring plans, by plan id."""

    def save_plan(self, plan_id: str, request: dict, repeat: str, start_time: Optional[str]) -> PlanRecord:
        with self.writing():
            self.db.conn.execute(
                "INSERT INTO plans (id, request, repeat, start_time, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET request = excluded.request, repeat = excluded.repeat,"
                " start_time = excluded.start_time",
                [plan_id, json.dumps(request), repeat, start_time, now_iso()])
        return self.plan_record(plan_id)

    def plan_record(self, plan_id: str) -> Optional[PlanRecord]:
        rows = list(self.db.query("SELECT * FROM plans WHERE id = ?", [plan_id]))
        return _record(rows[0]) if rows else None

    def plan_records(self) -> dict[str, PlanRecord]:
        return {row["id"]: _record(row) for row in self.db.query("SELECT * FROM plans ORDER BY created_at")}

    def forget_plan(self, plan_id: str) -> None:
        with self.writing():
            self.db.conn.execute("DELETE FROM plans WHERE id = ?", [plan_id])


def _record(row: dict) -> PlanRecord:
    return PlanRecord(row["id"], json.loads(row["request"]), row["repeat"], row["start_time"], row["created_at"])
