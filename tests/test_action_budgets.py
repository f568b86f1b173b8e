"""Action budgets through the API: an account's follows spent, its next follow task waits with the reason, a raised budget lets it run."""

from __future__ import annotations

from tests.harness import until


def follow_as(service, username: str, target: str) -> int:
    [task_id] = service.ok("POST", "/task", json={"usernames": [username], "script_name": "follow",
                                                  "script_config": {"target_users": [target]}})["task_ids"]
    return task_id


def test_a_spent_follow_budget_holds_the_next_follow_until_it_is_raised(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    service.match_accounts([serial])
    username = phone.accounts["tiktok"][0]
    answer = service.ok("PATCH", f"/account/{username}", json={"budgets": {"follow_per_hour": 1}})
    assert answer["budgets"] == {"follow_per_hour": 1}
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
