"""A follow task goes from the API through Prefect and the worker to a phone and back."""

from __future__ import annotations

from contract.names import AUTO_RETRIES_TAG, tag
from tests.harness import until


def test_follow_task_completes_and_the_phone_follows(service, phones):
    [serial] = phones.take()
    [task_id] = service.create([serial], ["alice"])
    task = service.wait_for(task_id)
    assert task["status"] == 2, task
    assert task["status_text"] == "completed"
    assert "alice" in phones[serial].following("tiktok")
    assert task["serial"] == serial
    assert task["source"] == "api"
    assert task["script_config"]["target_users"] == ["alice"]
    assert task["start_time"] and task["end_time"] and task["created_at"]
    assert task["remark"] == ""
    assert task["retry_count"] == 0
    assert task["flow_run_url"].endswith(task["flow_run_id"])


def test_fan_out_is_one_task_per_phone_and_target(service, phones):
    serials = phones.take(2)
    ids = service.create(serials, ["t1", "t2", "t3"])
    assert len(ids) == 6 and len(set(ids)) == 6
    tasks = [service.task(i) for i in ids]
    pairs = {(t["serial"], t["script_config"]["target_users"][0]) for t in tasks}
    assert pairs == {(s, t) for s in serials for t in ("t1", "t2", "t3")}
    for task_id in ids:
        assert service.wait_for(task_id)["status"] == 2
    for serial in serials:
        assert {"t1", "t2", "t3"} <= phones[serial].following("tiktok")


def test_missing_target_fails_with_a_remark(service, phones):
    [serial] = phones.take()
    phones[serial].missing_users.add("ghost")
    [task_id] = service.create([serial], ["ghost"])
    task = service.wait_for(task_id)
    assert task["status"] == 3
    assert "does not exist" in task["remark"]


def test_unfollow_and_search_access(service, phones):
    [serial] = phones.take()
    phones[serial].set_following("tiktok", "dora", True)
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "unfollow",
        "script_config": {"target_user": "@dora", "access_method": "search"},
    })
    task = service.wait_for(data["task_ids"][0])
    assert task["status"] == 2, task
    assert "dora" not in phones[serial].following("tiktok")


def test_instagram_platform_from_config(service, phones):
    [serial] = phones.take()
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "follow",
        "script_config": {"target_users": ["erin"], "platform": "instagram"},
    })
    assert service.wait_for(data["task_ids"][0])["status"] == 2
    assert "erin" in phones[serial].following("instagram")


def test_a_transient_phone_error_is_retried_automatically_on_the_same_phone(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.unplugged_seconds = 0.5
    service.health_read([serial])
    phone.disconnect_after_commands = 3  # the cable comes out early in the first attempt
    phone.profile_load_seconds = 4  # and the second attempt takes a while
    [task_id] = service.create([serial], ["flaky"])
    # The retry is in the run's record before it reaches the phone: a process killed during the second
    # attempt could not hide it.
    started = f"task {task_id} start"
    until(lambda: [message for _, _, message in list(phone.markers) if message == started], 60,
          "no second attempt on the phone", interval=0.05, accept=lambda starts: len(starts) == 2)
    run = service.prefect_get(f"/flow_runs/{service.task(task_id)['flow_run_id']}")
    assert tag(AUTO_RETRIES_TAG, 1) in run["tags"] and run["state_type"] == "RUNNING", run
    task = service.wait_for(task_id, timeout=90)
    assert task["status"] == 2, task
    assert task["retry_count"] == 1
    assert "flaky" in phone.following("tiktok")
