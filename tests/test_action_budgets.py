"""Action budgets through the API: an account's follows spent, its next follow task waits with the reason, a raised budget lets it run."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.domain.views import TIME_FORMAT
from tests.harness import until


def follow_as(service, username: str, target: str) -> int:
    [task_id] = service.ok("POST", "/task", json={"usernames": [username], "script_name": "follow",
                                                  "script_config": {"target_users": [target]}})["task_ids"]
    return task_id


def one_follow_an_hour(service, phones):
    """A phone of its own and its TikTok account, allowed one follow an hour."""
    [serial] = phones.take()
    phone = phones[serial]
    service.match_accounts([serial])
    username = phone.accounts["tiktok"][0]
    answer = service.ok("PATCH", f"/account/{username}", json={"budgets": {"follow_per_hour": 1}})
    assert answer["budgets"] == {"follow_per_hour": 1}
    return phone, username


def test_a_spent_follow_budget_holds_the_next_follow_until_it_is_raised(service, phones):
    phone, username = one_follow_an_hour(service, phones)
    first = service.wait_for(follow_as(service, username, "alice"), timeout=90)
    assert (first["status"], first["remark"]) == (2, "")
    held = follow_as(service, username, "bob")
    task = until(lambda: service.task(held), 30, "the second follow held with the reason",
                 accept=lambda task: task["remark"].startswith("waiting: follows 1/1 this hour, frees at "))
    assert task["status"] == 0 and task["flow_run_id"] is None  # no run: nothing can reach the phone
    assert "bob" not in phone.following("tiktok", username)
    service.ok("PATCH", f"/account/{username}", json={"budgets": {"follow_per_hour": 2}})
    assert service.wait_for(held, timeout=90)["status"] == 2
    assert {"alice", "bob"} <= phone.following("tiktok", username)
    refused = service.call("PATCH", f"/account/{username}", json={"budgets": {"follows_per_hour": 3}})[1]
    assert refused["code"] == 40001


def held_run(service, task_id: int, timeout: float = 30) -> dict:
    """The task once its budget put its run off: pending, saying which budget, its run Scheduled for later."""
    task = until(lambda: service.task(task_id), timeout, f"task {task_id} put off by its budget",
                 accept=lambda task: task["remark"].startswith("waiting: follows 1/1 this hour, frees at "))
    assert task["status"] == 0 and task["flow_run_id"], task
    run = service.prefect_get(f"/flow_runs/{task['flow_run_id']}")
    assert (run["state_type"], run["state"]["name"]) == ("SCHEDULED", "AwaitingBudget"), run["state"]
    return task


def test_a_manual_retry_over_budget_waits_on_its_own_run_until_the_budget_is_raised(service, phones):
    phone, username = one_follow_an_hour(service, phones)
    phone.missing_users.add("late-bloomer")
    failed = service.wait_for(follow_as(service, username, "late-bloomer"), timeout=90)
    assert failed["status"] == 3, failed
    phone.missing_users.discard("late-bloomer")
    service.ok("POST", f"/task/{failed['id']}/retry")  # its failed attempt may have followed: 1/1
    task = held_run(service, failed["id"])
    assert task["flow_run_id"] == failed["flow_run_id"]  # the same run, put off: the Prefect UI shows why
    assert "late-bloomer" not in phone.following("tiktok", username)
    service.ok("PATCH", f"/account/{username}", json={"budgets": {"follow_per_hour": 2}})
    assert service.wait_for(failed["id"], timeout=90)["status"] == 2
    assert "late-bloomer" in phone.following("tiktok", username)


def test_a_start_time_task_due_over_budget_waits_on_its_scheduled_run(service, phones):
    phone, username = one_follow_an_hour(service, phones)
    soon = (datetime.now().astimezone() + timedelta(seconds=18)).isoformat()
    [later] = service.ok("POST", "/task", json={"usernames": [username], "script_name": "follow", "start_time": soon,
                                                "script_config": {"target_users": ["punctual"]}})["task_ids"]
    # A Prefect scheduled run from the start, as every start_time task (made behind the answer).
    until(lambda: service.task(later)["flow_run_id"], 10, "the start_time task's scheduled run")
    assert service.wait_for(follow_as(service, username, "early"), timeout=60)["status"] == 2
    held = held_run(service, later, timeout=60)  # when due: the follow of the hour is spent
    # Its start time is when the budget frees (its Scheduled state's time), not the time it was due first.
    run = service.prefect_get(f"/flow_runs/{held['flow_run_id']}")
    frees = datetime.fromisoformat(run["next_scheduled_start_time"]).astimezone().strftime(TIME_FORMAT)
    until(lambda: service.task(later)["start_time"], 10, "the held task's start time", accept=lambda start: start == frees)
    assert "punctual" not in phone.following("tiktok", username)
    service.ok("PATCH", f"/account/{username}", json={"budgets": {"follow_per_hour": 2}})
    assert service.wait_for(later, timeout=90)["status"] == 2
    assert "punctual" in phone.following("tiktok", username)
