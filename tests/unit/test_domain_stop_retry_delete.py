"""Stop, retry and delete decisions, made on what a fake Prefect says of each run."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from api.domain import deletion
from api.domain.errors import ApiError
from api.domain.requests import TaskRequest
from api.gateways.prefect import OrchestratorUnavailable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def created(tasks, serial="s1") -> tuple[int, str]:
    """A task whose run exists: (task id, flow run id)."""
    [task_id] = tasks.create(TaskRequest(serials=[serial], script_name="follow", script_config={"target_users": ["a"]}),
                             NOW, random.Random(1))
    tasks.creator.create_batch()
    return task_id, tasks.table.get(task_id).flow_run_id


def down_after_next_read(prefect, monkeypatch):
    """The fake Prefect answers its next read of runs, then stops answering; returns the real read."""
    reads = prefect.read_runs

    def gone_meanwhile(ids):
        prefect.up = False
        return reads(ids)
    monkeypatch.setattr(prefect, "read_runs", gone_meanwhile)
    return reads


def test_a_task_without_its_run_yet_is_stopped_in_the_index_alone(tasks, prefect):
    [task_id] = tasks.create(TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]}),
                             NOW, random.Random(1))
    tasks.stop(task_id)
    assert prefect.flow_runs == {}
    tasks.creator.create_batch()  # its run is then created already Cancelled
    [run] = prefect.flow_runs.values()
    assert run.state_type == "CANCELLED" and run.state.message == deletion.STOPPED


def test_a_scheduled_run_is_cancelled_at_once(tasks, prefect):
    task_id, run_id = created(tasks)
    tasks.stop(task_id)
    assert [s.type for s in prefect.history[run_id]] == ["SCHEDULED", "CANCELLED"]
    assert tasks.table.get(task_id).run.state_type == "CANCELLED"  # the copy follows at once


def test_a_running_run_is_left_to_its_worker_to_kill(tasks, prefect):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "RUNNING")
    tasks.stop(task_id)
    assert prefect.flow_runs[run_id].state_type == "CANCELLING"


def test_a_stop_that_raced_the_runs_end_puts_its_real_end_back(tasks, prefect):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "RUNNING")
    seen_running = prefect.read_run(run_id)
    prefect.set_state(run_id, "COMPLETED", "done")  # ends between our read and our stop
    tasks.stop_run(seen_running)
    run = prefect.flow_runs[run_id]
    assert (run.state_type, run.state.message) == ("COMPLETED", "done")


def test_an_ended_task_cannot_be_stopped(tasks, prefect):
    task_id, run_id = created(tasks)
    prefect.set_state(run_id, "COMPLETED")
    with pytest.raises(ApiError, match="already finished"):
        tasks.stop(task_id)


def test_a_failed_task_is_retried_up_to_the_limit(tasks, prefect):
    task_id, run_id = created(tasks)
    for _ in range(2):  # retry_limit=2
        prefect.set_state(run_id, "FAILED")
        tasks.retry(task_id)
        assert prefect.flow_runs[run_id].state_type == "SCHEDULED"
    prefect.set_state(run_id, "FAILED")
    with pytest.raises(ApiError, match="retry limit"):
        tasks.retry(task_id)


def test_only_failed_tasks_are_retried_and_a_refused_retry_is_not_counted(tasks, prefect):
    task_id, run_id = created(tasks)
    with pytest.raises(ApiError, match="not failed"):
        tasks.retry(task_id)
    prefect.set_state(run_id, "FAILED")
    prefect.up = False
    with pytest.raises(OrchestratorUnavailable):
        tasks.retry(task_id)
    prefect.up = True
    tasks.retry(task_id)
    prefect.set_state(run_id, "FAILED")
    tasks.retry(task_id)  # the failed attempt above gave its retry back


def test_deleting_purges_an_idle_run_and_stops_a_running_one_first(tasks, index, prefect):
    idle_task, idle_run = created(tasks, "s1")
    busy_task, busy_run = created(tasks, "s2")
    prefect.set_state(busy_run, "RUNNING")
    answer = tasks.delete([idle_task, busy_task, 999])
    assert answer == {"deleted_count": 2, "not_found": [999]}
    assert idle_run not in prefect.flow_runs and prefect.flow_runs[busy_run].state_type == "CANCELLING"
    assert [r.id for r in index.tasks.unpurged_deletions()] == [busy_task]
    prefect.set_state(busy_run, "CANCELLED")  # its worker ended it
    tasks.purge_pending_deletions()
    assert busy_run not in prefect.flow_runs and index.tasks.unpurged_deletions() == []


def test_a_deletion_whose_purge_meets_prefect_gone_is_done_and_purged_later(tasks, index, prefect, monkeypatch):
    """Prefect answered the check, then stopped answering before the purge: the task is hidden, so
    the answer says deleted (a 50301 would claim nothing changed), and a later round purges its run."""
    task_id, run_id = created(tasks)
    reads = down_after_next_read(prefect, monkeypatch)
    assert tasks.delete([task_id]) == {"deleted_count": 1, "not_found": []}
    assert [r.id for r in index.tasks.unpurged_deletions()] == [task_id]
    monkeypatch.setattr(prefect, "read_runs", reads)
    prefect.up = True
    tasks.purge_pending_deletions()
    assert run_id not in prefect.flow_runs and index.tasks.unpurged_deletions() == []


def test_a_stop_whose_copy_meets_prefect_gone_still_answers_the_stopped_task(tasks, prefect, monkeypatch):
    """Prefect took the stop, then stopped answering before the index read the run back: the answer
    is the task (a 50301 would claim nothing changed), and the next reconcile copies its state."""
    task_id, run_id = created(tasks)
    reads, writes = prefect.read_runs, prefect.set_state

    def write_then_go(*args, **kwargs):
        result = writes(*args, **kwargs)
        down_after_next_read(prefect, monkeypatch)
        return result
    monkeypatch.setattr(prefect, "set_state", write_then_go)
    assert tasks.stop(task_id)["id"] == task_id
    assert prefect.flow_runs[run_id].state_type == "CANCELLED"
    monkeypatch.setattr(prefect, "read_runs", reads)
    prefect.up = True
    tasks.mirror.reconcile_everything()
    assert tasks.table.get(task_id).run.state_type == "CANCELLED"


def test_a_run_deleted_in_prefect_takes_its_task_with_it(tasks, prefect):
    task_id, run_id = created(tasks)
    del prefect.flow_runs[run_id]
    with pytest.raises(ApiError, match="not found"):
        tasks.stop(task_id)
    with pytest.raises(ApiError, match="not found"):
        tasks.detail(task_id)


def test_a_stop_nothing_will_end_is_finished_by_the_upkeep(tasks, prefect):
    task_id, run_id = created(tasks)
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    prefect.set_state(run_id, "CANCELLING", deletion.STOPPED, at=long_ago)  # its process never started
    tasks.finish_abandoned_stops()
    assert prefect.flow_runs[run_id].state_type == "CANCELLED"
