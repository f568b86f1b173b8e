"""Queue timeouts through the API: a task behind a busy phone expires, its run cancelled, the phone untouched."""

from __future__ import annotations

import pytest


def test_a_task_still_waiting_for_its_phone_expires_and_never_reaches_it(api, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60  # the first task holds the phone
    [busy] = api.create([serial], ["first"])
    api.wait_for(busy, statuses=[1])
    # 0.05 minutes = 3 s: fractions are allowed, so this test waits seconds, not minutes.
    [waiting] = api.create([serial], ["never"], expire_after=0.05)
    assert api.task(waiting)["expire_after"] == 0.05 and api.task(waiting)["expires_at"]
    expired = api.wait_for(waiting, timeout=30)
    assert (expired["status"], expired["remark"]) == (3, "expired: not started within 0.05 minutes"), expired
    assert api.wait_for(busy, statuses=[1])["status"] == 1  # the phone's own task was left alone
    phone.profile_load_seconds = 0
    assert api.wait_for(busy)["status"] == 2
    # Taken as a worker takes a run, then cancelled: it never ran.
    states = [state.type for state in api.wired.orchestrator.runs.states(expired["flow_run_id"])]
    assert states == ["SCHEDULED", "PENDING", "CANCELLED"], states
    assert "never" not in phone.following("tiktok", phone.accounts["tiktok"][0])


@pytest.mark.parametrize("value", [-1, 10081, "5", True])
def test_expire_after_out_of_range_is_refused(api, value):
    # Refused before the serial is looked at: no phone needed.
    status, answer = api.call("POST", "/task", json={
        "serials": ["127.0.0.1:1"], "script_name": "follow", "script_config": {"target_users": ["x"]}, "expire_after": value})
    assert (status, answer["code"]) == (400, 40001) and "expire_after" in answer["message"], answer
