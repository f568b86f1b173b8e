"""The index's copy of run states, kept from Prefect's events and reads of a fake Prefect."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from api.domain.requests import TaskRequest
from api.gateways.prefect_events import RunStateSeen
from tests.unit.fakes import task_service

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def reads(prefect, monkeypatch):
    """The run ids the mirror asks Prefect for."""
    asked: list[str] = []
    read_runs = prefect.read_runs
    monkeypatch.setattr(prefect, "read_runs", lambda ids: asked.extend(ids) or read_runs(ids))
    return asked


def created(tasks) -> tuple[int, str]:
    [task_id] = tasks.create(TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]}),
                             NOW, random.Random(1))
    tasks.creator.create_batch()
    return task_id, tasks.table.get(task_id).flow_run_id


def seen(prefect, run_id) -> RunStateSeen:
    """The event Prefect would send for the run's current state."""
    state = prefect.flow_runs[run_id].state
    return RunStateSeen(run_id, state.state_type, state.state_name, state.message, state.timestamp)


def test_a_run_that_moved_is_copied_from_its_event_without_asking_prefect(tasks, prefect, reads):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "RUNNING")
    tasks.mirror.take_events([seen(prefect, run_id)])
    assert tasks.table.get(task_id).run.state_type == "RUNNING"
    assert reads == []


def test_an_end_is_read_whole_from_prefect(tasks, prefect, reads):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "RUNNING")
    prefect.set_state(run_id, "COMPLETED", "posted")
    tasks.mirror.take_events([seen(prefect, run_id)])
    run = tasks.table.get(task_id).run
    assert reads == [run_id]
    assert (run.state_type, run.message) == ("COMPLETED", "posted")
    assert run.end_time == prefect.flow_runs[run_id].state.end_time is not None


def test_an_older_event_never_overwrites_a_newer_state(tasks, prefect):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "PENDING")
    pending = seen(prefect, run_id)
    prefect.set_state(run_id, "RUNNING")
    tasks.mirror.take_events([seen(prefect, run_id)])
    tasks.mirror.take_events([pending])  # delivered late
    assert tasks.table.get(task_id).run.state_type == "RUNNING"


def test_a_run_gone_from_prefect_takes_its_task_with_it(tasks, prefect):
    task_id, run_id = created(tasks)
    del prefect.flow_runs[run_id]
    tasks.mirror.refresh([run_id])
    assert tasks.table.get(task_id) is None
    assert tasks.table.unpurged_deletions() == []  # nothing left in Prefect to purge


def test_runs_that_are_no_task_are_told_at_the_next_upkeep_if_still_unknown(tasks, prefect):
    told = []
    tasks.mirror.on_unknown_runs.append(lambda: told.append(1))
    stranger = prefect.add_run("COMPLETED", name="ui run")
    tasks.mirror.take_events([seen(prefect, stranger)])
    assert told == []  # an event may come before the API has written down the run it created
    tasks.mirror.upkeep()
    assert told == [1]


def test_the_upkeep_reads_moving_runs_that_sent_no_event(index, prefect):
    tasks = task_service(index, prefect)
    tasks.mirror.moving_every = 0.0
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "RUNNING")
    tasks.mirror.take_events([seen(prefect, run_id)])
    prefect.set_state(run_id, "CRASHED", "the PC lost power")  # its event was lost
    tasks.mirror.upkeep()
    assert tasks.table.get(task_id).run.state_type == "CRASHED"


def test_a_reconcile_after_a_gap_reads_every_live_task(tasks, prefect):
    first, first_run = created(tasks)
    second, second_run = created(tasks)
    prefect.set_state(first_run, "COMPLETED")  # while the event stream was down
    prefect.set_state(second_run, "FAILED")
    tasks.mirror.reconcile_everything()
    assert (tasks.table.get(first).run.state_type, tasks.table.get(second).run.state_type) == ("COMPLETED", "FAILED")


def test_an_end_read_from_prefect_replaces_a_copy_that_has_not_ended_whatever_its_time(tasks, prefect):
    """A stop forced while the server was frozen lands after the worker's Pending, with the older time."""
    task_id, run_id = created(tasks)
    stopped_at = prefect.flow_runs[run_id].state.timestamp
    prefect.set_state(run_id, "PENDING")
    tasks.mirror.take_events([seen(prefect, run_id)])
    prefect.set_state(run_id, "CANCELLED", "Stopped through the API", at=stopped_at)
    tasks.mirror.refresh([run_id])
    assert tasks.table.get(task_id).run.state_type == "CANCELLED"
    older = stopped_at - timedelta(seconds=1)
    prefect.set_state(run_id, "SCHEDULED", at=older)  # an older state that has not ended is still ignored
    tasks.mirror.refresh([run_id])
    assert tasks.table.get(task_id).run.state_type == "CANCELLED"


def test_a_run_whose_state_was_never_read_from_prefect_is_read_at_the_upkeep(index, prefect):
    tasks = task_service(index, prefect)
    tasks.mirror.moving_every = 0.0
    now = datetime.now(timezone.utc)
    [task_id] = tasks.create(TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]},
                                         start_time=(now + timedelta(days=1)).isoformat()), now, random.Random(1))
    tasks.creator.create_batch()  # the API wrote its Scheduled state (for tomorrow) itself
    run_id = tasks.table.get(task_id).flow_run_id
    prefect.set_state(run_id, "CANCELLED", "Stopped through the API")  # its event was lost
    tasks.mirror.upkeep()
    assert tasks.table.get(task_id).run.state_type == "CANCELLED"
