"""Recurring plans: a create request with `repeat` becomes a Prefect deployment schedule that fires tasks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.sorting import FlowRunSort

from api.domain.recurring import MISSED
from api.gateways.prefect_runs import as_run
from api.gateways.prefect_schedules import PLANS_DEPLOYMENT, Recurrence
from tests.harness import until
from tests.inprocess import AppClient, wired_app

EVERY = "every 5 seconds"
# Plans a farm makes are a minute apart at least (PHONEFARM_MIN_REPEAT_SECONDS); these tests watch
# firings seconds apart.
SHORT = {"min_repeat_seconds": 5}


@pytest.fixture(scope="module")
def api(service, adb, tmp_path_factory):
    """The session's in-process app, with the short repeats these tests need."""
    with wired_app(service, adb, tmp_path_factory.mktemp("plans-api"), max_tasks_per_request=200, **SHORT) as wired:
        yield AppClient(wired)


def follow_plan(serials, repeat=EVERY, **extra) -> dict:
    return {"serials": serials, "script_name": "follow", "script_config": {"target_users": ["alice"]},
            "repeat": repeat, **extra}


def plan_tasks(client, plan_id: str) -> list[dict]:
    return client.ok("GET", "/task", params={"plan_id": plan_id, "page_size": 100})["tasks"]


def wait_for_tasks(client, plan_id: str, count: int, timeout: float = 40) -> list[dict]:
    return until(lambda: plan_tasks(client, plan_id), timeout,
                 lambda tasks: f"plan {plan_id}: {len(tasks)} of {count} tasks after {timeout} s",
                 interval=0.3, accept=lambda tasks: len(tasks) >= count)


def firings(service, plan_id: str) -> list:
    """The plan's flow runs in Prefect (made by its schedule), oldest first."""
    with service.prefect() as prefect:
        return _firings(prefect, plan_id)


def wait_for_firings(service, plan_id: str, done, what: str, timeout: float = 30) -> list:
    """The plan's firings once `done(firings)` holds."""
    return until(lambda: firings(service, plan_id), timeout,
                 lambda runs: f"plan {plan_id}: {what} after {timeout} s: {runs}", interval=0.3, accept=done)


def none_waiting(runs: list) -> bool:
    """No firing left scheduled: each one taken has ended, its tasks stored."""
    return not any(run.state_type.value == "SCHEDULED" for run in runs)


def _firings(prefect, plan_id: str) -> list:
    deployment = prefect.read_deployment_by_name(PLANS_DEPLOYMENT)
    runs = prefect.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)
    return [r for r in runs if r.created_by and str(r.created_by.id) == plan_id]


def test_a_plan_fires_twice_pause_stops_it_and_prefect_shows_it(api, service, phones):
    [serial] = phones.take()
    answer = api.ok("POST", "/task", json=follow_plan([serial]))
    plan_id = answer["plan_id"]
    assert (answer["created_count"], answer["task_ids"]) == (0, [])
    plan = api.ok("GET", f"/plan/{plan_id}")
    assert (plan["repeat"], plan["paused"], plan["request"]["serials"]) == (EVERY, False, [serial]), plan
    assert plan["next_firing"] is not None and plan_id in {p["id"] for p in api.ok("GET", "/plan")["plans"]}

    # It is a schedule of the plans deployment in Prefect, carrying the request.
    with service.prefect() as prefect:
        deployment = prefect.read_deployment_by_name(PLANS_DEPLOYMENT)
        [schedule] = [s for s in prefect.read_deployment_schedules(deployment.id) if str(s.id) == plan_id]
    assert schedule.active and schedule.parameters["request"]["serials"] == [serial]

    wait_for_tasks(api, plan_id, 2)
    # Paused through the API: Prefect keeps no firing of it scheduled, so nothing more fires.
    paused = api.ok("PATCH", f"/plan/{plan_id}", json={"paused": True})
    assert (paused["paused"], paused["next_firing"]) == (True, None)
    wait_for_firings(service, plan_id, none_waiting, "a firing still scheduled")
    tasks = plan_tasks(api, plan_id)
    assert not [run for run in firings(service, plan_id) if run.state_type.value == "SCHEDULED"]
    assert all((t["source"], t["plan_id"], t["serial"]) == ("schedule", plan_id, serial) for t in tasks), tasks
    for task in tasks:
        assert api.wait_for(task["id"])["status"] == 2
    completed = [run for run in firings(service, plan_id) if run.state_type.value == "COMPLETED"]
    assert len(completed) == len(tasks) >= 2 and all("Created task(s)" in run.state.message for run in completed)
    assert len(api.ok("GET", f"/plan/{plan_id}")["last_firing"]["task_ids"]) == 1
    count = len(tasks)

    # Resumed, then paused in the Prefect UI (the same call the UI makes): the API says paused.
    assert api.ok("PATCH", f"/plan/{plan_id}", json={"paused": False})["paused"] is False
    with service.prefect() as prefect:
        prefect.update_deployment_schedule(deployment.id, UUID(plan_id), active=False)
    # (Prefect 3.9 empties a schedule's parameters on such an update: the index keeps the request.)
    seen = api.ok("GET", f"/plan/{plan_id}")
    assert seen["paused"] is True and seen["request"]["serials"] == [serial], seen

    assert api.ok("DELETE", f"/plan/{plan_id}") == {"deleted_count": 1}
    status, body = api.call("GET", f"/plan/{plan_id}")
    assert (status, body["code"]) == (404, 40401)
    assert len(plan_tasks(api, plan_id)) >= count  # its tasks stay


def test_a_firing_with_an_offline_phone_or_a_disabled_account_makes_failed_tasks(api, phones):
    [serial] = phones.take()
    unplugged = "unplugged-phone-1"
    api.wired.index.phones.remember_phones([unplugged])  # seen once, not attached now
    by_phone = api.ok("POST", "/plan", json=follow_plan([serial, unplugged], repeat="every 30 seconds"))
    api.ok("POST", "/account", json={"username": "planned_one", "platform": "tiktok", "serial": serial})
    # A plan naming a disabled account is refused: it is disabled once the plan exists, before the plan's
    # first firing, which is a few seconds out (a first firing 2 s out could come first on a busy machine).
    first = (datetime.now().astimezone() + timedelta(seconds=6)).isoformat()
    by_account = api.ok("POST", "/plan", json={**follow_plan(None, repeat="every 30 seconds", start_time=first),
                                               "serials": None, "usernames": ["planned_one"]})
    api.ok("PATCH", "/account/planned_one", json={"enabled": False})

    tasks = {t["serial"]: t for t in wait_for_tasks(api, by_phone["id"], 2)}
    api.ok("DELETE", f"/plan/{by_phone['id']}")
    offline = api.wait_for(tasks[unplugged]["id"])
    assert offline["status"] == 3 and offline["remark"] == f"phone {unplugged} was offline when plan {by_phone['id']} fired"
    assert offline["flow_run_id"] is None and offline["source"] == "schedule"
    assert api.wait_for(tasks[serial]["id"])["status"] == 2

    [disabled] = wait_for_tasks(api, by_account["id"], 1)
    api.ok("DELETE", f"/plan/{by_account['id']}")
    assert (disabled["status"], disabled["username"]) == (3, "planned_one")
    assert disabled["remark"].startswith("account planned_one was disabled when plan"), disabled


def test_a_first_firing_due_before_its_schedule_was_stored_is_made_all_the_same(api, service):
    """A busy server can take longer than a new plan's first firing lead (2 s) to store its schedule:
    the firing is still made (Prefect would schedule from the moment it is asked, an interval later)."""
    schedules = api.wired.orchestrator.schedules
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=3)
    made = schedules.create_schedule(Recurrence(timezone="UTC", seconds=3600, anchor=start), {"request": None})
    try:
        # No index holds this plan: the API's plan clock leaves its firings alone.
        first = min(firings(service, str(made.id)), key=lambda run: run.expected_start_time)
        assert (first.expected_start_time, first.state_type.value) == (start, "SCHEDULED")
        schedules.end_firing(first.id, "CANCELLED", "checked by a test")
    finally:
        schedules.delete_schedule(made.id)


def test_plan_requests_are_checked_when_made(api, phones):
    [serial] = phones.take()
    for body, field in (
        (follow_plan([serial], repeat="every 2 seconds"), "repeat"),
        (follow_plan([serial], repeat="sometimes"), "repeat"),
        (follow_plan([serial], repeat="30 9 * * *", start_time="09:30"), "start_time"),
        (follow_plan([serial], repeat=0), "repeat"),
        (follow_plan(["never-seen-serial"]), "serials"),
        (follow_plan([serial], script_config={"target_users": []}), None),
    ):
        status, answer = api.call("POST", "/task", json=body)
        assert (status, answer["code"]) == (400, 40001), (body, answer)
        if field:
            assert field in answer["message"] or (answer.get("data") or {}).get("field") == field, answer
    status, answer = api.call("POST", "/plan", json={**follow_plan([serial]), "repeat": None})
    assert (status, answer["code"]) == (400, 40001) and "repeat" in answer["message"]
    for plan_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        for method in ("GET", "PATCH", "DELETE"):
            status, answer = api.call(method, f"/plan/{plan_id}", json={"paused": True} if method == "PATCH" else None)
            assert (status, answer["code"]) == (404, 40401), (method, plan_id, answer)
    daily = api.ok("POST", "/task", json=follow_plan([serial], repeat="daily", start_time="09:30"))["plan"]
    assert daily["next_firing"].endswith("09:30:00"), daily
    moved = api.ok("PATCH", f"/plan/{daily['id']}", json={"start_time": "10:45"})
    assert moved["next_firing"].endswith("10:45:00") and moved["repeat"] == "daily", moved
    api.ok("DELETE", f"/plan/{daily['id']}")


def test_an_api_down_through_firings_fires_once_when_back_and_never_twice(service, adb, phones, tmp_path):
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path, **SHORT) as wired:
        client = AppClient(wired)
        plan_id = client.ok("POST", "/task", json=follow_plan([serial]))["plan_id"]
        wait_for_tasks(client, plan_id, 1)
    # Two firings fall due while no API runs.
    wait_for_firings(service, plan_id, lambda runs: sum(
        run.state_type.value == "SCHEDULED" and run.expected_start_time < datetime.now(timezone.utc)
        for run in runs) >= 2, "not two firings due yet")
    with wired_app(service, adb, tmp_path, **SHORT) as wired:
        client = AppClient(wired)
        wait_for_tasks(client, plan_id, 2, timeout=10)
        client.ok("PATCH", f"/plan/{plan_id}", json={"paused": True})
        runs = wait_for_firings(service, plan_id, none_waiting, "a firing still scheduled")
        tasks = plan_tasks(client, plan_id)
        states = [(r.expected_start_time, r.state_type.value, r.state.message) for r in runs]
        fired = [r for r in runs if r.state_type.value == "COMPLETED"]
        # None lost: every firing due by now was fired, or collapsed into a later one that was.
        assert all(r.state_type.value in ("COMPLETED", "CANCELLED") for r in runs
                   if r.expected_start_time < datetime.now(timezone.utc) - timedelta(seconds=2)), states
        assert any(r.state_type.value == "CANCELLED" and r.state.message == MISSED for r in runs), states
        # None doubled: one task per fired firing.
        assert len(tasks) == len(fired), (len(tasks), states)
        # A firing taken again (as after a crash between storing its tasks and ending its run)
        # stores nothing new.
        again = wired.plans.fire(plan_id, as_run(fired[-1]), datetime.now().astimezone())
        assert len(again) == 1 and len(plan_tasks(client, plan_id)) == len(tasks)
        client.ok("DELETE", f"/plan/{plan_id}")
