"""Runs started in the Prefect UI become tasks: in place when already on their phone's queue, re-created otherwise."""

from __future__ import annotations

import random

import pytest

from api.domain.adoption import MOVED_TAG, UiRunAdoption
from api.gateways.index import TaskFilter
from contract.names import INBOX_QUEUE, device_queue, run_name
from tests.unit.fakes import task_service

FOLLOW = {"serial": "s1", "script_name": "follow", "script_config": {"target_users": ["a"]}}


@pytest.fixture
def adoption(index, prefect):
    return UiRunAdoption(task_service(index, prefect), index.tasks, prefect, prefect, random.Random(1))


def ui_run(prefect, parameters, queue, state_type="SCHEDULED") -> str:
    run_id = prefect.add_run(state_type, name="gentle-fox", parameters=parameters, work_queue_name=queue)
    prefect.ui_runs.append(run_id)
    return run_id


def test_a_run_on_its_phones_queue_becomes_a_task_in_place(adoption, prefect, index):
    run_id = ui_run(prefect, FOLLOW, device_queue("s1"), "RUNNING")
    adoption.adopt_new_runs()
    [row] = index.tasks.page(TaskFilter(), offset=0, limit=10)
    assert (row.flow_run_id, row.source, row.run.state_type) == (run_id, "ui", "RUNNING")
    assert prefect.flow_runs[run_id].name == run_name(row.id, "follow")
    assert "source:ui" in ",".join(prefect.flow_runs[run_id].tags)
    adoption.adopt_new_runs()  # known now: not adopted twice
    assert index.tasks.count(TaskFilter()) == 1


def test_a_waiting_run_in_the_inbox_moves_to_its_phones_queue_as_a_new_task(adoption, prefect, index):
    run_id = ui_run(prefect, FOLLOW, INBOX_QUEUE)
    adoption.adopt_new_runs()
    [row] = index.tasks.page(TaskFilter(), offset=0, limit=10)
    assert row.flow_run_id is None and row.source == "ui"  # its own run is created behind
    moved = prefect.flow_runs[run_id]
    assert moved.state_type == "CANCELLED" and f"task(s) {row.id}" in moved.state.message
    assert moved.tags == (MOVED_TAG,)
    adoption.adopt_new_runs()
    assert index.tasks.count(TaskFilter()) == 1


def test_a_run_the_api_would_refuse_is_failed_with_the_reason(adoption, prefect, index):
    run_id = ui_run(prefect, {**FOLLOW, "script_name": "no-such-script"}, INBOX_QUEUE)
    adoption.adopt_new_runs()
    refused = prefect.flow_runs[run_id]
    assert refused.state_type == "FAILED" and refused.state.message.startswith("Not started: ")
    assert index.tasks.count(TaskFilter()) == 0


def test_a_run_already_started_outside_its_queue_is_indexed_as_it_is(adoption, prefect, index):
    run_id = ui_run(prefect, FOLLOW, INBOX_QUEUE, "RUNNING")
    adoption.adopt_new_runs()
    [row] = index.tasks.page(TaskFilter(), offset=0, limit=10)
    assert row.flow_run_id == run_id and prefect.flow_runs[run_id].state_type == "RUNNING"
