"""Task creation without a Prefect server: fan-out into the index, then runs created behind the answer."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from api.domain.creation import first_turns
from api.domain.errors import ApiError
from api.domain.requests import TaskRequest
from api.gateways.index import TaskFilter
from api.gateways.prefect import OrchestratorUnavailable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def follow(serials, targets=("a",), **extra) -> TaskRequest:
    return TaskRequest(serials=list(serials), script_name="follow", script_config={"target_users": list(targets)}, **extra)


def test_a_request_fans_out_per_phone_and_target_and_is_stored_before_any_run(tasks, index, prefect):
    ids = tasks.create(follow(["s1", "s2"], ["a", "b"]), NOW, random.Random(1))
    assert len(ids) == 4
    rows = [index.tasks.get(i) for i in ids]
    assert sorted(r.serial for r in rows) == ["s1", "s1", "s2", "s2"]
    assert all(r.flow_run_id is None for r in rows)  # pending: nothing asked of Prefect yet
    assert prefect.flow_runs == {}


def test_the_creator_makes_one_run_per_task_and_copies_its_scheduled_state(tasks, index, prefect):
    ids = tasks.create(follow(["s1"], ["a", "b"]), NOW, random.Random(1))
    while tasks.creator.create_batch():
        pass
    rows = [index.tasks.get(i) for i in ids]
    assert all(r.flow_run_id in prefect.flow_runs for r in rows)
    assert {r.run.state_type for r in rows} == {"SCHEDULED"}
    run = prefect.flow_runs[rows[0].flow_run_id]
    assert run.parameters["task_id"] == rows[0].id and run.work_queue_name.endswith("s1")
    assert index.tasks.to_create(10) == []


def test_a_run_created_again_after_a_crash_is_the_same_run(tasks, index, prefect):
    [task_id] = tasks.create(follow(["s1"]), NOW, random.Random(1))
    row = index.tasks.get(task_id)
    first = tasks.creator._create([row])
    again = tasks.creator._create([row])  # sent again under the same idempotency key
    assert first == again and len(prefect.flow_runs) == 1


def test_a_run_prefect_refuses_fails_its_task_and_not_the_others(tasks, index, prefect):
    ids = tasks.create(follow(["s1", "s2"]), NOW, random.Random(1))
    refused = index.tasks.get(ids[0])
    prefect.refuse.add(tasks.creator._new_run(refused).name)
    tasks.creator.create_batch()
    tasks.creator.create_batch()
    failed, created = index.tasks.get(ids[0]), index.tasks.get(ids[1])
    assert failed.flow_run_id is None and failed.run.state_type == "FAILED"
    assert "refused" in failed.run.message
    assert created.flow_run_id in prefect.flow_runs


def test_a_task_stopped_while_its_run_is_created_gets_its_run_stopped(tasks, index, prefect):
    [task_id] = tasks.create(follow(["s1"]), NOW, random.Random(1))
    [row] = index.tasks.to_create(10)
    index.tasks.stop_uncreated(task_id, "Stopped through the API")  # the stop lands after the read
    tasks.creator._create([row])
    run = prefect.flow_runs[index.tasks.get(task_id).flow_run_id]
    assert run.state_type == "CANCELLED"


def test_each_phone_gets_its_first_due_task_before_the_others_backlog():
    later = NOW + timedelta(hours=1)

    class Row:
        def __init__(self, id, serial, start_at):
            self.id, self.serial, self.start_at = id, serial, start_at

    rows = [Row(1, "s1", NOW), Row(2, "s1", NOW), Row(3, "s2", NOW), Row(4, "s3", later)]
    assert [r.id for r in first_turns(rows, NOW)] == [1, 3]
    only_later = [Row(5, "s1", later), Row(6, "s1", later)]
    assert [r.id for r in first_turns(only_later, NOW)] == [5, 6]  # nothing due: a full batch


def test_a_request_is_refused_before_anything_is_stored(tasks, index, prefect):
    with pytest.raises(ApiError):
        tasks.create(follow(["unknown-phone"]), NOW, random.Random(1))
    prefect.up = False
    with pytest.raises(OrchestratorUnavailable):
        tasks.create(follow(["s1"]), NOW, random.Random(1))
    assert index.tasks.count(TaskFilter()) == 0
