"""Recurring plans fired from a fake Prefect's schedules: missed firings collapse, none is stored twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.domain.recurring import MISSED, NOT_A_PLAN, PlanBook
from api.domain.requests import TaskRequest
from api.gateways.index import TaskFilter
from tests.unit.fakes import task_service

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def attached():
    return {"s1", "s2"}


@pytest.fixture
def plans(index, prefect, attached):
    tasks = task_service(index, prefect)
    return PlanBook(tasks, index.plans, index.tasks, index.accounts, prefect, lambda: set(attached),
                    timezone="UTC", ui_url="http://prefect.test")


def new_plan(plans, serials=("s1",)) -> str:
    request = TaskRequest(serials=list(serials), script_name="follow", script_config={"target_users": ["a"]},
                          repeat="daily")
    return plans.create(request, NOW)["id"]


def plan_tasks(index, plan_id):
    return index.tasks.page(TaskFilter(plan_id=plan_id), offset=0, limit=100)


def test_missed_firings_collapse_into_the_latest(plans, prefect, index):
    plan_id = new_plan(plans)
    firings = [prefect.add_firing(plan_id, NOW - timedelta(hours=h)) for h in (3, 2, 1)]
    assert plans.fire_due(NOW) == 1
    states = [(prefect.flow_runs[f].state_type, prefect.flow_runs[f].state.message) for f in firings]
    assert states[:2] == [("CANCELLED", MISSED)] * 2
    [task] = plan_tasks(index, plan_id)
    assert states[2] == ("COMPLETED", f"Created task(s) {task.id}")
    assert plans.fire_due(NOW) == 0  # nothing due any more


def test_a_firing_taken_again_stores_nothing_new(plans, prefect, index):
    plan_id = new_plan(plans)
    firing = prefect.add_firing(plan_id, NOW)
    first = plans.fire(plan_id, prefect.flow_runs[firing], NOW)
    again = plans.fire(plan_id, prefect.flow_runs[firing], NOW)  # as after a crash before its run ended
    assert first == again and len(plan_tasks(index, plan_id)) == 1


def test_a_firing_of_no_plan_fails_and_another_indexs_is_left_alone(plans, prefect):
    new_plan(plans)
    ui_run = prefect.add_firing(None, NOW)
    theirs = prefect.add_firing("another-index-plan", NOW)
    assert plans.fire_due(NOW) == 0
    assert (prefect.flow_runs[ui_run].state_type, prefect.flow_runs[ui_run].state.message) == ("FAILED", NOT_A_PLAN)
    assert prefect.flow_runs[theirs].state_type == "SCHEDULED"


def test_a_paused_plans_firing_is_cancelled_without_tasks(plans, prefect, index):
    plan_id = new_plan(plans)
    plans.change(plan_id, paused=True, repeat=None, start_time=None, now=NOW)
    firing = prefect.add_firing(plan_id, NOW)
    assert plans.fire_due(NOW) == 0
    assert prefect.flow_runs[firing].state_type == "CANCELLED"
    assert plan_tasks(index, plan_id) == []


def test_an_offline_phone_gets_a_failed_task_and_the_others_run(plans, prefect, index, attached):
    plan_id = new_plan(plans, ["s1", "s2"])
    attached.discard("s2")
    prefect.add_firing(plan_id, NOW)
    plans.fire_due(NOW)
    tasks = {task.serial: task for task in plan_tasks(index, plan_id)}
    assert tasks["s1"].run.state_type is None  # stored; its run is created behind
    assert tasks["s2"].run.state_type == "FAILED" and "phone s2 was offline" in tasks["s2"].run.message
