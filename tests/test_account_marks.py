"""A banned account is marked in both account endpoints and the wall's data, its tasks held back, until one API call clears it."""

from __future__ import annotations

from tests.harness import until


def one(service, username: str) -> dict:
    return next(a for a in service.ok("GET", "/account")["accounts"] if a["username"] == username)


def test_a_banned_account_is_marked_everywhere_and_cleared_by_one_call(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    service.match_accounts([serial])
    username = phone.accounts["tiktok"][0]
    phone.block("banned")
    [task_id] = service.ok("POST", "/task", json={
        "usernames": [username], "script_name": "follow", "script_config": {"target_users": ["alice"]}})["task_ids"]
    failed = service.wait_for(task_id)
    assert failed["status"] == 3
    account = until(lambda: one(service, username), 20, "the account marked", accept=lambda account: account["mark"] == "banned")
    assert account["mark_remark"]
    listed = service.ok("GET", f"/accounts?device={serial}&platform=tiktok")["accounts"]
    assert [a["mark"] for a in listed if a["username"] == username] == ["banned"]
    on_the_wall = service.ok("GET", "/farm")["marked_accounts"]
    assert [a["mark"] for a in on_the_wall if a["username"] == username] == ["banned"]

    phone.unblock()
    [held] = service.ok("POST", "/task", json={"usernames": [username], "script_name": "follow",
                                               "script_config": {"target_users": ["bob"]}})["task_ids"]
    assert service.task(held)["status"] == 0 and "marked banned" in until(
        lambda: service.task(held)["remark"], 20, "the held task says why", accept=lambda remark: "marked" in remark)
    service.ok("DELETE", f"/account/{username}/mark")
    assert one(service, username)["mark"] is None
    assert username not in [a["username"] for a in service.ok("GET", "/farm")["marked_accounts"]]
    assert service.wait_for(held)["status"] == 2
