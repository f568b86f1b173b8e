"""Reads of the index for the farm page and the metrics: counts by phone and script, last failures, timings."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from api.gateways.index_db import IndexPart
from api.gateways.index_rows import LIVE, TaskRow

ENDED_BADLY = ("FAILED", "CRASHED")


class FarmReads(IndexPart):
    """Counts and timings of tasks, for the farm page and the metrics."""

    def counts_by(self, column: str) -> list[tuple[Optional[str], str, int]]:
        """(state_type, value of `column`, live tasks) for column serial or script_name."""
        if column not in ("serial", "script_name"):
            raise ValueError(column)
        rows = self.db.execute(f"SELECT state_type, {column}, count(*) FROM tasks WHERE {LIVE} GROUP BY 1, 2")
        return [(state_type, value, count) for state_type, value, count in rows]

    def last_failures(self, serials: Iterable[str]) -> dict[str, TaskRow]:
        """The newest live task of each phone that ended failed or crashed."""
        serials = list(serials)
        if not serials:
            return {}
        marks = ",".join("?" for _ in serials)
        rows = self.db.query(
            f"SELECT * FROM tasks WHERE id IN (SELECT max(id) FROM tasks WHERE {LIVE} AND serial IN ({marks})"
            f" AND state_type IN {ENDED_BADLY} GROUP BY serial)", serials)
        return {row["serial"]: TaskRow.from_row(row) for row in rows}

    def timings(self) -> list[tuple[str, datetime, Optional[datetime], Optional[datetime]]]:
        """(script, when it was due, start, end) of every live task whose run started."""
        rows = self.db.execute(
            f"SELECT script_name, coalesce(start_at, created_at), start_time, end_time FROM tasks"
            f" WHERE {LIVE} AND start_time IS NOT NULL")
        return [(script, _time(due), _time(start), _time(end)) for script, due, start, end in rows]


def _time(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text else None
