"""api.domain.creation.first_turns and by_turns: which waiting tasks get their flow runs first."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from api.domain.creation import by_turns, first_turns
from api.domain.requests import TaskRequest
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


def test_after_the_first_turns_the_rest_go_turn_by_turn_in_one_batch():
    later = NOW + timedelta(hours=1)
    rows = [row(1, "a", NOW), row(2, "a", NOW), row(3, "a", NOW), row(4, "b", NOW), row(5, "b", later),
            row(6, "b", NOW), row(7, "c", NOW)]
    assert [r.id for r in by_turns(rows, NOW)] == [1, 4, 7, 2, 6, 3, 5]


def test_the_creator_makes_the_first_turns_then_every_other_turn_at_once(tasks, prefect):
    """Two bulk requests for three turns on two phones: the phones' next runs exist long before
    their first ones end."""
    tasks.create(TaskRequest(serials=["s1", "s2"], script_name="follow",
                             script_config={"target_users": ["x", "y", "z"]}), NOW, random.Random(1))
    batches = []
    create_runs = prefect.create_runs
    prefect.create_runs = lambda runs: batches.append([run.serial for run in runs]) or create_runs(runs)
    tasks.creator.run_once()
    assert batches == [["s1", "s2"], ["s1", "s2", "s1", "s2"]], batches
