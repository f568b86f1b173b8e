"""Plans are bounded: a minimum repeat, a number of plans, a farm-wide rate of fired tasks; a firing
passes the disk and licence checks an HTTP write passes; offline phones make one failed summary."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from api.domain.errors import ApiError, Code
from api.domain.plan_limits import FiringGate, PlanLimits
from api.domain.plans import PLANS
from api.domain.recurring import PlanBook
from api.domain.requests import TaskRequest
from api.gateways.index import TaskFilter
from tests.unit.fakes import task_service

NOW = datetime.now(timezone.utc).replace(microsecond=0)


class Disk:
    min_free_mb = 32

    def __init__(self):
        self.free = 1000.0

    def free_mb(self) -> float:
        return self.free

    def full(self) -> bool:
        return self.free < self.min_free_mb


@pytest.fixture
def farm():
    return SimpleNamespace(attached={f"s{i}" for i in range(10)}, disk=Disk(), licence=PLANS["Pro"], clock=[0.0])


@pytest.fixture
def plans(index, prefect, farm):
    tasks = task_service(index, prefect, serials=[f"s{i}" for i in range(10)])
    gate = FiringGate(farm.disk, None, per_minute=5, clock=lambda: farm.clock[0])
    book = PlanBook(tasks, index.plans, index.tasks, index.accounts, prefect, lambda: set(farm.attached),
                    timezone="UTC", ui_url="http://prefect.test", limits=PlanLimits(60, 3, 5), gate=gate)
    gate.licence = farm.licence
    return book


def request(serials=("s1",), repeat="daily") -> TaskRequest:
    return TaskRequest(serials=list(serials), script_name="follow", script_config={"target_users": ["a"]},
                       repeat=repeat)


def refused(call, *words):
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.code == Code.INVALID
    for word in words:
        assert word in caught.value.message, caught.value.message


def fire_once(plans, prefect, plan_id):
    firing = prefect.add_firing(plan_id, NOW)
    plans.fire_due(NOW)
    run = prefect.flow_runs[firing]
    return run.state_type, run.state.message


def plan_rows(index, plan_id):
    return index.tasks.page(TaskFilter(plan_id=plan_id), offset=0, limit=100)


@pytest.mark.parametrize("repeat", ["every 5 seconds", "every 59 seconds", 'every 0 minutes'])
def test_a_repeat_under_a_minute_is_refused(plans, repeat):
    refused(lambda: plans.create(request(repeat=repeat), NOW), "repeat", "60 seconds")


def test_a_minute_is_accepted_and_the_setting_lowers_it(plans):
    assert plans.create(request(repeat="every 1 minutes"), NOW)["id"]
    plans.limits = PlanLimits(5, 3, 5)
    assert plans.create(request(repeat="every 5 seconds"), NOW)["id"]


def test_the_number_of_plans_is_capped(plans):
    for _ in range(3):
        plans.create(request(), NOW)
    refused(lambda: plans.create(request(), NOW), "PHONEFARM_MAX_PLANS")


def test_offline_phones_make_one_failed_summary_per_firing(plans, prefect, index, farm):
    plan_id = plans.create(request([f"s{i}" for i in range(8)]), NOW)["id"]
    farm.attached = {"s0"}
    state, message = fire_once(plans, prefect, plan_id)
    rows = plan_rows(index, plan_id)
    assert state == "COMPLETED" and len(rows) == 2, message  # s0's task and one summary
    [summary] = [row for row in rows if row.run.state_type == "FAILED"]
    assert "7 phones or accounts got no task" in summary.run.message and "and 2 more" in summary.run.message


@pytest.mark.parametrize("block, words", [
    (lambda farm: setattr(farm.disk, "free", 1.0), ["PHONEFARM_MIN_FREE_DISK_MB"]),
    (lambda farm: setattr(farm, "licence", PLANS["Starter"]), ["Starter", "no API access"]),
])
def test_a_firing_passes_the_disk_and_licence_checks(plans, prefect, index, farm, block, words):
    plan_id = plans.create(request(), NOW)["id"]
    block(farm)
    plans.gate.licence = farm.licence
    state, message = fire_once(plans, prefect, plan_id)
    assert state == "FAILED" and plan_rows(index, plan_id) == []
    for word in words:
        assert word in message, message


def test_fired_tasks_are_capped_per_minute_farm_wide(plans, prefect, index, farm):
    big = plans.create(request([f"s{i}" for i in range(4)]), NOW)["id"]
    other = plans.create(request(["s5", "s6"]), NOW)["id"]
    assert fire_once(plans, prefect, big)[0] == "COMPLETED"
    state, message = fire_once(plans, prefect, other)  # 4 + 2 > 5 within the minute
    assert state == "FAILED" and "PHONEFARM_MAX_FIRED_TASKS_PER_MINUTE" in message
    farm.clock[0] += 61
    assert fire_once(plans, prefect, other)[0] == "COMPLETED"
