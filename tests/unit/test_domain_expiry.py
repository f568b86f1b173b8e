"""Queue timeouts: a task not started within its expire_after minutes ends failed, its run cancelled
before a worker takes it; a started one, or one a worker took in the same instant, runs."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from api.domain.expiry import QueueTimeouts
from api.domain.requests import TaskRequest
from api.gateways.prefect import OrchestratorUnavailable
from tests.unit.fakes import task_service

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EXPIRED = "expired: not started within 30 minutes"


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def timeouts(tasks, prefect, clock):
    return QueueTimeouts(tasks.table, prefect.runs, prefect.writes, tasks.mirror, now=clock)


def create(tasks, serial="s1", **options) -> int:
    [task_id] = tasks.create(TaskRequest(serials=[serial], script_name="follow", script_config={"target_users": ["a"]},
                                         **options), NOW, random.Random(1))
    return task_id


def test_a_scheduled_run_past_its_time_is_cancelled_and_its_task_fails(tasks, prefect, timeouts, clock):
    task_id = create(tasks, expire_after=30)
    tasks.creator.create_batch()
    run_id = tasks.table.get(task_id).flow_run_id
    clock.now = NOW + timedelta(minutes=29, seconds=59)
    assert timeouts.expire_due() == 0
    clock.now = NOW + timedelta(minutes=30)
    assert timeouts.expire_due() == 1
    # Taken as a worker takes a run, so no worker can: then cancelled.
    assert [s.type for s in prefect.history[run_id]] == ["SCHEDULED", "PENDING", "CANCELLED"]
    task = tasks.detail(task_id)
    assert (task["status"], task["remark"], task["expire_after"]) == (3, EXPIRED, 30)
    assert timeouts.expire_due() == 0  # told once


def test_a_task_without_its_run_yet_gets_it_cancelled(tasks, prefect, timeouts, clock):
    task_id = create(tasks, expire_after=30)
    clock.now = NOW + timedelta(hours=1)
    assert timeouts.expire_due() == 1
    assert tasks.detail(task_id)["remark"] == EXPIRED
    tasks.creator.create_batch()
    [run] = prefect.flow_runs.values()
    assert (run.state_type, run.state.message) == ("CANCELLED", EXPIRED)


def test_a_run_a_worker_took_or_started_is_left_to_run(tasks, prefect, timeouts, clock):
    taken, started = create(tasks, expire_after=30), create(tasks, "s2", expire_after=30)
    tasks.creator.create_batch()
    prefect.set_state(tasks.table.get(taken).flow_run_id, "PENDING")  # the index's copy still says Scheduled
    prefect.set_state(tasks.table.get(started).flow_run_id, "RUNNING")
    clock.now = NOW + timedelta(hours=1)
    assert timeouts.expire_due() == 0
    assert {prefect.flow_runs[tasks.table.get(i).flow_run_id].state_type for i in (taken, started)} == {"PENDING", "RUNNING"}


def test_no_limit_unless_asked_or_the_farm_sets_one(index, prefect, clock):
    plain = task_service(index, prefect)
    unlimited = create(plain)
    farm = task_service(index, prefect, default_expire_after=0.5)
    defaulted, opted_out = create(farm), create(farm, expire_after=0)
    timeouts = QueueTimeouts(index.tasks, prefect.runs, prefect.writes, farm.mirror, now=clock)
    clock.now = NOW + timedelta(days=30)
    assert timeouts.expire_due() == 1
    assert farm.detail(defaulted)["remark"] == "expired: not started within 0.5 minutes"
    assert farm.detail(unlimited)["status"] == farm.detail(opted_out)["status"] == 0
    assert farm.detail(unlimited)["expires_at"] is None


def test_the_wait_counts_from_a_later_start_time_and_again_from_a_retry(tasks, prefect, timeouts, clock):
    later = NOW + timedelta(hours=2)
    task_id = create(tasks, expire_after=30, start_time=later.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
    tasks.creator.create_batch()
    clock.now = later + timedelta(minutes=29)
    assert timeouts.expire_due() == 0
    clock.now = later + timedelta(minutes=31)
    assert timeouts.expire_due() == 1
    tasks.retry(task_id)
    assert tasks.table.get(task_id).expires_at > datetime.now(timezone.utc) + timedelta(minutes=29)


def test_a_claimed_run_goes_back_to_its_queue_if_it_cannot_be_cancelled(tasks, prefect, timeouts, clock, monkeypatch):
    task_id = create(tasks, expire_after=30)
    tasks.creator.create_batch()
    run_id = tasks.table.get(task_id).flow_run_id

    def down(flow_run_id, message):
        raise OrchestratorUnavailable("down")

    monkeypatch.setattr(prefect, "cancel", down)
    clock.now = NOW + timedelta(hours=1)
    with pytest.raises(OrchestratorUnavailable):
        timeouts.expire_due()
    assert prefect.flow_runs[run_id].state_type == "SCHEDULED"  # not left Pending, holding its phone's queue
