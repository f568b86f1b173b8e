"""A phone's stopped run and its next one never show running at once in the index's copy."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from api.domain.requests import TaskRequest
from api.gateways.prefect_events import RunStateSeen
from tests.unit.fakes import FakePrefect, task_service, temp_index

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def seen(prefect, run_id) -> RunStateSeen:
    state = prefect.flow_runs[run_id].state
    return RunStateSeen(run_id, state.state_type, state.state_name, state.message, state.timestamp)


def test_an_end_in_a_burst_is_copied_before_the_next_runs_start(tmp_path):
    prefect = FakePrefect()
    tasks = task_service(temp_index(tmp_path), prefect)
    request = TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]})
    [stopped], [follow] = (tasks.create(request, NOW, random.Random(1)) for _ in range(2))
    while tasks.creator.create_batch():
        pass
    stopped_run, follow_run = (tasks.table.get(i).flow_run_id for i in (stopped, follow))
    prefect.set_state(stopped_run, "RUNNING")
    prefect.set_state(stopped_run, "CANCELLING")
    tasks.mirror.take_events([seen(prefect, stopped_run)])
    prefect.set_state(stopped_run, "CANCELLED", "Stopped through the API")
    prefect.set_state(follow_run, "RUNNING")
    shown_while_reading = []
    read_runs = prefect.read_runs
    prefect.read_runs = lambda ids: shown_while_reading.append(tasks.table.get(follow).run.state_type) or read_runs(ids)
    tasks.mirror.take_events([seen(prefect, follow_run), seen(prefect, stopped_run)])  # one burst
    assert shown_while_reading == ["SCHEDULED"]  # the follow was not yet shown running beside the stop
    assert [tasks.table.get(i).run.state_type for i in (stopped, follow)] == ["CANCELLED", "RUNNING"]
