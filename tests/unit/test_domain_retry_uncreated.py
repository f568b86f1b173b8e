"""Retry of failed tasks whatever stage their run is at: stopped or refused before their run existed."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from api.domain.errors import ApiError
from api.domain.requests import TaskRequest
from api.domain.status import TaskStatus, task_status
from contract.names import run_name
from tests.unit.fakes import FakePrefect, task_service, temp_index

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def prefect():
    return FakePrefect()


@pytest.fixture
def tasks(tmp_path, prefect):
    return task_service(temp_index(tmp_path), prefect)


def stored(tasks) -> int:
    """A task stored in the index, its run not created yet."""
    [task_id] = tasks.create(TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]}),
                             NOW, random.Random(1))
    return task_id


def status(tasks, task_id: int) -> TaskStatus:
    return task_status(tasks.table.get(task_id).run.state_type)


def test_retry_all_takes_tasks_stopped_before_their_runs_existed(tasks, prefect):
    task_ids = [stored(tasks) for _ in range(3)]
    for task_id in task_ids:
        tasks.stop(task_id)
    assert {status(tasks, i) for i in task_ids} == {TaskStatus.FAILED}
    assert tasks.retry_all() == 3
    assert {status(tasks, i) for i in task_ids} == {TaskStatus.PENDING}
    while tasks.creator.create_batch():  # one task of a phone a batch
        pass
    runs = [prefect.flow_runs[tasks.table.get(i).flow_run_id] for i in task_ids]
    assert {run.state_type for run in runs} == {"SCHEDULED"}


def test_a_single_retry_takes_a_task_stopped_before_its_run_existed(tasks, prefect):
    task_id = stored(tasks)
    tasks.stop(task_id)
    tasks.retry(task_id)
    assert status(tasks, task_id) == TaskStatus.PENDING
    tasks.creator.create_batch()
    assert prefect.flow_runs[tasks.table.get(task_id).flow_run_id].state_type == "SCHEDULED"


def test_a_task_whose_run_prefect_refused_is_retried_too(tasks, prefect):
    task_id = stored(tasks)
    prefect.refuse.add(run_name(task_id, "follow"))
    tasks.creator.create_batch()
    assert status(tasks, task_id) == TaskStatus.FAILED and tasks.table.get(task_id).flow_run_id is None
    prefect.refuse.clear()
    assert tasks.retry_all() == 1
    tasks.creator.create_batch()
    assert prefect.flow_runs[tasks.table.get(task_id).flow_run_id].state_type == "SCHEDULED"


def test_retries_of_runless_tasks_count_against_the_limit(tasks):
    task_id = stored(tasks)
    for _ in range(2):  # retry_limit=2
        tasks.table.stop_uncreated(task_id, "Stopped through the API")
        tasks.retry(task_id)
    tasks.table.stop_uncreated(task_id, "Stopped through the API")
    with pytest.raises(ApiError, match="retry limit"):
        tasks.retry(task_id)


def test_a_retry_while_the_stopped_tasks_run_is_being_created_runs_it_again(tasks, prefect):
    task_id = stored(tasks)
    tasks.stop(task_id)
    create_runs = prefect.create_runs

    def retried_meanwhile(runs):
        tasks.retry(task_id)  # the creator read the row stopped; the retry comes before its run exists
        return create_runs(runs)

    prefect.create_runs = retried_meanwhile
    tasks.creator.create_batch()
    assert prefect.flow_runs[tasks.table.get(task_id).flow_run_id].state_type == "SCHEDULED"
