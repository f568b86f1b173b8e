"""api.domain.creation.first_turns: which waiting tasks get their flow runs first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from api.domain.creation import first_turns
from api.gateways.index_rows import RunState, TaskRow

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def row(task_id: int, serial: str, start_at: datetime) -> TaskRow:
    return TaskRow(id=task_id, flow_run_id=None, serial=serial, username=None, script_name="follow",
                   script_config={}, source="api", created_at=NOW, manual_retries=0,
                   run=RunState("", None, None, None, None), start_at=start_at)


def test_of_the_tasks_due_each_phone_first_gets_its_run_first():
    rows = [row(1, "a", NOW), row(2, "a", NOW), row(3, "a", NOW), row(4, "b", NOW), row(5, "b", NOW),
            row(6, "c", NOW - timedelta(seconds=1)), row(7, "a", NOW + timedelta(hours=1))]
    assert [r.id for r in first_turns(rows, NOW)] == [1, 4, 6]


def test_tasks_for_later_go_in_a_full_batch():
    later = NOW + timedelta(days=1)
    rows = [row(1, "a", later), row(2, "a", later), row(3, "b", later)]
    assert [r.id for r in first_turns(rows, NOW)] == [1, 2, 3]
    assert first_turns([], NOW) == []
