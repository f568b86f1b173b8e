"""Accounts: matching what is logged in, username mode, multi-account fan-out, enable/disable."""

from __future__ import annotations

import pytest


def match(service, serial) -> dict[str, dict]:
    return service.match_accounts([serial])


def test_match_records_the_accounts_logged_in_on_a_phone(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    found = match(service, serial)
    expected = {u for names in phone.accounts.values() for u in names}
    assert set(found) == expected
    assert all(a["serial"] == serial and a["enabled"] for a in found.values())
    listed = {a["username"] for a in service.ok("GET", "/account")["accounts"]}
    assert expected <= listed


def test_match_answers_at_once_and_reads_the_phone_only_after_its_running_task(service, phones):
    """Reading accounts drives the phone's screens: it waits in the phone's queue like a task."""
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60
    [task_id] = service.create([serial], ["before-match"])
    service.wait_for(task_id, statuses=[1])
    matching = service.ok("POST", "/account/match", json={"serials": [serial]})["matching"]
    assert [m["serial"] for m in matching] == [serial]
    # Answered while the task still holds the phone: no API thread waited for it.
    assert service.task(task_id)["status"] == 1
    phone.profile_load_seconds = 0
    found = service.wait_matched(matching)
    assert set(found) == {u for names in phone.accounts.values() for u in names}
    task = service.task(task_id)
    assert task["status"] == 2, task
    read = service.prefect_get(f"/flow_runs/{matching[0]['flow_run_id']}")
    ended = service.prefect_get(f"/flow_runs/{task['flow_run_id']}")["end_time"]
    assert read["start_time"] >= ended, (read["start_time"], ended)


def test_usernames_mode_runs_on_the_accounts_phone_as_that_account(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    match(service, serial)
    second = phone.accounts["tiktok"][1]
    data = service.ok("POST", "/task", json={
        "usernames": [f"@{second}"], "script_name": "follow", "script_config": {"target_users": ["zed"]}})
    task = service.wait_for(data["task_ids"][0])
    assert task["status"] == 2, task
    assert task["serial"] == serial and task["username"] == second
    assert "zed" in phone.following("tiktok", second)
    assert "zed" not in phone.following("tiktok", phone.accounts["tiktok"][0])


def test_multi_account_makes_one_task_per_enabled_account(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    match(service, serial)
    tiktok_a, tiktok_b = phone.accounts["tiktok"]
    for username in phone.accounts["instagram"]:
        service.ok("PATCH", f"/account/{username}", json={"enabled": False})
    data = service.ok("POST", "/task", json={
        "serials": [serial], "enable_multi_account": True,
        "script_name": "follow", "script_config": {"target_users": ["multi"]}})
    tasks = [service.wait_for(i) for i in data["task_ids"]]
    assert sorted(t["username"] for t in tasks) == sorted([tiktok_a, tiktok_b])
    assert all(t["status"] == 2 for t in tasks), tasks
    assert "multi" in phone.following("tiktok", tiktok_a) and "multi" in phone.following("tiktok", tiktok_b)
    status, body = service.call("POST", "/task", json={
        "usernames": [phone.accounts["instagram"][0]], "script_name": "follow", "script_config": {"target_users": ["x"]}})
    assert (status, body["code"]) == (400, 40001) and "Disabled" in body["message"]


def test_account_crud(service, phones):
    [serial] = phones.take()
    created = service.ok("POST", "/account", json={"username": "@manual", "platform": "instagram", "serial": serial})
    assert created == {"username": "manual", "platform": "instagram", "serial": serial, "enabled": True,
                       "mark": None, "mark_remark": None, "marked_at": None, "mark_until": None, "tags": [],
                       "budgets": {}}
    assert service.call("DELETE", "/account/manual/mark")[1]["code"] == 40401  # no mark to clear
    assert service.ok("PATCH", "/account/manual", json={"enabled": False})["enabled"] is False
    assert service.ok("DELETE", "/account/manual") == {"deleted_count": 1}
    assert service.call("DELETE", "/account/manual")[1]["code"] == 40401


@pytest.mark.parametrize("body, field", [
    ({"username": "u", "platform": "myspace", "serial": "S"}, "platform"),
    ({"username": "u", "platform": "tiktok", "serial": "no-such-phone"}, "serial"),
    ({"platform": "tiktok", "serial": "S"}, "username"),
    ({"username": "u", "platform": "tiktok", "serial": "S", "enabled": "yes"}, "enabled"),
])
def test_bad_accounts_are_refused(service, phones, body, field):
    [serial] = phones.take()
    body = {k: (serial if v == "S" else v) for k, v in body.items()}
    status, answer = service.call("POST", "/account", json=body)
    assert (status, answer["code"]) == (400, 40001) and field in answer["message"], answer


def test_accounts_status_api_filters_by_tag_and_names_the_phone(api, phones):
    [serial] = phones.take()
    api.ok("POST", "/account", json={"username": "tagged", "platform": "tiktok", "serial": serial, "tags": ["eu"]})
    assert api.ok("PATCH", "/account/tagged", json={"tags": ["shop", "eu"]})["tags"] == ["shop", "eu"]
    data = api.ok("GET", "/accounts", params={"tag": "shop", "device": serial, "status": "0", "logined": "0"})
    assert (data["total"], data["page"], data["page_size"]) == (1, 1, 20)
    [account] = data["accounts"]
    model = next(d["model"] for d in api.ok("GET", "/device")["devices"] if d["serial"] == serial)
    assert account["username"] == "tagged" and account["tags"] == ["shop", "eu"]
    assert (account["device"], account["device_online"], account["device_name"]) == (serial, True, model)
    assert (account["status_text"], account["logined_text"], account["mark"]) == ("enabled", "not_logged_in", None)
    assert api.ok("GET", "/accounts", params={"tag": "sho", "device": serial})["total"] == 0


@pytest.mark.parametrize("query, field", [
    ({"page_size": "101"}, "page_size"), ({"page_size": "0"}, "page_size"), ({"page": "0"}, "page"),
    ({"logined": "2"}, "logined"), ({"status": "-1"}, "status"), ({"platform": "myspace"}, "platform"),
])
def test_accounts_status_api_refuses_values_out_of_range(api, query, field):
    status, answer = api.call("GET", "/accounts", params=query)
    assert (status, answer["code"]) == (400, 40001) and field in answer["message"], answer


def test_tags_are_validated(api):
    # Refused before the serial is looked at: no phone needed.
    body = {"username": "badtags", "platform": "tiktok", "serial": "127.0.0.1:1"}
    for tags in (["x" * 51], [""], "shop", [f"t{i}" for i in range(21)]):
        status, answer = api.call("POST", "/account", json={**body, "tags": tags})
        assert (status, answer["code"]) == (400, 40001) and "tags" in answer["message"], (tags, answer)


def test_an_account_named_match_is_patched_and_deleted_like_any_other(api, phones):
    # /account/match is also the path of POST /account/match: the router must not answer 405.
    [serial] = phones.take()
    api.ok("POST", "/account", json={"username": "match", "platform": "tiktok", "serial": serial})
    assert api.ok("PATCH", "/account/match", json={"enabled": False})["enabled"] is False
    assert api.call("DELETE", "/account/match/mark")[1]["code"] == 40401  # no mark to clear
    assert api.ok("DELETE", "/account/match") == {"deleted_count": 1}
    assert api.call("DELETE", "/account/match")[1]["code"] == 40401
    assert api.call("PATCH", "/account/match", json={"enabled": True})[1]["code"] == 40401
